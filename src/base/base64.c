/* base64.c - strict, canonical base64 encode/decode. */
#include "base64.h"

#include <string.h>

static const char std_alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
static const char url_alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/* sextet value + 1 for each alphabet character; 0 marks a byte outside the alphabet */
static const unsigned char std_values[256] = {
    ['A'] = 1,  ['B'] = 2,  ['C'] = 3,  ['D'] = 4,  ['E'] = 5,  ['F'] = 6,  ['G'] = 7,  ['H'] = 8,
    ['I'] = 9,  ['J'] = 10, ['K'] = 11, ['L'] = 12, ['M'] = 13, ['N'] = 14, ['O'] = 15, ['P'] = 16,
    ['Q'] = 17, ['R'] = 18, ['S'] = 19, ['T'] = 20, ['U'] = 21, ['V'] = 22, ['W'] = 23, ['X'] = 24,
    ['Y'] = 25, ['Z'] = 26, ['a'] = 27, ['b'] = 28, ['c'] = 29, ['d'] = 30, ['e'] = 31, ['f'] = 32,
    ['g'] = 33, ['h'] = 34, ['i'] = 35, ['j'] = 36, ['k'] = 37, ['l'] = 38, ['m'] = 39, ['n'] = 40,
    ['o'] = 41, ['p'] = 42, ['q'] = 43, ['r'] = 44, ['s'] = 45, ['t'] = 46, ['u'] = 47, ['v'] = 48,
    ['w'] = 49, ['x'] = 50, ['y'] = 51, ['z'] = 52, ['0'] = 53, ['1'] = 54, ['2'] = 55, ['3'] = 56,
    ['4'] = 57, ['5'] = 58, ['6'] = 59, ['7'] = 60, ['8'] = 61, ['9'] = 62, ['+'] = 63, ['/'] = 64,
};
static const unsigned char url_values[256] = {
    ['A'] = 1,  ['B'] = 2,  ['C'] = 3,  ['D'] = 4,  ['E'] = 5,  ['F'] = 6,  ['G'] = 7,  ['H'] = 8,
    ['I'] = 9,  ['J'] = 10, ['K'] = 11, ['L'] = 12, ['M'] = 13, ['N'] = 14, ['O'] = 15, ['P'] = 16,
    ['Q'] = 17, ['R'] = 18, ['S'] = 19, ['T'] = 20, ['U'] = 21, ['V'] = 22, ['W'] = 23, ['X'] = 24,
    ['Y'] = 25, ['Z'] = 26, ['a'] = 27, ['b'] = 28, ['c'] = 29, ['d'] = 30, ['e'] = 31, ['f'] = 32,
    ['g'] = 33, ['h'] = 34, ['i'] = 35, ['j'] = 36, ['k'] = 37, ['l'] = 38, ['m'] = 39, ['n'] = 40,
    ['o'] = 41, ['p'] = 42, ['q'] = 43, ['r'] = 44, ['s'] = 45, ['t'] = 46, ['u'] = 47, ['v'] = 48,
    ['w'] = 49, ['x'] = 50, ['y'] = 51, ['z'] = 52, ['0'] = 53, ['1'] = 54, ['2'] = 55, ['3'] = 56,
    ['4'] = 57, ['5'] = 58, ['6'] = 59, ['7'] = 60, ['8'] = 61, ['9'] = 62, ['-'] = 63, ['_'] = 64,
};

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
        const unsigned char *val = v == AP_B64_URL_RAW ? url_values : std_values;
        unsigned char *o = (unsigned char *)out->data + out->len;
        size_t i = 0;
        /* whole groups of four characters: three bytes each */
        for (; i + 4 <= data_chars; i += 4) {
                unsigned a = val[s[i]], b = val[s[i + 1]], c = val[s[i + 2]], d = val[s[i + 3]];
                if (!a || !b || !c || !d)
                        goto bad;
                unsigned x = (a - 1) << 18 | (b - 1) << 12 | (c - 1) << 6 | (d - 1);
                *o++ = (unsigned char)(x >> 16);
                *o++ = (unsigned char)(x >> 8);
                *o++ = (unsigned char)x;
        }
        /* a tail of two or three characters; its unused low bits must be zero (canonical) */
        size_t tail = data_chars - i;
        if (tail) {
                unsigned x = 0;
                for (size_t k = 0; k < tail; k++) {
                        unsigned e = val[s[i + k]];
                        if (!e)
                                goto bad;
                        x |= (e - 1) << (18 - 6 * k);
                }
                *o++ = (unsigned char)(x >> 16);
                if (tail == 3)
                        *o++ = (unsigned char)(x >> 8);
                if (x & (tail == 2 ? 0xffffu : 0xffu))
                        goto bad;
        }
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
