"""HOSTILE (UDP): answers every datagram with a flood of 2000 datagrams to the sender."""
import socket, sys

sk = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
sk.bind(("127.0.0.1", int(sys.argv[1])))
while True:
    data, peer = sk.recvfrom(65535)
    for i in range(2000):
        try:
            sk.sendto(b"flood %d " % i + data, peer)
        except OSError:
            break
