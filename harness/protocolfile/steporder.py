"""Steps that can never run as written, found when the file is loaded.

Pure rules on a parsed conversation (no I/O); the loader turns each problem
into its one-line bad-file error (exit 2):

- after a client's `close`, that client has no more steps (its connection is gone);
- after a client's `expect-close`, only its `close` may follow (the server closed:
  a send would fail, an expect could never be met);
- `{client}` is the only placeholder: any other `{name}` in a step is a typo
  (`{clinet}`), which would otherwise be sent literally.
"""

from __future__ import annotations

import difflib
import re

from harness.protocolfile.model import CLOSE, CLOSE_EXPECTED, PLACEHOLDER, Step

#: What looks like a placeholder: a name in braces (a regex quantifier such as {2,5} or {3} is not one).
PLACEHOLDER_LIKE = re.compile(r"\{[A-Za-z_][A-Za-z0-9_-]*\}")


def order_problem(steps: tuple[Step, ...]) -> tuple[int, str] | None:
    """(step number, problem) of the first step that can never run after an earlier one, or None."""
    ended: dict[str, Step] = {}  # client -> its close or expect-close
    for step in steps:
        earlier = ended.get(step.client)
        if earlier is not None:
            who = "" if step.client == "client" else f" of client {step.client!r}"
            if earlier.kind == CLOSE:
                return step.number, (f"{_action(step)} after the 'close' at step {earlier.number}{who}: a client "
                                     "has no more steps once it closed its connection")
            if step.kind != CLOSE:
                return step.number, (f"{_action(step)} after the 'expect-close' at step {earlier.number}{who} can "
                                     "never run: the server has closed that connection (only 'close' may follow)")
        if step.kind in (CLOSE, CLOSE_EXPECTED):
            ended[step.client] = step
    return None


def _action(step: Step) -> str:
    if step.raw is not None:
        return f"'{step.kind}-hex'"
    return f"'{step.kind}'"


def unknown_placeholder(*texts: str | None) -> str | None:
    """The problem with the first `{name}` that is not `{client}` in `texts`, or None."""
    for text in texts:
        for found in PLACEHOLDER_LIKE.findall(text or ""):
            if found != PLACEHOLDER:
                close = difflib.get_close_matches(found, [PLACEHOLDER], n=1, cutoff=0.6)
                hint = f"did you mean '{PLACEHOLDER}'? " if close else ""
                return (f"unknown placeholder '{found}' ({hint}the only placeholder is {PLACEHOLDER}; it would be "
                        "sent literally)")
    return None
