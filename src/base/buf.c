/* buf.c - struct ap_buf: bounded growth, secret wiping, printf. */
#include "buf.h"

#include <openssl/crypto.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

char ap_buf_empty[1];

void ap_secure_wipe(void *p, size_t n)
{
        if (p && n)
                OPENSSL_cleanse(p, n);
}

void ap_secure_free(void *p, size_t n)
{
        if (!p)
                return;
        OPENSSL_cleanse(p, n);
        free(p);
}

void ap_secure_free_str(char *s)
{
        if (s)
                ap_secure_free(s, strlen(s));
}

void ap_buf_init(struct ap_buf *b, size_t max)
{
        *b = (struct ap_buf)AP_BUF_INIT;
        if (max)
                b->max = max;
}

void ap_buf_init_secret(struct ap_buf *b, size_t max)
{
        ap_buf_init(b, max);
        b->secret = true;
}

void ap_buf_release(struct ap_buf *b)
{
        if (b->cap) {
                if (b->secret)
                        OPENSSL_cleanse(b->data, b->cap);
                free(b->data);
        }
        b->data = ap_buf_empty;
        b->len = 0;
        b->cap = 0;
}

void ap_buf_reset(struct ap_buf *b)
{
        if (b->cap) {
                if (b->secret)
                        OPENSSL_cleanse(b->data, b->len);
                b->data[0] = '\0';
        }
        b->len = 0;
}

int ap_buf_grow(struct ap_buf *b, size_t n)
{
        if (n > b->max || b->len > b->max - n)
                return -E2BIG;
        size_t need = b->len + n + 1;
        if (need <= b->cap)
                return 0;
        size_t cap = b->cap ? b->cap : 64;
        while (cap < need)
                cap = cap > SIZE_MAX / 2 ? need : cap * 2;
        char *p;
        if (b->secret) {
                /* realloc could leave a stale copy behind: move by hand and wipe the old block */
                p = malloc(cap);
                if (!p)
                        return -ENOMEM;
                memcpy(p, b->data, b->len + 1);
                if (b->cap) {
                        OPENSSL_cleanse(b->data, b->cap);
                        free(b->data);
                }
        } else {
                p = realloc(b->cap ? b->data : NULL, cap);
                if (!p)
                        return -ENOMEM;
                if (!b->cap)
                        p[0] = '\0';
        }
        b->data = p;
        b->cap = cap;
        return 0;
}

int ap_buf_add(struct ap_buf *b, const void *p, size_t n)
{
        int r = ap_buf_grow(b, n);
        if (r < 0)
                return r;
        if (n)
                memcpy(b->data + b->len, p, n);
        b->len += n;
        b->data[b->len] = '\0';
        return 0;
}

int ap_buf_addstr(struct ap_buf *b, const char *s)
{
        return ap_buf_add(b, s, strlen(s));
}

int ap_buf_addch(struct ap_buf *b, char c)
{
        return ap_buf_add(b, &c, 1);
}

int ap_buf_printf(struct ap_buf *b, const char *fmt, ...)
{
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(NULL, 0, fmt, ap);
        va_end(ap);
        if (n < 0)
                return -EINVAL;
        int r = ap_buf_grow(b, (size_t)n);
        if (r < 0)
                return r;
        va_start(ap, fmt);
        vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
        va_end(ap);
        b->len += (size_t)n;
        return 0;
}

void ap_buf_truncate(struct ap_buf *b, size_t len)
{
        if (len >= b->len)
                return;
        if (b->secret)
                OPENSSL_cleanse(b->data + len, b->len - len);
        b->len = len;
        b->data[len] = '\0';
}

char *ap_buf_detach(struct ap_buf *b, size_t *ret_len)
{
        char *p = b->cap ? b->data : strdup("");
        if (ret_len)
                *ret_len = b->len;
        b->data = ap_buf_empty;
        b->len = 0;
        b->cap = 0;
        return p;
}

bool ap_buf_equal(const struct ap_buf *b, const void *p, size_t n)
{
        return b->len == n && (n == 0 || memcmp(b->data, p, n) == 0);
}
