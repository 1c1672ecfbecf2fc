"""The wire log (harness/evidence/wirelog.py), its terminal timeline, its sequence
diagram and the HTML report — down to what a person sees of the report in a
real browser (headless Chromium; skipped with a reason where it is missing)."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import browser
import pytest
from conftest import ROOT, TEST_REPLY_TIMEOUT, reference, server

from harness.assignment import Assignment
from harness.evidence import sequence_diagram, timeline, wirelog
from harness.results import html_report
from harness.results.gradescope import gradescope_results
from harness.results.grading import grade
from harness.results.report import CheckResult, Report, ServerInfo

#: Screenshots of the rendered report, kept for a person to look at (ignored by git).
SCREENSHOTS = Path(os.environ.get("HARNESS_SCREENSHOTS", ROOT / "tests" / "screenshots"))


def echo_log(replies: list[bytes], end: str | None = wirelog.SILENCE) -> wirelog.WireLog:
    log = wirelog.WireLog()
    wire = log.connection("tcp")
    wire.connected(40000)
    wire.sent(b"hello world, once more", "1/1")
    for chunk in replies:
        wire.got(chunk)
    if end == wirelog.SILENCE:
        wire.silence()
    elif end:
        wire.event(end)
    return log


# -- recording -------------------------------------------------------------------------------
def test_outside_a_check_nothing_is_recorded():
    assert wirelog.stop() is None or True  # whatever ran before, no log is current now
    assert wirelog.connection("tcp") is wirelog.NO_WIRE
    wirelog.NO_WIRE.sent(b"x")  # a no-op, not an error


def test_log_keeps_the_first_and_last_events_and_few_bytes_of_each():
    log = wirelog.WireLog()
    wire = log.connection("tcp")
    for index in range(20_000):
        wire.sent(bytes(100) if index % 2 else b"x" * 3)
    assert len(log.head) == wirelog.HEAD_EVENTS and len(log.tail) == wirelog.TAIL_EVENTS
    assert log.total == 20_000
    assert all(len(event[4]) <= wirelog.HEAD_BYTES for event in [*log.head, *log.tail])
    data = wirelog.snapshot(log)
    sends = [e for e in data["events"] if e["kind"] == wirelog.SEND]
    assert len(sends) == wirelog.MAX_REPORTED
    gaps = [e for e in data["events"] if e["kind"] == wirelog.GAP]
    assert len(gaps) == 1 and gaps[0]["count"] == 20_000 - wirelog.MAX_REPORTED
    assert data["events_not_kept"] == 20_000 - wirelog.HEAD_EVENTS - wirelog.TAIL_EVENTS
    assert len(json.dumps(data)) < 60_000


def test_report_keeps_the_connections_that_matter():
    log = wirelog.WireLog()
    wires = [log.connection("tcp", f"client {n}") for n in range(50)]
    for wire in wires:
        wire.connected(1000 + wire.id)
        wire.sent(f"<client {wire.id:02d} message 0>".encode())
    wires[3].got(b"<client 40 message 0>")
    wires[3].misdelivered(wires[40])
    data = wirelog.snapshot(log, b"<client 03 message 0>", b"<client 40 message 0>")
    lanes = [c["label"] for c in data["connections"]]
    assert len(lanes) == wirelog.MAX_LANES and {"client 3", "client 40"} <= set(lanes)
    assert data["connections_not_shown"] == 50 - wirelog.MAX_LANES
    received = next(e for e in data["events"] if e["kind"] == wirelog.RECV)
    assert received["from"] == wires[40].id
    verdict = data["verdict"]
    assert data["events"][verdict["event"]] is received
    assert (verdict["reply_offset"], verdict["chunk_offset"]) == (8, 8)
    assert (verdict["expected"], verdict["received"]) == (ord("0"), ord("4"))


# -- the verdict point --------------------------------------------------------------------------
def test_verdict_is_the_chunk_holding_the_first_differing_byte():
    log = echo_log([b"hello", b" wxrld, once more"])
    data = wirelog.snapshot(log, b"hello world, once more", b"hello wxrld, once more")
    event = data["events"][data["verdict"]["event"]]
    assert (event["kind"], event["size"]) == (wirelog.RECV, 17)
    assert data["verdict"]["chunk_offset"] == 2 and data["verdict"]["reply_offset"] == 7


def test_verdict_of_a_reply_cut_short_is_where_the_wait_ended():
    for end in (wirelog.SILENCE, wirelog.SERVER_FIN, wirelog.SERVER_RST):
        log = echo_log([b"hello"], end)
        data = wirelog.snapshot(log, b"hello world, once more", b"hello")
        assert data["events"][data["verdict"]["event"]]["kind"] == end
        assert data["verdict"]["received"] is None and data["verdict"]["reply_offset"] == 5


def test_verdict_counts_from_the_end_of_the_received_stream():
    """A check's `received` is the latest reply: earlier round trips on the same connection come first."""
    log = echo_log([b"hello world, once more", b"second", b" rxply"])
    data = wirelog.snapshot(log, b"second reply", b"second rxply")
    event = data["events"][data["verdict"]["event"]]
    assert event["offset"] == 28 and data["verdict"]["chunk_offset"] == 2


