"""How the harness's client closes a connection: a reset once the server has
closed first, so the server's side leaves no TIME_WAIT behind (a server without
SO_REUSEADDR on a fixed port could not start again for a minute); a FIN otherwise."""

from __future__ import annotations

import socket

import pytest

from harness.clients.connection import TcpConnection, closing
from harness.deadline import Deadline
from harness.evidence import wirelog
from harness.server.launcher import Endpoint
from harness.system import sockdiag


def states_on(port: int) -> set[str]:
    return {s.state for s in sockdiag.dump("tcp") if s.local_port == port}


@pytest.fixture
def listener():
    if not sockdiag.available():
        pytest.skip("sock_diag is not available here")
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield sock


def connect(listener: socket.socket) -> tuple[TcpConnection, socket.socket]:
    port = listener.getsockname()[1]
    endpoint = Endpoint("127.0.0.1", port, socket.AF_INET, "assigned", f"TCP 127.0.0.1:{port}")
    client = TcpConnection(endpoint, Deadline(5))
    accepted, _ = listener.accept()
    return client, accepted


def test_a_connection_the_server_closed_first_is_reset_and_leaves_no_time_wait(listener):
    port = listener.getsockname()[1]
    client, accepted = connect(listener)
    accepted.close()  # the server closes first, as after `exit`
    assert client.read_available(5) == b""  # its FIN has arrived
    assert closing(client.sock)[0] == wirelog.CLIENT_RST
    client.sock.close()
    assert not any("TIME" in state for state in states_on(port)), states_on(port)


def test_a_connection_the_client_closes_first_ends_with_a_fin(listener):
    port = listener.getsockname()[1]
    client, accepted = connect(listener)
    assert closing(client.sock)[0] == wirelog.CLIENT_FIN
    client.sock.close()  # a FIN: the server reads EOF, not a reset
    accepted.settimeout(5)
    assert accepted.recv(10) == b""
    accepted.close()
    assert not any("TIME" in state for state in states_on(port)), states_on(port)  # the client's side holds it


def test_unanswered_server_close_would_leave_time_wait_on_the_servers_side(listener):
    """The control: a plain close after the server's FIN leaves the server's side in TIME_WAIT."""
    port = listener.getsockname()[1]
    client, accepted = connect(listener)
    accepted.close()
    assert client.read_available(5) == b""
    client.sock.close()  # bypassing the harness's close
    assert any("TIME" in state for state in states_on(port)), states_on(port)


def test_a_half_close_after_the_server_reset_is_the_servers_reset_not_a_network_error(listener):
    """The half-close check's client meets a server that closed with unread input (a reset) before the client
    half-closed: shutdown() fails with ENOTCONN, and the failure must still be "the server reset the
    connection" (it was a raw OSError 107 when the reset won the race)."""
    from harness.errors import CheckFailed

    client, accepted = connect(listener)
    client.send_all(b"x" * 28, Deadline(5))
    accepted.recv(4)
    accepted.close()  # unread input: a reset
    assert poll_reset(client.sock)
    client.shutdown_write()  # no exception: nothing left to half-close
    with pytest.raises(CheckFailed, match="reset the connection"):
        client.recv_exactly(28, Deadline(5), "the pending echo")
    client.sock.close()


def poll_reset(sock: socket.socket) -> bool:
    """Until the reset has arrived: the socket is no longer connected (at most 5 s)."""
    import time

    for _ in range(500):
        try:
            sock.getpeername()
        except OSError:
            return True
        time.sleep(0.01)
    return False
