/* bech32.c - Bech32 encode/decode (BIP 173 checksum, no length limit) for age keys; see bech32.h for the
 * strictness rules. */
#include "bech32.h"

#include <errno.h>
#include <string.h>

static const char charset[] = "qpzry9x8gf2tvdw0s3jn54khce6mua7l";

static uint32_t polymod_step(uint32_t chk, uint8_t v)
{
        static const uint32_t gen[5] = {0x3b6a57b2, 0x26508e6d, 0x1ea119fa, 0x3d4233dd, 0x2a1462b3};
        uint32_t top = chk >> 25;
        chk = (chk & 0x1ffffff) << 5 ^ v;
        for (int i = 0; i < 5; i++)
                if (top >> i & 1)
                        chk ^= gen[i];
        return chk;
}

static char lower(char c)
{
        return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

static char upper(char c)
{
        return c >= 'a' && c <= 'z' ? (char)(c - 'a' + 'A') : c;
}

/* The checksum state after the expanded (lower-case) hrp. */
static uint32_t hrp_polymod(const char *hrp, size_t n)
{
        uint32_t chk = 1;
        for (size_t i = 0; i < n; i++)
                chk = polymod_step(chk, (uint8_t)((unsigned char)lower(hrp[i]) >> 5));
        chk = polymod_step(chk, 0);
        for (size_t i = 0; i < n; i++)
                chk = polymod_step(chk, (uint8_t)((unsigned char)lower(hrp[i]) & 31));
        return chk;
}

int ap_bech32_encode(struct ap_buf *out, const char *hrp, const void *data, size_t n, bool up)
{
        size_t hlen = strlen(hrp);
        if (hlen == 0)
                return -EINVAL;
        size_t groups = (n * 8 + 4) / 5;
        int r = ap_buf_grow(out, hlen + 1 + groups + 6);
        if (r < 0)
                return r;
        char *o = out->data + out->len;
        for (size_t i = 0; i < hlen; i++) {
                char c = hrp[i];
                if ((unsigned char)c < 33 || (unsigned char)c > 126)
                        return -EINVAL;
                *o++ = up ? upper(c) : lower(c);
        }
        *o++ = '1';
        uint32_t chk = hrp_polymod(hrp, hlen);
        const uint8_t *p = data;
        uint32_t acc = 0;
        int bits = 0;
        for (size_t i = 0; i < n; i++) {
                acc = (acc << 8 | p[i]) & 0x1fff;
                bits += 8;
                while (bits >= 5) {
                        bits -= 5;
                        uint8_t v = (uint8_t)(acc >> bits & 31);
                        chk = polymod_step(chk, v);
                        *o++ = up ? upper(charset[v]) : charset[v];
                }
        }
        if (bits > 0) {
                uint8_t v = (uint8_t)(acc << (5 - bits) & 31);
                chk = polymod_step(chk, v);
                *o++ = up ? upper(charset[v]) : charset[v];
        }
        acc = 0;
        for (int i = 0; i < 6; i++)
                chk = polymod_step(chk, 0);
        chk ^= 1;
        for (int i = 0; i < 6; i++) {
                char c = charset[chk >> (5 * (5 - i)) & 31];
                *o++ = up ? upper(c) : c;
        }
        out->len += hlen + 1 + groups + 6;
        out->data[out->len] = '\0';
        return 0;
}

static int fail(const char **ret_why, const char *why)
{
        if (ret_why)
                *ret_why = why;
        return -EINVAL;
}

int ap_bech32_decode(const char *s, size_t n, struct ap_buf *ret_hrp, struct ap_buf *ret_data,
                     const char **ret_why)
{
        bool has_lower = false, has_upper = false;
        size_t sep = n;
        for (size_t i = 0; i < n; i++) {
                unsigned char c = (unsigned char)s[i];
                if (c < 33 || c > 126)
                        return fail(ret_why, "invalid character");
                has_lower |= c >= 'a' && c <= 'z';
                has_upper |= c >= 'A' && c <= 'Z';
                if (c == '1')
                        sep = i;
        }
        if (has_lower && has_upper)
                return fail(ret_why, "mixed case");
        if (sep == n || sep < 1 || sep + 7 > n)
                return fail(ret_why, "separator '1' at invalid position");

        uint32_t chk = hrp_polymod(s, sep);
        size_t ndata = n - sep - 1 - 6; /* 5-bit groups before the checksum */
        size_t nbytes = ndata * 5 / 8;
        size_t old_len = ret_data->len;
        int r = ap_buf_grow(ret_data, nbytes);
        if (r < 0)
                return r;
        uint8_t *o = (uint8_t *)ret_data->data + old_len;
        uint32_t acc = 0;
        int bits = 0;
        for (size_t i = sep + 1; i < n; i++) {
                const char *pos = strchr(charset, lower(s[i]));
                if (!pos || !*pos) {
                        r = fail(ret_why, "invalid character in data part");
                        goto out;
                }
                uint8_t v = (uint8_t)(pos - charset);
                chk = polymod_step(chk, v);
                if (i >= n - 6)
                        continue;
                acc = (acc << 5 | v) & 0xfff;
                bits += 5;
                if (bits >= 8) {
                        bits -= 8;
                        *o++ = (uint8_t)(acc >> bits);
                }
        }
        if (chk != 1) {
                r = fail(ret_why, "invalid checksum");
                goto out;
        }
        if (bits >= 5) {
                r = fail(ret_why, "illegal zero padding");
                goto out;
        }
        if (acc & ((1u << bits) - 1)) {
                r = fail(ret_why, "non-zero padding");
                goto out;
        }
        r = ap_buf_add(ret_hrp, s, sep);
        if (r < 0)
                goto out;
        ret_data->len = old_len + nbytes;
        ret_data->data[ret_data->len] = '\0';
        acc = 0;
        return 0;
out:
        ap_secure_wipe(ret_data->data + old_len, nbytes);
        ret_data->data[old_len] = '\0';
        acc = 0;
        return r;
}
