/* session.c - the key ring, AES-256-GCM cookie sealing, and CSRF tokens (see session.h). */
#include "session.h"

#include <dirent.h>
#include <errno.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/kdf.h>
#include <openssl/rand.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/base64.h"
#include "base/clock.h"
#include "base/fileio.h"
#include "base/log.h"
#include "base/str.h"
#include "http.h"

#define MAX_KEYS      16
#define KID_MAX       64
#define IV_LEN        12
#define TAG_LEN       16
#define RELOAD_S      30
#define MAX_PLAINTEXT 8192

struct key {
        char kid[KID_MAX + 1];
        unsigned char enc[32]; /* AES-256-GCM */
        unsigned char mac[32]; /* HMAC-SHA256 for CSRF */
        int64_t first_seen;    /* wall seconds */
        bool present;          /* still in the folder */
};

struct ap_dash_keyring {
        char *dir;
        int64_t grace;
        int64_t (*now)(void);
        pthread_mutex_t lock; /* guards keys, n_keys, loaded_at */
        struct key keys[MAX_KEYS];
        size_t n_keys;
        int64_t loaded_at;
};

static int64_t wall_s(void)
{
        return ap_wall_ms() / 1000;
}

static int derive(const void *ikm, size_t n, const char *kid, const char *use, unsigned char out[32])
{
        char info[160];
        snprintf(info, sizeof(info), "app-platform dashboard %s %s", use, kid);
        EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_id(EVP_PKEY_HKDF, NULL);
        size_t len = 32;
        int ok = ctx && EVP_PKEY_derive_init(ctx) > 0 && EVP_PKEY_CTX_set_hkdf_md(ctx, EVP_sha256()) > 0 &&
                 EVP_PKEY_CTX_set1_hkdf_key(ctx, ikm, (int)n) > 0 &&
                 EVP_PKEY_CTX_add1_hkdf_info(ctx, (const unsigned char *)info, (int)strlen(info)) > 0 &&
                 EVP_PKEY_derive(ctx, out, &len) > 0;
        EVP_PKEY_CTX_free(ctx);
        return ok ? 0 : -EIO;
}

static bool kid_ok(const char *kid)
{
        size_t n = strlen(kid);
        if (n == 0 || n > KID_MAX)
                return false;
        for (size_t i = 0; i < n; i++) {
                char c = kid[i];
                if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                      c == '-' || c == '_'))
                        return false;
        }
        return true;
}

/* Caller holds lock. */
static struct key *find(struct ap_dash_keyring *k, const char *kid, size_t n)
{
        for (size_t i = 0; i < k->n_keys; i++)
                if (strlen(k->keys[i].kid) == n && memcmp(k->keys[i].kid, kid, n) == 0)
                        return &k->keys[i];
        return NULL;
}

static int add_locked(struct ap_dash_keyring *k, const char *kid, const void *material, size_t n,
                      int64_t first_seen, struct ap_error *err)
{
        if (!kid_ok(kid))
                return ap_error_set(err, -EINVAL,
                                    "session key id '%s' must be 1-%d characters of [A-Za-z0-9_-]", kid,
                                    KID_MAX);
        if (n < 32)
                return ap_error_set(err, -EINVAL, "session key '%s' is shorter than 32 bytes", kid);
        struct key *e = find(k, kid, strlen(kid));
        if (!e) {
                if (k->n_keys >= MAX_KEYS)
                        return ap_error_set(err, -E2BIG, "more than %d session keys", MAX_KEYS);
                e = &k->keys[k->n_keys++];
                *e = (struct key){0};
                snprintf(e->kid, sizeof(e->kid), "%s", kid);
                e->first_seen = first_seen;
        }
        e->present = true;
        if (derive(material, n, kid, "cookie", e->enc) < 0 || derive(material, n, kid, "csrf", e->mac) < 0)
                return ap_error_set(err, -EIO, "cannot derive session key '%s'", kid);
        return 0;
}

int ap_dash_keyring_add(struct ap_dash_keyring *k, const char *kid, const void *material, size_t n,
                        int64_t first_seen_s, struct ap_error *err)
{
        pthread_mutex_lock(&k->lock);
        int r = add_locked(k, kid, material, n, first_seen_s, err);
        pthread_mutex_unlock(&k->lock);
        return r;
}

