/* sops_yaml_load.c - YAML stream -> SOPS tree with libyaml's event parser. libyaml drops comments, so
 * they are recovered from the text between consecutive events (where only whitespace, indicators and
 * comments can be) and placed the way sops's yaml store places go-yaml v3's head, line and foot comments:
 * before the entry they precede, inline comments just before the entry whose value they follow, and
 * comments at the end of a block in the innermost block they are indented into. */
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "base/utf8.h"
#include "sops_scalar.h"
#include "sops_yaml.h"

#define MAX_DEPTH 256

struct comment {
        size_t line, col;    /* 0-based, col in characters */
        bool content_before; /* something ("- ", a key) precedes it on its line */
        const char *text;    /* after '#' */
        size_t len;
};

struct frame {
        struct ap_sops_node *node; /* MAP or LIST being filled (owned by its parent or the document) */
        size_t col;                /* column of the block's entries; 0 for flow collections */
        bool flow;
        bool have_key; /* MAP: a key was read, its value is next */
        char *key;     /* that key */
        size_t key_len;
        size_t items;               /* LIST: items so far (for paths in messages) */
        struct ap_sops_keyset keys; /* MAP: the entries so far (duplicate check) */
};

struct anchor {
        char *name;
        struct ap_sops_node *node; /* containers: the node in the tree; scalars: a copy the anchor owns */
        bool open;                 /* the anchored container is still being parsed */
        bool owned;
};

enum prev_kind { PREV_NONE, PREV_KEY, PREV_VALUE, PREV_FLOW_END, PREV_OTHER };

struct loader {
        const char *text;
        size_t n;
        size_t *lines; /* byte offset where each line starts */
        size_t n_lines;
        struct frame stack[MAX_DEPTH];
        int depth;
        struct ap_sops_node *root;
        struct anchor *anchors;
        size_t n_anchors;
        struct comment *pending;
        size_t n_pending, cap_pending;
        size_t scanned;       /* text before this offset has been searched for comments */
        size_t prev_end_line; /* line where the last event with an extent ended */
        enum prev_kind prev;
        struct ap_sops_node *prev_parent; /* PREV_VALUE: container holding the value; PREV_FLOW_END: it */
        struct ap_sops_node *prev_node;
        size_t budget;                        /* nodes left before alias expansion is refused */
        size_t mark_line, mark_col, mark_off; /* last mark converted, to stay linear on long lines */
        struct ap_error *err;
};

/* ---- positions ---- */

static int index_lines(struct loader *l)
{
        size_t cap = 64;
        l->lines = malloc(cap * sizeof(size_t));
        if (!l->lines)
                return -ENOMEM;
        size_t start = l->n >= 3 && memcmp(l->text, "\xEF\xBB\xBF", 3) == 0 ? 3 : 0;
        l->lines[l->n_lines++] = start;
        for (size_t i = start; i < l->n;) {
                size_t b = ap_utf8_break_len(l->text, l->n, i);
                if (!b) {
                        i++;
                        continue;
                }
                i += b;
                if (l->n_lines == cap) {
                        cap *= 2;
                        size_t *p = realloc(l->lines, cap * sizeof(size_t));
                        if (!p)
                                return -ENOMEM;
                        l->lines = p;
                }
                l->lines[l->n_lines++] = i;
        }
        return 0;
}

/* Byte offset of a libyaml mark (line, column in characters). Marks mostly move forward, so the walk
 * resumes from the previous one on the same line. */
static size_t mark_offset(struct loader *l, const yaml_mark_t *m)
{
        if (m->line >= l->n_lines)
                return l->n;
        size_t off = l->lines[m->line], c = 0;
        if (m->line == l->mark_line && m->column >= l->mark_col && l->mark_off >= off) {
                off = l->mark_off;
                c = l->mark_col;
        }
        for (; c < m->column && off < l->n; c++)
                off += ap_utf8_width((unsigned char)l->text[off]);
        off = AP_MIN(off, l->n);
        l->mark_line = m->line;
        l->mark_col = m->column;
        l->mark_off = off;
        return off;
}

