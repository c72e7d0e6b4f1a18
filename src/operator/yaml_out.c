/* yaml_out.c - jansson values to block-style YAML through libyaml's emitter (see yaml_out.h). */
#include "yaml_out.h"

#include <ctype.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <yaml.h>

#define MAX_DEPTH 64

struct emit {
        yaml_emitter_t e;
        struct ap_buf *out;
        int rc; /* first write failure */
};

static int write_cb(void *data, unsigned char *buffer, size_t size)
{
        struct emit *em = data;
        int r = ap_buf_add(em->out, buffer, size);
        if (r < 0) {
                em->rc = r;
                return 0;
        }
        return 1;
}

/* Could a YAML 1.1 or 1.2 resolver read s as a null, bool, number or timestamp? Conservative: anything
 * that looks numeric ("0x1f", "1e3", "1_000", "12:30", "2024-01-01") counts. */
static bool needs_quotes(const char *s, size_t n)
{
        if (n == 0)
                return true;
        static const char *const words[] = {"y",   "n",    "yes", "no",   "true",  "false", "on",
                                            "off", "null", "~",   ".inf", "-.inf", "+.inf", ".nan"};
        for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++)
                if (strlen(words[i]) == n && strncasecmp(s, words[i], n) == 0)
                        return true;
        if (!(isdigit((unsigned char)s[0]) || s[0] == '-' || s[0] == '+' || s[0] == '.'))
                return false;
        for (size_t i = 0; i < n; i++) {
                unsigned char c = (unsigned char)s[i];
                if (!(isxdigit(c) || strchr("xXoObB._:+- tTzZ", c)))
                        return false;
        }
        return true;
}

static int scalar(struct emit *em, const char *s, size_t n, yaml_scalar_style_t style)
{
        yaml_event_t ev;
        if (!yaml_scalar_event_initialize(&ev, NULL, NULL, (yaml_char_t *)s, (int)n, 1, 1, style))
                return -ENOMEM;
        return yaml_emitter_emit(&em->e, &ev) ? 0 : -EIO;
}

static int value(struct emit *em, const json_t *v, int depth)
{
        if (depth > MAX_DEPTH)
                return -ELOOP;
        yaml_event_t ev;
        char num[64];
        switch (json_typeof(v)) {
        case JSON_OBJECT: {
                if (!yaml_mapping_start_event_initialize(&ev, NULL, NULL, 1, YAML_BLOCK_MAPPING_STYLE) ||
                    !yaml_emitter_emit(&em->e, &ev))
                        return -EIO;
                const char *k;
                const json_t *child;
                json_object_foreach((json_t *)v, k, child)
                {
                        size_t kl = strlen(k);
                        int r = scalar(em, k, kl,
                                       needs_quotes(k, kl) ? YAML_DOUBLE_QUOTED_SCALAR_STYLE
                                                           : YAML_ANY_SCALAR_STYLE);
                        if (r < 0 || (r = value(em, child, depth + 1)) < 0)
                                return r;
                }
                if (!yaml_mapping_end_event_initialize(&ev) || !yaml_emitter_emit(&em->e, &ev))
                        return -EIO;
                return 0;
        }
        case JSON_ARRAY: {
                if (!yaml_sequence_start_event_initialize(&ev, NULL, NULL, 1, YAML_BLOCK_SEQUENCE_STYLE) ||
                    !yaml_emitter_emit(&em->e, &ev))
                        return -EIO;
                size_t i;
                const json_t *child;
                json_array_foreach((json_t *)v, i, child)
                {
                        int r = value(em, child, depth + 1);
                        if (r < 0)
                                return r;
                }
                if (!yaml_sequence_end_event_initialize(&ev) || !yaml_emitter_emit(&em->e, &ev))
                        return -EIO;
                return 0;
        }
        case JSON_STRING: {
                const char *s = json_string_value(v);
                size_t n = json_string_length(v);
                return scalar(em, s, n,
                              needs_quotes(s, n) ? YAML_DOUBLE_QUOTED_SCALAR_STYLE : YAML_ANY_SCALAR_STYLE);
        }
        case JSON_INTEGER:
                snprintf(num, sizeof(num), "%" JSON_INTEGER_FORMAT, json_integer_value(v));
                return scalar(em, num, strlen(num), YAML_PLAIN_SCALAR_STYLE);
        case JSON_REAL:
                snprintf(num, sizeof(num), "%.17g", json_real_value(v));
                return scalar(em, num, strlen(num), YAML_PLAIN_SCALAR_STYLE);
        case JSON_TRUE:
                return scalar(em, "true", 4, YAML_PLAIN_SCALAR_STYLE);
        case JSON_FALSE:
                return scalar(em, "false", 5, YAML_PLAIN_SCALAR_STYLE);
        case JSON_NULL:
        default:
                return scalar(em, "null", 4, YAML_PLAIN_SCALAR_STYLE);
        }
}

int ap_yaml_emit(struct ap_buf *out, const json_t *const *docs, size_t n, struct ap_error *err)
{
        size_t start = out->len;
        struct emit em = {.out = out};
        if (!yaml_emitter_initialize(&em.e))
                return ap_error_set(err, -ENOMEM, "out of memory");
        yaml_emitter_set_output(&em.e, write_cb, &em);
        yaml_emitter_set_unicode(&em.e, 1);
        yaml_emitter_set_width(&em.e, -1);
        yaml_emitter_set_indent(&em.e, 2);
        yaml_event_t ev;
        int r = 0;
        if (!yaml_stream_start_event_initialize(&ev, YAML_UTF8_ENCODING) || !yaml_emitter_emit(&em.e, &ev))
                r = -EIO;
        for (size_t i = 0; r == 0 && i < n; i++) {
                if (!yaml_document_start_event_initialize(&ev, NULL, NULL, NULL, i == 0) ||
                    !yaml_emitter_emit(&em.e, &ev)) {
                        r = -EIO;
                        break;
                }
                r = value(&em, docs[i], 0);
                if (r == 0 && (!yaml_document_end_event_initialize(&ev, 1) || !yaml_emitter_emit(&em.e, &ev)))
                        r = -EIO;
        }
        if (r == 0 && (!yaml_stream_end_event_initialize(&ev) || !yaml_emitter_emit(&em.e, &ev)))
                r = -EIO;
        if (r == 0 && !yaml_emitter_flush(&em.e))
                r = -EIO;
        const char *problem = em.e.problem;
        yaml_emitter_delete(&em.e);
        if (em.rc < 0)
                r = em.rc;
        if (r < 0) {
                ap_buf_truncate(out, start);
                if (r == -ELOOP)
                        return ap_error_set(err, AP_E_INVALID,
                                            "cannot write YAML: nested deeper than %d levels", MAX_DEPTH);
                if (r == AP_E_TOO_LARGE)
                        return ap_error_set(err, r, "cannot write YAML: larger than %zu bytes", out->max);
                return ap_error_set(err, r == -ENOMEM ? r : AP_E_INVALID, "cannot write YAML: %s",
                                    problem ? problem : "emitter failure");
        }
        return 0;
}

int ap_yaml_emit1(struct ap_buf *out, const json_t *doc, struct ap_error *err)
{
        return ap_yaml_emit(out, &doc, 1, err);
}
