"""`harness init [PROTOCOL] [--dir D]`: a commented assignment file to start from.

Rules of this module:
- What the file says comes from where it is defined: the suites from the
  check catalogue (those with a check for the protocol; opt-in suites like
  speed are left out), each option's comment from its help text
  in harness.settings, the Gradescope keys from harness.assignment. The
  file it writes is accepted as it is by `harness run --config`,
  `harness grade` and `harness bundle` (a test keeps it so).
- Points: 100 in all, 40 for the first (correctness) suite and the rest
  shared equally among the others, each suite's total shared among its checks.
- It never overwrites an assignment file unless told to (`--force`).
- A protocol file (`harness init kv.toml`) must already exist: the starter
  protocol file and reference server are `starter_protocol_files`' job. Its
  path is relative to the current directory, as every path on the command
  line; the file names it relative to itself (portable in a bundle).
- What the protocol file sets, the assignment file does not override: an
  option the file sets (`reply-timeout`) is written commented out.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

from harness.assignment import FILE_NAME, GRADESCOPE_VISIBILITY
from harness.checks import OPT_IN_SUITES, SUITES, load_catalogue
from harness.errors import ConfigError, ExitCode
from harness.protocolfile import load_protocol_file
from harness.protocols import PROTOCOLS
from harness.results.apportion import share_out
from harness.settings import OPTION_BY_NAME

TOTAL_POINTS = 100
CORRECTNESS_POINTS = 40
#: Options worth showing for a protocol, beyond the timeouts every assignment has.
PROTOCOL_OPTIONS = {
    "tcp-framed": ("length-format", "max-frame"),
    "tcp-hello": ("hello-mode",),
    "udp-echo": ("max-datagram",),
    "udp-hello": ("max-datagram",),
}
COMMON_OPTIONS = ("startup-timeout", "reply-timeout", "shutdown-timeout")


def add_init_parser(commands: Any) -> None:
    init = commands.add_parser(
        "init", help="write a commented harness.toml for a protocol (suites, points, timeouts, Gradescope)",
        usage="harness init [PROTOCOL] [--dir DIR] [--force]",
        description=f"PROTOCOL: {', '.join(PROTOCOLS)} (default tcp-echo), or a protocol file (kv.toml).")
    init.add_argument("protocol", nargs="?", default="tcp-echo", metavar="PROTOCOL", help="the protocol to check")
    init.add_argument("--dir", dest="directory", default=".", metavar="DIR", help="where to write harness.toml (default: .)")
    init.add_argument("--force", action="store_true", help="replace an existing harness.toml")


def init_command(args: argparse.Namespace) -> int:
    directory = Path(args.directory)
    target = directory / FILE_NAME
    try:
        if target.exists() and not args.force:
            raise ConfigError(f"{target} already exists (--force replaces it)")
        text = assignment_text(_relative_to(args.protocol, directory), directory)
        directory.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
    except ConfigError as error:
        print(f"harness: error: {error}", file=sys.stderr)
        return ExitCode.USAGE
    except OSError as error:
        print(f"harness: error: cannot write {target}: {error.strerror}", file=sys.stderr)
        return ExitCode.USAGE
    print(f"wrote {target}: protocol {args.protocol}, {TOTAL_POINTS} points; read its comments, then")
    print(f"  try it:        harness run --config {target} path/to/your/reference/server.py")
    print(f"  grade a class: harness grade submissions/ --config {target}")
    print(f"  Gradescope:    harness bundle gradescope --config {target} -o autograder.zip")
    print(f"  Classroom:     harness bundle classroom --config {target} --dir COURSE_REPOSITORY")
    return ExitCode.OK


def _relative_to(protocol: str, directory: Path) -> str:
    """A protocol file given on the command line (relative to the current directory) as the assignment file
    names it: relative to the folder it is written in. A built-in protocol's name is kept."""
    if not protocol.endswith(".toml"):
        return protocol
    if not Path(protocol).is_file():
        starter_protocol_files(Path(protocol))
    return Path(os.path.relpath(Path(protocol).absolute(), directory.absolute())).as_posix()


def starter_protocol_files(protocol_file: Path) -> list[Path]:
    """Hook for protocol files (SPEC §6): write a starter protocol file and reference
    server at `protocol_file` and return what was written. Not written here yet, so
    `harness init kv.toml` needs the file to exist."""
    raise ConfigError(f"protocol file not found: {str(protocol_file)!r}; write it first "
                      "(docs/protocol-files.md), then run harness init again")


