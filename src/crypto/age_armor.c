/* age_armor.c - age's ASCII armor (strict PEM, "AGE ENCRYPTED FILE"): a streaming encoder and a streaming
 * strict decoder following the Go reference: whitespace-only lines before BEGIN and only whitespace after
 * END (under 1 KiB each), LF or CRLF line ends, data lines of at most 64 columns that each decode alone
 * as padded canonical base64, a short line only right before END. Decoder errors are AP_E_CORRUPT. */
#include <stdlib.h>
#include <string.h>

#include "base/base64.h"
#include "crypto/age_internal.h"

#define BEGIN_LINE     "-----BEGIN AGE ENCRYPTED FILE-----"
#define END_LINE       "-----END AGE ENCRYPTED FILE-----"
#define MAX_WHITESPACE 1024
#define BATCH          ((size_t)64 << 10)
#define ARMOR_LINE_MAX (MAX_WHITESPACE + 128)

enum { AR_BEFORE, AR_DATA, AR_NEED_END, AR_AFTER };

struct ap_age_armor {
        bool encode;
        struct ap_age_sink sink;
        struct ap_buf out; /* batch of encoded text (encode) or decoded bytes (decode) */
        /* encoder */
        bool begun;
        uint8_t rem[AP_AGE_LINE_BYTES];
        size_t rem_len;
        /* decoder */
        int state;
        struct ap_buf line; /* the line being assembled */
        size_t whitespace;  /* whitespace skipped before BEGIN or seen after END */
};

struct ap_age_armor *ap_age_armor_new(bool encode, const struct ap_age_sink *sink)
{
        struct ap_age_armor *a = calloc(1, sizeof(*a));
        if (!a)
                return NULL;
        a->encode = encode;
        a->sink = *sink;
        ap_buf_init(&a->out, BATCH + 2 * ARMOR_LINE_MAX);
        ap_buf_init(&a->line, ARMOR_LINE_MAX);
        return a;
}

struct ap_age_armor *ap_age_armor_free(struct ap_age_armor *a)
{
        if (!a)
                return NULL;
        ap_buf_release(&a->out);
        ap_buf_release(&a->line);
        free(a);
        return NULL;
}

static int flush(struct ap_age_armor *a, struct ap_error *err)
{
        if (a->out.len == 0)
                return 0;
        int r = a->sink.write(a->sink.ctx, a->out.data, a->out.len, err);
        ap_buf_reset(&a->out);
        return r;
}

static int oom(struct ap_error *err, int r)
{
        return ap_error_set(err, r, "out of memory in the armor encoder");
}

/* ---- encoder ---- */

static int enc_begin(struct ap_age_armor *a, struct ap_error *err)
{
        if (a->begun)
                return 0;
        a->begun = true;
        int r = ap_buf_addstr(&a->out, BEGIN_LINE "\n");
        return r < 0 ? oom(err, r) : 0;
}

static int enc_line(struct ap_age_armor *a, const uint8_t *p, size_t n, struct ap_error *err)
{
        int r = ap_base64_encode(&a->out, p, n, AP_B64_STD);
        if (r == 0)
                r = ap_buf_addch(&a->out, '\n');
        if (r < 0)
                return oom(err, r);
        return a->out.len >= BATCH ? flush(a, err) : 0;
}

static int enc_update(struct ap_age_armor *a, const uint8_t *p, size_t n, struct ap_error *err)
{
        int r = enc_begin(a, err);
        while (r == 0 && n > 0) {
                if (a->rem_len == 0 && n >= AP_AGE_LINE_BYTES) {
                        r = enc_line(a, p, AP_AGE_LINE_BYTES, err);
                        p += AP_AGE_LINE_BYTES;
                        n -= AP_AGE_LINE_BYTES;
                        continue;
                }
                size_t take = AP_MIN(n, AP_AGE_LINE_BYTES - a->rem_len);
                memcpy(a->rem + a->rem_len, p, take);
                a->rem_len += take;
                p += take;
                n -= take;
                if (a->rem_len == AP_AGE_LINE_BYTES) {
                        r = enc_line(a, a->rem, AP_AGE_LINE_BYTES, err);
                        a->rem_len = 0;
                }
        }
        return r;
}

static int enc_final(struct ap_age_armor *a, struct ap_error *err)
{
        int r = enc_begin(a, err);
        if (r == 0 && a->rem_len)
                r = enc_line(a, a->rem, a->rem_len, err);
        a->rem_len = 0;
        if (r == 0 && (r = ap_buf_addstr(&a->out, END_LINE "\n")) < 0)
                return oom(err, r);
        return r == 0 ? flush(a, err) : r;
}

/* ---- decoder ---- */

static bool is_space(unsigned char c)
{
        return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r';
}

static bool all_space(const char *p, size_t n)
{
        for (size_t i = 0; i < n; i++)
                if (!is_space((unsigned char)p[i]))
                        return false;
        return true;
}

/* Report an armor error after handing on what was decoded so far (so that, as with age's lazy reader,
 * an earlier header or payload error wins). */
