"""What to change when a shutdown check fails, in the server's own language.

The advice names the calls of the language the server runs in (Python,
Node, or C and POSIX tools otherwise), guessed from the command lines of the
server and of the processes that survived: telling a C server about
`daemon=True` helps nobody.
"""

from __future__ import annotations

import os
from collections.abc import Iterable

from harness.server.shutdown import ShutdownOutcome

PYTHON, NODE, OTHER = "python", "node", "other"


def language(command_lines: Iterable[str]) -> str:
    """"python", "node" or "other", from the programs and scripts named on `command_lines`."""
    for line in command_lines:
        for word in line.split():
            name = os.path.basename(word).lower()
            if name.startswith("python") or name.endswith(".py"):
                return PYTHON
            if name in ("node", "nodejs", "npm", "npx") or name.endswith((".js", ".mjs", ".cjs")):
                return NODE
    return OTHER


#: How a process that the server started is made to end with it, per language.
STOP_CHILDREN = {
    PYTHON: "let them exit on the signal (do not catch it and carry on; a bare except: does), or stop them "
            "from the parent (os.kill each child, os.killpg)",
    NODE: "let them exit on the signal (a process.on('SIGTERM'/'SIGINT') handler must end with process.exit()), "
          "or stop them from the parent (child.kill() for each)",
    OTHER: "let them exit on the signal (do not ignore it, and a handler must end the process: _exit()), "
           "or stop them from the parent (kill() each child, or kill(0, SIGTERM))",
}

LEFT_THE_GROUP = ("the processes listed ignored it, caught it and carried on, or left the group (setsid, a "
                  "double fork), which nothing stops")


def hint(outcome: ShutdownOutcome, with_clients: bool, command_lines: Iterable[str] = ()) -> str:
    """Why it matters and how to fix it, for the case at hand."""
    kind = language(command_lines)
    if not outcome.server_exited and outcome.signal_name == "SIGINT":
        if kind != PYTHON:
            return "Ctrl+C (SIGINT) must end the server: do not ignore it, and a handler must end the process."
        if with_clients:
            return ("A non-daemon thread serving a client keeps Python alive after Ctrl+C (KeyboardInterrupt "
                    "ends only the main thread): start client threads with daemon=True, or close their sockets "
                    "and join them when the main loop ends.")
        return "Ctrl+C (KeyboardInterrupt) must end the server: do not catch it and carry on (a bare except: does)."
    if not outcome.server_exited:
        text = "SIGTERM is how kill, systemd and docker stop ask a server to stop; it must exit: do not ignore SIGTERM"
        if kind == PYTHON:
            text += (", and if you handle it, end the process (signal.signal(signal.SIGTERM, lambda *_: "
                     "sys.exit(0))).")
            if with_clients:
                text += " If it does, check that no non-daemon client thread keeps it alive."
        elif kind == NODE:
            text += ", and a process.on('SIGTERM') handler must end with process.exit()."
        else:
            text += ", and a handler must end the process (_exit())."
        return text
    if outcome.to_group:
        how = "as Ctrl+C does" if outcome.signal_name == "SIGINT" else "as a service manager does"
        return (f"{outcome.signal_name} reaches every process in the server's process group ({how}); "
                f"{LEFT_THE_GROUP}. Every process the server started must end with it: {STOP_CHILDREN[kind]}.")
    return (f"Every process the server started must end with it: {STOP_CHILDREN[kind]}, or serve clients "
            "with threads.")
