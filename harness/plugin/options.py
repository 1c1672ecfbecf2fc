"""The plugin's options, and which checks a run keeps, in which order.

Rules:
- Every option of `harness.settings.OPTIONS` is a command-line option and an
  ini key of the same name; the plugin's own options (`--server`, `--suite`,
  `--check`, `--harness-json`, `--harness-resolved`, `--harness-ui`) are
  declared here only.
- A check runs when it applies to the protocol (and its `harness_when`
  holds), its suite and id are selected, and an opt-in suite (speed) was
  named. Without `--server`, every check is collected and skipped.
- The kept checks run from the basics outwards: the order of `SUITES`.
- A protocol file's derived checks are parametrized here, from the run's
  settings (a suite only marks its runners with `harness_derived`).
"""

from __future__ import annotations

from typing import Collection

import pytest

from harness.checks import CATALOGUE, OPT_IN_SUITES, SUITES
from harness.plugin.keys import SETTINGS
from harness.plugin.verdicts import check_id
from harness.protocolfile import load_protocol_file
from harness.protocolfile.derive import register
from harness.settings import OPTIONS
from harness.suitenames import matches
from harness.suitenames import selected_suites as _selected_suites


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("harness", "socket server conformance (harness)")
    group.addoption("--server", dest="harness_server", default=None,
                    help="the server to test: a .py file, an executable, or a quoted command line with {port}")
    for option in OPTIONS:
        flag = option.pytest_option
        if option.type is bool:
            group.addoption(flag, dest=option.dest, action="store_true", default=None, help=option.help)
        else:
            group.addoption(flag, dest=option.dest, default=None, help=f"{option.help} (default: {option.default})")
        parser.addini(option.dest, option.help, default=None)
    group.addoption("--suite", dest="harness_suites", action="append", default=None,
                    help=f"run only this suite (repeatable): {', '.join(SUITES)}")
    group.addoption("--check", dest="harness_checks", action="append", default=None, metavar="ID",
                    help="run only the checks matching this id or glob, e.g. 'echo::*' (repeatable)")
    group.addoption("--harness-json", dest="harness_json", default=None, help="write the JSON report here")
    group.addoption("--harness-resolved", dest="harness_resolved", action="store_true", default=False,
                    help="--server is the argv `harness run` resolved: run it as it is (used by `harness run`)")
    group.addoption("--harness-ui", dest="harness_ui", type=int, default=None, metavar="VERBOSITY",
                    help="print one line per check at this verbosity (-1 quiet, 0, 1 verbose; used by `harness run`)")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    settings = config.stash.get(SETTINGS, None)
    selected_suites = _selected_suites(config.getoption("harness_suites", None))  # `echo` brings `conversation`
    selected_checks = config.getoption("harness_checks", None)
    keep, drop = [], []
    for item in items:
        found = check_id(item)
        if found is None:
            # A protocol file's derived check with nothing to derive (no protocol file) is dropped.
            (drop if getattr(getattr(item, "function", None), "harness_derived", False) else keep).append(item)
            continue
        check = CATALOGUE[found]
        item.extra_keyword_matches.update({check.suite, found.partition("::")[2]})
        applies = settings is not None and settings.protocol_kind in getattr(item.function, "harness_protocols", ())
        when = getattr(item.function, "harness_when", None)
        applies = applies and (when is None or when(settings))
        if settings is None:
            item.add_marker(pytest.mark.skip(reason="no --server given"))
            keep.append(item)
        elif (applies and (not selected_suites or check.suite in selected_suites)
              and (not selected_checks or any(matches(found, p) for p in selected_checks))
              and _opted_in(check.suite, selected_suites, selected_checks)):
            keep.append(item)
        else:
            drop.append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
    # From the basics outwards (SPEC §7): correctness, framing, concurrency,
    # shutdown — the order of SUITES, whatever the files' names.
    items[:] = sorted(keep, key=_suite_rank)


def _suite_rank(item: pytest.Item) -> int:
    found = check_id(item)
    suite = found.partition("::")[0] if found is not None else ""  # derived ids are not in CATALOGUE
    return SUITES.index(suite) if suite in SUITES else len(SUITES)


def _opted_in(suite: str, suites: Collection[str] | None, checks: list[str] | None) -> bool:
    """An opt-in suite (speed) runs only when named: `--suite speed`, or a check
    pattern starting with `speed::`."""
    if suite not in OPT_IN_SUITES:
        return True
    return suite in (suites or ()) or any(p.startswith(f"{suite}::") for p in checks or ())


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """A protocol file's derived checks (`harness_derived = SUITE`) are one
    parameter each: the file's checks of that suite (none without a protocol file)."""
    suite = getattr(metafunc.function, "harness_derived", None)
    if not suite:
        return
    settings = metafunc.config.stash.get(SETTINGS, None)
    checks = []
    if settings is not None and settings.protocol_file:
        checks = [c for c in register(load_protocol_file(settings.protocol)) if c.suite == suite]
    metafunc.parametrize("derived", checks, ids=[c.id for c in checks])
