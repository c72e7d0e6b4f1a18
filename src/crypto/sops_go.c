/* sops_go.c - Go strconv/time behaviours that SOPS bytes depend on (see sops_go.h). Written from the
 * documented behaviour of Go's strconv (ParseInt, ParseFloat, FormatFloat) and time (Parse, Format). */
#include "sops_go.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static bool is_digit(char c)
{
        return c >= '0' && c <= '9';
}

static char lower(char c)
{
        return (char)(c | 0x20);
}

static int digit_value(char c)
{
        if (c >= '0' && c <= '9')
                return c - '0';
        c = lower(c);
        if (c >= 'a' && c <= 'z')
                return c - 'a' + 10;
        return 99;
}

int ap_go_parse_uint(const char *s, size_t n, uint64_t *ret)
{
        if (n == 0)
                return -EINVAL;
        unsigned base = 10;
        size_t i = 0;
        if (s[0] == '0') {
                if (n >= 3 && lower(s[1]) == 'b')
                        base = 2, i = 2;
                else if (n >= 3 && lower(s[1]) == 'o')
                        base = 8, i = 2;
                else if (n >= 3 && lower(s[1]) == 'x')
                        base = 16, i = 2;
                else
                        base = 8, i = 1;
        }
        uint64_t v = 0;
        bool range = false;
        for (; i < n; i++) {
                int d = digit_value(s[i]);
                if (d >= (int)base)
                        return -EINVAL;
                if (v > (UINT64_MAX - (uint64_t)d) / base)
                        range = true;
                else
                        v = v * base + (uint64_t)d;
        }
        if (range)
                return -ERANGE;
        *ret = v;
        return 0;
}

int ap_go_parse_int(const char *s, size_t n, int64_t *ret)
{
        if (n == 0)
                return -EINVAL;
        bool neg = false;
        if (s[0] == '+' || s[0] == '-') {
                neg = s[0] == '-';
                s++, n--;
        }
        uint64_t u;
        int r = ap_go_parse_uint(s, n, &u);
        if (r < 0)
                return r;
        if (!neg && u > (uint64_t)INT64_MAX)
                return -ERANGE;
        if (neg && u > (uint64_t)INT64_MAX + 1)
                return -ERANGE;
        *ret = neg ? (int64_t)(0 - u) : (int64_t)u;
        return 0;
}

int ap_go_atoi(const char *s, size_t n, int64_t *ret)
{
        size_t i = 0;
        if (n > 0 && (s[0] == '+' || s[0] == '-'))
                i = 1;
        if (i == n)
                return -EINVAL;
        for (size_t j = i; j < n; j++)
                if (!is_digit(s[j]))
                        return -EINVAL;
        /* decimal only: a leading 0 is not an octal prefix here */
        bool neg = s[0] == '-';
        uint64_t v = 0;
        for (size_t j = i; j < n; j++) {
                if (v > (UINT64_MAX - 9) / 10)
                        return -ERANGE;
                v = v * 10 + (uint64_t)(s[j] - '0');
        }
        if ((!neg && v > (uint64_t)INT64_MAX) || (neg && v > (uint64_t)INT64_MAX + 1))
                return -ERANGE;
        *ret = neg ? (int64_t)(0 - v) : (int64_t)v;
        return 0;
}

int ap_go_parse_bool(const char *s, size_t n, bool *ret)
{
        static const char *const yes[] = {"1", "t", "T", "TRUE", "true", "True"};
        static const char *const no[] = {"0", "f", "F", "FALSE", "false", "False"};
        for (size_t i = 0; i < AP_ARRAY_SIZE(yes); i++) {
                if (strlen(yes[i]) == n && memcmp(yes[i], s, n) == 0) {
                        *ret = true;
                        return 0;
                }
                if (strlen(no[i]) == n && memcmp(no[i], s, n) == 0) {
                        *ret = false;
                        return 0;
                }
        }
        return -EINVAL;
}

/* Go's underscoreOK: '_' only between digits (or after a base prefix). */
static bool underscores_ok(const char *s, size_t n)
{
        size_t i = 0;
        char saw = '^';
        if (n >= 1 && (s[0] == '+' || s[0] == '-'))
                i = 1;
        bool hex = false;
        if (n - i >= 2 && s[i] == '0' &&
            (lower(s[i + 1]) == 'b' || lower(s[i + 1]) == 'o' || lower(s[i + 1]) == 'x')) {
                hex = lower(s[i + 1]) == 'x';
                i += 2;
                saw = '0';
        }
        for (; i < n; i++) {
                char c = s[i];
                if (is_digit(c) || (hex && lower(c) >= 'a' && lower(c) <= 'f')) {
                        saw = '0';
                        continue;
                }
                if (c == '_') {
                        if (saw != '0')
                                return false;
                        saw = '_';
                        continue;
                }
                if (saw == '_')
                        return false;
                saw = '!';
        }
        return saw != '_';
}

