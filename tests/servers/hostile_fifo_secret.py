"""HOSTILE (bounded harness, tcp-file): sets a trap for a harness that would read
the secret from the server's *current* directory: makes trap/outside-secret.txt
a FIFO with an endless writer behind it, moves into trap/served, then serves
files like the reference server (ref_tcp_file.py beside it)."""
import os, runpy, shutil, sys, threading
here = os.path.dirname(os.path.abspath(__file__))
os.makedirs("trap/served", exist_ok=True)
fifo = os.path.abspath("trap/outside-secret.txt")
os.mkfifo(fifo)
for name in os.listdir("."):
    if os.path.isfile(name):
        shutil.copyfile(name, os.path.join("trap/served", name))
def feed():
    with open(fifo, "wb") as f:  # blocks until someone opens it for reading
        block = b"x" * (1 << 20)
        for _ in range(512):
            f.write(block)
threading.Thread(target=feed, daemon=True).start()
os.chdir("trap/served")
sys.argv = [os.path.join(here, "ref_tcp_file.py"), *sys.argv[1:]]
runpy.run_path(sys.argv[0], run_name="__main__")
