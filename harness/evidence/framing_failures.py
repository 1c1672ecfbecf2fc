"""How a framing failure is told: which frame (or message), how it was cut,
what came back and the first differing byte.

Rules:
- Pure functions of what was sent, how it was cut (a segmentation plan,
  `harness.clients.segmentation.Plan`, read through `SentPlan`) and what came
  back: no sockets, so every explanation is tested without a server
  (tests/test_framing_explanations.py).
- A hint appears only when its evidence is there: the byte-order hint when the
  server was silent after a header (unless it was silent after a header that
  reads the same in both orders too: `harness.clients.order_probe`), or echoed
  the header reversed; the recv(n) hint when the replies are frames of a
  payload's pieces, in order; the buffer hint when the replies stopped at a
  frame that came in one segment with the one before; the read-in-a-loop hint
  when the frame where they went wrong was cut into pieces.
"""

from __future__ import annotations

from typing import Protocol

from harness.errors import CheckFailed
from harness.evidence.bytesdiff import describe_mismatch, first_difference, readable
from harness.evidence.hints import byte_order_hint
from harness.protocols.framing import FrameCodec, FrameError, locate, summarize

#: How harness.clients.connection words a reply timeout (as opposed to a close or a reset).
STALLED = "no more bytes arrived"


class SentPlan(Protocol):
    """How the stream was cut into sends (a `harness.clients.segmentation.Plan`)."""

    def describe(self) -> str: ...

    def describe_pieces(self, start: int, end: int) -> str: ...

    def pieces(self, start: int, end: int) -> list[int]: ...

    def segments(self, stream: bytes) -> list[bytes]: ...


#: The replies are frames of the pieces a payload arrived in (blind 13, F12: recv(n) taken as the whole payload).
PIECES_HINT = ("hint: the server answered pieces of a payload as frames of their own, with the bytes in order: it "
               "takes what one recv(n) returned for the whole payload, but recv(n) may return fewer than n bytes "
               "when the payload arrives in pieces: read in a loop until the header's n bytes have come")


#: The frames before came back, then silence, and this frame came in the same segment as the one before
#: (blind 17 F8: a Node server that took one 'data' event for one frame).
TOGETHER_HINT = ("hint: the server answered the frames before this one, then nothing: this frame arrived in the same "
                 "segment as the frame before it, and one recv() (in Node, one 'data' event) may hold several "
                 "frames and part of the next: keep what follows a frame in a buffer and answer every complete "
                 "frame in it before reading again")


def split_hint(header_size: int, pieces: int) -> str:
    """This frame, cut into pieces, is where the replies went wrong (blind 17 F8: a C server with one read()
    for the header and one for the payload)."""
    return (f"hint: this frame arrived in {pieces} pieces, and one recv(n) (read() in C) may return fewer than n "
            f"bytes, for the {header_size}-byte header as for the payload: read in a loop until all the header's "
            "bytes, then all the payload's, have arrived")


#: For each header size, the smallest non-zero length whose header bytes are a palindrome (the same in
#: either byte order). Zero is not used: a classic zero-length bug (`if not payload: break`) would hide
#: the byte order.
PALINDROMIC_LENGTHS = {2: 0x0101, 4: 0x00010100}


def probe_length(codec: FrameCodec) -> int | None:
    """The palindromic length this codec's header can probe with, or None (no such length fits)."""
    length = PALINDROMIC_LENGTHS.get(codec.header_size)
    if length is None or length > codec.largest:
        return None
    return length


def not_the_byte_order_hint(codec: FrameCodec, length: int) -> str:
    """Said when the server left the palindromic `length`-byte frame unanswered too: the byte order is not
    the cause."""
    header = codec.header(length).hex(" ")
    return (f"hint: the server did not answer a {length:,}-byte frame either, whose header {header} means "
            f"{length:,} in either byte order, so the byte order is not the problem: check that it reads a "
            f"{codec.header_size}-byte header ({codec.length_format!r}), then exactly that many payload bytes, and "
            "answers each frame as soon as it has read it (not when the client closes)")


def pieces_as_frames(codec: FrameCodec, payloads: list[bytes], received: bytes) -> bool:
    """Whether what came back is several frames, the first a proper start of the first payload, and each
    later one found further on in what was sent (the rest of a payload read as headers skips bytes)."""
    try:
        frames = codec.decoder().feed(received)
    except FrameError as error:
        frames = error.complete
    if len(frames) < 2 or not payloads or not 0 < len(frames[0]) < len(payloads[0]):
        return False
    sent = b"".join(payloads)
    if not sent.startswith(frames[0]):
        return False
    at = len(frames[0])
    for frame in frames[1:]:
        found = sent.find(frame, at)
        if not frame or found < 0:
            return False
        at = found + len(frame)
    return True


