"""SEED 001/003 (廖雪峰's tutorial): the UDP greeting server, as published,
adapted only to take its port from argv.

recvfrom(1024): expected to fail conversation::long_name only (the name is cut to
1,024 bytes), and to pass everything else, the empty datagram included.
"""
import socket, sys

s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
# 绑定端口:
s.bind(('127.0.0.1', int(sys.argv[1])))
print('Bind UDP on %s...' % sys.argv[1])
while True:
    # 接收数据:
    data, addr = s.recvfrom(1024)
    print('Received from %s:%s.' % addr)
    s.sendto(b'Hello, %s!' % data, addr)
