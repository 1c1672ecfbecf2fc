"""BUGGY udp-hello: a non-blocking socket asked for datagrams in a loop
(BlockingIOError caught and tried again at once), so it burns a whole CPU
while nobody talks to it. Every reply is right; only
concurrency::idle_without_busy_loop fails."""
import socket, sys

sk = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
sk.bind(("127.0.0.1", int(sys.argv[1])))
sk.setblocking(False)
while True:
    try:
        name, address = sk.recvfrom(65535)
    except BlockingIOError:
        continue  # the bug: polls instead of waiting
    sk.sendto(b"Hello, " + name + b"!", address)
