/* sops_json.c - JSON <-> SOPS tree. Loading goes through jansson (which keeps object keys in insertion
 * order); writing is done here because the bytes must match Go's encoding/json + json.Indent: HTML-safe
 * escapes (\u003c \u003e \u0026), \u2028/\u2029, \b \f, "key": value, and Go's float format. */
#include "sops_json.h"

#include <jansson.h>
#include <string.h>

#include "base/base64.h"
#include "sops_go.h"

#define MAX_DEPTH 512

static int convert(json_t *v, struct ap_sops_node **ret, int depth, struct ap_error *err);

static int convert_object(json_t *obj, struct ap_sops_node *map, int depth, struct ap_error *err)
{
        for (void *it = json_object_iter(obj); it; it = json_object_iter_next(obj, it)) {
                struct ap_sops_node *child;
                int r = convert(json_object_iter_value(it), &child, depth + 1, err);
                if (r < 0)
                        return ap_error_prefix(err, "at key '%s'", json_object_iter_key(it));
                r = ap_sops_node_set_key(child, json_object_iter_key(it), json_object_iter_key_len(it));
                if (r == 0)
                        r = ap_sops_node_append(map, child);
                if (r < 0) {
                        ap_sops_node_free(child);
                        return ap_error_set(err, r, "out of memory");
                }
        }
        return 0;
}

static int convert(json_t *v, struct ap_sops_node **ret, int depth, struct ap_error *err)
{
        if (depth > MAX_DEPTH)
                return ap_error_set(err, -EINVAL, "nesting too deep");
        enum ap_sops_type t;
        switch (json_typeof(v)) {
        case JSON_OBJECT:
                t = AP_SOPS_MAP;
                break;
        case JSON_ARRAY:
                t = AP_SOPS_LIST;
                break;
        case JSON_STRING:
                t = AP_SOPS_STR;
                break;
        case JSON_INTEGER:
                t = AP_SOPS_INT;
                break;
        case JSON_REAL:
                t = AP_SOPS_FLOAT;
                break;
        case JSON_TRUE:
        case JSON_FALSE:
                t = AP_SOPS_BOOL;
                break;
        default:
                t = AP_SOPS_NULL;
        }
        _cleanup_(ap_sops_node_freep) struct ap_sops_node *node = ap_sops_node_new(t);
        if (!node)
                return ap_error_set(err, -ENOMEM, "out of memory");
        int r = 0;
        switch (t) {
        case AP_SOPS_MAP:
                r = convert_object(v, node, depth, err);
                break;
        case AP_SOPS_LIST:
                for (size_t i = 0; r == 0 && i < json_array_size(v); i++) {
                        struct ap_sops_node *child;
                        r = convert(json_array_get(v, i), &child, depth + 1, err);
                        if (r < 0)
                                break;
                        r = ap_sops_node_append(node, child);
                        if (r < 0) {
                                ap_sops_node_free(child);
                                return ap_error_set(err, r, "out of memory");
                        }
                }
                break;
        case AP_SOPS_STR:
                r = ap_sops_node_set_str(node, json_string_value(v), json_string_length(v));
                if (r < 0)
                        return ap_error_set(err, r, "out of memory");
                break;
        case AP_SOPS_INT:
                node->i = json_integer_value(v);
                break;
        case AP_SOPS_FLOAT:
                node->f = json_real_value(v);
                break;
        case AP_SOPS_BOOL:
                node->b = json_is_true(v);
                break;
        default:
                break;
        }
        if (r < 0)
                return r;
        *ret = TAKE_PTR(node);
        return 0;
}

/* Integers beyond int64 are floats in sops (json.Number -> Float64); jansson refuses them, so a copy of the
 * text gets ".0" after each such literal (outside strings) and is parsed again. */
static bool digits_exceed_int64(const char *p, size_t n, bool neg)
{
        while (n > 1 && *p == '0')
                p++, n--;
        const char *lim = neg ? "9223372036854775808" : "9223372036854775807";
        return n > 19 || (n == 19 && memcmp(p, lim, 19) > 0);
}