/* ---- messages ---- */

static void path_string(const struct loader *l, struct ap_buf *b)
{
        for (int i = 0; i < l->depth; i++) {
                const struct frame *f = &l->stack[i];
                if (i + 1 < l->depth) {
                        const struct ap_sops_node *child = l->stack[i + 1].node;
                        if (f->node->type == AP_SOPS_MAP && child->key)
                                ap_buf_printf(b, "%s%s", b->len ? "." : "", child->key);
                        else if (f->node->type == AP_SOPS_LIST)
                                ap_buf_printf(b, "[%zu]", f->items ? f->items - 1 : 0);
                } else if (f->node->type == AP_SOPS_MAP && f->have_key) {
                        ap_buf_printf(b, "%s%.*s", b->len ? "." : "", (int)AP_MIN(f->key_len, 200), f->key);
                } else if (f->node->type == AP_SOPS_LIST) {
                        ap_buf_printf(b, "[%zu]", f->items);
                }
        }
}

static int fail(struct loader *l, const yaml_mark_t *m, int code, const char *what)
{
        _cleanup_buf_ struct ap_buf path = AP_BUF_INIT;
        path_string(l, &path);
        if (path.len)
                return ap_error_set(l->err, code, "line %zu: %s (at '%s')", m->line + 1, what, path.data);
        return ap_error_set(l->err, code, "line %zu: %s", m->line + 1, what);
}

/* ---- comments ---- */

static _warn_unused_ int add_comment_node(struct ap_sops_node *c, size_t idx, const struct comment *cm,
                                          bool is_inline)
{
        struct ap_sops_node *node = ap_sops_node_new_comment(cm->text, cm->len, is_inline);
        if (!node)
                return -ENOMEM;
        int r = ap_sops_node_insert(c, AP_MIN(idx, c->n), node);
        if (r < 0)
                ap_sops_node_free(node);
        return r;
}

static _warn_unused_ int push_pending(struct loader *l, const struct comment *c)
{
        if (l->n_pending == l->cap_pending) {
                size_t cap = l->cap_pending ? l->cap_pending * 2 : 8;
                struct comment *p = realloc(l->pending, cap * sizeof(*p));
                if (!p)
                        return -ENOMEM;
                l->pending = p;
                l->cap_pending = cap;
        }
        l->pending[l->n_pending++] = *c;
        return 0;
}

/* Move the first k pending comments to the end of container c. */
static _warn_unused_ int flush_pending(struct loader *l, struct ap_sops_node *c, size_t k)
{
        int r = 0;
        for (size_t i = 0; r == 0 && i < k; i++)
                r = add_comment_node(c, c->n, &l->pending[i], false);
        if (k > 0 && r == 0) {
                memmove(l->pending, l->pending + k, (l->n_pending - k) * sizeof(*l->pending));
                l->n_pending -= k;
        }
        return r;
}

/* A comment on the line where the previous event ended. */
static _warn_unused_ int attach_inline(struct loader *l, const struct comment *c)
{
        switch (l->prev) {
        case PREV_VALUE: {
                /* before the entry (or item) whose scalar value it follows */
                struct ap_sops_node *p = l->prev_parent;
                for (size_t i = p->n; i-- > 0;)
                        if (p->kids[i] == l->prev_node)
                                return add_comment_node(p, i, c, true);
                return add_comment_node(p, p->n, c, true);
        }
        case PREV_KEY:
                /* "key: # c" above a block value: a comment before the key */
                return add_comment_node(l->stack[l->depth - 1].node, l->stack[l->depth - 1].node->n, c,
                                        false);
        case PREV_FLOW_END:
                return add_comment_node(l->prev_node, 0, c, false);
        default:
                return push_pending(l, c);
        }
}

static bool blank(char c)
{
        return c == ' ' || c == '\t';
}

