"""From an outside tester: seed 001's greeting server (廖雪峰), typos fixed,
time.sleep(2) removed; the tester's copy hard-codes port 9999, this one takes
its fixed port from argv (run with --port). No SO_REUSEADDR, and its `exit`
makes the server close first: the harness's own connections must leave no
TIME_WAIT on its side, or every later instance fails to bind. Verdicts: only
its real bugs (non-daemon threads at Ctrl+C, no SO_REUSEADDR, recv(1024))."""
import socket, sys, threading, time
def tcplink(sock, addr):
    print('Accept new connection from %s:%s...' % addr)
    sock.send(b'Welcome')
    while True:
        data = sock.recv(1024)
        if not data or data.decode('utf-8') == 'exit':
            break
        send_text = 'Hello, %s!' % data.decode('utf-8')
        sock.send(send_text.encode('utf-8'))
    sock.close()
    print('Connection from %s:%s closed.' % addr)
s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
s.bind(('127.0.0.1', int(sys.argv[1])))
s.listen(5)
while True:
    sock, addr = s.accept()
    t = threading.Thread(target=tcplink, args=(sock, addr))
    t.start()
