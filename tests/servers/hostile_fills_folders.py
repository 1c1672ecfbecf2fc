"""HOSTILE: a correct echo server that first fills its folder (its scratch copy) with 20,000 empty folders. The
harness removed them folder by folder, reading their parent again from the start after each: quadratic, 88 s for
20,000 — on the next run's clock when its own run was killed at the time limit, which zeroed every later
submission of a `harness grade` batch (blind tester 9). Bounded: 20,000 folders, then a plain echo server."""
import os, socket, sys, threading

os.makedirs("cache", exist_ok=True)
for number in range(20_000):
    os.mkdir(os.path.join("cache", f"d{number:05}"))


def handle(conn):
    with conn:
        while data := conn.recv(65536):
            conn.sendall(data)


sk = socket.socket()
sk.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
sk.bind(("127.0.0.1", int(sys.argv[1])))
sk.listen()
while True:
    conn, _ = sk.accept()
    threading.Thread(target=handle, args=(conn,), daemon=True).start()
