"""The run's settings: one table of options shared by the CLI and the pytest plugin.

Every option has a help text, a default, a type and validation that says where
a bad value came from. The plugin registers them as `--NAME` pytest options
(and ini keys `harness_NAME`); `harness run` registers them as its own.

Rules:
- A run's settings are made in one way only, `run_settings`, by `harness run`
  and by `pytest --server` alike: the same values give the same `Settings` or
  the same `ConfigError`, whichever door they came in by.
- `pytest_args` is only a transport format: how `harness run` hands the values
  it was given to pytest and its xdist workers, which make the settings again
  with `run_settings`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Callable, Iterable

from harness.checks import SUITES
from harness.errors import ConfigError
from harness.protocolfile.loader import is_protocol_file, load_protocol_file
from harness.protocols import PROTOCOLS
from harness.protocols.framing import FrameCodec


@dataclass(frozen=True)
class Option:
    name: str  # e.g. "reply-timeout"
    type: Callable[[str], Any]
    default: Any
    help: str
    minimum: float | None = None
    #: The largest value that makes sense (a wait of days, more clients than the harness can open at once).
    maximum: float | None = None
    #: The pytest option, where `--NAME` is taken by pytest or a common plugin.
    pytest_flag: str | None = None

    @property
    def dest(self) -> str:
        return "harness_" + self.name.replace("-", "_")

    @property
    def pytest_option(self) -> str:
        return self.pytest_flag or f"--{self.name}"


#: The longest wait an option may ask for (s): an hour, as a protocol file's `reply-timeout`.
LONGEST_WAIT = 3600.0
#: The longest limit on a check or a stuck run (s): a day.
LONGEST_RUN = 86_400.0
#: The largest UDP payload over IPv4 (65,535 less the IP and UDP headers); ::1 takes 20 bytes more.
LARGEST_DATAGRAM = 65507
LARGEST_DATAGRAM_IPV6 = 65527
#: The largest tcp-framed payload tested (bytes): the frame is held in memory, twice.
LARGEST_FRAME = 1 << 30
#: The most simultaneous clients (each an open descriptor of the harness and one of the server).
MOST_CLIENTS = 1000

OPTIONS: tuple[Option, ...] = (
    Option("protocol", str, "tcp-echo", "protocol the server speaks: " + ", ".join(PROTOCOLS)
           + ", or a protocol file (path/to/proto.toml, docs/protocol-files.md)"),
    Option("host", str, "127.0.0.1", "host the server is told to bind ({host}, $HOST); loopback only"),
    Option("port", int, None, "the server's fixed port, if it ignores {port}/$PORT", minimum=1),
    Option("startup-timeout", float, 10.0, "seconds the server has to start listening", minimum=0.1,
           maximum=LONGEST_WAIT),
    Option("reply-timeout", float, 2.0, "seconds to wait for each reply", minimum=0.01, maximum=LONGEST_WAIT),
    Option("shutdown-timeout", float, 3.0, "seconds the server has to exit after SIGINT/SIGTERM", minimum=0.1,
           maximum=LONGEST_WAIT),
    Option("max-datagram", int, LARGEST_DATAGRAM, "largest UDP datagram to test (bytes)", minimum=1,
           maximum=LARGEST_DATAGRAM),
    Option("max-frame", int, 16 * 1024 * 1024, "largest tcp-framed payload to test (bytes)", minimum=0,
           maximum=LARGEST_FRAME),
    Option("length-format", str, "!I", "struct format of the tcp-framed length header (e.g. !I or <i)"),
    Option("clients", int, 50, "simultaneous clients in the concurrency suite", minimum=1, maximum=MOST_CLIENTS),
    Option("seed", int, None, "seed for random segmentation (printed on failure; replay with --seed)"),
    Option("strict", bool, False, "treat failed recommended checks as failures, not warnings",
           pytest_flag="--strict-checks"),
    Option("check-timeout", float, 120.0, "last-resort limit per check in seconds (pytest-timeout)", minimum=1,
           maximum=LONGEST_RUN),
    Option("cpu-limit", int, 300, "CPU seconds per server process (0: unlimited)", minimum=0),
    Option("memory-limit", int, 2048, "memory (heap, mappings, stacks) per server process, MiB (0: unlimited)", minimum=0),
    Option("files-limit", int, 1024, "open files per server process (0: unlimited)", minimum=0),
    Option("process-limit", int, 256, "processes and threads of the server, all together (0: unlimited)", minimum=0),
    Option("file-size-limit", int, 64, "largest file the server may write, MiB (0: unlimited)", minimum=0),
    Option("no-isolate", bool, False, "share the machine's network instead of a private namespace with only loopback"),
    Option("no-bwrap", bool, False, "run servers without the bubblewrap sandbox, in the fallback (see harness doctor)"),
    Option("watchdog", float, None, "end the run after this many seconds without progress "
           "(default: check-timeout + startup-timeout + 30)", minimum=1, maximum=LONGEST_RUN),
    Option("hello-mode", str, "line", "tcp-hello framing: line (lines ending in \\n) or unframed (the seed's one message per send)"),
    Option("speed-duration", float, 0.2, "seconds each speed measurement lasts (after a 0.1 s warm-up; 9 pairs)", minimum=0.05,
           maximum=60),
    Option("html", str, None, "write a self-contained HTML report (a sequence diagram for every failure) to FILE",
           pytest_flag="--harness-html"),
    Option("speed-min-ratio", float, None, "grade the speed suite: fail a figure below this ratio to the reference "
           "server's (e.g. 0.5); default: informational only", minimum=0.0),
)

OPTION_BY_NAME = {o.name: o for o in OPTIONS}


@dataclass(frozen=True)
class Settings:
    protocol: str = "tcp-echo"
    host: str = "127.0.0.1"
    port: int | None = None
    startup_timeout: float = 10.0
    reply_timeout: float = 2.0
    shutdown_timeout: float = 3.0
    max_datagram: int = 65507
    max_frame: int = 16 * 1024 * 1024
    length_format: str = "!I"
    clients: int = 50
    seed: int | None = None
    strict: bool = False
    check_timeout: float = 120.0
    cpu_limit: int = 300
    memory_limit: int = 2048
    files_limit: int = 1024
    process_limit: int = 256
    file_size_limit: int = 64
    no_isolate: bool = False
    no_bwrap: bool = False
    watchdog: float | None = None
    hello_mode: str = "line"
    speed_duration: float = 0.2
    speed_min_ratio: float | None = None
    html: str | None = None

    @property
    def transport(self) -> str:
        if self.protocol_file:
            return load_protocol_file(self.protocol).transport
        return PROTOCOLS[self.protocol].transport

    @property
    def protocol_file(self) -> str | None:
        """The protocol file's absolute path, when `--protocol` names one (SPEC §6)."""
        return self.protocol if is_protocol_file(self.protocol) else None

    @property
    def protocol_kind(self) -> str:
        """What checks declare they apply to: the protocol's name, or "protocol-file"."""
        return "protocol-file" if self.protocol_file else self.protocol

    @property
    def protocol_name(self) -> str:
        """Shown in reports: a protocol file's `name`."""
        return load_protocol_file(self.protocol).name if self.protocol_file else self.protocol

    @property
    def crowd_connections(self) -> int:
        """The connections the concurrency suite holds at once: --clients, times the most clients one of a
        protocol file's required conversations has (a 3-client chat conversation run 50 times is 150)."""
        if not self.protocol_file:
            return self.clients
        required = load_protocol_file(self.protocol).required
        return self.clients * max((len(c.clients) for c in required), default=1)


