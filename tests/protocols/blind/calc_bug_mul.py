"""BUGGY (blind 20 F4): the calculator with a wrong MUL; every other command right, served concurrently."""
import socket, sys, threading

OPS = {"ADD": lambda a, b: a + b, "SUB": lambda a, b: a - b,
       "MUL": lambda a, b: a * b + 1, "DIV": lambda a, b: a // b}  # BUG: MUL

def answer(line):
    parts = line.split()
    if len(parts) == 1 and parts[0].upper() == "QUIT":
        return None
    if len(parts) != 3 or parts[0].upper() not in OPS:
        return "ERR unknown command"
    try:
        a, b = int(parts[1]), int(parts[2])
    except ValueError:
        return "ERR bad number"
    if parts[0].upper() == "DIV" and b == 0:
        return "ERR division by zero"
    return str(OPS[parts[0].upper()](a, b))

def handle(conn):
    buf = b""
    try:
        with conn:
            while True:
                data = conn.recv(4096)
                if not data:
                    return
                buf += data
                while b"\n" in buf:
                    line, buf = buf.split(b"\n", 1)
                    reply = answer(line.decode("utf-8", "replace"))
                    if reply is None:
                        conn.sendall(b"BYE\n")
                        return
                    conn.sendall(reply.encode() + b"\n")
    except OSError:
        pass

def main():
    port = int(sys.argv[1])
    srv = socket.socket()
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("127.0.0.1", port))
    srv.listen(128)
    try:
        while True:
            conn, _ = srv.accept()
            threading.Thread(target=handle, args=(conn,), daemon=True).start()
    except KeyboardInterrupt:
        pass

if __name__ == "__main__":
    main()
