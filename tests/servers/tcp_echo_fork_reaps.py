"""GOOD (from an outside tester): fork per client, children reaped in a SIGCHLD
handler, no signal handling of its own. SIGTERM or Ctrl+C to its process group
(as a service manager or a terminal sends them) ends the parent and every
child serving a client."""
import os, socket, sys, signal


def reap(*_):
    try:
        while os.waitpid(-1, os.WNOHANG)[0] > 0:
            pass
    except ChildProcessError:
        pass


signal.signal(signal.SIGCHLD, reap)
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1])))
s.listen(128)
while True:
    try:
        c, a = s.accept()
    except InterruptedError:
        continue
    pid = os.fork()
    if pid == 0:
        s.close()
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        try:
            while True:
                d = c.recv(65536)
                if not d:
                    break
                c.sendall(d)
        except ConnectionError:
            pass
        os._exit(0)
    c.close()
