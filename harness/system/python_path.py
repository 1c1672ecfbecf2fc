"""How a `.py` server is started: the standard library before its own folder.

Rule (SPEC §5.1): a student's file named `socket.py` (a tutorial's client,
kept beside the server) must not break the grading of their own server.
`python server.py` puts the script's folder first on `sys.path`, so the
server's `import socket` would import the student's file. The server runs
instead as `python -u -P -c SHIM server.py ARGS`: `-P` keeps its folder off
the front of the path, and the shim puts it after the standard library but
before site-packages (the student's own modules still import, and win over
installed packages), sets `sys.argv` as `python server.py ARGS` would, and
runs the script as `__main__`. Only the launch changes: the command shown
and judged everywhere is still `python -u server.py ARGS`.
"""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path

#: One line, no path separator in it (the sandbox rewrites arguments that name files).
SHIM = ("import os, runpy, sys; sys.argv = sys.argv[1:]; "
        "folder = os.path.dirname(os.path.abspath(sys.argv[0])); "
        "at = next((i for i, p in enumerate(sys.path) if p.endswith(('site-packages', 'dist-packages'))), "
        "len(sys.path)); sys.path.insert(at, folder); runpy.run_path(sys.argv[0], run_name='__main__')")


def standard_library_first(argv: list[str]) -> list[str]:
    """`argv` as launched: a `.py` server under this Python gets the shim; any other command is unchanged."""
    if len(argv) >= 3 and argv[0] == sys.executable and argv[1] == "-u" and argv[2].endswith(".py"):
        return [argv[0], "-u", "-P", "-c", SHIM, *argv[2:]]
    return list(argv)


#: The frames the shim adds to a server's traceback: its own line, then runpy's.
_SHIM_FRAMES = re.compile(r'^  File "<string>", line 1, in <module>\n(?:  File "<frozen runpy>", line \d+, in \w+\n)+',
                          re.MULTILINE)


def without_shim_frames(text: str) -> str:
    """A server's output without the frames the shim adds to its tracebacks: they are the harness's, not the
    student's (the traceback reads as it would under `python server.py`)."""
    return _SHIM_FRAMES.sub("", text)


def as_typed(command_line: str) -> str:
    """A process's command line (words joined by spaces) as the user typed it: `python -u server.py ARGS`
    for a server launched through the shim."""
    return command_line.replace(f" -P -c {SHIM} ", " ", 1)


def harness_python(cwd: str | os.PathLike | None = None) -> list[str]:
    """The interpreter for the harness's own Python children (pytest-xdist workers, `protocol check`'s run).

    Rule (SPEC §5): `python -m`/`-c` put the current folder first on `sys.path`, so run from a
    submission's folder they would import its `harness/` package, as root and outside the sandbox.
    `-P` keeps that folder off the path; only the harness's own checkout, run without being
    installed, needs it there (and is then what runs anyway)."""
    own_root = Path(__file__).resolve().parents[2]
    try:
        folder = Path(cwd if cwd is not None else os.getcwd()).resolve()
    except OSError:  # the current folder was removed: nothing there to import
        folder = None
    return [sys.executable] if folder == own_root else [sys.executable, "-P"]
