"""The checks derived from a protocol file (SPEC §6): ids, descriptions, expectations, tiers.

For each conversation NAME: `conversation::NAME` (as written);
`framing::NAME.coalesced` (only with `pipelining`, and only where a stretch
holds two sends), `framing::NAME.bytewise`, `framing::NAME.random` — none for
`datagram` or for a conversation without a send, and for `none` only the
coalesced one, as an informational demonstration. Then
`concurrency::simultaneous_conversations` (copies of the required
conversations only), the protocol-independent concurrency checks run with
the first required conversation (`ProtocolFile.exchange`) (declared in
`suites/test_protocol_file.py` under the ids the echo suites use) and the
shutdown suite, unchanged.

A conversation's tier carries over to every check derived from it.
`register` puts the derived checks into the catalogue, so that `harness list`,
`checks`/`exclude` and `[points]` know them.
"""

from __future__ import annotations

from dataclasses import dataclass

from harness.checks import CATALOGUE, INFORMATIONAL, PROTOCOL_FILE, Check
from harness.protocolfile.model import SEND, Conversation, ProtocolFile
from harness.protocolfile.plans import BYTEWISE, COALESCED, RANDOM, WRITTEN, stretches

SIMULTANEOUS = "concurrency::simultaneous_conversations"
#: The descriptor-leak check runs the first required conversation until it has made this many connections
#: (6 times its tolerance of 10: a leak of one descriptor per connection cannot hide), in at least
#: SEQUENTIAL_MIN_RUNS runs, and then stops: a correct server never costs the check's whole time budget.
SEQUENTIAL_CONNECTIONS = 60
SEQUENTIAL_MIN_RUNS = 20


@dataclass(frozen=True)
class DerivedCheck:
    id: str
    suite: str
    conversation: str | None
    plan: str | None
    description: str
    expectation: str
    tier: str


def expectation_of(conversation: Conversation, limit: int = 6) -> str:
    """What the conversation's expect steps require, in a line."""
    wanted = [step.shown() for step in conversation.steps if step.kind != SEND][:limit]
    more = len([s for s in conversation.steps if s.kind != SEND]) - len(wanted)
    text = "; ".join(wanted) + (f"; and {more} more" if more > 0 else "")
    return f"every step as written: {text}" if text else "every send is accepted"


def describe(conversation: Conversation) -> str:
    about = conversation.description or f"the conversation {conversation.name!r}"
    sends = sum(1 for s in conversation.steps if s.kind == SEND)
    clients = f", {len(conversation.clients)} clients" if len(conversation.clients) > 1 else ""
    steps = len(conversation.steps)
    return f"{about} ({steps} step{'s' * (steps != 1)}, {sends} send{'s' * (sends != 1)}{clients})"


def coalesces(conversation: Conversation) -> bool:
    """Whether the coalesced plan changes anything: some stretch holds two sends of its client (blind 15: a
    conversation whose clients alternate, or that sends once, earned `.coalesced` points for a recv(1024)
    server, the very bug the check is named after)."""
    return any(sum(step.kind == SEND for step in stretch) > 1 for stretch in stretches(conversation.steps))


def framing_plans(protocol: ProtocolFile, conversation: Conversation) -> list[str]:
    """A conversation that sends nothing has nothing to cut: its framing checks would repeat it as written."""
    if protocol.framing == "datagram" or not any(step.kind == SEND for step in conversation.steps):
        return []
    coalesced = [COALESCED] if coalesces(conversation) else []
    if protocol.framing == "none":
        return coalesced
    return (coalesced if protocol.pipelining else []) + [BYTEWISE, RANDOM]


PLAN_TEXT = {
    COALESCED: "sent coalesced: within each stretch of one client's steps, all its sends in one segment",
    BYTEWISE: "sent one byte per segment (TCP_NODELAY, 2 ms apart; length headers split too; a send over 256 "
              "bytes: its first and last 64 bytes so, its middle in 128 pieces)",
    RANDOM: "sent cut at seeded random offsets (--seed replays)",
}


