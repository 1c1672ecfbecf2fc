"""framing — messages under coalesced and fragmented sends (SPEC §4), for tcp-framed and tcp-echo.

TCP is a byte stream: one send() may arrive in several recv()s and several
send()s in one (粘包, "sticky packets"). A server that assumes one recv() is
one message works on a quiet loopback and breaks on a real network. Each check
here sends the same kind of bytes cut differently (harness/clients/segmentation.py:
all in one segment, one byte per segment, a split header, a header with part
of the payload, seeded random cuts) and requires the replies to be exactly
what an ideal server returns, whatever the cuts.

tcp-framed (harness/protocols/framing.py): every frame answered by an identical frame,
in order. Its basic checks (single, binary, many frames) live here too, with
framing:: ids, since the echo suite does not apply to it. tcp-echo: coalesced
and fragmented bursts come back as the same byte stream.

A failure names the frame (or message), how it was segmented, what came back
and the first differing byte. Random plans print their seed: `--seed N`
replays them exactly; without --seed each run picks a new one.
"""

from __future__ import annotations

import functools
import random
from typing import Callable

import pytest

from harness.checks import check
from harness.clients import order_probe
from harness.clients.connection import TcpConnection
from harness.clients.patience import PATIENCE
from harness.clients.segmentation import (
    Plan,
    coalesced,
    header_split,
    header_then_partial,
    one_byte_per_segment,
    random_split,
)
from harness.deadline import Deadline, paced_count
from harness.errors import CheckFailed
from harness.evidence import wirelog
from harness.evidence.framing_failures import STALLED, frames_failure, stream_failure
from harness.protocols.framing import FrameCodec
from harness.settings import Settings

#: Makes a segmentation plan from the encoded sizes of the frames to send.
Cut = Callable[[list[int]], Plan]

FRAMED = ("tcp-framed",)
ECHO = ("tcp-echo",)

#: Every byte value, plus the whitespace that strip() would eat at both ends.
BINARY = b"\x00 \t" + bytes(range(256)) + bytes(reversed(range(256))) + b" \r\n"
#: Random segmentation: rounds per check, frames per round, payload sizes (a range picked at random).
RANDOM_ROUNDS = 3
#: Frames of many_frames; a slow server gets as many as fit in ROUND_TRIP_BUDGET s,
#: never fewer than MIN_FRAMES (every one of the 91 lengths, and then some).
ROUND_TRIPS = 200
MIN_FRAMES = 100
ROUND_TRIP_BUDGET = 5.0
RANDOM_FRAMES = 12
RANDOM_SIZES = ((1, 8), (9, 300), (301, 3000))


def pattern(size: int, seed: int = 4) -> bytes:
    """Deterministic pseudo-random bytes: a failure replays identically."""
    return random.Random(seed * 1_000_003 + size).randbytes(size)


@functools.cache
def _picked_seed() -> int:
    return random.SystemRandom().randrange(1, 1_000_000)


def run_seed(settings: Settings) -> int:
    """--seed, or one picked for this run (shown in every failure that depends on it)."""
    return settings.seed if settings.seed is not None else _picked_seed()


def codec_of(settings: Settings) -> FrameCodec:
    return FrameCodec(settings.length_format, settings.max_frame)


def encoded_sizes(codec: FrameCodec, payloads: list[bytes]) -> list[int]:
    return [codec.header_size + len(p) for p in payloads]


def connect(endpoint, settings: Settings) -> TcpConnection:
    return TcpConnection(endpoint, Deadline(settings.reply_timeout))


# -- sending a plan, reading the replies ------------------------------------------
def send_and_read(conn: TcpConnection, stream: bytes, plan: Plan, settings: Settings) -> tuple[bytes, str]:
    """Send `stream` cut by `plan`; read back up to len(stream) bytes.

    Returns (what came back, why it stopped early or ""). One segment is sent
    while reading (large frames never deadlock); several are sent with pauses,
    then read: the streams cut into pieces are small enough to wait in the
    socket buffers.
    """
    wirelog.note(f"sent as {plan.describe()}")
    if not plan.cuts:
        return conn.exchange(stream, settings.reply_timeout)
    try:
        conn.send_segments(plan.segments(stream), plan.pause,
                           Deadline(settings.reply_timeout + plan.pause * len(plan.cuts)))
    except CheckFailed as failure:  # the server closed or stopped reading mid-stream
        return conn.read_available(settings.reply_timeout, cap=len(stream)), failure.message
    try:
        return conn.recv_exactly(len(stream), Deadline(settings.reply_timeout), "the replies"), ""
    except CheckFailed as failure:
        return failure.received or b"", failure.message


