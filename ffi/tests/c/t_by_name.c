/* Endpoints called by their names (mws_call, mws_call_stream,
 * mws_call_stream_open): the Responses API (a response, its retrieval, its
 * continuation, its input items, its deletion, its stream) and the names the
 * library refuses. */
#include "tests.h"

#define RESPONSES_HELLO "{\"model\":\"dragon\",\"input\":\"Hello from C\"}"

void test_call_by_name(void) {
    mws_gateway *gw = NULL;
    char *out = NULL;
    CHECK_STATUS(mws_gateway_new(&gw), MWS_OK);

    /* The echo answers with the input, as the text of the one message. */
    CHECK_STATUS(mws_call(gw, "responses", NULL, RESPONSES_HELLO, NULL, &out), MWS_OK);
    CHECK_HAS(out, "\"object\":\"response\"");
    CHECK_HAS(out, "\"status\":\"completed\"");
    CHECK_HAS(out, "\"type\":\"output_text\",\"text\":\"Hello from C\"");
    char *id = json_str(out, "id");
    CHECK(id != NULL && strncmp(id, "resp_", 5) == 0);
    mws_string_free(out);

    /* Stored: retrieved by its id. */
    CHECK_STATUS(mws_call(gw, "response", id, NULL, NULL, &out), MWS_OK);
    char *again = json_str(out, "id");
    CHECK_STR_EQ(again, id);
    free(again);
    CHECK_HAS(out, "\"text\":\"Hello from C\"");
    mws_string_free(out);

    /* Continued: the earlier turn is part of the new response's input. */
    char request[256];
    snprintf(request, sizeof request,
             "{\"model\":\"dragon\",\"input\":\"And again\",\"previous_response_id\":\"%s\"}", id);
    CHECK_STATUS(mws_call(gw, "responses", NULL, request, NULL, &out), MWS_OK);
    CHECK_HAS(out, "\"text\":\"And again\"");
    char *second = json_str(out, "id");
    mws_string_free(out);
    CHECK_STATUS(mws_call(gw, "response_input_items", second, NULL, NULL, &out), MWS_OK);
    CHECK_HAS(out, "\"object\":\"list\"");
    CHECK_HAS(out, "\"content\":\"And again\"");
    CHECK_HAS(out, "\"content\":\"Hello from C\"");
    CHECK_HAS(out, "\"has_more\":false");
    mws_string_free(out);
    /* The paging query: the oldest item alone. */
    CHECK_STATUS(mws_call(gw, "response_input_items", second, "{\"limit\":1,\"order\":\"asc\"}",
                          NULL, &out),
                 MWS_OK);
    CHECK_HAS(out, "\"content\":\"Hello from C\"");
    CHECK(strstr(out, "And again") == NULL);
    CHECK_HAS(out, "\"has_more\":true");
    mws_string_free(out);

    CHECK_STATUS(mws_call(gw, "responses_input_tokens", NULL, RESPONSES_HELLO, NULL, &out),
                 MWS_OK);
    CHECK_HAS(out, "\"object\":\"response.input_tokens\"");
    CHECK(json_num(out, "input_tokens") == 3); /* 12 characters, 4 a token */
    mws_string_free(out);

    /* Deleted: then not found, with the OpenAI error body and a 404. */
    CHECK_STATUS(mws_call(gw, "delete_response", id, NULL, NULL, &out), MWS_OK);
    CHECK_HAS(out, "\"deleted\":true");
    mws_string_free(out);
    CHECK_STATUS(mws_call(gw, "response", id, NULL, NULL, &out), MWS_NOT_FOUND);
    CHECK_HAS(out, "{\"error\":{\"message\":");
    CHECK_HAS(out, id);
    CHECK(mws_last_error_http_status() == 404);
    CHECK_STR_EQ(mws_last_error_type(), "invalid_request_error");
    mws_string_free(out);

    /* The other endpoints by name too. */
    CHECK_STATUS(mws_call(gw, "chat_completions", NULL, CHAT_HELLO, NULL, &out), MWS_OK);
    CHECK_HAS(out, "\"object\":\"chat.completion\"");
    mws_string_free(out);
    CHECK_STATUS(mws_call(gw, "models", "dragon-pro", NULL, NULL, &out), MWS_OK);
    CHECK_HAS(out, "\"id\":\"dragon-pro\"");
    mws_string_free(out);
    CHECK_STATUS(mws_call(gw, "models", NULL, NULL, NULL, &out), MWS_OK);
    CHECK_HAS(out, "\"object\":\"list\"");
    mws_string_free(out);
    /* A gateway error of a Responses endpoint, with its body. */
    CHECK_STATUS(mws_call(gw, "responses", NULL, "{\"model\":\"dragon\"}", NULL, &out),
                 MWS_INVALID_REQUEST);
    CHECK_HAS(out, "\"param\":\"input\"");
    mws_string_free(out);

    free(second);
    free(id);
    mws_gateway_free(gw);
}

