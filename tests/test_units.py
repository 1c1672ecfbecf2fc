"""Pure pieces of the harness, tested without a server: byte diffs, the
sock_diag parser, command resolution, settings validation, report rendering,
output capture."""

from __future__ import annotations

import os
import re
import socket
import struct
import sys
import threading

import pytest

from harness.errors import ConfigError
from harness.evidence.bytesdiff import describe_mismatch, first_difference
from harness.results.report import render_bytes
from harness.server.command import resolve
from harness.server.output_capture import OutputCapture
from harness.settings import build_settings
from harness.system import sockdiag


@pytest.mark.parametrize("expected, received, offset", [
    (b"abc", b"abc", None),
    (b"abc", b"abd", 2),
    (b"abc", b"ab", 2),
    (b"ab", b"abc", 2),
    (b"", b"x", 0),
])
def test_first_difference(expected, received, offset):
    assert first_difference(expected, received) == offset


def test_mismatch_shows_window_around_first_difference():
    expected = bytes(range(100))
    received = expected[:70] + b"\xff" + expected[71:]
    text = describe_mismatch(expected, received)
    assert "first difference at byte offset 70" in text
    assert "00000040" in text and " ff " in text  # the row holding offset 70, with the wrong byte


def test_render_bytes_text_or_hex():
    assert render_bytes(b"hello\n") == "hello\n"
    assert render_bytes(b"\x00\x01") == "hex:00 01"
    assert render_bytes(None) is None
    assert "(5000 bytes in all)" in render_bytes(b"a" * 5000)


def _diag_message(port: int, inode: int, state: int = 10) -> bytes:
    sockid = struct.pack("!HH", port, 0) + socket.inet_aton("127.0.0.1") + bytes(12) + bytes(16) + bytes(12)
    body = struct.pack("=BBBB", socket.AF_INET, state, 0, 0) + sockid + struct.pack("=IIIII", 0, 0, 0, 0, inode)
    return struct.pack("=IHHII", 16 + len(body), sockdiag.SOCK_DIAG_BY_FAMILY, 2, 1, 0) + body


def test_sockdiag_parser_reads_port_state_and_inode():
    done = struct.pack("=IHHII", 20, sockdiag.NLMSG_DONE, 2, 1, 0) + bytes(4)
    data = _diag_message(8080, 4242) + _diag_message(9090, 77, state=8) + done
    sockets, finished = sockdiag.parse_messages(data, "tcp")
    assert finished
    assert [(s.local_host, s.local_port, s.state, s.inode) for s in sockets] == [
        ("127.0.0.1", 8080, "LISTEN", 4242), ("127.0.0.1", 9090, "CLOSE_WAIT", 77)]


def test_sockdiag_parser_fed_in_two_datagrams():
    first, finished = sockdiag.parse_messages(_diag_message(1, 1), "udp")
    assert not finished and first[0].state == "BOUND"
    _, finished = sockdiag.parse_messages(struct.pack("=IHHII", 20, sockdiag.NLMSG_DONE, 2, 1, 0) + bytes(4), "udp")
    assert finished


def test_python_server_runs_under_our_interpreter(tmp_path):
    script = tmp_path / "server.py"
    script.write_text("")
    assert resolve(str(script), ["{port}"]) == [sys.executable, "-u", str(script), "{port}"]


def test_bare_executable_name_in_current_directory_gets_a_path(tmp_path, monkeypatch):
    binary = tmp_path / "server"
    binary.write_text("#!/bin/sh\n")
    binary.chmod(0o755)
    monkeypatch.chdir(tmp_path)
    assert resolve("server", []) == ["./server"]


def test_a_script_that_is_not_executable_is_told_its_interpreter(tmp_path):
    script = tmp_path / "server.js"
    script.write_text("require('net')")
    with pytest.raises(ConfigError, match=r"harness run \[OPTIONS\] -- node .*server.js '\{port\}'"):
        resolve(str(script), ["{port}"])
    plain = tmp_path / "server"
    plain.write_text("")
    with pytest.raises(ConfigError, match=r"chmod \+x"):
        resolve(str(plain), [])


