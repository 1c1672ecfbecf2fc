"""The `harness` command's first lines, before anything heavy is imported.

Rule: a stop (Ctrl+C, SIGTERM) is a stop however early it comes. Loading the
harness and pytest takes a few tenths of a second; a SIGINT then used to end
it with a KeyboardInterrupt traceback, and a SIGTERM with no word and no
report. Here SIGTERM is taken as Ctrl+C from the first line, and a stop that
comes before the run has its own handling in place ends it with one line,
exit 130, and the reports asked for (marked interrupted, no check run).
"""

from __future__ import annotations

import signal
import sys


def _as_interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    signal.signal(signal.SIGTERM, _as_interrupt)  # SIGINT raises KeyboardInterrupt already
    for stream in (sys.stdout, sys.stderr):  # a lone surrogate in a server's text is shown escaped, not fatal
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None:
            reconfigure(errors="backslashreplace")
    try:
        from harness.cli.main import main as harness_main

        return harness_main(argv)
    except KeyboardInterrupt:
        for stop in (signal.SIGINT, signal.SIGTERM):  # a second stop does not cut the report short
            signal.signal(stop, signal.SIG_IGN)
        from harness.cli.main import interrupted_before_the_run

        return interrupted_before_the_run(argv)
