/* Upstream failures through the gateway (502, 503, 504, 413), an error in the
 * middle of a stream, and stopping a stream cancelling the upstream request.
 * The upstreams are stand-ins on 127.0.0.1 (net.c). */
#include <time.h>
#include <unistd.h>

#include "net.h"
#include "tests.h"

/* An OpenAI-kind upstream named `name` on `port`, and a profile of the same
 * name using it. Only the silent one gets a short first-byte timeout: the
 * others must answer in time even on a loaded machine under valgrind. */
static int upstream_toml(char *buf, size_t cap, const char *name, uint16_t port) {
    double first_byte = strcmp(name, "silent") == 0 ? 0.5 : 60;
    return snprintf(buf, cap,
                    "[[upstreams]]\nname = \"%s\"\nkind = \"openai\"\n"
                    "base_url = \"http://127.0.0.1:%u/v1\"\nmax_retries = 0\n"
                    "connect_timeout_secs = 10\nfirst_byte_timeout_secs = %g\n"
                    "[[profiles]]\nid = \"%s\"\nupstream = \"%s\"\nupstream_model = \"m\"\n"
                    "context_window = 8192\ntokens_per_second = 100\n"
                    "input_price_per_mtok = 1\noutput_price_per_mtok = 1\n",
                    name, (unsigned)port, first_byte, name, name);
}

typedef struct {
    fake_upstream silent, busy, big, broken, failing, slow;
    mws_gateway *gw;
} upstreams;

static void start(upstreams *u) {
    CHECK(fake_start(&u->silent, FAKE_SILENT, 0) == 0);
    CHECK(fake_start(&u->busy, FAKE_STATUS, 503) == 0);
    CHECK(fake_start(&u->big, FAKE_STATUS, 413) == 0);
    CHECK(fake_start(&u->failing, FAKE_STATUS, 500) == 0);
    CHECK(fake_start(&u->broken, FAKE_BROKEN_STREAM, 0) == 0);
    CHECK(fake_start(&u->slow, FAKE_SLOW_STREAM, 0) == 0);
    char toml[8192];
    int n = snprintf(toml, sizeof toml,
                     "[store]\nkind = \"memory\"\n[routing]\ndefault_profile = \"down\"\n"
                     "aliases = {}\n");
    n += upstream_toml(toml + n, sizeof toml - (size_t)n, "down", closed_port());
    n += upstream_toml(toml + n, sizeof toml - (size_t)n, "silent", u->silent.port);
    n += upstream_toml(toml + n, sizeof toml - (size_t)n, "busy", u->busy.port);
    n += upstream_toml(toml + n, sizeof toml - (size_t)n, "big", u->big.port);
    n += upstream_toml(toml + n, sizeof toml - (size_t)n, "failing", u->failing.port);
    n += upstream_toml(toml + n, sizeof toml - (size_t)n, "broken", u->broken.port);
    upstream_toml(toml + n, sizeof toml - (size_t)n, "slow", u->slow.port);
    u->gw = NULL;
    CHECK_STATUS(mws_gateway_from_toml(toml, &u->gw), MWS_OK);
}

static void stop(upstreams *u) {
    mws_gateway_free(u->gw);
    fake_stop(&u->silent);
    fake_stop(&u->busy);
    fake_stop(&u->big);
    fake_stop(&u->failing);
    fake_stop(&u->broken);
    fake_stop(&u->slow);
}

static const char *chat_to(const char *model) {
    static char buf[256];
    snprintf(buf, sizeof buf,
             "{\"model\":\"%s\",\"max_tokens\":16,\"messages\":[{\"role\":\"user\","
             "\"content\":\"hi\"}]}",
             model);
    return buf;
}

/* One chat call to `model` must fail with `want` and `http`. */
static void expect_failure(mws_gateway *gw, const char *model, mws_status want, int http) {
    char *out = NULL;
    CHECK_STATUS(mws_chat_completions(gw, chat_to(model), NULL, &out), want);
    CHECK(mws_last_error_http_status() == http);
    CHECK_HAS(out, "\"type\":\"server_error\"");
    mws_string_free(out);
}