/* Collect the comments in text[from, to): each '#' at a line start or after a blank runs to the line end. */
static _warn_unused_ int scan_gap(struct loader *l, size_t from, size_t to)
{
        size_t line = 0;
        /* find the line of 'from' by binary search */
        size_t lo = 0, hi = l->n_lines;
        while (hi - lo > 1) {
                size_t mid = (lo + hi) / 2;
                if (l->lines[mid] <= from)
                        lo = mid;
                else
                        hi = mid;
        }
        line = lo;
        for (size_t i = from; i < to;) {
                size_t b = ap_utf8_break_len(l->text, l->n, i);
                if (b) {
                        i += b;
                        line++;
                        continue;
                }
                if (l->text[i] != '#' ||
                    (i > 0 && i > l->lines[line] && !blank(l->text[i - 1]) && i != from)) {
                        i++;
                        continue;
                }
                size_t e = i + 1;
                while (e < to && !ap_utf8_break_len(l->text, l->n, e))
                        e++;
                struct comment c = {line, 0, false, l->text + i + 1, e - i - 1};
                bool content_before = false;
                for (size_t k = l->lines[line]; k < i; k += ap_utf8_width((unsigned char)l->text[k])) {
                        c.col++;
                        if (!blank(l->text[k]))
                                content_before = true;
                }
                c.content_before = content_before;
                int r = content_before && line == l->prev_end_line && l->prev != PREV_NONE
                            ? attach_inline(l, &c)
                            : push_pending(l, &c);
                if (r < 0)
                        return r;
                i = e;
        }
        return 0;
}

/* A comment on the header line of a block scalar ("key: |  # note"). */
static int scan_block_header(struct loader *l, size_t start, size_t end, struct comment *ret)
{
        for (size_t i = start; i < end && !ap_utf8_break_len(l->text, l->n, i); i++) {
                if (l->text[i] == '#' && i > start && blank(l->text[i - 1])) {
                        size_t e = i + 1;
                        while (e < end && !ap_utf8_break_len(l->text, l->n, e))
                                e++;
                        *ret = (struct comment){0, 0, true, l->text + i + 1, e - i - 1};
                        return 1;
                }
        }
        return 0;
}

/* ---- building ---- */

static void release_anchor(struct anchor *a)
{
        free(a->name);
        if (a->owned)
                ap_sops_node_free(a->node);
}

static _warn_unused_ int register_anchor(struct loader *l, const yaml_char_t *name, struct ap_sops_node *node,
                                         bool open)
{
        if (!name)
                return 0;
        struct anchor *a = realloc(l->anchors, (l->n_anchors + 1) * sizeof(*a));
        if (!a)
                return -ENOMEM;
        l->anchors = a;
        char *copy = strdup((const char *)name);
        if (!copy)
                return -ENOMEM;
        l->anchors[l->n_anchors++] = (struct anchor){copy, node, open, false};
        return 0;
}

static struct anchor *find_anchor(struct loader *l, const char *name)
{
        for (size_t i = l->n_anchors; i-- > 0;)
                if (strcmp(l->anchors[i].name, name) == 0)
                        return &l->anchors[i];
        return NULL;
}

static void close_anchor(struct loader *l, const struct ap_sops_node *node)
{
        for (size_t i = 0; i < l->n_anchors; i++)
                if (l->anchors[i].node == node)
                        l->anchors[i].open = false;
}

