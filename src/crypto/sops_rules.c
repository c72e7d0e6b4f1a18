/* sops_rules.c - SOPS crypt rules (suffix, regex, comment regex) and the RE2 -> POSIX ERE translation the
 * regex rules and .sops.yaml path_regex need. Matching semantics follow Go's regexp.Match: unanchored,
 * only match/no-match matters (so leftmost-longest vs leftmost-first and lazy quantifiers do not). */
#include "sops_rules.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"

static const struct {
        enum ap_sops_rule_kind kind;
        const char *key;
} rule_keys[] = {
    {AP_SOPS_UNENCRYPTED_SUFFIX, "unencrypted_suffix"},
    {AP_SOPS_ENCRYPTED_SUFFIX, "encrypted_suffix"},
    {AP_SOPS_UNENCRYPTED_REGEX, "unencrypted_regex"},
    {AP_SOPS_ENCRYPTED_REGEX, "encrypted_regex"},
    {AP_SOPS_UNENCRYPTED_COMMENT_REGEX, "unencrypted_comment_regex"},
    {AP_SOPS_ENCRYPTED_COMMENT_REGEX, "encrypted_comment_regex"},
};

const char *ap_sops_rule_key(enum ap_sops_rule_kind kind)
{
        for (size_t i = 0; i < AP_ARRAY_SIZE(rule_keys); i++)
                if (rule_keys[i].kind == kind)
                        return rule_keys[i].key;
        return NULL;
}

enum ap_sops_rule_kind ap_sops_rule_from_key(const char *key)
{
        for (size_t i = 0; i < AP_ARRAY_SIZE(rule_keys); i++)
                if (strcmp(rule_keys[i].key, key) == 0)
                        return rule_keys[i].kind;
        return AP_SOPS_RULE_NONE;
}

/* ---- RE2 -> ERE ---- */

struct tr {
        const char *p, *end;
        struct ap_buf *out;
        const char *what;
        struct ap_error *err;
};

static int unsupported(struct tr *t, const char *at, size_t n, const char *why)
{
        return ap_error_set(t->err, AP_E_UNSUPPORTED,
                            "%s uses RE2 syntax '%.*s' (%s) that has no POSIX equivalent here", t->what,
                            (int)n, at, why);
}

static bool ere_special(char c)
{
        return strchr(".[]()*+?{}|^$\\", c) != NULL && c != '\0';
}

static int hexval(char c)
{
        return c >= '0' && c <= '9'   ? c - '0'
               : c >= 'a' && c <= 'f' ? c - 'a' + 10
               : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                      : -1;
}

/* Decode an escape that stands for one literal byte (\n, \x41, \x{41}, \., ...); -1 if it is not one. */
static int escaped_byte(struct tr *t, const char **p)
{
        const char *s = *p; /* points after the backslash */
        if (s >= t->end)
                return -1;
        char c = *s;
        static const char ctl[] = "ntrfva", val[] = "\n\t\r\f\v\a";
        const char *k = strchr(ctl, c);
        if (k && c) {
                *p = s + 1;
                return (unsigned char)val[k - ctl];
        }
        if (c == 'x') {
                if (s + 1 < t->end && s[1] == '{') {
                        const char *q = s + 2;
                        int v = 0, d = 0;
                        for (; q < t->end && hexval(*q) >= 0 && d < 2; q++, d++)
                                v = v * 16 + hexval(*q);
                        if (d == 0 || q >= t->end || *q != '}' || v > 0x7f)
                                return -1;
                        *p = q + 1;
                        return v;
                }
                if (s + 2 < t->end + 0 && hexval(s[1]) >= 0 && hexval(s[2]) >= 0 &&
                    hexval(s[1]) * 16 + hexval(s[2]) <= 0x7f) {
                        *p = s + 3;
                        return hexval(s[1]) * 16 + hexval(s[2]);
                }
                return -1;
        }
        if ((c >= 0x21 && c <= 0x7e) && !(c >= '0' && c <= '9') && !(c >= 'a' && c <= 'z') &&
            !(c >= 'A' && c <= 'Z')) {
                *p = s + 1;
                return (unsigned char)c;
        }
        return -1;
}

static const char *class_set(char c)
{
        switch (c) {
        case 'd':
        case 'D':
                return "0-9";
        case 'w':
        case 'W':
                return "0-9A-Za-z_";
        case 's':
        case 'S':
                return "\t\n\f\r ";
        default:
                return NULL;
        }
}

static int add_literal(struct tr *t, int b)
{
        if (ere_special((char)b))
                return ap_buf_printf(t->out, "\\%c", b);
        return ap_buf_addch(t->out, (char)b);
}

/* A bracket expression; *p is after '['. Members are collected and re-emitted in POSIX order: ']' first,
 * '-' last, '^' never first. */
