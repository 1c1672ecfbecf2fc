"""Failures of the derived checks told by what the harness saw (SPEC §7: hints fit the evidence).

A framing check that fails is rerun as written: if that passes, the cuts are
the cause (`cuts_are_the_cause`); if not, the conversation's own failure is
(`fails_as_written`). A concurrency check first runs its conversation alone: a
failure there is the conversation's own (`fails_alone`), not concurrency's.
Pure text: no sockets here.
"""

from __future__ import annotations

from harness.errors import CheckFailed
from harness.protocolfile.engine import BYTEWISE, COALESCED, RANDOM
from harness.protocolfile.model import Conversation, ProtocolFile

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
    return CheckFailed(f"{SEGMENTATION_CAUSES[plan].format(loop=loop)} — {failure.message}",
                       expected=failure.expected, received=failure.received, detail=failure.detail)


def fails_as_written(conversation: Conversation, failure: CheckFailed) -> CheckFailed:
    """The failure of a framing check whose conversation fails as written too."""
    return CheckFailed(f"the conversation {conversation.name!r} fails as written too, so the cuts are not the "
                       f"cause (see conversation::{conversation.name}): {failure.message}",
                       expected=failure.expected, received=failure.received, detail=failure.detail)


def fails_alone(conversation: Conversation, failure: CheckFailed) -> CheckFailed:
    """The failure of a concurrency check whose conversation fails even alone."""
    return CheckFailed(f"the conversation {conversation.name!r} already fails when run alone, so this check cannot "
                       f"tell more (see conversation::{conversation.name}): {failure.message}",
                       expected=failure.expected, received=failure.received, detail=failure.detail)
