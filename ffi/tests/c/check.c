/* The harness behind check.h. */
#include "check.h"

atomic_int check_failures;

static const char *after_key(const char *json, const char *key) {
    if (json == NULL) return NULL;
    size_t n = strlen(key);
    for (const char *p = strstr(json, "\""); p != NULL; p = strstr(p + 1, "\"")) {
        if (strncmp(p + 1, key, n) == 0 && p[n + 1] == '"' && p[n + 2] == ':') {
            const char *v = p + n + 3;
            while (*v == ' ') v++;
            return v;
        }
    }
    return NULL;
}

char *json_str(const char *json, const char *key) {
    const char *v = after_key(json, key);
    if (v == NULL || *v != '"') return NULL;
    v++;
    const char *end = v;
    while (*end != '\0' && !(*end == '"' && end[-1] != '\\')) end++;
    char *out = malloc((size_t)(end - v) + 1);
    memcpy(out, v, (size_t)(end - v));
    out[end - v] = '\0';
    return out;
}

double json_num(const char *json, const char *key) {
    const char *v = after_key(json, key);
    if (v == NULL) return -1;
    char *end;
    double d = strtod(v, &end);
    return end == v ? -1 : d;
}

int count_of(const char *haystack, const char *needle) {
    int n = 0;
    if (haystack == NULL) return 0;
    for (const char *p = strstr(haystack, needle); p != NULL; p = strstr(p + 1, needle)) n++;
    return n;
}
