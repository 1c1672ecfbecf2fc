"""`harness protocol check FILE` and `harness list --protocol FILE`.

`protocol check` proves a protocol file before students meet it (SPEC §6):
1. the file is consistent (every error of "Bad files"; every expect-match
   matches its example) — else exit 2;
2. with a [reference] server: each conversation runs three times in a row on
   one instance, labelled c00, c00, c01 (a conversation that cannot be rerun
   does not leave the server as it found it), recording the @reference answers
   each time (an answer that changed depends on the time, or on the label);
3. every derived check runs against the reference (`harness run --protocol
   FILE` in a child process), and must pass.
Exit 0: consistent, and the reference passes everything; 1: the reference
fails something (each listed, with its evidence); 2: a bad file.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from harness.checks import SUITES, load_catalogue
from harness.errors import CheckFailed, ConfigError, ExitCode, ServerStartError
from harness.protocolfile.derive import protocol_independent, register
from harness.protocolfile.doubts import doubts
from harness.protocolfile.engine import Answers, ConversationRun
from harness.protocolfile.loader import load_protocol_file
from harness.protocolfile.model import (
    CLOSE,
    SOLO_LABEL,
    Conversation,
    ProtocolFile,
    Step,
)
from harness.protocolfile.reference import ReferenceUnavailable, reference_argv
from harness.protocolfile.wire_hints import OTHER_ORDER
from harness.server.launcher import Endpoint, ServerProcess, ServerSpec
from harness.suitenames import selected_suites
from harness.system.python_path import harness_python

#: Each conversation runs three times on one reference instance: again as c00 (can it be rerun? is an
#: @reference answer stable in time?), then as c01 (does an @reference answer depend on the label?).
RECORDING_LABELS = (SOLO_LABEL, SOLO_LABEL, "c01")


def add_protocol_parser(commands: argparse._SubParsersAction) -> None:
    protocol = commands.add_parser("protocol", help="work with protocol files (an instructor's own protocol)")
    actions = protocol.add_subparsers(dest="protocol_action", required=True)
    check = actions.add_parser(
        "check", help="validate a protocol file and run its reference server through every derived check",
        description="Exit 0: the file is consistent and its reference server passes every derived check; "
                    "1: the reference fails one; 2: a bad file.")
    check.add_argument("file", metavar="FILE", help="the protocol file (.toml)")
    check.add_argument("--reply-timeout", type=float, default=None, help="seconds per reply (default: the file's, or 2)")


def protocol_command(args: argparse.Namespace) -> int:
    return check_protocol_file(args.file, args.reply_timeout)


def plural(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


def say(text: str) -> None:
    print(text, flush=True)


def check_protocol_file(path: str, reply_timeout: float | None = None) -> int:
    try:
        protocol = load_protocol_file(path)
    except ConfigError as error:
        print(f"harness: error: {error}", file=sys.stderr)
        return ExitCode.USAGE
    timeout = reply_timeout or protocol.reply_timeout or 2.0
    matches = sum(1 for c in protocol.conversations for s in c.steps if s.kind == "expect-match")
    say(f"✓ {path}: consistent — protocol {protocol.name!r}, {protocol.transport}, framing {protocol.framing}, "
        f"{plural(len(protocol.conversations), 'conversation')}, {plural(matches, 'expect-match pattern')} "
        f"matching {'its example' if matches == 1 else 'their examples'}")
    for doubt in doubts(protocol, protocol.path.read_text(encoding="utf-8-sig")):
        say(f"! {doubt}")
    if protocol.reference is None:
        say("  no [reference] server: nothing was run (add [reference] command = [...] to check the "
            "conversations against your own server)")
        return ExitCode.OK
    try:
        argv = reference_argv(protocol)
    except ReferenceUnavailable as problem:
        print(f"harness: error: {problem}", file=sys.stderr)
        return ExitCode.USAGE
    problems = rerun_each(protocol, argv, timeout)
    for problem in problems:
        say(f"✗ {problem}")
    if problems and problems[0].startswith(COULD_NOT_START):
        say(f"✗ {path}: the reference server does not start, so no derived check was run")
        return ExitCode.FAILED
    if not problems:
        say(f"✓ every conversation passes {len(RECORDING_LABELS)} times in a row on one reference instance (labels "
            f"{', '.join(RECORDING_LABELS)}); @reference answers are stable")
    say(f"running every derived check against the reference server: {' '.join(argv)}")
    code = run_derived(protocol, argv, reply_timeout)
    if problems or code != 0:
        say(f"✗ {path}: the reference server does not pass its own protocol file (see above)")
        return ExitCode.FAILED
    say(f"✓ {path}: the reference server passes every derived check")
    return ExitCode.OK


COULD_NOT_START = "the reference server could not be started"


def rerun_each(protocol: ProtocolFile, argv: list[str], timeout: float) -> list[str]:
    """Run each conversation RECORDING_LABELS times on one instance; what went wrong, one line (or block) each."""
    spec = ServerSpec(argv=tuple(argv), transport=protocol.transport, cwd=str(protocol.path.parent))
    instance = ServerProcess(spec)
    problems: list[str] = []
    try:
        instance.start()
    except ServerStartError as error:
        instance.stop()  # its folder (the server's output) goes too
        return [f"{COULD_NOT_START}: {error}\n{error.output_tail}"]
    try:
        assert instance.endpoint is not None
        for conversation in protocol.conversations:
            recordings: list[Answers] = []
            for attempt, label in enumerate(RECORDING_LABELS, start=1):
                recorded: Answers = {}
                run = ConversationRun(protocol, conversation, instance.endpoint, reply_timeout=timeout, label=label,
                                      record=recorded)
                try:
                    with run:
                        run.run()
                except CheckFailed as failure:
                    when = ("the reference server fails it" if attempt == 1 else
                            "it passes once but not when run again on the same instance: a conversation must "
                            "leave the server as it found it (release what it took)" if label == SOLO_LABEL else
                            f"it passes with label {SOLO_LABEL} but not with label {label}: does an expect step "
                            "miss a {client}?")
                    passes = sum(passes_again(protocol, conversation, instance.endpoint, timeout, label)
                                 for _ in range(TIMING_RETRIES))
                    if passes:
                        when = (f"it fails only sometimes (it passed {passes} of {TIMING_RETRIES} runs again right "
                                f"after): a step depends on timing{race_hint(conversation, run.failed_step)}")
                    problems.append(f"conversation {conversation.name!r}: {when}: {failure.message}\n"
                                    f"{failure.detail}")
                    break
                recordings.append(recorded)
            problems += unstable_answers(conversation.name, recordings)
    finally:
        instance.stop()
    return problems


#: How many times a conversation that failed is run again, to tell a failure that depends on timing.
TIMING_RETRIES = 2


def passes_again(protocol: ProtocolFile, conversation: Conversation, endpoint: Endpoint, timeout: float,
                 label: str) -> bool:
    try:
        with ConversationRun(protocol, conversation, endpoint, reply_timeout=timeout, label=label) as run:
            run.run()
    except CheckFailed:
        return False
    return True


def race_hint(conversation: Conversation, failing: Step | None) -> str:
    """Where the failing step comes right after another client's close: the server may not have seen it."""
    if failing is None:
        return ""
    closed = next((step for step in reversed(conversation.steps) if step.number < failing.number
                   and step.kind == CLOSE and step.client != failing.client), None)
    if closed is None:
        return ""
    return (f" — step {failing.number} comes right after client {closed.client!r} closed (step {closed.number}), "
            "and the server may not have seen that close yet: put a step between them that proves it did (an "
            "answer that depends on it), or do not depend on it")


