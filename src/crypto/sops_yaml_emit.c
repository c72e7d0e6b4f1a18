/* sops_yaml_emit.c - SOPS tree -> YAML text as sops writes it through go-yaml v3's encoder: block style,
 * indent N (lists indented under their key, maps in list items after "- "), empty collections as [] and {},
 * go-yaml's choice between plain, single-quoted, double-quoted and literal scalars, comments where sops
 * re-attaches them (head comments before entries, inline comments after values, the rest at the end of
 * their block). The layout rules follow go-yaml's observable output; the code is our own. */
#include <stdio.h>
#include <string.h>

#include "base/base64.h"
#include "base/utf8.h"
#include "sops_go.h"
#include "sops_scalar.h"
#include "sops_yaml.h"

enum style { PLAIN, SINGLE, DOUBLE, LITERAL };

/* Output state, with go-yaml's notion of "whitespace" (last thing written was a separator) and
 * "indention" (only indentation on this line so far). */
struct w {
        struct ap_buf *out;
        size_t column;
        bool whitespace, indention;
        int best; /* indent step N */
        int r;
};

static void put(struct w *w, const char *s, size_t n)
{
        if (w->r == 0)
                w->r = ap_buf_add(w->out, s, n);
        w->column += n; /* callers pass one character's bytes at a time where columns matter */
}

static void put_break(struct w *w)
{
        if (w->r == 0)
                w->r = ap_buf_addch(w->out, '\n');
        w->column = 0;
        w->indention = true;
}

static void write_indent(struct w *w, size_t indent)
{
        if (!w->indention || w->column > indent || (w->column == indent && !w->whitespace))
                put_break(w);
        while (w->column < indent)
                put(w, " ", 1);
        w->whitespace = true;
}

static void indicator(struct w *w, const char *s, bool need_ws, bool is_ws, bool is_indention)
{
        if (need_ws && !w->whitespace)
                put(w, " ", 1);
        put(w, s, strlen(s));
        w->whitespace = is_ws;
        w->indention = w->indention && is_indention;
}

static size_t step(const struct w *w, size_t indent)
{
        return (size_t)w->best * ((indent + (size_t)w->best) / (size_t)w->best);
}

/* ---- characters ---- */

static unsigned char at(const char *s, size_t n, size_t i)
{
        return i < n ? (unsigned char)s[i] : 0;
}

static bool is_break(const char *s, size_t n, size_t i)
{
        return ap_utf8_break_len(s, n, i) > 0;
}

static bool is_printable(const char *s, size_t n, size_t i)
{
        unsigned char c = at(s, n, i), c1 = at(s, n, i + 1), c2 = at(s, n, i + 2);
        return c == 0x0A || (c >= 0x20 && c <= 0x7E) || (c == 0xC2 && c1 >= 0xA0) || (c > 0xC2 && c < 0xED) ||
               (c == 0xED && c1 < 0xA0) || c == 0xEE ||
               (c == 0xEF && !(c1 == 0xBB && c2 == 0xBF) && !(c1 == 0xBF && (c2 == 0xBE || c2 == 0xBF)));
}

static bool is_blankz(const char *s, size_t n, size_t i)
{
        return i >= n || s[i] == ' ' || s[i] == '\t' || is_break(s, n, i) || s[i] == '\0';
}

/* ---- scalar analysis (which styles can carry the value) ---- */

struct info {
        bool multiline, plain_ok, single_ok, block_ok;
};

