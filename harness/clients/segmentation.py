"""Segmentation plans: how a byte stream is cut into the segments the client sends.

TCP is a byte stream: one send() may arrive in several recv()s, and several
send()s in one (粘包). The framing suite sends the same bytes cut in different
ways to prove a server does not depend on where the cuts fall.

The rules of this module:

- A plan is plain data: a name saying how it was made, the stream's length,
  the cut offsets (each starts a new segment) and the pause between segments.
  Pure functions build plans from what is sent (frame sizes, header size, a
  seed); `Plan.segments` applies a plan to bytes. No sockets, no clock here:
  the suite sends each segment with `TcpConnection.send_segments`, which sets
  TCP_NODELAY and sleeps `pause` between segments, so each segment leaves in
  its own TCP packet and a server blocked in recv() wakes up for it alone.
- Random plans draw from a `random.Random(seed)` and nothing else, so a seed
  replays exactly the same cuts (print it; `--seed` replays it).
- Frame sizes here are *encoded* sizes (header + payload); a stream without
  headers (tcp-echo) is the case header_size == 0.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Iterable

#: Pause between segments. A server thread blocked in recv() wakes up within
#: microseconds of a segment's arrival on loopback, so 2 ms lets it read almost
#: every segment alone, while a frame sent one byte per segment costs only ~2 ms
#: a byte. Almost: on a loaded machine a thread scheduled late reads two pieces
#: at once; the checks cut several frames, so one piece read alone is enough to
#: catch a server that assumes one recv() per message (tests/test_segmentation.py).
PAUSE = 0.002


@dataclass(frozen=True)
class Plan:
    """Cut a `total`-byte stream at `cuts` (strictly increasing offsets in 1..total-1)."""

    name: str
    total: int
    cuts: tuple[int, ...] = ()
    pause: float = PAUSE

    def __post_init__(self) -> None:
        if list(self.cuts) != sorted(set(self.cuts)) or any(not 0 < c < self.total for c in self.cuts):
            raise ValueError(f"cuts must be strictly increasing offsets inside the stream: {self.cuts}")

    @property
    def bounds(self) -> list[tuple[int, int]]:
        edges = [0, *self.cuts, self.total]
        return list(zip(edges, edges[1:]))

    def sizes(self) -> list[int]:
        return [end - start for start, end in self.bounds]

    def segments(self, stream: bytes) -> list[bytes]:
        if len(stream) != self.total:
            raise ValueError(f"the plan is for {self.total} bytes, not {len(stream)}")
        return [stream[start:end] for start, end in self.bounds]

    def pieces(self, start: int, end: int) -> list[int]:
        """Sizes of the parts of bytes [start, end) as the plan's segments cut them."""
        return [min(end, e) - max(start, s) for s, e in self.bounds if s < end and e > start]

    def describe_pieces(self, start: int, end: int) -> str:
        """E.g. "2 pieces of 2, 8 bytes": how the plan's segments cut bytes [start, end)."""
        return describe_sizes(self.pieces(start, end), "piece")

    def describe(self) -> str:
        """E.g. "3 segments of 1, 8, 2 bytes (header split 1+3), 2 ms apart"."""
        text = f"{describe_sizes(self.sizes(), 'segment')} ({self.name})"
        return text + (f", {self.pause * 1000:g} ms apart" if self.cuts else "")


def describe_sizes(sizes: list[int], unit: str, limit: int = 8) -> str:
    """ "1 segment of 23 bytes", "46 segments of 1 byte each", "3 pieces of 1, 8, 2 bytes"."""
    def of(size: int) -> str:
        return f"{size} byte{'s' if size != 1 else ''}"

    if len(sizes) == 1:
        return f"1 {unit} of {of(sizes[0])}"
    if len(set(sizes)) == 1:
        return f"{len(sizes)} {unit}s of {of(sizes[0])} each"
    shown = ", ".join(map(str, sizes[:limit])) + (", ..." if len(sizes) > limit else "")
    return f"{len(sizes)} {unit}s of {shown} bytes"


