/* base64.h - strict RFC 4648 base64 in the variants the protocols here need: standard with padding
 * (age armor, SOPS ENC[]), standard without padding (age headers), URL-safe without padding (JOSE, PKCE).
 * Decoding is canonical: no whitespace, padding exactly where the variant wants it, zero trailing bits.
 * We write our own because OpenSSL's EVP_DecodeBlock skips whitespace and mishandles padding. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "buf.h"

enum ap_b64 {
        AP_B64_STD,     /* A-Z a-z 0-9 + /, '=' padding required */
        AP_B64_STD_RAW, /* same alphabet, no padding allowed */
        AP_B64_URL_RAW, /* A-Z a-z 0-9 - _, no padding allowed */
};

size_t ap_base64_encoded_len(size_t n, enum ap_b64 v);
/* The decoded size of a well-formed input of n characters (an upper bound for malformed input). */
size_t ap_base64_decoded_len(size_t n);
int ap_base64_encode(struct ap_buf *out, const void *in, size_t n, enum ap_b64 v);
/* Appends the decoded bytes to out; -EINVAL (out unchanged) if the input is not canonical. */
int ap_base64_decode(struct ap_buf *out, const char *in, size_t n, enum ap_b64 v);
/* Decode into a fixed buffer of exactly want bytes; -EINVAL unless the input decodes to exactly want. */
int ap_base64_decode_exact(void *dst, size_t want, const char *in, size_t n, enum ap_b64 v);
