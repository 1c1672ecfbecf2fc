"""How a check that did not pass is told: the result record's explanation
fields and the plain text shown for it (no pytest traceback).

Rules: pure functions of an exception, a server's output and a wire log; no
hooks here. `render` is the one text form of an explanation, used both for
pytest's report and for `harness run`'s lines.
"""

from __future__ import annotations

from typing import Any

from harness.errors import CheckFailed, CheckNotRun, ServerStartError
from harness.evidence import timeline, wirelog
from harness.results.report import render_bytes
from harness.server.launcher import ServerProcess
from harness.settings import Settings


def explain(error: BaseException, settings: Settings) -> dict[str, Any]:
    """The explanation fields of a check that raised `error`."""
    if isinstance(error, CheckFailed):
        return {
            "message": error.message,
            "expected": render_bytes(error.expected),
            "received": render_bytes(error.received),
            "detail": error.detail or None,
        }
    if isinstance(error, ServerStartError):
        return {"message": f"the server could not be started: {error}", "server_output": error.output_tail or None}
    if isinstance(error, CheckNotRun):
        return {"message": str(error)}
    text = str(error).strip()
    if "Timeout" in text and ">" in text:
        return {"message": f"the check did not finish within {settings.check_timeout:g} s (--check-timeout)"}
    if isinstance(error, (OSError, EOFError)):
        return {"message": f"network error talking to the server: {error!r}"}
    return {"message": f"{type(error).__name__}: {text}"}


def not_shown_yet(output: str, detail: str | None) -> str:
    """The server's output, unless the check's detail already quotes every line of it (a traceback shown by
    shutdown::no_traceback): the same lines twice bury the message."""
    lines = [line.strip() for line in output.splitlines() if line.strip() and not line.startswith("--- ")]
    if detail and lines and all(line in detail for line in lines):
        return ""
    return output


def render(explained: dict[str, Any]) -> str:
    lines = [explained.get("message") or ""]
    if explained.get("detail"):
        lines.append(explained["detail"])
    elif explained.get("received") == "":
        expected = explained.get("expected")
        if expected is not None:
            shown = expected if expected.startswith("hex:") else repr(expected)
            lines.append(f"  expected: {shown[:300]} · received nothing")
    else:
        for key in ("expected", "received"):
            value = explained.get(key)
            if value is not None:
                shown = value if value.startswith("hex:") else repr(value)
                lines.append(f"  {key}: {shown[:300]}")
    if explained.get("wire"):
        lines.append(timeline.render(explained["wire"]))
    if explained.get("server_output"):
        lines.append(explained["server_output"])
    return "\n".join(lines)


def wire_of(log: wirelog.WireLog, error: BaseException, instance: ServerProcess | None) -> dict[str, Any]:
    """The report's wire log of a check that did not pass, with the server's exit if it was seen."""
    if instance is not None and instance.ended():
        wirelog.server_exited(log, instance.exit_description())
    return wirelog.snapshot(log, getattr(error, "expected", None), getattr(error, "received", None),
                            getattr(error, "connection", None), getattr(error, "trailing", 0))
