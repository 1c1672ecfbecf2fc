"""`echo`, the correctness suite's old name for every protocol (SPEC §6).

tcp-echo and udp-echo call their correctness checks `echo::`; tcp-hello,
udp-hello, tcp-file and every protocol file call them `conversation::`
(`conversation::greeting`). Assignment files and command lines written before
the rename say `echo` for those: `--suite echo`, `suites = ["echo"]`,
`checks`/`exclude = ["echo::greeting"]`, `[points] echo = 40` or
`"echo::greeting" = 2` keep working, with a one-line note.

The alias is one-way and never ambiguous: `echo` also selects the
`conversation` suite (a protocol has one or the other), and `echo::X` stands
for `conversation::X` only where no check `echo::X` exists. Pure functions;
no I/O.
"""

from __future__ import annotations

import fnmatch
from typing import Iterable, Mapping

OLD = "echo"
NEW = "conversation"
#: Protocols whose correctness suite keeps the name `echo` (tcp-framed has framing checks only).
ECHO_PROTOCOLS = ("tcp-echo", "udp-echo", "tcp-framed")


def correctness_suite(protocol: str) -> str:
    """`echo` for the echo protocols, `conversation` for every other one (protocol files included)."""
    return OLD if protocol in ECHO_PROTOCOLS else NEW


def selected_suites(suites: Iterable[str] | None) -> set[str] | None:
    """The suites a `--suite`/`suites` list selects: `echo` brings `conversation` along."""
    if suites is None:
        return None
    chosen = set(suites)
    return chosen | {NEW} if OLD in chosen else chosen


def matches(check_id: str, pattern: str) -> bool:
    """Whether a `--check`/`checks`/`exclude` glob selects a check id; `echo::P` also selects `conversation::P`."""
    if fnmatch.fnmatchcase(check_id, pattern):
        return True
    return check_id.startswith(f"{NEW}::") and pattern.startswith(f"{OLD}::") and fnmatch.fnmatchcase(
        check_id, NEW + pattern[len(OLD):])


def old_names(name: str) -> tuple[str, ...]:
    """The names a `[points]` key may have used for a check id or suite: itself, then its pre-rename name."""
    if name == NEW:
        return (NEW, OLD)
    if name.startswith(f"{NEW}::"):
        return (name, OLD + name[len(NEW):])
    return (name,)


def lookup(points: Mapping[str, float], name: str) -> float | None:
    """`points[name]`, or the points given under its old name (`echo`, `echo::X`)."""
    for key in old_names(name):
        if key in points:
            return points[key]
    return None


def renamed(name: str, known: Iterable[str]) -> str | None:
    """The current id of an old `echo::X` name that is no check of its own, if `conversation::X` is one."""
    if not name.startswith(f"{OLD}::"):
        return None
    new = NEW + name[len(OLD):]
    known = set(known)
    return new if name not in known and new in known else None


def note(protocol: str | None = None) -> str:
    """The one line shown when the old name is used."""
    which = f"{protocol}'s" if protocol else "a conversation protocol's"
    return (f"note: {which} correctness checks are now called 'conversation::' (e.g. conversation::greeting); "
            "'echo' still works as their old name, rename it when convenient")
