/* age_x25519.c - the X25519 recipient type: wrapping a file key for an "age1..." public key and
 * unwrapping "-> X25519 <share>" stanzas with an identity, with age's fatal-versus-skip rules. */
#include <openssl/crypto.h>
#include <string.h>

#include "base/base64.h"
#include "crypto/age_internal.h"

static const char x25519_label[] = "age-encryption.org/v1/X25519";

static int wrap_key(const uint8_t shared[32], const uint8_t share[32], const uint8_t recipient[32],
                    uint8_t key[32])
{
        uint8_t salt[64];
        memcpy(salt, share, 32);
        memcpy(salt + 32, recipient, 32);
        return ap_age_hkdf(shared, 32, salt, sizeof(salt), x25519_label, sizeof(x25519_label) - 1, key);
}

int ap_age_x25519_wrap(const struct ap_age_recipient *r, const uint8_t file_key[AP_AGE_FILE_KEY_LEN],
                       struct ap_age_header *h, struct ap_error *err)
{
        uint8_t eph[32], share[32], shared[32], key[32], body[AP_AGE_FILE_KEY_LEN + AP_AGE_TAG_LEN];
        struct ap_buf arg = AP_BUF_INIT;
        int rc = ap_age_random(eph, sizeof(eph));
        if (rc == 0)
                rc = ap_age_x25519_base(eph, share);
        if (rc == 0 && ap_age_x25519(eph, r->public, shared) < 0)
                rc = -EINVAL; /* a low-order recipient key */
        if (rc == 0)
                rc = wrap_key(shared, share, r->public, key);
        if (rc == 0)
                rc = ap_age_aead_seal(key, file_key, AP_AGE_FILE_KEY_LEN, body);
        if (rc == 0)
                rc = ap_base64_encode(&arg, share, sizeof(share), AP_B64_STD_RAW);
        if (rc == 0) {
                const char *args[2] = {"X25519", arg.data};
                rc = ap_age_header_add(h, args, 2, body, sizeof(body));
        }
        OPENSSL_cleanse(eph, sizeof(eph));
        OPENSSL_cleanse(shared, sizeof(shared));
        OPENSSL_cleanse(key, sizeof(key));
        ap_buf_release(&arg);
        if (rc == -EINVAL)
                return ap_error_set(err, rc, "invalid X25519 recipient: the key is a low-order point");
        if (rc < 0)
                return ap_error_set(err, rc, "cannot wrap the file key for an X25519 recipient");
        return 0;
}

/* One stanza: 0 with file_key set, AP_AGE_NOT_MINE, or a fatal header error. */
static int unwrap_one(const struct ap_age_identity *id, const struct ap_age_stanza *s,
                      uint8_t file_key[AP_AGE_FILE_KEY_LEN], struct ap_error *err)
{
        uint8_t share[32], shared[32], key[32], fk[AP_AGE_FILE_KEY_LEN];
        if (s->n_args != 2)
                return ap_error_set(err, AP_E_CORRUPT, "invalid X25519 recipient stanza: %zu arguments",
                                    s->n_args - 1);
        if (ap_base64_decode_exact(share, sizeof(share), s->args[1], strlen(s->args[1]), AP_B64_STD_RAW) < 0)
                return ap_error_set(err, AP_E_CORRUPT,
                                    "invalid X25519 recipient stanza: the share is not 32 bytes of base64");
        if (ap_age_x25519(id->secret, share, shared) < 0)
                return ap_error_set(err, AP_E_CORRUPT,
                                    "invalid X25519 recipient stanza: the share is a low-order point");
        if (s->body_len != AP_AGE_FILE_KEY_LEN + AP_AGE_TAG_LEN) {
                OPENSSL_cleanse(shared, sizeof(shared));
                return ap_error_set(
                    err, AP_E_CORRUPT,
                    "invalid X25519 recipient stanza: the wrapped file key is %zu bytes, not 32",
                    s->body_len);
        }
        int rc = wrap_key(shared, share, id->public, key);
        OPENSSL_cleanse(shared, sizeof(shared));
        if (rc < 0)
                return ap_error_set(err, rc, "cannot derive the X25519 wrapping key");
        rc = ap_age_aead_open(key, s->body, s->body_len, fk);
        OPENSSL_cleanse(key, sizeof(key));
        if (rc == -EBADMSG)
                return AP_AGE_NOT_MINE;
        if (rc < 0)
                return ap_error_set(err, rc, "cannot open the X25519 recipient stanza");
        memcpy(file_key, fk, sizeof(fk));
        OPENSSL_cleanse(fk, sizeof(fk));
        return 0;
}

int ap_age_x25519_unwrap(const struct ap_age_identity *id, const struct ap_age_header *h,
                         uint8_t file_key[AP_AGE_FILE_KEY_LEN], struct ap_error *err)
{
        for (size_t i = 0; i < h->n; i++) {
                if (strcmp(h->stanzas[i].args[0], "X25519") != 0)
                        continue;
                int r = unwrap_one(id, &h->stanzas[i], file_key, err);
                if (r != AP_AGE_NOT_MINE)
                        return r;
        }
        return AP_AGE_NOT_MINE;
}