def unstable_answers(name: str, recordings: list[Answers]) -> list[str]:
    """Each @reference answer that changed between the recordings (labels RECORDING_LABELS)."""
    problems = []
    for later, label in zip(recordings[1:], RECORDING_LABELS[1:]):
        for key, first in recordings[0].items():
            second = later.get(key)
            if second != first:
                why = ("when run again: an @reference answer must not depend on the time or earlier runs"
                       if label == SOLO_LABEL else
                       f"with label {label} instead of {SOLO_LABEL}: an @reference answer must not depend on the "
                       "label (the {client} in what was sent) — use expect or expect-match with {client} there")
                problems.append(f"conversation {name!r}, step {key[1]}: the reference answered {first!r}, then "
                                f"{second!r} {why}")
        if problems:
            break
    return problems


def run_derived(protocol: ProtocolFile, argv: list[str], reply_timeout: float | None) -> int:
    with tempfile.TemporaryDirectory(prefix="harness-protocol-check-") as folder:
        report = Path(folder) / "report.json"
        command = [*harness_python(protocol.path.parent), "-m", "harness", "run", "--protocol", str(protocol.path), "--json", str(report)]
        if reply_timeout:
            command += ["--reply-timeout", str(reply_timeout)]
        command += ["--", *argv]
        with subprocess.Popen(command, cwd=str(protocol.path.parent), stdin=subprocess.DEVNULL,
                              stdout=subprocess.PIPE, text=True, errors="replace",
                              env={**os.environ, "PYTHONUNBUFFERED": "1"}) as run:
            assert run.stdout is not None
            byte_order = False
            for line in run.stdout:  # as it comes, but not the path of a report deleted on return
                if line.rstrip("\n") != f"report: {report}":
                    print(line, end="", flush=True)
                byte_order = byte_order or OTHER_ORDER in line
        completed = subprocess.CompletedProcess(command, run.returncode)
        if byte_order and completed.returncode == 1:
            other = {"!": "<", ">": "<", "<": "!", "=": "!"}.get(protocol.length_format[:1], "!")
            say(f"! the reference is yours: if it is right, the file's length-format {protocol.length_format!r} is "
                f"the other byte order — write length-format = \"{other}{protocol.length_format.lstrip('!<>=@')}\" "
                "(a format without '!', '<' or '>' is the machine's order, little-endian on x86 and ARM)")
        if completed.returncode not in (0, 1) and report.is_file():
            data = json.loads(report.read_text())
            error = (data.get("server") or {}).get("startup_error")
            if error:
                say(f"✗ the reference server could not be started: {error}")
        return completed.returncode


