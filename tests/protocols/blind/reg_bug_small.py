"""BUG: recvfrom(1024) cuts long requests."""
import socket, sys, time
registry = {}
def answer(text):
    parts = text.split(" ", 2)
    if text == "":
        return "ERR empty request"
    if parts[0] == "TIME" and len(parts) == 1:
        return "TIME %.3f" % time.time()
    if parts[0] == "REG" and len(parts) == 3:
        registry[parts[1]] = parts[2]; return "OK"
    if parts[0] == "UNREG" and len(parts) == 2:
        registry.pop(parts[1], None); return "OK"
    if parts[0] == "LOOKUP" and len(parts) == 2:
        a = registry.get(parts[1]); return "NOTFOUND " + parts[1] if a is None else "AT " + a
    return "ERR bad request"
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1])))
try:
    while True:
        data, addr = s.recvfrom(1024)     # BUG: too small
        s.sendto(answer(data.decode("utf-8", "replace")).encode(), addr)
except KeyboardInterrupt:
    pass
