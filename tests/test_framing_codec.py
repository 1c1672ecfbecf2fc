"""The sans-IO frame codec: every stream decoded the same whether fed whole,
one byte at a time, or with trailing bytes of a next frame (h11's test_io way)."""

from __future__ import annotations

import random

import pytest

from harness.protocols.framing import FrameCodec, FrameError, Position, locate, summarize

CODEC = FrameCodec()
PAYLOADS = [b"hello", b"", bytes(range(256)), b"\x00\x00\x00\x05", b"x" * 70_000]
STREAM = b"".join(CODEC.encode(p) for p in PAYLOADS)


def feed_in_chunks(codec: FrameCodec, data: bytes, sizes) -> list[bytes]:
    decoder = codec.decoder()
    frames, offset = [], 0
    for size in sizes:
        frames += decoder.feed(data[offset : offset + size])
        offset += size
    frames += decoder.feed(data[offset:])
    assert decoder.pending == 0
    return frames


def test_encode_puts_a_big_endian_unsigned_length_first():
    assert CODEC.encode(b"hello") == b"\x00\x00\x00\x05hello"
    assert CODEC.encode(b"") == b"\x00\x00\x00\x00"
    assert FrameCodec("<i").encode(b"hello") == b"\x05\x00\x00\x00hello"


def test_decoder_fed_the_whole_stream_returns_every_frame():
    assert CODEC.decoder().feed(STREAM) == PAYLOADS


def test_decoder_fed_one_byte_at_a_time_returns_the_same_frames():
    decoder = CODEC.decoder()
    frames = []
    for index in range(len(STREAM)):
        frames += decoder.feed(STREAM[index : index + 1])
    assert frames == PAYLOADS


def test_decoder_keeps_trailing_bytes_for_the_next_feed():
    decoder = CODEC.decoder()
    tail = CODEC.encode(b"next frame")
    assert decoder.feed(STREAM + tail[:6]) == PAYLOADS
    assert decoder.pending == 6
    assert decoder.describe_pending() == "an incomplete frame: a header announcing 10 bytes, then 2 of them"
    assert decoder.feed(tail[6:]) == [b"next frame"]
    assert decoder.pending == 0 and decoder.describe_pending() == ""


def test_decoder_keeps_a_partial_header():
    decoder = CODEC.decoder()
    assert decoder.feed(b"\x00\x00") == []
    assert decoder.describe_pending() == "2 byte(s) of an incomplete header (00 00)"
    assert decoder.feed(b"\x00\x01!") == [b"!"]


@pytest.mark.parametrize("seed", range(5))
def test_decoder_fed_random_chunks_returns_the_same_frames(seed):
    rng = random.Random(seed)
    sizes = [rng.randint(0, 9000) for _ in range(40)]
    assert feed_in_chunks(CODEC, STREAM, sizes) == PAYLOADS


@pytest.mark.parametrize("length_format, size", [("!I", 4), ("<i", 4), ("!H", 2), ("<Q", 8), ("B", 1)])
def test_other_length_formats_round_trip(length_format, size):
    codec = FrameCodec(length_format, max_frame=300)
    payloads = [b"a", b"", b"z" * 255]
    stream = b"".join(codec.encode(p) for p in payloads)
    assert codec.header_size == size
    assert feed_in_chunks(codec, stream, [1] * len(stream)) == payloads


@pytest.mark.parametrize("length_format", ["!f", "!?", "4s", "!2I", "", "!Z"])
def test_a_format_that_is_not_one_integer_is_refused(length_format):
    with pytest.raises(ValueError, match="struct format of one integer"):
        FrameCodec(length_format)


def test_a_length_above_max_frame_is_the_peers_protocol_error():
    codec = FrameCodec(max_frame=10)
    decoder = codec.decoder()
    with pytest.raises(FrameError, match="announces 11 bytes, more than the largest frame") as caught:
        decoder.feed(codec.header(3) + b"abc" + codec.header(11) + b"x" * 11)
    assert caught.value.length == 11 and caught.value.header == b"\x00\x00\x00\x0b"
    assert caught.value.complete == [b"abc"]  # the frames before the bad header are not lost


def test_a_negative_length_is_the_peers_protocol_error():
    with pytest.raises(FrameError, match="negative length, -1"):
        FrameCodec("<i").decoder().feed(b"\xff\xff\xff\xff")


def test_largest_frame_is_max_frame_unless_the_header_cannot_say_it():
    assert FrameCodec("!I", 16 * 1024 * 1024).largest == 16 * 1024 * 1024
    assert FrameCodec("!H", 16 * 1024 * 1024).largest == 65535
    assert FrameCodec("<i").format_limit == 2**31 - 1
    with pytest.raises(ValueError, match="exceeds the largest frame"):
        FrameCodec("!H").encode(b"x" * 65536)


def test_locate_names_the_frame_and_part_of_a_stream_offset():
    sizes = [5, 0, 3]  # frames at 0..8, 9..12, 13..19
    assert locate(0, sizes, 4) == Position(0, "header", 0)
    assert locate(6, sizes, 4) == Position(0, "payload", 2)
    assert locate(9, sizes, 4) == Position(1, "header", 0)
    assert locate(17, sizes, 4) == Position(2, "payload", 0)
    assert locate(20, sizes, 4) == Position(3, "after the last frame", 0)


def test_summarize_describes_what_came_back():
    assert summarize(CODEC, b"") == "nothing"
    assert summarize(CODEC, CODEC.encode(b"abc")) == "1 complete frame of 3 bytes"
    assert summarize(CODEC, CODEC.encode(b"abc") + CODEC.encode(b"") + b"\x00") == (
        "2 complete frames (3, 0 bytes) + 1 byte(s) of an incomplete header (00)"
    )
    swapped = b"\x05\x00\x00\x00hello"  # a little-endian header read as !I
    assert summarize(FrameCodec(max_frame=1000), swapped) == (
        "a header (05 00 00 00) announces 83886080 bytes, more than the largest frame (--max-frame 1000)"
    )