def test_a_script_whose_first_line_names_a_missing_interpreter_is_told_which(tmp_path):
    """It would die with exit 127 and "No such file or directory", naming neither the line nor the interpreter
    (blind tester 12); a #! line saved with Windows line endings asks for 'python3\\r'."""
    cases = {"#!/usr/bin/python9\n": "this machine has no '/usr/bin/python9'",
             "#!/usr/bin/env nosuchlang\n": "this machine has no 'nosuchlang'",
             "#!/usr/bin/env python3\r\n": "Windows line endings"}
    for index, (first_line, said) in enumerate(cases.items()):
        script = tmp_path / f"server{index}"
        script.write_bytes(first_line.encode() + b"print(1)\n")
        script.chmod(0o755)
        with pytest.raises(ConfigError, match=re.escape(said)):
            resolve(str(script), [])
    good = tmp_path / "good"
    good.write_text("#!/bin/sh\nexec true\n")
    good.chmod(0o755)
    assert resolve(str(good), ["{port}"]) == [str(good), "{port}"]


def test_a_folder_given_as_the_server_lists_what_could_be_run(tmp_path):
    (tmp_path / "server.py").write_text("")
    (tmp_path / "notes.txt").write_text("")
    with pytest.raises(ConfigError, match=r"is a directory; give the server's file \(there: .*server.py\)$"):
        resolve(str(tmp_path), [])


@pytest.mark.parametrize("values, message", [
    ({"reply-timeout": "-1"}, "must be at least"),
    ({"port": "70000"}, "ports go up to 65535"),
    ({"length-format": "!Q!"}, "invalid --length-format"),
    ({"protocol": "smtp"}, "unknown protocol"),
    ({"reply-timeout": "nan"}, "expected a number of seconds"),
    ({"shutdown-timeout": float("inf")}, "expected a number of seconds"),  # harness.toml: inf
    ({"reply-timeout": "1e9"}, "at most 3,600"),
    ({"clients": "100000"}, "at most 1,000"),
    ({"max-datagram": "70000"}, "at most 65,507"),
    ({"max-datagram": "65528", "host": "::1"}, "at most 65,527"),
])
def test_bad_settings_say_which_option_and_where(values, message):
    with pytest.raises(ConfigError, match=message) as error:
        build_settings(values, "harness.toml")
    assert "harness.toml" in str(error.value)


def test_an_ipv6_run_may_test_the_largest_ipv6_datagram():
    assert build_settings({"max-datagram": "65527", "host": "::1"}).max_datagram == 65527


def test_defaults_follow_the_spec():
    settings = build_settings({})
    assert (settings.protocol, settings.startup_timeout, settings.reply_timeout, settings.shutdown_timeout) == (
        "tcp-echo", 10.0, 2.0, 3.0)
    assert settings.max_datagram == 65507 and settings.max_frame == 16 * 1024 * 1024


def test_output_capture_keeps_the_last_words_its_drain_thread_did_not_read(tmp_path):
    # On a loaded machine the drain thread may not run between the server's
    # exit and close(): close() reads what the pipes still hold itself.
    capture = OutputCapture(tmp_path)
    capture._stop.set()  # the drain thread ends without reading anything
    capture._thread.join(5)
    capture._stop.clear()
    os.write(capture.stderr_fd, b"OSError: [Errno 24] Too many open files\n")
    capture.close_write_ends()
    capture.close(timeout=0)
    assert "Too many open files" in capture.tail_text()
    assert (tmp_path / "server.stderr").read_bytes().endswith(b"Too many open files\n")


def test_output_tail_says_it_was_cut_and_starts_at_a_line(tmp_path):
    capture = OutputCapture(tmp_path)
    lines = b"".join(b"connection %04d served\n" % i for i in range(500))
    os.write(capture.stdout_fd, lines)
    capture.close_write_ends()
    capture.close()
    text = capture.tail_text(limit=200)
    header, first, *_ = text.splitlines()
    assert header.startswith("--- server stdout (its last ") and header.endswith(f" of {len(lines)} bytes) ---")
    assert first.startswith("connection ") and first.endswith(" served")  # a whole line, not a piece of one
    assert text.splitlines()[-1] == "connection 0499 served"
    short = OutputCapture(tmp_path / "short")
    os.write(short.stdout_fd, b"ready\n")
    short.close_write_ends()
    short.close()
    assert short.tail_text() == "--- server stdout ---\nready"


