"""The contact record: what one check's clients achieved with the server.

The plugin retries a check on a fresh server only when the check never got
through to the shared one (it was already quitting when the check began: a
single-shot server). This record is how it tells.

Rules:
- The plugin owns one `ContactRecord` per run of a check and makes it the
  active record for that run (`recording`); clients report into whatever
  record is active and never read it. With no record active (outside a
  check), reports go nowhere.
- Every client reports, TCP and UDP alike: a TCP connection the server
  accepted, or a UDP datagram the socket sent without a refusal, is one
  `reached`; every chunk or datagram received from the server is one `replied`.
- The slot is process-wide, not per thread: a check's helper threads (crowds,
  load generators) report into the same record.
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator


class ContactRecord:
    """How far one run of a check got with the server."""

    def __init__(self) -> None:
        self.reaches = 0
        self.replies = 0

    def untouched(self) -> bool:
        """The server was already leaving when the check began: at most one
        connection (or datagram) got in, and nothing ever came back."""
        return self.reaches <= 1 and self.replies == 0


_active: ContactRecord | None = None


@contextmanager
def recording(record: ContactRecord) -> Iterator[ContactRecord]:
    """Make `record` the one the clients report into, for the `with` block."""
    global _active
    previous, _active = _active, record
    try:
        yield record
    finally:
        _active = previous


def reached() -> None:
    """A client got through to the server (a TCP connection, a UDP datagram sent)."""
    if _active is not None:
        _active.reaches += 1


def replied() -> None:
    """A client received something from the server."""
    if _active is not None:
        _active.replies += 1
