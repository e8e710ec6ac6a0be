/* The C tests of libmws: every function, every status a call in-process can
 * give, streams (callback and pull, stopped early), threads, and serving.
 * Prints one line per test and "N passed, M failed"; exits non-zero on a
 * failure. Run under valgrind by scripts/test.sh. */
#include "tests.h"

static const struct {
    const char *name;
    test_fn fn;
} TESTS[] = {
#define T(f) {#f, f}
    T(test_version_and_status_names),
    T(test_invalid_arguments),
    T(test_constructors),
    T(test_log_init),
    T(test_every_endpoint),
    T(test_request_errors_in_each_shape),
    T(test_models_and_not_found),
    T(test_admin_operations),
    T(test_key_statuses),
    T(test_admin_by_name),
    T(test_upstream_failures),
    T(test_mid_stream_error_event),
    T(test_stopping_a_stream_cancels_the_upstream),
    T(test_callback_streams),
    T(test_stop_stream_early),
    T(test_callback_may_call_back),
    T(test_pull_streams),
    T(test_stream_errors_before_start),
    T(test_call_by_name),
    T(test_call_stream_by_name),
    T(test_unknown_endpoint_names),
    T(test_concurrent_threads),
    T(test_serve),
#undef T
};

mws_gateway *accounts_gateway(void) {
    mws_gateway *gw = NULL;
    CHECK_STATUS(mws_gateway_from_toml(ACCOUNTS_TOML, &gw), MWS_OK);
    return gw;
}

char *funded_key(mws_gateway *gw, char **account_id) {
    char *account = NULL, *credited = NULL, *key_json = NULL;
    CHECK_STATUS(mws_admin_create_account(gw, "c-test", &account), MWS_OK);
    char *id = json_str(account, "id");
    CHECK_STATUS(mws_admin_add_credits(gw, id, 100, &credited), MWS_OK);
    CHECK_STATUS(mws_admin_create_key(gw, id, "c-key", MWS_NO_LIMIT, MWS_NO_LIMIT, &key_json),
                 MWS_OK);
    char *key = json_str(key_json, "key");
    CHECK(key != NULL && strncmp(key, "mws_live_", 9) == 0);
    mws_string_free(account);
    mws_string_free(credited);
    mws_string_free(key_json);
    if (account_id != NULL) {
        *account_id = id;
    } else {
        free(id);
    }
    return key;
}

int main(int argc, char **argv) {
    /* An optional argument runs only the tests whose name contains it. */
    const char *only = argc > 1 ? argv[1] : NULL;
    int passed = 0, failed = 0;
    for (size_t i = 0; i < sizeof TESTS / sizeof TESTS[0]; i++) {
        if (only != NULL && strstr(TESTS[i].name, only) == NULL) continue;
        atomic_store(&check_failures, 0);
        TESTS[i].fn();
        if (atomic_load(&check_failures) == 0) {
            printf("ok - %s\n", TESTS[i].name);
            passed++;
        } else {
            printf("FAILED - %s\n", TESTS[i].name);
            failed++;
        }
        fflush(stdout);
    }
    printf("%d passed, %d failed\n", passed, failed);
    return failed == 0 && passed > 0 ? 0 : 1;
}
