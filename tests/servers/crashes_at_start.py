"""Crashes before listening, with a traceback on stderr."""
import socket, sys
sk = socket.socket()
sk.bind(("127.0.0.1", int(sys.argv[1])))
raise RuntimeError("database connection failed")
