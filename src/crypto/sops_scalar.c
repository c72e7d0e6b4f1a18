/* sops_scalar.c - go-yaml v3 scalar resolution (resolve.go behaviour: YAML 1.2-like, base-prefixed ints,
 * 1.1 octals, only true/false bools, timestamps), SOPS leaf bytes and typed decryption results. */
#include "sops_scalar.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/base64.h"
#include "sops_go.h"

#define TAG_PREFIX "tag:yaml.org,2002:"

enum rtag { R_NULL, R_BOOL, R_STR, R_INT, R_FLOAT, R_TIME, R_BINARY, R_MERGE, R_OTHER, R_NONE };

static enum rtag tag_kind(const char *tag)
{
        if (!tag || strcmp(tag, "!") == 0)
                return R_NONE;
        if (strncmp(tag, TAG_PREFIX, strlen(TAG_PREFIX)) != 0)
                return R_OTHER;
        static const struct {
                const char *name;
                enum rtag kind;
        } names[] = {{"null", R_NULL},   {"bool", R_BOOL},      {"str", R_STR},       {"int", R_INT},
                     {"float", R_FLOAT}, {"timestamp", R_TIME}, {"binary", R_BINARY}, {"merge", R_MERGE}};
        const char *t = tag + strlen(TAG_PREFIX);
        for (size_t i = 0; i < AP_ARRAY_SIZE(names); i++)
                if (strcmp(t, names[i].name) == 0)
                        return names[i].kind;
        return R_OTHER;
}

static const char *rtag_name(enum rtag t)
{
        static const char *const names[] = {"!!null",      "!!bool",   "!!str",   "!!int", "!!float",
                                            "!!timestamp", "!!binary", "!!merge", "!!?",   ""};
        return names[t];
}

static bool eq(const char *s, size_t n, const char *lit)
{
        return strlen(lit) == n && memcmp(s, lit, n) == 0;
}

static bool one_of(const char *s, size_t n, const char *const *list)
{
        for (; *list; list++)
                if (eq(s, n, *list))
                        return true;
        return false;
}

/* The fixed spellings in go-yaml's resolve map. */
static bool lookup_map(const char *s, size_t n, struct ap_sops_node *node, enum rtag *rt)
{
        static const char *const t[] = {"true", "True", "TRUE", NULL};
        static const char *const f[] = {"false", "False", "FALSE", NULL};
        static const char *const nul[] = {"", "~", "null", "Null", "NULL", NULL};
        static const char *const nan[] = {".nan", ".NaN", ".NAN", NULL};
        static const char *const inf[] = {".inf", ".Inf", ".INF", "+.inf", "+.Inf", "+.INF", NULL};
        static const char *const ninf[] = {"-.inf", "-.Inf", "-.INF", NULL};
        if (one_of(s, n, t) || one_of(s, n, f)) {
                node->type = AP_SOPS_BOOL;
                node->b = one_of(s, n, t);
                *rt = R_BOOL;
        } else if (one_of(s, n, nul)) {
                node->type = AP_SOPS_NULL;
                *rt = R_NULL;
        } else if (one_of(s, n, nan) || one_of(s, n, inf) || one_of(s, n, ninf)) {
                node->type = AP_SOPS_FLOAT;
                node->f = one_of(s, n, nan) ? NAN : one_of(s, n, inf) ? INFINITY : -INFINITY;
                *rt = R_FLOAT;
        } else if (eq(s, n, "<<")) {
                *rt = R_MERGE;
                return false; /* stays a string */
        } else {
                return false;
        }
        return true;
}

