"""The framing suite's explanations are pure functions of what was sent, how
it was cut and what came back: tested here without a server."""

from __future__ import annotations

from harness.clients.segmentation import coalesced, header_split, one_byte_per_segment
from harness.evidence.framing_failures import frames_failure, probe_length, stream_failure
from harness.protocols.framing import FrameCodec

CODEC = FrameCodec()
PAYLOADS = [b"hello", b"world!"]
STREAM = b"".join(CODEC.encode(p) for p in PAYLOADS)
SIZES = [4 + 5, 4 + 6]


def test_a_short_frame_names_the_frame_its_pieces_and_what_came_back():
    received = CODEC.encode(b"hello") + CODEC.encode(b"wor")  # the second frame answered short
    failure = frames_failure(CODEC, PAYLOADS, header_split(SIZES, 4, 2), received, "")
    lines = failure.message.splitlines()
    assert lines[0] == ("frame 2 of 2 (6-byte payload b'world!') came back wrong: first difference at reply "
                        "byte 12, its header byte 3: expected 0x06, received 0x03")
    assert lines[1] == ("sent as 4 segments of 2, 7, 2, 8 bytes (header split 2+2), 2 ms apart; "
                        "this frame in 2 pieces of 2, 8 bytes")
    assert lines[2] == "came back: 2 complete frames (5, 3 bytes)"
    assert "first difference at byte offset 12" in failure.detail


def test_missing_replies_say_where_they_stopped_and_why():
    failure = frames_failure(CODEC, PAYLOADS, coalesced(SIZES), CODEC.encode(b"hello"), "the server closed the connection")
    assert failure.message.splitlines()[0] == (
        "frame 2 of 2 (6-byte payload b'world!') was not answered in full: the replies stopped after 9 of 19 "
        "bytes, at its header byte 0 (the server closed the connection)")
    assert "hint" not in failure.message  # a close is not a byte-order problem


def test_a_silent_server_gets_the_byte_order_hint():
    failure = frames_failure(CODEC, PAYLOADS, coalesced(SIZES), b"", "no more bytes arrived within 2 s")
    assert "hint: this frame's header 00 00 00 05 means 5 in '!I' but 83886080 in the other byte order" \
        in failure.message


def test_a_server_silent_after_a_header_that_reads_the_same_both_ways_is_not_told_about_byte_order():
    failure = frames_failure(CODEC, PAYLOADS, coalesced(SIZES), b"", "no more bytes arrived within 2 s",
                             either_order=False)
    assert "other byte order" not in failure.message
    assert ("hint: the server did not answer a 65,792-byte frame either, whose header 00 01 01 00 means 65,792 in "
            "either byte order, so the byte order is not the problem: check that it reads a 4-byte header ('!I')"
            in failure.message)
    answered = frames_failure(CODEC, PAYLOADS, coalesced(SIZES), b"", "no more bytes arrived within 2 s",
                              either_order=True)
    assert "means 5 in '!I' but 83886080 in the other byte order" in answered.message


def test_the_byte_order_probe_fits_only_headers_with_a_palindromic_length():
    assert probe_length(CODEC) == 65792 and CODEC.header(65792) == b"\x00\x01\x01\x00"
    assert probe_length(FrameCodec("<H")) == 257
    assert probe_length(FrameCodec("!Q")) is None  # no small length reads the same both ways
    assert probe_length(FrameCodec("!I", max_frame=1000)) is None  # a frame the run may not send


def test_a_reply_header_in_the_other_byte_order_gets_the_hint():
    received = b"\x05\x00\x00\x00hello"
    failure = frames_failure(CODEC, [b"hello"], coalesced([9]), received, "")
    assert "means 5 in '!I' but 83886080 in the other byte order" in failure.message


def test_the_seed_is_printed_for_random_cuts():
    failure = frames_failure(CODEC, PAYLOADS, coalesced(SIZES), b"", "", seed=1234)
    assert failure.message.splitlines()[-1] == "random cuts from seed 1234: replay with --seed 1234"


def test_extra_bytes_after_correct_replies():
    failure = frames_failure(CODEC, PAYLOADS, coalesced(SIZES), STREAM + b"\x00\x00", "")
    assert failure.message.startswith("all 2 frames came back right, then 2 more bytes the client never sent")


def test_stream_failure_names_the_message_and_byte():
    messages = [b"one ", b"two\n"]
    failure = stream_failure(messages, one_byte_per_segment(8), b"one two\n"[:7], "no more bytes arrived within 2 s")
    assert failure.message.splitlines() == [
        "only 7 of the 8 bytes came back; the first missing one is byte 3 of message 2 of 2 (b'two\\n') "
        "(no more bytes arrived within 2 s)",
        "sent as 8 segments of 1 byte each (one byte per segment), 2 ms apart; "
        "an echo returns the same byte stream however it was cut",
    ]


