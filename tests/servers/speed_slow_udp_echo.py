"""SLOW (correct but slow) udp-echo server: 1 ms of "work" per datagram, so at
most ~1,000 replies/s. The speed suite reports its rate ratio well below 1."""
import socket, sys, time

s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.1", int(sys.argv[1])))
while True:
    data, addr = s.recvfrom(65535)
    time.sleep(0.001)
    s.sendto(data, addr)
