/* httputil.c - request-text parsers (cookies, query/form strings, percent-decoding), the shared blob,
 * response headers and constant-time comparison. Every parser works on (ptr, len) and is fuzzed
 * (fuzz/fuzz_dash_http.c). */
#include "http.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

bool ap_dash_resp_header(struct ap_dash_resp *r, const char *name, const char *value)
{
        if (r->n_headers >= AP_DASH_MAX_RESP_HEADERS || !value)
                return false;
        r->headers[r->n_headers++] = (struct ap_dash_header){name, value};
        return true;
}

struct ap_dash_blob *ap_dash_blob_new(const void *data, size_t len)
{
        struct ap_dash_blob *b = malloc(sizeof(*b) + len + 1);
        if (!b)
                return NULL;
        b->refs = 1;
        b->len = len;
        if (len)
                memcpy(b->data, data, len);
        b->data[len] = '\0';
        return b;
}

struct ap_dash_blob *ap_dash_blob_ref(struct ap_dash_blob *b)
{
        if (b)
                __atomic_add_fetch(&b->refs, 1, __ATOMIC_RELAXED);
        return b;
}

void ap_dash_blob_unref(struct ap_dash_blob *b)
{
        if (b && __atomic_sub_fetch(&b->refs, 1, __ATOMIC_ACQ_REL) == 0)
                free(b);
}

static bool is_ows(char c)
{
        return c == ' ' || c == '\t';
}

bool ap_dash_cookie_find(const char *header, size_t len, const char *name, const char **ret_value,
                         size_t *ret_len)
{
        size_t nl = strlen(name);
        const char *p = header, *end = header + len;
        while (p < end) {
                while (p < end && (is_ows(*p) || *p == ';'))
                        p++;
                const char *pair = p;
                while (p < end && *p != ';')
                        p++;
                const char *pend = p;
                while (pend > pair && is_ows(pend[-1]))
                        pend--;
                const char *eq = memchr(pair, '=', (size_t)(pend - pair));
                if (!eq)
                        continue;
                const char *kend = eq;
                while (kend > pair && is_ows(kend[-1]))
                        kend--;
                if ((size_t)(kend - pair) != nl || memcmp(pair, name, nl) != 0)
                        continue;
                const char *v = eq + 1;
                while (v < pend && is_ows(*v))
                        v++;
                size_t vl = (size_t)(pend - v);
                if (vl >= 2 && v[0] == '"' && v[vl - 1] == '"') {
                        v++;
                        vl -= 2;
                }
                *ret_value = v;
                *ret_len = vl;
                return true;
        }
        return false;
}

static int hexval(char c)
{
        if (c >= '0' && c <= '9')
                return c - '0';
        if (c >= 'a' && c <= 'f')
                return c - 'a' + 10;
        if (c >= 'A' && c <= 'F')
                return c - 'A' + 10;
        return -1;
}

char *ap_dash_percent_decode(struct ap_dash_arena *a, const char *s, size_t n, bool form)
{
        char *out = ap_dash_alloc(a, n + 1);
        if (!out)
                return NULL;
        size_t o = 0;
        for (size_t i = 0; i < n; i++) {
                char c = s[i];
                if (c == '%') {
                        if (n - i < 3)
                                return NULL;
                        int hi = hexval(s[i + 1]), lo = hexval(s[i + 2]);
                        if (hi < 0 || lo < 0)
                                return NULL;
                        c = (char)(hi << 4 | lo);
                        i += 2;
                } else if (c == '+' && form)
                        c = ' ';
                if (c == '\0')
                        return NULL;
                out[o++] = c;
        }
        out[o] = '\0';
        return out;
}

int ap_dash_form_next(struct ap_dash_arena *a, const char **p, const char *end, char **ret_key,
                      char **ret_value)
{
        const char *s = *p;
        while (s < end && *s == '&')
                s++;
        if (s >= end) {
                *p = s;
                return 0;
        }
        const char *amp = memchr(s, '&', (size_t)(end - s));
        const char *pend = amp ? amp : end;
        const char *eq = memchr(s, '=', (size_t)(pend - s));
        const char *kend = eq ? eq : pend;
        char *k = ap_dash_percent_decode(a, s, (size_t)(kend - s), true);
        char *v =
            eq ? ap_dash_percent_decode(a, eq + 1, (size_t)(pend - eq - 1), true) : ap_dash_strdup(a, "");
        *p = pend;
        if (!k || !v)
                return -EINVAL;
        *ret_key = k;
        *ret_value = v;
        return 1;
}

char *ap_dash_form_get(struct ap_dash_arena *a, const char *s, size_t n, const char *key)
{
        const char *p = s, *end = s + n;
        char *k, *v;
        int r;
        while ((r = ap_dash_form_next(a, &p, end, &k, &v)) > 0)
                if (strcmp(k, key) == 0)
                        return v;
        return NULL;
}

int ap_dash_url_escape(struct ap_buf *out, const char *s)
{
        static const char hex[] = "0123456789ABCDEF";
        for (; *s; s++) {
                unsigned char c = (unsigned char)*s;
                int r;
                if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
                    c == '.' || c == '_' || c == '~')
                        r = ap_buf_addch(out, (char)c);
                else {
                        char e[3] = {'%', hex[c >> 4], hex[c & 15]};
                        r = ap_buf_add(out, e, 3);
                }
                if (r < 0)
                        return r;
        }
        return 0;
}

bool ap_dash_const_eq(const void *a, size_t alen, const void *b, size_t blen)
{
        if (alen != blen)
                return false;
        const unsigned char *x = a, *y = b;
        unsigned char d = 0;
        for (size_t i = 0; i < alen; i++)
                d |= x[i] ^ y[i];
        return d == 0;
}

bool ap_dash_printable(const char *s, size_t max)
{
        if (!s || !*s)
                return false;
        size_t n = 0;
        for (; s[n]; n++) {
                unsigned char c = (unsigned char)s[n];
                if (c < 0x20 || c == 0x7f || n >= max)
                        return false;
        }
        return true;
}
