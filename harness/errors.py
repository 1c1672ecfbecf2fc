"""Whose fault is it? Three kinds of trouble, three different things for the user.

- `ConfigError`: the harness was given bad input (missing server file, bad
  option, unknown suite). Exit code 2.
- `ServerStartError`: the server could not be started (crashed at start, never
  became ready). Exit code 3; every check is reported as an error.
- `CheckFailed`: the server broke the protocol during a check. The check fails
  and the message explains what was expected and what arrived.

`ExitCode` is the one table of the exit codes every command ends with (SPEC §1).
"""

from __future__ import annotations

import enum


class ExitCode(enum.IntEnum):
    """How a harness command ends (SPEC §1); `harness grade` files a run by it."""

    OK = 0  # every check passed
    FAILED = 1  # a check failed
    USAGE = 2  # a usage or configuration error (`ConfigError`)
    START = 3  # the server could not be started (`ServerStartError`)
    INTERNAL = 4  # a bug in the harness itself
    INTERRUPTED = 130  # Ctrl+C (128 + SIGINT)


class HarnessError(Exception):
    """Base of the harness's own errors."""


class ConfigError(HarnessError):
    """Bad input to the harness itself: a usage or configuration error."""

    exit_code = ExitCode.USAGE


class ServerStartError(HarnessError):
    """The server under test did not start or never became ready."""

    exit_code = ExitCode.START

    def __init__(self, message: str, output_tail: str = "") -> None:
        super().__init__(message)
        self.output_tail = output_tail


class CheckNotRun(HarnessError):
    """The harness could not run a check for a reason that is not the server's
    fault (e.g. the protocol file's reference server is missing): the check
    ends as an error, never as the student's failure."""


class HarnessFault(CheckNotRun):
    """The harness's own machine let it down (its disk is full, say, when another submission filled it): no
    verdict on the server comes of it, and the run ends as the harness's error (exit 4), never as the
    student's failure (blind 14: a classmate's full disk cost an honest server 40 points)."""

    PREFIX = "the harness could not run this check: "

    def __init__(self, reason: str) -> None:
        super().__init__(self.PREFIX + reason)


class CheckFailed(AssertionError):
    """The server broke the protocol. Carries the evidence for the report.

    `expected`/`received` are raw bytes; the report renders them readably.
    """

    def __init__(
        self,
        message: str,
        *,
        expected: bytes | None = None,
        received: bytes | None = None,
        detail: str = "",
    ) -> None:
        super().__init__(message)
        self.message = message
        self.expected = expected
        self.received = received
        self.detail = detail
        #: The wire log's id of the connection the failure happened on, when the check knows it (a crowd's
        #: failing copy): the report marks the difference there, not on the latest connection.
        self.connection: int | None = None
        #: How many bytes arrived on that connection after `received` (the wire log finds `received` that far
        #: before the end of what the connection got).
        self.trailing = 0

    def restated(self, message: str) -> CheckFailed:
        """A new failure told as `message`, with this one's evidence (bytes, detail, and the connection the
        report marks: blind 20, a framing check's mark fell on the rerun's correct reply when it was lost)."""
        failure = CheckFailed(message, expected=self.expected, received=self.received, detail=self.detail)
        failure.connection, failure.trailing = self.connection, self.trailing
        return failure

    def with_hint(self, hint: str) -> CheckFailed:
        """This failure, its message followed by `hint` (written as it should
        read: the hint brings its own separator, ": ..." or "\\nhint: ..."); an
        empty hint changes nothing. Returns the failure itself, to re-raise."""
        if hint:
            self.message += hint
            self.args = (self.message,)
        return self
