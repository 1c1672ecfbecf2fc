"""One check id, one implementation per protocol: the collector keys results
by id, so a second function with the same id and protocol would silently
overwrite the first one's result (a failure could vanish)."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
from collections import defaultdict

import harness.suites


def test_no_two_functions_implement_the_same_check_for_the_same_protocol():
    owners: dict[tuple[str, str], list[str]] = defaultdict(list)
    for module_info in pkgutil.iter_modules(harness.suites.__path__):
        if not module_info.name.startswith("test_"):
            continue
        module = importlib.import_module(f"harness.suites.{module_info.name}")
        for name, function in inspect.getmembers(module, inspect.isfunction):
            check_id = getattr(function, "harness_check", None)
            if check_id is None or getattr(function, "harness_when", None) is not None:
                continue  # a mode predicate (e.g. --hello-mode) keeps implementations apart
            for protocol in function.harness_protocols:
                owners[(check_id, protocol)].append(f"{module_info.name}.{name}")
    duplicates = {key: names for key, names in owners.items() if len(names) > 1}
    assert not duplicates, duplicates


def test_only_the_echo_protocols_name_their_correctness_checks_echo():
    """SPEC §6: tcp-echo and udp-echo keep `echo::`; tcp-hello, udp-hello and
    tcp-file say `conversation::` (an old `echo` still selects them: harness/suitenames.py)."""
    from harness.checks import load_catalogue
    from harness.suitenames import ECHO_PROTOCOLS

    catalogue = load_catalogue()
    misnamed = {c.id: c.protocols for c in catalogue.values()
                if c.suite == "echo" and set(c.protocols) - set(ECHO_PROTOCOLS)}
    assert not misnamed, misnamed
    for protocol in ("tcp-hello", "udp-hello", "tcp-file"):
        assert any(c.suite == "conversation" and protocol in c.protocols for c in catalogue.values()), protocol
