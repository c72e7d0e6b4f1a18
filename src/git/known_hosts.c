/* known_hosts.c - parsing of pinned known_hosts text and host-key matching, following sshd(8)
 * "SSH_KNOWN_HOSTS FILE FORMAT" and OpenSSH's match.c semantics: comma-separated patterns, '*' and '?'
 * wildcards, '!' negation, "[host]:port" names for ports other than 22, "|1|salt|hmac" hashed names. */
#include "git/known_hosts.h"

#include <ctype.h>
#include <openssl/evp.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/base64.h"
#include "base/buf.h"
#include "base/str.h"
#include "crypto/ssh_key.h"

enum marker { MARK_NONE, MARK_REVOKED };

struct entry {
        enum marker marker;
        char *patterns; /* the first field as written (comma list or one hashed name) */
        struct ap_ssh_pubkey key;
};

struct ap_known_hosts {
        struct entry *v;
        size_t n;
};

struct ap_known_hosts *ap_known_hosts_free(struct ap_known_hosts *kh)
{
        if (!kh)
                return NULL;
        for (size_t i = 0; i < kh->n; i++) {
                free(kh->v[i].patterns);
                ap_ssh_pubkey_release(&kh->v[i].key);
        }
        free(kh->v);
        free(kh);
        return NULL;
}

size_t ap_known_hosts_count(const struct ap_known_hosts *kh)
{
        return kh ? kh->n : 0;
}

static const char *skip_blanks(const char *p, const char *end)
{
        while (p < end && (*p == ' ' || *p == '\t'))
                p++;
        return p;
}

static const char *field_end(const char *p, const char *end)
{
        while (p < end && *p != ' ' && *p != '\t')
                p++;
        return p;
}

static int parse_line(struct ap_known_hosts *kh, const char *p, const char *end, unsigned lineno,
                      struct ap_error *err)
{
        enum marker marker = MARK_NONE;
        const char *f = field_end(p, end);
        if (*p == '@') {
                if ((size_t)(f - p) == 8 && memcmp(p, "@revoked", 8) == 0)
                        marker = MARK_REVOKED;
                else if ((size_t)(f - p) == 15 && memcmp(p, "@cert-authority", 15) == 0)
                        return 0; /* host certificates are not supported: such a line never matches */
                else
                        return ap_error_set(err, AP_E_INVALID, "known_hosts line %u: unknown marker '%.*s'",
                                            lineno, (int)AP_MIN(f - p, 32), p);
                p = skip_blanks(f, end);
                f = field_end(p, end);
        }
        if (f == p || f == end)
                return ap_error_set(err, AP_E_INVALID,
                                    "known_hosts line %u: expected '<hosts> <key type> <base64 key>'",
                                    lineno);
        struct entry e = {.marker = marker};
        ap_ssh_pubkey_init(&e.key);
        int r = ap_ssh_pubkey_parse(f, (size_t)(end - f), &e.key, err);
        if (r < 0)
                return ap_error_prefix(err, "known_hosts line %u", lineno);
        e.patterns = ap_strndup(p, (size_t)(f - p));
        struct entry *v = e.patterns ? reallocarray(kh->v, kh->n + 1, sizeof(*v)) : NULL;
        if (!v) {
                free(e.patterns);
                ap_ssh_pubkey_release(&e.key);
                return ap_error_set(err, -ENOMEM, "out of memory");
        }
        kh->v = v;
        kh->v[kh->n++] = e;
        return 0;
}

int ap_known_hosts_parse(const char *text, size_t len, struct ap_known_hosts **ret, struct ap_error *err)
{
        if (len > AP_KNOWN_HOSTS_MAX)
                return ap_error_set(err, -E2BIG, "known_hosts is larger than %zu bytes", AP_KNOWN_HOSTS_MAX);
        _cleanup_(ap_known_hosts_freep) struct ap_known_hosts *kh = calloc(1, sizeof(*kh));
        if (!kh)
                return ap_error_set(err, -ENOMEM, "out of memory");
        const char *p = text, *end = text + len;
        for (unsigned lineno = 1; p < end; lineno++) {
                const char *nl = memchr(p, '\n', (size_t)(end - p));
                const char *le = nl ? nl : end;
                const char *s = skip_blanks(p, le);
                const char *e = le;
                while (e > s && (e[-1] == '\r' || e[-1] == ' ' || e[-1] == '\t'))
                        e--;
                if (memchr(s, '\0', (size_t)(e - s)))
                        return ap_error_set(err, AP_E_INVALID, "known_hosts line %u contains a NUL byte",
                                            lineno);
                if (s < e && *s != '#') {
                        int r = parse_line(kh, s, e, lineno, err);
                        if (r < 0)
                                return r;
                }
                p = nl ? nl + 1 : end;
        }
        *ret = TAKE_PTR(kh);
        return 0;
}

/* OpenSSH's match_pattern: '*' any run, '?' one character; host names compare case-insensitively. */
static bool wildmatch(const char *s, size_t sn, const char *pat, size_t pn)
{
        size_t si = 0, pi = 0, star_p = (size_t)-1, star_s = 0;
        while (si < sn) {
                if (pi < pn &&
                    (pat[pi] == '?' || tolower((unsigned char)pat[pi]) == tolower((unsigned char)s[si]))) {
                        si++;
                        pi++;
                } else if (pi < pn && pat[pi] == '*') {
                        star_p = pi++;
                        star_s = si;
                } else if (star_p != (size_t)-1) {
                        pi = star_p + 1;
                        si = ++star_s;
                } else {
                        return false;
                }
        }
        while (pi < pn && pat[pi] == '*')
                pi++;
        return pi == pn;
}

