/* age_keys.c - age keys and key files: X25519 identities ("AGE-SECRET-KEY-1...") and recipients
 * ("age1..."), scrypt passphrase identities/recipients, identity and recipient files (comments, blank
 * lines, CRLF), and the three-line file age-keygen writes. Post-quantum keys are recognised and refused. */
#include <openssl/crypto.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "crypto/age_internal.h"
#include "crypto/bech32.h"

#define HRP_SECRET    "AGE-SECRET-KEY-"
#define HRP_SECRET_PQ "AGE-SECRET-KEY-PQ-"
#define HRP_PUBLIC    "age"
#define HRP_PUBLIC_PQ "age1pq"
#define KEY_TEXT_MAX  ((size_t)16 << 10)

struct ap_age_identity *ap_age_identity_free(struct ap_age_identity *id)
{
        if (!id)
                return NULL;
        ap_secure_free(id->pass, id->pass_len + 1);
        OPENSSL_cleanse(id, sizeof(*id));
        free(id);
        return NULL;
}

struct ap_age_recipient *ap_age_recipient_free(struct ap_age_recipient *r)
{
        if (!r)
                return NULL;
        ap_secure_free(r->pass, r->pass_len + 1);
        OPENSSL_cleanse(r, sizeof(*r));
        free(r);
        return NULL;
}

AP_DEFINE_CLEANUP(struct ap_age_identity *, ap_age_identity_free)

static int identity_from_scalar(const uint8_t scalar[32], struct ap_age_identity **ret, struct ap_error *err)
{
        _cleanup_(ap_age_identity_freep) struct ap_age_identity *id = calloc(1, sizeof(*id));
        if (!id)
                return ap_error_set(err, -ENOMEM, "out of memory");
        id->kind = AP_AGE_KIND_X25519;
        memcpy(id->secret, scalar, 32);
        if (ap_age_x25519_base(id->secret, id->public) < 0)
                return ap_error_set(err, -EIO, "cannot compute the X25519 public key");
        *ret = TAKE_PTR(id);
        return 0;
}

int ap_age_identity_generate(struct ap_age_identity **ret, struct ap_error *err)
{
        uint8_t scalar[32];
        if (ap_age_random(scalar, sizeof(scalar)) < 0)
                return ap_error_set(err, -EIO, "the random number generator failed");
        int r = identity_from_scalar(scalar, ret, err);
        OPENSSL_cleanse(scalar, sizeof(scalar));
        return r;
}

static bool has_prefix(const char *s, size_t n, const char *prefix)
{
        size_t k = strlen(prefix);
        return n >= k && memcmp(s, prefix, k) == 0;
}

int ap_age_identity_parse(const char *s, size_t n, struct ap_age_identity **ret, struct ap_error *err)
{
        _cleanup_buf_ struct ap_buf hrp = AP_BUF_INIT;
        _cleanup_buf_ struct ap_buf data = AP_BUF_INIT_SECRET;
        const char *why = NULL;
        if (n > KEY_TEXT_MAX)
                return ap_error_set(err, -EINVAL, "malformed secret key: too long");
        if (!has_prefix(s, n, HRP_SECRET "1") && !has_prefix(s, n, HRP_SECRET_PQ "1"))
                return ap_error_set(
                    err, -EINVAL,
                    "unknown identity type: expected 'AGE-SECRET-KEY-1...' (age-keygen output)");
        int r = ap_bech32_decode(s, n, &hrp, &data, &why);
        if (r == -EINVAL)
                return ap_error_set(err, r, "malformed secret key: %s", why);
        if (r < 0)
                return ap_error_set(err, r, "out of memory");
        if (strcmp(hrp.data, HRP_SECRET_PQ) == 0)
                return ap_error_set(err, AP_E_UNSUPPORTED,
                                    "post-quantum identities are not supported (OpenSSL 3.0 has no ML-KEM)");
        if (strcmp(hrp.data, HRP_SECRET) != 0)
                return ap_error_set(err, -EINVAL, "malformed secret key: unknown type '%s'", hrp.data);
        if (data.len != 32)
                return ap_error_set(err, -EINVAL, "malformed secret key: %zu bytes instead of 32", data.len);
        return identity_from_scalar((const uint8_t *)data.data, ret, err);
}

int ap_age_identity_format(const struct ap_age_identity *id, struct ap_buf *out)
{
        if (!id || id->kind != AP_AGE_KIND_X25519)
                return -EINVAL;
        return ap_bech32_encode(out, HRP_SECRET, id->secret, 32, true);
}

int ap_age_identity_recipient_format(const struct ap_age_identity *id, struct ap_buf *out)
{
        if (!id || id->kind != AP_AGE_KIND_X25519)
                return -EINVAL;
        return ap_bech32_encode(out, HRP_PUBLIC, id->public, 32, false);
}

