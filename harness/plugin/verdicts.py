"""A check's id, and its verdict: what happened × its tier → its outcome.

Rules:
- A check is a suite function marked by `harness.checks.check` (its id in
  `harness_check`) or a protocol file's derived check (`harness_derived`; its
  id is its parameter's). `result_id_of` is the one rule that names a
  result; `result_id` applies it to a collected item (this process),
  `check_result_id` to a node id (the controller, which under xdist never
  sees items).
- `VERDICTS` is the one table from (tier, what happened) to a result's
  outcome; `--strict` makes a recommended check count as required, and an
  informational check an assignment grades (`inform(graded=True)`) counts as
  required too. An outcome "warning" or "info" is not a failure for pytest.
"""

from __future__ import annotations

import importlib
import os
from typing import Any, Iterator

import pytest

from harness.checks import CATALOGUE, INFORMATIONAL, RECOMMENDED, REQUIRED
from harness.clients.patience import PATIENCE
from harness.deadline import Deadline, poll_until
from harness.errors import CheckFailed, CheckNotRun, ServerStartError
from harness.evidence import hints, wirelog
from harness.plugin.explain import explain, not_shown_yet, render, wire_of
from harness.plugin.keys import INFO_OF_ITEM, POOL, PROPERTY, SERVER_OF_ITEM, SETTINGS

# -- ids -------------------------------------------------------------------------

def result_id_of(function: object, param: str) -> tuple[str, str] | None:
    """(result id, suite) of check `function` run with parameter id `param`
    ("" when not parametrized); None if `function` is not a check."""
    if getattr(function, "harness_derived", False):  # a protocol file's check: the parameter is its id
        return param, param.partition("::")[0]
    check_id = getattr(function, "harness_check", None)
    if check_id is None:
        return None
    return (f"{check_id}[{param}]" if param else check_id), check_id.partition("::")[0]


def check_id(item: pytest.Item) -> str | None:
    """The catalogue id of the check `item` runs (without parameter), None if not a check."""
    function = getattr(item, "function", None)
    if getattr(function, "harness_derived", False):
        callspec = getattr(item, "callspec", None)
        return getattr(callspec.params.get("derived"), "id", None) if callspec is not None else None
    return getattr(function, "harness_check", None)


def result_id(item: pytest.Item) -> str:
    """The id of `item`'s result in the report."""
    function = getattr(item, "function", None)
    if getattr(function, "harness_derived", False):  # the parameter's own id (pytest may have escaped callspec.id)
        param = check_id(item) or None
    else:
        callspec = getattr(item, "callspec", None)
        param = callspec.id if callspec is not None else ""
    named = result_id_of(function, param) if param is not None else None
    return named[0] if named is not None else item.nodeid


def check_result_id(nodeid: str) -> tuple[str, str]:
    """(result id, suite) of a suite test's node id, as `result_id` names its item's result."""
    path, _, rest = nodeid.partition("::")
    name, _, param = rest.partition("[")
    module_name = "harness.suites." + os.path.splitext(os.path.basename(path))[0]
    try:
        function = getattr(importlib.import_module(module_name), name)
    except (ImportError, AttributeError):
        return nodeid, "echo"
    return result_id_of(function, param[:-1]) or (nodeid, "echo")


# -- verdicts ----------------------------------------------------------------------

#: What happened in a check's run: "passed"; "informed" (passed, and recorded a
#: finding through `inform`); "failed" (CheckFailed in the call); "broke" (any
#: other exception in the call); "not run" (the server could not start, or a
#: reference was missing: CheckNotRun); "error" (setup or teardown failed);
#: "skipped".
_BY_TIER = {
    REQUIRED: {"passed": "passed", "informed": "passed", "failed": "failed", "broke": "failed"},
    RECOMMENDED: {"passed": "passed", "informed": "passed", "failed": "warning", "broke": "warning"},
    INFORMATIONAL: {"passed": "passed", "informed": "info", "failed": "info", "broke": "failed"},
}
_ANY_TIER = {"not run": "error", "error": "error", "skipped": "skipped"}
VERDICTS: dict[tuple[str, str], str] = {
    (tier, happened): outcome for tier, row in _BY_TIER.items() for happened, outcome in {**row, **_ANY_TIER}.items()
}


def verdict(tier: str, happened: str, *, strict: bool, graded: bool) -> str:
    """The outcome of a check of `tier` in which `happened` happened (see `VERDICTS`)."""
    if (tier == RECOMMENDED and strict) or (tier == INFORMATIONAL and graded):
        tier = REQUIRED
    return VERDICTS[(tier, happened)]


def _happened(report: pytest.TestReport, call: pytest.CallInfo[None], info: dict[str, Any] | None) -> str:
    if report.failed and call.excinfo is not None:
        error = call.excinfo.value
        if isinstance(error, (ServerStartError, CheckNotRun)):
            return "not run"
        if call.when != "call":
            return "error"
        return "failed" if isinstance(error, CheckFailed) else "broke"
    if report.skipped:
        return "skipped"
    return "informed" if info is not None and call.when == "call" else "passed"


# -- hooks ---------------------------------------------------------------------------