/* "|1|base64(salt)|base64(HMAC-SHA1(salt, name))" */
static bool hashed_match(const char *pat, size_t pn, const char *name)
{
        const char *salt = pat + 3, *end = pat + pn;
        const char *bar = memchr(salt, '|', (size_t)(end - salt));
        if (!bar)
                return false;
        uint8_t key[20], want[20], got[EVP_MAX_MD_SIZE];
        size_t gotlen = 0;
        if (ap_base64_decode_exact(key, sizeof(key), salt, (size_t)(bar - salt), AP_B64_STD) < 0 ||
            ap_base64_decode_exact(want, sizeof(want), bar + 1, (size_t)(end - bar - 1), AP_B64_STD) < 0)
                return false;
        if (!EVP_Q_mac(NULL, "HMAC", NULL, "SHA1", NULL, key, sizeof(key), (const unsigned char *)name,
                       strlen(name), got, sizeof(got), &gotlen) ||
            gotlen != sizeof(want))
                return false;
        return CRYPTO_memcmp(got, want, sizeof(want)) == 0;
}

/* A line applies when some pattern matches and no negated pattern does. */
static bool entry_matches(const struct entry *e, const char *name)
{
        const char *p = e->patterns;
        if (strncmp(p, "|1|", 3) == 0)
                return hashed_match(p, strlen(p), name);
        bool hit = false;
        while (*p) {
                size_t n = strcspn(p, ",");
                bool neg = n > 0 && *p == '!';
                const char *pat = neg ? p + 1 : p;
                size_t pn = neg ? n - 1 : n;
                if (pn > 0 && wildmatch(name, strlen(name), pat, pn)) {
                        if (neg)
                                return false;
                        hit = true;
                }
                p += n;
                if (*p == ',')
                        p++;
        }
        return hit;
}

static void host_name(const char *host, unsigned port, char *name, size_t n)
{
        if (port == 22 || port == 0)
                snprintf(name, n, "%s", host);
        else
                snprintf(name, n, "[%s]:%u", host, port);
}

void ap_known_hosts_types(const struct ap_known_hosts *kh, const char *host, unsigned port, char *out,
                          size_t outlen)
{
        char name[300];
        size_t used = 0;
        host_name(host, port, name, sizeof(name));
        if (outlen)
                out[0] = '\0';
        for (size_t i = 0; kh && i < kh->n; i++) {
                const struct entry *e = &kh->v[i];
                if (e->marker == MARK_REVOKED || !entry_matches(e, name))
                        continue;
                size_t tl = strlen(e->key.type);
                bool seen = false;
                for (const char *p = out; p && *p;) {
                        size_t l = strcspn(p, ",");
                        seen = seen || (l == tl && memcmp(p, e->key.type, tl) == 0);
                        p += l + (p[l] == ',');
                }
                if (seen || used + tl + 2 > outlen)
                        continue;
                used += (size_t)snprintf(out + used, outlen - used, "%s%s", used ? "," : "", e->key.type);
        }
}

static void fingerprint(const void *blob, size_t len, char *out, size_t outlen)
{
        uint8_t md[32];
        unsigned int mdlen = 0;
        _cleanup_buf_ struct ap_buf b = AP_BUF_INIT;
        if (EVP_Digest(blob, len, md, &mdlen, EVP_sha256(), NULL) != 1 ||
            ap_base64_encode(&b, md, mdlen, AP_B64_STD_RAW) < 0) {
                snprintf(out, outlen, "SHA256:?");
                return;
        }
        snprintf(out, outlen, "SHA256:%s", b.data);
}

int ap_known_hosts_check(const struct ap_known_hosts *kh, const char *host, unsigned port, const void *blob,
                         size_t len, struct ap_error *err)
{
        char name[300], fp[80];
        host_name(host, port, name, sizeof(name));
        fingerprint(blob, len, fp, sizeof(fp));
        bool named = false, trusted = false;
        for (size_t i = 0; kh && i < kh->n; i++) {
                const struct entry *e = &kh->v[i];
                if (!entry_matches(e, name))
                        continue;
                bool same = e->key.blob.len == len && memcmp(e->key.blob.data, blob, len) == 0;
                if (e->marker == MARK_REVOKED) {
                        if (same)
                                return ap_error_set(
                                    err, -EKEYREVOKED,
                                    "host key %s of '%s' is marked @revoked in the pinned known_hosts", fp,
                                    name);
                        continue;
                }
                named = true;
                trusted = trusted || same;
        }
        if (trusted)
                return 0;
        if (named)
                return ap_error_set(
                    err, -EKEYREJECTED,
                    "host key %s of '%s' does not match the pinned known_hosts (the server's key "
                    "changed, or someone is in between)",
                    fp, name);
        return ap_error_set(err, -ENOKEY, "'%s' is not in the pinned known_hosts (its key is %s)", name, fp);
}
