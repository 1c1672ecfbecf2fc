"""Checks derived from a protocol file (SPEC §6): `harness run --protocol kv.toml ...`.

conversation:: each conversation as written; framing:: each conversation
coalesced, one byte per segment and cut at random; concurrency:: every
required conversation in many copies at once, and the protocol-independent
checks with the first required conversation as the exchange (a recommended
conversation's failure must never fail a required check). The shutdown suite
(test_shutdown.py) applies unchanged, with its clients in the middle of that
conversation.

Thin: the engine (harness.protocolfile.engine) runs the conversations and
tells the failures; here is only what each check does.
"""

from __future__ import annotations

import random
import socket
import threading
from contextlib import ExitStack, suppress
from dataclasses import replace
from typing import Any, Callable

import pytest

from harness.checks import PROTOCOL_FILE, check
from harness.clients.connection import TcpConnection
from harness.clients.crowd import accept_queue_of, read_by_server
from harness.clients.patience import PATIENCE
from harness.clients.sequential import wait_closed
from harness.deadline import Deadline, poll_until
from harness.errors import CheckFailed
from harness.protocolfile import load_protocol_file
from harness.protocolfile.derive import SIMULTANEOUS, sequential_runs
from harness.protocolfile.engine import Answers, ConversationRun
from harness.protocolfile.explain import (
    ONE_AT_A_TIME,
    WHOLE_MESSAGE,
    a_few_at_a_time,
    crowd_failure,
    cuts_are_the_cause,
    fails_alone,
    fails_as_written,
    fails_while,
)
from harness.protocolfile.first_exchange import first_send, half_message
from harness.protocolfile.model import EXPECT, MATCH, SOLO_LABEL, Conversation, ProtocolFile, label_for
from harness.protocolfile.plans import Segmentation
from harness.protocolfile.reference import answers_for
from harness.server.descriptors import held_descriptors
from harness.server.idle import IDLE_CPU_LIMIT, IDLE_WINDOW, busy_while_idle
from harness.server.launcher import ServerProcess
from harness.server.reaping import require_reaped
from harness.server.serverkind import END_OF_INPUT, OTHER, SURVIVE_RESET, language_of
from harness.settings import Settings
from harness.system.acceptqueue import wait_for_accept_room

# The fixed-id concurrency checks below take their description from their first declaration, in the echo
# suites' module: import it first, or a process that imports only this module (an xdist controller naming
# the results of `-n N`) would find them undescribed.
import harness.suites.test_concurrency  # noqa: E402,F401  isort: skip

PF = (PROTOCOL_FILE,)
#: A slow conversation (long expect-nothing, many clients) gets as many runs as fit in this time.
SEQUENTIAL_BUDGET = 10.0
FD_TOLERANCE = 10
#: Label of the client that vanishes with a reset: never used by another run.
VANISHING_LABEL = "c99"
#: The label of the client that sends its first request and leaves without reading the reply.
LEAVING_LABEL = "c98"
#: Silent clients of the idle-client check, added one at a time (as in the built-in suites).
IDLE_CLIENTS = 4
#: At most this long (s) the framing rerun waits for the server to close the failed attempt's connections.
RERUN_SETTLE = 1.0


def tcp_only(settings: Settings) -> bool:
    return settings.transport == "tcp"


def derived(suite: str):
    """Mark a function as the runner of the file's derived checks of `suite` (parametrized by the plugin:
    `harness.plugin.options.pytest_generate_tests`)."""
    def decorate(function):
        function.harness_derived = suite
        function.harness_protocols = PF
        function.harness_when = None
        return function
    return decorate


def protocol_of(settings: Settings) -> ProtocolFile:
    return load_protocol_file(settings.protocol)


def answers(request: pytest.FixtureRequest, settings: Settings, protocol: ProtocolFile,
            *conversations: Conversation) -> Answers:
    """The @reference answers of this run, recorded from the reference server on first use — only when one of
    `conversations` (default: all) needs them: a check that needs none runs even if the reference is missing
    (ReferenceUnavailable, a CheckNotRun, makes the others end as errors)."""
    needed = conversations or protocol.conversations
    if not any(step.reference for conversation in needed for step in conversation.steps):
        return {}
    return answers_for(protocol, request.getfixturevalue("server_pool").spec, settings.reply_timeout)


def seed_of(settings: Settings) -> int:
    return settings.seed if settings.seed is not None else random.randrange(1_000_000)


