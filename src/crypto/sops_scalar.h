/* sops_scalar.h - typed scalars as SOPS sees them: YAML plain-scalar resolution exactly as go-yaml v3
 * decodes into interface{} (not YAML 1.1), the byte form SOPS hashes and encrypts (sops.go ToBytes), and
 * the value types of ENC[...,type:X] strings. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "base/buf.h"
#include "base/error.h"
#include "sops_tree.h"

/* Give node the type and value go-yaml v3 decodes for a scalar. tag is the YAML tag as libyaml reports
 * it (NULL, "!", "tag:yaml.org,2002:int", "!local", ...); plain is false for quoted and block scalars.
 * Fails (err names the value) for integers above int64 (go-yaml yields a uint64 that SOPS cannot walk),
 * for bad !!binary data and for values that contradict their explicit tag. */
int ap_sops_scalar_resolve(struct ap_sops_node *node, const char *tag, bool plain, const char *s, size_t n,
                           struct ap_error *err) _warn_unused_;

/* Append the bytes SOPS hashes and encrypts for a leaf (ToBytes): strings as-is, ints in decimal, floats
 * as FormatFloat 'f' -1, bools True/False, times as RFC 3339 with nanoseconds, comments' text.
 * -EINVAL for NULL/MAP/LIST. */
int ap_sops_scalar_bytes(const struct ap_sops_node *node, struct ap_buf *out) _warn_unused_;

/* The ENC[] type tag for a leaf: "str", "int", "float", "bool", "time", "comment", "bytes". */
const char *ap_sops_scalar_type_name(const struct ap_sops_node *node);

/* Set node from decrypted plaintext of the given ENC[] type, parsing as sops's aes cipher does (Atoi,
 * ParseFloat, ParseBool, Time.UnmarshalText). -EINVAL for an unknown type or unparsable value. */
int ap_sops_scalar_set_typed(struct ap_sops_node *node, const char *type, size_t type_len, const char *s,
                             size_t n) _warn_unused_;

/* True when go-yaml would write s unquoted: it resolves to a plain string (not null, bool, number or
 * time) and is not a YAML 1.1 bool or base-60 float that go-yaml quotes for old parsers. */
bool ap_sops_scalar_plain_ok(const char *s, size_t n);
