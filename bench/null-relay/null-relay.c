/*
 * The floor of any user-space multiplexer: a relay that does nothing but copy bytes between each client of its
 * socket and a connection of its own to the daemon, on one epoll thread, with no parsing, queueing or routing.
 * bench/run.sh runs it as the daemon kind "relay" next to "mux" (xenbusd over the same daemon socket): what the
 * relay adds to a round trip is what the extra process hop itself costs on the machine, whatever the multiplexer.
 *
 * Usage: null-relay LISTEN_PATH UPSTREAM_PATH
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

/* Every descriptor's peer, indexed by descriptor: a client's upstream connection and the other way round. */
static int peer[65536];

static int unix_socket(const char *path, int listening)
{
    struct sockaddr_un address = { .sun_family = AF_UNIX };
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0 || strlen(path) >= sizeof(address.sun_path))
        return -1;
    strcpy(address.sun_path, path);
    if (listening) {
        unlink(path);
        if (bind(fd, (struct sockaddr *)&address, sizeof(address)) < 0 || listen(fd, 128) < 0)
            return -1;
    } else if (connect(fd, (struct sockaddr *)&address, sizeof(address)) < 0) {
        close(fd);
        return -1;
    }
    return fd;
}

/* Blocking writes: a relay of a benchmark's small frames, where a full socket buffer is not the case measured. */
static int write_all(int fd, const char *data, ssize_t length)
{
    while (length > 0) {
        ssize_t written = write(fd, data, length);
        if (written < 0 && errno == EINTR)
            continue;
        if (written <= 0)
            return -1;
        data += written;
        length -= written;
    }
    return 0;
}

static void drop(int epoll, int fd)
{
    int other = peer[fd];
    epoll_ctl(epoll, EPOLL_CTL_DEL, fd, NULL);
    epoll_ctl(epoll, EPOLL_CTL_DEL, other, NULL);
    close(fd);
    close(other);
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: %s LISTEN_PATH UPSTREAM_PATH\n", argv[0]);
        return 2;
    }
    int listener = unix_socket(argv[1], 1);
    int epoll = epoll_create1(EPOLL_CLOEXEC);
    if (listener < 0 || epoll < 0) {
        perror("null-relay");
        return 1;
    }
    struct epoll_event event = { .events = EPOLLIN, .data.fd = listener };
    epoll_ctl(epoll, EPOLL_CTL_ADD, listener, &event);
    printf("listening on %s\n", argv[1]);
    fflush(stdout);
    static char buffer[65536];
    struct epoll_event ready[64];
    for (;;) {
        int count = epoll_wait(epoll, ready, 64, -1);
        for (int i = 0; i < count; i++) {
            int fd = ready[i].data.fd;
            if (fd == listener) {
                int client = accept4(listener, NULL, NULL, SOCK_CLOEXEC);
                int upstream = client < 0 ? -1 : unix_socket(argv[2], 0);
                if (upstream < 0 || client >= 65536 || upstream >= 65536) {
                    if (client >= 0)
                        close(client);
                    if (upstream >= 0)
                        close(upstream);
                    continue;
                }
                peer[client] = upstream;
                peer[upstream] = client;
                event.data.fd = client;
                epoll_ctl(epoll, EPOLL_CTL_ADD, client, &event);
                event.data.fd = upstream;
                epoll_ctl(epoll, EPOLL_CTL_ADD, upstream, &event);
                continue;
            }
            ssize_t length = read(fd, buffer, sizeof(buffer));
            if (length <= 0 || write_all(peer[fd], buffer, length) < 0)
                drop(epoll, fd);
        }
    }
}