def connect_timeout(settings: Settings) -> float:
    return max(3 * settings.reply_timeout, 5.0)


def run_first(request: pytest.FixtureRequest, settings: Settings, protocol: ProtocolFile, endpoint: Any,
              label: str = SOLO_LABEL) -> None:
    with ConversationRun(protocol, protocol.exchange, endpoint, reply_timeout=settings.reply_timeout, label=label,
                         answers=answers(request, settings, protocol, protocol.exchange)) as run:
        run.run()


def run_alone_first(request: pytest.FixtureRequest, settings: Settings, protocol: ProtocolFile, endpoint: Any,
                    conversations: tuple[Conversation, ...] | None = None) -> ProtocolFile:
    """Run the check's conversation once alone (label c00) before its situation: a conversation that fails
    even alone is its own failure (conversation::NAME tells it), and the hints of this check would not fit.

    With `conversations`, each of them must pass alone. Without, the check's conversation is the first
    required one that passes alone: the protocol is returned with it as its exchange (blind 20: one wrong
    reply in the first conversation failed every concurrency check, though the server served the others
    concurrently); only when none passes does the check fail, with the first one's failure."""
    def alone(conversation: Conversation) -> None:
        with ConversationRun(protocol, conversation, endpoint, reply_timeout=settings.reply_timeout,
                             answers=answers(request, settings, protocol, conversation)) as run:
            run.run()

    if conversations is not None:
        for conversation in conversations:
            try:
                alone(conversation)
            except CheckFailed as failure:
                raise fails_alone(conversation, failure) from None
        return protocol
    first_failure: tuple[Conversation, CheckFailed] | None = None
    for conversation in protocol.required:
        try:
            alone(conversation)
        except CheckFailed as failure:
            first_failure = first_failure or (conversation, failure)
            continue
        if conversation is protocol.exchange:
            return protocol
        return replace(protocol, conversations=(conversation, *(c for c in protocol.conversations
                                                                if c is not conversation)))
    assert first_failure is not None  # (a protocol file has a required conversation)
    raise fails_alone(*first_failure)


# -- conversation:: and framing:: ---------------------------------------------------
#: Rule: the conversations that failed as written in this process (conversation::NAME), by (protocol file,
#: reply timeout, conversation name). A framing check whose cut conversation fails asks whether it fails
#: as written too: when conversation::NAME already failed so in this run, that is known — no second run
#: waits out the same silence again (a framing check is a failure either way; only its explanation
#: depends on this). A conversation that passed as written is run again, as before.
FAILED_AS_WRITTEN = pytest.StashKey[set[tuple[str, float, str]]]()


def failed_as_written(request: pytest.FixtureRequest) -> set[tuple[str, float, str]]:
    return request.config.stash.setdefault(FAILED_AS_WRITTEN, set())


def _written_key(settings: Settings, conversation: Conversation) -> tuple[str, float, str]:
    return (str(settings.protocol), settings.reply_timeout, conversation.name)


@derived("conversation")
def test_conversation(derived, endpoint, settings, request):
    protocol = protocol_of(settings)
    conversation = protocol.conversation(derived.conversation)
    try:
        with ConversationRun(protocol, conversation, endpoint, reply_timeout=settings.reply_timeout,
                             answers=answers(request, settings, protocol, conversation)) as run:
            run.run()
    except CheckFailed:
        failed_as_written(request).add(_written_key(settings, conversation))
        raise


@derived("framing")
def test_framing(derived, server, settings, request, inform):
    protocol = protocol_of(settings)
    conversation = protocol.conversation(derived.conversation)
    segmentation = Segmentation(derived.plan, seed_of(settings))
    try:
        with ConversationRun(protocol, conversation, server.endpoint, reply_timeout=settings.reply_timeout,
                             segmentation=segmentation,
                             answers=answers(request, settings, protocol, conversation)) as run:
            run.run()
    except CheckFailed as failure:  # (its clients are closed now: the rerun must not meet them)
        if protocol.framing != "none":
            raise segmentation_failure(request, settings, protocol, conversation, server, derived.plan,
                                       failure) from None
        # framing "none": the coalescing demonstration, informational
        inform(f"sends coalesced in one segment: {failure.message} — without framing (a line ending or a "
               "length header) no server can tell where one message ends", detail=failure.detail)
        return
    if protocol.framing == "none":
        inform("sends coalesced in one segment were answered as if sent apart")


