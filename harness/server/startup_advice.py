"""Why a server that died before it listened could not start, in the student's terms.

A server that exits at start with a bind error is the commonest first run:
the seeds bind a LAN address (`bind(("192.168.20.216", 7890))`), tutorials
bind `socket.gethostname()`, and a hard-coded port may be taken. The raw
`OSError: [Errno 99] Cannot assign requested address` does not say what to
change; this does. Reads only the server's output, so it works for any
language that prints the system's error text.
"""

from __future__ import annotations

import re

from harness.server.serverkind import PYTHON, REUSE_ADDRESS

#: (words in the server's output, advice), first match wins.
_ADVICE: tuple[tuple[tuple[str, ...], str], ...] = (
    (
        ("Cannot assign requested address", "EADDRNOTAVAIL", "Errno 99", "Errno 49"),
        "it binds an address this machine does not have (the harness's isolated network has only "
        "loopback): bind '127.0.0.1', '0.0.0.0' or '' rather than a LAN address or socket.gethostname()",
    ),
    (
        ("Address already in use", "EADDRINUSE", "Errno 98", "Errno 48"),
        "its port is already taken: take the port from the command line ({port}) or the PORT "
        "environment variable instead of hard-coding it, and set SO_REUSEADDR before bind()",
    ),
    (
        ("Permission denied", "EACCES", "Errno 13"),
        "it was refused a resource at start, such as a port below 1024 (only root may bind those) "
        "or a file outside its folder: use the assigned port ({port})",
    ),
)


#: "Address already in use" for a server that binds the {port} of its command line: the port was free when the
#: harness chose it, so what holds it is most likely the server's own earlier instance's connections.
PORT_GIVEN_IN_USE = ("its port is already taken, though it was free when the harness chose it: the connections of "
                     "its previous instance still hold it (set SO_REUSEADDR before bind(): {reuse}), or it binds "
                     "the port twice (create one listening socket)")

#: Words of a program or file that is not there (in the sandbox: outside what it shows).
#: Shell and OS wording only: a server's own "database not found" is not about the sandbox.
NOT_FOUND = re.compile(r"No such file or directory|\[Errno 2\]|\bENOENT\b|command not found|^\S+: (?:\d+: )?\S+: not found$",
                       re.MULTILINE)
SANDBOX_ADVICE = ("it could not find a file or program: the server runs in a sandbox (bubblewrap) that shows the "
                  "system (/usr, /etc, /opt), its interpreter and a copy of its own folder, nothing else: keep "
                  "what it needs in its folder (or run with --no-bwrap to check it outside the sandbox)")


def _reads_missing_argument(output_tail: str) -> bool:
    """A Python `IndexError` on `sys.argv[...]`: it wanted its port as an argument."""
    return "IndexError" in output_tail and "argv[" in output_tail


def startup_advice(output_tail: str, unprivileged_uid: int | None = None, port_given: bool = True,
                   sandboxed: bool = False, language: str = PYTHON) -> str | None:
    """Advice for the start-up error in a server's last output, or None.

    `port_given`: whether the server's command line has `{port}` (a server
    that crashes reading sys.argv[1] without it is told to add it).
    `unprivileged_uid`: the uid the server ran as because the harness runs as
    root; then "Permission denied" most likely means a file or program that
    only root may read (an interpreter installed under /root, say).
    `sandboxed`: the server ran under bubblewrap, where a path outside its
    view is simply not there.
    """
    if not port_given and _reads_missing_argument(output_tail):
        return ("it reads its port from the command line (sys.argv[1]) and was given none: "
                "put {port} after the server, e.g. harness run server.py {port}")
    if sandboxed and NOT_FOUND.search(output_tail):
        return SANDBOX_ADVICE
    for words, advice in _ADVICE:
        if any(word in output_tail for word in words):
            if port_given and words is _ADVICE[1][0]:  # it already binds the port it is given: no hard-coding
                return PORT_GIVEN_IN_USE.format(reuse=REUSE_ADDRESS[language])
            if unprivileged_uid is not None and words is _ADVICE[-1][0]:
                return (f"it was refused a file or program: the harness runs as root, so the server runs as "
                        f"an unprivileged user (uid {unprivileged_uid}), and everything it runs or reads must be "
                        "readable by all users (chmod o+rx, and o+x on each folder above it; an interpreter "
                        "under /root is not); or it binds a port below 1024: use the assigned port ({port})")
            return advice
    return None