/* Caller holds lock. */
static int reload_locked(struct ap_dash_keyring *k, struct ap_error *err)
{
        k->loaded_at = k->now();
        if (!k->dir)
                return 0;
        DIR *d = opendir(k->dir);
        if (!d)
                return ap_error_set(err, -errno, "cannot read the session key folder '%s': %m", k->dir);
        for (size_t i = 0; i < k->n_keys; i++)
                k->keys[i].present = false;
        int r = 0, found = 0;
        struct dirent *de;
        while ((de = readdir(d))) {
                if (de->d_name[0] == '.' || !kid_ok(de->d_name))
                        continue; /* ..data and friends of a mounted Secret */
                char path[4096];
                snprintf(path, sizeof(path), "%s/%s", k->dir, de->d_name);
                struct ap_buf b = AP_BUF_INIT_SECRET;
                b.max = 4096;
                if (ap_read_file(path, &b, err) < 0) {
                        ap_buf_release(&b);
                        r = err->code;
                        continue;
                }
                while (b.len && (b.data[b.len - 1] == '\n' || b.data[b.len - 1] == '\r'))
                        b.len--;
                if (add_locked(k, de->d_name, b.data, b.len, k->now(), err) == 0)
                        found++;
                else
                        r = err->code;
                ap_buf_release(&b);
        }
        closedir(d);
        if (!found)
                return ap_error_set(err, r < 0 ? r : -ENOKEY, "no usable session key in '%s'%s%s", k->dir,
                                    r < 0 ? ": " : "", r < 0 ? err->msg : "");
        return 0;
}

int ap_dash_keyring_reload(struct ap_dash_keyring *k, struct ap_error *err)
{
        pthread_mutex_lock(&k->lock);
        int r = reload_locked(k, err);
        pthread_mutex_unlock(&k->lock);
        return r;
}

int ap_dash_keyring_new(const char *dir, int64_t grace_s, struct ap_dash_keyring **ret, struct ap_error *err)
{
        struct ap_dash_keyring *k = calloc(1, sizeof(*k));
        if (!k)
                return ap_error_set(err, -ENOMEM, "out of memory");
        pthread_mutex_init(&k->lock, NULL);
        k->grace = grace_s;
        k->now = wall_s;
        int r = 0;
        if (dir) {
                if (!(k->dir = strdup(dir)))
                        r = ap_error_set(err, -ENOMEM, "out of memory");
                else
                        r = reload_locked(k, err);
        } else {
                unsigned char m[32];
                if (RAND_bytes(m, sizeof(m)) != 1)
                        r = ap_error_set(err, -EIO, "no random bytes for a session key");
                else
                        r = add_locked(k, "ephemeral", m, sizeof(m), k->now(), err);
                ap_secure_wipe(m, sizeof(m));
        }
        if (r < 0) {
                ap_dash_keyring_free(k);
                return r;
        }
        *ret = k;
        return 0;
}

struct ap_dash_keyring *ap_dash_keyring_free(struct ap_dash_keyring *k)
{
        if (!k)
                return NULL;
        ap_secure_wipe(k->keys, sizeof(k->keys));
        pthread_mutex_destroy(&k->lock);
        free(k->dir);
        free(k);
        return NULL;
}

void ap_dash_keyring_set_clock(struct ap_dash_keyring *k, int64_t (*now_s)(void))
{
        k->now = now_s ? now_s : wall_s;
}

/* Caller holds lock. Reload when due (a failed reload keeps the keys we have). */
static void maybe_reload(struct ap_dash_keyring *k)
{
        if (k->dir && k->now() - k->loaded_at >= RELOAD_S) {
                struct ap_error err = AP_ERROR_INIT;
                if (reload_locked(k, &err) < 0)
                        ap_warn("session keys: %s (keeping the keys loaded before)", err.msg);
        }
}

