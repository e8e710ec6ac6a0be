/* The admin operations, and the statuses that keys bring: 401, 402, 404, 429. */
#include "tests.h"

void test_admin_operations(void) {
    mws_gateway *gw = accounts_gateway();
    char *out = NULL;

    CHECK_STATUS(mws_admin_create_account(gw, "acme", &out), MWS_OK);
    char *account = json_str(out, "id");
    CHECK(account != NULL && strncmp(account, "acct_", 5) == 0);
    CHECK(json_num(out, "balance_usd") == 0);
    mws_string_free(out);

    CHECK_STATUS(mws_admin_account(gw, account, &out), MWS_OK);
    CHECK_HAS(out, "\"name\":\"acme\"");
    mws_string_free(out);

    /* Amounts keep their decimals: 0.1 + 24.9 is exactly 25. */
    CHECK_STATUS(mws_admin_add_credits(gw, account, 0.1, &out), MWS_OK);
    CHECK(json_num(out, "balance_usd") == 0.1);
    mws_string_free(out);
    CHECK_STATUS(mws_admin_add_credits(gw, account, 24.9, &out), MWS_OK);
    CHECK(json_num(out, "balance_usd") == 25);
    mws_string_free(out);
    CHECK_STATUS(mws_admin_add_credits(gw, account, -1, &out), MWS_INVALID_REQUEST);
    CHECK_HAS(out, "amount_usd");
    mws_string_free(out);

    CHECK_STATUS(mws_admin_set_plan(gw, account, "pro", &out), MWS_OK);
    CHECK_HAS(out, "\"plan\":\"pro\"");
    mws_string_free(out);
    CHECK_STATUS(mws_admin_set_plan(gw, account, "platinum", &out), MWS_INVALID_REQUEST);
    CHECK_HAS(mws_last_error(), "pro");
    mws_string_free(out);
    CHECK_STATUS(mws_admin_set_plan(gw, account, NULL, &out), MWS_OK);
    CHECK_HAS(out, "\"plan\":null");
    mws_string_free(out);

    CHECK_STATUS(mws_admin_create_key(gw, account, "ci", 30, 5000, &out), MWS_OK);
    char *key_id = json_str(out, "id");
    char *secret = json_str(out, "key");
    CHECK(secret != NULL && strncmp(secret, "mws_live_", 9) == 0 && strlen(secret) >= 41);
    CHECK(json_num(out, "rpm") == 30 && json_num(out, "tpm") == 5000);
    mws_string_free(out);
    CHECK_STATUS(mws_admin_create_key(gw, account, NULL, MWS_NO_LIMIT, MWS_NO_LIMIT, &out),
                 MWS_OK);
    CHECK_HAS(out, "\"name\":\"default\"");
    mws_string_free(out);

    CHECK_STATUS(mws_admin_list_keys(gw, account, &out), MWS_OK);
    CHECK(count_of(out, "\"id\":\"key_") == 2);
    CHECK(strstr(out, secret) == NULL); /* never the secret again */
    mws_string_free(out);

    /* Throttle: set rpm and keep tpm; then clear rpm. */
    CHECK_STATUS(mws_admin_set_key_throttle(gw, key_id, 7, MWS_KEEP, &out), MWS_OK);
    CHECK(json_num(out, "rpm") == 7 && json_num(out, "tpm") == 5000);
    mws_string_free(out);
    CHECK_STATUS(mws_admin_set_key_throttle(gw, key_id, MWS_NO_LIMIT, MWS_KEEP, &out), MWS_OK);
    CHECK_HAS(out, "\"rpm\":null");
    CHECK(json_num(out, "tpm") == 5000);
    mws_string_free(out);

    /* A metered call lands in the usage ledger. */
    CHECK_STATUS(mws_chat_completions(gw, CHAT_HELLO, secret, &out), MWS_OK);
    mws_string_free(out);
    CHECK_STATUS(mws_admin_usage(gw, account, &out), MWS_OK);
    CHECK_HAS(out, "\"requests\":1");
    CHECK_HAS(out, key_id);
    mws_string_free(out);

    CHECK_STATUS(mws_admin_revoke_key(gw, key_id, &out), MWS_OK);
    CHECK_HAS(out, "\"revoked\":true");
    mws_string_free(out);
    CHECK_STATUS(mws_chat_completions(gw, CHAT_HELLO, secret, &out), MWS_AUTHENTICATION);
    mws_string_free(out);

    free(account);
    free(key_id);
    free(secret);
    mws_gateway_free(gw);
}

