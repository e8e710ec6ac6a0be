/* Version, status names, bad arguments at the ABI, constructors, logging. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "tests.h"

void test_version_and_status_names(void) {
    CHECK_STR_EQ(mws_version(), MWS_VERSION);
    CHECK(MWS_OK == 0);
    CHECK_STR_EQ(mws_status_name(MWS_OK), "MWS_OK");
    CHECK_STR_EQ(mws_status_name(MWS_INVALID_REQUEST), "MWS_INVALID_REQUEST");
    CHECK_STR_EQ(mws_status_name(MWS_PERMISSION_DENIED), "MWS_PERMISSION_DENIED");
    CHECK_STR_EQ(mws_status_name(MWS_METHOD_NOT_ALLOWED), "MWS_METHOD_NOT_ALLOWED");
    CHECK_STR_EQ(mws_status_name(MWS_TIMEOUT), "MWS_TIMEOUT");
    CHECK_STR_EQ(mws_status_name(MWS_INVALID_ARGUMENT), "MWS_INVALID_ARGUMENT");
    CHECK_STR_EQ(mws_status_name(99), "MWS_UNKNOWN");
    /* The twelve kinds in HTTP order between MWS_OK and MWS_INVALID_ARGUMENT. */
    CHECK(MWS_INVALID_REQUEST == 1 && MWS_TIMEOUT == 12 && MWS_INVALID_ARGUMENT == 13);
    /* Nothing failed on this thread yet in this test's sense: a success clears. */
    mws_gateway *gw = NULL;
    CHECK_STATUS(mws_gateway_new(&gw), MWS_OK);
    CHECK_STR_EQ(mws_last_error(), "");
    CHECK_STR_EQ(mws_last_error_type(), "");
    CHECK(mws_last_error_http_status() == 0);
    mws_gateway_free(gw);
}

/* A call that must refuse an argument: MWS_INVALID_ARGUMENT, a message naming
 * it, type "invalid_argument" and no HTTP status. */
#define CHECK_ARG(call, name)                                                          \
    do {                                                                               \
        CHECK_STATUS(call, MWS_INVALID_ARGUMENT);                                      \
        CHECK_HAS(mws_last_error(), name);                                             \
        CHECK_STR_EQ(mws_last_error_type(), "invalid_argument");                       \
        CHECK(mws_last_error_http_status() == 0);                                      \
    } while (0)

void test_invalid_arguments(void) {
    const char *bad_utf8 = "{\"model\":\"dragon\xff\xfe\"}";
    mws_gateway *gw = NULL;
    char *out = (char *)"untouched";

    CHECK_ARG(mws_gateway_new(NULL), "out_gateway is NULL");
    CHECK_ARG(mws_gateway_from_toml(NULL, &gw), "toml is NULL");
    CHECK(gw == NULL);
    CHECK_ARG(mws_gateway_from_path("\xff", &gw), "path is not valid UTF-8");
    CHECK_ARG(mws_gateway_from_toml("[store]\nkind = \"memory\"\n", NULL), "out_gateway");
    CHECK_STATUS(mws_gateway_new(&gw), MWS_OK);

    CHECK_ARG(mws_chat_completions(NULL, CHAT_HELLO, NULL, &out), "gateway is NULL");
    CHECK(out == NULL); /* out-parameters are cleared first */
    CHECK_ARG(mws_chat_completions(gw, NULL, NULL, &out), "request_json is NULL");
    CHECK_ARG(mws_chat_completions(gw, bad_utf8, NULL, &out), "request_json is not valid UTF-8");
    CHECK_ARG(mws_chat_completions(gw, "{not json", NULL, &out), "request_json is not valid JSON");
    CHECK_ARG(mws_messages(gw, CHAT_HELLO, "\xc3\x28", &out), "api_key is not valid UTF-8");
    CHECK_ARG(mws_embeddings(gw, "{}", NULL, NULL), "out_json is NULL");
    CHECK_ARG(mws_models(gw, "\xff", NULL, &out), "model_id is not valid UTF-8");
    CHECK(out == NULL);

    mws_stream *s = NULL;
    CHECK_ARG(mws_chat_completions_stream(gw, CHAT_HELLO, NULL, NULL, NULL, NULL),
              "callback is NULL");
    CHECK_ARG(mws_messages_stream_open(gw, MESSAGES_HELLO, NULL, NULL, NULL), "out_stream");
    CHECK_ARG(mws_chat_completions_stream_open(gw, "[1,", NULL, &s, NULL), "not valid JSON");
    CHECK(s == NULL);
    char *ev = NULL, *data = NULL;
    CHECK_ARG(mws_stream_next(NULL, &ev, &data), "stream is NULL");
    CHECK_ARG(mws_stream_next(NULL, NULL, &data), "out_event_type is NULL");

    CHECK_ARG(mws_admin_create_account(gw, NULL, &out), "name is NULL");
    CHECK_ARG(mws_admin_account(gw, "\xff", &out), "account_id");
    CHECK_ARG(mws_admin_add_credits(gw, "acct_x", NAN, &out), "amount_usd");
    CHECK_ARG(mws_admin_add_credits(gw, "acct_x", INFINITY, &out), "amount_usd");
    CHECK_ARG(mws_admin_create_key(gw, "acct_x", NULL, -5, MWS_NO_LIMIT, &out), "rpm must be");
    CHECK_ARG(mws_admin_create_key(gw, "acct_x", NULL, 1, MWS_KEEP, &out), "tpm must be");
    CHECK_ARG(mws_admin_set_key_throttle(gw, "key_x", -3, MWS_KEEP, &out), "rpm must be");
    CHECK_ARG(mws_admin_set_plan(gw, NULL, "pro", &out), "account_id is NULL");
    CHECK_ARG(mws_admin_list_keys(NULL, "acct_x", &out), "gateway is NULL");
    CHECK_ARG(mws_admin_revoke_key(gw, NULL, &out), "key_id is NULL");
    CHECK_ARG(mws_admin_usage(gw, "acct_x", NULL), "out_json is NULL");

    mws_server *server = NULL;
    CHECK_ARG(mws_serve(gw, NULL, &server), "addr is NULL");
    CHECK_ARG(mws_serve(gw, "localhost:http", &server), "expected an IP address and port");
    CHECK(server == NULL);
    CHECK_ARG(mws_serve(gw, "127.0.0.1:0", NULL), "out_server is NULL");
    uint16_t port = 7;
    CHECK_ARG(mws_server_port(NULL, &port), "server is NULL");
    CHECK(port == 0);
    CHECK_ARG(mws_server_url(NULL, &out), "server is NULL");
    CHECK_ARG(mws_server_addr(NULL, &out), "server is NULL");
    CHECK_ARG(mws_server_stop(NULL), "server is NULL");
    CHECK_ARG(mws_log_init("\xff"), "filter is not valid UTF-8");

    /* Frees take NULL. */
    mws_string_free(NULL);
    mws_gateway_free(NULL);
    mws_server_free(NULL);
    mws_stream_free(NULL);
    mws_gateway_free(gw);
}

