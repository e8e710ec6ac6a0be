/* Stand-ins for upstreams and a minimal HTTP client, for the C tests. */
#include "net.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static int listen_local(uint16_t *port) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) return -1;
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = 0};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    if (bind(fd, (struct sockaddr *)&a, sizeof a) != 0 || listen(fd, 64) != 0 ||
        getsockname(fd, (struct sockaddr *)&a, &len) != 0) {
        close(fd);
        return -1;
    }
    *port = ntohs(a.sin_port);
    return fd;
}

uint16_t closed_port(void) {
    uint16_t port = 0;
    int fd = listen_local(&port);
    if (fd >= 0) close(fd);
    return port;
}

static int send_all(int fd, const char *s, size_t n) {
    while (n > 0) {
        ssize_t w = send(fd, s, n, MSG_NOSIGNAL);
        if (w <= 0) return -1;
        s += w;
        n -= (size_t)w;
    }
    return 0;
}

/* Reads a whole request: headers, then Content-Length bytes of body. */
static int read_request(int fd) {
    char buf[65536];
    size_t have = 0;
    long want = -1;
    for (;;) {
        ssize_t r = recv(fd, buf + have, sizeof buf - 1 - have, 0);
        if (r <= 0) return -1;
        have += (size_t)r;
        buf[have] = '\0';
        char *end = strstr(buf, "\r\n\r\n");
        if (end != NULL && want < 0) {
            char *cl = strcasestr(buf, "content-length:");
            long body = cl ? strtol(cl + 15, NULL, 10) : 0;
            want = (long)(end - buf) + 4 + body;
        }
        if (want >= 0 && (long)have >= want) return 0;
        if (have >= sizeof buf - 1) return -1;
    }
}

/* True when the peer has hung up (waits up to `ms` for it). */
static int peer_gone(int fd, int ms) {
    struct pollfd p = {.fd = fd, .events = POLLIN};
    if (poll(&p, 1, ms) <= 0) return 0;
    char c;
    ssize_t r = recv(fd, &c, 1, MSG_DONTWAIT);
    return r == 0 || (r < 0 && errno != EAGAIN && errno != EWOULDBLOCK);
}

static const char *CHUNK =
    "data: {\"id\":\"chatcmpl-fake\",\"object\":\"chat.completion.chunk\",\"created\":1,"
    "\"model\":\"m\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"tick %d \"},"
    "\"finish_reason\":null}]}\n\n";

static void serve_one(fake_upstream *u, int c) {
    if (read_request(c) != 0) return;
    atomic_fetch_add(&u->requests, 1);
    char out[1024];
    if (u->mode == FAKE_STATUS) {
        char body[256];
        snprintf(body, sizeof body,
                 "{\"error\":{\"message\":\"fake upstream answers %d\",\"type\":\"fake\"}}",
                 u->status);
        snprintf(out, sizeof out,
                 "HTTP/1.1 %d Fake\r\nContent-Type: application/json\r\nContent-Length: %zu\r\n"
                 "Connection: close\r\n\r\n%s",
                 u->status, strlen(body), body);
        send_all(c, out, strlen(out));
        return;
    }
    const char *head =
        "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nConnection: close\r\n\r\n";
    if (send_all(c, head, strlen(head)) != 0) return;
    if (u->mode == FAKE_BROKEN_STREAM) {
        snprintf(out, sizeof out, CHUNK, 0);
        send_all(c, out, strlen(out));
        const char *err = "data: {\"error\":{\"message\":\"fake upstream broke\"}}\n\n";
        send_all(c, err, strlen(err));
        return;
    }
    for (int i = 0; i < 1000; i++) {
        snprintf(out, sizeof out, CHUNK, i);
        if (send_all(c, out, strlen(out)) != 0 || peer_gone(c, 20)) {
            atomic_store(&u->cancelled, 1);
            return;
        }
    }
    send_all(c, "data: [DONE]\n\n", 14);
}

static void *accept_loop(void *arg) {
    fake_upstream *u = arg;
    while (!atomic_load(&u->stop)) {
        struct pollfd p = {.fd = u->fd, .events = POLLIN};
        if (poll(&p, 1, 50) <= 0) continue;
        int c = accept(u->fd, NULL, NULL);
        if (c < 0) continue;
        serve_one(u, c);
        close(c);
    }
    return NULL;
}

int fake_start(fake_upstream *u, fake_mode mode, int status) {
    memset(u, 0, sizeof *u);
    u->mode = mode;
    u->status = status;
    u->fd = listen_local(&u->port);
    if (u->fd < 0) return -1;
    if (mode == FAKE_SILENT) return 0;
    return pthread_create(&u->thread, NULL, accept_loop, u);
}

void fake_stop(fake_upstream *u) {
    atomic_store(&u->stop, 1);
    if (u->mode != FAKE_SILENT) pthread_join(u->thread, NULL);
    close(u->fd);
}

int http_request(uint16_t port, const char *method, const char *path, const char *extra_headers,
                 const char *body, char **out) {
    *out = NULL;
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
        if (fd >= 0) close(fd);
        return -1;
    }
    size_t blen = body ? strlen(body) : 0;
    size_t cap = 512 + strlen(path) + strlen(extra_headers) + blen;
    char *req = malloc(cap);
    int n = snprintf(req, cap,
                     "%s %s HTTP/1.1\r\nHost: 127.0.0.1:%u\r\nConnection: close\r\n"
                     "Content-Type: application/json\r\nContent-Length: %zu\r\n%s\r\n%s",
                     method, path, (unsigned)port, blen, extra_headers, body ? body : "");
    int sent = send_all(fd, req, (size_t)n);
    free(req);
    if (sent != 0) {
        close(fd);
        return -1;
    }
    size_t have = 0, size = 4096;
    char *resp = malloc(size);
    for (;;) {
        if (have + 1024 > size) resp = realloc(resp, size *= 2);
        ssize_t r = recv(fd, resp + have, size - have - 1, 0);
        if (r <= 0) break;
        have += (size_t)r;
    }
    close(fd);
    resp[have] = '\0';
    int status = -1;
    sscanf(resp, "HTTP/1.1 %d", &status);
    char *start = strstr(resp, "\r\n\r\n");
    *out = strdup(start ? start + 4 : "");
    free(resp);
    return status;
}
