/* json_escape.h - append a string as a quoted JSON string literal (RFC 8259 escaping). Used by the
 * logger and any code that writes JSON without building a jansson tree. */
#pragma once

#include "base/macro.h"

#include <stddef.h>

#include "buf.h"

int ap_json_escape(struct ap_buf *out, const char *s, size_t n) _buf_checked_;