static size_t prefix_len_icase(const char *s, size_t n, const char *word)
{
        size_t i = 0;
        while (i < n && word[i] && lower(s[i]) == word[i])
                i++;
        return i;
}

/* Go's inf/nan spellings; true when s is entirely one of them. */
static bool parse_special(const char *s, size_t n, double *ret)
{
        size_t i = 0;
        double sign = 1;
        if (n > 0 && (s[0] == '+' || s[0] == '-')) {
                sign = s[0] == '-' ? -1 : 1;
                i = 1;
        }
        size_t k = prefix_len_icase(s + i, n - i, "infinity");
        if (k > 3 && k < 8)
                k = 3;
        if ((k == 3 || k == 8) && i + k == n) {
                *ret = sign * INFINITY;
                return true;
        }
        if (i == 0 && n == 3 && prefix_len_icase(s, n, "nan") == 3) {
                *ret = NAN;
                return true;
        }
        return false;
}

/* Syntax check of a Go float literal (decimal or hex), underscores allowed where Go allows them. */
static bool float_syntax_ok(const char *s, size_t n)
{
        size_t i = 0;
        if (i < n && (s[i] == '+' || s[i] == '-'))
                i++;
        bool hex = n - i >= 2 && s[i] == '0' && lower(s[i + 1]) == 'x';
        if (hex)
                i += 2;
        size_t digits = 0;
        bool dot = false;
        for (; i < n; i++) {
                char c = s[i];
                if (is_digit(c) || (hex && lower(c) >= 'a' && lower(c) <= 'f'))
                        digits++;
                else if (c == '_')
                        continue;
                else if (c == '.' && !dot)
                        dot = true;
                else
                        break;
        }
        if (digits == 0)
                return false;
        if (i < n && (hex ? lower(s[i]) == 'p' : lower(s[i]) == 'e')) {
                i++;
                if (i < n && (s[i] == '+' || s[i] == '-'))
                        i++;
                size_t ed = 0;
                for (; i < n && (is_digit(s[i]) || s[i] == '_'); i++)
                        ed += s[i] != '_';
                if (ed == 0)
                        return false;
        } else if (hex) {
                return false; /* Go requires the p exponent on hex floats */
        }
        return i == n && underscores_ok(s, n);
}

int ap_go_parse_float(const char *s, size_t n, double *ret)
{
        if (n == 0)
                return -EINVAL;
        if (parse_special(s, n, ret))
                return 0;
        if (!float_syntax_ok(s, n))
                return -EINVAL;
        char small[80];
        char *copy = n < sizeof(small) ? small : malloc(n + 1);
        if (!copy)
                return -ENOMEM;
        size_t k = 0;
        for (size_t i = 0; i < n; i++)
                if (s[i] != '_')
                        copy[k++] = s[i];
        copy[k] = '\0';
        char *end;
        double v = strtod(copy, &end);
        bool whole = (size_t)(end - copy) == k;
        if (copy != small) /* a copy of the value, which may be a secret */
                ap_secure_free(copy, n + 1);
        else
                ap_secure_wipe(small, sizeof(small));
        if (!whole)
                return -EINVAL;
        if (isinf(v))
                return -ERANGE;
        *ret = v;
        return 0;
}

/* Shortest decimal digits that round-trip: value = 0.d[0]d[1]... x 10^dp. */
struct digits {
        char d[32];
        int nd;
        int dp;
};

static void shortest_digits(double v, struct digits *out)
{
        char tmp[48];
        v = fabs(v);
        out->nd = 0;
        out->dp = 0;
        if (v == 0)
                return;
        for (int prec = 0; prec < 17; prec++) {
                snprintf(tmp, sizeof(tmp), "%.*e", prec, v);
                if (strtod(tmp, NULL) == v || prec == 16)
                        break;
        }
        /* tmp is "d.ddde[+-]XX" */
        int nd = 0;
        const char *p = tmp;
        for (; *p && *p != 'e'; p++)
                if (is_digit(*p))
                        out->d[nd++] = *p;
        while (nd > 1 && out->d[nd - 1] == '0')
                nd--;
        out->nd = nd;
        out->dp = (int)strtol(p + 1, NULL, 10) + 1;
}

