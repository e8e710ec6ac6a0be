/* Many threads on one gateway at once: calls, streams and failures, each
 * thread with its own last error. */
#include <pthread.h>

#include "tests.h"

#define THREADS 8
#define CALLS 5

typedef struct {
    mws_gateway *gw;
    const char *key;
    int index;
    int ok;
} worker;

static int count_event(const char *type, const char *data, void *user) {
    (void)type;
    (void)data;
    ++*(int *)user;
    return 0;
}

static void *work(void *arg) {
    worker *w = arg;
    char request[256], marker[32], bad_model[32];
    snprintf(marker, sizeof marker, "thread %d says hi", w->index);
    snprintf(request, sizeof request,
             "{\"model\":\"dragon\",\"messages\":[{\"role\":\"user\",\"content\":\"%s\"}]}",
             marker);
    for (int i = 0; i < CALLS; i++) {
        char *out = NULL;
        /* Every other call metered on the shared key, the rest as the host. */
        mws_status st = mws_chat_completions(w->gw, request, i % 2 ? w->key : NULL, &out);
        if (st == MWS_OK && strstr(out, marker) != NULL) w->ok++;
        mws_string_free(out);
    }
    int events = 0;
    if (mws_chat_completions_stream(w->gw, request, w->key, count_event, &events, NULL) == MWS_OK &&
        events > 1)
        w->ok++;
    /* A failure of this thread's own: its last error is this thread's. */
    snprintf(bad_model, sizeof bad_model, "missing-%d", w->index);
    char *out = NULL;
    if (mws_models(w->gw, bad_model, NULL, &out) == MWS_NOT_FOUND) {
        char *out2 = NULL;
        /* Let the other threads fail and succeed in between. */
        mws_chat_completions(w->gw, request, NULL, &out2);
        mws_string_free(out2);
        mws_models(w->gw, bad_model, NULL, &out2);
        mws_string_free(out2);
        if (strstr(mws_last_error(), bad_model) != NULL) w->ok++;
    }
    mws_string_free(out);
    return NULL;
}

void test_concurrent_threads(void) {
    mws_gateway *gw = accounts_gateway();
    char *account = NULL, *out = NULL;
    char *key = funded_key(gw, &account);
    pthread_t threads[THREADS];
    worker workers[THREADS];
    for (int i = 0; i < THREADS; i++) {
        workers[i] = (worker){gw, key, i, 0};
        CHECK(pthread_create(&threads[i], NULL, work, &workers[i]) == 0);
    }
    for (int i = 0; i < THREADS; i++) {
        pthread_join(threads[i], NULL);
        CHECK(workers[i].ok == CALLS + 2);
    }
    /* Every metered call was counted: two of five per thread, plus the stream. */
    CHECK_STATUS(mws_admin_usage(gw, account, &out), MWS_OK);
    char want[64];
    snprintf(want, sizeof want, "\"requests\":%d", THREADS * (CALLS / 2 + 1));
    CHECK_HAS(out, want);
    mws_string_free(out);
    free(key);
    free(account);
    mws_gateway_free(gw);
}
