"""A correct udp-hello server, serial and slow: every answer takes 0.8 s (a slow backend),
within the 2 s reply timeout. A protocol file's conversation must not bury it under copies
of retried datagrams, nor take a late copy for the next reply (blind test 6)."""
import socket, sys, time

s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.1", int(sys.argv[1])))
while True:
    data, addr = s.recvfrom(65535)
    time.sleep(0.8)
    s.sendto(b"Hello, " + data + b"!", addr)
