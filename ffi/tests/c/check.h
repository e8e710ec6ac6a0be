/* A tiny test harness for the C tests of libmws: CHECK macros that record a
 * failure and go on, a runner that prints one line per test and the closing
 * "N passed, M failed" line, and helpers to read fields of flat JSON. */
#ifndef MWS_CHECK_H
#define MWS_CHECK_H

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mws.h"

/* Failures in the running test, from any thread. */
extern atomic_int check_failures;

#define CHECK(cond)                                                                   \
    do {                                                                              \
        if (!(cond)) {                                                                \
            fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond);  \
            atomic_fetch_add(&check_failures, 1);                                     \
        }                                                                             \
    } while (0)

/* A call that must return `want`; on a mismatch prints both statuses and the
 * thread's last error. */
#define CHECK_STATUS(call, want)                                                      \
    do {                                                                              \
        mws_status got_ = (call);                                                     \
        if (got_ != (mws_status)(want)) {                                             \
            fprintf(stderr, "%s:%d: %s gave %s, want %s (last error: %s)\n", __FILE__, \
                    __LINE__, #call, mws_status_name(got_), mws_status_name(want),    \
                    mws_last_error());                                                \
            atomic_fetch_add(&check_failures, 1);                                     \
        }                                                                             \
    } while (0)

#define CHECK_STR_EQ(a, b)                                                            \
    do {                                                                              \
        const char *a_ = (a), *b_ = (b);                                              \
        if (a_ == NULL || b_ == NULL || strcmp(a_, b_) != 0) {                        \
            fprintf(stderr, "%s:%d: %s == %s failed: \"%s\" vs \"%s\"\n", __FILE__,   \
                    __LINE__, #a, #b, a_ ? a_ : "(null)", b_ ? b_ : "(null)");        \
            atomic_fetch_add(&check_failures, 1);                                     \
        }                                                                             \
    } while (0)

/* `haystack` (may be NULL) contains `needle`. */
#define CHECK_HAS(haystack, needle)                                                   \
    do {                                                                              \
        const char *h_ = (haystack);                                                  \
        if (h_ == NULL || strstr(h_, (needle)) == NULL) {                             \
            fprintf(stderr, "%s:%d: %s does not contain %s: %s\n", __FILE__, __LINE__, \
                    #haystack, (needle), h_ ? h_ : "(null)");                         \
            atomic_fetch_add(&check_failures, 1);                                     \
        }                                                                             \
    } while (0)

/* The string value of the first `"key":"..."` in `json`, copied with malloc
 * (free it), or NULL. Enough for the flat ids, keys and types these tests
 * read; escapes are kept as they are. */
char *json_str(const char *json, const char *key);

/* The number after the first `"key":` in `json`, or -1 when there is none. */
double json_num(const char *json, const char *key);

/* How many times `needle` occurs in `haystack`. */
int count_of(const char *haystack, const char *needle);

typedef void (*test_fn)(void);

#endif
