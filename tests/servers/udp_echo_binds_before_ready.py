"""A udp-echo server that binds its port, then sets up for 1.5 s before its recvfrom loop (loading data, say):
datagrams sent meanwhile wait in its socket and are answered late. Its one failure, echo::single_message, must
say that the reply came late and why (not "no reply"), and the checks on fresh instances must wait out the
same set-up rather than fail again for it (harness.clients.patience.warm_up)."""
import socket, sys, time

s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.1", int(sys.argv[1])))
time.sleep(1.5)  # the set-up, after bind()
try:
    while True:
        data, address = s.recvfrom(65535)
        s.sendto(data, address)
except KeyboardInterrupt:
    pass
