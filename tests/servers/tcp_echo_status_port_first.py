"""CORRECT: echo on the assigned port (argv[1]), but like many real services it
first opens a small status port (port+1000, answers "OK\n" and closes), then
"loads its config" for 1 s before it listens on the assigned port. The
harness must wait for the assigned port, not grade the status port (from an
outside tester: it used to fail 15 checks on the status port)."""
import socket, sys, threading, time

port = int(sys.argv[1])


def status():
    st = socket.socket(); st.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    st.bind(("127.0.0.1", (port + 1000) % 65536 or 1)); st.listen(8)
    while True:
        c, _ = st.accept(); c.sendall(b"OK\n"); c.close()


def handle(c):
    with c:
        try:
            while d := c.recv(4096):
                c.sendall(d)
        except OSError:
            pass


threading.Thread(target=status, daemon=True).start()
time.sleep(1.0)
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", port)); s.listen(64)
try:
    while True:
        c, _ = s.accept(); threading.Thread(target=handle, args=(c,), daemon=True).start()
except KeyboardInterrupt:
    pass