def segmentation_failure(request: pytest.FixtureRequest, settings: Settings, protocol: ProtocolFile,
                         conversation: Conversation, instance: ServerProcess, plan: str,
                         failure: CheckFailed) -> CheckFailed:
    """Lead with the cause the evidence shows: run the conversation as written once more — if it passes, the
    cuts are the cause; if it fails too, the conversation's own failure is (conversation::NAME). The rerun
    starts once the server has closed the failed attempt's connections (blind 15: a pub/sub server still
    had its subscribers, answered the rerun differently, and the cuts were wrongly cleared)."""
    if _written_key(settings, conversation) in failed_as_written(request):
        return fails_as_written(conversation, failure)
    wait_closed(instance, min(settings.reply_timeout, RERUN_SETTLE))
    endpoint = instance.endpoint
    try:
        with ConversationRun(protocol, conversation, endpoint, reply_timeout=settings.reply_timeout,
                             answers=answers(request, settings, protocol, conversation),
                             wire_name="rerun") as written:
            written.run()
    except CheckFailed as as_written:  # its own step and bytes: the cut attempt's may be another step
        return fails_as_written(conversation, as_written, rerun=True)
    return cuts_are_the_cause(protocol, plan, failure)


# -- concurrency:: ------------------------------------------------------------------------
@check(SIMULTANEOUS, protocols=PF,
       description="--clients copies of the file's required conversations at once, labelled c01…c50 and dealt "
                   "out in file order (c01 the first required conversation, c02 the second, …, starting over after "
                   "the last), all connected first, then interleaved",
       expectation="each copy gets exactly its own replies, as when run alone")
def test_simultaneous_conversations(fresh_server, settings, request):
    instance = fresh_server()
    protocol = protocol_of(settings)
    conversations = protocol.required  # a recommended conversation's failure must not fail this required check
    known = answers(request, settings, protocol, *conversations)  # only theirs: a missing reference may not matter
    run_alone_first(request, settings, protocol, instance.endpoint, conversations)
    runs = [ConversationRun(protocol, conversations[(copy - 1) % len(conversations)], instance.endpoint,
                            reply_timeout=settings.reply_timeout, label=label_for(copy), answers=known,
                            connect_timeout=connect_timeout(settings))
            for copy in range(1, settings.clients + 1)]
    unaccepted = accept_queue_of(instance)
    failures: dict[int, CheckFailed] = {}
    try:
        for index, run in enumerate(runs):
            try:
                run.connect(pace=lambda: wait_for_accept_room(unaccepted, Deadline(settings.reply_timeout)))
            except CheckFailed as failure:
                raise crowd_failure(runs, {index: failure}, connected=index,
                                    processes=len(instance.pids())) from None
        threads = [threading.Thread(target=_run_copy, args=(run, index, failures), daemon=True)
                   for index, run in enumerate(runs)]
        for thread in threads:
            thread.start()
        limit = Deadline(settings.check_timeout * 0.8)
        for thread in threads:
            thread.join(max(0.0, limit.remaining()))
        if any(thread.is_alive() for thread in threads):
            raise CheckFailed(f"{len(runs)} copies ran at once and some did not finish within "
                              f"{limit.seconds:g} s")
    finally:
        for run in runs:
            run.close()
    if failures:
        raise crowd_failure(runs, failures, connected=len(runs))


def _run_copy(run: ConversationRun, index: int, failures: dict[int, CheckFailed]) -> None:
    try:
        run.run()
    except CheckFailed as failure:
        failures[index] = failure
    except Exception as error:  # noqa: BLE001 - reported as the copy's failure, never lost in a thread
        failures[index] = CheckFailed(f"conversation {run.conversation.name!r}: {error!r}")


@check("concurrency::idle_client_does_not_block", protocols=PF, when=tcp_only)
def test_idle_client_does_not_block_pf(fresh_server, settings, request):
    instance = fresh_server()
    protocol = run_alone_first(request, settings, protocol_of(settings), instance.endpoint)
    unaccepted = accept_queue_of(instance)
    # One silent client, then up to IDLE_CLIENTS: a pool of a few workers is caught too (as in the built-in
    # suites), and the count at which the conversation stopped being served is the diagnosis.
    with ExitStack() as idle:
        for count in range(1, IDLE_CLIENTS + 1):
            idle.enter_context(TcpConnection(instance.endpoint, Deadline(settings.reply_timeout)))
            if unaccepted is not None:  # let the server take the idle client first
                poll_until(lambda: unaccepted().waiting == 0, Deadline(settings.reply_timeout))
            try:
                run_first(request, settings, protocol, instance.endpoint)
            except CheckFailed as failure:
                if count == 1:
                    raise fails_while("while another client stayed connected and silent", failure,
                                      ONE_AT_A_TIME) from None
                raise fails_while(f"while {count} other clients stayed connected and silent (with "
                                  f"{count - 1} it was served)", failure, a_few_at_a_time(count)) from None


