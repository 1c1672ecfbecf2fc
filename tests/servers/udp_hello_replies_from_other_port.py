"""BUGGY udp-hello: answers each datagram from a new socket (another port), as a student who
opens a socket to reply does. A client that connect()s its UDP socket never sees those replies."""
import socket, sys

s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.1", int(sys.argv[1])))
while True:
    data, addr = s.recvfrom(65535)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as reply:
        reply.sendto(b"Hello, " + data + b"!", addr)