def test_the_server_language_is_read_from_its_command():
    from harness.server.serverkind import NODE, OTHER, PYTHON, language_of

    assert language_of(["/usr/bin/python3.11", "-u", "server.py", "{port}"]) == PYTHON
    assert language_of(["/usr/bin/node", "server.js"]) == NODE
    assert language_of(["./server.py"]) == PYTHON
    assert language_of(["socat", "TCP-LISTEN:{port},fork", "EXEC:cat"]) == OTHER


def test_port_taken_advice_blames_hard_coding_only_without_port_in_the_command():
    from harness.server.startup_advice import startup_advice

    output = "OSError: [Errno 98] Address already in use"
    assert "hard-coding" in startup_advice(output, port_given=False)
    given = startup_advice(output, port_given=True)
    assert "hard-coding" not in given and "already taken" in given


def test_udp_retries_fit_inside_the_reply_timeout():
    from harness.clients.udp import retry_offsets

    assert retry_offsets(2.0, 3) == ([0.0, 0.2, 0.6], 2.0)
    for timeout in (0.3, 1.0, 2.0, 10.0):
        offsets, total = retry_offsets(timeout, 3)
        assert len(offsets) == 3 and offsets == sorted(offsets) and offsets[-1] < timeout == total
    assert retry_offsets(2.0, 1) == ([0.0], 2.0)
    # A server seen answering in 0.8 s gets each try 1.2 s apart, and the last one 1.2 s to be answered.
    offsets, total = retry_offsets(2.0, 3, slowest=0.8)
    assert [round(o, 6) for o in offsets] == [0.0, 1.2, 2.4] and round(total, 6) == 3.6


def test_a_slow_serial_udp_server_is_not_buried_under_copies_of_retried_datagrams(monkeypatch):
    """Each answer takes 0.4 s, one after another (a recvfrom loop with a slow backend), within a
    1 s reply timeout: every extra try would cost 0.4 s more of the server's time, and the queue of
    copies would delay each later reply past its timeout. Every exchange gets its own reply."""
    import threading
    import time as clock

    from harness.clients.patience import PATIENCE
    from harness.clients.udp import UdpClient
    from harness.server.launcher import Endpoint

    monkeypatch.setattr(PATIENCE, "slowest", 0.0)
    server = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    server.bind(("127.0.0.1", 0))
    server.settimeout(0.5)
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                data, address = server.recvfrom(100)
            except OSError:
                continue
            clock.sleep(0.4)
            server.sendto(data, address)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    endpoint = Endpoint("127.0.0.1", server.getsockname()[1], socket.AF_INET, "assigned", "UDP")
    try:
        with UdpClient(endpoint, reply_timeout=1.0) as client:
            for index in range(5):
                assert client.exchange(b"datagram %d" % index) == b"datagram %d" % index
    finally:
        stop.set()
        thread.join(5)
        server.close()


def test_a_late_copy_of_a_retried_reply_is_not_taken_for_the_next_reply():
    """A slow server answers both sends of a retried datagram: the second answer
    must not be read as the reply to the next datagram."""
    import threading
    import time as clock

    from harness.clients.udp import UdpClient
    from harness.server.launcher import Endpoint

    server = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    server.bind(("127.0.0.1", 0))
    server.settimeout(5)

    def serve() -> None:
        for _ in range(3):  # "one" twice (a retry), then "two"
            data, address = server.recvfrom(100)
            clock.sleep(0.3)
            server.sendto(data, address)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    endpoint = Endpoint("127.0.0.1", server.getsockname()[1], socket.AF_INET, "assigned", "UDP")
    with UdpClient(endpoint, reply_timeout=3.0) as client:
        assert client.exchange(b"one") == b"one"
        assert client.exchange(b"two") == b"two"
    thread.join(5)
    server.close()


