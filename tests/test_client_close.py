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
