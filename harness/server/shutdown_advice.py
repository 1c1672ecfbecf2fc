"""What to change when a shutdown check fails, in the server's own language.

The advice names the calls of the language the server runs in (Python,
Node, or C and POSIX tools otherwise), guessed from the command lines of the
server and of the processes that survived (`harness.server.serverkind`, the
one place that tells a language): telling a C server about `daemon=True`
helps nobody. A traceback printed at Ctrl+C gets advice for the traceback at
hand (`traceback_advice`).
"""

from __future__ import annotations

from collections.abc import Iterable

from harness.server.serverkind import NODE, OTHER, PYTHON, language_of_commands
from harness.server.shutdown import ShutdownOutcome

#: How a process that the server started is made to end with it, per language.
STOP_CHILDREN = {
    PYTHON: "let them exit on the signal (do not catch it and carry on; a bare except: does), or stop them "
            "from the parent (os.kill each child, os.killpg)",
    NODE: "let them exit on the signal (a process.on('SIGTERM'/'SIGINT') handler must end with process.exit()), "
          "or stop them from the parent (child.kill() for each)",
    OTHER: "let them exit on the signal (do not ignore it, and a handler must end the process: _exit()), "
           "or stop them from the parent (kill() each child, or kill(0, SIGTERM))",
}

#: A handler that does not end the process, per language, and why it does not.
NODE_HANDLER = ("a process.on('{signal}') handler must end with process.exit() — not in server.close()'s "
                "callback, which runs only once every client has left: destroy() the open sockets first, or exit "
                "at once.")
C_HANDLER = ("a handler must end the process: _exit() in it, or a flag that the main loop sees — which it does "
             "not while accept()/read() blocks if the handler was installed with SA_RESTART (signal() does "
             "that): use sigaction() with sa_flags = 0, so the call fails with EINTR.")

LEFT_THE_GROUP = ("the processes listed ignored it, caught it and carried on, or left the group (setsid, a "
                  "double fork), which nothing stops")


def hint(outcome: ShutdownOutcome, with_clients: bool, command_lines: Iterable[str] = ()) -> str:
    """Why it matters and how to fix it, for the case at hand."""
    kind = language_of_commands(command_lines)
    if not outcome.server_exited and outcome.signal_name == "SIGINT":
        if kind == NODE:
            return "Ctrl+C (SIGINT) must end the server: do not ignore it, and " + NODE_HANDLER.format(signal="SIGINT")
        if kind != PYTHON:
            return "Ctrl+C (SIGINT) must end the server: do not ignore it, and " + C_HANDLER
        if with_clients:
            return ("A non-daemon thread serving a client keeps Python alive after Ctrl+C (KeyboardInterrupt "
                    "ends only the main thread): start client threads with daemon=True, or close their sockets "
                    "and join them when the main loop ends. A ThreadPoolExecutor's workers cannot be daemons, "
                    "and its `with` block waits for them: shut it down with shutdown(wait=False, "
                    "cancel_futures=True) and close the clients' sockets.")
        return "Ctrl+C (KeyboardInterrupt) must end the server: do not catch it and carry on (a bare except: does)."
    if not outcome.server_exited:
        text = "SIGTERM is how kill, systemd and docker stop ask a server to stop; it must exit: do not ignore SIGTERM"
        if kind == PYTHON:
            text += (", and if you handle it, end the process (signal.signal(signal.SIGTERM, lambda *_: "
                     "sys.exit(0))).")
            if with_clients:
                text += " If it does, check that no non-daemon client thread keeps it alive."
        elif kind == NODE:
            text += ", and " + NODE_HANDLER.format(signal="SIGTERM")
        else:
            text += ", and " + C_HANDLER
        return text
    if outcome.to_group:
        how = "as Ctrl+C does" if outcome.signal_name == "SIGINT" else "as a service manager does"
        return (f"{outcome.signal_name} reaches every process in the server's process group ({how}); "
                f"{LEFT_THE_GROUP}. Every process the server started must end with it: {STOP_CHILDREN[kind]}.")
    return (f"Every process the server started must end with it: {STOP_CHILDREN[kind]}, or serve clients "
            "with threads.")


def traceback_advice(printed: bytes) -> str:
    """What to change, for the traceback at hand."""
    interrupted = b"KeyboardInterrupt" in printed
    if interrupted and b"Exception Group Traceback" in printed:  # (blind 19: trio's nursery)
        return ("the KeyboardInterrupt came wrapped in an exception group (trio, anyio, asyncio.TaskGroup), which "
                "`except KeyboardInterrupt` does not catch: catch it with `except* KeyboardInterrupt` (Python 3.11+) "
                "around the call that runs the server")
    advice = []
    if b"asyncio" in printed and b"CancelledError" in printed and (
            b"Exception in callback" in printed or b"Task exception was never retrieved" in printed):
        # Python 3.11's asyncio logs "Exception in callback ..." for every client
        # handler task cancelled at shutdown (3.12 no longer does).
        advice.append("asyncio cancelled the client handlers still running and logged each cancellation; catch "
                      "asyncio.CancelledError in the connection handler, close the writer and return")
    if interrupted and b"asyncio.run(" in printed:  # (blind 19: the advice above was given for this one too)
        advice.append("Ctrl+C ended asyncio.run() with KeyboardInterrupt (the cancelled serve_forever() is part "
                      "of its traceback): catch it where the program starts, `try: asyncio.run(main())` `except "
                      "KeyboardInterrupt: pass`")
    return "; and ".join(advice) or "catch KeyboardInterrupt around the serving loop, close the sockets and exit quietly"


def excerpt(text: str, limit: int = 3000) -> str:
    """The start of a long traceback (where it says what happened) and its last line."""
    if len(text) <= limit:
        return text
    return text[:limit].rstrip() + "\n  ...\n" + text.rsplit("\n", 1)[-1]