def test_a_silence_is_waited_for_in_full_once():
    from harness.clients.patience import PatienceMemory

    memory = PatienceMemory()
    assert memory.wait(2.0) == 2.0
    memory.heard(0.01)
    memory.silence(1.0, 2.0)  # a shorter wait that ended quietly is not a whole-timeout silence
    assert memory.wait(2.0) == 2.0
    memory.silence(2.0, 2.0)
    assert memory.wait(2.0) == 0.5 and memory.why_short(0.5, 2.0)
    memory.heard(0.3)  # a slow reply seen: later cuts keep 4 times its margin
    assert memory.wait(2.0) == 1.2
    assert memory.wait(0.4) == 0.4  # never more than the check allows


def test_a_server_answering_only_at_eof_is_learnt_only_after_a_whole_timeout_silence():
    from harness.clients.patience import PatienceMemory

    memory = PatienceMemory()
    memory.answered_at_eof()  # a correct (or merely slow) server was never silent for a whole timeout
    assert not memory.eof_only
    memory.silence(1.0, 2.0)
    memory.answered_at_eof()
    assert not memory.eof_only
    memory.silence(2.0, 2.0)
    memory.answered_at_eof()
    assert memory.eof_only


def test_a_server_known_to_answer_only_at_eof_is_waited_for_briefly_but_with_the_margin_of_its_replies():
    from harness.clients.patience import EOF_ONLY_WAIT, FLOOR, PatienceMemory

    memory = PatienceMemory()
    memory.silence(2.0, 2.0)
    assert memory.wait(2.0) == FLOOR
    memory.answered_at_eof()
    assert memory.wait(2.0) == EOF_ONLY_WAIT < FLOOR
    assert "half-closed" in memory.why_short(EOF_ONLY_WAIT, 2.0)
    memory.heard(0.1)  # a reply that took 0.1 s: four times it is kept
    assert memory.wait(2.0) == 0.4


def test_a_client_wanting_some_answer_waits_in_full_until_a_whole_timeout_silence():
    from harness.clients.patience import SOME_ANSWER_AFTER_SILENCE, PatienceMemory

    memory = PatienceMemory()
    assert memory.some_answer_wait(2.0) == 2.0  # a correct server: never cut
    memory.silence(1.9, 2.0)
    assert memory.some_answer_wait(2.0) == 2.0
    memory.silence(2.0, 2.0)
    assert memory.some_answer_wait(2.0) == SOME_ANSWER_AFTER_SILENCE
    memory.heard(0.2)  # a slow reply seen: four times its margin
    assert memory.some_answer_wait(2.0) == 0.8


def test_the_dying_wait_is_skipped_only_after_a_silence_from_the_server():
    from harness.evidence import wirelog
    from harness.plugin.verdicts import ended_in_silence

    def log_of(*kinds: str) -> wirelog.WireLog:
        log = wirelog.WireLog()
        for kind in kinds:
            log.add((0.0, 1, kind, 0, b"", None))
        return log

    assert ended_in_silence(log_of(wirelog.SEND, wirelog.SILENCE))
    assert ended_in_silence(log_of(wirelog.SEND, wirelog.SILENCE, wirelog.CLIENT_FIN))  # the client's own close
    assert not ended_in_silence(log_of(wirelog.SEND, wirelog.SILENCE, wirelog.SERVER_RST))  # it may be dying now
    assert not ended_in_silence(log_of(wirelog.SEND, wirelog.RECV, wirelog.CLIENT_FIN))
    assert not ended_in_silence(log_of()) and not ended_in_silence(None)