def list_protocol_checks(path: str, suites: list[str] | None) -> int:
    """`harness list --protocol FILE`: every check a run with this file makes."""
    try:
        protocol = load_protocol_file(path)
    except ConfigError as error:
        print(f"harness: error: {error}", file=sys.stderr)
        return ExitCode.USAGE
    derived = register(protocol)
    catalogue = load_catalogue()
    fixed = protocol_independent(protocol)
    say(f"protocol file {path}: {protocol.name!r} ({protocol.transport}, framing {protocol.framing})")
    chosen = selected_suites(suites)  # `echo`, the old name, brings `conversation`
    for suite in SUITES:
        if chosen and suite not in chosen:
            continue
        entries: list[tuple[str, str, str, str]] = []
        entries += [(d.id, d.tier, d.description, d.expectation) for d in derived if d.suite == suite]
        for check_id, (description, expectation) in fixed.items():
            if check_id.startswith(f"{suite}::"):
                entries.append((check_id, "required", description, expectation))
        if suite == "shutdown":
            entries += [(c.id, c.tier, c.description, c.expectation) for c in catalogue.values()
                        if c.suite == "shutdown" and "protocol-file" in c.protocols]
        if not entries:
            continue
        say(suite)
        for check_id, tier, description, expectation in entries:
            say(f"  {check_id}" + ("" if tier == "required" else f" ({tier})"))
            say(f"      {description}")
            say(f"      expect: {expectation}")
    return ExitCode.OK
