/* yaml_json.c - libyaml event stream to jansson values with core-schema scalar resolution. */
#include "yaml_json.h"

#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "keymap.h"

#define MAX_DEPTH   64
#define MAX_ALIASES 1000
#define MAX_DOCS    10000

struct parser {
        yaml_parser_t p;
        struct ap_keymap anchors; /* anchor name -> json_t* (one reference held) */
        size_t aliases;
        struct ap_error *err;
};

static void decref_value(void *v)
{
        json_decref(v);
}

static int perr(struct parser *ps, int code, const char *what, const yaml_mark_t *m)
{
        return ap_error_set(ps->err, code, "yaml: %s at line %zu column %zu", what, m->line + 1,
                            m->column + 1);
}

static bool is_plain_null(const char *s)
{
        return !s[0] || strcmp(s, "~") == 0 || strcmp(s, "null") == 0 || strcmp(s, "Null") == 0 ||
               strcmp(s, "NULL") == 0;
}

static json_t *resolve_int(const char *s)
{
        /* core schema: [-+]?[0-9]+ | 0o[0-7]+ | 0x[0-9a-fA-F]+ */
        int base = 10;
        const char *digits = s;
        if (s[0] == '0' && s[1] == 'o') {
                base = 8;
                digits = s + 2;
        } else if (s[0] == '0' && s[1] == 'x') {
                base = 16;
                digits = s + 2;
        } else if (s[0] == '-' || s[0] == '+') {
                digits = s + 1;
        }
        if (!digits[0])
                return NULL;
        for (const char *p = digits; *p; p++) {
                bool ok = base == 16 ? ((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f') ||
                                        (*p >= 'A' && *p <= 'F'))
                                     : (*p >= '0' && *p < '0' + base);
                if (!ok)
                        return NULL;
        }
        errno = 0;
        char *end;
        long long v = strtoll(base == 10 ? s : digits, &end, base);
        if (errno || *end)
                return json_stringn(s, strlen(s)); /* out of range: a string, rather than lose digits */
        return json_integer(v);
}

static json_t *resolve_float(const char *s)
{
        /* [-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)? plus .inf/.nan, which JSON cannot hold */
        const char *p = s;
        if (*p == '-' || *p == '+')
                p++;
        bool digits = false, dot = false;
        while ((*p >= '0' && *p <= '9') || (*p == '.' && !dot)) {
                if (*p == '.')
                        dot = true;
                else
                        digits = true;
                p++;
        }
        if (!digits)
                return NULL;
        if (*p == 'e' || *p == 'E') {
                p++;
                if (*p == '-' || *p == '+')
                        p++;
                if (!(*p >= '0' && *p <= '9'))
                        return NULL;
                while (*p >= '0' && *p <= '9')
                        p++;
        }
        if (*p)
                return NULL;
        double v = strtod(s, NULL);
        if (!isfinite(v))
                return NULL;
        return json_real(v);
}

static json_t *scalar_value(const yaml_event_t *ev)
{
        const char *s = (const char *)ev->data.scalar.value;
        size_t n = ev->data.scalar.length;
        const char *tag = (const char *)ev->data.scalar.tag;
        bool plain = ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
        if (tag && strcmp(tag, YAML_STR_TAG) == 0)
                plain = false;
        if (plain && strlen(s) == n) {
                if (is_plain_null(s))
                        return json_null();
                if (strcmp(s, "true") == 0 || strcmp(s, "True") == 0 || strcmp(s, "TRUE") == 0)
                        return json_true();
                if (strcmp(s, "false") == 0 || strcmp(s, "False") == 0 || strcmp(s, "FALSE") == 0)
                        return json_false();
                json_t *v = resolve_int(s);
                if (!v)
                        v = resolve_float(s);
                if (v)
                        return v;
        }
        return json_stringn(s, n);
}

static int parse_node(struct parser *ps, yaml_event_t *ev, int depth, json_t **ret);

static int next_event(struct parser *ps, yaml_event_t *ev)
{
        if (!yaml_parser_parse(&ps->p, ev)) {
                const char *problem = ps->p.problem ? ps->p.problem : "syntax error";
                return perr(ps, -EBADMSG, problem, &ps->p.problem_mark);
        }
        return 0;
}

static int remember_anchor(struct parser *ps, const yaml_char_t *anchor, json_t *v)
{
        if (!anchor)
                return 0;
        void *old = NULL;
        if (ap_keymap_put(&ps->anchors, (const char *)anchor, json_incref(v), &old) < 0) {
                json_decref(v);
                return ap_error_set(ps->err, -ENOMEM, "yaml: out of memory");
        }
        json_decref(old);
        return 0;
}

static int parse_mapping(struct parser *ps, int depth, json_t *obj)
{
        for (;;) {
                yaml_event_t kev;
                int r = next_event(ps, &kev);
                if (r < 0)
                        return r;
                if (kev.type == YAML_MAPPING_END_EVENT) {
                        yaml_event_delete(&kev);
                        return 0;
                }
                json_t *k = NULL;
                r = parse_node(ps, &kev, depth + 1, &k);
                yaml_mark_t mark = kev.start_mark;
                yaml_event_delete(&kev);
                if (r < 0)
                        return r;
                const char *key = json_string_value(k);
                char numbuf[64];
                if (!key && json_is_integer(k)) {
                        snprintf(numbuf, sizeof(numbuf), "%" JSON_INTEGER_FORMAT, json_integer_value(k));
                        key = numbuf;
                } else if (!key && json_is_boolean(k)) {
                        key = json_is_true(k) ? "true" : "false";
                } else if (!key && json_is_null(k)) {
                        key = "null";
                }
                if (!key) {
                        json_decref(k);
                        return perr(ps, -EBADMSG, "mapping key is not a scalar", &mark);
                }
                if (json_object_get(obj, key)) {
                        r = perr(ps, -EBADMSG, "duplicate mapping key", &mark);
                        json_decref(k);
                        return r;
                }
                yaml_event_t vev;
                r = next_event(ps, &vev);
                if (r < 0) {
                        json_decref(k);
                        return r;
                }
                json_t *v = NULL;
                r = parse_node(ps, &vev, depth + 1, &v);
                yaml_event_delete(&vev);
                if (r < 0) {
                        json_decref(k);
                        return r;
                }
                r = json_object_set_new(obj, key, v);
                json_decref(k);
                if (r < 0)
                        return perr(ps, -EBADMSG, "mapping key is not valid UTF-8 text", &mark);
        }
}

static int parse_sequence(struct parser *ps, int depth, json_t *arr)
{
        for (;;) {
                yaml_event_t ev;
                int r = next_event(ps, &ev);
                if (r < 0)
                        return r;
                if (ev.type == YAML_SEQUENCE_END_EVENT) {
                        yaml_event_delete(&ev);
                        return 0;
                }
                json_t *v = NULL;
                r = parse_node(ps, &ev, depth + 1, &v);
                yaml_event_delete(&ev);
                if (r < 0)
                        return r;
                if (json_array_append_new(arr, v) < 0)
                        return ap_error_set(ps->err, -ENOMEM, "yaml: cannot store sequence item");
        }
}

static int parse_node(struct parser *ps, yaml_event_t *ev, int depth, json_t **ret)
{
        if (depth > MAX_DEPTH)
                return perr(ps, -EBADMSG, "nesting deeper than 64 levels", &ev->start_mark);
        json_t *v = NULL;
        int r = 0;
        switch (ev->type) {
        case YAML_ALIAS_EVENT:
                if (++ps->aliases > MAX_ALIASES)
                        return perr(ps, -EBADMSG, "more than 1000 aliases", &ev->start_mark);
                v = ap_keymap_get(&ps->anchors, (const char *)ev->data.alias.anchor);
                if (!v)
                        return perr(ps, -EBADMSG, "alias to an unknown anchor", &ev->start_mark);
                *ret = json_incref(v);
                return 0;
        case YAML_SCALAR_EVENT:
                v = scalar_value(ev);
                if (!v)
                        return ap_error_set(ps->err, -ENOMEM, "yaml: out of memory");
                break;
        case YAML_MAPPING_START_EVENT:
                v = json_object();
                if (!v)
                        return ap_error_set(ps->err, -ENOMEM, "yaml: out of memory");
                r = parse_mapping(ps, depth, v);
                break;
        case YAML_SEQUENCE_START_EVENT:
                v = json_array();
                if (!v)
                        return ap_error_set(ps->err, -ENOMEM, "yaml: out of memory");
                r = parse_sequence(ps, depth, v);
                break;
        default:
                return perr(ps, -EBADMSG, "unexpected event", &ev->start_mark);
        }
        /* an anchor is registered once its node is complete, so an alias can never point into the node
         * that contains it (that would be a reference cycle) */
        if (r >= 0) {
                const yaml_char_t *anchor = ev->type == YAML_SCALAR_EVENT ? ev->data.scalar.anchor
                                            : ev->type == YAML_MAPPING_START_EVENT
                                                ? ev->data.mapping_start.anchor
                                                : ev->data.sequence_start.anchor;
                r = remember_anchor(ps, anchor, v);
        }
        if (r < 0) {
                json_decref(v);
                return r;
        }
        *ret = v;
        return 0;
}

/* Parse documents; stops after the first when all is false. */
static int parse_stream(const char *data, size_t len, bool all, json_t **ret, struct ap_error *err)
{
        struct parser ps = {.err = err};
        ap_keymap_init(&ps.anchors);
        if (!yaml_parser_initialize(&ps.p))
                return ap_error_set(err, -ENOMEM, "yaml: cannot initialise the parser");
        yaml_parser_set_input_string(&ps.p, (const unsigned char *)data, len);
        json_t *docs = json_array();
        int r = docs ? 0 : ap_error_set(err, -ENOMEM, "yaml: out of memory");
        bool done = false;
        while (r >= 0 && !done) {
                yaml_event_t ev;
                r = next_event(&ps, &ev);
                if (r < 0)
                        break;
                switch (ev.type) {
                case YAML_STREAM_END_EVENT:
                        done = true;
                        break;
                case YAML_STREAM_START_EVENT:
                case YAML_DOCUMENT_END_EVENT:
                        break;
                case YAML_DOCUMENT_START_EVENT:
                        /* anchors are scoped to their document */
                        ap_keymap_release(&ps.anchors, decref_value);
                        ps.aliases = 0;
                        break;
                default: {
                        json_t *v = NULL;
                        r = parse_node(&ps, &ev, 0, &v);
                        if (r < 0)
                                break;
                        if (json_array_size(docs) >= MAX_DOCS) {
                                json_decref(v);
                                r = perr(&ps, -E2BIG, "more than 10000 documents", &ev.start_mark);
                                break;
                        }
                        if (!json_is_null(v) || !all)
                                json_array_append(docs, v);
                        json_decref(v);
                        if (!all)
                                done = true;
                }
                }
                yaml_event_delete(&ev);
        }
        ap_keymap_release(&ps.anchors, decref_value);
        yaml_parser_delete(&ps.p);
        if (r < 0) {
                json_decref(docs);
                return r;
        }
        if (all) {
                *ret = docs;
        } else {
                json_t *first = json_array_get(docs, 0);
                *ret = first ? json_incref(first) : json_null();
                json_decref(docs);
        }
        return 0;
}

int ap_yaml_to_json(const char *data, size_t len, json_t **ret, struct ap_error *err)
{
        return parse_stream(data, len, false, ret, err);
}

int ap_yaml_to_json_all(const char *data, size_t len, json_t **ret_array, struct ap_error *err)
{
        return parse_stream(data, len, true, ret_array, err);
}