@check("concurrency::stalled_client_does_not_block", protocols=PF, when=tcp_only)
def test_stalled_client_does_not_block_pf(fresh_server, settings, request):
    instance = fresh_server()
    protocol = run_alone_first(request, settings, protocol_of(settings), instance.endpoint)
    stalled_bytes = half_message(protocol, first_send(protocol, VANISHING_LABEL))
    unaccepted = accept_queue_of(instance)
    with TcpConnection(instance.endpoint, Deadline(settings.reply_timeout)) as stalled:
        stalled.send_all(stalled_bytes, Deadline(settings.reply_timeout))
        if unaccepted is not None:  # let the server take the stalled client and read its half message first
            poll_until(lambda: unaccepted().waiting == 0 and read_by_server(instance, stalled),
                       Deadline(settings.reply_timeout))
        try:
            run_first(request, settings, protocol, instance.endpoint)
        except CheckFailed as failure:
            raise fails_while(f"while another client had sent {stalled_bytes!r} (half a message) and stalled",
                         failure, WHOLE_MESSAGE) from None


@check("concurrency::survives_abrupt_disconnect", protocols=PF, when=tcp_only)
def test_survives_abrupt_disconnect_pf(fresh_server, settings, request):
    instance = fresh_server()
    probe = instance.probe
    protocol = run_alone_first(request, settings, protocol_of(settings), instance.endpoint)
    descriptors = held_descriptors(instance, in_flight=False)
    vanishing = ConversationRun(protocol, protocol.exchange, instance.endpoint, reply_timeout=settings.reply_timeout,
                                label=VANISHING_LABEL, answers=answers(request, settings, protocol, protocol.exchange))
    try:
        with suppress(CheckFailed):  # whether it answers right is the conversation check's business
            vanishing.run_until(after_first_expect())
    finally:
        for client in vanishing.clients.values():
            if client.conn is not None and not client.closed:
                client.conn.abort()
                client.closed = True
    poll_until(lambda: held_descriptors(instance, in_flight=False) <= descriptors, Deadline(settings.reply_timeout))
    # Served once after the reset, before the next client: a death is then the reset's, whenever it came.
    _serves_after(request, settings, protocol, instance, "after a client vanished with a reset (RST)", _died_of_reset)
    # A client that leaves before its reply: the server's writes meet a connection the client's kernel
    # resets (EPIPE), and SIGPIPE ends a C server that does not ignore it.
    leaving = ConversationRun(protocol, protocol.exchange, instance.endpoint, reply_timeout=settings.reply_timeout,
                              label=LEAVING_LABEL, answers=answers(request, settings, protocol, protocol.exchange))
    ports: set[int] = set()
    try:
        with suppress(CheckFailed):
            leaving.connect()
            for client in leaving.clients.values():  # the request and the FIN leave in one segment, so the
                if client.conn is not None:  # server sees the end before it can answer: its first write meets
                    client.conn.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_CORK, 1)  # a reset, the next EPIPE
            leaving.run_until(lambda step: step.kind in (EXPECT, MATCH))
    finally:
        for client in leaving.clients.values():
            if client.conn is not None and not client.closed:
                ports.add(client.conn.sock.getsockname()[1])
                client.conn.close()
                client.closed = True
    # Until the server has ended its side of those connections (it wrote and met the reset, or read the
    # end), or died: its own descriptor count says nothing while the connection still waits to be accepted.
    poll_until(lambda: not any(s.remote_port in ports and s.state in ("ESTABLISHED", "CLOSE_WAIT")
                               for s in probe.tcp_sockets_on_port(instance.endpoint.port)),
               Deadline(PATIENCE.close_wait(settings.reply_timeout)))
    # ... and closed it (a write error, the end read) or died of it: a dead server then serves no one.
    poll_until(lambda: held_descriptors(instance, in_flight=False) <= descriptors,
               Deadline(PATIENCE.close_wait(settings.reply_timeout)))
    _serves_after(request, settings, protocol, instance, "after a client left before reading its reply",
                  _died_of_leaving)