static bool number_char(char c)
{
        return (c >= '0' && c <= '9') || c == '.' || c == 'e' || c == 'E' || c == '+' || c == '-';
}

static int promote_big_ints(const char *in, size_t n, struct ap_buf *out)
{
        int r = 0;
        for (size_t i = 0; r == 0 && i < n;) {
                if (in[i] == '"') {
                        size_t j = i + 1;
                        while (j < n && in[j] != '"')
                                j += in[j] == '\\' ? 2 : 1;
                        j = AP_MIN(j + 1, n);
                        r = ap_buf_add(out, in + i, j - i);
                        i = j;
                        continue;
                }
                bool neg = in[i] == '-';
                size_t d = i + neg, j = d;
                while (j < n && in[j] >= '0' && in[j] <= '9')
                        j++;
                if (j == d || (i > 0 && number_char(in[i - 1]))) {
                        r = ap_buf_addch(out, in[i]);
                        i++;
                        continue;
                }
                r = ap_buf_add(out, in + i, j - i);
                bool integer = j >= n || (in[j] != '.' && in[j] != 'e' && in[j] != 'E');
                if (r == 0 && integer && digits_exceed_int64(in + d, j - d, neg))
                        r = ap_buf_addstr(out, ".0");
                i = j;
        }
        return r;
}

int ap_sops_json_load(const char *data, size_t n, struct ap_sops_docs *docs, struct ap_error *err)
{
        json_error_t jerr;
        const size_t flags = JSON_DECODE_ANY | JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL;
        json_t *root = json_loadb(data, n, flags, &jerr);
        if (!root && strstr(jerr.text, "too big integer")) {
                _cleanup_buf_ struct ap_buf copy = AP_BUF_INIT_SECRET;
                ap_buf_init_secret(&copy, n * 2 + 16);
                if (promote_big_ints(data, n, &copy) == 0)
                        root = json_loadb(copy.data, copy.len, flags, &jerr);
        }
        if (!root)
                return ap_error_set(err, -EINVAL, "line %d, column %d: %s", jerr.line, jerr.column,
                                    jerr.text);
        if (!json_is_object(root)) {
                json_decref(root);
                return ap_error_set(
                    err, -EINVAL,
                    "SOPS only supports JSON files with a top-level object; wrap the value in "
                    "an object, e.g. {\"data\": ...}");
        }
        struct ap_sops_node *doc;
        int r = convert(root, &doc, 0, err);
        json_decref(root);
        if (r < 0)
                return r;
        r = ap_sops_docs_append(docs, doc);
        if (r < 0) {
                ap_sops_node_free(doc);
                return ap_error_set(err, r, "out of memory");
        }
        return 0;
}

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
                /* multi-byte: validate as Go's utf8.DecodeRuneInString */
                size_t k = (c & 0xE0) == 0xC0 ? 2 : (c & 0xF0) == 0xE0 ? 3 : (c & 0xF8) == 0xF0 ? 4 : 0;
                uint32_t cp = k == 2 ? c & 0x1F : k == 3 ? c & 0x0F : c & 0x07;
                bool ok = k != 0 && i + k <= n;
                for (size_t j = 1; ok && j < k; j++) {
                        unsigned char cc = (unsigned char)s[i + j];
                        ok = (cc & 0xC0) == 0x80;
                        cp = cp << 6 | (cc & 0x3F);
                }
                if (ok && ((k == 2 && cp < 0x80) || (k == 3 && cp < 0x800) || (k == 4 && cp < 0x10000) ||
                           cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)))
                        ok = false;
                if (!ok) {
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
        int r = emit(doc, indent, 0, out, err);
        if (r == 0)
                r = ap_buf_addch(out, '\n');
        if (r < 0 && err && !err->code)
                ap_error_set(err, r, "cannot write JSON: output too large");
        return r;
}