static void analyze(const char *s, size_t n, struct info *a)
{
        if (n == 0) {
                *a = (struct info){false, true, true, false};
                return;
        }
        bool indicators = n >= 3 && (memcmp(s, "---", 3) == 0 || memcmp(s, "...", 3) == 0);
        bool breaks = false, special = false, tabs = false;
        bool lead_space = false, lead_break = false, trail_space = false, trail_break = false;
        bool break_space = false, space_break = false, prev_space = false, prev_break = false;
        bool preceded_by_ws = true;
        for (size_t i = 0; i < n;) {
                size_t wd = ap_utf8_width((unsigned char)s[i]);
                bool followed_by_ws = is_blankz(s, n, i + wd);
                char c = s[i];
                if (i == 0) {
                        if (strchr("#,[]{}&*!|>'\"%@`", c) && c)
                                indicators = true;
                        else if ((c == '?' || c == ':' || c == '-') && followed_by_ws)
                                indicators = true;
                } else if ((c == ':' && followed_by_ws) || (c == '#' && preceded_by_ws)) {
                        indicators = true;
                }
                if (c == '\t')
                        tabs = true;
                else if (!is_printable(s, n, i))
                        special = true;
                if (c == ' ') {
                        lead_space |= i == 0;
                        trail_space |= i + wd == n;
                        break_space |= prev_break;
                        prev_space = true;
                        prev_break = false;
                } else if (is_break(s, n, i)) {
                        breaks = true;
                        lead_break |= i == 0;
                        trail_break |= i + wd == n;
                        space_break |= prev_space;
                        prev_space = false;
                        prev_break = true;
                } else {
                        prev_space = prev_break = false;
                }
                preceded_by_ws = is_blankz(s, n, i);
                i += wd;
        }
        a->multiline = breaks;
        a->plain_ok = !(lead_space || lead_break || trail_space || trail_break || break_space ||
                        space_break || tabs || special || breaks || indicators);
        a->single_ok = !(break_space || space_break || tabs || special);
        a->block_ok = !(trail_space || space_break || special);
}

static enum style select_style(enum style want, const struct info *a, size_t n, bool simple_key)
{
        if (simple_key && a->multiline)
                want = DOUBLE;
        if (want == PLAIN && (!a->plain_ok || (n == 0 && simple_key)))
                want = SINGLE;
        if (want == SINGLE && !a->single_ok)
                want = DOUBLE;
        if (want == LITERAL && (!a->block_ok || simple_key))
                want = DOUBLE;
        return want;
}

/* ---- scalar writers ---- */

static void write_char(struct w *w, const char *s, size_t n, size_t *i)
{
        size_t wd = AP_MIN(ap_utf8_width((unsigned char)s[*i]), n - *i);
        put(w, s + *i, wd);
        w->column -= wd - 1;
        *i += wd;
}

static void write_break_char(struct w *w, const char *s, size_t n, size_t *i)
{
        if (s[*i] == '\n') {
                put_break(w);
                (*i)++;
                return;
        }
        write_char(w, s, n, i);
        w->column = 0;
        w->indention = true;
}

static void write_plain(struct w *w, const char *s, size_t n)
{
        if (n > 0 && !w->whitespace)
                put(w, " ", 1);
        for (size_t i = 0; i < n;)
                write_char(w, s, n, &i);
        if (n > 0)
                w->whitespace = false;
        w->indention = false;
}

static void write_single(struct w *w, const char *s, size_t n, size_t indent)
{
        indicator(w, "'", true, false, false);
        bool breaks = false;
        for (size_t i = 0; i < n;) {
                if (s[i] == ' ') {
                        write_char(w, s, n, &i);
                } else if (is_break(s, n, i)) {
                        if (!breaks && s[i] == '\n')
                                put_break(w);
                        write_break_char(w, s, n, &i);
                        breaks = true;
                } else {
                        if (breaks)
                                write_indent(w, indent);
                        if (s[i] == '\'')
                                put(w, "'", 1);
                        write_char(w, s, n, &i);
                        w->indention = false;
                        breaks = false;
                }
        }
        indicator(w, "'", false, false, false);
        w->whitespace = false;
        w->indention = false;
}

static void write_double(struct w *w, const char *s, size_t n)
{
        bool bom = n >= 3 && memcmp(s, "\xEF\xBB\xBF", 3) == 0;
        indicator(w, "\"", true, false, false);
        for (size_t i = 0; i < n;) {
                unsigned char c = (unsigned char)s[i];
                if (!is_printable(s, n, i) || bom || is_break(s, n, i) || c == '"' || c == '\\') {
                        size_t wd = AP_MIN(ap_utf8_width(c), n - i);
                        uint32_t v = wd == 1 ? c : wd == 2 ? c & 0x1F : wd == 3 ? c & 0x0F : c & 0x07;
                        for (size_t k = 1; k < wd; k++)
                                v = v << 6 | ((unsigned char)s[i + k] & 0x3F);
                        i += wd;
                        static const struct {
                                uint32_t v;
                                char e;
                        } esc[] = {{0x00, '0'},  {0x07, 'a'}, {0x08, 'b'}, {0x09, 't'},   {0x0A, 'n'},
                                   {0x0B, 'v'},  {0x0C, 'f'}, {0x0D, 'r'}, {0x1B, 'e'},   {0x22, '"'},
                                   {0x5C, '\\'}, {0x85, 'N'}, {0xA0, '_'}, {0x2028, 'L'}, {0x2029, 'P'}};
                        char buf[12];
                        int len = -1;
                        for (size_t k = 0; k < AP_ARRAY_SIZE(esc); k++)
                                if (esc[k].v == v)
                                        len = snprintf(buf, sizeof(buf), "\\%c", esc[k].e);
                        if (len < 0)
                                len = v <= 0xFF     ? snprintf(buf, sizeof(buf), "\\x%02X", (unsigned)v)
                                      : v <= 0xFFFF ? snprintf(buf, sizeof(buf), "\\u%04X", (unsigned)v)
                                                    : snprintf(buf, sizeof(buf), "\\U%08X", (unsigned)v);
                        put(w, buf, (size_t)len);
                } else {
                        write_char(w, s, n, &i);
                }
        }
        indicator(w, "\"", false, false, false);
        w->whitespace = false;
        w->indention = false;
}