# -- the terminal timeline -------------------------------------------------------------------------
def test_timeline_tells_the_exchange_in_a_few_lines():
    log = wirelog.WireLog()
    wire = log.connection("tcp")
    wire.connected(40000)
    for segment, data in enumerate((b"\x00", b"\x00\x00\x05", b"hello"), 1):
        wire.sent(data, f"{segment}/3")
    wire.silence()
    text = timeline.render(wirelog.snapshot(log, b"\x00\x00\x00\x05hello", b""))
    lines = text.splitlines()
    assert len(lines) <= timeline.LINES + 3
    assert "→ 1 B, 3 B, 5 B (3 writes, 9 B in" in text
    assert re.search(r"← nothing for [\d.]+ ms  ✗ reply byte 0 never came", text)


def test_timeline_shows_server_bytes_only_escaped():
    log = echo_log([b"\x1b[31mred\x1b[0m\n"], None)
    text = timeline.render(wirelog.snapshot(log, b"hello world, once more", b"\x1b[31mred\x1b[0m\n"))
    assert "\x1b" not in text and "1b 5b 33 31" in text


# -- the sequence diagram and the page -----------------------------------------------------------------
def hostile_result(wire: dict) -> CheckResult:
    return CheckResult(id="echo::single_message", suite="echo", outcome="failed", duration_s=1.0,
                       message="the echo differs <b>here</b>", expected="hello", received="<script>alert(1)</script>",
                       server_output="<script>alert('pwned')</script>\x1b[2J\x00 & </pre>", wire=wire)


def test_diagram_has_one_shape_per_event_and_escapes_everything():
    wire = wirelog.snapshot(echo_log([b"<script>x"]), b"hello world, once more", b"<script>x")
    svg = sequence_diagram.render(wire, server_label="<img src=x>", standalone=True)
    shapes = re.findall(r'<g class="event" data-index="(\d+)" data-kind="([\w-]+)"', svg)
    assert [(int(i), k) for i, k in shapes] == [(i, e["kind"]) for i, e in enumerate(wire["events"])]
    assert "<script" not in svg and "<img" not in svg and "&lt;img src=x&gt;" in svg
    assert 'class="verdict"' in svg


def test_html_report_is_self_contained_and_escapes_the_server():
    wire = wirelog.snapshot(echo_log([b"hel"]), b"hello world, once more", b"hel")
    report = Report(protocol="tcp-echo", server=ServerInfo(command=["srv.py", "<b>"], port=4242),
                    checks=[hostile_result(wire)])
    page = html_report.render(report)
    assert "<script" not in page and "<b>here" not in page and "\x1b" not in page and "\x00" not in page
    assert "&lt;script&gt;alert(&#x27;pwned&#x27;)&lt;/script&gt;" in page
    assert not re.search(r"(src|href)=\"(?!#|data:)", page), "the page must fetch nothing"
    assert "@import" not in page and "url(" not in page
    assert page.count('<svg class="sequence wide"') == 1 and page.count('<svg class="sequence narrow"') == 1


def test_html_report_shows_a_repeated_server_output_once():
    wire = wirelog.snapshot(echo_log([b"hel"]), b"hello world, once more", b"hel")
    first, second = hostile_result(wire), hostile_result(wire)
    second.id = "echo::binary_bytes"
    page = html_report.render(Report(protocol="tcp-echo", server=ServerInfo(command=["srv.py"]), checks=[first, second]))
    assert page.count("alert(&#x27;pwned&#x27;)") == 1
    assert 'the same as under <a href="#check-echo--single-message">' in page


def test_gradescope_embeds_the_diagram_of_a_failure():
    wire = wirelog.snapshot(echo_log([b"hel"]), b"hello world, once more", b"hel")
    report = Report(protocol="tcp-echo", server=ServerInfo(command=["srv.py"], port=4242),
                    checks=[hostile_result(wire)])
    assignment = Assignment()
    results = gradescope_results(report, grade(report, assignment, ["echo"], only_results=True), assignment)
    test = next(t for t in results["tests"] if t["name"] == "echo::single_message")
    assert test["output_format"] == "html" and 'src="data:image/svg+xml;base64,' in test["output"]
    assert "<script" not in test["output"]


