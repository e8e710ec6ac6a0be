/* Shared by the C test files: configs, fixtures, and the list of tests. */
#ifndef MWS_TESTS_H
#define MWS_TESTS_H

#include "check.h"

/* A memory store with accounts: limits high enough never to trip by accident,
 * and one plan. */
#define ACCOUNTS_TOML                                                                  \
    "[store]\nkind = \"memory\"\n"                                                     \
    "[limits]\nunauthenticated_rpm_per_ip = 100000\nunauthenticated_tpm_per_ip = 1000000000\n" \
    "[[limits.tiers]]\nmin_lifetime_spend_usd = 0\nrpm = 100000\ntpm = 1000000000\n"   \
    "[[plans]]\nname = \"pro\"\nmin_tier = 0\nmonthly_quota_usd = 100\n"

#define CHAT_HELLO                                                                     \
    "{\"model\":\"dragon\",\"messages\":[{\"role\":\"user\",\"content\":\"Hello from C\"}]}"

#define MESSAGES_HELLO                                                                 \
    "{\"model\":\"claude-sonnet-4-6\",\"max_tokens\":64,"                              \
    "\"messages\":[{\"role\":\"user\",\"content\":\"Hello from C\"}]}"

/* A gateway on ACCOUNTS_TOML. */
mws_gateway *accounts_gateway(void);

/* A new account with $100 of credits and a key on `gw`: returns the key
 * (free it); the account id goes to `*account_id` when that is not NULL. */
char *funded_key(mws_gateway *gw, char **account_id);

/* Each test, by file. */
void test_version_and_status_names(void);
void test_invalid_arguments(void);
void test_constructors(void);
void test_log_init(void);

void test_every_endpoint(void);
void test_request_errors_in_each_shape(void);
void test_models_and_not_found(void);

void test_admin_operations(void);
void test_key_statuses(void);
void test_admin_by_name(void);

void test_upstream_failures(void);
void test_mid_stream_error_event(void);
void test_stopping_a_stream_cancels_the_upstream(void);

void test_callback_streams(void);
void test_stop_stream_early(void);
void test_callback_may_call_back(void);
void test_pull_streams(void);
void test_stream_errors_before_start(void);

void test_call_by_name(void);
void test_call_stream_by_name(void);
void test_unknown_endpoint_names(void);

void test_concurrent_threads(void);

void test_serve(void);

#endif