/* Place a finished or starting node as the document root, a map value or a list item. Takes node. */
static _warn_unused_ int place(struct loader *l, struct ap_sops_node *node, const yaml_mark_t *m)
{
        _cleanup_(ap_sops_node_freep) struct ap_sops_node *owned = node;
        int r;
        if (l->depth == 0) {
                if (l->root)
                        return fail(l, m, -EINVAL, "unexpected second root node");
                if (node->type == AP_SOPS_NULL) {
                        l->root = ap_sops_node_new(AP_SOPS_MAP);
                        return l->root ? 0 : -ENOMEM;
                }
                if (node->type == AP_SOPS_LIST)
                        return fail(l, m, -EINVAL,
                                    "YAML documents that are sequences are not supported; the top "
                                    "level must be a mapping");
                if (node->type != AP_SOPS_MAP)
                        return fail(l, m, -EINVAL,
                                    "YAML documents that are values are not supported; the top "
                                    "level must be a mapping");
                l->root = TAKE_PTR(owned);
                return 0;
        }
        struct frame *f = &l->stack[l->depth - 1];
        if (f->node->type == AP_SOPS_MAP) {
                r = ap_sops_node_set_key(node, f->key, f->key_len);
                if (r == 0)
                        r = ap_sops_keyset_add(&f->keys, node);
                if (r < 0)
                        return r;
                ap_secure_free(f->key, f->key_len);
                f->key = NULL;
                f->have_key = false;
        } else {
                f->items++;
        }
        r = ap_sops_node_append(f->node, node);
        if (r == 0)
                TAKE_PTR(owned);
        return r;
}

static _warn_unused_ int take_budget(struct loader *l, size_t n, const yaml_mark_t *m)
{
        if (n > l->budget)
                return fail(l, m, AP_E_TOO_LARGE, "document too large or aliases expand too much");
        l->budget -= n;
        return 0;
}

/* A scalar key in a mapping: must be a string, must be new. */
static _warn_unused_ int set_key(struct loader *l, const struct ap_sops_node *k, const yaml_mark_t *m)
{
        struct frame *f = &l->stack[l->depth - 1];
        if (k->type != AP_SOPS_STR) {
                _cleanup_buf_ struct ap_buf msg = AP_BUF_INIT;
                _cleanup_buf_ struct ap_buf val = AP_BUF_INIT;
                if (ap_sops_node_is_leaf(k) && ap_sops_scalar_bytes(k, &val) < 0)
                        return -ENOMEM;
                if (ap_buf_printf(
                        &msg, "key '%.*s' is a %s, not a string; only string keys are supported (quote it)",
                        (int)AP_MIN(val.len, 100), val.data,
                        k->type == AP_SOPS_NULL   ? "null"
                        : k->type == AP_SOPS_MAP  ? "mapping"
                        : k->type == AP_SOPS_LIST ? "sequence"
                                                  : ap_sops_scalar_type_name(k)) < 0)
                        return -ENOMEM;
                return fail(l, m, AP_E_INVALID, msg.data);
        }
        if (ap_sops_keyset_has(&f->keys, k->str, k->len)) {
                _cleanup_buf_ struct ap_buf msg = AP_BUF_INIT;
                if (ap_buf_printf(&msg, "mapping key '%.*s' already defined", (int)AP_MIN(k->len, 200),
                                  k->str) < 0)
                        return -ENOMEM;
                return fail(l, m, AP_E_INVALID, msg.data);
        }
        f->key = malloc(k->len + 1);
        if (!f->key)
                return -ENOMEM;
        memcpy(f->key, k->str, k->len + 1);
        f->key_len = k->len;
        f->have_key = true;
        l->prev = PREV_KEY;
        return 0;
}

static bool expecting_key(const struct loader *l)
{
        return l->depth > 0 && l->stack[l->depth - 1].node->type == AP_SOPS_MAP &&
               !l->stack[l->depth - 1].have_key;
}

static bool expecting_value(const struct loader *l)
{
        return l->depth > 0 && l->stack[l->depth - 1].node->type == AP_SOPS_MAP &&
               l->stack[l->depth - 1].have_key;
}

