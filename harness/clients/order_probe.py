"""Whether a tcp-framed server that went silent after a header may be reading it in the other byte order.

A silence after a frame's header has several causes: a header read in the other byte order (the seeds'
native `struct.pack('i')`: 19 becomes 318,767,104, and the server waits for that many bytes), a header of
another size (8 bytes), a server that answers only at end of input. Only the first answers a frame whose
header reads the same in both byte orders (`00 01 01 00`: 65,792 either way). So the byte-order hint is
given only when the server answers that frame (blind 13, F8: a server with 8-byte headers that never
answered was told about byte order).

Rule: one probe per server and format in a run (the answer does not change), on a connection of its own
that the wire log shows; its wait follows the run's patience (the server has just been silent).
"""

from __future__ import annotations

from harness.clients.connection import TcpConnection
from harness.deadline import Deadline
from harness.errors import CheckFailed
from harness.evidence.framing_failures import probe_length
from harness.protocols.framing import FrameCodec
from harness.server.launcher import Endpoint

_answers: dict[tuple[str, int, str], bool] = {}


def answers_either_order(endpoint: Endpoint, codec: FrameCodec, reply_timeout: float) -> bool | None:
    """True if the server answers the palindromic frame with its header (it reads a header of this size
    and answers frames: the byte order may be its problem), False if it does not, None if no probe fits."""
    length = probe_length(codec)
    if length is None:
        return None
    key = (endpoint.host, endpoint.port, codec.length_format)
    if key not in _answers:
        frame = codec.encode(bytes(index % 251 for index in range(length)))
        try:
            with TcpConnection(endpoint, Deadline(reply_timeout), label="byte-order probe") as conn:
                received, _ = conn.exchange(frame, reply_timeout, expected=frame)
        except CheckFailed:  # could not even connect: no evidence either way
            return None
        _answers[key] = received[: codec.header_size] == frame[: codec.header_size]
    return _answers[key]