static int fmt_f(struct ap_buf *out, const struct digits *dg, int prec)
{
        int r = 0;
        if (dg->dp > 0) {
                int m = dg->dp < dg->nd ? dg->dp : dg->nd;
                r = ap_buf_add(out, dg->d, (size_t)m);
                for (int i = m; r == 0 && i < dg->dp; i++)
                        r = ap_buf_addch(out, '0');
        } else {
                r = ap_buf_addch(out, '0');
        }
        if (r == 0 && prec > 0) {
                r = ap_buf_addch(out, '.');
                for (int i = 1; r == 0 && i <= prec; i++) {
                        int j = dg->dp + i - 1;
                        r = ap_buf_addch(out, j >= 0 && j < dg->nd ? dg->d[j] : '0');
                }
        }
        return r;
}

static int fmt_e(struct ap_buf *out, const struct digits *dg, int prec)
{
        int r = ap_buf_addch(out, dg->nd ? dg->d[0] : '0');
        if (r == 0 && prec > 0) {
                r = ap_buf_addch(out, '.');
                for (int i = 1; r == 0 && i <= prec; i++)
                        r = ap_buf_addch(out, i < dg->nd ? dg->d[i] : '0');
        }
        int exp = dg->nd ? dg->dp - 1 : 0;
        if (r == 0)
                r = ap_buf_printf(out, "e%c%02d", exp < 0 ? '-' : '+', exp < 0 ? -exp : exp);
        return r;
}

int ap_go_format_float(struct ap_buf *out, double v, enum ap_go_float_fmt fmt)
{
        if (isnan(v) || isinf(v)) {
                if (fmt == AP_GO_FLOAT_JSON)
                        return -EINVAL;
                if (fmt == AP_GO_FLOAT_G)
                        return ap_buf_addstr(out, isnan(v) ? ".nan" : v > 0 ? ".inf" : "-.inf");
                return ap_buf_addstr(out, isnan(v) ? "NaN" : v > 0 ? "+Inf" : "-Inf");
        }
        struct digits dg;
        shortest_digits(v, &dg);
        int r = 0;
        if (signbit(v))
                r = ap_buf_addch(out, '-');
        if (r < 0)
                return r;
        int exp = dg.dp - 1;
        switch (fmt) {
        case AP_GO_FLOAT_F:
                return fmt_f(out, &dg, dg.nd - dg.dp > 0 ? dg.nd - dg.dp : 0);
        case AP_GO_FLOAT_G:
                if (dg.nd > 0 && (exp < -4 || exp >= 6))
                        return fmt_e(out, &dg, dg.nd - 1);
                return fmt_f(out, &dg, dg.nd - dg.dp > 0 ? dg.nd - dg.dp : 0);
        case AP_GO_FLOAT_JSON: {
                double a = fabs(v);
                if (a != 0 && (a < 1e-6 || a >= 1e21)) {
                        size_t start = out->len;
                        r = fmt_e(out, &dg, dg.nd - 1);
                        /* encoding/json trims "e-07" to "e-7" */
                        size_t len = out->len - start;
                        char *b = out->data + start;
                        if (r == 0 && len >= 4 && b[len - 4] == 'e' && b[len - 3] == '-' &&
                            b[len - 2] == '0') {
                                b[len - 2] = b[len - 1];
                                ap_buf_truncate(out, out->len - 1);
                        }
                        return r;
                }
                return fmt_f(out, &dg, dg.nd - dg.dp > 0 ? dg.nd - dg.dp : 0);
        }
        }
        return -EINVAL;
}

/* ---- time ---- */

struct cursor {
        const char *p, *end;
};

static bool lit(struct cursor *c, char ch)
{
        if (c->p < c->end && *c->p == ch) {
                c->p++;
                return true;
        }
        return false;
}

/* Go's getnum: one or two digits (exactly two when fixed). */
static bool getnum(struct cursor *c, bool fixed, int *v)
{
        if (c->p >= c->end || !is_digit(c->p[0]))
                return false;
        if (c->p + 1 >= c->end || !is_digit(c->p[1])) {
                if (fixed)
                        return false;
                *v = c->p[0] - '0';
                c->p++;
                return true;
        }
        *v = (c->p[0] - '0') * 10 + (c->p[1] - '0');
        c->p += 2;
        return true;
}

static int days_in(int month, int year)
{
        static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
        if (month == 2 && year % 4 == 0 && (year % 100 != 0 || year % 400 == 0))
                return 29;
        return days[month - 1];
}

static bool parse_year(struct cursor *c, int *year)
{
        if (c->end - c->p < 4)
                return false;
        int y = 0;
        for (int i = 0; i < 4; i++) {
                if (!is_digit(c->p[i]))
                        return false;
                y = y * 10 + (c->p[i] - '0');
        }
        c->p += 4;
        *year = y;
        return true;
}