static void write_comment_text(struct w *w, const char *text, size_t len, size_t indent)
{
        /* one '#' line per line of text; go-yaml writes what sops gave it: "#" + the comment */
        size_t start = 0;
        for (size_t i = 0; i <= len; i++) {
                if (i < len && text[i] != '\n')
                        continue;
                if (start > 0)
                        write_indent(w, indent);
                put(w, "#", 1);
                put(w, text + start, i - start);
                put_break(w);
                start = i + 1;
        }
        w->whitespace = true;
}

/* Inline comments of a value: after it on its line, further ones on their own lines. */
static void write_line_comments(struct w *w, struct ap_sops_node *const *c, size_t nc, size_t indent)
{
        for (size_t k = 0; k < nc; k++) {
                if (k == 0 && !w->whitespace)
                        put(w, " ", 1);
                else if (k > 0)
                        write_indent(w, indent);
                write_comment_text(w, c[k]->str, c[k]->len, indent);
        }
}

static void write_literal(struct w *w, const char *s, size_t n, size_t indent, size_t parent,
                          struct ap_sops_node *const *lc, size_t nlc, size_t lc_indent)
{
        indicator(w, "|", true, false, false);
        if (n > 0 && (s[0] == ' ' || is_break(s, n, 0))) {
                /* go-yaml writes the indent step here, which is wrong (unreadable YAML) when the content is
                 * not one step right of the parent, as in list items with indent 4: write the real offset */
                size_t off = indent > parent && indent - parent <= 9 ? indent - parent : (size_t)w->best;
                char hint[2] = {(char)('0' + off), 0};
                indicator(w, hint, false, false, false);
        }
        /* chomping: '-' without a final break, '+' when the value is one break or ends in two */
        const char *chomp = NULL;
        if (n == 0) {
                chomp = "-";
        } else {
                size_t i = n - 1;
                while (i > 0 && ((unsigned char)s[i] & 0xC0) == 0x80)
                        i--;
                if (!is_break(s, n, i)) {
                        chomp = "-";
                } else if (i == 0) {
                        chomp = "+";
                } else {
                        i--;
                        while (i > 0 && ((unsigned char)s[i] & 0xC0) == 0x80)
                                i--;
                        if (is_break(s, n, i))
                                chomp = "+";
                }
        }
        if (chomp)
                indicator(w, chomp, false, false, false);
        if (nlc)
                write_line_comments(w, lc, nlc, lc_indent);
        else
                put_break(w);
        w->whitespace = true;
        bool breaks = true;
        for (size_t i = 0; i < n;) {
                if (is_break(s, n, i)) {
                        write_break_char(w, s, n, &i);
                        breaks = true;
                } else {
                        if (breaks)
                                write_indent(w, indent);
                        write_char(w, s, n, &i);
                        w->indention = false;
                        breaks = false;
                }
        }
}

/* go-yaml's encodeBase64 for !!binary: 70-column lines, each followed by a break when there are several. */
static int binary_text(const char *s, size_t n, struct ap_buf *out)
{
        _cleanup_buf_ struct ap_buf b = AP_BUF_INIT_SECRET;
        b.max = out->max; /* the output's limit is the only one */
        int r = ap_base64_encode(&b, s, n, AP_B64_STD);
        if (r < 0)
                return r;
        bool lines = b.len / 70 + 1 > 1;
        for (size_t i = 0; r == 0 && i < b.len; i += 70) {
                r = ap_buf_add(out, b.data + i, AP_MIN(70, b.len - i));
                if (r == 0 && lines)
                        r = ap_buf_addch(out, '\n');
        }
        return r;
}

