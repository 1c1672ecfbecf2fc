"""SEED 001 (廖雪峰's tutorial, cnblogs lambdaCheN/p/7783507): the TCP greeting server,
as published, adapted only to run: it takes its port from argv, and the three
transcription slips that stop it from running at all are fixed (socket.STREAM
-> socket.SOCK_STREAM; the handler `tcplick` renamed to the `tcplink` it is
called by, and defined before the accept loop that never returns).

Unframed (no delimiter), time.sleep(2) before each reply, recv(1024). Expected
under `--hello-mode unframed --reply-timeout 5`: every required check passes
except conversation::long_name (the 4,000-byte name is cut by recv(1024) into four
replies); framing::coalesced_messages shows b'Hello, AliceBob!' (粘包).
"""
# Server.py
import socket, threading, time, sys

#实现tcplink
def tcplink(sock,addr):
    print('Accept new connection from %s:%s...' % addr) #注意,这里addr包含服务器地址和客户端地址
    sock.send(b'Welcome') #向客户端发送欢迎消息
    while True:
        data = sock.recv(1024)
        time.sleep(2)
        if not data or data.decode('utf-8')=='exit':
            break
        send_text = 'Hello, %s!' % data.decode('utf-8')
        sock.send(send_text.encode('utf-8'))
    sock.close()
    print('Connection from %s:%s closed.' % addr)

#(1)
s = socket.socket(socket.AF_INET,socket.SOCK_STREAM)
#(2)
s.bind(('127.0.0.1',int(sys.argv[1]))) #注意,bind()方法参数是一个元组
#(3)
s.listen(5)
#(4)
while True:
    sock,addr = s.accept()
    #用线程实现每个客户端的连接信息接收,互不干扰
    t = threading.Thread(target=tcplink,args=(sock,addr))
    t.start()
