/* sops_yaml.h - the SOPS YAML store: load a YAML stream (libyaml) into the SOPS tree the way sops's
 * yaml store sees it through go-yaml v3 (typing, comments as pseudo-entries, anchors expanded, duplicate
 * and non-string keys rejected), and write a tree back the way go-yaml v3's encoder does under sops
 * (indent 4 by default, lists indented under their key, go-yaml's quoting and block scalar rules). */
#pragma once

#include <stddef.h>

#include "base/buf.h"
#include "base/error.h"
#include "sops_tree.h"

#define AP_SOPS_YAML_INDENT_DEFAULT 4

/* Parse every document of data (n bytes) and append one MAP per document to docs. A document that is
 * empty or null gives an empty MAP. err names the line and the key path of the problem. */
int ap_sops_yaml_load(const char *data, size_t n, struct ap_sops_docs *docs,
                      struct ap_error *err) _warn_unused_;

/* Append the YAML text of docs ("---" between documents). indent 0 means the default; go-yaml accepts
 * 2..9 (anything else becomes 2). Use a secret buffer for plaintext trees. On failure out is as before.
 */
int ap_sops_yaml_emit(const struct ap_sops_docs *docs, int indent, struct ap_buf *out,
                      struct ap_error *err) _warn_unused_;