/* Write a scalar node. simple_key: as a key before ':'. indent: where continuation lines go. */
static void write_scalar(struct w *w, const struct ap_sops_node *node, bool simple_key, size_t indent,
                         size_t parent, struct ap_sops_node *const *lc, size_t nlc, size_t lc_indent)
{
        _cleanup_buf_ struct ap_buf text = AP_BUF_INIT_SECRET;
        text.max = w->out->max; /* the output's limit is the only one */
        enum style want = PLAIN;
        bool binary = false;
        switch (node->type) {
        case AP_SOPS_NULL:
                w->r = w->r ? w->r : ap_buf_addstr(&text, "null");
                break;
        case AP_SOPS_BOOL:
                w->r = w->r ? w->r : ap_buf_addstr(&text, node->b ? "true" : "false");
                break;
        case AP_SOPS_INT:
                w->r = w->r ? w->r : ap_buf_printf(&text, "%lld", (long long)node->i);
                break;
        case AP_SOPS_FLOAT:
                w->r = w->r ? w->r : ap_go_format_float(&text, node->f, AP_GO_FLOAT_G);
                break;
        default: /* STR, BYTES, TIME, and a key */
                if (!ap_utf8_valid(node->str, node->len)) {
                        binary = true;
                        w->r = w->r ? w->r : binary_text(node->str, node->len, &text);
                        want = memchr(text.data, '\n', text.len) ? LITERAL : PLAIN;
                        break;
                }
                w->r = w->r ? w->r : ap_buf_add(&text, node->str, node->len);
                if (node->type == AP_SOPS_TIME)
                        break;
                want = memchr(node->str, '\n', node->len)              ? LITERAL
                       : ap_sops_scalar_plain_ok(node->str, node->len) ? PLAIN
                                                                       : DOUBLE;
        }
        if (w->r)
                return;
        struct info a;
        analyze(text.data, text.len, &a);
        enum style st = select_style(want, &a, text.len, simple_key);
        if (binary)
                indicator(w, "!!binary", true, false, false);
        else if (st == PLAIN && text.len == 2 && memcmp(text.data, "<<", 2) == 0)
                indicator(w, "!!merge", true, false, false); /* go-yaml re-reads a plain << as a merge key */
        switch (st) {
        case PLAIN:
                write_plain(w, text.data, text.len);
                break;
        case SINGLE:
                write_single(w, text.data, text.len, indent);
                break;
        case DOUBLE:
                write_double(w, text.data, text.len);
                break;
        case LITERAL:
                write_literal(w, text.data, text.len, indent, parent, lc, nlc, lc_indent);
                return;
        }
        if (nlc)
                write_line_comments(w, lc, nlc, lc_indent);
}

/* ---- structure ---- */

static bool is_block(const struct ap_sops_node *n)
{
        if (n->type != AP_SOPS_MAP && n->type != AP_SOPS_LIST)
                return false;
        for (size_t i = 0; i < n->n; i++)
                if (n->kids[i]->type != AP_SOPS_COMMENT)
                        return true;
        return false;
}

static void write_node(struct w *w, const struct ap_sops_node *node, size_t indent, bool in_list,
                       struct ap_sops_node *const *lc, size_t nlc, size_t lc_indent, size_t skip);

static void write_heads(struct w *w, struct ap_sops_node *const *c, size_t nc, size_t indent)
{
        for (size_t k = 0; k < nc; k++) {
                write_indent(w, indent);
                write_comment_text(w, c[k]->str, c[k]->len, indent);
        }
}

/* Number of head comments before the first entry of a block collection (0 for anything else). */
static size_t leading_comments(const struct ap_sops_node *k)
{
        size_t lead = 0;
        if (is_block(k))
                while (lead < k->n && k->kids[lead]->type == AP_SOPS_COMMENT &&
                       !k->kids[lead]->inline_comment)
                        lead++;
        return lead;
}

/* Entries of a block map or list. Head comments go out where they stand; inline comments wait for the next
 * value and follow it on its line (sops appendTreeBranch/appendSequence); leftovers end the block. */
