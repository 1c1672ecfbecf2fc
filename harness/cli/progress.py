"""Progress of a batch: a one-line bar redrawn with `\\r` on a terminal, plain lines otherwise.

Hand-written (a dozen lines) rather than a dependency: on a TTY one line is
redrawn; in a CI log or a file, one line per finished submission, no control
characters. Thread-safe: submissions finish on worker threads. Once closed it
prints nothing more (runs still finishing after Ctrl+C stay silent).
"""

from __future__ import annotations

import threading
import time
from typing import TextIO

from harness.terminal import safe_line

WIDTH = 30


class Progress:
    def __init__(self, total: int, stream: TextIO) -> None:
        self.total = total
        self.stream = stream
        self.tty = bool(getattr(stream, "isatty", lambda: False)())
        self.done = 0
        self.running: list[str] = []
        self.started_at = time.monotonic()
        self.lock = threading.Lock()
        self.width = 0
        self.closed = False

    def started(self, name: str) -> None:
        name = safe_line(name)  # a submission folder's name is the student's: nothing in it acts on the terminal, nor starts a line
        with self.lock:
            if self.closed:
                return
            self.running.append(name)
            self._draw()

    def finished(self, name: str, text: str) -> None:
        name = safe_line(name)
        with self.lock:
            if self.closed:
                return
            if name in self.running:
                self.running.remove(name)
            self.done += 1
            if self.tty:
                self._clear()
            self.stream.write(f"[{self.done}/{self.total}] {name}: {text}\n")
            self._draw()
            self.stream.flush()

    def note(self, text: str) -> None:
        with self.lock:
            if self.closed:
                return
            if self.tty:
                self._clear()
            self.stream.write(text + "\n")
            self._draw()
            self.stream.flush()

    def close(self) -> None:
        with self.lock:
            self.closed = True
            if self.tty:
                self._clear()
                self.stream.flush()

    def _clear(self) -> None:
        self.stream.write("\r" + " " * self.width + "\r")

    def _draw(self) -> None:
        if not self.tty:
            return
        filled = WIDTH * self.done // max(1, self.total)
        elapsed = time.monotonic() - self.started_at
        now = ", ".join(self.running[:3]) + (" ..." if len(self.running) > 3 else "")
        line = f"[{'#' * filled}{'.' * (WIDTH - filled)}] {self.done}/{self.total} {elapsed:5.0f}s  {now}"
        line = line[:119]
        self.stream.write("\r" + line.ljust(self.width))
        self.width = len(line)
        self.stream.flush()
