/* sops_json_load.c - JSON text -> SOPS tree, parsed here rather than by jansson so that (1) duplicate keys
 * can be kept in order the way sops's token-by-token reader keeps them, (2) no plaintext passes through
 * another library's unwiped buffers, and (3) an error names the line and column and never quotes the
 * document. Numbers follow the rules sops 3.13 and jansson agree on: an integer literal that fits int64 is
 * an int, any other number a float (an overflowing float is an error). Strict RFC 8259 otherwise: UTF-8
 * only, no control characters in strings, no lone surrogates; \u0000 is allowed. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/utf8.h"
#include "sops_json.h"

#define MAX_DEPTH 512

struct parser {
        const char *s;
        size_t n, i;
        unsigned flags;
        int depth;
        struct ap_buf str; /* the string being decoded (secret: values are plaintext) */
        struct ap_error *err;
};

/* ---- errors: "line L, column C: what", never the text itself ---- */

static int fail_at(struct parser *p, size_t at, int code, const char *what)
{
        size_t line = 1, start = 0;
        for (size_t i = 0; i < at && i < p->n; i++)
                if (p->s[i] == '\n') {
                        line++;
                        start = i + 1;
                }
        size_t col = 1;
        for (size_t i = start; i < at && i < p->n; i++)
                col += ((unsigned char)p->s[i] & 0xC0) != 0x80; /* characters, not bytes */
        if (at >= p->n)
                return ap_error_set(p->err, code, "line %zu, column %zu: %s at the end of the input", line,
                                    col, what);
        return ap_error_set(p->err, code, "line %zu, column %zu: %s", line, col, what);
}

static int fail(struct parser *p, const char *what)
{
        return fail_at(p, p->i, AP_E_INVALID, what);
}

/* ---- lexing ---- */

static void skip_ws(struct parser *p)
{
        while (p->i < p->n &&
               (p->s[p->i] == ' ' || p->s[p->i] == '\t' || p->s[p->i] == '\n' || p->s[p->i] == '\r'))
                p->i++;
}

static int hex4(const char *s, uint32_t *ret)
{
        uint32_t v = 0;
        for (int i = 0; i < 4; i++) {
                char c = s[i];
                int d = c >= '0' && c <= '9'   ? c - '0'
                        : c >= 'a' && c <= 'f' ? c - 'a' + 10
                        : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                               : -1;
                if (d < 0)
                        return -EINVAL;
                v = v << 4 | (uint32_t)d;
        }
        *ret = v;
        return 0;
}

static int put_utf8(struct ap_buf *b, uint32_t cp)
{
        char u[4];
        size_t k;
        if (cp < 0x80) {
                u[0] = (char)cp;
                k = 1;
        } else if (cp < 0x800) {
                u[0] = (char)(0xC0 | cp >> 6);
                u[1] = (char)(0x80 | (cp & 0x3F));
                k = 2;
        } else if (cp < 0x10000) {
                u[0] = (char)(0xE0 | cp >> 12);
                u[1] = (char)(0x80 | (cp >> 6 & 0x3F));
                u[2] = (char)(0x80 | (cp & 0x3F));
                k = 3;
        } else {
                u[0] = (char)(0xF0 | cp >> 18);
                u[1] = (char)(0x80 | (cp >> 12 & 0x3F));
                u[2] = (char)(0x80 | (cp >> 6 & 0x3F));
                u[3] = (char)(0x80 | (cp & 0x3F));
                k = 4;
        }
        return ap_buf_add(b, u, k);
}

static int grow_failed(struct parser *p, int r)
{
        if (r == -E2BIG)
                return fail_at(p, p->i, AP_E_TOO_LARGE, "a string larger than the limit");
        return ap_error_set(p->err, r, "out of memory");
}