def assignment_text(protocol: str, directory: Path) -> str:
    """The commented assignment file for a built-in protocol or a protocol file (relative to `directory`)."""
    file_sets: dict[str, Any] = {}
    if protocol in PROTOCOLS:
        summary = PROTOCOLS[protocol].summary
        checks = [c.id for c in load_catalogue().values() if protocol in c.protocols and c.suite not in OPT_IN_SUITES]
        suites = [s for s in SUITES if any(c.startswith(f"{s}::") for c in checks)]
    elif protocol.endswith(".toml"):
        path = Path(os.path.normpath(directory / protocol))  # `directory` may not exist yet
        if not path.is_file():
            starter_protocol_files(path)
        file_sets = _set_by_protocol_file(path)
        summary = f"the protocol file {protocol}, relative to this file"
        suites = [s for s in SUITES if s not in OPT_IN_SUITES and s != "echo"]
        checks = [f"{suites[0]}::NAME"]
    else:
        raise ConfigError(f"unknown protocol {protocol!r}; known: {', '.join(PROTOCOLS)}, or a protocol file (NAME.toml)")
    shares = share_out(TOTAL_POINTS - CORRECTNESS_POINTS, [1.0] * (len(suites) - 1)) if len(suites) > 1 else []
    points = dict(zip(suites, [float(CORRECTNESS_POINTS if shares else TOTAL_POINTS), *shares]))
    lines = [
        f"# {FILE_NAME} — the assignment file, written by `harness init {protocol}`.",
        "# `harness run` reads it from the working directory (or --config FILE); `harness grade`,",
        "# `harness bundle gradescope` and `harness bundle classroom` take it as it is.",
        "# Every option of `harness run --help` is a key of the same name; the command line wins.",
        "",
        f'protocol = "{protocol}"    # {summary}',
        "",
        "# How a submission's server starts, run in the submission's folder. {port} and {host}",
        "# become the assigned port and host ($PORT and $HOST are set too). A .py file runs under",
        '# the harness\'s Python; a program name runs from PATH: ["node", "server.js", "{port}"].',
        'command = ["server.py", "{port}"]',
        "",
        f"# The suites that count (`harness list --protocol {protocol}` shows every check and its id).",
        f"suites = {json.dumps(suites)}",
        f'# checks = ["{suites[0]}::*"]    # only the checks matching these ids (glob patterns)',
        f'# exclude = ["{checks[-1]}"]    # never these',
        "",
        *[_option_line(name, file_sets) for name in (*COMMON_OPTIONS, *PROTOCOL_OPTIONS.get(protocol, ()))],
        _option_line("strict"),
        "# port = 9000             # only if the assignment demands a fixed port (grading then runs one at a time)",
        "",
        "[points]",
        "# A suite's total is shared among its checks in proportion to their points",
        "# (`default`, or a check's own), in quarter points that add up to the total exactly.",
        "default = 1",
        *[f"{suite} = {value:g}" for suite, value in points.items()],
        f'# "{next(c for c in checks if c.startswith(suites[0]))}" = 2    # this check weighs twice as much as the others of its suite',
        "",
        "[gradescope]",
        f"visibility = \"visible\"          # {' | '.join(GRADESCOPE_VISIBILITY)}",
        "stdout_visibility = \"hidden\"    # the run's console output, as students see it",
        "",
        "[grade]                         # harness grade (a whole class, one folder per submission)",
        "timeout = 300                   # seconds per submission",
        "jobs = 2                        # submissions graded at the same time",
        "",
    ]
    return "\n".join(lines)


def _set_by_protocol_file(path: Path) -> dict[str, Any]:
    """The run options the protocol file sets itself (a bad file is a usage error now, not at the first run)."""
    protocol = load_protocol_file(path)
    return {"reply-timeout": protocol.reply_timeout} if "reply-timeout" in protocol.keys else {}


def _option_line(name: str, file_sets: dict[str, Any] | None = None) -> str:
    """`name = default  # help`; commented out, with the protocol file's value, when the protocol file sets it
    (a value here would override the file's)."""
    option = OPTION_BY_NAME[name]
    if file_sets and name in file_sets:
        line = f"# {name} = {file_sets[name]!r}"
        return f"{line:<24} # the protocol file sets it; a value here overrides the file's. {option.help}"
    value = option.default
    if isinstance(value, bool):
        shown = "true" if value else "false"
    elif isinstance(value, str):
        shown = json.dumps(value)  # a TOML basic string is a JSON string
    else:
        shown = repr(value)
    return f"{f'{name} = {shown}':<24} # {option.help}"
