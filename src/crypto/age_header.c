/* age_header.c - the age v1 header: strict incremental parser (version line, stanzas with 64-column
 * canonical unpadded base64 bodies ending in a short line, MAC line) and the serialiser. Every syntax
 * problem is AP_E_CORRUPT; the header size is capped at AP_AGE_HEADER_MAX. */
#include <stdlib.h>
#include <string.h>

#include "base/base64.h"
#include "crypto/age_internal.h"

enum { HP_INTRO, HP_STANZA_OR_MAC, HP_BODY, HP_DONE };

static void stanza_release(struct ap_age_stanza *s)
{
        for (size_t i = 0; i < s->n_args; i++)
                free(s->args[i]);
        free(s->args);
        ap_secure_free(s->body, s->body_len);
        *s = (struct ap_age_stanza){0};
}

void ap_age_header_release(struct ap_age_header *h)
{
        if (!h)
                return;
        for (size_t i = 0; i < h->n; i++)
                stanza_release(&h->stanzas[i]);
        free(h->stanzas);
        *h = (struct ap_age_header){0};
}

int ap_age_header_add(struct ap_age_header *h, const char *const *args, size_t n_args, const void *body,
                      size_t body_len)
{
        struct ap_age_stanza s = {0};
        s.args = calloc(n_args ? n_args : 1, sizeof(*s.args));
        if (!s.args)
                return -ENOMEM;
        for (; s.n_args < n_args; s.n_args++) {
                s.args[s.n_args] = strdup(args[s.n_args]);
                if (!s.args[s.n_args])
                        goto oom;
        }
        if (body_len) {
                s.body = malloc(body_len);
                if (!s.body)
                        goto oom;
                memcpy(s.body, body, body_len);
                s.body_len = body_len;
        }
        struct ap_age_stanza *grown = realloc(h->stanzas, (h->n + 1) * sizeof(*grown));
        if (!grown)
                goto oom;
        h->stanzas = grown;
        h->stanzas[h->n++] = s;
        return 0;
oom:
        stanza_release(&s);
        return -ENOMEM;
}

int ap_age_header_write_without_mac(const struct ap_age_header *h, struct ap_buf *out)
{
        int r = ap_buf_addstr(out, AP_AGE_INTRO "\n");
        for (size_t i = 0; r == 0 && i < h->n; i++) {
                const struct ap_age_stanza *s = &h->stanzas[i];
                r = ap_buf_addstr(out, "->");
                for (size_t a = 0; r == 0 && a < s->n_args; a++) {
                        r = ap_buf_addch(out, ' ');
                        if (r == 0)
                                r = ap_buf_addstr(out, s->args[a]);
                }
                if (r == 0)
                        r = ap_buf_addch(out, '\n');
                /* full 48-byte lines, then a final short line that may be empty */
                size_t off = 0;
                for (;;) {
                        size_t take = AP_MIN(s->body_len - off, (size_t)AP_AGE_LINE_BYTES);
                        if (r == 0)
                                /* an empty body may be NULL: no pointer arithmetic on it */
                                r = ap_base64_encode(out, take ? s->body + off : s->body, take,
                                                     AP_B64_STD_RAW);
                        if (r == 0)
                                r = ap_buf_addch(out, '\n');
                        off += take;
                        if (r < 0 || take < AP_AGE_LINE_BYTES)
                                break;
                }
        }
        if (r == 0)
                r = ap_buf_addstr(out, "---");
        return r;
}

void ap_age_header_parser_init(struct ap_age_header_parser *p)
{
        *p = (struct ap_age_header_parser){0};
        ap_buf_init(&p->raw, AP_AGE_HEADER_MAX);
        ap_buf_init(&p->body, AP_AGE_HEADER_MAX);
        ap_buf_init(&p->argtext, AP_AGE_HEADER_MAX);
}

void ap_age_header_parser_release(struct ap_age_header_parser *p)
{
        if (!p)
                return;
        ap_age_header_release(&p->hdr);
        ap_buf_release(&p->raw);
        ap_buf_release(&p->body);
        ap_buf_release(&p->argtext);
}

static int bad(struct ap_error *err, const char *what, const char *line, size_t n)
{
        /* quote at most a short, printable prefix of the offending line */
        char q[48];
        size_t k = 0;
        for (size_t i = 0; i < n && k + 5 < sizeof(q); i++) {
                unsigned char c = (unsigned char)line[i];
                if (c >= 0x20 && c < 0x7f && c != '\'') {
                        q[k++] = (char)c;
                } else {
                        static const char hex[] = "0123456789abcdef";
                        q[k++] = '\\';
                        q[k++] = 'x';
                        q[k++] = hex[c >> 4];
                        q[k++] = hex[c & 15];
                }
        }
        q[k] = '\0';
        return ap_error_set(err, AP_E_CORRUPT, "invalid age header: %s: '%s%s'", what, q, k < n ? "..." : "");
}

/* A header buffer could not grow: past AP_AGE_HEADER_MAX (a limit, not necessarily a broken file), or out
 * of memory. */
static int grow_failed(struct ap_error *err, int r)
{
        if (r == -E2BIG)
                return ap_error_set(
                    err, AP_E_TOO_LARGE,
                    "invalid age header: larger than the limit of %zu bytes, not an age file?",
                    AP_AGE_HEADER_MAX);
        return ap_error_set(err, r, "out of memory");
}

