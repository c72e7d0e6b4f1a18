/* yaml_out.h - jansson values to YAML text, deterministically: block style, two-space indentation, keys
 * in the objects' own order (callers insert them sorted where stability matters), strings quoted
 * whenever a YAML 1.1 or 1.2 reader (kubectl, kustomize, Flux's go-yaml) could take them for anything
 * but a string. The same values always give the same bytes, so rendered files can be compared as bytes.
 * Emitted by libyaml, so the output is well-formed YAML whatever the strings hold. */
#pragma once

#include <jansson.h>
#include <stddef.h>

#include "base/buf.h"
#include "base/error.h"

/* Append n documents (objects, arrays or scalars), "---" between them. */
_warn_unused_ int ap_yaml_emit(struct ap_buf *out, const json_t *const *docs, size_t n, struct ap_error *err);
/* Append one document. */
_warn_unused_ int ap_yaml_emit1(struct ap_buf *out, const json_t *doc, struct ap_error *err);