typedef struct {
    int events, created, completed, terminal;
    int in_order; /* 1 while every sequence_number is above the one before */
    double last_seq;
    char first[64], last[64];
    char text[256];
} responses_seen;

static int on_responses_event(const char *type, const char *data, void *user) {
    responses_seen *r = user;
    if (r->events++ == 0) {
        snprintf(r->first, sizeof r->first, "%s", type);
        r->in_order = 1;
        r->last_seq = -1;
    }
    snprintf(r->last, sizeof r->last, "%s", type);
    /* The event type is the data's own `type`. */
    char *own = json_str(data, "type");
    CHECK_STR_EQ(own, type);
    free(own);
    double seq = json_num(data, "sequence_number");
    if (!(seq > r->last_seq)) r->in_order = 0;
    r->last_seq = seq;
    if (strcmp(type, "response.created") == 0) r->created++;
    if (strcmp(type, "response.completed") == 0) r->completed++;
    if (strcmp(type, "response.completed") == 0 || strcmp(type, "response.incomplete") == 0 ||
        strcmp(type, "response.failed") == 0)
        r->terminal++;
    if (strcmp(type, "response.output_text.delta") == 0) {
        char *t = json_str(data, "delta");
        if (t != NULL && strlen(r->text) + strlen(t) < sizeof r->text) strcat(r->text, t);
        free(t);
    }
    CHECK(strstr(data, "[DONE]") == NULL);
    return 0;
}

void test_call_stream_by_name(void) {
    mws_gateway *gw = NULL;
    char *err = (char *)"untouched";
    CHECK_STATUS(mws_gateway_new(&gw), MWS_OK);

    responses_seen r = {0};
    CHECK_STATUS(mws_call_stream(gw, "responses", RESPONSES_HELLO, NULL, on_responses_event, &r,
                                 &err),
                 MWS_OK);
    CHECK(err == NULL);
    CHECK_STR_EQ(r.first, "response.created");
    CHECK_STR_EQ(r.last, "response.completed");
    CHECK(r.created == 1 && r.completed == 1 && r.terminal == 1);
    CHECK(r.events >= 8);
    CHECK(r.in_order == 1);
    CHECK(r.last_seq == r.events - 1); /* 0, 1, 2, ... */
    CHECK_STR_EQ(r.text, "Hello from C");

    /* The pull form gives the same events. */
    mws_stream *s = NULL;
    char *type = NULL, *data = NULL;
    CHECK_STATUS(mws_call_stream_open(gw, "responses", RESPONSES_HELLO, NULL, &s, NULL), MWS_OK);
    responses_seen p = {0};
    for (;;) {
        CHECK_STATUS(mws_stream_next(s, &type, &data), MWS_OK);
        if (type == NULL) break;
        on_responses_event(type, data, &p);
        mws_string_free(type);
        mws_string_free(data);
    }
    mws_stream_free(s);
    CHECK_STR_EQ(p.first, "response.created");
    CHECK_STR_EQ(p.last, "response.completed");
    CHECK(p.events == r.events && p.in_order == 1 && p.terminal == 1);
    CHECK_STR_EQ(p.text, "Hello from C");

    /* The other streaming endpoints by name: Anthropic events, OpenAI chunks. */
    int events = 0;
    CHECK_STATUS(mws_call_stream_open(gw, "messages", MESSAGES_HELLO, NULL, &s, NULL), MWS_OK);
    CHECK_STATUS(mws_stream_next(s, &type, &data), MWS_OK);
    CHECK_STR_EQ(type, "message_start");
    mws_string_free(type);
    mws_string_free(data);
    mws_stream_free(s); /* before its end */
    CHECK_STATUS(mws_call_stream_open(gw, "chat_completions", CHAT_HELLO, NULL, &s, NULL), MWS_OK);
    while (mws_stream_next(s, &type, &data) == MWS_OK && type != NULL) {
        CHECK_STR_EQ(type, "chunk");
        events++;
        mws_string_free(type);
        mws_string_free(data);
    }
    mws_stream_free(s);
    CHECK(events >= 2);

    /* An error before the stream began: the status and the Responses error body. */
    CHECK_STATUS(mws_call_stream(gw, "responses", "{\"model\":\"dragon\"}", NULL,
                                 on_responses_event, &p, &err),
                 MWS_INVALID_REQUEST);
    CHECK_HAS(err, "{\"error\":{\"message\":");
    CHECK_HAS(err, "\"param\":\"input\"");
    mws_string_free(err);

    mws_gateway_free(gw);
}