def test_an_exit_by_a_limit_leads_the_failure_and_an_exit_of_its_own_follows_it():
    from harness.plugin.verdicts import with_exit

    limit = "it probably hit the memory limit (--memory-limit 250 MiB)"
    assert with_exit("nothing came back", 1, "exit code 1", limit).startswith(
        f"the server stopped with exit code 1: {limit} during this check;")
    assert with_exit("nothing came back", 1, "exit code 1") == (
        "nothing came back — the server exited during this check (exit code 1)")
    assert with_exit("nothing came back", -11, "killed by SIGSEGV").startswith("the server was killed by SIGSEGV")
    assert with_exit("only 20 of 50 clients could connect", 0, "exit code 0").startswith(
        "the server exited by itself (exit code 0, no error) during this check; what the client saw: "
        "only 20 of 50 clients could connect\nhint: a server serves client after client")


def test_the_eof_probe_is_given_up_once_a_half_close_brought_nothing():
    from harness.clients.patience import PatienceMemory

    memory = PatienceMemory()
    assert memory.may_probe_eof()
    memory.eof_probe_failed()
    assert not memory.may_probe_eof()


def test_paced_count_gives_everything_to_a_fast_loop_and_at_least_the_minimum_to_a_slow_one():
    import time

    from harness.deadline import paced_count

    assert list(paced_count(200, 50, 60.0)) == list(range(200))
    assert list(paced_count(200, 5, 0.0)) == list(range(5))  # budget gone at once: the minimum only
    given = []
    for index in paced_count(200, 3, 0.05):
        given.append(index)
        time.sleep(0.02)
    assert 3 <= len(given) < 200


def test_an_echo_that_comes_only_at_eof_is_named_and_a_waiting_for_newline_server_is_told_apart():
    from harness.evidence.bytesdiff import echo_only_at_eof

    at_eof = echo_only_at_eof(b"hello\n", b"", b"hello\n", "")
    assert at_eof.message.startswith("nothing came back for 6 bytes sent until the client shut down")
    assert "only at end of input" in at_eof.message and "newline" not in at_eof.message
    newline = echo_only_at_eof(b"no newline", b"", b"no newline", "first chunk", answered_before=True)
    assert newline.message.startswith("first chunk: ") and "waits for a newline" in newline.message
    # a message that ends with a newline was not held back for the want of one
    assert "waits for a newline" not in echo_only_at_eof(b"x\n", b"", b"x\n", "", answered_before=True).message
    partial = echo_only_at_eof(b"0123456789", b"0123", b"456789", "")
    assert "only 4 of 10 bytes came back" in partial.message and "the rest of the echo" in partial.message


def test_a_stop_the_harness_sent_is_never_blamed_on_a_limit():
    import signal

    from harness.system.limits import Limits, explain

    limits = Limits()
    tail = "MemoryError"  # printed earlier by one of its threads
    assert explain(-signal.SIGINT, tail, limits) is None
    assert explain(-signal.SIGTERM, tail, limits) is None
    assert "memory" in (explain(1, tail, limits) or "")


def test_a_thread_limit_names_only_the_limits_that_are_set():
    from harness.system.limits import Limits, explain

    tail = "RuntimeError: can't start new thread"
    both = explain(1, tail, Limits())
    assert "--memory-limit 2048 MiB) or the process limit (--process-limit 256) was reached" in (both or "")
    unlimited = explain(1, tail, Limits(processes=None)) or ""  # --process-limit 0 said "None"
    assert "None" not in unlimited and "process limit" not in unlimited and "--memory-limit 2048" in unlimited


def test_a_close_is_waited_for_in_full_until_the_server_once_kept_a_connection_open_that_long():
    from harness.clients.patience import FLOOR, PatienceMemory

    memory = PatienceMemory()
    memory.kept_open(1.0, 2.0)  # a shorter wait that ended without a close proves nothing
    assert memory.close_wait(2.0) == 2.0
    memory.kept_open(2.0, 2.0)
    assert memory.close_wait(2.0) == FLOOR and memory.why_close_short(FLOOR, 2.0)
    assert memory.wait(2.0) == 2.0  # a reply wait is not cut by it


def test_end_of_input_advice_is_in_the_servers_own_terms():
    from harness.server.serverkind import END_OF_INPUT, language_of

    assert "recv() returns b''" in END_OF_INPUT[language_of(["python3", "server.py"])]
    assert "'end'" in END_OF_INPUT[language_of(["node", "server.js"])]
    c_server = END_OF_INPUT[language_of(["./server", "8080"])]
    assert "returns 0" in c_server and "b''" not in c_server


