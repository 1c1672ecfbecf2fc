"""The tcp-hello / udp-hello codec and the reply reader, without a server."""

from __future__ import annotations

import socket

import pytest

from harness.clients.connection import TcpConnection
from harness.clients.reply_reader import ReplyReader
from harness.deadline import Deadline
from harness.errors import CheckFailed
from harness.protocols.hello import LINE, UNFRAMED, coalesced_reply_candidates, reply_for
from harness.server.launcher import Endpoint


def test_line_mode_bytes():
    assert LINE.greeting == b"Welcome!\n"
    assert LINE.request("张三") == "张三\n".encode()
    assert LINE.reply("张三") == "Hello, 张三!\n".encode()
    assert LINE.reply("") == b"Hello, !\n"
    assert LINE.exit_request == b"exit\n"


def test_unframed_mode_is_the_seeds_bytes():
    assert (UNFRAMED.greeting, UNFRAMED.request("Michael"), UNFRAMED.reply("Michael")) == \
        (b"Welcome", b"Michael", b"Hello, Michael!")
    assert reply_for(b"") == b"Hello, !"


def test_coalesced_candidates_explain_the_merge():
    candidates = coalesced_reply_candidates("Alice", "Bob")
    assert "粘包" in candidates[b"Hello, AliceBob!"]
    assert b"Hello, Alice!Hello, Bob!" in candidates


@pytest.fixture
def pair():
    """A connected TcpConnection and the 'server' end of it."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    endpoint = Endpoint("127.0.0.1", listener.getsockname()[1], socket.AF_INET, "assigned", "test")
    conn = TcpConnection(endpoint, Deadline(2))
    peer, _ = listener.accept()
    listener.close()
    yield conn, peer
    conn.close()
    peer.close()


@pytest.mark.parametrize("pieces", ["whole", "bytewise", "trailing"])
def test_reply_reader_reads_replies_however_they_arrive(pair, pieces):
    conn, peer = pair
    data = b"Welcome!\nHello, A!\n" + (b"Hello, B!\n" if pieces == "trailing" else b"")
    for chunk in ([data[i:i + 1] for i in range(len(data))] if pieces == "bytewise" else [data]):
        peer.sendall(chunk)
    reader = ReplyReader(conn)
    assert reader.read_line(2) == b"Welcome!\n"
    reader.expect(b"Hello, A!\n", 2, "first")
    if pieces == "trailing":
        reader.expect(b"Hello, B!\n", 2, "second")


def test_reply_reader_fails_at_the_first_wrong_byte_without_waiting(pair):
    conn, peer = pair
    peer.sendall(b"Hello, " + b"x" * 1024 + b"!")  # a reply cut at recv(1024)
    deadline = Deadline(30)
    with pytest.raises(CheckFailed) as failure:
        ReplyReader(conn).expect(b"Hello, " + b"x" * 4000 + b"!", 30, "long name")
    assert deadline.elapsed() < 5
    assert "differs" in failure.value.message and "first difference at byte offset 1031" in failure.value.detail


def test_reply_reader_expect_close_reports_extra_bytes(pair):
    conn, peer = pair
    peer.sendall(b"Bye!\n")
    peer.close()
    with pytest.raises(CheckFailed, match="5 unexpected bytes"):
        ReplyReader(conn).expect_close(2, "after exit")