static char *write_temp_config(char *dir, const char *store_kind) {
    static char path[512];
    snprintf(path, sizeof path, "%s/gateway.toml", dir);
    FILE *f = fopen(path, "w");
    fprintf(f, "[store]\nkind = \"%s\"\npath = \"%s/gateway.db\"\n", store_kind, dir);
    fclose(f);
    return path;
}

void test_constructors(void) {
    mws_gateway *gw = NULL;
    char *out = NULL;

    CHECK_STATUS(mws_gateway_new(&gw), MWS_OK);
    CHECK_STATUS(mws_models(gw, NULL, NULL, &out), MWS_OK);
    CHECK(count_of(out, "\"id\":\"dragon") == 11); /* the built-in catalogue */
    mws_string_free(out);
    mws_gateway_free(gw);

    /* A config error is the gateway's 400 naming the field. */
    gw = (mws_gateway *)&out;
    CHECK_STATUS(mws_gateway_from_toml("[server]\nlisten = \"nowhere\"\n", &gw),
                 MWS_INVALID_REQUEST);
    CHECK(gw == NULL);
    CHECK_HAS(mws_last_error(), "server.listen");
    CHECK(mws_last_error_http_status() == 400);
    CHECK_STATUS(mws_gateway_from_toml("this is = = not toml", &gw), MWS_INVALID_REQUEST);
    CHECK_STATUS(mws_gateway_from_path("/nonexistent/mws.toml", &gw), MWS_INVALID_REQUEST);
    CHECK_HAS(mws_last_error(), "/nonexistent/mws.toml");

    /* From a file, with the sqlite store in a temporary directory. */
    char dir[] = "/tmp/mws-c-test-XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    const char *path = write_temp_config(dir, "sqlite");
    CHECK_STATUS(mws_gateway_from_path(path, &gw), MWS_OK);
    CHECK_STATUS(mws_admin_create_account(gw, "on disk", &out), MWS_OK);
    CHECK_HAS(out, "\"name\":\"on disk\"");
    char *id = json_str(out, "id");
    mws_string_free(out);
    mws_gateway_free(gw);
    char db[600];
    snprintf(db, sizeof db, "%s/gateway.db", dir);
    CHECK(access(db, F_OK) == 0);
    /* The account is still there for a new gateway on the same file. */
    CHECK_STATUS(mws_gateway_from_path(path, &gw), MWS_OK);
    CHECK_STATUS(mws_admin_account(gw, id, &out), MWS_OK);
    CHECK_HAS(out, "\"name\":\"on disk\"");
    mws_string_free(out);
    free(id);
    mws_gateway_free(gw);
    char cmd[700];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    CHECK(system(cmd) == 0);
}

void test_log_init(void) {
    CHECK_ARG(mws_log_init("mws_core=notalevel"), "does not parse");
    CHECK_STATUS(mws_log_init("warn"), MWS_OK);
    CHECK_STATUS(mws_log_init(NULL), MWS_OK); /* later calls change nothing */
}