def test_the_quiet_after_a_greeting_and_the_look_after_a_mismatch_are_not_silences(monkeypatch):
    """Reading an unframed greeting ends with a short quiet (nothing more came), and a mismatch reads
    a moment more to show; neither was a wait for a reply, so neither may cut later waits. (They did:
    a slow but correct server then failed its first crowd check after a quarter of its reply timeout.)"""
    from harness.clients.connection import TcpConnection
    from harness.clients.patience import PATIENCE
    from harness.clients.reply_reader import ReplyReader
    from harness.deadline import Deadline
    from harness.errors import CheckFailed
    from harness.server.launcher import Endpoint

    monkeypatch.setattr(PATIENCE, "silent_once", False)
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    endpoint = Endpoint("127.0.0.1", listener.getsockname()[1], socket.AF_INET, "assigned", "TCP")
    with TcpConnection(endpoint, Deadline(2)) as conn:
        served, _ = listener.accept()
        served.sendall(b"Welcome")
        reader = ReplyReader(conn)
        assert reader.read_until(lambda got: len(got) >= 7, 2.0, settle=0.0) == b"Welcome"
        assert reader.read_until(lambda got: True, 2.0, settle=0.05) == b""  # only the quiet
        served.sendall(b"Hello, Bob")
        with pytest.raises(CheckFailed):
            reader.expect(b"Hello, Alice!", 2.0, "the reply")
        assert not PATIENCE.silent_once
        served.close()
    listener.close()


def test_the_harness_may_hold_as_many_connections_as_its_crowd_needs():
    """A protocol file's 3-client conversation run by 1000 clients is 3000 connections, held by the harness
    itself: under a soft limit of 1024 its own EMFILE would be blamed on the server. The soft limit is
    raised for the harness (up to the hard limit) when the run starts."""
    script = ("import resource; from harness.system.limits import allow_own_descriptors; "
              "hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]; "
              "resource.setrlimit(resource.RLIMIT_NOFILE, (1024, hard)); allow_own_descriptors(3256); "
              "soft = resource.getrlimit(resource.RLIMIT_NOFILE)[0]; "
              "print(soft == (3256 if hard == resource.RLIM_INFINITY else min(3256, hard)))")
    import subprocess

    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert done.stdout.strip() == "True", done.stdout + done.stderr


def test_an_exit_by_itself_is_told_to_keep_accepting_once():
    from harness.plugin.verdicts import with_exit

    told = with_exit("second client: nothing came back", 0, "exit code 0")
    assert told.startswith("the server exited by itself") and "hint: a server serves client after client" in told
    assert "hint:" not in with_exit("second client: nothing came back", 1, "exit code 1")  # an error explains it


def test_a_process_launched_through_the_python_shim_is_shown_as_typed():
    from harness.system.probe import shown_command
    from harness.system.python_path import SHIM, standard_library_first

    launched = standard_library_first([sys.executable, "-u", "/tmp/x/server.py", "1234"])
    assert launched[2:5] == ["-P", "-c", SHIM]
    assert shown_command(" ".join(launched)) == f"{sys.executable} -u /tmp/x/server.py 1234"
    assert standard_library_first(["node", "server.js"]) == ["node", "server.js"]  # only .py under this Python


def test_an_argument_too_long_for_a_file_name_is_passed_as_it_is(tmp_path):
    """A 300-character argument (no slash) beside a server file: looking for it in the copy raised
    ENAMETOOLONG, and every check errored with "network error talking to the server"."""
    from harness.system.scratch import rewrite_argv

    (tmp_path / "server.py").write_text("")
    copy = tmp_path / "copy"
    copy.mkdir()
    (copy / "server.py").write_text("")
    long = "x" * 300
    assert rewrite_argv(["python3", "server.py", long], tmp_path, tmp_path, copy) == \
        ["python3", str(copy / "server.py"), long]