static int armor_error(struct ap_age_armor *a, struct ap_error *err, const char *what)
{
        int r = flush(a, err);
        if (r < 0)
                return r;
        return ap_error_set(err, AP_E_CORRUPT, "invalid armor: %s", what);
}

static bool line_is(const char *line, size_t n, const char *want)
{
        return n == strlen(want) && memcmp(line, want, n) == 0;
}

static int dec_line(struct ap_age_armor *a, const char *line, size_t n, struct ap_error *err)
{
        switch (a->state) {
        case AR_BEFORE:
                if (all_space(line, n)) {
                        a->whitespace += n + 1;
                        if (a->whitespace > MAX_WHITESPACE)
                                return armor_error(a, err, "too much leading whitespace");
                        return 0;
                }
                if (!line_is(line, n, BEGIN_LINE))
                        return armor_error(a, err, "the first line is not '" BEGIN_LINE "'");
                a->state = AR_DATA;
                return 0;
        case AR_DATA:
                if (line_is(line, n, END_LINE)) {
                        a->state = AR_AFTER;
                        a->whitespace = 0;
                        return 0;
                }
                if (n == 0)
                        return armor_error(a, err, "empty line in armored data");
                if (n > AP_AGE_COLUMNS)
                        return armor_error(a, err, "line longer than 64 columns");
                size_t before = a->out.len;
                int r = ap_base64_decode(&a->out, line, n, AP_B64_STD);
                if (r == -EINVAL)
                        return armor_error(a, err, "a line is not canonical padded base64");
                if (r < 0)
                        return oom(err, r);
                if (a->out.len - before < AP_AGE_LINE_BYTES)
                        a->state = AR_NEED_END;
                return a->out.len >= BATCH ? flush(a, err) : 0;
        case AR_NEED_END:
                if (!line_is(line, n, END_LINE))
                        return armor_error(a, err, "a short line is not followed by the END line");
                a->state = AR_AFTER;
                a->whitespace = 0;
                return 0;
        default:
                return armor_error(a, err, "internal state error");
        }
}

/* A complete line from the buffer (without its LF); strips one CR. */
static int dec_take_line(struct ap_age_armor *a, const char *p, size_t n, struct ap_error *err)
{
        if (n > 0 && p[n - 1] == '\r')
                n--;
        return dec_line(a, p, n, err);
}

static int dec_after(struct ap_age_armor *a, const char *p, size_t n, struct ap_error *err)
{
        if (!all_space(p, n))
                return armor_error(a, err, "trailing data after the END line");
        a->whitespace += n;
        if (a->whitespace >= MAX_WHITESPACE)
                return armor_error(a, err, "too much trailing whitespace");
        return 0;
}

static int dec_update(struct ap_age_armor *a, const char *p, size_t n, struct ap_error *err)
{
        while (n > 0) {
                if (a->state == AR_AFTER)
                        return dec_after(a, p, n, err);
                const char *nl = memchr(p, '\n', n);
                size_t len = nl ? (size_t)(nl - p) : n;
                int r;
                if (a->line.len == 0 && nl) {
                        r = dec_take_line(a, p, len, err);
                } else {
                        if (ap_buf_add(&a->line, p, len) < 0)
                                return armor_error(a, err, "line too long");
                        r = 0;
                        if (nl) {
                                r = dec_take_line(a, a->line.data, a->line.len, err);
                                ap_buf_reset(&a->line);
                        }
                }
                if (r < 0)
                        return r;
                if (!nl)
                        return 0;
                p += len + 1;
                n -= len + 1;
        }
        return 0;
}

static int dec_final(struct ap_age_armor *a, struct ap_error *err)
{
        if (a->state != AR_AFTER && a->line.len > 0) {
                /* an unterminated last line counts as a line (armor without a final newline) */
                int r = dec_take_line(a, a->line.data, a->line.len, err);
                ap_buf_reset(&a->line);
                if (r < 0)
                        return r;
        }
        if (a->state == AR_BEFORE)
                return armor_error(a, err, "no '" BEGIN_LINE "' line");
        if (a->state != AR_AFTER)
                return armor_error(a, err, "the END line is missing (truncated file?)");
        return flush(a, err);
}

int ap_age_armor_update(struct ap_age_armor *a, const void *data, size_t n, struct ap_error *err)
{
        return a->encode ? enc_update(a, data, n, err) : dec_update(a, data, n, err);
}

int ap_age_armor_final(struct ap_age_armor *a, struct ap_error *err)
{
        return a->encode ? enc_final(a, err) : dec_final(a, err);
}

bool ap_age_armor_detect(const void *data, size_t n, bool at_eof, bool *ret_decided)
{
        const char *p = data;
        size_t i = 0, blen = strlen(BEGIN_LINE);
        while (i < n && i < MAX_WHITESPACE && is_space((unsigned char)p[i]))
                i++;
        if (i == n && !at_eof && n < MAX_WHITESPACE) {
                *ret_decided = false;
                return false;
        }
        size_t have = AP_MIN(n - i, blen);
        if (memcmp(p + i, BEGIN_LINE, have) != 0) {
                *ret_decided = true;
                return false;
        }
        if (have < blen && !at_eof) {
                *ret_decided = false;
                return false;
        }
        *ret_decided = true;
        return have == blen;
}