static int bracket(struct tr *t, const char **p)
{
        const char *s = *p, *start = s - 1;
        bool neg = false;
        _cleanup_buf_ struct ap_buf body = AP_BUF_INIT;
        bool close = false, dash = false, caret = false;
        if (s < t->end && *s == '^')
                neg = true, s++;
        bool first = true;
        while (s < t->end && (*s != ']' || first)) {
                first = false;
                if (*s == '[' && s + 1 < t->end && s[1] == ':') {
                        const char *e = strstr(s, ":]");
                        if (!e || e >= t->end)
                                return unsupported(t, start, (size_t)(t->end - start), "unterminated class");
                        ap_buf_add(&body, s, (size_t)(e + 2 - s));
                        s = e + 2;
                        continue;
                }
                int b;
                if (*s == '\\') {
                        const char *q = s + 1;
                        const char *set = q < t->end ? class_set(*q) : NULL;
                        if (set && *q >= 'a') {
                                ap_buf_addstr(&body, set);
                                s = q + 1;
                                continue;
                        }
                        if (set)
                                return unsupported(t, s, 2, "negated class inside brackets");
                        b = escaped_byte(t, &q);
                        if (b < 0)
                                return unsupported(t, s, AP_MIN(2, (size_t)(t->end - s)), "escape");
                        s = q;
                } else {
                        b = (unsigned char)*s++;
                }
                /* a range a-b */
                if (s + 1 < t->end && *s == '-' && s[1] != ']') {
                        const char *q = s + 1;
                        int e;
                        if (*q == '\\') {
                                q++;
                                e = escaped_byte(t, &q);
                                if (e < 0)
                                        return unsupported(t, s, 2, "escape in range");
                        } else {
                                e = (unsigned char)*q++;
                        }
                        if (b == ']' || e == ']' || b == '-' || e == '-' || b == '^' || e == '^' ||
                            b == '[' || e == '[')
                                return unsupported(t, start, (size_t)(q - start),
                                                   "range bound that needs escaping");
                        ap_buf_printf(&body, "%c-%c", b, e);
                        s = q;
                        continue;
                }
                if (b == ']')
                        close = true;
                else if (b == '-')
                        dash = true;
                else if (b == '^')
                        caret = true;
                else if (b == '[' && s < t->end && (*s == '.' || *s == '=' || *s == ':'))
                        return unsupported(t, start, (size_t)(s - start + 1), "'[' before '.', '=' or ':'");
                else
                        ap_buf_addch(&body, (char)b);
        }
        if (s >= t->end)
                return unsupported(t, start, (size_t)(t->end - start), "missing ']'");
        *p = s + 1;
        if (!close && !dash && body.len == 0 && caret && !neg)
                return ap_buf_addstr(t->out, "\\^");
        int r = ap_buf_addch(t->out, '[');
        if (r == 0 && neg)
                r = ap_buf_addch(t->out, '^');
        if (r == 0 && close)
                r = ap_buf_addch(t->out, ']');
        if (r == 0)
                r = ap_buf_add(t->out, body.data, body.len);
        if (r == 0 && caret)
                r = ap_buf_addch(t->out, '^');
        if (r == 0 && dash)
                r = ap_buf_addch(t->out, '-');
        if (r == 0)
                r = ap_buf_addch(t->out, ']');
        return r;
}

static int translate(struct tr *t, bool *icase)
{
        const char *s = t->p;
        if (t->end - s >= 4 && memcmp(s, "(?i)", 4) == 0) {
                *icase = true;
                s += 4;
        }
        int r = 0;
        bool quantifiable = false;
        while (r == 0 && s < t->end) {
                char c = *s;
                if (c == '\\') {
                        const char *q = s + 1;
                        const char *set = q < t->end ? class_set(*q) : NULL;
                        if (set) {
                                r = ap_buf_printf(t->out, "[%s%s]", *q >= 'a' ? "" : "^", set);
                                s = q + 1;
                                quantifiable = true;
                                continue;
                        }
                        int b = escaped_byte(t, &q);
                        if (b < 0)
                                return unsupported(t, s, AP_MIN(2, (size_t)(t->end - s)),
                                                   "assertion, Unicode class or back-reference");
                        r = add_literal(t, b);
                        s = q;
                        quantifiable = true;
                } else if (c == '[') {
                        s++;
                        r = bracket(t, &s);
                        quantifiable = true;
                } else if (c == '(' && s + 1 < t->end && s[1] == '?') {
                        if (s + 2 < t->end && s[2] == ':') {
                                r = ap_buf_addch(t->out, '(');
                                s += 3;
                                quantifiable = false;
                                continue;
                        }
                        return unsupported(t, s, AP_MIN(4, (size_t)(t->end - s)),
                                           "group flags or named group");
                } else if ((c == '*' || c == '+' || c == '?' || c == '}') && s + 1 < t->end && s[1] == '?' &&
                           (quantifiable || c == '}')) {
                        /* lazy quantifier: the same set of matching strings */
                        r = ap_buf_addch(t->out, c);
                        s += 2;
                        quantifiable = false;
                } else {
                        r = ap_buf_addch(t->out, c);
                        quantifiable = c != '(' && c != '|' && c != '^';
                        s++;
                }
        }
        return r;
}

