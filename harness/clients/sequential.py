"""concurrency::no_descriptor_leak for the protocols whose clients are not echo clients (tcp-hello, tcp-file).

Rule (as the echo suite's check, suites/test_concurrency.py, with its numbers): after a warm-up
conversation (lazily opened resources belong to the baseline), up to SEQUENTIAL_CONNECTIONS clients
one after another, as many as fit in SEQUENTIAL_BUDGET s but never fewer than MIN_SEQUENTIAL, each
holds one whole short conversation and closes; the server's open descriptors (children included)
must come back to within FD_TOLERANCE of the baseline, given the close wait to settle. Every
LEAK_SAMPLE clients a server over its tolerance is given that settle time at once, and one still
over it is judged without the rest. A conversation that goes wrong is the conversation checks'
finding, and a slow one costs time the leak does not need: once a conversation goes wrong, or the
warm-up's is slow, each client only connects and closes.
"""

from __future__ import annotations

from collections.abc import Callable

from harness.clients.connection import TcpConnection
from harness.clients.patience import PATIENCE
from harness.deadline import Deadline, paced_count, poll_until
from harness.errors import CheckFailed
from harness.server.descriptors import held_descriptors
from harness.server.launcher import ServerProcess
from harness.server.reaping import require_reaped

#: Sequential connections of the descriptor-leak check.
SEQUENTIAL_CONNECTIONS = 500
#: A slow server gets as many of them as fit in this time (each is still judged), but
#: never fewer than MIN_SEQUENTIAL: three times the tolerance, so one leak per connection shows.
SEQUENTIAL_BUDGET = 5.0
#: Descriptors the server may hold above its baseline after them (a few
#: connections still being torn down, a lazily opened log file).
FD_TOLERANCE = 10
MIN_SEQUENTIAL = 3 * FD_TOLERANCE
#: Every this many sequential connections, a server over its tolerance is given its settle time there and
#: then: one that stays over it has shown its leak, and is judged without the rest of the 500.
LEAK_SAMPLE = FD_TOLERANCE

#: A warm-up conversation slower than this (s) makes the clients only connect and close: MIN_SEQUENTIAL
#: conversations with a server that sleeps 2 s before each reply (the seed's) took a minute.
SLOW_CONVERSATION = SEQUENTIAL_BUDGET / MIN_SEQUENTIAL

#: concurrency::no_descriptor_leak, as `harness list` shows it (one check id in every TCP protocol).
LEAK_DESCRIPTION = (f"{SEQUENTIAL_CONNECTIONS} connections one after another (as many as fit in {SEQUENTIAL_BUDGET:g} "
                    f"s, at least {MIN_SEQUENTIAL}), each a short conversation (tcp-echo: one message; its exactness "
                    "is another check's business), then closing")
LEAK_EXPECTATION = (f"the server's open descriptors (children included) return to within {FD_TOLERANCE} of the "
                    "count before them")


def wait_closed(instance: ServerProcess, timeout: float) -> None:
    """Let the server finish closing the connections its clients closed (bounded; a server that never
    closes them is the leak check's finding, not an error here)."""
    port = instance.endpoint.port
    poll_until(lambda: not any(s.state == "CLOSE_WAIT" for s in instance.probe.tcp_sockets_on_port(port)),
               Deadline(timeout))


def require_no_leak(instance: ServerProcess, reply_timeout: float, converse: Callable[[str], None]) -> None:
    """Fail if the server keeps descriptors of the clients that came and went (see the module's rule)."""
    warm_up = Deadline(reply_timeout)
    try:
        converse("the warm-up client")
        slow = warm_up.elapsed() > SLOW_CONVERSATION
    except CheckFailed:
        slow = True

    def come_and_go(who: str) -> None:  # a wrong conversation is another check's finding, a slow one its own time
        TcpConnection(instance.endpoint, Deadline(reply_timeout)).close()

    client = come_and_go if slow else converse
    settle = PATIENCE.close_wait(reply_timeout)
    wait_closed(instance, min(0.1, settle))  # until the server has closed the warm-up's connection
    before = held_descriptors(instance)
    limit = before + FD_TOLERANCE

    def back_within_limit() -> bool:
        return bool(poll_until(lambda: held_descriptors(instance) <= limit, Deadline(settle)))

    started, made, within = Deadline(SEQUENTIAL_BUDGET), 0, True
    for index in paced_count(SEQUENTIAL_CONNECTIONS, MIN_SEQUENTIAL, SEQUENTIAL_BUDGET):
        made = index + 1
        try:
            client(f"client {made} of {SEQUENTIAL_CONNECTIONS}")
        except CheckFailed:
            client = come_and_go  # each wrong conversation would wait out its silence again
        if made % 50 == 0:
            instance.reap_orphans()
            require_reaped(instance, f"{made} sequential clients")
        if made % LEAK_SAMPLE == 0 and made < SEQUENTIAL_CONNECTIONS and held_descriptors(instance) > limit:
            within = back_within_limit()
            if not within:
                break
    spent = started.elapsed()
    if within:
        within = back_within_limit()
    if not within:
        after = held_descriptors(instance)
        stopped = (f"; the check stopped at {made} of its {SEQUENTIAL_CONNECTIONS} clients: the leak was plain"
                   if made < SEQUENTIAL_CONNECTIONS and spent < SEQUENTIAL_BUDGET else "")
        raise CheckFailed(
            f"the server held {before} open descriptors before {made} clients came one after another (in "
            f"{spent:.2f} s), each a whole conversation, then gone, and {after} after them, {settle:g} s later "
            f"(tolerance +{FD_TOLERANCE}{stopped}): close each accepted socket when its client leaves (recv() "
            "returned b'')")
    require_reaped(instance, f"{made} sequential clients")