/* Fractional seconds after the seconds field: '.' or ',' then any digits, truncated to nanoseconds. */
static void parse_fraction(struct cursor *c, int32_t *nsec)
{
        if (c->end - c->p < 2 || (c->p[0] != '.' && c->p[0] != ',') || !is_digit(c->p[1]))
                return;
        c->p++;
        int32_t ns = 0;
        int k = 0;
        for (; c->p < c->end && is_digit(*c->p); c->p++, k++)
                if (k < 9)
                        ns = ns * 10 + (*c->p - '0');
        for (; k < 9; k++)
                ns *= 10;
        *nsec = ns;
}

/* "Z" or "+hh:mm" / "-hh:mm" as Go's Z07:00 element reads it. */
static bool parse_zone(struct cursor *c, int32_t *offset, bool strict)
{
        if (lit(c, 'Z')) {
                *offset = 0;
                return true;
        }
        if (c->end - c->p < 6 || c->p[3] != ':')
                return false;
        char sign = c->p[0];
        int hh, mm;
        struct cursor h = {c->p + 1, c->p + 3}, m = {c->p + 4, c->p + 6};
        if (!getnum(&h, true, &hh) || !getnum(&m, true, &mm))
                return false;
        if (hh > 24 || mm > 60 || (strict && (hh >= 24 || mm >= 60)))
                return false;
        if (sign != '+' && sign != '-')
                return false;
        *offset = (hh * 60 + mm) * 60 * (sign == '-' ? -1 : 1);
        c->p += 6;
        return true;
}

static bool valid_date(const struct ap_go_time *t)
{
        return t->month >= 1 && t->month <= 12 && t->day >= 1 && t->day <= days_in(t->month, t->year);
}

bool ap_go_time_parse_yaml(const char *s, size_t n, struct ap_go_time *ret)
{
        /* quick check as go-yaml does: exactly four digits then '-' */
        size_t i = 0;
        while (i < n && is_digit(s[i]))
                i++;
        if (i != 4 || i == n || s[i] != '-')
                return false;
        struct ap_go_time t = {0};
        struct cursor c = {s, s + n};
        if (!parse_year(&c, &t.year) || !lit(&c, '-') || !getnum(&c, false, &t.month) || !lit(&c, '-') ||
            !getnum(&c, false, &t.day))
                return false;
        if (c.p < c.end) {
                bool zone = false;
                if (*c.p == 'T' || *c.p == 't')
                        zone = true;
                else if (*c.p != ' ')
                        return false;
                c.p++;
                if (!getnum(&c, false, &t.hour) || t.hour >= 24 || !lit(&c, ':') ||
                    !getnum(&c, false, &t.min) || t.min >= 60 || !lit(&c, ':') ||
                    !getnum(&c, false, &t.sec) || t.sec >= 60)
                        return false;
                parse_fraction(&c, &t.nsec);
                if (zone && !parse_zone(&c, &t.offset, false))
                        return false;
                if (c.p != c.end)
                        return false;
        }
        if (!valid_date(&t))
                return false;
        *ret = t;
        return true;
}

int ap_go_time_parse_rfc3339(const char *s, size_t n, struct ap_go_time *ret)
{
        struct ap_go_time t = {0};
        struct cursor c = {s, s + n};
        if (!parse_year(&c, &t.year) || !lit(&c, '-') || !getnum(&c, true, &t.month) || !lit(&c, '-') ||
            !getnum(&c, true, &t.day) || !lit(&c, 'T') || !getnum(&c, true, &t.hour) || t.hour >= 24 ||
            !lit(&c, ':') || !getnum(&c, true, &t.min) || t.min >= 60 || !lit(&c, ':') ||
            !getnum(&c, true, &t.sec) || t.sec >= 60)
                return -EINVAL;
        if (c.p < c.end && *c.p == '.')
                parse_fraction(&c, &t.nsec);
        if (!parse_zone(&c, &t.offset, true) || c.p != c.end || !valid_date(&t))
                return -EINVAL;
        *ret = t;
        return 0;
}

int ap_go_time_format(struct ap_buf *out, const struct ap_go_time *t, bool nanos)
{
        int r = ap_buf_printf(out, "%04d-%02d-%02dT%02d:%02d:%02d", t->year, t->month, t->day, t->hour,
                              t->min, t->sec);
        if (r == 0 && nanos && t->nsec) {
                char frac[16];
                snprintf(frac, sizeof(frac), "%09d", (int)t->nsec);
                int k = 9;
                while (k > 0 && frac[k - 1] == '0')
                        k--;
                r = ap_buf_printf(out, ".%.*s", k, frac);
        }
        if (r < 0)
                return r;
        if (t->offset == 0)
                return ap_buf_addch(out, 'Z');
        int off = t->offset < 0 ? -t->offset : t->offset;
        return ap_buf_printf(out, "%c%02d:%02d", t->offset < 0 ? '-' : '+', off / 3600, off / 60 % 60);
}