/* A finished leaf (scalar or alias copy) as key, value or item; inline comment from a block header. */
static _warn_unused_ int leaf(struct loader *l, struct ap_sops_node *node, const yaml_mark_t *m,
                              const struct comment *hdr)
{
        _cleanup_(ap_sops_node_freep) struct ap_sops_node *owned = node;
        int r;
        if (expecting_key(l)) {
                if (l->n_pending && (r = flush_pending(l, l->stack[l->depth - 1].node, l->n_pending)) < 0)
                        return r;
                return set_key(l, node, m);
        }
        /* comments before a value or item: ahead of it in its container */
        if (l->n_pending && l->depth > 0 &&
            (r = flush_pending(l, l->stack[l->depth - 1].node, l->n_pending)) < 0)
                return r;
        struct ap_sops_node *parent = l->depth > 0 ? l->stack[l->depth - 1].node : NULL;
        bool scalar = node->type != AP_SOPS_MAP && node->type != AP_SOPS_LIST;
        r = place(l, TAKE_PTR(owned), m);
        if (r < 0)
                return r;
        if (parent && scalar) {
                l->prev = PREV_VALUE;
                l->prev_parent = parent;
                l->prev_node = node;
                if (hdr)
                        r = attach_inline(l, hdr);
        } else {
                l->prev = PREV_OTHER;
        }
        return r;
}

static int on_scalar(struct loader *l, yaml_event_t *ev)
{
        const yaml_mark_t *m = &ev->start_mark;
        int r = take_budget(l, 1, m);
        if (r < 0)
                return r;
        _cleanup_(ap_sops_node_freep) struct ap_sops_node *node = ap_sops_node_new(AP_SOPS_NULL);
        if (!node)
                return -ENOMEM;
        bool plain = ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE ||
                     ev->data.scalar.style == YAML_ANY_SCALAR_STYLE;
        struct ap_error e = AP_ERROR_INIT;
        r = ap_sops_scalar_resolve(node, (const char *)ev->data.scalar.tag, plain,
                                   (const char *)ev->data.scalar.value, ev->data.scalar.length, &e);
        if (r < 0)
                return fail(l, m, r, e.msg[0] ? e.msg : "cannot decode scalar");
        if (ev->data.scalar.anchor) {
                /* a scalar may become a key, which is not kept as a node: the anchor keeps its own copy */
                struct ap_sops_node *copy;
                r = ap_sops_node_copy(node, &copy);
                if (r == 0 && (r = register_anchor(l, ev->data.scalar.anchor, copy, false)) < 0)
                        ap_sops_node_free(copy);
                if (r == 0)
                        l->anchors[l->n_anchors - 1].owned = true;
        }
        if (r < 0)
                return r;
        struct comment hdr;
        bool block = ev->data.scalar.style == YAML_LITERAL_SCALAR_STYLE ||
                     ev->data.scalar.style == YAML_FOLDED_SCALAR_STYLE;
        bool has_hdr = block && scan_block_header(l, mark_offset(l, &ev->start_mark),
                                                  mark_offset(l, &ev->end_mark), &hdr);
        return leaf(l, TAKE_PTR(node), m, has_hdr ? &hdr : NULL);
}

static int on_alias(struct loader *l, yaml_event_t *ev)
{
        const yaml_mark_t *m = &ev->start_mark;
        struct anchor *a = find_anchor(l, (const char *)ev->data.alias.anchor);
        if (!a)
                return fail(l, m, -EINVAL, "unknown anchor referenced by an alias");
        if (a->open)
                return fail(l, m, -EINVAL, "anchor value contains itself");
        int r = take_budget(l, ap_sops_node_count(a->node), m);
        if (r < 0)
                return r;
        struct ap_sops_node *copy;
        r = ap_sops_node_copy(a->node, &copy);
        if (r < 0)
                return r;
        ap_secure_free(copy->key, copy->key_len);
        copy->key = NULL;
        copy->key_len = 0;
        if (expecting_key(l)) {
                r = set_key(l, copy, m);
                ap_sops_node_free(copy);
                return r;
        }
        return leaf(l, copy, m, NULL);
}