def _plan(name: str, total: int, cuts: Iterable[int]) -> Plan:
    return Plan(name, total, tuple(sorted({c for c in cuts if 0 < c < total})))


def frame_starts(frame_sizes: list[int]) -> list[int]:
    """Offset of each frame in the stream, and the stream's end last."""
    starts = [0]
    for size in frame_sizes:
        starts.append(starts[-1] + size)
    return starts


def all_in_one(total: int, name: str = "all in one segment") -> Plan:
    return Plan(name, total)


def coalesced(frame_sizes: list[int], unit: str = "frames") -> Plan:
    """Every frame in one segment: a server must find each frame, not just the first."""
    if len(frame_sizes) == 1:
        return all_in_one(frame_sizes[0])
    return all_in_one(sum(frame_sizes), f"{len(frame_sizes)} {unit} coalesced in one segment")


def one_byte_per_segment(total: int) -> Plan:
    return _plan("one byte per segment", total, range(1, total))


#: `one_byte_per_segment_bounded`: a send up to BYTEWISE_LIMIT bytes goes one byte per segment; a longer one
#: sends its first and last BYTEWISE_EDGE bytes one byte per segment (where the length header, the start of
#: the message and the line ending are) and its middle in equal pieces, so that it takes BYTEWISE_LIMIT
#: segments (about 0.5 s at PAUSE) whatever its size — 70,000 bytes one per 2 ms would take 140 s.
BYTEWISE_LIMIT = 256
BYTEWISE_EDGE = 64


def one_byte_per_segment_bounded(total: int) -> Plan:
    """One byte per segment, at most BYTEWISE_LIMIT segments (see above)."""
    if total <= BYTEWISE_LIMIT:
        return one_byte_per_segment(total)
    head, tail = range(1, BYTEWISE_EDGE + 1), range(total - BYTEWISE_EDGE, total)
    pieces = BYTEWISE_LIMIT - 2 * BYTEWISE_EDGE
    middle = total - 2 * BYTEWISE_EDGE
    inner = (BYTEWISE_EDGE + middle * i // pieces for i in range(1, pieces))
    return _plan(f"one byte per segment for the first and last {BYTEWISE_EDGE} bytes, the middle "
                 f"{middle} bytes in {pieces} pieces", total, [*head, *inner, *tail])


def header_split(frame_sizes: list[int], header_size: int, first: int) -> Plan:
    """Each frame as two segments: the header's first `first` bytes, then the rest of the frame."""
    if not 0 < first < header_size:
        raise ValueError(f"a {header_size}-byte header cannot be split after {first} bytes")
    starts = frame_starts(frame_sizes)
    name = f"header split {first}+{header_size - first}"
    return _plan(name, starts[-1], [*starts, *(start + first for start in starts[:-1])])


def header_then_partial(frame_sizes: list[int], header_size: int, fraction: float, name: str) -> Plan:
    """Each frame as two segments: header plus `fraction` of the payload (at least 1 byte), then the rest."""
    starts = frame_starts(frame_sizes)
    cuts = list(starts)
    for start, size in zip(starts, frame_sizes):
        payload = size - header_size
        if payload >= 2:
            cuts.append(start + header_size + min(payload - 1, max(1, int(payload * fraction))))
    return _plan(name, starts[-1], cuts)


def random_split(frame_sizes: list[int], header_size: int, rng: random.Random, name: str,
                 max_cuts: int = 20) -> Plan:
    """Random cuts drawn from `rng` (a `random.Random(seed)`): 1 to `max_cuts`
    anywhere in the stream, and about every other frame cut within or just
    after its header."""
    starts = frame_starts(frame_sizes)
    total = starts[-1]
    cuts = set(rng.sample(range(1, total), min(total - 1, rng.randint(1, max_cuts)))) if total > 1 else set()
    for start in starts[:-1]:
        if rng.random() < 0.5:
            cuts.add(start + rng.randint(0, header_size + 2))
    return _plan(name, total, cuts)