int ap_age_identity_to_recipient(const struct ap_age_identity *id, struct ap_age_recipient **ret,
                                 struct ap_error *err)
{
        if (!id || id->kind != AP_AGE_KIND_X25519)
                return ap_error_set(err, -EINVAL, "only X25519 identities have a recipient");
        struct ap_age_recipient *r = calloc(1, sizeof(*r));
        if (!r)
                return ap_error_set(err, -ENOMEM, "out of memory");
        r->kind = AP_AGE_KIND_X25519;
        memcpy(r->public, id->public, 32);
        *ret = r;
        return 0;
}

int ap_age_recipient_parse(const char *s, size_t n, struct ap_age_recipient **ret, struct ap_error *err)
{
        _cleanup_buf_ struct ap_buf hrp = AP_BUF_INIT;
        _cleanup_buf_ struct ap_buf data = AP_BUF_INIT;
        const char *why = NULL;
        if (n > KEY_TEXT_MAX)
                return ap_error_set(err, -EINVAL, "malformed recipient: too long");
        if (!has_prefix(s, n, "age1"))
                return ap_error_set(err, -EINVAL,
                                    "unknown recipient type '%.*s': expected an 'age1...' public key",
                                    (int)AP_MIN(n, 16), s);
        int r = ap_bech32_decode(s, n, &hrp, &data, &why);
        if (r == -EINVAL)
                return ap_error_set(err, r, "malformed recipient '%.*s': %s", (int)AP_MIN(n, 80), s, why);
        if (r < 0)
                return ap_error_set(err, r, "out of memory");
        if (strcmp(hrp.data, HRP_PUBLIC_PQ) == 0)
                return ap_error_set(err, AP_E_UNSUPPORTED,
                                    "post-quantum recipients are not supported (OpenSSL 3.0 has no ML-KEM)");
        if (strcmp(hrp.data, HRP_PUBLIC) != 0 || data.len != 32)
                return ap_error_set(err, -EINVAL, "malformed recipient '%.*s': not an X25519 public key",
                                    (int)AP_MIN(n, 80), s);
        struct ap_age_recipient *rc = calloc(1, sizeof(*rc));
        if (!rc)
                return ap_error_set(err, -ENOMEM, "out of memory");
        rc->kind = AP_AGE_KIND_X25519;
        memcpy(rc->public, data.data, 32);
        *ret = rc;
        return 0;
}

int ap_age_recipient_format(const struct ap_age_recipient *r, struct ap_buf *out)
{
        if (!r || r->kind != AP_AGE_KIND_X25519)
                return -EINVAL;
        return ap_bech32_encode(out, HRP_PUBLIC, r->public, 32, false);
}

static char *dup_secret(const char *s, size_t n)
{
        char *p = malloc(n + 1);
        if (p) {
                memcpy(p, s, n);
                p[n] = '\0';
        }
        return p;
}

int ap_age_scrypt_identity_new(const char *passphrase, size_t n, struct ap_age_identity **ret,
                               struct ap_error *err)
{
        if (n == 0)
                return ap_error_set(err, -EINVAL, "the passphrase is empty");
        struct ap_age_identity *id = calloc(1, sizeof(*id));
        if (!id || !(id->pass = dup_secret(passphrase, n))) {
                free(id);
                return ap_error_set(err, -ENOMEM, "out of memory");
        }
        id->kind = AP_AGE_KIND_SCRYPT;
        id->pass_len = n;
        id->max_work_factor = AP_AGE_SCRYPT_WF_MAX;
        *ret = id;
        return 0;
}

int ap_age_scrypt_recipient_new(const char *passphrase, size_t n, int work_factor,
                                struct ap_age_recipient **ret, struct ap_error *err)
{
        if (n == 0)
                return ap_error_set(err, -EINVAL, "the passphrase is empty");
        if (work_factor < 1 || work_factor > 30)
                return ap_error_set(err, -EINVAL, "scrypt work factor %d is outside 1..30", work_factor);
        struct ap_age_recipient *r = calloc(1, sizeof(*r));
        if (!r || !(r->pass = dup_secret(passphrase, n))) {
                free(r);
                return ap_error_set(err, -ENOMEM, "out of memory");
        }
        r->kind = AP_AGE_KIND_SCRYPT;
        r->pass_len = n;
        r->work_factor = work_factor;
        *ret = r;
        return 0;
}

/* ---- lists and key files ---- */

static int grow_array(void ***items, size_t n)
{
        void **grown = realloc(*items, (n + 1) * sizeof(*grown));
        if (!grown)
                return -ENOMEM;
        *items = grown;
        return 0;
}