static bool vchar_string(const char *s, size_t n)
{
        if (n == 0)
                return false;
        for (size_t i = 0; i < n; i++)
                if ((unsigned char)s[i] < 33 || (unsigned char)s[i] > 126)
                        return false;
        return true;
}

static int stanza_open(struct ap_age_header_parser *p, const char *line, size_t n, struct ap_error *err)
{
        if (n < 2 || memcmp(line, "->", 2) != 0)
                return bad(err, "malformed stanza opening line", line, n);
        /* split on single spaces: field 0 must be exactly "->", then at least one VCHAR argument */
        if (n == 2 || line[2] != ' ')
                return bad(err, "malformed stanza", line, n);
        ap_buf_reset(&p->argtext);
        size_t start = 3;
        for (size_t i = 3; i <= n; i++) {
                if (i < n && line[i] != ' ')
                        continue;
                if (!vchar_string(line + start, i - start))
                        return bad(err, "malformed stanza", line, n);
                start = i + 1;
        }
        int r = ap_buf_add(&p->argtext, line + 3, n - 3);
        if (r < 0)
                return grow_failed(err, r);
        ap_buf_reset(&p->body);
        p->state = HP_BODY;
        return 0;
}

static int stanza_finish(struct ap_age_header_parser *p, struct ap_error *err)
{
        size_t n_args = 1;
        for (size_t i = 0; i < p->argtext.len; i++)
                if (p->argtext.data[i] == ' ') {
                        p->argtext.data[i] = '\0';
                        n_args++;
                }
        const char **args = calloc(n_args, sizeof(*args));
        if (!args)
                return ap_error_set(err, -ENOMEM, "out of memory");
        const char *s = p->argtext.data;
        for (size_t i = 0; i < n_args; i++) {
                args[i] = s;
                s += strlen(s) + 1;
        }
        int r = ap_age_header_add(&p->hdr, args, n_args, p->body.data, p->body.len);
        free(args);
        ap_buf_reset(&p->body);
        if (r < 0)
                return ap_error_set(err, r, "out of memory");
        p->state = HP_STANZA_OR_MAC;
        return 0;
}

static int body_line(struct ap_age_header_parser *p, const char *line, size_t n, struct ap_error *err)
{
        if (n > AP_AGE_COLUMNS)
                return bad(err, "body line too long", line, n);
        size_t before = p->body.len;
        int r = ap_base64_decode(&p->body, line, n, AP_B64_STD_RAW);
        if (r == -EINVAL) {
                if ((n >= 3 && memcmp(line, "---", 3) == 0) || (n >= 2 && memcmp(line, "->", 2) == 0))
                        return bad(err, "stanza ended without a short line", line, n);
                return bad(err, "malformed body line", line, n);
        }
        if (r < 0)
                return grow_failed(err, r);
        if (p->body.len - before < AP_AGE_LINE_BYTES)
                return stanza_finish(p, err);
        return 0;
}

static int mac_line(struct ap_age_header_parser *p, const char *line, size_t n, struct ap_error *err)
{
        /* exactly "---", one space, 43 characters of canonical unpadded base64 of 32 bytes */
        if (n < 4 || line[3] != ' ' || memchr(line + 4, ' ', n - 4))
                return bad(err, "malformed closing line", line, n);
        if (ap_base64_decode_exact(p->hdr.mac, sizeof(p->hdr.mac), line + 4, n - 4, AP_B64_STD_RAW) < 0)
                return bad(err, "malformed closing line", line, n);
        p->mac_input_len = p->line_start + 3;
        p->state = HP_DONE;
        return 0;
}

static int one_line(struct ap_age_header_parser *p, const char *line, size_t n, struct ap_error *err)
{
        switch (p->state) {
        case HP_INTRO:
                if (n != strlen(AP_AGE_INTRO) || memcmp(line, AP_AGE_INTRO, n) != 0)
                        return bad(err, "unexpected intro", line, n);
                p->state = HP_STANZA_OR_MAC;
                return 0;
        case HP_STANZA_OR_MAC:
                if (n >= 3 && memcmp(line, "---", 3) == 0)
                        return mac_line(p, line, n, err);
                return stanza_open(p, line, n, err);
        case HP_BODY:
                return body_line(p, line, n, err);
        default:
                return ap_error_set(err, -EINVAL, "internal error: header already complete");
        }
}

int ap_age_header_parser_feed(struct ap_age_header_parser *p, const void *data, size_t n, size_t *ret_used,
                              struct ap_error *err)
{
        const char *in = data;
        size_t used = 0;
        while (used < n && p->state != HP_DONE) {
                const char *nl = memchr(in + used, '\n', n - used);
                size_t take = nl ? (size_t)(nl - (in + used)) + 1 : n - used;
                int r = ap_buf_add(&p->raw, in + used, take);
                if (r < 0)
                        return grow_failed(err, r);
                used += take;
                if (!nl)
                        break;
                size_t start = p->line_start;
                r = one_line(p, p->raw.data + start, p->raw.len - 1 - start, err);
                if (r < 0)
                        return r;
                p->line_start = p->raw.len;
        }
        *ret_used = used;
        return p->state == HP_DONE ? 1 : 0;
}

int ap_age_header_parser_eof(struct ap_age_header_parser *p, struct ap_error *err)
{
        if (p->raw.len == 0)
                return ap_error_set(err, AP_E_CORRUPT, "invalid age header: the file is empty");
        if (p->state == HP_INTRO)
                return bad(err, "unexpected intro", p->raw.data, p->raw.len);
        return ap_error_set(err, AP_E_CORRUPT, "invalid age header: the file ends inside the header");
}