def test_a_short_unpack_in_the_server_output_replaces_the_byte_order_hint():
    from harness.evidence.hints import revise

    message = "frame 1 of 1 was not answered\nhint: this frame's header 05 00 00 00 means 5 ...\nrandom cuts"
    output = "Traceback ...\nstruct.error: unpack requires a buffer of 4 bytes\n"
    revised = revise(message, output, "framing")
    assert "other byte order" not in revised and "hint: this frame's header" not in revised
    assert "recv(4) returns whatever has arrived" in revised
    assert revise(message, "no traceback here", "framing") == message  # no evidence: unchanged
    assert revise("a slow shutdown", output, "shutdown") == "a slow shutdown"  # not a framing failure


def test_a_decode_error_in_the_server_output_replaces_the_nul_hint():
    from harness.evidence.hints import revise

    message = ("nothing came back for 518 bytes sent (the server closed the connection)\n"
               "hint: the message has a NUL (0x00) byte at offset 0, where the echo stopped: strlen() ...")
    output = "Traceback ...\nUnicodeDecodeError: 'utf-8' codec can't decode byte 0x80 in position 131: invalid\n"
    lines = revise(message, output, "echo").splitlines()
    assert lines[0] == message.splitlines()[0] and len(lines) == 2
    assert lines[1].startswith("hint: the server decoded the bytes it received as utf-8 text, and byte 0x80")
    assert "sendall(data), not data.decode()" in lines[1]
    assert revise(message, "Traceback ...\nConnectionResetError: [Errno 104]", "echo") == message  # no evidence
    assert revise("a slow shutdown", output, "shutdown") == "a slow shutdown"


def test_a_length_read_in_the_other_byte_order_is_recognised_in_the_server_output():
    from harness.evidence.hints import revise

    message = ("frame 1 of 1 (19-byte payload b'hello, framed world') was not answered in full: the replies stopped "
               "after 0 of 23 bytes, at its header byte 0 (the server reset the connection)")
    revised = revise(message, "frame too big: 318767104\n", "framing", length_format="!I")
    assert "hint: this frame's header 00 00 00 13 means 19 in '!I' but 318767104 in the other byte order" in revised
    little = revise(message, "bad length 318767104", "framing", length_format="<I")  # the other way round too
    assert "13 00 00 00 means 19 in '<I' but 318767104" in little, little
    # No evidence, other numbers, or not a framing failure: unchanged.
    for output, suite, fmt in (("frame too big: 19", "framing", "!I"), ("frame too big: 3187671040", "framing", "!I"),
                               ("port 318767104", "shutdown", "!I"), ("frame too big: 318767104", "framing", None)):
        assert revise(message, output, suite, length_format=fmt) == message, (output, suite, fmt)


def test_pieces_of_a_payload_answered_as_frames_get_the_recv_hint():
    """recv(n) taken for the whole payload: each piece comes back as a frame of its own (blind 13, F12)."""
    payloads = [b"one byte per segment"]
    sizes = [4 + len(payloads[0])]
    pieces = CODEC.encode(b"o") + CODEC.encode(b"e b")  # the rest of a payload read as a header skips bytes
    failure = frames_failure(CODEC, payloads, one_byte_per_segment(sum(sizes)), pieces, "the server closed the connection")
    assert "hint: the server answered pieces of a payload as frames of their own" in failure.message
    other = CODEC.encode(b"o") + CODEC.encode(b"xyz")  # not the payload's bytes: no such evidence
    assert "answered pieces" not in frames_failure(CODEC, payloads, one_byte_per_segment(sum(sizes)), other, "").message
    short = CODEC.encode(b"hello") + CODEC.encode(b"wor")  # frames before came back right; one short one
    assert "answered pieces" not in frames_failure(CODEC, PAYLOADS, header_split(SIZES, 4, 2), short, "").message


def test_replies_that_stop_at_a_frame_sent_with_the_one_before_get_the_buffer_hint():
    """Blind 17 F8: a Node server that took one 'data' event for one frame answered only the first."""
    failure = frames_failure(CODEC, PAYLOADS, coalesced(SIZES), CODEC.encode(b"hello"), "no more bytes arrived within 2 s")
    assert "this frame arrived in the same segment as the frame before it" in failure.message
    assert "one 'data' event" in failure.message
    cut_between = frames_failure(CODEC, PAYLOADS, header_split(SIZES, 4, 2), CODEC.encode(b"hello"),
                                 "no more bytes arrived within 2 s")
    assert "same segment" not in cut_between.message  # it came in a segment of its own: no evidence


def test_a_frame_cut_into_pieces_where_the_replies_went_wrong_gets_the_read_loop_hint():
    """Blind 17 F8: a C server with one read() for the header and one for the payload answered empty frames."""
    failure = frames_failure(CODEC, PAYLOADS, one_byte_per_segment(sum(SIZES)), CODEC.encode(b"") * 3, "")
    assert ("hint: this frame arrived in 9 pieces, and one recv(n) (read() in C) may return fewer than n bytes, "
            "for the 4-byte header as for the payload" in failure.message)
    whole = frames_failure(CODEC, PAYLOADS, coalesced(SIZES), CODEC.encode(b"") * 3, "")
    assert "pieces" not in whole.message
