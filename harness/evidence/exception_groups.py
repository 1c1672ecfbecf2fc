"""Exception-group tracebacks (trio, anyio, asyncio.TaskGroup) in a server's output, taken out whole.

Why: their lines start with `+` and `|`, and the sub-exceptions' tracebacks are
nested in them; read line by line they looked like two tracebacks printed at
the same moment, interleaved (blind 19: one KeyboardInterrupt in a trio
nursery was shown as "2 traceback(s) ... interleaved").
"""

from __future__ import annotations

import re

_GROUP_START = re.compile(r"^\s*\+ Exception Group Traceback \(most recent call last\):$")
_GROUP_LINE = re.compile(r"^\s*[|+]")


#: Where a group was, in the rest of the output: this prefix and its index.
PLACE = "\x00exception group "


def split_exception_groups(output: str) -> tuple[list[str], str]:
    """The exception-group tracebacks of `output` (each one text), and the rest of it, with a line
    PLACE + index where each group was."""
    groups: list[list[str]] = []
    rest: list[str] = []
    current: list[str] | None = None
    for raw in output.splitlines():
        line = raw.rstrip()
        if _GROUP_START.match(line):
            current = [line]
            rest.append(f"{PLACE}{len(groups)}")
            groups.append(current)
        elif current is not None and _GROUP_LINE.match(line):
            current.append(line)
        else:
            current = None
            rest.append(raw)
    return ["\n".join(group) for group in groups], "\n".join(rest)
