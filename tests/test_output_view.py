"""The terminal view of server output: once per run, tracebacks once each (pure text, no server)."""

from __future__ import annotations

from harness.evidence.outputview import OutputView, blocks_of

TRACEBACK = """Exception in thread Thread-{n} (handle):
Traceback (most recent call last):
  File "/usr/lib/python3.11/threading.py", line 1045, in _bootstrap_inner
    self.run()
  File "/usr/lib/python3.11/threading.py", line 982, in run
    self._target(*self._args, **self._kwargs)
  File "/tmp/harness-run-ab12/server-3/submission/server.py", line 9, in handle
    conn.sendall(data)
    ^^^^^^^^^^^^^^^^^^
ConnectionResetError: [Errno 104] Connection reset by peer
"""


def test_the_same_traceback_from_many_threads_is_shown_once_with_its_count():
    output = "--- server stderr ---\n" + "".join(TRACEBACK.format(n=n) for n in range(2, 5))
    (block,) = blocks_of(output)
    assert block.count == 3
    assert 'File "server.py", line 9, in handle' in block.text  # the scratch copy's path left out
    assert "threading.py" not in block.text and "^^^" not in block.text  # a thread's start-up frames, carets
    assert block.text.splitlines()[-1].startswith("ConnectionResetError")


def test_output_already_shown_is_referred_to_not_repeated():
    view = OutputView()
    first = view.render(TRACEBACK.format(n=2))
    assert "ConnectionResetError" in first
    assert view.render(TRACEBACK.format(n=2) + TRACEBACK.format(n=7)) == "(the server's output: as shown above)"
    later = view.render(TRACEBACK.format(n=2) + "listening again on 5000\n")
    assert "listening again on 5000" in later and "ConnectionResetError" not in later


def test_interleaved_tracebacks_are_counted_not_printed_as_garbage():
    clean = TRACEBACK.format(n=2)
    garbled = ('Exception in thread Thread-8 (handle)Exception in thread Thread-9 (handle):\n'
               'Traceback (most recent call last):\n  File "/usr/lib/python3.11/threading.py"Traceback (most recent '
               'call last):\n    self.run()    self.run()\nConnectionResetError: [Errno 104] Connection reset by peer\n'
               'ConnectionResetError^^^^^^^       ^^^^^^\n')
    blocks = blocks_of(clean + garbled)
    assert len(blocks) == 1, [b.text for b in blocks]
    assert blocks[0].count >= 2 and blocks[0].interleaved
    shown = OutputView().render(clean + garbled)
    assert "interleaved" in shown and "^^^" not in shown and "self.run()    self.run()" not in shown


def test_plain_output_lines_are_kept_in_order():
    blocks = blocks_of("listening on 5000\nclient connected\nclient connected\nbye\n")
    assert [(b.text, b.count) for b in blocks] == [("listening on 5000", 1), ("client connected", 2), ("bye", 1)]


def test_a_hint_is_shown_once_and_later_failures_point_to_it():
    view = OutputView()
    first = view.once("frame 1 was not answered\nhint: this frame's header 00 00 00 13 means 19 in '!I'")
    assert "hint:" in first
    second = view.once("frame 2 was not answered\nhint: this frame's header 00 00 02 06 means 518 in '!I'")
    assert "hint:" not in second and second.startswith("frame 2 was not answered (see the hint above)")
    other = view.once("zero frame\nhint: an empty payload is still a frame")
    assert "hint: an empty payload" in other


def test_why_a_wait_was_cut_is_said_in_full_once():
    view = OutputView()
    why = " (not the full 2 s: this server already stayed silent for a whole reply timeout earlier in the run)"
    first = view.once(f"only 3 of 5 bytes came back (no more bytes arrived within 0.5 s{why})")
    second = view.once(f"round trip 1: nothing came back (no more bytes arrived within 0.5 s{why})")
    assert why in first and why not in second
    assert second.endswith("within 0.5 s (shortened, as said above))")
    assert OutputView().once("no more bytes arrived within 2 s") == "no more bytes arrived within 2 s"


def test_a_run_draws_one_timeline_and_never_for_shutdown():
    from harness.evidence.outputview import OutputView

    def wire(*kinds: str) -> dict:
        return {"events": [{"kind": kind, "conn": 1} for kind in kinds]}

    view = OutputView()
    silent = wire("connect", "send", "silence", "client-fin")
    assert view.timeline_once(silent, "framing::single_frame") is silent
    assert view.timeline_once(wire("connect", "send", "recv", "silence"), "framing::split_header") is None  # same suite
    assert view.timeline_once(wire("connect", "send", "send", "silence", "client-fin"), "concurrency::x") is None  # same shape
    assert view.timeline_once(wire("connect", "send", "server-rst"), "concurrency::idle_client_does_not_block") is None
    assert view.timeline_once(wire("connect", "server-fin"), "shutdown::sigterm_idle") is None
    assert view.timeline_once(None, "echo::single_message") is None


def test_source_lines_with_another_threads_carets_run_into_them_are_dropped():
    from harness.evidence.outputview import OutputView

    garbled = ("Exception in thread Thread-1 (handle):\nTraceback (most recent call last):\n"
               '  File "s.py", line 3, in handle\n    chunk = conn.recv(n)^^^  ^^    ^        ^^^^^^^^^^^^\n'
               "MemoryError\n")
    shown = OutputView().render(garbled)
    assert "^^^" not in shown and "MemoryError" in shown, shown


def test_exception_names_run_together_with_other_threads_carets_are_counted_not_shown():
    garbled = ("Exception in thread Thread-1 (handle):\nTraceback (most recent call last):\n"
               '  File "s.py", line 3, in handle\n    chunk = conn.recv(n)\nMemoryError\n'
               "MemoryError ^^^^    ^^^     ^^^^MemoryError\n")
    shown = OutputView().render(garbled)
    assert "^^^" not in shown and "MemoryError MemoryError" not in shown, shown
    (block,) = blocks_of(garbled)
    assert block.count == 2 and block.interleaved


def test_a_servers_own_indented_lines_are_shown_not_taken_for_pieces_of_a_traceback():
    output = "  listening on port 5000\n   ✓ loaded config\nserver up\n"
    shown = OutputView().render(output)
    assert "listening on port 5000" in shown and "loaded config" in shown and "server up" in shown, shown
    assert "traceback" not in shown, shown


def test_caret_runs_and_doubled_source_lines_inside_lines_are_interleaved_traceback_pieces():
    """Seen once with 50 threads dying at once: carets ran through an exception name and a source
    line, and two threads' copies of one source line shared a line. All counted, none printed."""
    from harness.evidence.outputview import blocks_of

    traceback = ('Exception in thread Thread-2 (handle):\nTraceback (most recent call last):\n'
                 '  File "server.py", line 13, in recv_exactly\n    chunk = conn.recv(size - len(data))\nMemoryError\n')
    debris = ("MemoryError^^^^^^^^chunk = conn.recv(size - len(data))^^\n^MemoryError^^\n"
              "chunk = conn.recv(size - len(data))    chunk = conn.recv(size - len(data))\n")
    blocks = blocks_of(traceback + debris + "served 3 clients ^_^ so far\n")
    texts = [b.text for b in blocks]
    assert len(texts) == 2 and texts[0].endswith("MemoryError") and blocks[0].count == 2, texts
    assert texts[1] == "served 3 clients ^_^ so far"  # a single caret is the server's own
    # Without tracebacks in the output, a line with carets is the server's own output.
    assert [b.text for b in blocks_of("progress ^^^ 50%\n")] == ["progress ^^^ 50%"]
