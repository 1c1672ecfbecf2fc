"""harness: protocol conformance tests for TCP/UDP socket servers.

`harness run ./server.py` launches a server, finds its port and runs the
conformance suites (pytest tests in `harness.suites`) against it.
"""

__version__ = "0.1.0"
