"""Failures of the derived checks told by what the harness saw (SPEC §7: hints fit the evidence).

A framing check that fails is rerun as written: if that passes, the cuts are
the cause (`cuts_are_the_cause`); if not, the conversation's own failure is
(`fails_as_written`). A concurrency check first runs its conversation alone: a
failure there is the conversation's own (`fails_alone`), not concurrency's;
copies run at once are told by the first that failed (`crowd_failure`), a
conversation that failed beside an idle, stalled or vanished client by what
that client did (`fails_while`).
Pure text: no sockets here.
"""

from __future__ import annotations

from harness.errors import CheckFailed
from harness.evidence.blocking import ANSWER_EACH_DATAGRAM, SERVE_EACH_CLIENT
from harness.protocolfile.engine import ConversationRun
from harness.protocolfile.model import PLACEHOLDER, Conversation, ProtocolFile
from harness.protocolfile.plans import BYTEWISE, COALESCED, RANDOM

#: The likely cause of a framing failure, by plan, once the conversation passed as written (the cuts matter).
SEGMENTATION_CAUSES = {
    COALESCED: "the server does not answer messages that arrive together in one segment as it answers them one "
               "by one: it treats one recv() as one message. Keep a buffer per connection and take out every "
               "complete message it holds",
    BYTEWISE: "the server fails when a message arrives in pieces (one byte per segment), while it passes when "
              "each arrives whole: it treats one recv() as one message, or expects recv(n) to return n bytes. {loop}",
    RANDOM: "the server fails when a message arrives cut at random places, while it passes when each arrives "
            "whole: it treats one recv() as one message, or expects recv(n) to return n bytes. {loop}",
}
LOOP = {"line": "Keep receiving until the line ending has arrived",
        "length": "Keep receiving until the whole header, then as many bytes as it says, have arrived"}


def cuts_are_the_cause(protocol: ProtocolFile, plan: str, failure: CheckFailed) -> CheckFailed:
    """The failure of a framing check whose conversation passes as written."""
    loop = LOOP.get(protocol.framing, "Keep receiving until the message is complete")
    return failure.restated(f"{SEGMENTATION_CAUSES[plan].format(loop=loop)} — {failure.message}")


def fails_as_written(conversation: Conversation, failure: CheckFailed, rerun: bool = False) -> CheckFailed:
    """The failure of a framing check whose conversation fails as written too: known from conversation::NAME,
    or from running it again now (`rerun`: then conversation::NAME may have passed earlier in the run)."""
    why = (f"(see conversation::{conversation.name})" if not rerun else
           f"(run again as written just now; if conversation::{conversation.name} passed earlier, the server "
           "answers differently since: state left by an earlier check, or a reply that depends on timing)")
    return failure.restated(f"the conversation {conversation.name!r} fails as written too, so the cuts are not the "
                            f"cause {why}: {failure.message}")


def fails_alone(conversation: Conversation, failure: CheckFailed) -> CheckFailed:
    """The failure of a concurrency check whose conversation fails even alone."""
    return failure.restated(f"the conversation {conversation.name!r} already fails when run alone, so this check "
                            f"cannot tell more (see conversation::{conversation.name}): {failure.message}")


# -- concurrency:: ------------------------------------------------------------------------
#: Words of the engine's failures: a client's connect found the accept queue full; a reply that never came.
ACCEPT_QUEUE_FULL = "never accepted"
NOTHING_IN_TIME = "arrived within"


#: A server with at least this many processes when its crowd stalled serves one client per process.
PROCESS_PER_CLIENT = 10


