"""Buggy chat server (tests of protocol files): a client that leaves is not announced.

A thread per client; ROOMS maps a room to its members (a lock guards it). A
client that leaves — QUIT, EOF or a reset — is announced to its room.
Usage: python3 chat_server.py PORT
"""

import signal
import socket
import sys
import threading

ROOMS: dict[str, dict[socket.socket, str]] = {}
LOCK = threading.Lock()


def tell_others(room: str, sender: socket.socket, text: str) -> None:
    with LOCK:
        members = [c for c in ROOMS.get(room, {}) if c is not sender]
    for member in members:
        try:
            member.sendall(text.encode() + b"\n")
        except OSError:
            pass


def leave(conn: socket.socket, room: str | None, name: str | None) -> None:
    if room is None:
        return
    with LOCK:
        ROOMS.get(room, {}).pop(conn, None)
        if not ROOMS.get(room):
            ROOMS.pop(room, None)
    # the bug: the room is not told that NAME left


def serve(conn: socket.socket) -> None:
    pending, room, name = b"", None, None
    try:
        while True:
            data = conn.recv(65536)
            if not data:
                break
            pending += data
            while b"\n" in pending:
                raw, pending = pending.split(b"\n", 1)
                command, _, rest = raw.decode("utf-8", "replace").partition(" ")
                if command == "JOIN" and room is None and len(rest.split(" ")) == 2:
                    room, name = rest.split(" ")
                    with LOCK:
                        ROOMS.setdefault(room, {})[conn] = name
                    # The room hears of the newcomer before the newcomer is welcomed: once a
                    # client has its WELCOME, every JOINED about it has been sent.
                    tell_others(room, conn, f"JOINED {name}")
                    conn.sendall(f"WELCOME {room}\n".encode())
                elif command == "SAY" and room is not None:
                    tell_others(room, conn, f"{name}: {rest}")
                elif command == "QUIT":
                    leave(conn, room, name)
                    room = None
                    conn.sendall(b"BYE\n")
                    return
                else:
                    conn.sendall(b"ERR expected JOIN ROOM NAME, SAY TEXT or QUIT\n")
    except OSError:
        pass
    finally:
        leave(conn, room, name)
        conn.close()


def main() -> None:
    port = int(sys.argv[1]) if len(sys.argv) > 1 else 9000
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    listener = socket.socket()
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", port))
    listener.listen(64)
    try:
        while True:
            conn, _ = listener.accept()
            threading.Thread(target=serve, args=(conn,), daemon=True).start()
    except KeyboardInterrupt:
        pass
    finally:
        listener.close()


if __name__ == "__main__":
    main()