static int on_start(struct loader *l, yaml_event_t *ev, bool map)
{
        const yaml_mark_t *m = &ev->start_mark;
        if (expecting_key(l))
                return fail(l, m, -EINVAL,
                            "mapping and sequence keys are not supported; only string keys are");
        if (l->depth == MAX_DEPTH)
                return fail(l, m, AP_E_TOO_LARGE, "nesting deeper than 256 levels");
        int r = take_budget(l, 1, m);
        if (r < 0)
                return r;
        bool flow = map ? ev->data.mapping_start.style == YAML_FLOW_MAPPING_STYLE
                        : ev->data.sequence_start.style == YAML_FLOW_SEQUENCE_STYLE;
        struct ap_sops_node *node = ap_sops_node_new(map ? AP_SOPS_MAP : AP_SOPS_LIST);
        if (!node)
                return -ENOMEM;
        /* comments between "key:" and a block value go into the new block; others precede the entry */
        bool into_child = expecting_value(l) || l->depth == 0;
        size_t keep = l->n_pending;
        if (!into_child) {
                /* a comment after "- " on the item's line belongs to the item */
                while (keep > 0 && l->pending[keep - 1].content_before)
                        keep--;
                if (keep && (r = flush_pending(l, l->stack[l->depth - 1].node, keep)) < 0) {
                        ap_sops_node_free(node);
                        return r;
                }
        }
        r = place(l, node, m);
        if (r < 0)
                return r;
        if (l->depth == 0)
                node = l->root;
        r = register_anchor(l, map ? ev->data.mapping_start.anchor : ev->data.sequence_start.anchor, node,
                            true);
        if (r < 0)
                return r;
        l->stack[l->depth++] =
            (struct frame){.node = node, .col = flow ? 0 : ev->start_mark.column, .flow = flow};
        l->prev = PREV_OTHER;
        if (l->n_pending && into_child)
                r = flush_pending(l, node, l->n_pending);
        return r;
}

/* True when the line after line is empty or blank (go-yaml then keeps a comment as a foot). */
static bool blank_line_after(const struct loader *l, size_t line)
{
        if (line + 1 >= l->n_lines)
                return true;
        size_t end = line + 2 < l->n_lines ? l->lines[line + 2] : l->n;
        for (size_t i = l->lines[line + 1]; i < end; i++)
                if (!blank(l->text[i]) && !ap_utf8_break_len(l->text, l->n, i))
                        return false;
        return true;
}

static int on_end(struct loader *l, yaml_event_t *ev)
{
        struct frame *f = &l->stack[l->depth - 1];
        /* trailing comments indented into this block stay in it; after a nested block, a list keeps only
         * comments indented past its dashes */
        size_t min_col = f->col;
        if (f->node->type == AP_SOPS_LIST && !f->flow && f->node->n > 0) {
                const struct ap_sops_node *last = f->node->kids[f->node->n - 1];
                /* an indentless list ("key:\n- a") gives comments at its dashes to the map around it,
                 * unless the document ends there */
                size_t at = mark_offset(l, &ev->start_mark);
                bool doc_end = at >= l->n || (l->n - at >= 3 && (memcmp(l->text + at, "---", 3) == 0 ||
                                                                 memcmp(l->text + at, "...", 3) == 0));
                bool indentless =
                    l->depth >= 2 && !l->stack[l->depth - 2].flow && l->stack[l->depth - 2].col == f->col;
                bool foot = doc_end;
                for (size_t k = 0; k < l->n_pending && l->pending[k].col >= f->col; k++)
                        foot |= blank_line_after(l, l->pending[k].line);
                if (last->type == AP_SOPS_MAP || last->type == AP_SOPS_LIST || (indentless && !foot))
                        min_col++;
        }
        size_t k = 0;
        while (k < l->n_pending && l->pending[k].col >= min_col)
                k++;
        int r = flush_pending(l, f->node, k);
        if (r < 0)
                return r;
        close_anchor(l, f->node);
        ap_secure_free(f->key, f->key_len);
        ap_sops_keyset_release(&f->keys);
        l->depth--;
        if (f->flow) {
                l->prev = PREV_FLOW_END;
                l->prev_node = f->node;
        } else {
                l->prev = PREV_OTHER;
        }
        return 0;
}

