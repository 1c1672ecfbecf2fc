"""Buggy: binds a LAN address, as seed 004's UDP speed test does
(`tcp_server.bind(("192.168.20.216", 7890))`): on any other machine, and in
the harness's loopback-only network, bind() fails with EADDRNOTAVAIL."""

import socket

server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
server.bind(("192.168.20.216", 7890))
server.listen()
while True:
    conn, _ = server.accept()
    conn.close()
