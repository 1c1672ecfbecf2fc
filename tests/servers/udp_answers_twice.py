"""BUGGY udp-echo: answers every datagram twice (a debugging sendto() left
in). The first exchange looks right; every later reply on the same socket is
the previous datagram's second echo."""
import socket, sys

sk = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
sk.bind(("127.0.0.1", int(sys.argv[1])))
while True:
    data, address = sk.recvfrom(65535)
    sk.sendto(data, address)
    sk.sendto(data, address)  # the bug