void test_key_statuses(void) {
    mws_gateway *gw = accounts_gateway();
    char *out = NULL, *account = NULL;
    char *key = funded_key(gw, &account);

    /* 401, in each shape. */
    CHECK_STATUS(mws_chat_completions(gw, CHAT_HELLO, "mws_live_notakey", &out),
                 MWS_AUTHENTICATION);
    CHECK_HAS(out, "\"code\":\"invalid_api_key\"");
    CHECK(mws_last_error_http_status() == 401);
    mws_string_free(out);
    CHECK_STATUS(mws_messages(gw, MESSAGES_HELLO, "mws_live_notakey", &out), MWS_AUTHENTICATION);
    CHECK_STR_EQ(mws_last_error_type(), "authentication_error");
    mws_string_free(out);

    /* 402: a key needs $25 of credits or a plan. */
    CHECK_STATUS(mws_admin_create_account(gw, "broke", &out), MWS_OK);
    char *broke = json_str(out, "id");
    mws_string_free(out);
    CHECK_STATUS(mws_admin_create_key(gw, broke, "k", MWS_NO_LIMIT, MWS_NO_LIMIT, &out),
                 MWS_INSUFFICIENT_CREDITS);
    CHECK_HAS(out, "\"type\":\"insufficient_quota\"");
    CHECK(mws_last_error_http_status() == 402);
    mws_string_free(out);
    free(broke);

    /* 404: unknown account and key. */
    CHECK_STATUS(mws_admin_account(gw, "acct_doesnotexist", &out), MWS_NOT_FOUND);
    CHECK(mws_last_error_http_status() == 404);
    mws_string_free(out);
    CHECK_STATUS(mws_admin_revoke_key(gw, "key_doesnotexist", &out), MWS_NOT_FOUND);
    mws_string_free(out);

    /* 429: a key throttled to one request a minute. */
    CHECK_STATUS(mws_admin_create_key(gw, account, "slow", 1, MWS_NO_LIMIT, &out), MWS_OK);
    char *slow = json_str(out, "key");
    mws_string_free(out);
    CHECK_STATUS(mws_chat_completions(gw, CHAT_HELLO, slow, &out), MWS_OK);
    mws_string_free(out);
    CHECK_STATUS(mws_chat_completions(gw, CHAT_HELLO, slow, &out), MWS_RATE_LIMITED);
    CHECK_HAS(out, "\"code\":\"rate_limit_exceeded\"");
    CHECK(mws_last_error_http_status() == 429);
    mws_string_free(out);
    /* Other keys of the account are not held back by that key's throttle. */
    CHECK_STATUS(mws_chat_completions(gw, CHAT_HELLO, key, &out), MWS_OK);
    mws_string_free(out);
    /* Without a key the host itself is never metered. */
    CHECK_STATUS(mws_chat_completions(gw, CHAT_HELLO, NULL, &out), MWS_OK);
    mws_string_free(out);

    free(slow);
    free(key);
    free(account);
    mws_gateway_free(gw);
}

/* mws_admin: any operation by the name the Python and Node packages use, with
 * the admin API's body; the same JSON and statuses as the typed functions. */
void test_admin_by_name(void) {
    mws_gateway *gw = accounts_gateway();
    char *out = NULL;

    CHECK_STATUS(mws_admin(gw, "create_account", NULL, "{\"name\":\"named\"}", &out), MWS_OK);
    CHECK_HAS(out, "\"name\":\"named\"");
    char *account = json_str(out, "id");
    mws_string_free(out);

    CHECK_STATUS(mws_admin(gw, "add_credits", account, "{\"amount_usd\":\"25.5\"}", &out),
                 MWS_OK);
    CHECK(json_num(out, "balance_usd") == 25.5);
    mws_string_free(out);

    CHECK_STATUS(mws_admin(gw, "list_accounts", NULL, NULL, &out), MWS_OK);
    CHECK_HAS(out, "\"object\":\"list\"");
    CHECK_HAS(out, account);
    CHECK_HAS(out, "\"tier\":");
    mws_string_free(out);

    /* The deployments and their health, by name and typed. */
    CHECK_STATUS(mws_admin(gw, "deployments", NULL, NULL, &out), MWS_OK);
    CHECK_HAS(out, "\"upstream_model\":\"dragon\"");
    CHECK_HAS(out, "\"state\":\"healthy\"");
    mws_string_free(out);
    CHECK_STATUS(mws_admin_deployments(gw, &out), MWS_OK);
    CHECK_HAS(out, "\"object\":\"list\"");
    mws_string_free(out);
    CHECK_STATUS(mws_admin_deployments(NULL, &out), MWS_INVALID_ARGUMENT);

    /* A NULL body is {}: a key named "default". */
    CHECK_STATUS(mws_admin(gw, "create_key", account, NULL, &out), MWS_OK);
    CHECK_HAS(out, "\"name\":\"default\"");
    char *key_id = json_str(out, "id");
    mws_string_free(out);
    CHECK_STATUS(mws_admin(gw, "set_key_throttle", key_id, "{\"rpm\":9}", &out), MWS_OK);
    CHECK(json_num(out, "rpm") == 9);
    mws_string_free(out);

    /* The core's own errors, with their body. */
    CHECK_STATUS(mws_admin(gw, "account", "acct_doesnotexist", NULL, &out), MWS_NOT_FOUND);
    CHECK_HAS(out, "\"error\"");
    mws_string_free(out);
    CHECK_STATUS(mws_admin(gw, "set_plan", account, "{}", &out), MWS_INVALID_REQUEST);
    CHECK_HAS(mws_last_error(), "plan");
    mws_string_free(out);

    /* What the library refuses before the gateway sees it. */
    CHECK_STATUS(mws_admin(gw, "drop_everything", NULL, NULL, &out), MWS_INVALID_ARGUMENT);
    CHECK_HAS(mws_last_error(), "unknown admin operation");
    CHECK(out == NULL);
    CHECK_STATUS(mws_admin(gw, NULL, NULL, NULL, &out), MWS_INVALID_ARGUMENT);
    CHECK_HAS(mws_last_error(), "op is NULL");
    CHECK_STATUS(mws_admin(gw, "account", NULL, NULL, &out), MWS_INVALID_ARGUMENT);
    CHECK_HAS(mws_last_error(), "id is NULL");
    CHECK_STATUS(mws_admin(gw, "create_account", NULL, "{not json", &out), MWS_INVALID_ARGUMENT);
    CHECK_HAS(mws_last_error(), "body_json is not valid JSON");
    CHECK_STATUS(mws_admin(NULL, "list_accounts", NULL, NULL, &out), MWS_INVALID_ARGUMENT);
    CHECK_HAS(mws_last_error(), "gateway is NULL");

    free(key_id);
    free(account);
    mws_gateway_free(gw);
}