def crowd_failure(runs: list[ConversationRun], failures: dict[int, CheckFailed], connected: int,
                  processes: int = 1) -> CheckFailed:
    """The first failing copy's evidence, with how many failed and whether it got another copy's data;
    `processes`: how many processes the server had then (a forking server's cap shows in it)."""
    first = min(failures)
    failure = failures[first]
    run = runs[first]
    foreign = ""
    received = failure.received or b""
    for other in runs:
        if other is not run and other.label.encode() in received and run.label.encode() not in received:
            foreign = (f"; it received data of copy {other.label} — the server mixes up its clients: keep each "
                       "connection's data in variables of its own (local to the handler), never in one global buffer")
            break
    if connected < len(runs) and ACCEPT_QUEUE_FULL in failure.message:
        stopped = f"only {connected} of {len(runs)} copies could connect: the server stopped accepting new connections"
        if processes >= PROCESS_PER_CLIENT:
            return CheckFailed(f"{stopped} while {processes} of its processes served the first ones — it forks a "
                               "process per client up to a cap, and waits for one to end before it accepts the next. "
                               "socketserver.ForkingTCPServer stops at max_children = 40: set max_children = 128 "
                               "(above --clients) on the server class; a pre-forked pool needs that many workers",
                               detail=failure.detail)
        return CheckFailed(f"{stopped} while it served the first ones (the others waited in its accept queue, never "
                           "accepted) — it serves one client at a time (or a fixed few). Serve each client in its own "
                           "thread (socketserver.ThreadingTCPServer), or multiplex them with selectors",
                           detail=failure.detail)
    if connected < len(runs):
        summary = f"only {connected} of {len(runs)} copies could connect"
    else:
        summary = f"{len(runs)} copies of the conversations ran at once and {len(failures)} failed"
    waited = sum(1 for f in failures.values() if NOTHING_IN_TIME in f.message)
    serial = (f"a UDP server answers its datagrams one after another: {ANSWER_EACH_DATAGRAM}"
              if run.protocol.transport == "udp" else
              "does the server serve one client at a time? Serve each client in its own thread, or multiplex them "
              "with selectors")
    advice = "" if foreign or waited < len(runs) // 2 else f" ({waited} copies waited in vain for a reply: {serial})"
    shared = ""
    if not foreign and failure.received and not any(PLACEHOLDER in (step.text or step.pattern or "")
                                                    for step in run.conversation.steps):
        shared = (f"\nhint: conversation {run.conversation.name!r} never uses {{client}}, so its copies, which run at "
                  "once, send the same names: if the server keeps state by name (a key, a topic, a user), the "
                  "copies share it. Give each copy its own with {client} (e.g. topic-{client})")
    return failure.restated(f"{summary}; copy {run.label}: {failure.message}{foreign}{advice}{shared}")


def fails_while(situation: str, failure: CheckFailed, advice: str) -> CheckFailed:
    """The failure of a concurrency check's conversation, told with what the other client was doing.

    Rule: `advice` (blocking, resets) fits a conversation that got no answer or lost its connection.
    One that got a *different* answer had passed run alone on the same server a moment before
    (run_alone_first): what the server answers depends on another or an earlier connection."""
    if failure.received and NOTHING_IN_TIME not in failure.message and "closed" not in failure.message:
        advice = DEPENDS_ON_OTHER_CONNECTIONS
    return failure.restated(f"{situation}: {failure.message}. {advice}")


DEPENDS_ON_OTHER_CONNECTIONS = (
    "The same conversation passed run alone on this server a moment before, and now the reply differs: what "
    "the server answers depends on another or an earlier connection (state in a global variable, a buffer or "
    "counter shared between clients). Keep each connection's state local to its handler.")


ONE_AT_A_TIME = ("Does the server serve one client at a time (a recv() loop nested in the accept() loop)? Serve "
                 "each client in its own thread (socketserver.ThreadingTCPServer) or multiplex them with selectors.")


def a_few_at_a_time(count: int) -> str:
    """The advice when `count` (2 or more) silent clients keep a conversation from being served."""
    return (f"Does the server serve at most {count} clients at a time (a pool of {count} worker threads or "
            f"processes)? Each connected client holds a worker until it leaves. {SERVE_EACH_CLIENT}")


WHOLE_MESSAGE = ("Does the server wait for the rest of the first client's message before serving anyone else? "
                 "Read only what has arrived, keep partial messages per connection, serve the others.")
