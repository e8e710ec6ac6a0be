/* In-process calls of every JSON endpoint, and their errors in each shape. */
#include "tests.h"

void test_every_endpoint(void) {
    mws_gateway *gw = NULL;
    char *out = NULL;
    CHECK_STATUS(mws_gateway_new(&gw), MWS_OK);

    CHECK_STATUS(mws_chat_completions(gw, CHAT_HELLO, NULL, &out), MWS_OK);
    CHECK_HAS(out, "\"object\":\"chat.completion\"");
    CHECK_HAS(out, "Hello from C");
    CHECK_HAS(out, "\"model\":\"dragon\"");
    mws_string_free(out);

    CHECK_STATUS(mws_messages(gw, MESSAGES_HELLO, NULL, &out), MWS_OK);
    CHECK_HAS(out, "\"type\":\"message\"");
    CHECK_HAS(out, "Hello from C");
    CHECK_HAS(out, "\"model\":\"claude-sonnet-4-6\""); /* the name the caller sent */
    CHECK_HAS(out, "\"stop_reason\":\"end_turn\"");
    mws_string_free(out);

    /* 4 characters a token: 40 characters of text are at least 10 tokens. */
    CHECK_STATUS(mws_count_tokens(gw,
                                  "{\"model\":\"dragon\",\"messages\":[{\"role\":\"user\","
                                  "\"content\":\"0123456789012345678901234567890123456789\"}]}",
                                  NULL, &out),
                 MWS_OK);
    CHECK(json_num(out, "input_tokens") >= 10);
    mws_string_free(out);

    CHECK_STATUS(mws_embeddings(gw, "{\"model\":\"dragon\",\"input\":[\"a\",\"b\"]}", NULL, &out),
                 MWS_OK);
    CHECK_HAS(out, "\"object\":\"list\"");
    CHECK(count_of(out, "\"object\":\"embedding\"") == 2);
    mws_string_free(out);

    CHECK_STATUS(mws_rerank(gw,
                            "{\"model\":\"dragon\",\"query\":\"dragons\",\"documents\":"
                            "[\"about cats\",\"about dragons\",\"about dogs\"],\"top_n\":2}",
                            NULL, &out),
                 MWS_OK);
    CHECK(count_of(out, "\"relevance_score\"") == 2);
    mws_string_free(out);

    CHECK_STATUS(mws_models(gw, NULL, NULL, &out), MWS_OK);
    CHECK_HAS(out, "\"object\":\"list\"");
    CHECK_HAS(out, "\"id\":\"dragon-coder\"");
    mws_string_free(out);

    CHECK_STATUS(mws_models(gw, "dragon-pro", NULL, &out), MWS_OK);
    CHECK_HAS(out, "\"id\":\"dragon-pro\"");
    CHECK(json_num(out, "context_window") == 128000);
    mws_string_free(out);

    mws_gateway_free(gw);
}

void test_request_errors_in_each_shape(void) {
    mws_gateway *gw = NULL;
    char *out = NULL;
    CHECK_STATUS(mws_gateway_new(&gw), MWS_OK);

    /* Anthropic-shaped on messages: max_tokens is required. */
    CHECK_STATUS(mws_messages(gw,
                              "{\"model\":\"dragon\",\"messages\":[{\"role\":\"user\","
                              "\"content\":\"hi\"}]}",
                              NULL, &out),
                 MWS_INVALID_REQUEST);
    CHECK_HAS(out, "{\"type\":\"error\",\"error\":{\"type\":\"invalid_request_error\"");
    CHECK_HAS(out, "max_tokens");
    CHECK_HAS(mws_last_error(), "max_tokens");
    CHECK_STR_EQ(mws_last_error_type(), "invalid_request_error");
    CHECK(mws_last_error_http_status() == 400);
    mws_string_free(out);

    /* OpenAI-shaped on chat completions, with the field in `param`. */
    CHECK_STATUS(mws_chat_completions(gw, "{\"model\":\"dragon\",\"messages\":\"nope\"}", NULL,
                                      &out),
                 MWS_INVALID_REQUEST);
    CHECK_HAS(out, "{\"error\":{\"message\":");
    CHECK_HAS(out, "\"param\":\"messages\"");
    mws_string_free(out);

    /* A non-stream call with stream: true is a clear 400 naming `stream`. */
    CHECK_STATUS(mws_chat_completions(gw,
                                      "{\"model\":\"dragon\",\"stream\":true,\"messages\":"
                                      "[{\"role\":\"user\",\"content\":\"hi\"}]}",
                                      NULL, &out),
                 MWS_INVALID_REQUEST);
    CHECK_HAS(out, "\"param\":\"stream\"");
    mws_string_free(out);

    /* Valid JSON of the wrong kind is the gateway's 400, not a bad argument. */
    CHECK_STATUS(mws_embeddings(gw, "[1,2,3]", NULL, &out), MWS_INVALID_REQUEST);
    mws_string_free(out);

    /* The last error is per call: a success after a failure clears it. */
    CHECK_STATUS(mws_models(gw, NULL, NULL, &out), MWS_OK);
    CHECK_STR_EQ(mws_last_error(), "");
    mws_string_free(out);

    mws_gateway_free(gw);
}

void test_models_and_not_found(void) {
    mws_gateway *gw = NULL;
    char *out = NULL;
    CHECK_STATUS(mws_gateway_new(&gw), MWS_OK);

    /* An alias resolves to its profile; an unknown id is 404. */
    CHECK_STATUS(mws_models(gw, "gpt-4o", NULL, &out), MWS_OK);
    mws_string_free(out);
    CHECK_STATUS(mws_models(gw, "no-such-model", NULL, &out), MWS_NOT_FOUND);
    CHECK_HAS(out, "no-such-model");
    CHECK_HAS(out, "\"param\":\"model\"");
    CHECK(mws_last_error_http_status() == 404);
    CHECK_STR_EQ(mws_last_error_type(), "invalid_request_error");
    mws_string_free(out);

    mws_gateway_free(gw);
}
