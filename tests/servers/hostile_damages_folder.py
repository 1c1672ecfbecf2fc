"""HOSTILE: overwrites `victim.txt` next to itself and in its working directory,
then serves echo. (It touches only that one file name, so a failure of the
scratch copy cannot do more harm than that.)"""
import os, socket, sys, threading

for folder in {os.path.dirname(os.path.abspath(__file__)), os.getcwd()}:
    try:
        with open(os.path.join(folder, "victim.txt"), "w") as f:
            f.write("damaged")
    except OSError:
        pass

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
