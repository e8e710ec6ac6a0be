/* Calls the MWS gateway in-process from C, without HTTP: one chat completion,
 * then a Messages answer streamed event by event.
 *
 *   usage: chat [PROMPT]
 *
 * The gateway is the built-in one: the Dragon catalogue on the echo upstream,
 * which answers by echoing the prompt, so this runs without any network.
 */
#include <stdio.h>
#include <string.h>

#include "mws.h"

static int failed(const char *what, mws_status status, char *error_body) {
    fprintf(stderr, "chat: %s failed: %s (HTTP %u, %s): %s\n", what, mws_status_name(status),
            (unsigned)mws_last_error_http_status(), mws_last_error_type(), mws_last_error());
    if (error_body != NULL) fprintf(stderr, "chat: error body: %s\n", error_body);
    mws_string_free(error_body);
    return 1;
}

/* Prints each event as a server-sent event would carry it. */
static int print_event(const char *event_type, const char *data_json, void *user) {
    int *events = user;
    ++*events;
    printf("event: %s\ndata: %s\n\n", event_type, data_json);
    return 0; /* non-zero would stop the stream and cancel the upstream request */
}

int main(int argc, char **argv) {
    const char *prompt = argc > 1 ? argv[1] : "Hello from C!";
    /* The prompt goes into JSON text: keep this example to plain text. */
    if (strpbrk(prompt, "\"\\") != NULL) {
        fprintf(stderr, "chat: keep quotes and backslashes out of the prompt\n");
        return 2;
    }
    printf("libmws %s\n", mws_version());

    mws_gateway *gw = NULL;
    mws_status st = mws_gateway_new(&gw);
    if (st != MWS_OK) return failed("making the gateway", st, NULL);

    char request[1024];
    snprintf(request, sizeof request,
             "{\"model\":\"dragon\",\"messages\":[{\"role\":\"user\",\"content\":\"%s\"}]}",
             prompt);
    char *response = NULL;
    /* NULL API key: the host calls as itself, unmetered. */
    st = mws_chat_completions(gw, request, NULL, &response);
    if (st != MWS_OK) {
        mws_gateway_free(gw);
        return failed("chat completion", st, response);
    }
    printf("chat completion: %s\n\n", response);
    mws_string_free(response);

    snprintf(request, sizeof request,
             "{\"model\":\"claude-sonnet-4-6\",\"max_tokens\":256,"
             "\"messages\":[{\"role\":\"user\",\"content\":\"%s\"}]}",
             prompt);
    int events = 0;
    char *error_body = NULL;
    st = mws_messages_stream(gw, request, NULL, print_event, &events, &error_body);
    mws_gateway_free(gw);
    if (st != MWS_OK) return failed("messages stream", st, error_body);
    printf("%d events\n", events);
    return 0;
}
