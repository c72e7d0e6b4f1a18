/* bech32.h - Bech32 (BIP 173) as age uses it for keys: no 90-character limit, upper- or lower-case
 * strings (never mixed), checksum over the lower-case human-readable part, strict 5-to-8 bit
 * conversion (no leftover padding of 5+ bits, padding bits zero). */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"

/* Append the Bech32 string of data under hrp to out; upper-cases the whole result when upper is set
 * (the checksum is always computed over the lower-case hrp). hrp must be printable ASCII. */
int ap_bech32_encode(struct ap_buf *out, const char *hrp, const void *data, size_t n,
                     bool upper) _warn_unused_;

/* Decode s (n bytes). On success appends the human-readable part exactly as written to ret_hrp and the
 * decoded bytes to ret_data (use a secret buffer for keys). Returns -EINVAL for malformed input, with
 * a short reason in *ret_why (a static string) when ret_why is not NULL; nothing is appended then. */
int ap_bech32_decode(const char *s, size_t n, struct ap_buf *ret_hrp, struct ap_buf *ret_data,
                     const char **ret_why) _warn_unused_;
