"""What the server is — its language, from its command line — so that advice
names what the student wrote (SPEC §7: a Node server is not told to catch
Python's ConnectionResetError).

Read from the command only (the interpreter, or the script's file type);
"other" when it cannot be told (a compiled program, a shell pipeline), and
then the advice names the operating system's terms (ECONNRESET), which every
language shows somewhere.

Rule: this is the one place that tells a language from a word of a command
(`language_of_word`): the server's command (`language_of`, its first words)
and the command lines of processes that survived a stop signal
(`language_of_commands`, every word; harness.server.shutdown_advice) are read
the same way.
"""

from __future__ import annotations

import os
from collections.abc import Iterable

PYTHON, NODE, OTHER = "python", "node", "other"

_BY_INTERPRETER = {"python": PYTHON, "pypy": PYTHON, "node": NODE, "nodejs": NODE, "bun": NODE,
                   "deno": NODE, "npm": NODE, "npx": NODE}
_BY_SUFFIX = {".py": PYTHON, ".js": NODE, ".mjs": NODE, ".cjs": NODE, ".ts": NODE}


def language_of_word(word: str) -> str | None:
    """PYTHON or NODE if `word` names a Python or Node interpreter (python3.11, pythonw, nodejs...)
    or script (server.py, app.mjs...); None otherwise."""
    name = os.path.basename(word).lower()
    interpreter = _BY_INTERPRETER.get(name) or _BY_INTERPRETER.get(name.rstrip("0123456789."))  # python3.11
    if interpreter:
        return interpreter
    if name.startswith("python"):
        return PYTHON
    return _BY_SUFFIX.get(os.path.splitext(name)[1])


def language_of(argv: tuple[str, ...] | list[str]) -> str:
    """PYTHON, NODE or OTHER for a server's command line (its first three words)."""
    for arg in argv[:3]:
        language = language_of_word(arg)
        if language:
            return language
    return OTHER


def language_of_commands(command_lines: Iterable[str]) -> str:
    """PYTHON, NODE or OTHER, from the first program or script named on any of `command_lines`."""
    for line in command_lines:
        for word in line.split():
            language = language_of_word(word)
            if language:
                return language
    return OTHER


#: How to survive a client that vanishes with a reset, in the server's own terms.
SURVIVE_RESET = {
    PYTHON: "catch ConnectionResetError and BrokenPipeError around each connection's recv()/send(), close that "
            "connection, and keep serving the others",
    NODE: "handle each connection socket's 'error' event (ECONNRESET, EPIPE): socket.on('error', ...) — an "
          "unhandled 'error' event ends the whole process — and keep serving the others",
    OTHER: "treat a reset connection (ECONNRESET on read, EPIPE on write) as the end of that connection only, "
           "close it, and keep serving the others",
}


#: How a server that outlived a stop signal should end, when it is not Python
#: (the Python advice, with its threads and KeyboardInterrupt, lives with the shutdown suite).
STOP_ON_SIGNAL = {
    NODE: "{signal} must end the server: a process.on('{signal}', ...) handler must end with process.exit(), "
          "and a child process it started must be stopped too (child.kill()).",
    OTHER: "{signal} must end the server: do not ignore {signal}; a handler for it must exit the process, "
           "after stopping the processes the server started.",
}


#: How a server sees that its client has closed, in the server's own terms.
END_OF_INPUT = {
    PYTHON: "when recv() returns b'' the client has closed",
    NODE: "when the socket emits 'end' the client has closed",
    OTHER: "when recv() (or read()) returns 0 the client has closed, and -1 is an error",
}

#: When a server learns that its client stopped sending, in the server's own terms.
EOF_SEEN = {PYTHON: "when recv() returns b''", NODE: "when the socket emits 'end'", OTHER: "when read() returns 0"}

#: How a server closes one connection, in the server's own terms.
CLOSE_ONE = {
    PYTHON: "conn.close(), or end the `with conn:` block; a selectors server: unregister it, then close it",
    NODE: "socket.end() once everything owed is written",
    OTHER: "close(fd); a select()/poll() server: take it out of the set, then close it",
}

#: How to let a restarted server bind its port at once, in the server's own terms.
REUSE_ADDRESS = {
    PYTHON: "sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)",
    NODE: "net.Server sets SO_REUSEADDR itself: the port is still held by a listener, most likely the "
          "previous instance (or a child it started) that did not exit",
    OTHER: "int one = 1; setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);",
}

#: How a forking server reaps the children it started, in the server's own terms.
REAP_CHILDREN = {
    PYTHON: "reap them: os.waitpid(-1, os.WNOHANG) in a loop after each accept(), or "
            "signal.signal(signal.SIGCHLD, signal.SIG_IGN) at start (socketserver.ForkingTCPServer does it for you)",
    NODE: "wait for each child process's 'exit' event (child_process keeps no zombie once it is handled)",
    OTHER: "reap them: waitpid(-1, &status, WNOHANG) in a loop (in a SIGCHLD handler or after each accept()), "
           "or signal(SIGCHLD, SIG_IGN) at start",
}

#: What delivers the bytes a client sent, in the server's own terms.
READ_CALL = {PYTHON: "recv()", NODE: "'data' event", OTHER: "recv()"}