/* ^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$ */
static bool yaml_style_float(const char *s, size_t n)
{
        size_t i = 0;
        if (i < n && (s[i] == '+' || s[i] == '-'))
                i++;
        size_t d = 0;
        if (i < n && s[i] == '.') {
                i++;
                for (; i < n && s[i] >= '0' && s[i] <= '9'; i++)
                        d++;
                if (d == 0)
                        return false;
        } else {
                for (; i < n && s[i] >= '0' && s[i] <= '9'; i++)
                        d++;
                if (d == 0)
                        return false;
                if (i < n && s[i] == '.')
                        for (i++; i < n && s[i] >= '0' && s[i] <= '9'; i++)
                                ;
        }
        if (i < n && (s[i] == 'e' || s[i] == 'E')) {
                i++;
                if (i < n && (s[i] == '+' || s[i] == '-'))
                        i++;
                size_t e = 0;
                for (; i < n && s[i] >= '0' && s[i] <= '9'; i++)
                        e++;
                if (e == 0)
                        return false;
        }
        return i == n;
}

static int set_time(struct ap_sops_node *node, const struct ap_go_time *t)
{
        _cleanup_buf_ struct ap_buf b = AP_BUF_INIT_SECRET;
        int r = ap_go_time_format(&b, t, true);
        if (r == 0)
                r = ap_sops_node_set_str(node, b.data, b.len);
        if (r == 0)
                node->type = AP_SOPS_TIME;
        return r;
}

/* Ints in the 0b/0o forms go-yaml retries after the float check (with the sign handled by hand). */
static int prefixed_int(const char *p, size_t n, char kind, int64_t *iv, bool *uint_overflow)
{
        bool neg = n > 0 && p[0] == '-';
        size_t skip = neg ? 3 : 2;
        if (n < skip || p[skip - 2] != '0' || p[skip - 1] != kind)
                return -EINVAL;
        char buf[80];
        if (n - skip + 4 > sizeof(buf))
                return -EINVAL;
        size_t k = 0;
        if (neg)
                buf[k++] = '-';
        buf[k++] = '0';
        buf[k++] = kind;
        memcpy(buf + k, p + skip, n - skip);
        k += n - skip;
        int r = ap_go_parse_int(buf, k, iv);
        if (r == -ERANGE && !neg) {
                uint64_t u;
                if (ap_go_parse_uint(buf, k, &u) == 0)
                        *uint_overflow = true;
        }
        return r;
}

/* Resolve an untagged (or resolvable-tagged) plain scalar; sets node and *rt. */
static int resolve_plain(struct ap_sops_node *node, enum rtag tag, const char *s, size_t n, enum rtag *rt,
                         bool *uint_overflow)
{
        *rt = R_STR;
        char hint = 'N';
        if (n > 0) {
                char c = s[0];
                if (c == '+' || c == '-')
                        hint = 'S';
                else if (c >= '0' && c <= '9')
                        hint = 'D';
                else if (strchr("yYnNtTfFoO~", c))
                        hint = 'M';
                else if (c == '.')
                        hint = '.';
                else
                        hint = 0;
        }
        if (hint == 0 || tag == R_STR || tag == R_BINARY)
                return 0;
        if (lookup_map(s, n, node, rt) || *rt == R_MERGE)
                return 0;
        if (hint == '.') {
                double f;
                if (ap_go_parse_float(s, n, &f) == 0) {
                        node->type = AP_SOPS_FLOAT;
                        node->f = f;
                        *rt = R_FLOAT;
                }
                return 0;
        }
        if (hint != 'D' && hint != 'S')
                return 0;
        struct ap_go_time t;
        if ((tag == R_NONE || tag == R_TIME) && ap_go_time_parse_yaml(s, n, &t)) {
                *rt = R_TIME;
                return set_time(node, &t);
        }
        /* strings.Replace(in, "_", "", -1) */
        char small[80];
        char *plain = n < sizeof(small) ? small : malloc(n + 1);
        if (!plain)
                return -ENOMEM;
        size_t k = 0;
        for (size_t i = 0; i < n; i++)
                if (s[i] != '_')
                        plain[k++] = s[i];
        plain[k] = '\0';
        int64_t iv;
        uint64_t uv;
        double f;
        int r = 0;
        if (ap_go_parse_int(plain, k, &iv) == 0) {
                node->type = AP_SOPS_INT;
                node->i = iv;
                *rt = R_INT;
        } else if (ap_go_parse_uint(plain, k, &uv) == 0) {
                *uint_overflow = true;
                *rt = R_INT;
        } else if (yaml_style_float(plain, k) && ap_go_parse_float(plain, k, &f) == 0) {
                node->type = AP_SOPS_FLOAT;
                node->f = f;
                *rt = R_FLOAT;
        } else if (prefixed_int(plain, k, 'b', &iv, uint_overflow) == 0 ||
                   prefixed_int(plain, k, 'o', &iv, uint_overflow) == 0) {
                node->type = AP_SOPS_INT;
                node->i = iv;
                *rt = R_INT;
        } else if (*uint_overflow) {
                *rt = R_INT;
        }
        if (plain != small) /* a copy of the value, which may be a secret */
                ap_secure_free(plain, n + 1);
        else
                ap_secure_wipe(small, sizeof(small));
        return r;
}