#: Why an option has its maximum, where that is not plain.
OVER_THE_TOP = {"max-datagram": " (the largest UDP payload; over ::1, 65,527)",
                "clients": " (each client is a connection the harness itself holds open)"}

HELLO_MODES = ("line", "unframed")
LOOPBACK_HOSTS = ("127.0.0.1", "::1", "localhost", "0.0.0.0", "::")


def build_settings(values: dict[str, Any], source: str = "command line") -> Settings:
    """Validate raw option values (by option name) into Settings, or raise ConfigError."""
    clean: dict[str, Any] = {}
    for option in OPTIONS:
        raw = values.get(option.name, option.default)
        if raw is None:
            clean[option.dest[8:]] = None
            continue
        try:
            value = option.type(raw) if not isinstance(raw, option.type) else raw
        except (TypeError, ValueError):
            raise ConfigError(f"invalid --{option.name} {raw!r} from {source}: expected {option.type.__name__}") from None
        if isinstance(value, float) and not math.isfinite(value):
            raise ConfigError(f"invalid --{option.name} {raw!r} from {source}: expected a number of seconds")
        if option.minimum is not None and value < option.minimum:
            raise ConfigError(f"invalid --{option.name} {raw!r} from {source}: must be at least {option.minimum:g}")
        maximum = option.maximum
        if option.name == "max-datagram" and values.get("host") in ("::1", "::"):
            maximum = LARGEST_DATAGRAM_IPV6
        if maximum is not None and value > maximum:
            raise ConfigError(f"invalid --{option.name} {raw!r} from {source}: at most {maximum:,.0f}"
                              + OVER_THE_TOP.get(option.name, ""))
        clean[option.dest[8:]] = value
    if is_protocol_file(clean["protocol"]):
        protocol_file = load_protocol_file(clean["protocol"])  # a bad file: ConfigError naming file, conversation, step
        clean["protocol"] = str(protocol_file.path)
        if values.get("reply-timeout") is None and protocol_file.reply_timeout is not None:
            clean["reply_timeout"] = protocol_file.reply_timeout  # the file's default; the command line overrides
    elif clean["protocol"] not in PROTOCOLS:
        raise ConfigError(
            f"unknown protocol {clean['protocol']!r} from {source}; known: {', '.join(sorted(PROTOCOLS))}"
        )
    if clean["host"] not in LOOPBACK_HOSTS and not clean["host"].startswith("127."):
        raise ConfigError(f"invalid --host {clean['host']!r} from {source}: the harness only tests on loopback")
    if clean["port"] is not None and clean["port"] > 65535:
        raise ConfigError(f"invalid --port {clean['port']} from {source}: ports go up to 65535")
    if clean["hello_mode"] not in HELLO_MODES:
        raise ConfigError(f"invalid --hello-mode {clean['hello_mode']!r} from {source}: one of {', '.join(HELLO_MODES)}")
    try:
        FrameCodec(clean["length_format"], clean["max_frame"])
    except ValueError as exc:
        raise ConfigError(f"invalid --length-format {clean['length_format']!r} from {source}: {exc}") from None
    return Settings(**clean)


