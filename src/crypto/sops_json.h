/* sops_json.h - the SOPS JSON store: load a JSON object (jansson, key order kept, integers and floats
 * kept apart as sops 3.13.2 does) into the SOPS tree, and write a tree back as sops does (encoding/json
 * escaping, json.Indent with one TAB per level by default, "key": value, trailing newline). */
#pragma once

#include <stddef.h>

#include "base/buf.h"
#include "base/error.h"
#include "sops_tree.h"

#define AP_SOPS_JSON_INDENT_TAB (-1)

/* Parse one JSON document whose top level must be an object; append it to docs as a MAP. Duplicate keys,
 * integers beyond int64 and invalid UTF-8 are rejected with the line and column. */
int ap_sops_json_load(const char *data, size_t n, struct ap_sops_docs *docs, struct ap_error *err);

/* Append doc (a MAP) as JSON. indent < 0: one TAB per level; otherwise that many spaces (0: none, but
 * still one member per line). Comments are skipped; NaN and infinities are refused as sops refuses them. */
int ap_sops_json_emit(const struct ap_sops_node *doc, int indent, struct ap_buf *out, struct ap_error *err);
