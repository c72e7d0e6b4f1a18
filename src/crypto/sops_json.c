/* sops_json.c - SOPS tree -> JSON text (loading is sops_json_load.c): the bytes must match Go's
 * encoding/json + json.Indent: HTML-safe escapes (\u003c \u003e \u0026), \u2028/\u2029, \b \f,
 * "key": value, and Go's float format. */
#include "sops_json.h"

#include <string.h>

#include "base/base64.h"
#include "base/utf8.h"
#include "sops_go.h"

/* ---- writing ---- */

/* encoding/json string escaping (with its default HTML escaping). */
static int quote(struct ap_buf *out, const char *s, size_t n)
{
        static const char hex[] = "0123456789abcdef";
        int r = ap_buf_addch(out, '"');
        for (size_t i = 0; r == 0 && i < n;) {
                unsigned char c = (unsigned char)s[i];
                if (c < 0x80) {
                        i++;
                        if (c >= 0x20 && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&') {
                                r = ap_buf_addch(out, (char)c);
                                continue;
                        }
                        const char *e = c == '"'    ? "\\\""
                                        : c == '\\' ? "\\\\"
                                        : c == '\n' ? "\\n"
                                        : c == '\r' ? "\\r"
                                        : c == '\t' ? "\\t"
                                        : c == '\b' ? "\\b"
                                        : c == '\f' ? "\\f"
                                                    : NULL;
                        if (e) {
                                r = ap_buf_addstr(out, e);
                        } else {
                                char u[7] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15], 0};
                                r = ap_buf_addstr(out, u);
                        }
                        continue;
                }
                /* multi-byte: as Go's utf8.DecodeRuneInString sees it */
                uint32_t cp = 0;
                size_t k = ap_utf8_decode(s + i, n - i, &cp);
                if (!k) {
                        r = ap_buf_addstr(out, "\\ufffd");
                        i++;
                } else if (cp == 0x2028 || cp == 0x2029) {
                        r = ap_buf_addstr(out, cp == 0x2028 ? "\\u2028" : "\\u2029");
                        i += k;
                } else {
                        r = ap_buf_add(out, s + i, k);
                        i += k;
                }
        }
        return r < 0 ? r : ap_buf_addch(out, '"');
}

static int newline(struct ap_buf *out, int indent, int depth)
{
        int r = ap_buf_addch(out, '\n');
        for (int i = 0; r == 0 && i < depth; i++) {
                if (indent < 0)
                        r = ap_buf_addch(out, '\t');
                else
                        for (int k = 0; r == 0 && k < indent; k++)
                                r = ap_buf_addch(out, ' ');
        }
        return r;
}

static int emit(const struct ap_sops_node *v, int indent, int depth, struct ap_buf *out, struct ap_error *err)
{
        int r = 0;
        switch (v->type) {
        case AP_SOPS_MAP:
        case AP_SOPS_LIST: {
                bool map = v->type == AP_SOPS_MAP;
                r = ap_buf_addch(out, map ? '{' : '[');
                bool empty = true;
                for (size_t i = 0; r == 0 && i < v->n; i++) {
                        const struct ap_sops_node *k = v->kids[i];
                        if (k->type == AP_SOPS_COMMENT)
                                continue;
                        if (!empty)
                                r = ap_buf_addch(out, ',');
                        if (r == 0)
                                r = newline(out, indent, depth + 1);
                        if (r == 0 && map)
                                r = quote(out, k->key, k->key_len);
                        if (r == 0 && map)
                                r = ap_buf_addstr(out, ": ");
                        if (r == 0)
                                r = emit(k, indent, depth + 1, out, err);
                        empty = false;
                }
                if (r == 0 && !empty)
                        r = newline(out, indent, depth);
                if (r == 0)
                        r = ap_buf_addch(out, map ? '}' : ']');
                break;
        }
        case AP_SOPS_STR:
        case AP_SOPS_TIME:
        case AP_SOPS_COMMENT:
                r = quote(out, v->str, v->len);
                break;
        case AP_SOPS_BYTES: {
                _cleanup_buf_ struct ap_buf b = AP_BUF_INIT_SECRET;
                b.max = out->max; /* the output's limit is the only one */
                r = ap_base64_encode(&b, v->str, v->len, AP_B64_STD);
                if (r == 0)
                        r = quote(out, b.data, b.len);
                break;
        }
        case AP_SOPS_INT:
                r = ap_buf_printf(out, "%lld", (long long)v->i);
                break;
        case AP_SOPS_FLOAT:
                r = ap_go_format_float(out, v->f, AP_GO_FLOAT_JSON);
                if (r == -EINVAL)
                        return ap_error_set(err, r, "json: unsupported value: %s",
                                            v->f != v->f ? "NaN" : "an infinity");
                break;
        case AP_SOPS_BOOL:
                r = ap_buf_addstr(out, v->b ? "true" : "false");
                break;
        case AP_SOPS_NULL:
                r = ap_buf_addstr(out, "null");
                break;
        }
        if (r < 0 && err && !err->code)
                ap_error_set(err, r, "cannot write JSON: %s",
                             r == -E2BIG ? "output too large" : "out of memory");
        return r;
}

int ap_sops_json_emit(const struct ap_sops_node *doc, int indent, struct ap_buf *out, struct ap_error *err)
{
        size_t start = out->len;
        int r = emit(doc, indent, 0, out, err);
        if (r == 0)
                r = ap_buf_addch(out, '\n');
        if (r < 0 && err && !err->code)
                ap_error_set(err, r, "cannot write JSON: %s",
                             r == -E2BIG ? "output too large" : "out of memory");
        if (r < 0)
                ap_buf_truncate(out, start); /* nothing half-written */
        return r;
}
