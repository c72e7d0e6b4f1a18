/* sops_shamir.c - GF(2^8) Shamir split/combine for SOPS key groups (see sops_shamir.h). Constant-time
 * field arithmetic (no log tables) since it handles key material. */
#include "sops_shamir.h"

#include <errno.h>
#include <openssl/crypto.h>
#include <string.h>

static uint8_t gf_mul(uint8_t a, uint8_t b)
{
        uint8_t r = 0;
        for (int i = 0; i < 8; i++) {
                r ^= (uint8_t)(-(b & 1) & a);
                uint8_t hi = (uint8_t) - (a >> 7);
                a = (uint8_t)((a << 1) ^ (hi & 0x1B));
                b >>= 1;
        }
        return r;
}

/* a^254 = a^-1 (0 for 0). */
static uint8_t gf_inv(uint8_t a)
{
        uint8_t r = 1, x = a;
        for (int e = 254; e; e >>= 1) {
                if (e & 1)
                        r = gf_mul(r, x);
                x = gf_mul(x, x);
        }
        return r;
}

int ap_sops_shamir_split(const uint8_t *secret, size_t n, unsigned parts, unsigned threshold,
                         int (*rand)(void *ctx, void *buf, size_t n), void *rand_ctx, uint8_t *shares)
{
        if (parts < threshold || parts > 255 || threshold < 2 || n == 0)
                return -EINVAL;
        uint8_t coeff[255];
        for (size_t i = 0; i < n; i++) {
                if (rand(rand_ctx, coeff, threshold - 1) < 0)
                        return -EIO;
                for (unsigned p = 0; p < parts; p++) {
                        uint8_t x = (uint8_t)(p + 1), y = 0;
                        /* Horner: ((c_{t-1} x + ...) x + c_1) x + secret */
                        for (unsigned c = threshold - 1; c > 0; c--)
                                y = gf_mul((uint8_t)(y ^ coeff[c - 1]), x);
                        shares[p * (n + 1) + i] = (uint8_t)(y ^ secret[i]);
                }
        }
        for (unsigned p = 0; p < parts; p++)
                shares[p * (n + 1) + n] = (uint8_t)(p + 1);
        OPENSSL_cleanse(coeff, sizeof(coeff));
        return 0;
}

int ap_sops_shamir_combine(const uint8_t *const *shares, size_t k, size_t len, struct ap_buf *out)
{
        if (k < 2 || k > 255 || len < 2) /* more than 255 shares cannot have distinct x coordinates */
                return -EINVAL;
        for (size_t i = 0; i < k; i++)
                for (size_t j = i + 1; j < k; j++)
                        if (shares[i][len - 1] == shares[j][len - 1])
                                return -EINVAL;
        for (size_t b = 0; b + 1 < len; b++) {
                uint8_t secret = 0;
                for (size_t i = 0; i < k; i++) {
                        uint8_t xi = shares[i][len - 1], basis = 1;
                        for (size_t j = 0; j < k; j++) {
                                if (j == i)
                                        continue;
                                uint8_t xj = shares[j][len - 1];
                                basis = gf_mul(basis, gf_mul(xj, gf_inv((uint8_t)(xi ^ xj))));
                        }
                        secret ^= gf_mul(shares[i][b], basis);
                }
                int r = ap_buf_addch(out, (char)secret);
                if (r < 0)
                        return r;
        }
        return 0;
}
