"""tcp-framed frames (SPEC §3): a fixed-size length header, then that many payload bytes.

The rules of this module:

- No I/O. `FrameCodec.encode` turns a payload into bytes; a `FrameDecoder` is
  fed whatever bytes arrived, in chunks of any size (one byte, one frame, three
  frames and half of a fourth), and returns the frames it completed, keeping
  the rest for the next call. The same stream fed whole, one byte at a time or
  in any other cut yields the same frames: that is the property a server must
  have too, and the tests prove it here first.
- The header is a `struct` format holding exactly one integer
  (`--length-format`; default "!I": 4 bytes, unsigned, big-endian, i.e. network
  byte order). "<i" is the seeds' `struct.pack('i', n)` on a little-endian
  machine.
- A header announcing a negative length, or more than `max_frame` bytes, is
  the peer breaking the protocol: `FrameError`, carrying the header bytes and
  the length they announced, so an explanation can show both. The decoder
  stops there (feeding more raises again): the stream cannot be resynchronised.
- Pure helpers for explanations live here too: where a byte offset of a stream
  of frames falls (`locate`), and a one-line summary of decoded bytes
  (`summarize`).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

DEFAULT_LENGTH_FORMAT = "!I"
DEFAULT_MAX_FRAME = 16 * 1024 * 1024


class FrameError(ValueError):
    """A header announces a length the protocol forbids (negative, or above max_frame)."""

    def __init__(self, message: str, header: bytes, length: int) -> None:
        super().__init__(message)
        self.header = header
        self.length = length
        #: Frames the same `feed` call completed before reaching this header.
        self.complete: list[bytes] = []


@dataclass(frozen=True)
class FrameCodec:
    """The frame layout: `length_format` header, then the payload; payloads up to `max_frame` bytes."""

    length_format: str = DEFAULT_LENGTH_FORMAT
    max_frame: int = DEFAULT_MAX_FRAME

    def __post_init__(self) -> None:
        try:
            header = struct.Struct(self.length_format)
            (value,) = header.unpack(header.pack(1))
        except (struct.error, TypeError, ValueError) as exc:
            raise ValueError(f"not a struct format of one integer, like !I or <i ({exc})") from None
        if type(value) is not int or value != 1:
            raise ValueError(f"not a struct format of one integer, like !I or <i (it holds {value!r})")
        if self.max_frame < 0:
            raise ValueError(f"max_frame must be at least 0, not {self.max_frame}")

    @property
    def header_size(self) -> int:
        return struct.calcsize(self.length_format)

    @property
    def format_limit(self) -> int:
        """The largest length the header format can carry (e.g. 2**32 - 1 for !I, 2**31 - 1 for <i)."""
        bits = 8 * self.header_size
        for candidate in (2**bits - 1, 2 ** (bits - 1) - 1):
            try:
                struct.pack(self.length_format, candidate)
                return candidate
            except struct.error:
                continue
        raise AssertionError(f"no length fits {self.length_format!r}")  # unreachable after __post_init__

    @property
    def largest(self) -> int:
        """The largest payload a frame may carry: `max_frame`, unless the header cannot say that much."""
        return min(self.max_frame, self.format_limit)

    def header(self, length: int) -> bytes:
        return struct.pack(self.length_format, length)

    def encode(self, payload: bytes) -> bytes:
        """One frame: header announcing len(payload), then the payload."""
        if len(payload) > self.largest:
            raise ValueError(f"a {len(payload)}-byte payload exceeds the largest frame ({self.largest} bytes)")
        return self.header(len(payload)) + payload

    def read_length(self, header: bytes) -> int:
        """The length a complete header announces; FrameError if the protocol forbids it."""
        (length,) = struct.unpack(self.length_format, header)
        if length < 0:
            raise FrameError(f"a header ({header.hex(' ')}) announces a negative length, {length}", header, length)
        if length > self.max_frame:
            raise FrameError(
                f"a header ({header.hex(' ')}) announces {length} bytes, more than the largest frame "
                f"(--max-frame {self.max_frame})",
                header,
                length,
            )
        return length

    def decoder(self) -> FrameDecoder:
        return FrameDecoder(self)


class FrameDecoder:
    """Incremental: `feed(chunk)` returns the frames completed so far; the rest waits in `pending`."""

    def __init__(self, codec: FrameCodec) -> None:
        self.codec = codec
        self._buffer = bytearray()
        self._length: int | None = None  # the current frame's length, once its header is complete

    def feed(self, data: bytes) -> list[bytes]:
        self._buffer += data
        frames: list[bytes] = []
        size = self.codec.header_size
        while True:
            if self._length is None:
                if len(self._buffer) < size:
                    return frames
                try:
                    self._length = self.codec.read_length(bytes(self._buffer[:size]))
                except FrameError as error:
                    error.complete = frames
                    raise
                del self._buffer[:size]
            if len(self._buffer) < self._length:
                return frames
            frames.append(bytes(self._buffer[: self._length]))
            del self._buffer[: self._length]
            self._length = None

    @property
    def pending(self) -> int:
        """Bytes received that do not complete a frame yet (a header's bytes included)."""
        header = self.codec.header_size if self._length is not None else 0
        return header + len(self._buffer)

    def describe_pending(self) -> str:
        """The incomplete tail, in words ("" when the stream ended on a frame boundary)."""
        if self._length is not None:
            return f"an incomplete frame: a header announcing {self._length} bytes, then {len(self._buffer)} of them"
        if self._buffer:
            return f"{len(self._buffer)} byte(s) of an incomplete header ({bytes(self._buffer).hex(' ')})"
        return ""


@dataclass(frozen=True)
class Position:
    """Where one byte of a stream of frames lies."""

    frame: int  # 0-based index of the frame
    part: str  # "header" | "payload" | "after the last frame"
    offset: int  # offset within that part


def locate(offset: int, payload_sizes: list[int], header_size: int) -> Position:
    """Which frame, header or payload, holds byte `offset` of the encoded stream."""
    start = 0
    for index, size in enumerate(payload_sizes):
        if offset < start + header_size:
            return Position(index, "header", offset - start)
        if offset < start + header_size + size:
            return Position(index, "payload", offset - start - header_size)
        start += header_size + size
    return Position(len(payload_sizes), "after the last frame", offset - start)


def summarize(codec: FrameCodec, data: bytes) -> str:
    """What `data` decodes to, in one line: "2 complete frames (5, 3 bytes) + 2 byte(s) of an incomplete header"."""
    if not data:
        return "nothing"
    decoder = codec.decoder()
    try:
        frames = decoder.feed(data)
        tail = decoder.describe_pending()
    except FrameError as error:
        frames, tail = error.complete, str(error)
    parts = []
    if len(frames) == 1:
        parts.append(f"1 complete frame of {len(frames[0])} byte{'s' if len(frames[0]) != 1 else ''}")
    elif frames:
        sizes = ", ".join(str(len(f)) for f in frames[:8]) + (", ..." if len(frames) > 8 else "")
        parts.append(f"{len(frames)} complete frames ({sizes} bytes)")
    if tail:
        parts.append(tail)
    return " + ".join(parts)