/* A string starting at the opening quote, decoded into p->str. */
static int string(struct parser *p)
{
        ap_buf_reset(&p->str);
        p->i++; /* the quote */
        for (;;) {
                size_t run = p->i;
                while (p->i < p->n && p->s[p->i] != '"' && p->s[p->i] != '\\' &&
                       (unsigned char)p->s[p->i] >= 0x20 && (unsigned char)p->s[p->i] < 0x80)
                        p->i++;
                int r = ap_buf_add(&p->str, p->s + run, p->i - run);
                if (r < 0)
                        return grow_failed(p, r);
                if (p->i >= p->n)
                        return fail(p, "unterminated string");
                unsigned char c = (unsigned char)p->s[p->i];
                if (c == '"') {
                        p->i++;
                        return 0;
                }
                if (c < 0x20)
                        return fail(p, "control character in a string (escape it)");
                if (c >= 0x80) {
                        uint32_t cp;
                        size_t k = ap_utf8_decode(p->s + p->i, p->n - p->i, &cp);
                        if (!k)
                                return fail(p, "invalid UTF-8 in a string");
                        if ((r = ap_buf_add(&p->str, p->s + p->i, k)) < 0)
                                return grow_failed(p, r);
                        p->i += k;
                        continue;
                }
                /* an escape */
                if (p->i + 1 >= p->n)
                        return fail(p, "unterminated string");
                char e = p->s[p->i + 1];
                static const char from[] = "\"\\/bfnrt", to[] = "\"\\/\b\f\n\r\t";
                const char *m = e ? strchr(from, e) : NULL;
                if (m) {
                        r = ap_buf_addch(&p->str, to[m - from]);
                        p->i += 2;
                } else if (e == 'u') {
                        uint32_t cp, lo;
                        if (p->n - p->i < 6 || hex4(p->s + p->i + 2, &cp) < 0)
                                return fail(p, "invalid \\u escape");
                        size_t at = p->i;
                        p->i += 6;
                        if (cp >= 0xDC00 && cp <= 0xDFFF)
                                return fail_at(p, at, AP_E_INVALID, "a \\u escape of a lone low surrogate");
                        if (cp >= 0xD800 && cp <= 0xDBFF) {
                                if (p->n - p->i < 6 || p->s[p->i] != '\\' || p->s[p->i + 1] != 'u' ||
                                    hex4(p->s + p->i + 2, &lo) < 0 || lo < 0xDC00 || lo > 0xDFFF)
                                        return fail_at(p, at, AP_E_INVALID,
                                                       "a \\u escape of a lone high surrogate");
                                cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
                                p->i += 6;
                        }
                        r = put_utf8(&p->str, cp);
                } else {
                        return fail(p, "invalid escape in a string");
                }
                if (r < 0)
                        return grow_failed(p, r);
        }
}

static bool digit(char c)
{
        return c >= '0' && c <= '9';
}

/* A number: int64 when it is an integer literal that fits, a float otherwise. */
static int number(struct parser *p, struct ap_sops_node *node)
{
        size_t start = p->i, i = p->i;
        if (i < p->n && p->s[i] == '-')
                i++;
        if (i >= p->n || !digit(p->s[i]))
                return fail(p, "invalid number");
        if (p->s[i] == '0')
                i++;
        else
                while (i < p->n && digit(p->s[i]))
                        i++;
        bool integer = true;
        if (i < p->n && p->s[i] == '.') {
                integer = false;
                if (++i >= p->n || !digit(p->s[i]))
                        return fail_at(p, i, AP_E_INVALID, "invalid number");
                while (i < p->n && digit(p->s[i]))
                        i++;
        }
        if (i < p->n && (p->s[i] == 'e' || p->s[i] == 'E')) {
                integer = false;
                if (++i < p->n && (p->s[i] == '+' || p->s[i] == '-'))
                        i++;
                if (i >= p->n || !digit(p->s[i]))
                        return fail_at(p, i, AP_E_INVALID, "invalid number");
                while (i < p->n && digit(p->s[i]))
                        i++;
        }
        if (i - start > 1024)
                return fail(p, "a number literal longer than 1024 characters");
        char lit[1025];
        memcpy(lit, p->s + start, i - start);
        lit[i - start] = '\0';
        if (integer) {
                errno = 0;
                char *end;
                long long v = strtoll(lit, &end, 10);
                if (errno == 0 && *end == '\0') {
                        node->type = AP_SOPS_INT;
                        node->i = v;
                        p->i = i;
                        return 0;
                }
                /* past int64: a float, as sops reads it */
        }
        errno = 0;
        double d = strtod(lit, NULL);
        if (errno == ERANGE && (d == HUGE_VAL || d == -HUGE_VAL))
                return fail(p, "a number too large for a float");
        node->type = AP_SOPS_FLOAT;
        node->f = d;
        p->i = i;
        return 0;
}

static bool literal(struct parser *p, const char *word)
{
        size_t k = strlen(word);
        if (p->n - p->i < k || memcmp(p->s + p->i, word, k) != 0)
                return false;
        p->i += k;
        return true;
}

/* ---- values ---- */

static int value(struct parser *p, struct ap_sops_node **ret);

/* Step over the opening bracket; true when the container closes right away. */
static bool opens_empty(struct parser *p, char close)
{
        p->i++;
        skip_ws(p);
        if (p->i < p->n && p->s[p->i] == close) {
                p->i++;
                return true;
        }
        return false;
}

/* After a member or item: 1 for ',' (another follows), 0 for the closing bracket, or an error. */
static int next_or_close(struct parser *p, char close, const char *what)
{
        skip_ws(p);
        if (p->i < p->n && (p->s[p->i] == ',' || p->s[p->i] == close))
                return p->s[p->i++] == ',';
        return fail(p, what);
}

