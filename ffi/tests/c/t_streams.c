/* Streams on the echo upstream: callbacks, stopping early, calling back into
 * the library from a callback, the pull form, and errors before the start. */
#include "tests.h"

typedef struct {
    int events;
    int starts, stops, chunks;
    char text[1024]; /* the text deltas, concatenated */
} collected;

/* Appends the value of every "text":"..." / "content":"..." in `data`. */
static void append_text(collected *c, const char *data, const char *key) {
    char *t = json_str(data, key);
    if (t != NULL && strlen(c->text) + strlen(t) < sizeof c->text) strcat(c->text, t);
    free(t);
}

static int on_message_event(const char *type, const char *data, void *user) {
    collected *c = user;
    c->events++;
    if (strcmp(type, "message_start") == 0) c->starts++;
    if (strcmp(type, "message_stop") == 0) c->stops++;
    if (strcmp(type, "content_block_delta") == 0) append_text(c, data, "text");
    /* The event type is the data's own `type`. */
    char *own = json_str(data, "type");
    CHECK_STR_EQ(own, type);
    free(own);
    return 0;
}

static int on_chunk(const char *type, const char *data, void *user) {
    collected *c = user;
    c->events++;
    CHECK_STR_EQ(type, "chunk");
    CHECK_HAS(data, "\"object\":\"chat.completion.chunk\"");
    CHECK(strstr(data, "[DONE]") == NULL);
    if (strstr(data, "\"finish_reason\":\"stop\"") != NULL) c->stops++;
    append_text(c, data, "content");
    c->chunks++;
    return 0;
}

void test_callback_streams(void) {
    mws_gateway *gw = NULL;
    char *err = (char *)"untouched";
    CHECK_STATUS(mws_gateway_new(&gw), MWS_OK);

    collected m = {0};
    CHECK_STATUS(mws_messages_stream(gw, MESSAGES_HELLO, NULL, on_message_event, &m, &err),
                 MWS_OK);
    CHECK(err == NULL);
    CHECK(m.starts == 1 && m.stops == 1 && m.events >= 5);
    CHECK_STR_EQ(m.text, "Hello from C");

    /* `stream: true` is optional for the streaming calls. */
    collected c = {0};
    CHECK_STATUS(mws_chat_completions_stream(gw, CHAT_HELLO, NULL, on_chunk, &c, NULL), MWS_OK);
    CHECK(c.chunks >= 2 && c.stops == 1);
    CHECK_STR_EQ(c.text, "Hello from C");

    mws_gateway_free(gw);
}

static int stop_at_once(const char *type, const char *data, void *user) {
    (void)type;
    (void)data;
    ++*(int *)user;
    return 1;
}

void test_stop_stream_early(void) {
    mws_gateway *gw = accounts_gateway();
    char *account = NULL, *out = NULL;
    char *key = funded_key(gw, &account);

    int seen = 0;
    CHECK_STATUS(mws_messages_stream(gw, MESSAGES_HELLO, key, stop_at_once, &seen, NULL), MWS_OK);
    CHECK(seen == 1);
    seen = 0;
    CHECK_STATUS(mws_chat_completions_stream(gw, CHAT_HELLO, key, stop_at_once, &seen, NULL),
                 MWS_OK);
    CHECK(seen == 1);
    /* The key still works afterwards, and a full stream runs on it. */
    collected c = {0};
    CHECK_STATUS(mws_chat_completions_stream(gw, CHAT_HELLO, key, on_chunk, &c, NULL), MWS_OK);
    CHECK(c.stops == 1);
    CHECK_STATUS(mws_admin_usage(gw, account, &out), MWS_OK);
    CHECK_HAS(out, "\"account_id\"");
    mws_string_free(out);

    free(key);
    free(account);
    mws_gateway_free(gw);
}

typedef struct {
    mws_gateway *gw;
    int calls_ok;
} reentry;

static int call_back_in(const char *type, const char *data, void *user) {
    (void)data;
    reentry *r = user;
    if (strcmp(type, "message_start") != 0) return 0;
    char *out = NULL;
    if (mws_count_tokens(r->gw, MESSAGES_HELLO, NULL, &out) == MWS_OK &&
        strstr(out, "input_tokens") != NULL)
        r->calls_ok++;
    mws_string_free(out);
    return 0;
}

void test_callback_may_call_back(void) {
    reentry r = {NULL, 0};
    CHECK_STATUS(mws_gateway_new(&r.gw), MWS_OK);
    CHECK_STATUS(mws_messages_stream(r.gw, MESSAGES_HELLO, NULL, call_back_in, &r, NULL), MWS_OK);
    CHECK(r.calls_ok == 1);
    mws_gateway_free(r.gw);
}

void test_pull_streams(void) {
    mws_gateway *gw = NULL;
    CHECK_STATUS(mws_gateway_new(&gw), MWS_OK);
    mws_stream *s = NULL;
    char *type = NULL, *data = NULL;

    CHECK_STATUS(mws_messages_stream_open(gw, MESSAGES_HELLO, NULL, &s, NULL), MWS_OK);
    collected m = {0};
    char first[64] = "", last[64] = "";
    for (;;) {
        CHECK_STATUS(mws_stream_next(s, &type, &data), MWS_OK);
        if (type == NULL) break;
        if (m.events++ == 0) snprintf(first, sizeof first, "%s", type);
        snprintf(last, sizeof last, "%s", type);
        if (strcmp(type, "content_block_delta") == 0) append_text(&m, data, "text");
        mws_string_free(type);
        mws_string_free(data);
    }
    CHECK(data == NULL);
    CHECK_STR_EQ(first, "message_start");
    CHECK_STR_EQ(last, "message_stop");
    CHECK_STR_EQ(m.text, "Hello from C");
    /* An ended stream stays ended. */
    CHECK_STATUS(mws_stream_next(s, &type, &data), MWS_OK);
    CHECK(type == NULL && data == NULL);
    mws_stream_free(s);

    CHECK_STATUS(mws_chat_completions_stream_open(gw, CHAT_HELLO, NULL, &s, NULL), MWS_OK);
    collected c = {0};
    while (mws_stream_next(s, &type, &data) == MWS_OK && type != NULL) {
        on_chunk(type, data, &c);
        mws_string_free(type);
        mws_string_free(data);
    }
    CHECK_STR_EQ(c.text, "Hello from C");
    mws_stream_free(s);

    mws_gateway_free(gw);
}

void test_stream_errors_before_start(void) {
    mws_gateway *gw = accounts_gateway();
    char *err = NULL;
    int seen = 0;

    CHECK_STATUS(mws_messages_stream(gw, MESSAGES_HELLO, "mws_live_bad", stop_at_once, &seen, &err),
                 MWS_AUTHENTICATION);
    CHECK(seen == 0);
    CHECK_HAS(err, "\"type\":\"authentication_error\"");
    mws_string_free(err);

    mws_stream *s = NULL;
    CHECK_STATUS(mws_chat_completions_stream_open(gw, "{\"model\":\"dragon\"}", NULL, &s, &err),
                 MWS_INVALID_REQUEST);
    CHECK(s == NULL);
    CHECK_HAS(err, "\"param\":\"messages\"");
    mws_string_free(err);

    /* Without an out-parameter for the body, the status and message remain. */
    CHECK_STATUS(mws_chat_completions_stream(gw, "{\"model\":\"dragon\"}", NULL, stop_at_once,
                                             &seen, NULL),
                 MWS_INVALID_REQUEST);
    CHECK_HAS(mws_last_error(), "messages");

    mws_gateway_free(gw);
}
