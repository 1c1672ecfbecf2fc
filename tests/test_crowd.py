"""The crowd's pure parts: distinct, replayable conversations and tracing a
window of bytes back to the client that sent it (no sockets here)."""

from __future__ import annotations

import socket

from harness.evidence.crosstalk import (
    Conversation,
    CrowdResult,
    Misdelivery,
    Origin,
    attribute,
    check_prefix,
    datagram_misdelivery,
    describe_odd_reply,
    message_tag,
    tagged_conversations,
)
from harness.system.acceptqueue import QueueState, wait_for_accept_room


def test_conversations_are_distinct_and_replay_from_the_seed():
    first = tagged_conversations(50, seed=4)
    assert tagged_conversations(50, seed=4) == first
    assert tagged_conversations(50, seed=5) != first
    streams = [c.stream for c in first]
    assert len(set(streams)) == 50
    for conversation in first:
        for index, message in enumerate(conversation.messages):
            assert message.startswith(message_tag(conversation.client, index))
            assert message.endswith(b"\n")


def test_encode_wraps_each_message_for_the_wire():
    wrapped = tagged_conversations(2, seed=1, encode=lambda payload: b"[" + payload + b"]")
    plain = tagged_conversations(2, seed=1)
    assert wrapped[1].messages[2] == b"[" + plain[1].messages[2] + b"]"


def test_message_at_maps_a_stream_offset_to_message_and_offset():
    conversation = Conversation(0, (b"abc", b"defg", b"h"))
    assert conversation.message_at(0) == (0, 0)
    assert conversation.message_at(3) == (1, 0)
    assert conversation.message_at(6) == (1, 3)
    assert conversation.message_at(7) == (2, 0)


def test_attribute_finds_the_sender_of_a_window():
    crowd = tagged_conversations(10, seed=4)
    stream = crowd[7].stream
    at = len(crowd[7].messages[0]) + 5
    origin = attribute(stream[at : at + 24], crowd, prefer=3)
    assert origin == Origin(client=7, message=1, offset=5)


def test_attribute_prefers_the_receiver_and_gives_up_on_tiny_or_foreign_windows():
    crowd = tagged_conversations(3, seed=4)
    own = crowd[2].stream[10:40]
    assert attribute(own, crowd, prefer=2) == Origin(2, 0, 10)
    assert attribute(b"<client", crowd) is None  # too short to be evidence
    assert attribute(b"nobody sent these bytes at all", crowd) is None


def test_check_prefix_records_whose_bytes_arrived():
    crowd = tagged_conversations(4, seed=4)
    result = CrowdResult(crowd, [bytearray() for _ in crowd])
    result.received[0] += crowd[0].stream[:30]
    assert check_prefix(result, 0, 0)
    result.received[0] += crowd[3].stream[:40]
    assert not check_prefix(result, 0, 30)
    (misdelivery,) = result.misdeliveries
    assert misdelivery.client == 0 and misdelivery.offset == 30
    assert misdelivery.origin == Origin(3, 0, 0)
    assert misdelivery.describe() == "client 0 received bytes of client 3's message 0 (from its byte 0) at byte 30 of its echo"


def test_udp_misdelivery_names_the_datagrams():
    misdelivery = Misdelivery(client=5, offset=0, received=b"x", origin=Origin(9, 2, 0), datagram=1)
    assert misdelivery.describe() == "client 5 received, in reply to its datagram 1, client 9's datagram 2"
    own = Misdelivery(client=5, offset=0, received=b"x", origin=Origin(5, 0, 0), datagram=1)
    assert own.describe() == "client 5 received, in reply to its datagram 1, its own datagram 0 again"


def test_a_udp_reply_holding_several_datagrams_is_called_merged():
    crowd = tagged_conversations(4, seed=4)
    own, other = crowd[1].messages[0], crowd[2].messages[0]
    source = describe_odd_reply(own + other, own, None, crowd, receiver=1)
    assert source == f"a {len(own + other)}-byte datagram: its own datagram followed by {len(other)} more bytes " \
                     "(client 2's datagram 0)"
    cut = describe_odd_reply(own[:10], own, Origin(1, 0, 0), crowd, receiver=1)
    assert cut == f"its own datagram cut to 10 of {len(own)} bytes"
    piece = describe_odd_reply(other[:20], own, Origin(2, 0, 0), crowd, receiver=1)
    assert piece == "a 20-byte datagram beginning with client 2's datagram 0"


def test_a_wrong_udp_reply_is_traced_to_its_datagram_or_its_shape():
    crowd = tagged_conversations(4, seed=4)
    own, other = crowd[1].messages[0], crowd[2].messages[1]
    foreign = datagram_misdelivery(1, 0, other, 0, own, crowd)
    assert foreign.origin == Origin(2, 1, 0) and foreign.shape == "" and foreign.source is None
    assert foreign.describe() == "client 1 received, in reply to its datagram 0, client 2's datagram 1"
    merged = datagram_misdelivery(1, 0, own + other, 0, own, crowd)
    assert merged.shape == "merged" and merged.datagram == 0
    assert merged.source == describe_odd_reply(own + other, own, merged.origin, crowd, receiver=1)


def test_result_knows_who_is_incomplete():
    crowd = tagged_conversations(3, seed=4)
    result = CrowdResult(crowd, [bytearray(c.stream) for c in crowd])
    assert result.ok
    del result.received[1][-1:]
    assert result.incomplete() == [1] and not result.ok


def test_a_foreign_message_that_begins_like_ours_is_traced_from_its_start():
    """"<client 0" begins both client 0's and client 2's tags: the trace names client 2's byte 0."""
    crowd = tagged_conversations(3, seed=4)
    result = CrowdResult(crowd, [bytearray() for _ in crowd])
    result.received[0] += crowd[2].stream[:40]
    assert not check_prefix(result, 0, 0)
    (misdelivery,) = result.misdeliveries
    assert misdelivery.offset == len(b"<client 0")
    assert misdelivery.origin == Origin(2, 0, 0)
    assert "client 2's frame 0 (from its byte 0)" in misdelivery.describe("frame")


def test_connects_wait_for_room_in_the_accept_queue():
    from harness.deadline import Deadline

    queue = iter([QueueState(w) for w in (6, 5, 4, 3)])
    assert wait_for_accept_room(lambda: next(queue), Deadline(1.0))  # room once fewer than 4 wait
    assert not wait_for_accept_room(lambda: QueueState(5), Deadline(0.05))  # the server stopped accepting
    assert wait_for_accept_room(None, Deadline(0.0))  # no view of the queue: go ahead


def test_a_small_backlog_narrows_the_window_of_connects():
    from harness.deadline import Deadline
    from harness.system.acceptqueue import state_of
    from harness.system.sockdiag import SocketInfo

    def listening(port: int, waiting: int, backlog: int) -> SocketInfo:
        return SocketInfo("tcp", socket.AF_INET, "127.0.0.1", port, "0.0.0.0", 0, "LISTEN", 1, waiting, backlog)

    assert state_of([listening(80, 0, 1)], 80).room == 2  # listen(1): the kernel queues 2
    assert state_of([listening(80, 1, 1)], 80).room == 1
    assert state_of([listening(80, 0, 128)], 80).room == 4  # a big backlog: still at most 4 at once
    assert state_of([listening(80, 0, 5), listening(80, 1, 2)], 80).room == 2  # both sockets, smallest backlog
    assert state_of([listening(81, 9, 1)], 80).room == 4  # not this port
    assert not wait_for_accept_room(lambda: QueueState(2, holds=2), Deadline(0.05))  # listen(1), 2 waiting