static int object(struct parser *p, struct ap_sops_node *map)
{
        struct ap_sops_keyset ks = {0};
        int r = 0;
        if (opens_empty(p, '}'))
                return 0;
        for (;;) {
                skip_ws(p);
                if (p->i >= p->n || p->s[p->i] != '"') {
                        r = fail(p, "expected a string key");
                        break;
                }
                size_t key_at = p->i;
                if ((r = string(p)) < 0)
                        break;
                skip_ws(p);
                if (p->i >= p->n || p->s[p->i] != ':') {
                        r = fail(p, "expected ':' after an object key");
                        break;
                }
                p->i++;
                /* the key is in p->str, which the value reuses: keep a copy */
                _cleanup_buf_ struct ap_buf key = AP_BUF_INIT;
                key.max = p->str.max;
                if ((r = ap_buf_add(&key, p->str.data, p->str.len)) < 0) {
                        r = grow_failed(p, r);
                        break;
                }
                bool keep = p->flags & AP_SOPS_JSON_KEEP_DUPLICATES;
                if (!keep && ap_sops_keyset_has(&ks, key.data, key.len)) {
                        _cleanup_buf_ struct ap_buf msg = AP_BUF_INIT;
                        r = ap_buf_printf(&msg, "duplicate key '%.*s'", (int)AP_MIN(key.len, 200), key.data);
                        r = fail_at(p, key_at, AP_E_INVALID, r == 0 ? msg.data : "duplicate key");
                        break;
                }
                struct ap_sops_node *child = NULL;
                if ((r = value(p, &child)) < 0)
                        break;
                if ((r = ap_sops_node_set_key(child, key.data, key.len)) < 0 ||
                    (r = ap_sops_node_append(map, child)) < 0) {
                        ap_sops_node_free(child);
                        r = ap_error_set(p->err, r, "out of memory");
                        break;
                }
                if (!keep && (r = ap_sops_keyset_add(&ks, child)) < 0) {
                        r = ap_error_set(p->err, r, "out of memory");
                        break;
                }
                if ((r = next_or_close(p, '}', "expected ',' or '}' after an object member")) != 1)
                        break;
        }
        ap_sops_keyset_release(&ks);
        return r;
}

static int array(struct parser *p, struct ap_sops_node *list)
{
        if (opens_empty(p, ']'))
                return 0;
        for (;;) {
                struct ap_sops_node *child = NULL;
                int r = value(p, &child);
                if (r < 0)
                        return r;
                if ((r = ap_sops_node_append(list, child)) < 0) {
                        ap_sops_node_free(child);
                        return ap_error_set(p->err, r, "out of memory");
                }
                if ((r = next_or_close(p, ']', "expected ',' or ']' after an array item")) != 1)
                        return r;
        }
}

static int value(struct parser *p, struct ap_sops_node **ret)
{
        skip_ws(p);
        if (p->i >= p->n)
                return fail(p, "expected a value");
        char c = p->s[p->i];
        _cleanup_(ap_sops_node_freep) struct ap_sops_node *node = ap_sops_node_new(c == '{'   ? AP_SOPS_MAP
                                                                                   : c == '[' ? AP_SOPS_LIST
                                                                                              : AP_SOPS_NULL);
        if (!node)
                return ap_error_set(p->err, -ENOMEM, "out of memory");
        int r = 0;
        if (c == '{' || c == '[') {
                if (p->depth == MAX_DEPTH)
                        return fail_at(p, p->i, AP_E_TOO_LARGE, "nesting deeper than 512 levels");
                p->depth++;
                r = c == '{' ? object(p, node) : array(p, node);
                p->depth--;
        } else if (c == '"') {
                r = string(p);
                if (r == 0 && (r = ap_sops_node_set_str(node, p->str.data, p->str.len)) < 0)
                        r = ap_error_set(p->err, r, "out of memory");
                node->type = AP_SOPS_STR;
        } else if (c == '-' || digit(c)) {
                r = number(p, node);
        } else if (literal(p, "true") || literal(p, "false")) {
                node->type = AP_SOPS_BOOL;
                node->b = c == 't';
        } else if (literal(p, "null")) {
                node->type = AP_SOPS_NULL;
        } else {
                r = fail(p, "expected a value (an object, array, string, number, true, false or null)");
        }
        if (r < 0)
                return r;
        *ret = TAKE_PTR(node);
        return 0;
}

int ap_sops_json_load(const char *data, size_t n, unsigned flags, struct ap_sops_docs *docs,
                      struct ap_error *err)
{
        struct parser p = {.s = data, .n = n, .flags = flags, .err = err};
        ap_buf_init_secret(&p.str, n + 1); /* no string is longer than the document */
        if (n >= 3 && memcmp(data, "\xEF\xBB\xBF", 3) == 0)
                return fail(&p, "a byte order mark (JSON text must not start with one)");
        skip_ws(&p);
        if (p.i >= n) {
                ap_buf_release(&p.str);
                return ap_error_set(err, AP_E_INVALID, "the document is empty");
        }
        if (data[p.i] != '{') {
                ap_buf_release(&p.str);
                return ap_error_set(
                    err, AP_E_INVALID,
                    "SOPS only supports JSON files with a top-level object; wrap the value in "
                    "an object, e.g. {\"data\": ...}");
        }
        struct ap_sops_node *doc = NULL;
        int r = value(&p, &doc);
        if (r == 0) {
                skip_ws(&p);
                if (p.i < n)
                        r = fail(&p, "more after the top-level object");
        }
        if (r == 0 && (r = ap_sops_docs_append(docs, doc)) < 0)
                r = ap_error_set(err, r, "out of memory");
        if (r < 0)
                ap_sops_node_free(doc);
        ap_buf_release(&p.str);
        return r;
}