def _serves_after(request: pytest.FixtureRequest, settings: Settings, protocol: ProtocolFile,
                  instance: ServerProcess, situation: str, died: Callable[[ServerProcess], CheckFailed]) -> None:
    """The first conversation runs once more, as written, and the server is still alive after it."""
    try:
        run_first(request, settings, protocol, instance.endpoint)
    except CheckFailed as failure:
        if poll_until(instance.ended, Deadline(0.5)):
            raise died(instance) from None
        raise fails_while(situation, failure,
                          "Catch ConnectionResetError per connection and keep serving the others.") from None
    if instance.ended():
        raise died(instance)


def after_first_expect():
    """A stop condition for `run_until`: the step after the first expect step."""
    seen = []

    def stop(step) -> bool:
        if seen:
            return True
        if step.kind in (EXPECT, MATCH):
            seen.append(step)
        return False

    return stop


def _died_of_reset(instance: ServerProcess) -> CheckFailed:
    instance.stop()
    return CheckFailed(
        f"the server exited ({instance.exit_description()}) after a client vanished with a reset (RST) in the "
        f"middle of a conversation: {SURVIVE_RESET[language_of(instance.spec.argv)]}")


def _died_of_leaving(instance: ServerProcess) -> CheckFailed:
    instance.stop()
    exit_text = instance.exit_description()
    advice = SURVIVE_RESET[language_of(instance.spec.argv)]
    sigpipe = ("; a write to a reset connection raises SIGPIPE, which ends a program that does not ignore it: "
               "signal(SIGPIPE, SIG_IGN) at start, or send(..., MSG_NOSIGNAL)"
               if "SIGPIPE" in exit_text or language_of(instance.spec.argv) == OTHER else "")
    return CheckFailed(
        f"the server exited ({exit_text}) after a client sent its first request and closed its connection without "
        f"reading the reply: writing the reply to that connection fails (EPIPE){sigpipe}. {advice[0].upper()}{advice[1:]}")


@check("concurrency::no_descriptor_leak", protocols=PF, when=tcp_only)
def test_no_descriptor_leak_pf(fresh_server, settings, request):
    instance = fresh_server()
    # (a warm-up too: lazily opened resources are baseline)
    protocol = run_alone_first(request, settings, protocol_of(settings), instance.endpoint)
    wait_closed(instance, settings.reply_timeout)
    before = held_descriptors(instance)
    runs = sequential_runs(protocol)
    budget = Deadline(SEQUENTIAL_BUDGET)
    made = 0
    while made < runs and not budget.expired():
        made += 1
        try:
            run_first(request, settings, protocol, instance.endpoint)
        except CheckFailed as failure:
            raise fails_while(f"run {made} of {runs} of the conversation, one after another", failure,
                         "Each run must leave the server as it found it.") from None
        if made % 20 == 0:
            instance.reap_orphans()
            require_reaped(instance, f"{made} runs of the conversation {protocol.exchange.name!r}")
    limit = before + FD_TOLERANCE
    within = poll_until(lambda: held_descriptors(instance) <= limit, Deadline(settings.reply_timeout))
    after = held_descriptors(instance)
    if not within:
        raise CheckFailed(
            f"the server held {before} open descriptors before {made} runs of the conversation "
            f"{protocol.exchange.name!r} (one connection after another) and {after} after them "
            f"(tolerance +{FD_TOLERANCE}): close each accepted socket when its client leaves (recv() returned b'')")
    require_reaped(instance, f"{made} runs of the conversation {protocol.exchange.name!r}")


@check("concurrency::idle_without_busy_loop", protocols=PF)
def test_idle_without_busy_loop_pf(fresh_server, settings, request):
    instance = fresh_server()
    protocol = run_alone_first(request, settings, protocol_of(settings), instance.endpoint)
    for _ in range(2):
        run_first(request, settings, protocol, instance.endpoint)
    used = busy_while_idle(instance)
    if used:
        raise CheckFailed(
            f"the server used {used} with no client talking to it (after three runs of {protocol.exchange.name!r}; "
            f"limit {IDLE_CPU_LIMIT:g} CPU seconds per {IDLE_WINDOW:g} s): {END_OF_INPUT[language_of(instance.spec.argv)]}"
            ": break out of the loop and close the socket; wait in a blocking accept()/recv()/select()")
