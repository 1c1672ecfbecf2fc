"""CORRECT but slow: the tcp-hello line protocol, each greeting and reply sent
0.4 s late (well within a 1 s reply timeout). With `silent-on-empty` after
the port it is BUGGY in one way only: an empty name gets no reply at all (a
whole-timeout silence), every other reply stays correct and slow.

Proves the protocol-file reader's patience rule both ways
(tests/test_protocol_file_hello.py): a slow correct server always gets the
whole reply timeout, and after one silence the cut waits keep four times the
slowest reply seen, so slow correct replies still pass."""
import socket, sys, threading, time

DELAY = 0.4
SILENT_ON_EMPTY = sys.argv[2:] == ["silent-on-empty"]


def handle(conn):
    with conn:
        time.sleep(DELAY)
        conn.sendall(b"Welcome!\n")
        buffer = b""
        while True:
            data = conn.recv(65536)
            if not data:
                return
            buffer += data
            while b"\n" in buffer:
                name, buffer = buffer.split(b"\n", 1)
                if name == b"exit":
                    return
                if not name and SILENT_ON_EMPTY:
                    continue
                time.sleep(DELAY)
                conn.sendall(b"Hello, " + name + b"!\n")


s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1])))
s.listen(128)
while True:
    c, _ = s.accept()
    threading.Thread(target=handle, args=(c,), daemon=True).start()