def read_values(given: Callable[[str], Any], ini: Callable[[str], Any] | None = None) -> tuple[dict[str, Any], str]:
    """The raw values of the options, by name, and where they came from ("command line" or
    "ini file"): each option's `given` value (by its dest), else its `ini` value (pytest's
    ini key `harness_NAME`). Options given neither way are left out (their defaults apply)."""
    values: dict[str, Any] = {}
    source = "command line"
    for option in OPTIONS:
        value = given(option.dest)
        if value is None and ini is not None:
            value = ini(option.dest)
            if value in (None, ""):
                value = None
            else:
                source = "ini file"
        if value is not None:
            values[option.name] = value
    return values, source


def check_suites(suites: Iterable[str] | None) -> None:
    """Every `--suite` names a suite (the old names are suites too, see `harness.suitenames`)."""
    for suite in suites or []:
        if suite not in SUITES:
            raise ConfigError(f"unknown suite {suite!r}; known suites: {', '.join(SUITES)}")


def run_settings(given: Callable[[str], Any], ini: Callable[[str], Any] | None = None,
                 suites: Iterable[str] | None = None) -> Settings:
    """A run's validated settings, or a ConfigError: the one way `harness run` and the plugin make them."""
    values, source = read_values(given, ini)
    settings = build_settings(values, source)
    check_suites(suites)
    return settings


def check_workers(workers: str | None) -> None:
    """`harness run -n N`: a number of workers or 'auto'."""
    if workers is None or workers == "auto":
        return
    try:
        if int(workers) >= 0:
            return
    except ValueError:
        pass
    raise ConfigError(f"invalid -n {workers!r}: a number of workers or 'auto'")


def fixed_port_collides(settings: Settings, workers: Any, isolation_unavailable: Callable[[], str | None]) -> bool:
    """Would parallel workers' servers collide on a fixed `--port`? They do unless each worker's
    server has a private network namespace. (`harness run` then runs the checks one at a time;
    `pytest --server ... -n N` is told it cannot.)"""
    return (bool(settings.port) and workers not in (None, 0, "0")
            and bool(settings.no_isolate or isolation_unavailable()))


def pytest_args(given: Callable[[str], Any]) -> list[str]:
    """The transport format: the options `given` (by dest) as the plugin's pytest arguments."""
    result: list[str] = []
    for option in OPTIONS:
        value = given(option.dest)
        if value is None:
            continue
        if option.type is bool:
            result.append(option.pytest_option)
        else:
            result += [option.pytest_option, str(value)]
    return result