def expect_frames(conn: TcpConnection, settings: Settings, payloads: list[bytes], cut: Cut,
                  context: str = "", seed: int | None = None, hint: str = "") -> None:
    """Send `payloads` as frames cut by the plan `cut` makes from their encoded
    sizes; require identical frames back, in order. Payloads longer than the
    largest frame (--max-frame) are shortened to it."""
    codec = codec_of(settings)
    payloads = [p[: codec.largest] for p in payloads]
    stream = b"".join(codec.encode(p) for p in payloads)
    plan = cut(encoded_sizes(codec, payloads))
    received, end_reason = send_and_read(conn, stream, plan, settings)
    if received != stream:
        either_order = None
        silent = not received and end_reason.startswith(STALLED)
        if silent:
            conn.close()  # (a server serving one client at a time answers the probe only then)
            either_order = order_probe.answers_either_order(conn.endpoint, codec, settings.reply_timeout)
            if either_order is False or (either_order is None and not PATIENCE.answered_before):
                hint = ""  # advice about these frames is no evidence when the server answers no frame at all
        raise frames_failure(codec, payloads, plan, received, end_reason, context, seed, hint, either_order)


def expect_stream(conn: TcpConnection, settings: Settings, messages: list[bytes], plan: Plan) -> None:
    """tcp-echo: send `messages` cut by `plan`; require the same byte stream back."""
    stream = b"".join(messages)
    received, end_reason = send_and_read(conn, stream, plan, settings)
    if received != stream:
        raise stream_failure(messages, plan, received, end_reason)


# -- tcp-framed: the basics -------------------------------------------------------------
@check("framing::single_frame", protocols=FRAMED,
       description="one short text frame, sent in one segment",
       expectation="an identical frame (same length header, same payload) comes back within the reply timeout")
def test_single_frame(endpoint, settings):
    with connect(endpoint, settings) as conn:
        expect_frames(conn, settings, [b"hello, framed world"], coalesced)


@check("framing::binary_frame", protocols=FRAMED,
       description="a frame of all 256 byte values, with whitespace at both ends",
       expectation="the identical frame: no decoding, no strip(), no newline added")
def test_binary_frame(endpoint, settings):
    with connect(endpoint, settings) as conn:
        expect_frames(conn, settings, [BINARY], coalesced)


@check("framing::many_frames", protocols=FRAMED,
       description=f"{ROUND_TRIPS} frames of 9 to 100 bytes, one after another, on one connection "
                   f"(a slow server: as many as fit in {ROUND_TRIP_BUDGET:g} s, at least {MIN_FRAMES})",
       expectation="each frame is answered before the next is sent")
def test_many_frames(endpoint, settings):
    with connect(endpoint, settings) as conn:
        for index in paced_count(ROUND_TRIPS, MIN_FRAMES, ROUND_TRIP_BUDGET):
            payload = f"frame {index}:".encode() + b"." * (index % 91)
            expect_frames(conn, settings, [payload], coalesced, f"round trip {index + 1} of {ROUND_TRIPS}")


# -- tcp-framed: coalesced and fragmented sends ------------------------------------------
@check("framing::coalesced_frames", protocols=FRAMED,
       description="50 frames of 1 to 300 bytes sent in one segment",
       expectation="50 identical frames back, in order (a server must not assume one recv() is one frame)")
def test_coalesced_frames(endpoint, settings):
    payloads = [pattern(1 + (index * 37) % 300, index) for index in range(50)]
    with connect(endpoint, settings) as conn:
        expect_frames(conn, settings, payloads, coalesced)


@check("framing::fragmented_frame", protocols=FRAMED,
       description="two frames sent one byte per segment (TCP_NODELAY, a short pause between segments)",
       expectation="both frames come back whole (the header, too, may arrive one byte at a time)")
def test_fragmented_frame(endpoint, settings):
    with connect(endpoint, settings) as conn:
        expect_frames(conn, settings, [b"one byte per segment", bytes(range(0, 256, 15))],
                      lambda sizes: one_byte_per_segment(sum(sizes)))


