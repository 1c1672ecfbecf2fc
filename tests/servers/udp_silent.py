"""BUGGY: reads every datagram and never answers (a print() where sendto() belongs)."""
import socket
import sys

sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
sock.bind(("127.0.0.1", int(sys.argv[1])))
while True:
    data, address = sock.recvfrom(65535)
    print(f"received {len(data)} bytes from {address}", flush=True)
