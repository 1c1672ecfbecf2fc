"""A correct UDP echo server, serial and slow: every answer takes 0.8 s (a slow backend), within
the 2 s reply timeout. Extra tries of a datagram would each cost it 0.8 s more and delay every
later reply past its timeout: the harness must not bury it under copies (blind test 6)."""
import socket, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.1", int(sys.argv[1])))
while True:
    data, addr = s.recvfrom(65535)
    time.sleep(0.8)
    s.sendto(data, addr)