static int end_document(struct loader *l, struct ap_sops_docs *docs)
{
        if (!l->root) {
                l->root = ap_sops_node_new(AP_SOPS_MAP);
                if (!l->root)
                        return -ENOMEM;
        }
        int r = flush_pending(l, l->root, l->n_pending);
        if (r == 0)
                r = ap_sops_docs_append(docs, l->root);
        if (r < 0)
                return r;
        l->root = NULL;
        for (size_t i = 0; i < l->n_anchors; i++)
                release_anchor(&l->anchors[i]);
        l->n_anchors = 0;
        return 0;
}

static int parser_error(struct loader *l, const yaml_parser_t *p)
{
        if (p->error == YAML_READER_ERROR) {
                /* the reader (invalid UTF-8, control characters) gives a byte offset, not a mark */
                size_t off = AP_MIN(p->problem_offset, l->n), line = 0;
                while (line + 1 < l->n_lines && l->lines[line + 1] <= off)
                        line++;
                size_t col = 1;
                for (size_t i = l->lines[line]; i < off; i += ap_utf8_width((unsigned char)l->text[i]))
                        col++;
                return ap_error_set(l->err, AP_E_INVALID, "line %zu, column %zu: %s", line + 1, col,
                                    p->problem ? p->problem : "cannot read the input");
        }
        const yaml_mark_t *m = p->problem ? &p->problem_mark : &p->mark;
        if (p->context)
                return ap_error_set(l->err, AP_E_INVALID, "line %zu, column %zu: %s %s", m->line + 1,
                                    m->column + 1, p->problem ? p->problem : "syntax error", p->context);
        return ap_error_set(l->err, AP_E_INVALID, "line %zu, column %zu: %s", m->line + 1, m->column + 1,
                            p->problem ? p->problem : "syntax error");
}

/* Move the pending comments from index `from` on that share their line with content to the end (stable). */
static _warn_unused_ int properties_comment_last(struct loader *l, size_t from)
{
        size_t n = l->n_pending - from;
        if (n < 2)
                return 0;
        struct comment *tmp = malloc(n * sizeof(*tmp));
        if (!tmp)
                return -ENOMEM;
        size_t k = 0;
        for (int pass = 0; pass < 2; pass++)
                for (size_t i = from; i < l->n_pending; i++)
                        if (l->pending[i].content_before == (pass == 1))
                                tmp[k++] = l->pending[i];
        memcpy(l->pending + from, tmp, n * sizeof(*tmp));
        free(tmp);
        return 0;
}

static bool has_properties(const yaml_event_t *ev)
{
        if (ev->type == YAML_MAPPING_START_EVENT)
                return ev->data.mapping_start.anchor || ev->data.mapping_start.tag;
        if (ev->type == YAML_SEQUENCE_START_EVENT)
                return ev->data.sequence_start.anchor || ev->data.sequence_start.tag;
        return false;
}

