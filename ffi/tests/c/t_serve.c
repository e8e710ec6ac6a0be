/* Serving over HTTP from the library, with a real HTTP client (net.c). */
#include "net.h"
#include "tests.h"

void test_serve(void) {
    mws_gateway *gw = accounts_gateway();
    char *account = NULL, *out = NULL;
    char *key = funded_key(gw, &account);
    mws_server *server = NULL;

    CHECK_STATUS(mws_serve(gw, "127.0.0.1:0", &server), MWS_OK);
    uint16_t port = 0;
    CHECK_STATUS(mws_server_port(server, &port), MWS_OK);
    CHECK(port != 0);
    char want[64];
    char *addr = NULL, *url = NULL;
    CHECK_STATUS(mws_server_addr(server, &addr), MWS_OK);
    snprintf(want, sizeof want, "127.0.0.1:%u", (unsigned)port);
    CHECK_STR_EQ(addr, want);
    CHECK_STATUS(mws_server_url(server, &url), MWS_OK);
    snprintf(want, sizeof want, "http://127.0.0.1:%u", (unsigned)port);
    CHECK_STR_EQ(url, want);

    /* The port is taken: a second server on it fails with the reason. */
    mws_server *second = NULL;
    CHECK_STATUS(mws_serve(gw, addr, &second), MWS_INTERNAL);
    CHECK(second == NULL);
    CHECK_HAS(mws_last_error(), "cannot listen");
    CHECK(mws_last_error_http_status() == 500);

    CHECK(http_request(port, "GET", "/health", "", NULL, &out) == 200);
    CHECK_HAS(out, "\"status\":\"ok\"");
    free(out);

    /* The server shares the gateway's state with in-process calls, and keeps
     * serving after the gateway handle is freed. */
    mws_gateway_free(gw);
    char auth[128];
    snprintf(auth, sizeof auth, "Authorization: Bearer %s\r\n", key);
    CHECK(http_request(port, "POST", "/v1/chat/completions", auth, CHAT_HELLO, &out) == 200);
    CHECK_HAS(out, "Hello from C");
    free(out);
    CHECK(http_request(port, "POST", "/v1/chat/completions", "", CHAT_HELLO, &out) == 401);
    free(out);
    CHECK(http_request(port, "GET", "/v1/chat/completions", auth, NULL, &out) == 405);
    free(out);

    CHECK_STATUS(mws_server_stop(server), MWS_OK);
    CHECK(http_request(port, "GET", "/health", "", NULL, &out) == -1);
    free(out);
    CHECK_STATUS(mws_server_stop(server), MWS_OK); /* again: nothing to do */
    mws_string_free(addr);
    CHECK_STATUS(mws_server_addr(server, &addr), MWS_OK); /* still readable */
    mws_server_free(server);

    /* Freeing a running server stops it too. */
    CHECK_STATUS(mws_gateway_new(&gw), MWS_OK);
    CHECK_STATUS(mws_serve(gw, "127.0.0.1:0", &server), MWS_OK);
    CHECK_STATUS(mws_server_port(server, &port), MWS_OK);
    CHECK(http_request(port, "GET", "/health", "", NULL, &out) == 200);
    free(out);
    mws_server_free(server);
    CHECK(http_request(port, "GET", "/health", "", NULL, &out) == -1);
    free(out);
    mws_gateway_free(gw);

    mws_string_free(addr);
    mws_string_free(url);
    free(key);
    free(account);
}
