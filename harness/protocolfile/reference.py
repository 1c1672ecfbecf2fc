"""`@reference` answers: what the instructor's reference server says at those steps.

Recorded once per run (per process: each xdist worker records its own), from
the as-written run of every conversation with label c00, on a reference
instance started as the built-in references are (the server pool's spec: same
sandbox and limits, the reference's command, from the protocol file's folder).
"""

from __future__ import annotations

import os
import shutil
from dataclasses import replace
from pathlib import Path

from harness.errors import CheckFailed, CheckNotRun, ConfigError, ServerStartError
from harness.protocolfile.engine import Answers, ConversationRun
from harness.protocolfile.model import ProtocolFile
from harness.server.command import resolve
from harness.server.launcher import ServerProcess, ServerSpec

_RECORDED: dict[Path, Answers] = {}
#: Why the reference could not give its answers, per protocol file: tried once per process, not once per check.
_UNAVAILABLE: dict[Path, str] = {}


class ReferenceUnavailable(CheckNotRun):
    """The reference server could not give its answers: the protocol file's fault, not the student's.
    A check that needs them ends as an error; the checks that do not need them run normally."""


def reference_argv(protocol: ProtocolFile) -> list[str]:
    """The reference command, its program resolved relative to the protocol file's folder."""
    assert protocol.reference is not None
    first, *rest = protocol.reference.command
    candidate = protocol.reference.folder / first
    try:
        if candidate.exists():
            return resolve(str(candidate), rest)
        if os.sep not in first and shutil.which(first) is None:
            raise ConfigError(f"{first!r} is neither next to {protocol.path.name} (the command is relative to its "
                              "folder) nor a program on PATH")
        return resolve(first, rest, dashdash=True)
    except ConfigError as error:
        raise ReferenceUnavailable(f"{protocol.path.name}: [reference] command: {error}") from None


def record_answers(protocol: ProtocolFile, instance: ServerProcess, reply_timeout: float) -> Answers:
    """Run every conversation that has an @reference step, as written, and keep the answers."""
    answers: Answers = {}
    assert instance.endpoint is not None
    for conversation in protocol.conversations:
        if not any(s.reference for s in conversation.steps):
            continue
        with ConversationRun(protocol, conversation, instance.endpoint, reply_timeout=reply_timeout,
                             record=answers) as run:
            run.run()
    return answers


def start_reference(protocol: ProtocolFile, spec: ServerSpec) -> ServerProcess:
    reference_spec = replace(spec, argv=tuple(reference_argv(protocol)), fixed_port=None,
                             cwd=str(protocol.path.parent), transport=protocol.transport)
    instance = ServerProcess(reference_spec)
    try:
        instance.start()
    except BaseException:
        instance.stop()  # its folder (the server's output) goes too
        raise
    return instance


def answers_for(protocol: ProtocolFile, spec: ServerSpec, reply_timeout: float) -> Answers:
    """The @reference answers of this run (recorded on first use)."""
    if not protocol.uses_reference:
        return {}
    if protocol.path in _RECORDED:
        return _RECORDED[protocol.path]
    if protocol.path not in _UNAVAILABLE:
        try:
            _RECORDED[protocol.path] = _record(protocol, spec, reply_timeout)
            return _RECORDED[protocol.path]
        except ReferenceUnavailable as problem:
            _UNAVAILABLE[protocol.path] = str(problem)
    raise ReferenceUnavailable(
        f"not run: this check needs the @reference answers of {protocol.path.name}, and "
        f"{_UNAVAILABLE[protocol.path]} — a problem of the protocol file, not of the server under test "
        f"(`harness protocol check {protocol.path}` tells more)")


def _record(protocol: ProtocolFile, spec: ServerSpec, reply_timeout: float) -> Answers:
    instance = None
    try:
        argv = reference_argv(protocol)
        instance = start_reference(protocol, spec)
        return record_answers(protocol, instance, reply_timeout)
    except ReferenceUnavailable as problem:
        why = str(problem).partition("[reference] command: ")[2] or str(problem)
        raise ReferenceUnavailable(f"its [reference] command cannot run: {why}") from None
    except ServerStartError as error:
        raise ReferenceUnavailable(f"its reference server ({' '.join(argv)}) could not be started: {error}") from None
    except CheckFailed as failure:
        raise ReferenceUnavailable(f"its reference server failed its own conversation ({failure.message})") from None
    finally:
        if instance is not None:
            instance.stop()
