/* authelia_hash.h - the password digests Authelia reads as OIDC client secrets, in its exact encoding:
 * '$pbkdf2-sha512$<iterations>$<salt>$<key>' (the Passlib/PHC-like crypt form of github.com/go-crypt/crypt)
 * with salt and key in the crypt "adapted" base64 (the standard alphabet with '.' for '+', no padding),
 * PBKDF2-HMAC-SHA512 over the secret's bytes through OpenSSL. Also the random client secrets themselves,
 * drawn from the OS CSPRNG (getrandom) as RFC 3986 unreserved characters. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"

#define AP_PBKDF2_SHA512_PREFIX     "$pbkdf2-sha512$"
#define AP_PBKDF2_SHA512_ITERATIONS 310000 /* Authelia's default for sha512 (schema/authentication.go) */
#define AP_PBKDF2_SALT_LEN          16     /* Authelia's default salt size */
#define AP_PBKDF2_SALT_MAX          64
#define AP_PBKDF2_KEY_LEN           64 /* the SHA-512 output */
#define AP_PBKDF2_DIGEST_MAX        192

/* Adapted base64 (crypt): A-Z a-z 0-9 . /, no padding. Encoding appends to out; decoding appends to out
 * and is canonical (no padding, no '+', zero trailing bits), -EINVAL otherwise (out unchanged). */
_warn_unused_ int ap_crypt_base64_encode(struct ap_buf *out, const void *in, size_t n);
_warn_unused_ int ap_crypt_base64_decode(struct ap_buf *out, const char *in, size_t n);

/* A parsed '$pbkdf2-sha512$...' digest. */
struct ap_pbkdf2_digest {
        unsigned iterations;
        uint8_t salt[AP_PBKDF2_SALT_MAX];
        size_t salt_len;
        uint8_t key[AP_PBKDF2_KEY_LEN];
        size_t key_len;
};

/* Append the digest of secret (n bytes) with the given salt and iteration count to out. -EINVAL for a
 * salt of 0 or more than AP_PBKDF2_SALT_MAX bytes or 0 iterations, -EIO when OpenSSL fails. */
_warn_unused_ int ap_pbkdf2_sha512_digest(const void *secret, size_t n, unsigned iterations,
                                          const uint8_t *salt, size_t salt_len, struct ap_buf *out);
/* The same with a fresh random salt of AP_PBKDF2_SALT_LEN bytes. */
_warn_unused_ int ap_pbkdf2_sha512_hash(const void *secret, size_t n, unsigned iterations,
                                        struct ap_buf *out);
/* Parse digest (n bytes); -EINVAL unless it is exactly a pbkdf2-sha512 digest in this encoding (decimal
 * iterations without leading zeros, 1..2^31-1; salt 1..64 bytes; key 1..64 bytes). */
_warn_unused_ int ap_pbkdf2_sha512_parse(const char *digest, size_t n, struct ap_pbkdf2_digest *ret);
/* Does digest verify secret? *ret_match set on success (constant-time key comparison); -EINVAL when the
 * digest does not parse. */
_warn_unused_ int ap_pbkdf2_sha512_verify(const char *digest, size_t n, const void *secret, size_t secret_len,
                                          bool *ret_match);

/* Fill out with len random characters of A-Z a-z 0-9 '-' '_' (base64url of bytes from getrandom, so
 * every character carries 6 bits) and a NUL; out has room for len + 1. -EIO when the OS has no
 * randomness to give. */
_warn_unused_ int ap_random_urlsafe(char *out, size_t len);
