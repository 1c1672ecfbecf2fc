"""The first required conversation's bytes, for the protocol-independent checks: the
concurrency suite's stalled and vanishing clients and the shutdown suite's
clients held mid-conversation use a protocol file's own messages.

Pure: bytes from the protocol file (encoded by `harness.protocolfile.wire`),
no sockets.
"""

from __future__ import annotations

from harness.protocolfile.model import SEND, SOLO_LABEL, ProtocolFile
from harness.protocolfile.wire import Wire


def first_send(protocol: ProtocolFile, label: str = SOLO_LABEL) -> bytes:
    """The message of the first required conversation's first send, unframed."""
    step = next((s for s in protocol.exchange.steps if s.kind == SEND), None)
    return step.payload(label) if step is not None else b""


def half_message(protocol: ProtocolFile, message: bytes) -> bytes:
    """A message stopped in the middle (SPEC §6, "stalled mid-message"): with
    `line`, half the text without its line ending; with `length`, the header
    and half the payload; otherwise half the bytes."""
    half = message[: max(1, len(message) // 2)] if message else b""
    if protocol.framing == "length":
        wire = Wire(protocol)
        return wire.codec.header(len(message)) + half
    return half


def opening_messages(protocol: ProtocolFile, label: str = SOLO_LABEL) -> tuple[bytes, bytes]:
    """(the first exchange's sends, half of the next message) of the first
    client of the first required conversation: shutdown's "mid-conversation"."""
    wire = Wire(protocol)
    conversation = protocol.exchange
    steps = conversation.steps_of(conversation.first_client)
    complete = bytearray()
    index = 0
    while index < len(steps) and steps[index].kind == SEND:
        complete += wire.encode(steps[index].payload(label))
        index += 1
    following = next((s for s in steps[index:] if s.kind == SEND), None)
    partial = half_message(protocol, following.payload(label)) if following is not None else b""
    return bytes(complete), partial