/* The sealing key: the greatest key id among the present keys. Caller holds lock. */
static struct key *newest(struct ap_dash_keyring *k)
{
        struct key *best = NULL;
        for (size_t i = 0; i < k->n_keys; i++)
                if (k->keys[i].present && (!best || strcmp(k->keys[i].kid, best->kid) > 0))
                        best = &k->keys[i];
        return best;
}

/* Whether key e may still open cookies: the newest always; an older one until grace after the newest
 * was first seen. Caller holds lock. */
static bool accepted(struct ap_dash_keyring *k, const struct key *e)
{
        const struct key *nw = newest(k);
        if (!nw || !e->present)
                return false;
        return e == nw || k->now() < nw->first_seen + k->grace;
}

static int gcm(bool enc, const unsigned char key[32], const unsigned char *iv, const char *aad,
               const unsigned char *in, size_t n, unsigned char *out, unsigned char *tag)
{
        EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
        if (!ctx)
                return -ENOMEM;
        int len = 0, ok;
        if (enc)
                ok = EVP_EncryptInit_ex(ctx, EVP_aes_256_gcm(), NULL, key, iv) == 1 &&
                     EVP_EncryptUpdate(ctx, NULL, &len, (const unsigned char *)aad, (int)strlen(aad)) == 1 &&
                     EVP_EncryptUpdate(ctx, out, &len, in, (int)n) == 1 &&
                     EVP_EncryptFinal_ex(ctx, out + len, &len) == 1 &&
                     EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_GET_TAG, TAG_LEN, tag) == 1;
        else
                ok = EVP_DecryptInit_ex(ctx, EVP_aes_256_gcm(), NULL, key, iv) == 1 &&
                     EVP_DecryptUpdate(ctx, NULL, &len, (const unsigned char *)aad, (int)strlen(aad)) == 1 &&
                     EVP_DecryptUpdate(ctx, out, &len, in, (int)n) == 1 &&
                     EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_TAG, TAG_LEN, tag) == 1 &&
                     EVP_DecryptFinal_ex(ctx, out + len, &len) == 1;
        EVP_CIPHER_CTX_free(ctx);
        return ok ? 0 : -EBADMSG;
}

int ap_dash_seal(struct ap_dash_keyring *k, const char *name, const json_t *payload, struct ap_buf *out,
                 struct ap_error *err)
{
        _cleanup_secret_str_ char *pt = json_dumps(payload, JSON_COMPACT);
        if (!pt)
                return ap_error_set(err, -ENOMEM, "out of memory");
        size_t n = strlen(pt);
        if (n > MAX_PLAINTEXT)
                return ap_error_set(err, -E2BIG, "session of %zu bytes is over the %d-byte limit", n,
                                    MAX_PLAINTEXT);
        unsigned char *box = malloc(IV_LEN + n + TAG_LEN);
        if (!box)
                return ap_error_set(err, -ENOMEM, "out of memory");
        pthread_mutex_lock(&k->lock);
        maybe_reload(k);
        struct key *e = newest(k);
        int r = -ENOKEY;
        char kid[KID_MAX + 1] = "";
        char aad[KID_MAX + 160];
        if (e) {
                snprintf(kid, sizeof(kid), "%s", e->kid);
                snprintf(aad, sizeof(aad), "v1.%s.%s", kid, name);
                r = RAND_bytes(box, IV_LEN) == 1 ? 0 : -EIO;
                if (r == 0)
                        r = gcm(true, e->enc, box, aad, (const unsigned char *)pt, n, box + IV_LEN,
                                box + IV_LEN + n);
        }
        pthread_mutex_unlock(&k->lock);
        if (r == 0 && (r = ap_buf_printf(out, "v1.%s.", kid)) == 0)
                r = ap_base64_encode(out, box, IV_LEN + n + TAG_LEN, AP_B64_URL_RAW);
        free(box);
        if (r < 0)
                return ap_error_set(err, r, "cannot seal the session cookie");
        return 0;
}

