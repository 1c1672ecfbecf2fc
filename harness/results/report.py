"""The JSON report (SPEC §2): built from check results, written in every case.

Pure data in, a file out. The plugin feeds results as checks finish; the CLI
writes a report itself when it fails before pytest runs (bad input), so the
report exists whatever happened.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from typing import Any

from harness import __version__

#: "info": an informational check's result (figures, a demonstration), never a failure.
OUTCOMES = ("passed", "failed", "warning", "skipped", "error", "info")


def render_bytes(data: bytes | None, limit: int = 4096) -> str | None:
    """Bytes shown as text when they decode as printable UTF-8, else as hex."""
    if data is None:
        return None
    clipped = data[:limit]
    suffix = f" ... ({len(data)} bytes in all)" if len(data) > limit else ""
    try:
        text = clipped.decode("utf-8")
        if all(ch.isprintable() or ch in "\r\n\t" for ch in text):
            return text + suffix
    except UnicodeDecodeError:
        pass
    return "hex:" + clipped.hex(" ") + suffix


@dataclass
class CheckResult:
    id: str
    suite: str
    outcome: str
    duration_s: float
    message: str | None = None
    expected: str | None = None
    received: str | None = None
    server_output: str | None = None
    detail: str | None = None
    #: Measured figures (speed suite), e.g. {"throughput_mb_s": 812.5, "ratio": 0.93}.
    figures: dict[str, Any] | None = None
    #: What moved on the wire, for a check that did not pass (harness/evidence/wirelog.py).
    wire: dict[str, Any] | None = None

    def to_json(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if v is not None}


@dataclass
class ServerInfo:
    command: list[str]
    port: int | None = None
    port_source: str | None = None
    startup_s: float | None = None
    startup_error: str | None = None
    listening: str | None = None
    #: The port put in the server's `{port}` and $PORT (not in the report: the
    #: terminal header shows the command as really run, even on a discovered port).
    started_port: int | None = None
    #: The host put in `{host}` and $HOST (not in the report either).
    started_host: str | None = None


@dataclass
class Report:
    protocol: str
    server: ServerInfo
    checks: list[CheckResult] = field(default_factory=list)
    duration_s: float = 0.0
    interrupted: bool = False
    notes: list[str] = field(default_factory=list)
    #: The run never reached its server for the harness's own reason (a bad option or assignment file, a stop):
    #: the startup error is then not told to a student as "your server could not be started".
    harness_error: bool = False

    @classmethod
    def never_ran(cls, protocol: str, command: list[str], why: str, *, interrupted: bool = False,
                  harness_error: bool = False) -> "Report":
        """The report of a run that never reached a check: the reason is its startup error."""
        return cls(protocol=protocol, server=ServerInfo(command=list(command), startup_error=why),
                   interrupted=interrupted, harness_error=harness_error)

    def why_not_run(self) -> str:
        """Why no check could run, as a sentence's start: whose failure it was, then the reason."""
        who = "the harness could not run" if self.harness_error else "the server could not be started"
        return f"{who}: {self.server.startup_error}"

    def summary(self) -> dict[str, Any]:
        counts = {name: 0 for name in ("passed", "failed", "warnings", "skipped", "errors", "info")}
        key = {"warning": "warnings", "error": "errors"}
        for result in self.checks:
            counts[key.get(result.outcome, result.outcome)] += 1
        counts["duration_s"] = round(self.duration_s, 3)
        return counts

    def to_json(self) -> dict[str, Any]:
        server = {k: v for k, v in asdict(self.server).items()
                  if k not in ("started_port", "started_host") and (k != "listening" or v is not None)}
        data: dict[str, Any] = {
            "harness_version": __version__,
            "protocol": self.protocol,
            "server": server,
            "summary": self.summary(),
            "checks": [c.to_json() for c in self.checks],
        }
        if self.interrupted:
            data["interrupted"] = True
        if self.harness_error:
            data["harness_error"] = True
        if self.notes:
            data["notes"] = self.notes
        return data

    def write(self, path: str | os.PathLike[str]) -> None:
        """Write atomically, so a reader never sees half a report."""
        from harness.system.safe_files import write_atomically

        write_atomically(path, json.dumps(self.to_json(), indent=2, ensure_ascii=False) + "\n")