def frames_failure(codec: FrameCodec, payloads: list[bytes], plan: SentPlan, received: bytes, end_reason: str,
                   context: str = "", seed: int | None = None, hint: str = "",
                   either_order: bool | None = None) -> CheckFailed:
    """Which frame, how it was segmented, what came back, the first differing byte. `either_order`: whether
    the server answered a frame whose header reads the same in both byte orders (None: not probed); a server
    silent after a header is told about byte order unless it did not."""
    stream = b"".join(codec.encode(p) for p in payloads)
    offset = first_difference(stream, received)
    assert offset is not None, "frames_failure called for a correct reply"
    if offset == len(stream):
        return extra_bytes_failure(f"all {len(payloads)} frames", stream, received, plan, context)
    where = locate(offset, [len(p) for p in payloads], codec.header_size)
    payload = payloads[where.frame]
    frame = f"frame {where.frame + 1} of {len(payloads)} ({len(payload)}-byte payload {readable(payload, 40)})"
    if offset == len(received):
        headline = (f"{frame} was not answered in full: the replies stopped after {len(received)} of "
                    f"{len(stream)} bytes, at its {where.part} byte {where.offset}")
    else:
        headline = (f"{frame} came back wrong: first difference at reply byte {offset}, its {where.part} "
                    f"byte {where.offset}: expected 0x{stream[offset]:02x}, received 0x{received[offset]:02x}")
    if end_reason:
        headline += f" ({end_reason})"
    start = sum(codec.header_size + len(p) for p in payloads[: where.frame])
    end = start + codec.header_size + len(payload)
    lines = [
        (f"{context}: " if context else "") + headline,
        # One frame in one segment needs no account of how it was cut.
        f"sent as {plan.describe()}; this frame in {plan.describe_pieces(start, end)}"
        if len(payloads) > 1 or len(plan.segments(stream)) > 1 else "",
        f"came back: {summarize(codec, received)}" if received else "",  # else the headline says 0 bytes came
    ]
    header = codec.header(len(payload))
    swapped = header[::-1]
    stalled = end_reason.startswith(STALLED)
    silent = stalled and not received
    probed = probe_length(codec)
    if silent and either_order is False and probed is not None:
        lines.append(not_the_byte_order_hint(codec, probed))
    elif swapped != header and (silent or received[start : start + len(header)] == swapped):
        lines.append(byte_order_hint(codec.length_format, len(payload)))
    elif pieces_as_frames(codec, payloads[where.frame:], received[start:]):  # (the frames before came back right)
        lines.append(PIECES_HINT)
    elif stalled and where.frame > 0 and offset == start == len(received) and len(plan.pieces(start - 1, start + 1)) < 2:
        lines.append(TOGETHER_HINT)
    elif (pieces := len(plan.pieces(start, end))) > 1:
        lines.append(split_hint(codec.header_size, pieces))
    if hint:
        lines.append(hint)
    if seed is not None:
        lines.append(f"random cuts from seed {seed}: replay with --seed {seed}")
    return CheckFailed("\n".join(line for line in lines if line), expected=stream, received=received,
                       detail=describe_mismatch(stream, received) if received else "")


def stream_failure(messages: list[bytes], plan: SentPlan, received: bytes, end_reason: str) -> CheckFailed:
    stream = b"".join(messages)
    offset = first_difference(stream, received)
    assert offset is not None, "stream_failure called for a correct echo"
    if offset == len(stream):
        return extra_bytes_failure(f"all {len(messages)} messages", stream, received, plan)
    where = locate(offset, [len(m) for m in messages], 0)
    message = f"message {where.frame + 1} of {len(messages)} ({readable(messages[where.frame], 40)})"
    if offset == len(received):
        headline = (f"only {len(received)} of the {len(stream)} bytes came back; the first missing one is "
                    f"byte {where.offset} of {message}")
    else:
        headline = (f"the echo differs from the stream sent at byte {offset}, byte {where.offset} of {message}: "
                    f"expected 0x{stream[offset]:02x}, received 0x{received[offset]:02x}")
    if end_reason:
        headline += f" ({end_reason})"
    return CheckFailed(
        f"{headline}\nsent as {plan.describe()}; an echo returns the same byte stream however it was cut",
        expected=stream, received=received, detail=describe_mismatch(stream, received) if received else "",
    )


def extra_bytes_failure(what: str, stream: bytes, received: bytes, plan: SentPlan, context: str = "") -> CheckFailed:
    return CheckFailed(
        (f"{context}: " if context else "") + f"{what} came back right, then {len(received) - len(stream)} "
        f"more bytes the client never sent\nsent as {plan.describe()}",
        expected=stream, received=received, detail=describe_mismatch(stream, received),
    )
