/* A minimal single-threaded epoll TCP echo on 127.0.0.1:PORT, for bench_speed.py --headroom:
   a server fast enough that the load generator, not the server, is the limit. */
#include <sys/epoll.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <unistd.h>
#include <stdlib.h>
#include <fcntl.h>
#include <stdio.h>
int main(int argc, char **argv) {
  int port = atoi(argv[1]);
  int l = socket(AF_INET, SOCK_STREAM, 0); int one = 1;
  setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  struct sockaddr_in a = {0}; a.sin_family = AF_INET; a.sin_port = htons(port); a.sin_addr.s_addr = htonl(0x7f000001);
  if (bind(l, (void*)&a, sizeof a) || listen(l, 128)) { perror("bind"); return 1; }
  int ep = epoll_create1(0); struct epoll_event ev = {.events = EPOLLIN, .data.fd = l};
  epoll_ctl(ep, EPOLL_CTL_ADD, l, &ev);
  struct epoll_event evs[128]; char buf[65536];
  for (;;) {
    int n = epoll_wait(ep, evs, 128, -1);
    for (int i = 0; i < n; i++) {
      int fd = evs[i].data.fd;
      if (fd == l) { int c = accept(l, 0, 0); setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one); struct epoll_event e = {.events = EPOLLIN, .data.fd = c}; epoll_ctl(ep, EPOLL_CTL_ADD, c, &e); continue; }
      ssize_t r = read(fd, buf, sizeof buf);
      if (r <= 0) { close(fd); continue; }
      ssize_t off = 0; while (off < r) { ssize_t w = write(fd, buf + off, r - off); if (w <= 0) break; off += w; }
    }
  }
}