void test_upstream_failures(void) {
    upstreams u;
    start(&u);
    char *out = NULL;

    expect_failure(u.gw, "down", MWS_UPSTREAM, 502);
    CHECK_HAS(mws_last_error(), "unreachable");
    expect_failure(u.gw, "failing", MWS_UPSTREAM, 502);
    expect_failure(u.gw, "busy", MWS_OVERLOADED, 503);
    expect_failure(u.gw, "silent", MWS_TIMEOUT, 504);
    CHECK(atomic_load(&u.failing.requests) == 1); /* max_retries = 0 */

    /* 413 from the upstream, Anthropic-shaped on messages. */
    CHECK_STATUS(mws_messages(u.gw, chat_to("big"), NULL, &out), MWS_PAYLOAD_TOO_LARGE);
    CHECK_HAS(out, "\"type\":\"request_too_large\"");
    CHECK(mws_last_error_http_status() == 413);
    mws_string_free(out);

    /* And the same failures when a stream is asked for. */
    mws_stream *s = NULL;
    CHECK_STATUS(mws_messages_stream_open(u.gw, chat_to("busy"), NULL, &s, &out), MWS_OVERLOADED);
    CHECK(s == NULL);
    CHECK_HAS(out, "\"type\":\"overloaded_error\"");
    mws_string_free(out);

    stop(&u);
}

typedef struct {
    char types[16][32];
    char last_data[512];
    int n;
} recorded;

static int record(const char *event_type, const char *data_json, void *user) {
    recorded *r = user;
    if (r->n < 16) snprintf(r->types[r->n], sizeof r->types[0], "%s", event_type);
    snprintf(r->last_data, sizeof r->last_data, "%s", data_json);
    r->n++;
    return 0;
}

void test_mid_stream_error_event(void) {
    upstreams u;
    start(&u);
    char *err = NULL;

    /* OpenAI chunks: the content, then a chunk carrying the error. */
    recorded chat = {0};
    CHECK_STATUS(mws_chat_completions_stream(u.gw, chat_to("broken"), NULL, record, &chat, &err),
                 MWS_OK);
    CHECK(err == NULL);
    CHECK(chat.n >= 2);
    CHECK_STR_EQ(chat.types[0], "chunk");
    CHECK_STR_EQ(chat.types[chat.n - 1], "error");
    CHECK_HAS(chat.last_data, "fake upstream broke");

    /* Anthropic events: an `error` event ends the stream. */
    recorded msgs = {0};
    CHECK_STATUS(mws_messages_stream(u.gw, chat_to("broken"), NULL, record, &msgs, NULL), MWS_OK);
    CHECK_STR_EQ(msgs.types[0], "message_start");
    CHECK_STR_EQ(msgs.types[msgs.n - 1], "error");
    CHECK_HAS(msgs.last_data, "{\"type\":\"error\",\"error\":{");

    stop(&u);
}

/* Waits up to 10 s for the slow upstream to see the gateway hang up. */
static int upstream_cancelled(fake_upstream *slow) {
    for (int i = 0; i < 1000 && !atomic_load(&slow->cancelled); i++) usleep(10 * 1000);
    return atomic_load(&slow->cancelled);
}

static int stop_after_three(const char *event_type, const char *data_json, void *user) {
    (void)event_type;
    (void)data_json;
    return ++*(int *)user >= 3;
}

void test_stopping_a_stream_cancels_the_upstream(void) {
    upstreams u;
    start(&u);
    time_t began = time(NULL);

    /* Callback form: stop after three events. */
    int seen = 0;
    CHECK_STATUS(mws_chat_completions_stream(u.gw, chat_to("slow"), NULL, stop_after_three, &seen,
                                             NULL),
                 MWS_OK);
    CHECK(seen == 3);
    CHECK(upstream_cancelled(&u.slow));

    /* Pull form: free the stream after one event. */
    atomic_store(&u.slow.cancelled, 0);
    mws_stream *s = NULL;
    char *type = NULL, *data = NULL;
    CHECK_STATUS(mws_messages_stream_open(u.gw, chat_to("slow"), NULL, &s, NULL), MWS_OK);
    CHECK_STATUS(mws_stream_next(s, &type, &data), MWS_OK);
    CHECK_STR_EQ(type, "message_start");
    mws_string_free(type);
    mws_string_free(data);
    mws_stream_free(s);
    CHECK(upstream_cancelled(&u.slow));
    CHECK(atomic_load(&u.slow.requests) == 2);
    /* The stand-in streams for 20 s when left alone; both ended long before. */
    CHECK(time(NULL) - began < 18);

    stop(&u);
}
