"""BUGGY (seed style): recvfrom(1024) silently cuts longer datagrams."""
import socket, sys

sk = socket.socket(type=socket.SOCK_DGRAM)
sk.bind(("127.0.0.1", int(sys.argv[1])))
while True:
    msg, addr = sk.recvfrom(1024)
    sk.sendto(msg, addr)
