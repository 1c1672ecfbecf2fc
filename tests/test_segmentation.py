"""Segmentation plans are plain data (pure functions, no socket), and the
segments they describe really arrive apart at a server that reads as soon as
bytes come in — so a server that assumes one recv() per message is caught."""

from __future__ import annotations

import random
import socket
import threading

import pytest

from harness.clients.connection import TcpConnection
from harness.clients.segmentation import (
    Plan,
    all_in_one,
    coalesced,
    describe_sizes,
    header_split,
    header_then_partial,
    one_byte_per_segment,
    random_split,
)
from harness.deadline import Deadline
from harness.server.launcher import Endpoint

FRAMES = [9, 4, 1004]  # encoded sizes: 4-byte headers + payloads of 5, 0, 1000


def test_all_in_one_and_coalesced_are_one_segment():
    assert all_in_one(10).sizes() == [10]
    plan = coalesced(FRAMES)
    assert plan.sizes() == [1017] and plan.name == "3 frames coalesced in one segment"


def test_one_byte_per_segment():
    plan = one_byte_per_segment(5)
    assert plan.segments(b"abcde") == [b"a", b"b", b"c", b"d", b"e"]
    assert plan.describe() == "5 segments of 1 byte each (one byte per segment), 2 ms apart"


@pytest.mark.parametrize("first, sizes", [
    (1, [1, 8, 1, 3, 1, 1003]),
    (2, [2, 7, 2, 2, 2, 1002]),
    (3, [3, 6, 3, 1, 3, 1001]),
])
def test_header_split_cuts_every_header_after_its_first_bytes(first, sizes):
    plan = header_split(FRAMES, 4, first)
    assert plan.sizes() == sizes
    assert plan.name == f"header split {first}+{4 - first}"


def test_a_header_cannot_be_split_at_its_ends():
    with pytest.raises(ValueError):
        header_split(FRAMES, 4, 4)


def test_header_then_partial_sends_the_header_with_part_of_the_payload():
    assert header_then_partial(FRAMES, 4, 0.0, "one byte").sizes() == [5, 4, 4, 5, 999]
    assert header_then_partial(FRAMES, 4, 0.5, "half").sizes() == [6, 3, 4, 504, 500]


def test_pieces_of_a_frame():
    split = header_split(FRAMES, 4, 1)
    assert split.pieces(13, 1017) == [1, 1003]  # the third frame, as sent


def test_random_split_is_replayed_by_its_seed():
    first = random_split(FRAMES * 5, 4, random.Random(42), "random")
    again = random_split(FRAMES * 5, 4, random.Random(42), "random")
    other = random_split(FRAMES * 5, 4, random.Random(43), "random")
    assert first == again and first.cuts != other.cuts
    assert sum(first.sizes()) == sum(FRAMES) * 5 and len(first.cuts) >= 1


def test_a_plan_refuses_cuts_outside_the_stream_and_streams_of_another_length():
    with pytest.raises(ValueError):
        Plan("bad", 10, (0, 5))
    with pytest.raises(ValueError):
        Plan("bad", 10, (5, 3))
    with pytest.raises(ValueError):
        all_in_one(10).segments(b"short")


def test_describe_sizes():
    assert describe_sizes([23], "segment") == "1 segment of 23 bytes"
    assert describe_sizes([1, 1], "piece") == "2 pieces of 1 byte each"
    assert describe_sizes(list(range(1, 11)), "segment") == "10 segments of 1, 2, 3, 4, 5, 6, 7, 8, ... bytes"


# -- on a real socket ------------------------------------------------------------------
class RecordingServer:
    """Accepts one connection and records what each recv() returned."""

    def __init__(self) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.reads: list[bytes] = []
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        conn, _ = self.listener.accept()
        with conn:
            while data := conn.recv(65536):
                self.reads.append(data)

    def close(self) -> None:
        self.thread.join(5)
        self.listener.close()


def record_reads(plan: Plan, stream: bytes) -> list[bytes]:
    """Send `stream` cut by `plan` as the suite does; return what each of the server's recv()s returned."""
    server = RecordingServer()
    endpoint = Endpoint("127.0.0.1", server.port, socket.AF_INET, "assigned", "test")
    with TcpConnection(endpoint, Deadline(2)) as conn:
        conn.send_segments(plan.segments(stream), plan.pause, Deadline(10))
    server.close()
    assert b"".join(server.reads) == stream
    return server.reads


FRAME = b"\x00\x00\x00\x0bhello world"


def test_segments_arrive_in_separate_recvs():
    """With TCP_NODELAY and PAUSE between sends, a server blocked in recv()
    reads each segment alone: here the 1-byte first pieces of 20 split headers.
    Statistical: on a loaded machine a server thread may be scheduled too late
    to read a piece before the next one lands, so most (not all) must be alone."""
    reads = record_reads(header_split([len(FRAME)] * 20, 4, 1), FRAME * 20)
    lone_header_pieces = sum(1 for read in reads if read == b"\x00")
    assert lone_header_pieces >= 10, [len(r) for r in reads]


@pytest.mark.parametrize("plan", [
    one_byte_per_segment(len(FRAME) * 3),
    header_split([len(FRAME)] * 3, 4, 1),
    header_split([len(FRAME)] * 3, 4, 2),
    header_split([len(FRAME)] * 3, 4, 3),
    header_then_partial([len(FRAME)] * 3, 4, 0.5, "header + half the payload"),
], ids=lambda plan: plan.name)
def test_a_server_assuming_one_recv_per_frame_sees_a_broken_frame(plan):
    """What the framing checks rely on: every plan that cuts frames makes at
    least one recv() return something other than one whole frame."""
    reads = record_reads(plan, FRAME * 3)
    assert any(read != FRAME for read in reads), [len(r) for r in reads]


def test_coalesced_frames_arrive_in_one_recv():
    reads = record_reads(coalesced([len(FRAME)] * 3), FRAME * 3)
    assert reads == [FRAME * 3]
