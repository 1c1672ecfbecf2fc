"""BUGGY udp-echo: decodes each datagram and answers it strip()ped, the way
a chat server tidies a line. Its buffer is 65535 bytes: a reply shorter than
the datagram is whitespace lost, not a small recvfrom()."""
import socket, sys

sk = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
sk.bind(("127.0.0.1", int(sys.argv[1])))
while True:
    data, address = sk.recvfrom(65535)
    sk.sendto(data.strip(), address)
