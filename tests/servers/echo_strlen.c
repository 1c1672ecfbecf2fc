/* BUGGY: a C echo that writes strlen(buf) bytes: the echo of each read stops
   at its first NUL (0x00) byte, so binary data is cut or loses stretches. */
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <netinet/in.h>
#include <sys/socket.h>

static void *handle(void *arg) {
    int conn = (int)(long)arg;
    char buf[4097];
    ssize_t got;
    while ((got = read(conn, buf, 4096)) > 0) {
        buf[got] = 0;
        if (write(conn, buf, strlen(buf)) < 0) break;  /* BUG: strlen stops at the first NUL */
    }
    close(conn);
    return NULL;
}

int main(int argc, char **argv) {
    signal(SIGPIPE, SIG_IGN);
    int listener = socket(AF_INET, SOCK_STREAM, 0), one = 1;
    setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in addr = {0};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = htons(atoi(argv[1]));
    if (bind(listener, (struct sockaddr *)&addr, sizeof addr) || listen(listener, 64)) return 1;
    for (;;) {
        int conn = accept(listener, NULL, NULL);
        if (conn < 0) continue;
        pthread_t thread;
        pthread_create(&thread, NULL, handle, (void *)(long)conn);
        pthread_detach(thread);
    }
}
