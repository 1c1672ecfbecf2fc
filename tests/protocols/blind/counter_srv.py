"""Counter: INCR -> n (global, never reset); NOW -> time; PING -> PONG; CLOSE -> closes; SILENT -> no reply; EXTRA -> two lines."""
import socket, sys, threading, time
n = 0
lock = threading.Lock()
def handle(c):
    global n
    f = c.makefile("rb")
    with c:
        for raw in f:
            cmd = raw.strip().decode()
            if cmd == "INCR":
                with lock:
                    n += 1; r = str(n)
            elif cmd == "NOW":
                r = "%.6f" % time.time()
            elif cmd == "PING":
                r = "PONG"
            elif cmd == "CLOSE":
                return
            elif cmd == "SILENT":
                continue
            elif cmd == "EXTRA":
                r = "ONE\nTWO"
            elif cmd.startswith("ECHO "):
                r = cmd[5:]
            else:
                r = "ERR"
            c.sendall(r.encode() + b"\n")
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(64)
try:
    while True:
        c, _ = s.accept(); threading.Thread(target=handle, args=(c,), daemon=True).start()
except KeyboardInterrupt:
    pass
