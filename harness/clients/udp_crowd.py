"""A crowd of UDP clients sending at the same time, driven from one thread
with `selectors` (the TCP crowd, its rules and its admission are in
`harness.clients.crowd`).

Rules:
- Every client sends its datagrams one at a time from its own connected
  socket; each reply must be exactly the datagram that client sent.
- A datagram counts as lost only after `tries` tries, all within one reply
  timeout (`harness.clients.udp.retry_offsets`); a repeated reply to an
  already answered datagram of the same client (our own retry) is not an error.
- The first reply that is not the client's own datagram ends the run; whose it
  is, is traced by `harness.evidence.crosstalk`.
"""

from __future__ import annotations

import random
import selectors
import socket
import time
from dataclasses import dataclass, field
from typing import Any

from harness.clients.crowd import RUN_LIMIT
from harness.clients.patience import PATIENCE
from harness.clients.udp import retry_offsets
from harness.deadline import Deadline
from harness.evidence import wirelog
from harness.evidence.crosstalk import Conversation, CrowdResult, datagram_misdelivery
from harness.server.launcher import Endpoint


@dataclass
class _UdpClient:
    conversation: Conversation
    sock: socket.socket
    next_message: int = 0
    tries: int = 0
    first_sent: float = 0.0
    try_deadline: Deadline | None = None
    answered: set[int] = field(default_factory=set)
    done: bool = False
    wire: Any = wirelog.NO_WIRE


def run_udp_crowd(endpoint: Endpoint, conversations: list[Conversation], reply_timeout: float,
                  seed: int, tries: int = 3) -> CrowdResult:
    """Every client sends its datagrams one at a time from its own socket; each
    reply must be the datagram that client sent. A datagram counts as lost
    only after `tries` tries. A repeated reply to an already answered datagram
    of the same client (our own retry) is not an error."""
    result = CrowdResult(conversations, [bytearray() for _ in conversations])
    full = reply_timeout
    reply_timeout = PATIENCE.wait(full)  # cut only after a whole-timeout silence earlier in the run
    started = time.monotonic()
    clients: list[_UdpClient] = []
    limit = Deadline(RUN_LIMIT)
    try:
        with selectors.DefaultSelector() as sel:
            for conversation in conversations:
                sock = socket.socket(endpoint.family, socket.SOCK_DGRAM)
                clients.append(_UdpClient(conversation, sock, wire=wirelog.connection(
                    "udp", f"client {conversation.client}")))
                # Connected: only the server's address can reach this socket.
                sock.connect(endpoint.address)
                clients[-1].wire.connected(sock.getsockname()[1])
                sock.setblocking(False)
                sel.register(sock, selectors.EVENT_READ, clients[-1])
            result.connected = len(clients)
            order = list(clients)
            random.Random(seed).shuffle(order)
            for client in order:
                _udp_send(client, reply_timeout, tries, result)
            while not result.misdeliveries and not limit.expired():
                waiting = [c for c in clients if not c.done]
                if not waiting:
                    break
                soonest = min((c.try_deadline.remaining() for c in waiting if c.try_deadline), default=0.0)
                for key, _ in sel.select(soonest):
                    _udp_receive(key.data, conversations, reply_timeout, tries, result, clients)
                for client in waiting:
                    if not client.done and client.try_deadline and client.try_deadline.expired():
                        client.wire.silence()
                        if client.tries >= tries:
                            result.ended[client.conversation.client] = (
                                f"no reply to its datagram {client.next_message} after {tries} tries "
                                f"within {reply_timeout:g} s")
                            client.done = True
                        else:
                            _udp_send(client, reply_timeout, tries, result)
            else:
                if limit.expired():
                    result.stall = f"the crowd was still not done after {RUN_LIMIT:g} s"
        why_short = PATIENCE.why_short(reply_timeout, full)
        if result.ended and why_short:  # said once for the crowd, not once per client
            result.stall = "; ".join(filter(None, [result.stall, f"every wait lasted {reply_timeout:g} s{why_short}"]))
        if clients and not any(client.answered for client in clients):
            PATIENCE.silence(reply_timeout, full)  # not one reply to any client: a whole-timeout silence
    finally:
        for client in clients:
            client.sock.close()
        result.elapsed = time.monotonic() - started
    return result


def _udp_send(client: _UdpClient, reply_timeout: float, tries: int, result: CrowdResult) -> None:
    """One send of the client's current datagram; its tries fit in one reply timeout (`retry_offsets`)."""
    if client.tries == 0:
        client.first_sent = time.monotonic()
    client.tries += 1
    offsets, _ = retry_offsets(reply_timeout, tries)
    until = offsets[client.tries] if client.tries < len(offsets) else reply_timeout
    client.try_deadline = Deadline(until, client.first_sent)
    try:
        client.sock.send(client.conversation.messages[client.next_message])
        client.wire.sent(client.conversation.messages[client.next_message])
    except BlockingIOError:
        pass  # counts as a lost try
    except OSError as exc:
        result.ended[client.conversation.client] = f"sending failed: {exc.strerror or exc} (the server stopped?)"
        client.done = True


def _udp_receive(client: _UdpClient, conversations: list[Conversation], reply_timeout: float, tries: int,
                 result: CrowdResult, clients: list[_UdpClient] = ()) -> None:
    messages = client.conversation.messages
    for _ in range(64):  # drain what is queued, boundedly
        try:
            reply = client.sock.recv(65536)
        except BlockingIOError:
            return
        except OSError as exc:
            client.wire.refused(exc.strerror or str(exc))
            result.ended[client.conversation.client] = f"receiving failed: {exc.strerror or exc} (the server stopped?)"
            client.done = True
            return
        client.wire.got(reply)
        number = client.conversation.client
        if client.done:
            continue
        if client.next_message < len(messages) and reply == messages[client.next_message]:
            result.received[number] += reply
            client.answered.add(client.next_message)
            client.next_message += 1
            client.tries = 0
            if client.next_message == len(messages):
                client.done = True
                client.try_deadline = None
            else:
                _udp_send(client, reply_timeout, tries, result)
            continue
        if reply in (messages[i] for i in client.answered):
            continue  # a late answer to our own retry
        misdelivery = datagram_misdelivery(number, len(result.received[number]), reply, client.next_message,
                                           messages[client.next_message], conversations)
        result.misdeliveries.append(misdelivery)
        origin = misdelivery.origin
        client.wire.misdelivered(next((c.wire for c in clients if origin and c.conversation.client == origin.client),
                                      None))
        client.done = True
        return
