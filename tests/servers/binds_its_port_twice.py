"""Buggy: its port is already taken when it binds (here by itself: a student
who creates the listening socket twice), so bind() fails with EADDRINUSE."""

import socket
import sys

port = int(sys.argv[1])
first = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
first.bind(("127.0.0.1", port))
second = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
second.bind(("127.0.0.1", port))
second.listen()
