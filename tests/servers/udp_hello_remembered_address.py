"""BUGGY: udp-hello that remembers the first client's address and sends every
greeting there ("the client"), instead of to the address recvfrom() returned."""
import socket
import sys

sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
sock.bind(("127.0.0.1", int(sys.argv[1])))
client = None
while True:
    data, addr = sock.recvfrom(65535)
    if client is None:
        client = addr  # BUG: the first sender, for ever
    sock.sendto(b"Hello, " + data + b"!", client)