static void write_entries(struct w *w, const struct ap_sops_node *c, size_t indent, size_t skip)
{
        bool map = c->type == AP_SOPS_MAP;
        struct ap_sops_node *lines[16];
        size_t nl = 0;
        for (size_t i = skip; i < c->n && w->r == 0; i++) {
                struct ap_sops_node *k = c->kids[i];
                if (k->type == AP_SOPS_COMMENT) {
                        if (k->inline_comment && nl < AP_ARRAY_SIZE(lines))
                                lines[nl++] = k;
                        else
                                write_heads(w, &k, 1, indent);
                        continue;
                }
                if (map) {
                        write_indent(w, indent);
                        bool multiline = false;
                        for (size_t j = 0; j < k->key_len; j++)
                                multiline |= is_break(k->key, k->key_len, j);
                        struct ap_sops_node key = {.type = AP_SOPS_STR, .str = k->key, .len = k->key_len};
                        if (!multiline && k->key_len <= 128 && ap_utf8_valid(k->key, k->key_len)) {
                                write_scalar(w, &key, true, step(w, indent), indent, NULL, 0, 0);
                                indicator(w, ":", false, false, false);
                        } else {
                                indicator(w, "?", true, false, true);
                                write_scalar(w, &key, false, step(w, indent), indent, NULL, 0, 0);
                                write_indent(w, indent);
                                indicator(w, ":", true, false, true);
                        }
                        write_node(w, k, indent, false, lines, nl, indent, 0);
                } else {
                        /* a block item's own leading comments go before its "- " (go-yaml head comment) */
                        size_t lead = leading_comments(k);
                        write_heads(w, k->kids, lead, indent);
                        write_indent(w, indent);
                        indicator(w, "-", true, false, true);
                        write_node(w, k, indent, true, lines, nl, indent, lead);
                }
                nl = 0;
        }
        write_heads(w, lines, nl, indent);
}

static void write_node(struct w *w, const struct ap_sops_node *node, size_t indent, bool in_list,
                       struct ap_sops_node *const *lc, size_t nlc, size_t lc_indent, size_t skip)
{
        size_t inner = in_list ? indent + 2 : step(w, indent);
        if (node->type == AP_SOPS_MAP || node->type == AP_SOPS_LIST) {
                if (!is_block(node)) {
                        /* only comments, or nothing: go-yaml writes the empty flow form */
                        indicator(w, node->type == AP_SOPS_MAP ? "{" : "[", true, true, false);
                        indicator(w, node->type == AP_SOPS_MAP ? "}" : "]", false, false, false);
                        if (nlc)
                                write_line_comments(w, lc, nlc, lc_indent);
                        for (size_t i = 0; i < node->n; i++)
                                write_heads(w, &node->kids[i], 1, inner);
                        return;
                }
                if (nlc) /* a line comment on a block value: go-yaml puts it after the key */
                        write_line_comments(w, lc, nlc, lc_indent);
                write_entries(w, node, inner, skip);
                return;
        }
        write_scalar(w, node, false, inner, indent, lc, nlc, lc_indent);
}

int ap_sops_yaml_emit(const struct ap_sops_docs *docs, int indent, struct ap_buf *out, struct ap_error *err)
{
        if (indent == 0)
                indent = AP_SOPS_YAML_INDENT_DEFAULT;
        if (indent < 0)
                return ap_error_set(err, -EINVAL, "YAML indentation must not be negative");
        if (indent < 2 || indent > 9)
                indent = 2;
        struct w w = {.out = out, .whitespace = true, .indention = true, .best = indent};
        size_t start = out->len;
        for (size_t d = 0; d < docs->n && w.r == 0; d++) {
                const struct ap_sops_node *root = docs->docs[d];
                if (d > 0) {
                        write_indent(&w, 0);
                        indicator(&w, "---", true, false, false);
                        write_indent(&w, 0);
                }
                if (is_block(root)) {
                        write_entries(&w, root, 0, 0);
                } else {
                        for (size_t i = 0; i < root->n; i++)
                                write_heads(&w, &root->kids[i], 1, 0);
                        write_indent(&w, 0);
                        indicator(&w, "{", true, true, false);
                        indicator(&w, "}", false, false, false);
                }
                write_indent(&w, 0);
        }
        if (w.r < 0) {
                ap_buf_truncate(out, start); /* nothing half-written */
                return ap_error_set(err, w.r, "cannot write YAML: %s",
                                    w.r == -E2BIG ? "output too large" : "out of memory");
        }
        return 0;
}