def derived_checks(protocol: ProtocolFile) -> list[DerivedCheck]:
    checks = []
    for conversation in protocol.conversations:
        base = describe(conversation)
        checks.append(DerivedCheck(f"conversation::{conversation.name}", "conversation", conversation.name, WRITTEN,
                                   base + ", each send one write", expectation_of(conversation), conversation.tier))
    for conversation in protocol.conversations:
        for plan in framing_plans(protocol, conversation):
            informational = protocol.framing == "none"
            expectation = ("informational: shows what the server answered when sends coalesce; without framing no "
                           "server can tell the messages apart" if informational else
                           "the same replies as when sent as written: " + expectation_of(conversation))
            checks.append(DerivedCheck(f"framing::{conversation.name}.{plan}", "framing", conversation.name, plan,
                                       f"{describe(conversation)}, {PLAN_TEXT[plan]}", expectation,
                                       INFORMATIONAL if informational else conversation.tier))
    return checks


def register(protocol: ProtocolFile) -> list[DerivedCheck]:
    """Put the file's derived checks into the catalogue (idempotent)."""
    checks = derived_checks(protocol)
    for derived in checks:
        CATALOGUE[derived.id] = Check(derived.id, derived.suite, derived.description, derived.expectation,
                                      derived.tier, [PROTOCOL_FILE])
    return checks


def sequential_runs(protocol: ProtocolFile) -> int:
    """How many times the descriptor-leak check runs the first required conversation (each of its clients connects once a run)."""
    return max(SEQUENTIAL_MIN_RUNS, -(-SEQUENTIAL_CONNECTIONS // len(protocol.exchange.clients)))


def _names(protocol: ProtocolFile, limit: int = 3) -> str:
    """E.g. "c01 'set_then_get', c02 'unknown_key', c03 'shared_store', c04 'set_then_get'…"."""
    required = protocol.required
    count = len(required)
    shown = [f"c{i + 1:02d} {required[i % count].name!r}" for i in range(min(count, limit) + 1)]
    return ", ".join(shown) + "…"


def protocol_independent(protocol: ProtocolFile, clients: int = 50) -> dict[str, tuple[str, str]]:
    """Descriptions and expectations of the fixed-id checks, told with this file's first required conversation."""
    first = protocol.exchange.name
    texts = {
        SIMULTANEOUS: (f"--clients ({clients}) copies of the required conversations at once, labelled "
                       f"c01…c{clients:02d} and dealt out in file order: c01 runs the first required conversation, c02 the second, and so on, "
                       f"starting over after the last ({_names(protocol)}); all connected first, then interleaved",
                       "each copy gets exactly its own replies, as when run alone (no cross-talk, no client "
                       "waiting for another)"),
        "concurrency::idle_without_busy_loop": (f"the conversation {first!r} runs three times; then nobody talks "
                                                "to the server for 1 s",
                                                "the server uses at most 0.1 CPU seconds while idle"),
    }
    if protocol.transport == "tcp":
        texts.update({
            "concurrency::idle_client_does_not_block": (
                f"a client connects and stays silent; then the conversation {first!r} runs",
                "the conversation completes within its timeouts (one client never blocks another)"),
            "concurrency::stalled_client_does_not_block": (
                f"a client sends half of the first message of {first!r} and stalls; then {first!r} runs",
                "the conversation completes within its timeouts (no blocking read of a whole message)"),
            "concurrency::survives_abrupt_disconnect": (
                f"a client runs the first exchange of {first!r}, then vanishes with a reset (RST); another sends "
                "its first request and closes without reading the reply",
                f"the server keeps running: {first!r} runs as written after each"),
            "concurrency::no_descriptor_leak": (
                f"the conversation {first!r} runs {sequential_runs(protocol)} times in a row (label c00; as many "
                "as fit in 10 s if it is slow)",
                "the server's open descriptors return to within 10 of the count before them"),
        })
    return texts