static int never_called(const char *type, const char *data, void *user) {
    (void)type;
    (void)data;
    ++*(int *)user;
    return 1;
}

void test_unknown_endpoint_names(void) {
    mws_gateway *gw = NULL;
    char *out = (char *)"untouched";
    CHECK_STATUS(mws_gateway_new(&gw), MWS_OK);

    CHECK_STATUS(mws_call(gw, "no_such_endpoint", NULL, "{}", NULL, &out), MWS_INVALID_ARGUMENT);
    CHECK(out == NULL);
    CHECK_HAS(mws_last_error(), "unknown endpoint \"no_such_endpoint\"");
    CHECK_HAS(mws_last_error(), "responses, responses_input_tokens"); /* the names, listed */
    CHECK_STR_EQ(mws_last_error_type(), "invalid_argument");
    CHECK(mws_last_error_http_status() == 0);
    CHECK_STATUS(mws_call(gw, NULL, NULL, "{}", NULL, &out), MWS_INVALID_ARGUMENT);
    CHECK_HAS(mws_last_error(), "endpoint is NULL");
    CHECK_STATUS(mws_call(gw, "response", NULL, NULL, NULL, &out), MWS_INVALID_ARGUMENT);
    CHECK_HAS(mws_last_error(), "the endpoint \"response\" needs an id");
    CHECK_STATUS(mws_call(gw, "responses", "resp_x", RESPONSES_HELLO, NULL, &out),
                 MWS_INVALID_ARGUMENT);
    CHECK_HAS(mws_last_error(), "the endpoint \"responses\" takes no id");
    CHECK_STATUS(mws_call(gw, "responses", NULL, NULL, NULL, &out), MWS_INVALID_ARGUMENT);
    CHECK_HAS(mws_last_error(), "request_json is NULL");
    CHECK_STATUS(mws_call(gw, "response_input_items", "resp_x", "{not json", NULL, &out),
                 MWS_INVALID_ARGUMENT);
    CHECK_HAS(mws_last_error(), "request_json is not valid JSON");
    CHECK(out == NULL);

    int seen = 0;
    char *err = (char *)"untouched";
    CHECK_STATUS(mws_call_stream(gw, "Responses", RESPONSES_HELLO, NULL, never_called, &seen,
                                 &err),
                 MWS_INVALID_ARGUMENT);
    CHECK_HAS(mws_last_error(), "unknown endpoint \"Responses\"");
    CHECK(err == NULL && seen == 0);
    CHECK_STATUS(mws_call_stream(gw, "embeddings", "{\"model\":\"dragon\",\"input\":\"a\"}", NULL,
                                 never_called, &seen, NULL),
                 MWS_INVALID_ARGUMENT);
    CHECK_HAS(mws_last_error(), "the endpoint \"embeddings\" does not stream");
    CHECK(seen == 0);

    mws_stream *s = (mws_stream *)&seen; /* set to NULL by the call */
    CHECK_STATUS(mws_call_stream_open(gw, "response", RESPONSES_HELLO, NULL, &s, &err),
                 MWS_INVALID_ARGUMENT);
    CHECK_HAS(mws_last_error(), "the endpoint \"response\" does not stream");
    CHECK(s == NULL && err == NULL);
    CHECK_STATUS(mws_call_stream_open(gw, NULL, RESPONSES_HELLO, NULL, &s, NULL),
                 MWS_INVALID_ARGUMENT);
    CHECK_HAS(mws_last_error(), "endpoint is NULL");

    mws_gateway_free(gw);
}