int ap_sops_regex_compile(regex_t *re, const char *pattern, const char *what, struct ap_error *err)
{
        _cleanup_buf_ struct ap_buf ere = AP_BUF_INIT;
        struct tr t = {pattern, pattern + strlen(pattern), &ere, what, err};
        bool icase = false;
        int r = translate(&t, &icase);
        if (r < 0)
                return err && err->code ? r : ap_error_set(err, r, "%s: out of memory", what);
        int rc = regcomp(re, ere.data, REG_EXTENDED | REG_NOSUB | (icase ? REG_ICASE : 0));
        if (rc != 0) {
                char msg[128];
                regerror(rc, re, msg, sizeof(msg));
                return ap_error_set(err, -EINVAL, "%s '%s' is not a valid regular expression: %s", what,
                                    pattern, msg);
        }
        return 0;
}

bool ap_sops_regex_match(const regex_t *re, const char *s, size_t n)
{
        regmatch_t m = {.rm_so = 0, .rm_eo = (regoff_t)n};
        return regexec(re, s, 1, &m, REG_STARTEND) == 0;
}

/* ---- rules ---- */

int ap_sops_rule_init(struct ap_sops_rule *rule, enum ap_sops_rule_kind kind, const char *value,
                      struct ap_error *err)
{
        *rule = (struct ap_sops_rule){0};
        if (kind == AP_SOPS_RULE_NONE || !value) {
                kind = AP_SOPS_UNENCRYPTED_SUFFIX;
                value = AP_SOPS_DEFAULT_UNENCRYPTED_SUFFIX;
        }
        rule->kind = kind;
        rule->value = strdup(value);
        if (!rule->value)
                return ap_error_set(err, -ENOMEM, "out of memory");
        if (kind == AP_SOPS_UNENCRYPTED_SUFFIX || kind == AP_SOPS_ENCRYPTED_SUFFIX)
                return 0;
        char what[64];
        snprintf(what, sizeof(what), "%s", ap_sops_rule_key(kind));
        int r = ap_sops_regex_compile(&rule->re, value, what, err);
        if (r < 0) {
                free(rule->value);
                rule->value = NULL;
                return r;
        }
        rule->compiled = true;
        return 0;
}

void ap_sops_rule_release(struct ap_sops_rule *rule)
{
        if (rule->compiled)
                regfree(&rule->re);
        free(rule->value);
        *rule = (struct ap_sops_rule){0};
}

static bool has_suffix(const struct ap_sops_str *s, const char *suffix)
{
        size_t n = strlen(suffix);
        return s->n >= n && memcmp(s->p + s->n - n, suffix, n) == 0;
}

bool ap_sops_rule_encrypts(const struct ap_sops_rule *rule, const struct ap_sops_str *path, size_t depth,
                           const struct ap_sops_comment_stack *comments, bool is_comment)
{
        switch (rule->kind) {
        case AP_SOPS_UNENCRYPTED_SUFFIX:
        case AP_SOPS_ENCRYPTED_SUFFIX: {
                bool any = false;
                for (size_t i = 0; i < depth && !any; i++)
                        any = has_suffix(&path[i], rule->value);
                return rule->kind == AP_SOPS_ENCRYPTED_SUFFIX ? any : !any;
        }
        case AP_SOPS_UNENCRYPTED_REGEX:
        case AP_SOPS_ENCRYPTED_REGEX: {
                bool any = false;
                for (size_t i = 0; i < depth && !any; i++)
                        any = ap_sops_regex_match(&rule->re, path[i].p, path[i].n);
                return rule->kind == AP_SOPS_ENCRYPTED_REGEX ? any : !any;
        }
        case AP_SOPS_UNENCRYPTED_COMMENT_REGEX:
        case AP_SOPS_ENCRYPTED_COMMENT_REGEX: {
                bool enc = rule->kind == AP_SOPS_UNENCRYPTED_COMMENT_REGEX;
                for (size_t i = 0; comments && i < comments->depth; i++) {
                        for (size_t j = 0; j < comments->n[i]; j++) {
                                /* encrypted_comment_regex never counts the comment line itself */
                                if (!enc && is_comment && i == comments->depth - 1 && j == comments->n[i] - 1)
                                        continue;
                                const struct ap_sops_str *c = &comments->levels[i][j];
                                if (ap_sops_regex_match(&rule->re, c->p, c->n))
                                        return !enc;
                        }
                }
                return enc;
        }
        default:
                return true;
        }
}
