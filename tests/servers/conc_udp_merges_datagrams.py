"""Buggy UDP echo: relays datagrams through a byte stream, as `socat
UDP-LISTEN:PORT,fork PIPE` does, so datagrams that arrive close together
come back merged into one reply to whoever sent the first of them."""

import socket
import sys
import time

server = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
server.bind(("127.0.0.1", int(sys.argv[1])))
while True:
    data, first_sender = server.recvfrom(65535)
    stream = bytearray(data)
    time.sleep(0.02)  # the relay's read: whatever else arrived meanwhile joins the stream
    server.setblocking(False)
    try:
        while True:
            more, _ = server.recvfrom(65535)
            stream += more
    except BlockingIOError:
        pass
    server.setblocking(True)
    server.sendto(bytes(stream[:65507]), first_sender)
