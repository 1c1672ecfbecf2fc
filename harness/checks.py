"""The catalogue of checks: stable ids, descriptions, expectations, verdict tiers.

A check is a pytest test function in `harness.suites`, decorated with
`@check(...)`. The decorator only records metadata (no pytest import here);
the plugin reads it from the test function. One id may be implemented by
several functions, one per protocol (e.g. `echo::binary_bytes` over TCP and
over UDP); `harness list` shows each id once with all its protocols.

Tiers (SPEC §4): a failed *required* check is a failure; a failed
*recommended* check is a warning unless `--strict`; an *informational* check
(speed figures, the coalescing demonstration) reports what it saw through the
`inform` fixture and ends as outcome "info", never as a failure.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, TypeVar

SUITES = ("echo", "conversation", "framing", "concurrency", "shutdown", "speed")
#: The protocol name checks declare to apply to every protocol file (SPEC §6).
PROTOCOL_FILE = "protocol-file"
#: Suites that run only when asked for (`--suite speed`): they measure, and take time.
OPT_IN_SUITES = ("speed",)
REQUIRED = "required"
RECOMMENDED = "recommended"
#: Never fails: the check reports what it saw (figures, bytes) as outcome "info".
INFORMATIONAL = "informational"

F = TypeVar("F", bound=Callable)


@dataclass
class Check:
    id: str
    suite: str
    description: str
    expectation: str
    tier: str = REQUIRED
    protocols: list[str] = field(default_factory=list)


CATALOGUE: dict[str, Check] = {}


def check(
    id: str,
    *,
    protocols: tuple[str, ...],
    description: str | None = None,
    expectation: str | None = None,
    tier: str = REQUIRED,
    when: Callable[[Any], bool] | None = None,
) -> Callable[[F], F]:
    """Mark a suite test function as the check `id` ("suite::name") for `protocols`.

    The first declaration of an id gives its description and expectation; a
    later one (the same check for another protocol) may omit them. `when`
    (a predicate on the run's Settings) narrows a check to a protocol mode,
    e.g. tcp-hello's `--hello-mode unframed`; the plugin deselects it otherwise.
    """
    suite, _, name = id.partition("::")
    if suite not in SUITES or not name:
        raise ValueError(f"check id {id!r} must be 'suite::name' with suite in {SUITES}")
    if id not in CATALOGUE and not (description and expectation):
        raise ValueError(f"check {id!r} needs a description and an expectation")

    def decorate(function: F) -> F:
        entry = CATALOGUE.setdefault(id, Check(id, suite, description or "", expectation or "", tier))
        for protocol in protocols:
            if protocol not in entry.protocols:
                entry.protocols.append(protocol)
        function.harness_check = id  # type: ignore[attr-defined]
        function.harness_protocols = tuple(protocols)  # type: ignore[attr-defined]
        function.harness_when = when  # type: ignore[attr-defined]
        return function

    return decorate


def load_catalogue() -> dict[str, Check]:
    """Import every suite module so that all checks are registered."""
    import importlib
    import pkgutil

    import harness.suites

    for module in pkgutil.iter_modules(harness.suites.__path__):
        if module.name.startswith("test_"):
            importlib.import_module(f"harness.suites.{module.name}")
    return CATALOGUE
