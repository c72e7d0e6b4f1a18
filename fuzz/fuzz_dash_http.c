/* fuzz_dash_http.c - libFuzzer target: the dashboard's request-text parsers (Cookie headers, query and
 * form strings, percent-decoding) never crash or read past their slice; a decoded form never holds a NUL,
 * and a cookie value found lies inside the header. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dashboard/http.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        /* exactly size bytes, not NUL-terminated: the parsers must keep to the slice */
        char *s = malloc(size ? size : 1);
        if (!s)
                return 0;
        memcpy(s, data, size);
        static const char *const names[] = {"ap-session", "__Host-ap-session", "a", ""};
        for (size_t i = 0; i < 4; i++) {
                const char *v;
                size_t n;
                if (ap_dash_cookie_find(s, size, names[i], &v, &n) && (v < s || v + n > s + size))
                        abort();
        }
        struct ap_dash_arena *a = ap_dash_arena_new();
        const char *p = s, *end = s + size;
        char *k, *val;
        int r;
        while ((r = ap_dash_form_next(a, &p, end, &k, &val)) > 0)
                if (strlen(k) > size || strlen(val) > size)
                        abort();
        char *d = ap_dash_percent_decode(a, s, size, true);
        if (d && strlen(d) > size)
                abort();
        ap_dash_form_get(a, s, size, "state");
        ap_dash_arena_free(a);
        free(s);
        return 0;
}