@pytest.hookimpl(tryfirst=True, specname="pytest_runtest_makereport")
def plain_report_for_protocol_failures(item: pytest.Item, call: pytest.CallInfo[None]) -> pytest.TestReport | None:
    """A plain report for a check that failed the protocol's way (CheckFailed,
    ServerStartError): pytest's traceback formatting costs 0.2–0.4 s a check,
    and the wrapper below replaces that text anyway."""
    excinfo = call.excinfo
    if excinfo is None or check_id(item) is None or not isinstance(excinfo.value, (CheckFailed, ServerStartError, CheckNotRun)):
        return None
    return pytest.TestReport(
        nodeid=item.nodeid,
        location=item.location,
        keywords=dict.fromkeys(item.keywords, 1),
        outcome="failed",
        longrepr=str(excinfo.value),
        when=call.when,
        sections=list(item._report_sections),
        duration=call.duration,
        start=call.start,
        stop=call.stop,
        user_properties=list(item.user_properties),
    )


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    """Attach the check's result record (id, outcome, explanation) to its report."""
    report = yield
    log = wirelog.stop() if call.when == "call" else None
    found = check_id(item)
    settings = item.config.stash.get(SETTINGS, None)
    if found is None or settings is None:
        return report
    check = CATALOGUE[found]
    pool = item.config.stash[POOL]
    instance = item.stash.get(SERVER_OF_ITEM, None)
    info = item.stash.get(INFO_OF_ITEM, None)
    record: dict[str, Any] = {"id": result_id(item), "suite": check.suite, "when": call.when}
    happened = _happened(report, call, info)
    record["outcome"] = verdict(check.tier, happened, strict=settings.strict,
                                graded=bool((info or {}).get("graded")))
    if report.failed and call.excinfo is not None:
        explained = explain(call.excinfo.value, settings)
        if instance is not None and happened != "not run":
            # Give a crashing server a moment to finish dying and printing its traceback — unless the
            # check ended waiting in silence: the server has had that wait to die in.
            if not ended_in_silence(log):
                poll_until(instance.ended, Deadline(0.2))
            ended = instance.ended()
            # In the shutdown suite the exit is the check's own subject, already explained.
            if ended and check.suite != "shutdown" and "the server exited" not in explained["message"]:
                explained["message"] = with_exit(explained["message"], instance.exit_code(), *instance.exit_parts())
            if (settings.protocol_file and ended and check.suite != "shutdown"
                    and record["outcome"] == "warning"):
                # A recommended answer may differ; a crash is never one (the server keeps running whatever it
                # receives): the check fails as a required one would. (The built-in suites judge survival in
                # checks of its own, e.g. echo::survives_empty_datagram beside empty_datagram_answered.)
                record["outcome"] = "failed"
                explained["message"] = ("the server died during this recommended check, which makes it a failure "
                                        "(a recommended reply may differ, but a server must survive whatever it "
                                        "receives): " + explained["message"])
            if not instance.alive() and not instance.pids():
                instance.stop()  # drains its output pipes to EOF: the whole traceback is in the tail
            explained["server_output"] = not_shown_yet(instance.output_tail(), explained.get("detail")) or None
            explained["message"] = hints.revise(explained["message"], explained["server_output"] or "", check.suite,
                                                    answered_before=PATIENCE.answered_before,
                                                    length_format=settings.length_format
                                                    if settings.protocol_name == "tcp-framed" else None)
        if log is not None and log.total:
            explained["wire"] = wire_of(log, call.excinfo.value, instance)
        record.update(explained)
        if info is not None and info.get("figures"):
            record["figures"] = info["figures"]
        if record["outcome"] in ("warning", "info"):  # a finding, not a failure
            report.outcome = "passed"
        report.longrepr = render(explained)
    elif report.skipped:
        if isinstance(report.longrepr, tuple):
            record["message"] = str(report.longrepr[2])
    elif happened == "informed":
        record.update({k: v for k, v in info.items() if k != "graded" and v is not None})
    if pool.first_facts is not None:
        record["server"] = dict(pool.first_facts)
    if pool.startup_error is not None and not pool.ever_started:
        record["startup_error"] = str(pool.startup_error)
        record["startup_output"] = pool.startup_error.output_tail
    report.user_properties.append((PROPERTY, record))
    return report


def ended_in_silence(log: wirelog.WireLog | None) -> bool:
    """Whether the last thing the check heard from the server was a wait that nothing ended
    (the clients' closes after it are theirs, not the server's)."""
    if log is None or not log.total:
        return False
    latest = list(log.tail) or log.head  # the log's last events (tail is filled only past its head)
    for event in reversed(latest[-8:]):
        if event[2] in wirelog.INBOUND:
            return event[2] == wirelog.SILENCE
    return False


def with_exit(message: str, code: int | None, exit_text: str, limit: str | None = None) -> str:
    """A failure's message with the server's exit during the check. Killed by a signal (a crash,
    a limit, a kill), ended by a resource limit (a MemoryError at --memory-limit) or exiting by
    itself without an error (exit code 0: it left its accept loop), the exit is the news and
    leads; the client's view follows. An exit with an error code comes after what the client
    saw (that is usually why it exited: an exception, whose traceback the report shows).
    `exit_text` is the status in words ("exit code 1"), `limit` the resource limit that caused it, if one did."""
    description = f"{exit_text}: {limit}" if limit else exit_text
    if code is not None and (code <= 0 or limit):
        first, _, rest = message.partition("\n")
        if code < 0:
            lead = f"the server was {description} during this check"
        elif code == 0:  # it returned from its main loop: no error explains the clients' trouble
            lead = "the server exited by itself (exit code 0, no error) during this check"
        else:
            lead = f"the server stopped with {description} during this check"
        told = f"{lead}; what the client saw: {first}" + (f"\n{rest}" if rest else "")
        if code == 0 and "hint:" not in told and "accept() in a loop" not in told:
            told += ("\nhint: a server serves client after client until it is stopped: keep receiving (accept() "
                     "and serving each client, or recvfrom() and answering) in a loop that only Ctrl+C or SIGTERM ends")
        return told
    return f"{message} — the server exited during this check ({description})"
