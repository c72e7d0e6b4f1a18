/* sops_json.h - the SOPS JSON store: load a JSON object (key order kept, integers and floats kept apart as
 * sops 3.13.2 does) into the SOPS tree, and write a tree back as sops does (encoding/json escaping,
 * json.Indent with one TAB per level by default, "key": value, trailing newline). */
#pragma once

#include <stddef.h>

#include "base/buf.h"
#include "base/error.h"
#include "sops_tree.h"

#define AP_SOPS_JSON_INDENT_TAB (-1)

/* Keep every entry of an object whose key repeats, in order, as sops does when it reads a file (its JSON
 * store is a token reader; the MAC covers them all and 'sops -d' prints them all, readers then take the
 * last). Without it a repeated key is an error. */
#define AP_SOPS_JSON_KEEP_DUPLICATES 1u

/* Parse one JSON document whose top level must be an object; append it to docs as a MAP. Integers beyond
 * int64 become floats (as in sops). Errors (AP_E_INVALID; AP_E_TOO_LARGE past 512 levels of nesting) name
 * the line and column (in characters) and never quote the document, which may be plaintext. */
int ap_sops_json_load(const char *data, size_t n, unsigned flags, struct ap_sops_docs *docs,
                      struct ap_error *err) _warn_unused_;

/* Append doc (a MAP) as JSON. indent < 0: one TAB per level; otherwise that many spaces (0: none, but
 * still one member per line). Comments are skipped; NaN and infinities are refused as sops refuses them.
 * On failure out is as before. */
int ap_sops_json_emit(const struct ap_sops_node *doc, int indent, struct ap_buf *out,
                      struct ap_error *err) _warn_unused_;
