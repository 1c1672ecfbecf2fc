"""How long a check waits for a reply, given what this run already saw.

Rule: a run waits its full reply timeout for a silence once. After the
server has once been silent for a whole reply timeout, a later wait for its
next bytes is cut to `PatienceMemory.wait` — at least FLOOR s, a quarter of the
timeout, and four times the slowest reply the run has measured (a slow server
that answers keeps its margin), never more than the timeout. A correct server
is never silent for a whole timeout, so it always gets the full timeout; a
buggy server that went silent once (a wrong byte order, a server waiting for
EOF) costs a fraction of a timeout per check after that, not a full one.

Rule: a server that answers only once the client half-closes (it reads
until EOF, then echoes) is learnt once: a wait for its reply ended in
silence after the run had already seen a whole-timeout silence, and the reply
came at once after the half-close (`answered_at_eof`). A check that only
needs *some* answer then half-closes as soon as it has sent (`eof_only`)
instead of waiting out the same silence for every client, and a wait for a
reply before EOF is cut to EOF_ONLY_WAIT (or four times the slowest reply
seen): that reply will not come. A correct server is never silent for a
whole timeout, so it is never taken for one.

Rule: a client that wants only *some* answer, which no check judges (a
shutdown check's client proving a handler is busy, a client before a reset),
reads for `some_answer_wait`: after a whole-timeout silence only
SOME_ANSWER_AFTER_SILENCE, or four times the slowest reply seen.

Rule: a wait for the server to close is cut the same way, on its own memory:
after the server once kept a connection open for a whole reply timeout when
it should have closed it (`kept_open`), later waits for a close last
`close_wait` (never a step's own timeout: the caller passes only the run's).
A server that closes promptly is never cut; a reply wait is not cut by it.

Rule: an echo that stopped in silence once everything was sent is asked
for at EOF (the client half-closes and reads for `after_half_close_wait`), so
that the failure can say "your server answers only at end of input" — the
classic recv-until-b'' mistake. A server that sent nothing more at EOF either
is not asked again in this run (`eof_probe_failed`): it is merely silent.

One memory per process (a run, or one -n worker), read and updated by the
client's reading loops (harness.clients.connection, harness.clients.reply_reader).
"""

from __future__ import annotations

#: How long a reply that did not come in its wait is looked for once more (s; once per run, at most the
#: reply timeout): a server still setting up, or slow in each reply, is told so instead of taken for silent.
LATE_WINDOW = 1.0
#: The shortest cut wait, whatever was seen before (s).
FLOOR = 0.5
#: How long a client that wants no particular answer lets a server known to answer
#: only at EOF read what it sent (s): its answer will not come before the half-close.
EOF_ONLY_READ = 0.1
#: How long a wait for a reply lasts once the server is known to answer only at EOF (s).
EOF_ONLY_WAIT = 0.2
#: How long a client that wants *some* answer (any bytes, not judged) reads, once the server
#: stayed silent for a whole reply timeout (s; or four times the slowest reply seen).
SOME_ANSWER_AFTER_SILENCE = 0.25


class PatienceMemory:
    def __init__(self) -> None:
        self.silent_once = False
        self.slowest = 0.0
        self.eof_only = False
        self.eof_probe_useless = False
        self.answered_before = False  # some reply arrived before any half-close
        self.open_once = False  # the server once kept open, a whole timeout, a connection it should close
        self.warm_up = 0.0  # seconds a fresh instance needs after its port is bound before it answers
        self.late_probed = False  # a reply was looked for once more after a whole wait (LATE_WINDOW)

    def wait(self, timeout: float) -> float:
        """How long to wait now for the next bytes, when the check allows `timeout`."""
        if not self.silent_once:
            return timeout
        if self.eof_only:
            return min(timeout, max(EOF_ONLY_WAIT, 4 * self.slowest))
        return min(timeout, max(FLOOR, timeout / 4, 4 * self.slowest))

    def close_wait(self, timeout: float) -> float:
        """How long to wait for the server to close, when the check allows `timeout`."""
        return min(timeout, max(FLOOR, timeout / 4)) if self.open_once else timeout

    def kept_open(self, waited: float, timeout: float) -> None:
        """The server did not close in `waited` s of a wait the check allowed `timeout` s for."""
        if waited >= timeout:
            self.open_once = True

    def why_close_short(self, waited: float, timeout: float) -> str:
        if waited >= timeout:
            return ""
        return (f" (not the full {timeout:g} s: this server already kept a connection open for a whole reply "
                "timeout earlier in the run)")

    def after_half_close_wait(self, timeout: float) -> float:
        """How long to read after half-closing, for what a server sends only at EOF."""
        return min(timeout, max(FLOOR, 4 * self.slowest))

    def may_probe_eof(self) -> bool:
        """Whether an echo that stopped in silence is worth asking for at EOF."""
        return not self.eof_probe_useless or self.eof_only

    def eof_probe_failed(self) -> None:
        """A half-close brought no more of the echo: the server is silent, not waiting for EOF."""
        self.eof_probe_useless = True

    def heard(self, after: float) -> None:
        """Bytes arrived `after` s into a wait."""
        self.slowest = max(self.slowest, after)
        self.answered_before = True

    def silence(self, waited: float, timeout: float) -> None:
        """Nothing arrived in `waited` s of a wait the check allowed `timeout` s for."""
        if waited >= timeout:
            self.silent_once = True

    def some_answer_wait(self, timeout: float) -> float:
        """How long a client that wants *some* answer (not a particular one, and not judged) reads
        after sending: a moment for a server known to answer only at EOF; after a whole-timeout
        silence SOME_ANSWER_AFTER_SILENCE (or four times the slowest reply); else the timeout."""
        if self.eof_only:
            return EOF_ONLY_READ
        if self.silent_once:
            return min(timeout, max(SOME_ANSWER_AFTER_SILENCE, 4 * self.slowest))
        return timeout

    def answered_late(self, after: float, warm_up: bool = True) -> None:
        """A reply came `after` s after it was asked for, past its wait: the server is slow (to be ready: it
        bound its port first, `warm_up`; or in each reply), not silent — later waits are whole; with
        `warm_up`, a fresh instance is given that long after its port is bound before a check uses it."""
        self.silent_once = False
        self.answered_before = True
        self.slowest = max(self.slowest, after)
        if warm_up:
            self.warm_up = max(self.warm_up, after * 1.2 + 0.1)

    def answered_at_eof(self) -> None:
        """A wait for a reply ended in silence, and the reply came once the client half-closed."""
        if self.silent_once:
            self.eof_only = True

    def why_short(self, waited: float, timeout: float) -> str:
        """What a failure says when its wait was cut."""
        if waited >= timeout:
            return ""
        if self.eof_only:
            return (f" (not the full {timeout:g} s: this server was seen earlier in the run to answer only "
                    "once the client half-closed)")
        return (f" (not the full {timeout:g} s: this server already stayed silent for a whole reply timeout "
                "earlier in the run)")


PATIENCE = PatienceMemory()
