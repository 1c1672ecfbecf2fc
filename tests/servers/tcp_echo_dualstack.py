"""GOOD: socket.create_server dual-stack (:: with IPv4-mapped), threads."""
import socket
import sys
import threading


def serve(conn):
    with conn:
        while data := conn.recv(4096):
            conn.sendall(data)


if __name__ == "__main__":
    server = socket.create_server(("", int(sys.argv[1])), family=socket.AF_INET6, dualstack_ipv6=True, reuse_port=False)
    try:
        while True:
            conn, _ = server.accept()
            threading.Thread(target=serve, args=(conn,), daemon=True).start()
    except KeyboardInterrupt:
        pass