static int set_binary(struct ap_sops_node *node, const char *s, size_t n, struct ap_error *err)
{
        /* encoding/base64 skips CR and LF */
        _cleanup_buf_ struct ap_buf clean = AP_BUF_INIT_SECRET;
        _cleanup_buf_ struct ap_buf dec = AP_BUF_INIT_SECRET;
        clean.max = dec.max = n + 1; /* no more than the value itself: the document's limit applies */
        int r = 0;
        for (size_t i = 0; r == 0 && i < n; i++)
                if (s[i] != '\r' && s[i] != '\n')
                        r = ap_buf_addch(&clean, s[i]);
        if (r == 0)
                r = ap_base64_decode(&dec, clean.data, clean.len, AP_B64_STD);
        if (r == -EINVAL)
                return ap_error_set(err, AP_E_INVALID, "!!binary value contains invalid base64 data");
        if (r == 0)
                r = ap_sops_node_set_str(node, dec.data, dec.len);
        if (r == 0)
                node->type = AP_SOPS_STR;
        return r;
}

int ap_sops_scalar_resolve(struct ap_sops_node *node, const char *tag, bool plain, const char *s, size_t n,
                           struct ap_error *err)
{
        enum rtag want = tag_kind(tag);
        node->type = AP_SOPS_STR;
        if (want == R_BINARY)
                return set_binary(node, s, n, err);
        if (want == R_STR || want == R_OTHER || want == R_MERGE || (want == R_NONE && !plain))
                return ap_sops_node_set_str(node, s, n);
        enum rtag got;
        bool uint_overflow = false;
        int r = resolve_plain(node, want, s, n, &got, &uint_overflow);
        if (r < 0)
                return r;
        if (uint_overflow) /* never the value itself: the document may be plaintext */
                return ap_error_set(
                    err, AP_E_INVALID,
                    "an integer above 9223372036854775807 is out of range; quote it to keep it "
                    "as a string");
        if (got == R_STR || got == R_MERGE) {
                node->type = AP_SOPS_STR;
                r = ap_sops_node_set_str(node, s, n);
                if (r < 0)
                        return r;
        }
        if (want == R_NONE || want == got)
                return 0;
        if (want == R_FLOAT && got == R_INT) {
                node->type = AP_SOPS_FLOAT;
                node->f = (double)node->i;
                return 0;
        }
        return ap_error_set(err, AP_E_INVALID, "cannot decode a %s value as a %s", rtag_name(got),
                            rtag_name(want));
}

int ap_sops_scalar_bytes(const struct ap_sops_node *node, struct ap_buf *out)
{
        switch (node->type) {
        case AP_SOPS_STR:
        case AP_SOPS_BYTES:
        case AP_SOPS_TIME:
        case AP_SOPS_COMMENT:
                return ap_buf_add(out, node->str, node->len);
        case AP_SOPS_INT:
                return ap_buf_printf(out, "%lld", (long long)node->i);
        case AP_SOPS_FLOAT:
                return ap_go_format_float(out, node->f, AP_GO_FLOAT_F);
        case AP_SOPS_BOOL:
                return ap_buf_addstr(out, node->b ? "True" : "False");
        default:
                return -EINVAL;
        }
}