int ap_age_identities_add(struct ap_age_identities *list, struct ap_age_identity *id, struct ap_error *err)
{
        if (grow_array((void ***)&list->items, list->n) < 0) {
                ap_age_identity_free(id);
                return ap_error_set(err, -ENOMEM, "out of memory");
        }
        list->items[list->n++] = id;
        return 0;
}

void ap_age_identities_release(struct ap_age_identities *list)
{
        if (!list)
                return;
        for (size_t i = 0; i < list->n; i++)
                ap_age_identity_free(list->items[i]);
        free(list->items);
        list->items = NULL;
        list->n = 0;
}

int ap_age_recipients_add(struct ap_age_recipients *list, struct ap_age_recipient *r, struct ap_error *err)
{
        if (grow_array((void ***)&list->items, list->n) < 0) {
                ap_age_recipient_free(r);
                return ap_error_set(err, -ENOMEM, "out of memory");
        }
        list->items[list->n++] = r;
        return 0;
}

void ap_age_recipients_release(struct ap_age_recipients *list)
{
        if (!list)
                return;
        for (size_t i = 0; i < list->n; i++)
                ap_age_recipient_free(list->items[i]);
        free(list->items);
        list->items = NULL;
        list->n = 0;
}

/* Walk the lines of a key file: skip blank lines and '#' comments, strip one trailing CR (as Go's line
 * scanner does), hand every other line to fn. Errors are prefixed with the file name and line. A file
 * without keys is not an error here (sops accepts it); callers that need keys check the list. */
static int each_line(const char *text, size_t n, const char *name, const char *what,
                     int (*fn)(void *ctx, const char *line, size_t len, struct ap_error *err), void *ctx,
                     struct ap_error *err)
{
        size_t lineno = 0;
        for (size_t pos = 0; pos < n;) {
                const char *nl = memchr(text + pos, '\n', n - pos);
                size_t len = nl ? (size_t)(nl - (text + pos)) : n - pos;
                const char *line = text + pos;
                pos += len + (nl ? 1 : 0);
                lineno++;
                if (len > 0 && line[len - 1] == '\r')
                        len--;
                if (len == 0 || line[0] == '#')
                        continue;
                int r = fn(ctx, line, len, err);
                if (r < 0) {
                        if (err)
                                ap_error_prefix(err, "%s '%s', line %zu", what, name, lineno);
                        return r;
                }
        }
        return 0;
}

static int add_identity_line(void *ctx, const char *line, size_t len, struct ap_error *err)
{
        struct ap_age_identity *id = NULL;
        int r = ap_age_identity_parse(line, len, &id, err);
        if (r < 0)
                return r;
        return ap_age_identities_add(ctx, id, err);
}

static int add_recipient_line(void *ctx, const char *line, size_t len, struct ap_error *err)
{
        struct ap_age_recipient *rc = NULL;
        int r = ap_age_recipient_parse(line, len, &rc, err);
        if (r < 0)
                return r;
        return ap_age_recipients_add(ctx, rc, err);
}

int ap_age_identities_parse(struct ap_age_identities *list, const char *text, size_t n, const char *name,
                            struct ap_error *err)
{
        return each_line(text, n, name, "key file", add_identity_line, list, err);
}

int ap_age_recipients_parse(struct ap_age_recipients *list, const char *text, size_t n, const char *name,
                            struct ap_error *err)
{
        return each_line(text, n, name, "recipients file", add_recipient_line, list, err);
}

int ap_age_keyfile_format(const struct ap_age_identity *id, long long now_unix, struct ap_buf *out)
{
        if (!id || id->kind != AP_AGE_KIND_X25519)
                return -EINVAL;
        time_t t = (time_t)now_unix;
        struct tm tm;
        if (!localtime_r(&t, &tm))
                return -EINVAL;
        char when[64];
        size_t k = strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%S", &tm);
        long off = tm.tm_gmtoff;
        if (off == 0) {
                when[k++] = 'Z';
                when[k] = '\0';
        } else {
                char sign = off < 0 ? '-' : '+';
                off = off < 0 ? -off : off;
                snprintf(when + k, sizeof(when) - k, "%c%02ld:%02ld", sign, off / 3600, off / 60 % 60);
        }
        int r = ap_buf_printf(out, "# created: %s\n# public key: ", when);
        if (r == 0)
                r = ap_age_identity_recipient_format(id, out);
        if (r == 0)
                r = ap_buf_addstr(out, "\n");
        if (r == 0)
                r = ap_age_identity_format(id, out);
        if (r == 0)
                r = ap_buf_addstr(out, "\n");
        return r;
}
