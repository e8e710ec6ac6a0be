/* Stand-ins for upstreams, all on 127.0.0.1, and a minimal HTTP client. */
#ifndef MWS_NET_H
#define MWS_NET_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

typedef enum {
    /* Listens but never accepts: the request is never answered (504). */
    FAKE_SILENT,
    /* Answers every request with `status` and an OpenAI-style error body. */
    FAKE_STATUS,
    /* Streams OpenAI chunks "tick N " every 20 ms for about 20 s, and notes
     * when the gateway hangs up before the end (`cancelled`). */
    FAKE_SLOW_STREAM,
    /* Streams one chunk, then a chunk carrying an `error`. */
    FAKE_BROKEN_STREAM,
} fake_mode;

typedef struct {
    fake_mode mode;
    int status;
    int fd;
    uint16_t port;
    pthread_t thread;
    atomic_int stop;
    atomic_int requests;
    atomic_int cancelled;
} fake_upstream;

/* Starts listening on 127.0.0.1:0; returns 0 on success. */
int fake_start(fake_upstream *u, fake_mode mode, int status);
void fake_stop(fake_upstream *u);

/* A port on 127.0.0.1 with nothing listening (bound, read, closed). */
uint16_t closed_port(void);

/* One HTTP/1.1 request to 127.0.0.1:port with `Connection: close`; `body` may
 * be NULL, `extra_headers` is "" or lines ending in "\r\n". Returns the status
 * (or -1 when it cannot connect) and the response body in `out` (malloc'ed,
 * free it). */
int http_request(uint16_t port, const char *method, const char *path, const char *extra_headers,
                 const char *body, char **out);

#endif
