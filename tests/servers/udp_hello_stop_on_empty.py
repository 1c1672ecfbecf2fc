"""BUGGY udp-hello: stops on an empty datagram (as if UDP had connections to close).
Fails conversation::empty_name only."""
import socket, sys

s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.1", int(sys.argv[1])))
while True:
    data, addr = s.recvfrom(65535)
    if not data:
        break
    s.sendto(b"Hello, %s!" % data, addr)
