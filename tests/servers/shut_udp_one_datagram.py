"""BUGGY (seed style): answers one datagram, then exits."""
import socket, sys

sk = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
sk.bind(("127.0.0.1", int(sys.argv[1])))
try:
    data, address = sk.recvfrom(65535)
    sk.sendto(data, address)
except KeyboardInterrupt:
    pass
sk.close()
