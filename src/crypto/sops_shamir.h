/* sops_shamir.h - Shamir secret sharing of the SOPS data key across key groups (getsops/sops shamir, from
 * HashiCorp Vault): byte-wise over GF(2^8) with the AES polynomial x^8+x^4+x^3+x+1, share i evaluated at
 * x = i+1 and carrying x as its last byte. */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"

/* Split secret (n bytes) into parts shares of n+1 bytes, any threshold of which recombine; shares is
 * parts * (n+1) bytes. rand fills its buffer with random bytes (0 on success). */
int ap_sops_shamir_split(const uint8_t *secret, size_t n, unsigned parts, unsigned threshold,
                         int (*rand)(void *ctx, void *buf, size_t n), void *rand_ctx,
                         uint8_t *shares) _warn_unused_;
/* Recombine k shares (2..255) of len bytes each (all the same length, distinct x); the secret (len-1
 * bytes) is appended to out (use a secret buffer). -EINVAL for anything else. */
int ap_sops_shamir_combine(const uint8_t *const *shares, size_t k, size_t len,
                           struct ap_buf *out) _warn_unused_;
