"""HOSTILE (blind 16, S3): a correct echo server whose busy loop hides from the idle check.

The spinning is done by a process that forks its successor and exits every
0.25 s (each in a session of its own): a list of the server's pids taken once,
before the idle window, never held a spinner that was running in it.
"""
import os, signal, socket, sys, threading, time

MAIN = os.getpid()

def relay_spinner():
    if os.fork() != 0:
        return
    os.setsid()
    while True:
        end = time.monotonic() + 0.25
        while time.monotonic() < end:
            pass
        try:
            os.kill(MAIN, 0)
        except OSError:
            os._exit(0)
        if os.fork() != 0:
            os._exit(0)  # the old spinner ends; its child spins on

def serve(conn):
    with conn:
        try:
            while data := conn.recv(65536):
                conn.sendall(data)
        except OSError:
            pass

signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
listener = socket.socket()
listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
listener.bind(("127.0.0.1", int(sys.argv[1])))
listener.listen(128)
relay_spinner()
while True:
    conn, _ = listener.accept()
    threading.Thread(target=serve, args=(conn,), daemon=True).start()
