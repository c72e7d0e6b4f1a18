/* base64.c - strict, canonical base64 encode/decode. */
#include "base64.h"

#include <string.h>

static const char std_alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
static const char url_alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

static int sextet(unsigned char c, enum ap_b64 v)
{
        if (c >= 'A' && c <= 'Z')
                return c - 'A';
        if (c >= 'a' && c <= 'z')
                return c - 'a' + 26;
        if (c >= '0' && c <= '9')
                return c - '0' + 52;
        if (v == AP_B64_URL_RAW)
                return c == '-' ? 62 : c == '_' ? 63 : -1;
        return c == '+' ? 62 : c == '/' ? 63 : -1;
}

size_t ap_base64_encoded_len(size_t n, enum ap_b64 v)
{
        if (v == AP_B64_STD)
                return (n + 2) / 3 * 4;
        return n / 3 * 4 + (n % 3 ? n % 3 + 1 : 0);
}

size_t ap_base64_decoded_len(size_t n)
{
        return n / 4 * 3 + (n % 4 ? n % 4 - 1 : 0);
}

int ap_base64_encode(struct ap_buf *out, const void *in, size_t n, enum ap_b64 v)
{
        const char *alpha = v == AP_B64_URL_RAW ? url_alphabet : std_alphabet;
        const unsigned char *p = in;
        size_t need = ap_base64_encoded_len(n, v);
        int r = ap_buf_grow(out, need);
        if (r < 0)
                return r;
        char *o = out->data + out->len;
        size_t i = 0;
        for (; i + 3 <= n; i += 3) {
                unsigned x = (unsigned)p[i] << 16 | (unsigned)p[i + 1] << 8 | p[i + 2];
                *o++ = alpha[x >> 18 & 63];
                *o++ = alpha[x >> 12 & 63];
                *o++ = alpha[x >> 6 & 63];
                *o++ = alpha[x & 63];
        }
        if (n - i == 1) {
                unsigned x = (unsigned)p[i] << 16;
                *o++ = alpha[x >> 18 & 63];
                *o++ = alpha[x >> 12 & 63];
                if (v == AP_B64_STD) {
                        *o++ = '=';
                        *o++ = '=';
                }
        } else if (n - i == 2) {
                unsigned x = (unsigned)p[i] << 16 | (unsigned)p[i + 1] << 8;
                *o++ = alpha[x >> 18 & 63];
                *o++ = alpha[x >> 12 & 63];
                *o++ = alpha[x >> 6 & 63];
                if (v == AP_B64_STD)
                        *o++ = '=';
        }
        out->len += need;
        out->data[out->len] = '\0';
        return 0;
}

int ap_base64_decode(struct ap_buf *out, const char *in, size_t n, enum ap_b64 v)
{
        const unsigned char *s = (const unsigned char *)in;
        size_t data_chars = n;
        if (v == AP_B64_STD) {
                if (n % 4)
                        return -EINVAL;
                if (n && s[n - 1] == '=')
                        data_chars--;
                if (n > 1 && s[n - 2] == '=') {
                        if (s[n - 1] != '=')
                                return -EINVAL;
                        data_chars--;
                }
        }
        if (data_chars % 4 == 1)
                return -EINVAL;
        size_t need = ap_base64_decoded_len(data_chars);
        int r = ap_buf_grow(out, need);
        if (r < 0)
                return r;
        unsigned char *o = (unsigned char *)out->data + out->len;
        unsigned acc = 0;
        int bits = 0;
        for (size_t i = 0; i < data_chars; i++) {
                int x = sextet(s[i], v);
                if (x < 0)
                        goto bad;
                acc = acc << 6 | (unsigned)x;
                bits += 6;
                if (bits >= 8) {
                        bits -= 8;
                        *o++ = (unsigned char)(acc >> bits);
                        acc &= (1u << bits) - 1;
                }
        }
        if (acc != 0) /* non-canonical: leftover bits must be zero */
                goto bad;
        out->len += need;
        out->data[out->len] = '\0';
        return 0;
bad:
        if (out->secret)
                ap_secure_wipe(out->data + out->len, need);
        out->data[out->len] = '\0';
        return -EINVAL;
}

int ap_base64_decode_exact(void *dst, size_t want, const char *in, size_t n, enum ap_b64 v)
{
        struct ap_buf b = AP_BUF_INIT_SECRET;
        b.max = want + 4;
        int r = ap_base64_decode(&b, in, n, v);
        if (r < 0 || b.len != want)
                r = -EINVAL;
        if (r == 0)
                memcpy(dst, b.data, want);
        ap_buf_release(&b);
        return r;
}
