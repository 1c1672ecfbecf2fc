"""Capture the server's stdout/stderr without ever letting it block or flood us.

Rules: the server writes into pipes that one drain thread empties at once, so
a pipe never fills and a chatty server is never slowed by us. What it writes
goes to a file up to `file_cap` bytes; beyond that only a rolling tail is kept
in memory and the number of dropped bytes is counted. Memory is bounded
whatever the server writes.
"""

from __future__ import annotations

import os
import selectors
import threading
import time
from pathlib import Path

TAIL_BYTES = 16 * 1024


class CapturedStream:
    def __init__(self, name: str, path: Path, file_cap: int) -> None:
        self.name = name
        self.path = path
        self.file_cap = file_cap
        self.total = 0
        # Only the harness writes and reads it (the server writes into a pipe): no other user may read a
        # student's output, which may hold what their server was sent or what it knows (blind 14).
        self._file = os.fdopen(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o600), "wb")
        self._tail = bytearray()
        self._lock = threading.Lock()

    def feed(self, data: bytes) -> None:
        with self._lock:
            room = self.file_cap - self.total
            if room > 0 and not self._file.closed:
                try:
                    self._file.write(data[:room])
                    self._file.flush()
                except OSError:  # its disk is full (a server may fill it): the tail in memory still holds
                    self._give_up_file()
            self.total += len(data)
            self._tail += data
            if len(self._tail) > 2 * TAIL_BYTES:
                del self._tail[: len(self._tail) - TAIL_BYTES]

    def tail(self, limit: int = 4000) -> bytes:
        with self._lock:
            return bytes(self._tail[-limit:])

    def _give_up_file(self) -> None:
        try:
            self._file.close()
        except OSError:  # what was buffered cannot be written either
            pass

    def close(self) -> None:
        with self._lock:
            self._give_up_file()


class OutputCapture:
    """Owns the read ends of the server's stdout and stderr pipes."""

    def __init__(self, directory: Path, file_cap: int = 8 * 1024 * 1024) -> None:
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)  # the sandbox opens it for traversal only
        self.streams: dict[int, CapturedStream] = {}
        self.write_fds: list[int] = []
        self._selector = selectors.DefaultSelector()
        for name in ("stdout", "stderr"):
            read_fd, write_fd = os.pipe()
            os.set_blocking(read_fd, False)
            self.streams[read_fd] = CapturedStream(name, directory / f"server.{name}", file_cap)
            self._selector.register(read_fd, selectors.EVENT_READ)
            self.write_fds.append(write_fd)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._drain, name="server-output", daemon=True)
        self._thread.start()

    @property
    def stdout_fd(self) -> int:
        return self.write_fds[0]

    @property
    def stderr_fd(self) -> int:
        return self.write_fds[1]

    def close_write_ends(self) -> None:
        """After the server is spawned, only the server holds the write ends."""
        for fd in self.write_fds:
            os.close(fd)
        self.write_fds = []

    def _drain(self) -> None:
        open_fds = set(self.streams)
        while open_fds and not self._stop.is_set():
            for key, _ in self._selector.select(timeout=0.1):
                fd = key.fd
                try:
                    data = os.read(fd, 1 << 16)
                except BlockingIOError:
                    continue
                except OSError:
                    data = b""
                if data:
                    self.streams[fd].feed(data)
                else:
                    self._selector.unregister(fd)
                    open_fds.discard(fd)

    def _drain_rest(self, max_reads: int = 256) -> None:
        """Read what the pipes still hold, here and now: on a loaded machine the
        drain thread may not have been scheduled since the server's last words
        (a crash's traceback), and those are what the report must show."""
        for fd, stream in self.streams.items():
            for _ in range(max_reads):
                try:
                    data = os.read(fd, 1 << 16)
                except OSError:  # BlockingIOError: nothing left while a writer lives on
                    break
                if not data:
                    break
                stream.feed(data)

    def stream(self, name: str) -> CapturedStream:
        return next(s for s in self.streams.values() if s.name == name)

    def tail_text(self, limit: int = 2000) -> str:
        """The last bytes of stderr and stdout, labelled, for reports."""
        parts = []
        for stream in self.streams.values():
            data = stream.tail(limit)
            if stream.total > len(data) and b"\n" in data[:200]:
                data = data[data.index(b"\n") + 1 :]  # start at a line, not mid-way through one
            if data:
                cut = f" (its last {len(data)} of {stream.total} bytes)" if stream.total > len(data) else ""
                parts.append(f"--- server {stream.name}{cut} ---\n" + data.decode("utf-8", "replace").rstrip())
        return "\n".join(parts)

    def close(self, timeout: float = 1.0) -> None:
        """Stop draining (after the server tree is dead) and release the pipes."""
        if self._stop.is_set():
            return
        self._thread.join(timeout)
        self._stop.set()
        self._thread.join(timeout)
        if not self._thread.is_alive():
            self._drain_rest()
        for fd, stream in self.streams.items():
            try:
                self._selector.unregister(fd)
            except (KeyError, ValueError):
                pass
            os.close(fd)
            stream.close()
        self._selector.close()
        for fd in self.write_fds:
            os.close(fd)
        self.write_fds = []


#: How long stderr must stay quiet after a traceback for the whole of it to be there.
TRACEBACK_QUIET_S = 0.2
TRACEBACK = b"Traceback (most recent call last)"


class TracebackPrinted:
    """Has the stream printed a traceback since `mark`, and then nothing for
    TRACEBACK_QUIET_S (so that the whole of it is shown, not its first line)?"""

    def __init__(self, stream: CapturedStream, mark: int) -> None:
        self.stream = stream
        self.mark = mark
        self.seen_total = -1
        self.changed_at = 0.0

    def __call__(self) -> bool:
        total = self.stream.total
        if total != self.seen_total:
            self.seen_total, self.changed_at = total, time.monotonic()
            return False
        if time.monotonic() - self.changed_at < TRACEBACK_QUIET_S or total <= self.mark:
            return False
        return TRACEBACK in self.stream.tail(total - self.mark)
