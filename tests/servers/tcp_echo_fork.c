/* GOOD (from an outside tester): fork per client in C, children reaped by a SIGCHLD
   handler, no signal handling of its own; the group SIGTERM ends them all.
   Compiled by the test that uses it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <netinet/in.h>
static void reap(int s){ while (waitpid(-1,0,WNOHANG)>0); }
int main(int argc, char **argv){
  signal(SIGCHLD, reap);
  int s = socket(AF_INET, SOCK_STREAM, 0), one = 1;
  setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  struct sockaddr_in a = {0}; a.sin_family = AF_INET; a.sin_port = htons(atoi(argv[1]));
  a.sin_addr.s_addr = htonl(0x7f000001);
  if (bind(s, (void*)&a, sizeof a) < 0) { perror("bind"); return 1; }
  listen(s, 128);
  for (;;) {
    int c = accept(s, 0, 0);
    if (c < 0) continue;
    if (fork() == 0) { close(s); char b[65536]; ssize_t n;
      while ((n = read(c, b, sizeof b)) > 0) { char *p = b; while (n > 0) { ssize_t w = write(c, p, n); if (w <= 0) _exit(0); p += w; n -= w; } }
      _exit(0); }
    close(c);
  }
}
