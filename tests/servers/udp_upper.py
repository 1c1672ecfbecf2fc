"""BUGGY: upper-cases each datagram."""
import socket, sys

sk = socket.socket(type=socket.SOCK_DGRAM)
sk.bind(("127.0.0.1", int(sys.argv[1])))
while True:
    msg, addr = sk.recvfrom(65535)
    sk.sendto(msg.upper(), addr)
