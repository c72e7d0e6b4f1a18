/* ssh_key_wire.h - the SSH wire encoding (RFC 4251 section 5) that OpenSSH key files, public-key blobs
 * and SSH signatures are made of: big-endian uint32 and length-prefixed strings, read with bounds
 * checks from a (ptr, len) slice and appended to an ap_buf. Header only, internal to src/crypto. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "base/buf.h"

/* A read cursor over borrowed bytes; every read fails (returns false) instead of running past the end. */
struct ap_ssh_reader {
        const uint8_t *p;
        size_t len;
};

static inline bool ap_ssh_read_u32(struct ap_ssh_reader *r, uint32_t *ret)
{
        if (r->len < 4)
                return false;
        *ret = (uint32_t)r->p[0] << 24 | (uint32_t)r->p[1] << 16 | (uint32_t)r->p[2] << 8 | r->p[3];
        r->p += 4;
        r->len -= 4;
        return true;
}

/* A length-prefixed string; *ret points into the reader's bytes (borrowed). */
static inline bool ap_ssh_read_string(struct ap_ssh_reader *r, const uint8_t **ret, size_t *ret_len)
{
        uint32_t n;
        struct ap_ssh_reader save = *r;
        if (!ap_ssh_read_u32(r, &n) || n > r->len) {
                *r = save;
                return false;
        }
        *ret = r->p;
        *ret_len = n;
        r->p += n;
        r->len -= n;
        return true;
}

/* Read a string and check it equals want exactly. */
static inline bool ap_ssh_read_expect(struct ap_ssh_reader *r, const char *want)
{
        const uint8_t *s;
        size_t n;
        return ap_ssh_read_string(r, &s, &n) && n == strlen(want) && memcmp(s, want, n) == 0;
}

static inline _warn_unused_ int ap_ssh_put_u32(struct ap_buf *b, uint32_t v)
{
        uint8_t x[4] = {(uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v};
        return ap_buf_add(b, x, 4);
}

static inline _warn_unused_ int ap_ssh_put_string(struct ap_buf *b, const void *s, size_t n)
{
        if (n > UINT32_MAX)
                return -E2BIG;
        int r = ap_ssh_put_u32(b, (uint32_t)n);
        return r < 0 ? r : ap_buf_add(b, s, n);
}

static inline _warn_unused_ int ap_ssh_put_cstring(struct ap_buf *b, const char *s)
{
        return ap_ssh_put_string(b, s, strlen(s));
}
