/* ssh_key_sig.c - the SSHSIG signature blob and armor (OpenSSH PROTOCOL.sshsig): sign the sha512 of the
 * message wrapped in the "SSHSIG" preamble with namespace and hash name, then armor the blob that
 * carries public key, namespace, hash name and signature. */
#include "crypto/ssh_key_sig.h"

#include <openssl/evp.h>
#include <string.h>

#include "base/base64.h"
#include "crypto/ssh_key_wire.h"

#define MAGIC       "SSHSIG" /* 6 bytes, no length prefix, no NUL */
#define VERSION     1
#define HASH_ALG    "sha512"
#define ARMOR_BEGIN "-----BEGIN SSH SIGNATURE-----"
#define ARMOR_END   "-----END SSH SIGNATURE-----"
#define LINE_WIDTH  70 /* what ssh-keygen writes */

int ap_ssh_key_sshsig(const struct ap_ssh_key *k, const char *namespace_, const void *msg, size_t len,
                      struct ap_buf *out, struct ap_error *err)
{
        if (!namespace_ || !namespace_[0])
                return ap_error_set(err, -EINVAL, "an ssh signature needs a namespace");
        uint8_t digest[64], sig[64];
        unsigned int dlen = 0;
        if (EVP_Digest(msg, len, digest, &dlen, EVP_sha512(), NULL) != 1 || dlen != sizeof(digest))
                return ap_error_set(err, -EIO, "cannot hash the message to sign");

        _cleanup_buf_ struct ap_buf tbs = AP_BUF_INIT, blob = AP_BUF_INIT, pub = AP_BUF_INIT,
                                    sigwire = AP_BUF_INIT, b64 = AP_BUF_INIT;
        int r;
        if ((r = ap_buf_add(&tbs, MAGIC, strlen(MAGIC))) < 0 ||
            (r = ap_ssh_put_cstring(&tbs, namespace_)) < 0 || (r = ap_ssh_put_string(&tbs, "", 0)) < 0 ||
            (r = ap_ssh_put_cstring(&tbs, HASH_ALG)) < 0 ||
            (r = ap_ssh_put_string(&tbs, digest, sizeof(digest))) < 0)
                return ap_error_set(err, r, "cannot build the ssh signature");
        if ((r = ap_ssh_key_sign_raw(k, tbs.data, tbs.len, sig, err)) < 0)
                return r;
        if ((r = ap_ssh_key_public_blob(k, &pub)) < 0 ||
            (r = ap_ssh_put_cstring(&sigwire, "ssh-ed25519")) < 0 ||
            (r = ap_ssh_put_string(&sigwire, sig, sizeof(sig))) < 0 ||
            (r = ap_buf_add(&blob, MAGIC, strlen(MAGIC))) < 0 || (r = ap_ssh_put_u32(&blob, VERSION)) < 0 ||
            (r = ap_ssh_put_string(&blob, pub.data, pub.len)) < 0 ||
            (r = ap_ssh_put_cstring(&blob, namespace_)) < 0 || (r = ap_ssh_put_string(&blob, "", 0)) < 0 ||
            (r = ap_ssh_put_cstring(&blob, HASH_ALG)) < 0 ||
            (r = ap_ssh_put_string(&blob, sigwire.data, sigwire.len)) < 0 ||
            (r = ap_base64_encode(&b64, blob.data, blob.len, AP_B64_STD)) < 0)
                return ap_error_set(err, r, "cannot build the ssh signature");

        if ((r = ap_buf_addstr(out, ARMOR_BEGIN "\n")) < 0)
                return ap_error_set(err, r, "cannot build the ssh signature");
        for (size_t i = 0; i < b64.len; i += LINE_WIDTH)
                if ((r = ap_buf_add(out, b64.data + i, AP_MIN(LINE_WIDTH, b64.len - i))) < 0 ||
                    (r = ap_buf_addch(out, '\n')) < 0)
                        return ap_error_set(err, r, "cannot build the ssh signature");
        if ((r = ap_buf_addstr(out, ARMOR_END)) < 0)
                return ap_error_set(err, r, "cannot build the ssh signature");
        return 0;
}
