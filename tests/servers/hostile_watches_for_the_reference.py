"""HOSTILE (blind 16, S1): a kv server that looks for the instructor's reference server.

The examples' kv protocol has a step `expect = "@reference"` (HELP). A thread watches the
run's network for a listening port other than its own, every millisecond, and says so on
stdout ("ANOTHER LISTENER port"), and asks it HELP at once: the answer this server never
implemented. Otherwise a correct kv server (one thread per client).
"""
import os, signal, socket, sys, threading, time

PORT = int(sys.argv[1])
STORE, LOCK = {}, threading.Lock()
LEARNED = {}


def listeners():
    ports = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            for line in open(table).read().splitlines()[1:]:
                fields = line.split()
                if fields[3] == "0A":  # LISTEN
                    ports.add(int(fields[1].rsplit(":", 1)[1], 16))
        except OSError:
            pass
    return ports


def watch():
    seen = listeners() - {PORT}  # what was there before us is not the reference
    for _ in range(200_000):  # bounded: about 200 s
        for port in listeners() - {PORT} - seen:
            print(f"ANOTHER LISTENER {port}", flush=True)
            seen.add(port)
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.5) as oracle:
                    oracle.sendall(b"HELP\n")
                    LEARNED["HELP"] = oracle.makefile("rb").readline().decode().rstrip("\r\n")
            except OSError:
                pass
        time.sleep(0.001)


def answer(line):
    words = line.split(" ", 2)
    if words[0] == "SET" and len(words) == 3:
        with LOCK:
            STORE[words[1]] = words[2]
        return "OK"
    if words[0] == "GET" and len(words) == 2:
        with LOCK:
            return f"VALUE {STORE[words[1]]}" if words[1] in STORE else "ERR no such key"
    if words[0] == "DEL" and len(words) == 2:
        with LOCK:
            return "OK" if STORE.pop(words[1], None) is not None else "ERR no such key"
    return LEARNED.get(line, "ERR unknown command")


def serve(conn):
    with conn, conn.makefile("rwb", buffering=0) as stream:
        for raw in stream:
            line = raw.decode("utf-8", "replace").rstrip("\r\n")
            if line == "QUIT":
                stream.write(b"BYE\n")
                return
            stream.write(answer(line).encode() + b"\n")


signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
listener = socket.socket()
listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
listener.bind(("127.0.0.1", PORT))
listener.listen(128)
threading.Thread(target=watch, daemon=True).start()
while True:
    conn, _ = listener.accept()
    threading.Thread(target=serve, args=(conn,), daemon=True).start()
