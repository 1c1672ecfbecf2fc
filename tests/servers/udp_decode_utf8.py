"""BUGGY: decodes each datagram as text; binary data crashes the whole server."""
import socket, sys

sk = socket.socket(type=socket.SOCK_DGRAM)
sk.bind(("127.0.0.1", int(sys.argv[1])))
while True:
    msg, addr = sk.recvfrom(65535)
    sk.sendto(msg.decode("utf-8").encode("utf-8"), addr)
