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


def test_tracebacks_that_differ_only_in_their_exceptions_details_are_one():
    """50 threads decoding different bytes: one traceback (0x80 here, 0x94 there), shown once and counted."""
    from harness.evidence.outputview import blocks_of

    def traceback(detail: str) -> str:
        return ('Exception in thread Thread-3 (handle):\nTraceback (most recent call last):\n'
                '  File "s.py", line 8, in handle\n    msg = d.decode("utf-8")\n'
                f"UnicodeDecodeError: 'utf-8' codec can't decode byte {detail}\n")

    blocks = blocks_of(traceback("0x80 in position 131: invalid start byte")
                       + traceback("0xe2 in position 1: invalid continuation byte"))
    assert len(blocks) == 1 and blocks[0].count == 2 and "0x80" in blocks[0].text
    # A different place is a different traceback.
    other = traceback("0x80 in position 1: invalid start byte").replace("line 8", "line 12")
    assert len(blocks_of(traceback("0x80 in position 1: invalid start byte") + other)) == 2


def test_a_storm_of_interleaved_tracebacks_is_one_line_naming_them_with_one_exception_line():
    """A tail cut into 50 threads' tracebacks: no header, no whole frame; only their pieces and carets."""
    storm = ("--- server stderr (its last 300 of 26207 bytes) ---\n^^^^^^^^\n"
             "ConnectionResetError: [Errno 104] Connection reset by peer\n"
             "^ConnectionResetError: [Errno 104] Connection reset by peer\n    data = sock.recv(1024)^\n"
             "[Errno 104] Connection reset by peer\n: [Errno 104] Connection reset by peer\n"
             "ConnectionResetError: [Errno 104] Connection reset by peer\n")
    shown, _ = OutputView().new_part(storm)
    assert shown.count("\n") == 0 and "ConnectionResetError ×" in shown, shown
    assert shown.endswith("one of them: ConnectionResetError: [Errno 104] Connection reset by peer)")
    # Without any trace of a traceback, the same words are the server's own lines, shown as they are.
    own = "ConnectionResetError: [Errno 104] Connection reset by peer (client 3 left, logged)\n"
    assert OutputView().new_part(own)[0] == own.strip()


def test_many_lines_alike_but_for_their_numbers_are_one_line_and_a_count():
    lines = "".join(f"Accept new connection from 127.0.0.1:{50000 + i}...\n" for i in range(42)) + "closed 3\n"
    shown, _ = OutputView().new_part(lines)
    assert shown.splitlines() == ["Accept new connection from 127.0.0.1:50000...", "(and 41 more lines like it)",
                                  "closed 3"]
    few = "got 1 byte\ngot 2 bytes\n"  # two alike are shown as they are
    assert OutputView().new_part(few)[0] == few.strip()


def test_on_a_terminal_long_lines_are_folded_and_every_piece_keeps_the_indent():
    """Blind 18 A7: a server's output line padded to the terminal's width went on, wrapped by the terminal, at
    column 0, where "  ✓ echo::single_message" passed for a harness line."""
    from harness.plugin.terminal_ui import indent

    forged = "x" * 74 + "  ✓ echo::single_message                                 0.00s"
    shown = indent(forged, "      ", width=80).splitlines()
    assert all(line.startswith("      ") and len(line) <= 80 for line in shown), shown
    assert shown[1].startswith("        ✓ echo::"), shown  # indented: not the harness's own "  ✓" line
    assert indent("中" * 50, "  ", width=42).splitlines()[0] == "  " + "中" * 20  # two columns each
    assert indent(forged, "      ") == "      " + forged  # not a terminal: nothing folded


TRIO_GROUP = """\
  + Exception Group Traceback (most recent call last):
  |   File "server.py", line 12, in <module>
  |     trio.run(trio.serve_tcp, handler, int(sys.argv[1]))
  |   File "/venv/lib/python3.11/site-packages/trio/_core/_run.py", line 1117, in __aexit__
  |     raise combined_error_from_nursery
  | BaseExceptionGroup: Exceptions from Trio nursery (1 sub-exception)
  +-+---------------- 1 ----------------
    | Traceback (most recent call last):
    |   File "/venv/lib/python3.11/site-packages/trio/_core/_run.py", line 1672, in raise_cancel
    |     raise KeyboardInterrupt
    | KeyboardInterrupt
    +------------------------------------
"""


def test_an_exception_group_traceback_is_one_block_not_interleaved_tracebacks():
    """Blind 19 F5: trio's one KeyboardInterrupt in a nursery was "2 traceback(s) ... interleaved"."""
    blocks = blocks_of("serving on 5000\n" + TRIO_GROUP)
    assert [b.text.splitlines()[0] for b in blocks] == ["serving on 5000",
                                                       "  + Exception Group Traceback (most recent call last):"]
    assert "interleaved" not in "".join(b.text for b in blocks)


def test_shutdown_traceback_advice_fits_the_traceback():
    """Blind 19 F4/F5: asyncio.run()'s KeyboardInterrupt was told to catch CancelledError in a handler, and
    trio's exception group to catch KeyboardInterrupt (which cannot catch a group)."""
    from harness.server.shutdown_advice import traceback_advice

    assert "except* KeyboardInterrupt" in traceback_advice(TRIO_GROUP.encode())
    run_ended = (b"Traceback (most recent call last):\n  File \"s.py\", line 21, in main\n    await srv.serve_forever()\n"
                 b"asyncio.exceptions.CancelledError\n\nDuring handling of the above exception, another exception "
                 b"occurred:\n\nTraceback (most recent call last):\n  File \"s.py\", line 23, in <module>\n"
                 b"    asyncio.run(main())\nKeyboardInterrupt\n")
    advice = traceback_advice(run_ended)
    assert "try: asyncio.run(main())" in advice and "connection handler" not in advice, advice
    logged = b"Exception in callback _SelectorSocketTransport\nasyncio.exceptions.CancelledError\n"
    assert "catch asyncio.CancelledError in the connection handler" in traceback_advice(logged)
    assert traceback_advice(b"Traceback...\nKeyboardInterrupt\n").startswith("catch KeyboardInterrupt around")
