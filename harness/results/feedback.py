"""The explanation a student reads for one check: what we sent, expected, got.

Used by every grading report (Gradescope, JUnit, Classroom). Pure functions of
a `CheckResult` (whose bytes the plugin already rendered as text or `hex:..`)
and the catalogue entry. Bytes are shown readably — text where printable,
`\\xNN` escapes otherwise — and the first differing offset comes from the
result's `detail` (harness.evidence.bytesdiff).
"""

from __future__ import annotations

from harness.checks import Check
from harness.evidence import timeline
from harness.evidence.bytesdiff import readable
from harness.results.report import CheckResult

SHOWN_BYTES = 160
OUTPUT_LINES = 20

VERDICT = {
    "passed": "passed",
    "warning": "WARNING (recommended check, no points lost)",
    "failed": "FAILED",
    "error": "NOT RUN (the harness could not run this check)",
    "skipped": "SKIPPED",
    "not run": "NOT RUN",
}


def shown(rendered: str | None) -> str | None:
    """A report's rendered bytes (text, or `hex:..`) shown as readable bytes."""
    if rendered is None:
        return None
    if rendered.startswith("hex:"):
        hexpart, _, rest = rendered[4:].partition(" ...")
        try:
            data = bytes.fromhex(hexpart)
        except ValueError:
            return rendered
        return readable(data, SHOWN_BYTES) + (f" ...{rest}" if rest else "")
    return readable(rendered.encode("utf-8", "surrogateescape"), SHOWN_BYTES)


def explain(result: CheckResult | None, check: Check | None, outcome: str) -> str:
    """Multi-line feedback for a check; short for a pass."""
    lines = []
    if check is not None and check.description:
        lines.append(f"Check: {check.description}")
        if outcome != "passed":
            lines.append(f"Expected behaviour: {check.expectation}")
    if outcome == "passed":
        return "\n".join(lines + ["Result: passed"])
    lines.append(f"Result: {VERDICT.get(outcome, outcome)}")
    if result is None:
        lines.append("This check did not run (the server did not start, or grading was stopped).")
        return "\n".join(lines)
    if result.message:
        lines.append(result.message)
    sent = getattr(result, "sent", None)  # a later CheckResult may carry what was sent
    for label, value in (("We sent:     ", sent), ("We expected: ", result.expected), ("We got:      ", result.received)):
        text = shown(value) if isinstance(value, str) else (readable(value, SHOWN_BYTES) if isinstance(value, bytes) else None)
        if text is not None:
            lines.append(f"{label}{text}")
    if result.detail:
        lines.append(result.detail)
    if result.wire:
        lines.append(timeline.render(result.wire))
    if result.server_output:
        tail = result.server_output.strip().splitlines()[-OUTPUT_LINES:]
        lines.append("Your server's output (last lines):")
        lines += ["  " + line for line in tail]
    return "\n".join(lines)
