"""BUGGY: remembers the first client's address and answers every datagram there."""
import socket, sys

sk = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
sk.bind(("127.0.0.1", int(sys.argv[1])))
client = None
while True:
    data, addr = sk.recvfrom(65535)
    if client is None:
        client = addr      # BUG: "the" client
    sk.sendto(data, client)
