"""Correct but terse: never answers an empty datagram (like socat). A warning, not a failure."""
import socket, sys

sk = socket.socket(type=socket.SOCK_DGRAM)
sk.bind(("127.0.0.1", int(sys.argv[1])))
while True:
    msg, addr = sk.recvfrom(65535)
    if msg:
        sk.sendto(msg, addr)