def test_an_executable_fifo_as_the_server_is_not_read(tmp_path):
    """Reading the `#!` line of a FIFO blocked the harness before any server or watchdog ran (blind 14)."""
    fifo = tmp_path / "server"
    os.mkfifo(fifo)
    fifo.chmod(0o755)
    done = threading.Event()
    thread = threading.Thread(target=lambda: (resolve(str(fifo), ["{port}"]), done.set()), daemon=True)
    thread.start()
    thread.join(5)
    if not done.is_set():  # unblock the stuck open() before failing, so the test process can end
        open(fifo, "wb").close()
    assert done.is_set(), "resolve() blocked on the FIFO"


def test_the_reuseaddr_advice_is_in_the_servers_own_terms():
    from harness.server.serverkind import NODE, OTHER, PYTHON
    from harness.server.startup_advice import startup_advice

    tail = "OSError: [Errno 98] Address already in use"
    assert "sock.setsockopt(socket.SOL_SOCKET" in startup_advice(tail, language=PYTHON)
    c_advice = startup_advice("bind: Address already in use", language=OTHER)
    assert "setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one)" in c_advice and "socket." not in c_advice
    assert "net.Server sets SO_REUSEADDR itself" in startup_advice("Error: listen EADDRINUSE", language=NODE)


def test_the_byte_order_hint_names_c_and_node_too():
    """Blind 17 F6: a C or Node server was told only about Python's struct formats."""
    from harness.evidence.hints import byte_order_hint

    assert "(in C: htonl()/ntohl(); in Node: readUInt32BE()/writeUInt32BE())" in byte_order_hint("!I", 5)
    assert "in Node: readUInt16LE()/writeUInt16LE()" in byte_order_hint("<H", 5)
    assert "in C:" not in byte_order_hint("!Q", 5)  # no such call for 8 bytes


def test_grading_from_a_folder_every_sandboxed_server_sees_is_noted(capsys, tmp_path):
    """Blind 18 A9: the sandbox shows /opt (read-only); a course kept there is readable by every server."""
    from pathlib import Path

    from harness.cli.grade_plan import warn_if_shown

    warn_if_shown(("the submissions", Path("/opt/course/subs")), ("--out", tmp_path))
    noted = capsys.readouterr().err
    assert "note: the submissions (/opt/course/subs) lies under /opt, which every sandboxed server sees" in noted
    assert "--out" not in noted
    # Blind 22 A5: a course folder that is the harness's own virtualenv is shown to every server too.
    from harness.system.bwrap import interpreter_folders

    if interpreter_folders():
        warn_if_shown(("the assignment", Path(interpreter_folders()[0]) / "harness.toml"))
        assert "note: the assignment" in capsys.readouterr().err


def test_newlines_echoed_as_crlf_are_named():
    """Blind 17 F11: Tcl's default translation turned \\n into \\r\\n; the failure showed only the bytes."""
    from harness.evidence.bytesdiff import classic_mistake

    assert "every \\n came back as \\r\\n" in classic_mistake(b"hello, harness\n", b"hello, harness\r\n")
    assert "every \\n came back" not in classic_mistake(b"hello\n", b"hello\n\n")  # a line ending added
    assert "every \\n came back" not in classic_mistake(b"a\r\nb\n", b"a\r\nb\r\n")  # (it sent CR LF itself)


def test_utf8_text_beyond_ascii_is_shown_as_text_too():
    """Blind 20 F10: a protocol's 你好 was shown only as \\xe4\\xbd\\xa0..., to students of Chinese tutorials."""
    from harness.evidence.bytesdiff import readable

    assert readable("VALUE 你好\n".encode()) == "b'VALUE \\xe4\\xbd\\xa0\\xe5\\xa5\\xbd\\n' ('VALUE 你好\\n' in UTF-8)"
    assert readable(b"plain ascii\n") == "b'plain ascii\\n'"
    assert readable(b"\xff\xfe") == "b'\\xff\\xfe'"  # not UTF-8: bytes only
    assert "\\u202e" in readable("\u202eabc".encode())  # a format character stays escaped
