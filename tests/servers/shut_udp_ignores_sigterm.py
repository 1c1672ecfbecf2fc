"""BUGGY: a UDP echo server that ignores SIGTERM. Ctrl+C ends it quietly."""
import signal, socket, sys

signal.signal(signal.SIGTERM, signal.SIG_IGN)  # the bug
sk = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
sk.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
sk.bind(("127.0.0.1", int(sys.argv[1])))
try:
    while True:
        data, address = sk.recvfrom(65535)
        sk.sendto(data, address)
except KeyboardInterrupt:
    pass
