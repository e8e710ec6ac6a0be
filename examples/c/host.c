/* Hosts the MWS gateway over HTTP from a C program until Ctrl-C (SIGINT) or
 * SIGTERM, then stops it gracefully.
 *
 *   usage: host [ADDR] [CONFIG.toml]
 *
 * ADDR defaults to 127.0.0.1:8080 (port 0 picks a free port). Without a
 * config it runs the built-in catalogue on the echo upstream with an
 * in-memory store. Every /v1 request needs an API key, so the host makes one
 * for its clients, as an app embedding the gateway would: a "host" account
 * with $25 of credits and a key, printed with the URL on stdout:
 *
 *   mws host listening on http://127.0.0.1:8080
 *   api key: mws_live_...
 */
#define _POSIX_C_SOURCE 200809L /* sigwait, pthread_sigmask under -std=c11 */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "mws.h"

static int failed(const char *what, mws_status status) {
    fprintf(stderr, "host: %s failed: %s: %s\n", what, mws_status_name(status), mws_last_error());
    return 1;
}

/* Copies the value of the first "name":"..." in flat JSON such as the admin
 * operations return; enough for the ids and the key read here. */
static const char *field(const char *json, const char *name, char *buf, size_t cap) {
    char pattern[64];
    snprintf(pattern, sizeof pattern, "\"%s\":\"", name);
    const char *start = json ? strstr(json, pattern) : NULL;
    buf[0] = '\0';
    if (start != NULL) {
        start += strlen(pattern);
        size_t n = strcspn(start, "\"");
        if (n >= cap) n = cap - 1;
        memcpy(buf, start, n);
        buf[n] = '\0';
    }
    return buf;
}

/* A key on a new account holding $25, written to `key`. */
static mws_status make_key(mws_gateway *gw, char *key, size_t cap) {
    char *json = NULL, account[128];
    mws_status st = mws_admin_create_account(gw, "host", &json);
    field(json, "id", account, sizeof account);
    mws_string_free(json);
    if (st != MWS_OK) return st;
    st = mws_admin_add_credits(gw, account, 25.0, &json);
    mws_string_free(json);
    if (st != MWS_OK) return st;
    st = mws_admin_create_key(gw, account, "host", MWS_NO_LIMIT, MWS_NO_LIMIT, &json);
    field(json, "key", key, cap);
    mws_string_free(json);
    return st;
}

int main(int argc, char **argv) {
    const char *addr = argc > 1 ? argv[1] : "127.0.0.1:8080";
    const char *config = argc > 2 ? argv[2] : NULL;

    /* Block SIGINT and SIGTERM before the library starts its threads (they
     * inherit the mask), then wait for them here with sigwait: no handler
     * runs on a library thread, and stopping happens on this thread. */
    sigset_t stop_signals;
    sigemptyset(&stop_signals);
    sigaddset(&stop_signals, SIGINT);
    sigaddset(&stop_signals, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &stop_signals, NULL);

    /* Request logs on stderr; RUST_LOG chooses the level (default info). */
    mws_log_init(NULL);

    mws_gateway *gw = NULL;
    mws_status st = config ? mws_gateway_from_path(config, &gw) : mws_gateway_new(&gw);
    if (st != MWS_OK) return failed("making the gateway", st);

    char key[128];
    st = make_key(gw, key, sizeof key);
    if (st != MWS_OK) {
        mws_gateway_free(gw);
        return failed("making an API key", st);
    }

    mws_server *server = NULL;
    st = mws_serve(gw, addr, &server);
    if (st != MWS_OK) {
        mws_gateway_free(gw);
        return failed("serving", st);
    }
    char *url = NULL;
    mws_server_url(server, &url);
    printf("mws host listening on %s\napi key: %s\n", url, key);
    fflush(stdout);
    mws_string_free(url);

    int sig = 0;
    sigwait(&stop_signals, &sig);
    fprintf(stderr, "host: %s received; stopping (requests in flight finish first)\n",
            sig == SIGINT ? "SIGINT" : "SIGTERM");
    st = mws_server_stop(server);
    mws_server_free(server);
    mws_gateway_free(gw);
    if (st != MWS_OK) return failed("stopping", st);
    fprintf(stderr, "host: stopped\n");
    return 0;
}
