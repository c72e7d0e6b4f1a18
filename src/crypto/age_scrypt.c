/* age_scrypt.c - the scrypt (passphrase) recipient type: "-> scrypt <salt> <log2 N>" stanzas, which must
 * be alone in a header, with age's work-factor encoding rules and limit. */
#include <openssl/crypto.h>
#include <stdio.h>
#include <string.h>

#include "base/base64.h"
#include "crypto/age_internal.h"

static const char scrypt_label[] = "age-encryption.org/v1/scrypt";
#define SALT_LEN  16
#define LABEL_LEN (sizeof(scrypt_label) - 1)

static int derive(const char *pass, size_t pass_len, const uint8_t salt[SALT_LEN], int log_n, uint8_t key[32])
{
        uint8_t full[LABEL_LEN + SALT_LEN];
        memcpy(full, scrypt_label, LABEL_LEN);
        memcpy(full + LABEL_LEN, salt, SALT_LEN);
        return ap_age_scrypt(pass, pass_len, full, sizeof(full), log_n, key);
}

int ap_age_scrypt_wrap(const struct ap_age_recipient *r, const uint8_t file_key[AP_AGE_FILE_KEY_LEN],
                       struct ap_age_header *h, struct ap_error *err)
{
        uint8_t salt[SALT_LEN], key[32], body[AP_AGE_FILE_KEY_LEN + AP_AGE_TAG_LEN];
        char wf[16];
        struct ap_buf arg = AP_BUF_INIT;
        int rc = ap_age_random(salt, sizeof(salt));
        if (rc == 0)
                rc = derive(r->pass, r->pass_len, salt, r->work_factor, key);
        if (rc == 0)
                rc = ap_age_aead_seal(key, file_key, AP_AGE_FILE_KEY_LEN, body);
        if (rc == 0)
                rc = ap_base64_encode(&arg, salt, sizeof(salt), AP_B64_STD_RAW);
        if (rc == 0) {
                snprintf(wf, sizeof(wf), "%d", r->work_factor);
                const char *args[3] = {"scrypt", arg.data, wf};
                rc = ap_age_header_add(h, args, 3, body, sizeof(body));
        }
        OPENSSL_cleanse(key, sizeof(key));
        ap_buf_release(&arg);
        if (rc < 0)
                return ap_error_set(err, rc, "cannot wrap the file key with scrypt (work factor %d)",
                                    r->work_factor);
        return 0;
}

/* "^[1-9][0-9]*$" as age requires, and at most the identity's limit. -1 when malformed, the value else. */
static long parse_work_factor(const char *s)
{
        if (s[0] < '1' || s[0] > '9')
                return -1;
        long v = 0;
        for (const char *c = s; *c; c++) {
                if (*c < '0' || *c > '9')
                        return -1;
                v = v * 10 + (*c - '0');
                if (v > 1000)
                        return 1000; /* far above any limit; avoids overflow */
        }
        return v;
}

int ap_age_scrypt_unwrap(const struct ap_age_identity *id, const struct ap_age_header *h,
                         uint8_t file_key[AP_AGE_FILE_KEY_LEN], struct ap_error *err)
{
        const struct ap_age_stanza *s = NULL;
        for (size_t i = 0; i < h->n; i++)
                if (strcmp(h->stanzas[i].args[0], "scrypt") == 0) {
                        if (h->n != 1)
                                return ap_error_set(
                                    err, AP_E_CORRUPT,
                                    "invalid age header: an scrypt stanza must be the only one");
                        s = &h->stanzas[i];
                }
        if (!s)
                return AP_AGE_NOT_MINE;
        if (s->n_args != 3)
                return ap_error_set(err, AP_E_CORRUPT, "invalid scrypt recipient stanza: %zu arguments",
                                    s->n_args - 1);
        uint8_t salt[SALT_LEN], key[32], fk[AP_AGE_FILE_KEY_LEN];
        if (ap_base64_decode_exact(salt, sizeof(salt), s->args[1], strlen(s->args[1]), AP_B64_STD_RAW) < 0)
                return ap_error_set(err, AP_E_CORRUPT,
                                    "invalid scrypt recipient stanza: the salt is not 16 bytes of base64");
        long wf = parse_work_factor(s->args[2]);
        if (wf < 0)
                return ap_error_set(err, AP_E_CORRUPT,
                                    "invalid scrypt recipient stanza: bad work factor encoding '%.16s'",
                                    s->args[2]);
        if (wf > id->max_work_factor)
                return ap_error_set(err, AP_E_TOO_LARGE,
                                    "scrypt work factor %ld is larger than the limit of %d; the file may be "
                                    "hostile",
                                    wf, id->max_work_factor);
        if (s->body_len != AP_AGE_FILE_KEY_LEN + AP_AGE_TAG_LEN)
                return ap_error_set(
                    err, AP_E_CORRUPT,
                    "invalid scrypt recipient stanza: the wrapped file key is %zu bytes, not 32",
                    s->body_len);
        int rc = derive(id->pass, id->pass_len, salt, (int)wf, key);
        if (rc < 0)
                return ap_error_set(err, rc, "cannot compute scrypt (work factor %ld): out of memory?", wf);
        rc = ap_age_aead_open(key, s->body, s->body_len, fk);
        OPENSSL_cleanse(key, sizeof(key));
        if (rc == -EBADMSG)
                return AP_AGE_NOT_MINE;
        if (rc < 0)
                return ap_error_set(err, rc, "cannot open the scrypt recipient stanza");
        memcpy(file_key, fk, sizeof(fk));
        OPENSSL_cleanse(fk, sizeof(fk));
        return 0;
}
