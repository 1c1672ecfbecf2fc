"""HOSTILE: chooses which socket is graded. A correct echo on two decoy ports
(argv[1]+1 and +2) comes up at once; 0.5 s later the assigned port gets an echo
that upper-cases. The harness must grade the assigned port, so this fails
(from an outside tester, whose copy used 7777: it got full marks)."""
import socket, sys, threading, time


def serve(port, fix):
    s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("127.0.0.1", port)); s.listen(64)
    while True:
        c, _ = s.accept()

        def handle(c=c):
            with c:
                try:
                    while d := c.recv(4096):
                        c.sendall(fix(d))
                except OSError:
                    pass
        threading.Thread(target=handle, daemon=True).start()


assigned = int(sys.argv[1])
for decoy in (assigned + 1, assigned + 2):
    threading.Thread(target=serve, args=(decoy, lambda d: d), daemon=True).start()
time.sleep(0.5)
try:
    serve(assigned, lambda d: d.upper())
except KeyboardInterrupt:
    pass