@check("framing::split_header", protocols=FRAMED,
       description="frames whose length header is split 1+3, 2+2 and 3+1 (every split of the header)",
       expectation="identical frames back: recv(4) may return fewer than 4 bytes")
def test_split_header(endpoint, settings):
    header = codec_of(settings).header_size
    if header < 2:
        pytest.skip(f"a {header}-byte header cannot be split")
    with connect(endpoint, settings) as conn:
        for first in range(1, header):
            expect_frames(conn, settings, [b"split", pattern(300), b"!"],
                          functools.partial(header_split, header_size=header, first=first))


@check("framing::header_then_partial_payload", protocols=FRAMED,
       description="each frame sent as its header plus part of the payload, then (after a pause) the rest",
       expectation="identical frames back: recv(n) may return fewer than n bytes")
def test_header_then_partial_payload(endpoint, settings):
    header = codec_of(settings).header_size
    payloads = [b"header plus one payload byte, then the rest", pattern(1000), b"ok"]
    with connect(endpoint, settings) as conn:
        for fraction, name in ((0.0, "header + 1 payload byte, then the rest"),
                               (0.5, "header + half the payload, then the rest")):
            expect_frames(conn, settings, payloads,
                          functools.partial(header_then_partial, header_size=header, fraction=fraction, name=name))


@check("framing::zero_length_frame", protocols=FRAMED,
       description="a zero-length frame (a header announcing 0 bytes), twice on one connection",
       expectation="each is answered by a zero-length frame; the connection stays open")
def test_zero_length_frame(endpoint, settings):
    hint = ("an empty payload is still a frame: answer it with an empty frame. Only recv() returning b'' "
            "while bytes are still expected means the client closed.")
    with connect(endpoint, settings) as conn:
        for attempt in ("first", "second"):
            expect_frames(conn, settings, [b""], coalesced, f"the {attempt} zero-length frame", hint=hint)


@check("framing::max_size_frame", protocols=FRAMED,
       description="one frame of exactly --max-frame bytes (16 MiB by default; less if the header format "
                   "cannot say as much), written while the reply is read",
       expectation="the identical frame comes back, with no stall longer than the reply timeout")
def test_max_size_frame(endpoint, settings):
    size = codec_of(settings).largest
    with connect(endpoint, settings) as conn:
        expect_frames(conn, settings, [pattern(size)], coalesced, f"a {size}-byte frame (--max-frame {settings.max_frame})")


@check("framing::random_segmentation", protocols=FRAMED,
       description=f"{RANDOM_ROUNDS} rounds of {RANDOM_FRAMES} frames of 1 to 3000 bytes, cut at seeded random "
                   "offsets (about every other header split)",
       expectation="identical frames back, in order; a failure prints the seed, --seed replays it")
def test_random_segmentation(endpoint, settings):
    header = codec_of(settings).header_size
    seed = run_seed(settings)
    rng = random.Random(seed)
    with connect(endpoint, settings) as conn:
        for round_ in range(1, RANDOM_ROUNDS + 1):
            payloads = [rng.randbytes(rng.randint(*rng.choice(RANDOM_SIZES))) for _ in range(RANDOM_FRAMES)]
            name = f"random cuts, round {round_} of {RANDOM_ROUNDS}"
            expect_frames(conn, settings, payloads,
                          functools.partial(random_split, header_size=header, rng=rng, name=name), seed=seed)


# -- tcp-echo: the same byte stream back ---------------------------------------------------
@check("framing::coalesced_stream", protocols=ECHO,
       description="a burst of 60 messages (about 3 KB) sent in one segment",
       expectation="the same byte stream comes back: no message dropped because it shared a recv() with another")
def test_coalesced_stream(endpoint, settings):
    messages = [f"message {index:02d} of a burst: ".encode() + pattern(10 + index % 30, index) for index in range(60)]
    with connect(endpoint, settings) as conn:
        expect_stream(conn, settings, messages, coalesced([len(m) for m in messages], "messages"))


@check("framing::fragmented_stream", protocols=ECHO,
       description="one message sent one byte per segment (TCP_NODELAY, a short pause between segments)",
       expectation="the same bytes come back, however few arrive per recv()")
def test_fragmented_stream(endpoint, settings):
    message = b"fragmented: one byte per segment, spaces and all \x00\xff\n"
    with connect(endpoint, settings) as conn:
        expect_stream(conn, settings, [message], one_byte_per_segment(len(message)))
