"""BUGGY: answers the first datagram, then reads every later one and drops it (a
different silence than a remembered address: its replies go nowhere at all)."""
import socket
import sys

sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
sock.bind(("127.0.0.1", int(sys.argv[1])))
data, addr = sock.recvfrom(65535)
sock.sendto(data, addr)
while True:
    sock.recvfrom(65535)
