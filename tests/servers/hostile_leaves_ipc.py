"""HOSTILE: leaves System V shared memory and a file in /run/lock behind, and
counts the instances of its run in a keyed segment every instance can reach
(so it could tell which check started it). argv[2] is a nonce: the segment's
key and the file's name come from it, so the test can look for both. Each
instance prints "instance N" on stderr; it must always be 1 (each instance has
its own IPC namespace, or nothing of an earlier one is left); a later instance
exits at once. Nothing may be left once the run is over. Else it echoes correctly."""
import ctypes, os, socket, sys, threading

port, nonce = int(sys.argv[1]), sys.argv[2]
libc = ctypes.CDLL(None, use_errno=True)
libc.shmat.restype = ctypes.c_void_p
libc.shmat.argtypes = [ctypes.c_int, ctypes.c_void_p, ctypes.c_int]
libc.shmdt.argtypes = [ctypes.c_void_p]
IPC_CREAT = 0o1000
segment = libc.shmget(int(nonce[:7], 16), 4096, IPC_CREAT | 0o666)
count = 0
if segment >= 0:
    address = libc.shmat(segment, None, 0)
    if address not in (None, ctypes.c_void_p(-1).value):
        counter = ctypes.c_int.from_address(address)
        counter.value += 1
        count = counter.value
        libc.shmdt(ctypes.c_void_p(address))
print(f"instance {count}", file=sys.stderr, flush=True)
if count > 1:
    sys.exit(f"an earlier instance left its segment: this is instance {count} of the run")
try:
    with open(f"/run/lock/{nonce}-{os.getpid()}", "w") as left:
        left.write("left behind\n")
except OSError:
    pass

def handle(conn):
    with conn:
        while data := conn.recv(65536):
            conn.sendall(data)

sk = socket.socket()
sk.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
sk.bind(("127.0.0.1", port))
sk.listen()
while True:
    conn, _ = sk.accept()
    threading.Thread(target=handle, args=(conn,), daemon=True).start()