# -- whole runs ----------------------------------------------------------------------------------------
def test_passing_run_reports_do_not_grow(harness):
    run = harness("--suite", "echo", "--suite", "framing", "--reply-timeout", TEST_REPLY_TIMEOUT,
                  reference("tcp_echo.py"), "{port}")
    assert run.returncode == 0, run.stdout
    assert all("wire" not in check for check in run.report["checks"])
    assert "on the wire" not in run.stdout


def test_failing_check_shows_its_exchange(harness, tmp_path):
    page = tmp_path / "report.html"
    run = harness("--protocol", "tcp-framed", "--check", "framing::split_header", "--check", "framing::single_frame",
                  "--reply-timeout", TEST_REPLY_TIMEOUT, "--html", str(page), server("framed_recv_once.py"), "{port}")
    assert run.returncode == 1
    check = run.check("framing::split_header")
    wire = check["wire"]
    sends = [e for e in wire["events"] if e["kind"] == wirelog.SEND]
    assert [e["size"] for e in sends[:2]] == [1, 8] and sends[0]["segment"] == "1/6"
    assert any(e["kind"] == wirelog.NOTE and "header split 1+3" in e["text"] for e in wire["events"])
    ending = wire["events"][wire["verdict"]["event"]]
    # Usually nothing comes back (the 1-byte header kills the thread); a loaded machine may deliver
    # the first split whole, and then it is the next frame that is never answered.
    assert ending["kind"] in wirelog.ENDINGS and wire["verdict"]["received"] is None
    assert "on the wire" in run.stdout and re.search(r"→ (\d+ B, )*1 B", run.stdout)
    assert re.search(r"✗ reply byte \d+ never came", run.stdout)
    assert "wire" not in run.check("framing::single_frame")
    assert page.exists()


# -- what a person sees --------------------------------------------------------------------------------
@pytest.mark.skipif(browser.chromium() is None, reason="no Chromium on PATH (Debian: apt-get install chromium)")
def test_html_report_of_a_buggy_run_reads_in_a_browser(harness, tmp_path):
    page = tmp_path / "report.html"
    run = harness("--check", "concurrency::idle_client_does_not_block", "--check", "echo::single_message",
                  "--reply-timeout", TEST_REPLY_TIMEOUT, "--html", str(page), server("conc_iterative.py"), "{port}")
    assert run.returncode == 1, run.stdout
    wire = run.check("concurrency::idle_client_does_not_block")["wire"]
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    for name, width in (("phone", 390), ("desktop", 1280)):
        seen = browser.measure(page, width)
        assert seen["scripts"] == 1, "the report must carry no script of its own (1 = the measuring one)"
        assert seen["scrollWidth"] <= seen["innerWidth"], f"{name}: the page is wider than the window"
        assert not seen["overflowing"], f"{name}: elements overflow the page: {seen['overflowing']}"
        (diagram,) = seen["diagrams"]  # the one drawing CSS shows at this width
        assert diagram["layout"] == ("sequence narrow" if width < 640 else "sequence wide")
        assert diagram["check"] == "check-concurrency--idle-client-does-not-block"
        assert diagram["box"]["width"] > 300 and diagram["box"]["height"] > 100
        # One shape per wire-log event, in the log's order, each with the log's kind, connection, size, time.
        drawn = diagram["events"]
        assert [(d["index"], d["kind"], d["conn"], d["size"], d["t"]) for d in drawn] == [
            (i, e["kind"], e.get("conn"), e.get("size"), e["t"]) for i, e in enumerate(wire["events"])]
        tops = [d["box"]["top"] for d in drawn]
        assert tops == sorted(tops), "time must run down the page"
        arrows = {d["kind"]: d["arrows"] for d in drawn}
        assert arrows[wirelog.SEND] == 1 and arrows[wirelog.RECV] == 1
        # The second client's silence is the verdict, marked on its row.
        (band,) = diagram["verdict"]
        silence = next(d for d in drawn if d["kind"] == wirelog.SILENCE)
        assert band["top"] <= silence["box"]["bottom"] <= band["bottom"]  # its box spans the wait; it ends in the band
        shot = browser.screenshot(page, SCREENSHOTS / f"report-{name}.png", width)
        assert shot.stat().st_size > 10_000
        print(f"screenshot for a person to look at: {shot}")


def test_a_protocol_file_conversation_logs_what_the_server_sent(harness):
    """The bytes a conversation received are in its wire log, as in the built-in suites (they were missing)."""
    kv = ROOT / "examples" / "protocols" / "kv"
    run = harness("--protocol", str(kv / "kv.toml"), "--check", "conversation::*", "--reply-timeout", TEST_REPLY_TIMEOUT,
                  server("kv_wrong_help.py"), "{port}")
    failed = [check for check in run.report["checks"] if check["outcome"] == "failed" and "wire" in check]
    assert failed, run.stdout
    for check in failed:
        assert any(event["kind"] == wirelog.RECV for event in check["wire"]["events"]), check["id"]