int ap_dash_open(struct ap_dash_keyring *k, const char *name, const char *value, size_t len, json_t **ret,
                 struct ap_error *err)
{
        if (len < 4 || memcmp(value, "v1.", 3) != 0)
                return ap_error_set(err, -EBADMSG, "not a session cookie");
        const char *kid = value + 3;
        const char *dot = memchr(kid, '.', len - 3);
        if (!dot || dot == kid || (size_t)(dot - kid) > KID_MAX)
                return ap_error_set(err, -EBADMSG, "not a session cookie");
        size_t kl = (size_t)(dot - kid), bl = len - 3 - kl - 1;
        if (bl > ap_base64_encoded_len(IV_LEN + MAX_PLAINTEXT + TAG_LEN, AP_B64_URL_RAW))
                return ap_error_set(err, -EBADMSG, "session cookie too large");
        _cleanup_buf_ struct ap_buf box = AP_BUF_INIT;
        if (ap_base64_decode(&box, dot + 1, bl, AP_B64_URL_RAW) < 0 || box.len < IV_LEN + TAG_LEN)
                return ap_error_set(err, -EBADMSG, "session cookie is malformed");
        size_t n = box.len - IV_LEN - TAG_LEN;
        _cleanup_buf_ struct ap_buf pt = AP_BUF_INIT_SECRET;
        if (ap_buf_grow(&pt, n + 1) < 0)
                return ap_error_set(err, -ENOMEM, "out of memory");
        pthread_mutex_lock(&k->lock);
        maybe_reload(k);
        struct key *e = find(k, kid, kl);
        int r = -EBADMSG;
        if (e && accepted(k, e)) {
                char aad[KID_MAX + 160];
                snprintf(aad, sizeof(aad), "v1.%s.%s", e->kid, name);
                unsigned char *b = (unsigned char *)box.data;
                r = gcm(false, e->enc, b, aad, b + IV_LEN, n, (unsigned char *)pt.data, b + IV_LEN + n);
        }
        pthread_mutex_unlock(&k->lock);
        if (r < 0)
                return ap_error_set(err, -EBADMSG,
                                    "session cookie does not verify (tampered, or its key is "
                                    "retired): log in again");
        pt.len = n;
        pt.data[n] = '\0';
        json_t *obj = json_loadb(pt.data, pt.len, JSON_REJECT_DUPLICATES, NULL);
        if (!json_is_object(obj)) {
                json_decref(obj);
                return ap_error_set(err, -EBADMSG, "session cookie payload is not an object");
        }
        *ret = obj;
        return 0;
}

static int hmac_sid(const unsigned char key[32], const char *sid, unsigned char out[32])
{
        unsigned int len = 32;
        char msg[256];
        snprintf(msg, sizeof(msg), "csrf:%s", sid);
        return HMAC(EVP_sha256(), key, 32, (const unsigned char *)msg, strlen(msg), out, &len) ? 0 : -EIO;
}

int ap_dash_csrf_token(struct ap_dash_keyring *k, const char *sid, struct ap_buf *out)
{
        unsigned char mac[32];
        pthread_mutex_lock(&k->lock);
        struct key *e = newest(k);
        int r = e ? hmac_sid(e->mac, sid, mac) : -ENOKEY;
        pthread_mutex_unlock(&k->lock);
        return r < 0 ? r : ap_base64_encode(out, mac, sizeof(mac), AP_B64_URL_RAW);
}

bool ap_dash_csrf_check(struct ap_dash_keyring *k, const char *sid, const char *token, size_t len)
{
        unsigned char want[32];
        if (ap_base64_decode_exact(want, sizeof(want), token, len, AP_B64_URL_RAW) < 0)
                return false;
        bool ok = false;
        pthread_mutex_lock(&k->lock);
        for (size_t i = 0; i < k->n_keys; i++) {
                unsigned char mac[32];
                if (accepted(k, &k->keys[i]) && hmac_sid(k->keys[i].mac, sid, mac) == 0 &&
                    ap_dash_const_eq(mac, 32, want, 32))
                        ok = true;
        }
        pthread_mutex_unlock(&k->lock);
        return ok;
}

int ap_dash_random_b64url(size_t n, struct ap_buf *out)
{
        unsigned char b[64];
        if (n > sizeof(b) || RAND_bytes(b, (int)n) != 1)
                return -EIO;
        return ap_base64_encode(out, b, n, AP_B64_URL_RAW);
}