static int run(struct loader *l, yaml_parser_t *p, struct ap_sops_docs *docs)
{
        for (;;) {
                yaml_event_t ev;
                if (!yaml_parser_parse(p, &ev))
                        return parser_error(l, p);
                size_t start = mark_offset(l, &ev.start_mark), end = mark_offset(l, &ev.end_mark);
                int r = 0;
                if (start > l->scanned)
                        r = scan_gap(l, l->scanned, start);
                l->scanned = AP_MAX(l->scanned, start);
                if (r == 0 && has_properties(&ev) && end > l->scanned) {
                        /* a collection with an anchor or a tag starts at them and ends where its first entry
                         * does: comments in between ("a: &x # c", "- !!map\n  # c") belong inside it, as
                         * go-yaml reads them, never inline after what came before */
                        enum prev_kind prev = l->prev;
                        size_t before = l->n_pending;
                        l->prev = PREV_NONE;
                        r = scan_gap(l, l->scanned, end);
                        l->prev = prev;
                        l->scanned = end;
                        /* go-yaml keeps the one on the properties' line as the collection's line comment,
                         * which sops writes after the head comments of its first entry */
                        if (r == 0)
                                r = properties_comment_last(l, before);
                }
                if (r == 0) {
                        switch (ev.type) {
                        case YAML_DOCUMENT_END_EVENT:
                                r = end_document(l, docs);
                                break;
                        case YAML_SCALAR_EVENT:
                                r = on_scalar(l, &ev);
                                break;
                        case YAML_ALIAS_EVENT:
                                r = on_alias(l, &ev);
                                break;
                        case YAML_MAPPING_START_EVENT:
                        case YAML_SEQUENCE_START_EVENT:
                                r = on_start(l, &ev, ev.type == YAML_MAPPING_START_EVENT);
                                break;
                        case YAML_MAPPING_END_EVENT:
                        case YAML_SEQUENCE_END_EVENT:
                                r = on_end(l, &ev);
                                break;
                        case YAML_DOCUMENT_START_EVENT:
                                l->prev = PREV_NONE;
                                break;
                        default:
                                break;
                        }
                }
                if (end > start && end > l->scanned) {
                        l->scanned = end;
                        l->prev_end_line = ev.end_mark.line;
                        if (ev.type == YAML_DOCUMENT_START_EVENT)
                                l->prev = PREV_OTHER;
                }
                bool done = ev.type == YAML_STREAM_END_EVENT;
                if (ev.type == YAML_SCALAR_EVENT) /* the value may be plaintext (base/init.c wipes it too) */
                        ap_secure_wipe(ev.data.scalar.value, ev.data.scalar.length);
                yaml_event_delete(&ev);
                if (r < 0)
                        return r;
                if (done)
                        return 0;
        }
}

int ap_sops_yaml_load(const char *data, size_t n, struct ap_sops_docs *docs, struct ap_error *err)
{
        struct loader l = {.text = data, .n = n, .err = err};
        l.budget = n > (SIZE_MAX - 10000) / 64 ? SIZE_MAX : n * 64 + 10000;
        if (l.budget > ((size_t)4 << 20))
                l.budget = (size_t)4 << 20;
        yaml_parser_t p;
        if (!yaml_parser_initialize(&p))
                return ap_error_set(err, -ENOMEM, "out of memory");
        yaml_parser_set_input_string(&p, (const unsigned char *)data, n);
        size_t first = docs->n;
        int r = index_lines(&l);
        if (r == 0)
                r = run(&l, &p, docs);
        /* the parser's input copies hold plaintext: wipe them through the public struct before it frees
         * them (with ap_base_init, libyaml's yaml_free wipes whatever else it held) */
        ap_secure_wipe(p.raw_buffer.start, (size_t)(p.raw_buffer.end - p.raw_buffer.start));
        ap_secure_wipe(p.buffer.start, (size_t)(p.buffer.end - p.buffer.start));
        yaml_parser_delete(&p);
        for (int i = 0; i < l.depth; i++) {
                ap_secure_free(l.stack[i].key, l.stack[i].key_len);
                ap_sops_keyset_release(&l.stack[i].keys);
        }
        if (l.root && (l.depth == 0 || r < 0))
                ap_sops_node_free(l.root);
        for (size_t i = 0; i < l.n_anchors; i++)
                release_anchor(&l.anchors[i]);
        free(l.anchors);
        free(l.pending);
        free(l.lines);
        if (r < 0) {
                while (docs->n > first)
                        ap_sops_node_free(docs->docs[--docs->n]);
                if (!err || !err->code)
                        ap_error_set(err, r, "cannot load YAML: %s", strerror(-r));
        }
        return r;
}