const char *ap_sops_scalar_type_name(const struct ap_sops_node *node)
{
        switch (node->type) {
        case AP_SOPS_INT:
                return "int";
        case AP_SOPS_FLOAT:
                return "float";
        case AP_SOPS_BOOL:
                return "bool";
        case AP_SOPS_TIME:
                return "time";
        case AP_SOPS_COMMENT:
                return "comment";
        case AP_SOPS_BYTES:
                return "bytes";
        default:
                return "str";
        }
}

int ap_sops_scalar_set_typed(struct ap_sops_node *node, const char *type, size_t type_len, const char *s,
                             size_t n)
{
        int r;
        if (eq(type, type_len, "str") || eq(type, type_len, "comment") || eq(type, type_len, "bytes")) {
                r = ap_sops_node_set_str(node, s, n);
                if (r == 0)
                        node->type = eq(type, type_len, "str")     ? AP_SOPS_STR
                                     : eq(type, type_len, "bytes") ? AP_SOPS_BYTES
                                                                   : AP_SOPS_COMMENT;
                if (node->type == AP_SOPS_COMMENT)
                        node->inline_comment = false; /* sops drops the inline flag on decrypt */
                return r;
        }
        if (eq(type, type_len, "int")) {
                int64_t v;
                r = ap_go_atoi(s, n, &v);
                if (r == 0) {
                        node->type = AP_SOPS_INT;
                        node->i = v;
                }
                return r < 0 ? -EINVAL : 0;
        }
        if (eq(type, type_len, "float")) {
                double v;
                r = ap_go_parse_float(s, n, &v);
                if (r == 0) {
                        node->type = AP_SOPS_FLOAT;
                        node->f = v;
                }
                return r < 0 ? -EINVAL : 0;
        }
        if (eq(type, type_len, "bool")) {
                bool v;
                r = ap_go_parse_bool(s, n, &v);
                if (r == 0) {
                        node->type = AP_SOPS_BOOL;
                        node->b = v;
                }
                return r;
        }
        if (eq(type, type_len, "time")) {
                struct ap_go_time t;
                r = ap_go_time_parse_rfc3339(s, n, &t);
                return r < 0 ? r : set_time(node, &t);
        }
        return -EINVAL;
}

/* ^[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+(?:\.[0-9_]*)?$ */
static bool base60_float(const char *s, size_t n)
{
        size_t i = 0;
        if (n == 0 || !memchr(s, ':', n))
                return false;
        if (s[i] == '+' || s[i] == '-')
                i++;
        if (i >= n || s[i] < '0' || s[i] > '9')
                return false;
        while (i < n && ((s[i] >= '0' && s[i] <= '9') || s[i] == '_'))
                i++;
        size_t groups = 0;
        while (i < n && s[i] == ':') {
                i++;
                size_t d = 0;
                while (i < n && s[i] >= '0' && s[i] <= '9' && d < 2)
                        i++, d++;
                if (d == 0 || (d == 2 && s[i - 2] > '5'))
                        return false;
                groups++;
        }
        if (groups == 0)
                return false;
        if (i < n && s[i] == '.')
                for (i++; i < n && ((s[i] >= '0' && s[i] <= '9') || s[i] == '_'); i++)
                        ;
        return i == n;
}

bool ap_sops_scalar_plain_ok(const char *s, size_t n)
{
        static const char *const old_bools[] = {"y", "Y",  "yes", "Yes", "YES", "on",  "On",  "ON", "n",
                                                "N", "no", "No",  "NO",  "off", "Off", "OFF", NULL};
        if (one_of(s, n, old_bools) || base60_float(s, n))
                return false;
        struct ap_sops_node tmp = {0};
        enum rtag got;
        bool uint_overflow = false;
        int r = resolve_plain(&tmp, R_NONE, s, n, &got, &uint_overflow);
        ap_secure_free(tmp.str, tmp.len);
        return r == 0 && got == R_STR && !uint_overflow;
}
