"""Binds a UDP socket while the harness expects TCP."""
import socket, sys, time
sk = socket.socket(type=socket.SOCK_DGRAM)
sk.bind(("127.0.0.1", int(sys.argv[1])))
time.sleep(60)
