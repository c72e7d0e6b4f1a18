/* ssh_key.c - ed25519 keys in OpenSSH's formats: the "openssh-key-v1" private-key file (PROTOCOL.key in
 * the OpenSSH sources), the one-line public key (RFC 4253 section 6.6 blob, RFC 8709 for ed25519), and
 * known_hosts lines (sshd(8) "SSH_KNOWN_HOSTS FILE FORMAT"). Ed25519 arithmetic comes from OpenSSL. */
#include "crypto/ssh_key.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <string.h>

#include "base/base64.h"
#include "crypto/ssh_key_wire.h"

#define ED25519_NAME   "ssh-ed25519"
#define PEM_BEGIN      "-----BEGIN OPENSSH PRIVATE KEY-----"
#define PEM_END        "-----END OPENSSH PRIVATE KEY-----"
#define AUTH_MAGIC     "openssh-key-v1" /* followed by its NUL in the file */
#define PEM_LINE_WIDTH 70               /* what ssh-keygen writes */
#define BLOCK_SIZE     8                /* cipher "none" */

static void pkey_freep(EVP_PKEY **p)
{
        EVP_PKEY_free(*p);
}

static void md_ctx_freep(EVP_MD_CTX **p)
{
        EVP_MD_CTX_free(*p);
}

/* Comments end up on a single line in files other tools read, so no control characters. */
static bool comment_ok(const char *s, size_t n)
{
        if (n > AP_SSH_COMMENT_MAX)
                return false;
        for (size_t i = 0; i < n; i++)
                if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
                        return false;
        return true;
}

int ap_ssh_key_from_seed(const uint8_t seed[AP_SSH_ED25519_LEN], const char *comment, struct ap_ssh_key **ret,
                         struct ap_error *err)
{
        if (!comment)
                comment = "";
        if (!comment_ok(comment, strlen(comment)))
                return ap_error_set(err, -EINVAL,
                                    "ssh key comment '%.64s' is too long or has control characters", comment);
        _cleanup_(pkey_freep) EVP_PKEY *pkey =
            EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, seed, AP_SSH_ED25519_LEN);
        if (!pkey)
                return ap_error_set(err, -EIO, "cannot load an ed25519 key into openssl");
        struct ap_ssh_key *k = OPENSSL_secure_zalloc(sizeof(*k));
        if (!k)
                return ap_error_set(err, -ENOMEM, "out of memory");
        size_t n = AP_SSH_ED25519_LEN;
        if (EVP_PKEY_get_raw_public_key(pkey, k->pub, &n) != 1 || n != AP_SSH_ED25519_LEN) {
                ap_ssh_key_free(k);
                return ap_error_set(err, -EIO, "cannot derive an ed25519 public key");
        }
        memcpy(k->seed, seed, AP_SSH_ED25519_LEN);
        memcpy(k->comment, comment, strlen(comment) + 1);
        *ret = k;
        return 0;
}

int ap_ssh_key_generate(const char *comment, struct ap_ssh_key **ret, struct ap_error *err)
{
        _cleanup_(pkey_freep) EVP_PKEY *pkey = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
        if (!pkey)
                return ap_error_set(err, -EIO, "cannot generate an ed25519 key");
        uint8_t seed[AP_SSH_ED25519_LEN];
        size_t n = sizeof(seed);
        if (EVP_PKEY_get_raw_private_key(pkey, seed, &n) != 1 || n != sizeof(seed))
                return ap_error_set(err, -EIO, "cannot read the generated ed25519 key");
        int r = ap_ssh_key_from_seed(seed, comment, ret, err);
        OPENSSL_cleanse(seed, sizeof(seed));
        return r;
}

struct ap_ssh_key *ap_ssh_key_free(struct ap_ssh_key *k)
{
        if (k)
                OPENSSL_secure_clear_free(k, sizeof(*k));
        return NULL;
}

int ap_ssh_key_public_blob(const struct ap_ssh_key *k, struct ap_buf *out)
{
        int r = ap_ssh_put_cstring(out, ED25519_NAME);
        return r < 0 ? r : ap_ssh_put_string(out, k->pub, AP_SSH_ED25519_LEN);
}

int ap_ssh_key_write_public(const struct ap_ssh_key *k, struct ap_buf *out)
{
        _cleanup_buf_ struct ap_buf blob = AP_BUF_INIT;
        int r = ap_ssh_key_public_blob(k, &blob);
        if (r >= 0)
                r = ap_buf_addstr(out, ED25519_NAME " ");
        if (r >= 0)
                r = ap_base64_encode(out, blob.data, blob.len, AP_B64_STD);
        if (r >= 0 && k->comment[0])
                r = ap_buf_printf(out, " %s", k->comment);
        return r;
}

/* The check integers only let a decrypting reader notice a wrong passphrase; ssh-keygen picks them at
 * random. Deriving them from the public key keeps our output a function of the key. */
static uint32_t check_int(const struct ap_ssh_key *k)
{
        uint8_t md[32];
        unsigned int mdlen = 0;
        if (EVP_Digest(k->pub, sizeof(k->pub), md, &mdlen, EVP_sha256(), NULL) != 1)
                return 0x61707031; /* "app1": any constant is valid */
        return (uint32_t)md[0] << 24 | (uint32_t)md[1] << 16 | (uint32_t)md[2] << 8 | md[3];
}

int ap_ssh_key_write_private(const struct ap_ssh_key *k, struct ap_buf *out, struct ap_error *err)
{
        _cleanup_buf_ struct ap_buf priv = AP_BUF_INIT_SECRET;
        _cleanup_buf_ struct ap_buf file = AP_BUF_INIT_SECRET;
        _cleanup_buf_ struct ap_buf b64 = AP_BUF_INIT_SECRET;
        _cleanup_buf_ struct ap_buf pub = AP_BUF_INIT;
        uint8_t sk[2 * AP_SSH_ED25519_LEN];
        uint32_t check = check_int(k);
        int r;

        memcpy(sk, k->seed, AP_SSH_ED25519_LEN);
        memcpy(sk + AP_SSH_ED25519_LEN, k->pub, AP_SSH_ED25519_LEN);
        if ((r = ap_ssh_put_u32(&priv, check)) < 0 || (r = ap_ssh_put_u32(&priv, check)) < 0 ||
            (r = ap_ssh_put_cstring(&priv, ED25519_NAME)) < 0 ||
            (r = ap_ssh_put_string(&priv, k->pub, AP_SSH_ED25519_LEN)) < 0 ||
            (r = ap_ssh_put_string(&priv, sk, sizeof(sk))) < 0 ||
            (r = ap_ssh_put_cstring(&priv, k->comment)) < 0)
                goto fail;
        for (uint8_t pad = 1; priv.len % BLOCK_SIZE; pad++)
                if ((r = ap_buf_addch(&priv, (char)pad)) < 0)
                        goto fail;

        if ((r = ap_ssh_key_public_blob(k, &pub)) < 0 ||
            (r = ap_buf_add(&file, AUTH_MAGIC, sizeof(AUTH_MAGIC))) < 0 ||
            (r = ap_ssh_put_cstring(&file, "none")) < 0 || (r = ap_ssh_put_cstring(&file, "none")) < 0 ||
            (r = ap_ssh_put_string(&file, "", 0)) < 0 || (r = ap_ssh_put_u32(&file, 1)) < 0 ||
            (r = ap_ssh_put_string(&file, pub.data, pub.len)) < 0 ||
            (r = ap_ssh_put_string(&file, priv.data, priv.len)) < 0 ||
            (r = ap_base64_encode(&b64, file.data, file.len, AP_B64_STD)) < 0)
                goto fail;

        if ((r = ap_buf_addstr(out, PEM_BEGIN "\n")) < 0)
                goto fail;
        for (size_t i = 0; i < b64.len; i += PEM_LINE_WIDTH) {
                if ((r = ap_buf_add(out, b64.data + i, AP_MIN(PEM_LINE_WIDTH, b64.len - i))) < 0 ||
                    (r = ap_buf_addch(out, '\n')) < 0)
                        goto fail;
        }
        if ((r = ap_buf_addstr(out, PEM_END "\n")) < 0)
                goto fail;
        OPENSSL_cleanse(sk, sizeof(sk));
        return 0;
fail:
        OPENSSL_cleanse(sk, sizeof(sk));
        return ap_error_set(err, r, "cannot write the ssh private key: %s", strerror(-r));
}

/* Find the PEM body between the armor lines and decode it into der (a secret buffer). */
static int pem_decode(const char *text, size_t len, struct ap_buf *der, struct ap_error *err)
{
        const char *end = text + len;
        const char *p = memmem(text, len, PEM_BEGIN, strlen(PEM_BEGIN));
        if (!p)
                return ap_error_set(err, AP_E_INVALID,
                                    "not an openssh private key (no '" PEM_BEGIN "' line)");
        p += strlen(PEM_BEGIN);
        const char *stop = memmem(p, (size_t)(end - p), PEM_END, strlen(PEM_END));
        if (!stop)
                return ap_error_set(err, AP_E_CORRUPT, "openssh private key has no '" PEM_END "' line");
        _cleanup_buf_ struct ap_buf b64 = AP_BUF_INIT_SECRET;
        for (; p < stop; p++) {
                if (*p == '\n' || *p == '\r')
                        continue;
                int r = ap_buf_addch(&b64, *p);
                if (r < 0)
                        return ap_error_set(err, r, "openssh private key is too large");
        }
        if (ap_base64_decode(der, b64.data, b64.len, AP_B64_STD) < 0)
                return ap_error_set(err, AP_E_CORRUPT, "openssh private key has invalid base64");
        return 0;
}

static int bad_key(struct ap_error *err, const char *what)
{
        return ap_error_set(err, AP_E_CORRUPT, "malformed openssh private key: %s", what);
}

int ap_ssh_key_parse_private(const char *text, size_t len, struct ap_ssh_key **ret, struct ap_error *err)
{
        if (len > AP_SSH_KEYFILE_MAX)
                return ap_error_set(err, AP_E_TOO_LARGE,
                                    "ssh private key is larger than the limit of %d bytes",
                                    AP_SSH_KEYFILE_MAX);
        _cleanup_buf_ struct ap_buf der = AP_BUF_INIT_SECRET;
        int r = pem_decode(text, len, &der, err);
        if (r < 0)
                return r;

        struct ap_ssh_reader rd = {(const uint8_t *)der.data, der.len}, pubrd, privrd;
        const uint8_t *s, *pub, *sk, *comment;
        size_t n, publen, sklen, commentlen;
        uint32_t nkeys, check1, check2;
        if (rd.len < sizeof(AUTH_MAGIC) || memcmp(rd.p, AUTH_MAGIC, sizeof(AUTH_MAGIC)) != 0)
                return bad_key(err, "missing 'openssh-key-v1' magic");
        rd.p += sizeof(AUTH_MAGIC);
        rd.len -= sizeof(AUTH_MAGIC);
        if (!ap_ssh_read_string(&rd, &s, &n))
                return bad_key(err, "truncated cipher name");
        if (n != 4 || memcmp(s, "none", 4) != 0)
                return ap_error_set(err, AP_E_UNSUPPORTED,
                                    "ssh private key is encrypted with a passphrase, which is not supported");
        if (!ap_ssh_read_expect(&rd, "none") || !ap_ssh_read_string(&rd, &s, &n) || n != 0)
                return bad_key(err, "unexpected key derivation settings");
        if (!ap_ssh_read_u32(&rd, &nkeys) || nkeys != 1)
                return ap_error_set(err, AP_E_UNSUPPORTED,
                                    "ssh private key files with more than one key are not supported");
        if (!ap_ssh_read_string(&rd, &s, &n))
                return bad_key(err, "truncated public key");
        pubrd = (struct ap_ssh_reader){s, n};
        if (!ap_ssh_read_string(&pubrd, &s, &n))
                return bad_key(err, "truncated public key");
        if (n != strlen(ED25519_NAME) || memcmp(s, ED25519_NAME, n) != 0)
                return ap_error_set(err, AP_E_UNSUPPORTED,
                                    "ssh private key has type '%.*s'; only ssh-ed25519 is supported",
                                    (int)AP_MIN(n, 64), (const char *)s);
        if (!ap_ssh_read_string(&pubrd, &pub, &publen) || publen != AP_SSH_ED25519_LEN || pubrd.len != 0)
                return bad_key(err, "bad public key");
        if (!ap_ssh_read_string(&rd, &s, &n) || rd.len != 0)
                return bad_key(err, "truncated private section or trailing bytes");
        if (n % BLOCK_SIZE != 0)
                return bad_key(err, "private section is not padded to the block size");
        privrd = (struct ap_ssh_reader){s, n};
        if (!ap_ssh_read_u32(&privrd, &check1) || !ap_ssh_read_u32(&privrd, &check2) || check1 != check2)
                return bad_key(err, "check integers differ");
        if (!ap_ssh_read_expect(&privrd, ED25519_NAME))
                return bad_key(err, "private key type differs from the public key");
        if (!ap_ssh_read_string(&privrd, &s, &n) || n != AP_SSH_ED25519_LEN || memcmp(s, pub, n) != 0)
                return bad_key(err, "private section holds another public key");
        if (!ap_ssh_read_string(&privrd, &sk, &sklen) || sklen != 2 * AP_SSH_ED25519_LEN ||
            memcmp(sk + AP_SSH_ED25519_LEN, pub, AP_SSH_ED25519_LEN) != 0)
                return bad_key(err, "bad ed25519 private key");
        if (!ap_ssh_read_string(&privrd, &comment, &commentlen))
                return bad_key(err, "truncated comment");
        if (privrd.len >= BLOCK_SIZE)
                return bad_key(err, "trailing bytes after the comment");
        for (size_t i = 0; i < privrd.len; i++)
                if (privrd.p[i] != i + 1)
                        return bad_key(err, "bad padding");
        if (!comment_ok((const char *)comment, commentlen))
                return bad_key(err, "comment is too long or has control characters");

        char c[AP_SSH_COMMENT_MAX + 1];
        memcpy(c, comment, commentlen);
        c[commentlen] = '\0';
        _cleanup_(ap_ssh_key_freep) struct ap_ssh_key *k = NULL;
        if ((r = ap_ssh_key_from_seed(sk, c, &k, err)) < 0)
                return r;
        if (memcmp(k->pub, pub, AP_SSH_ED25519_LEN) != 0)
                return bad_key(err, "the public key does not belong to the private key");
        *ret = TAKE_PTR(k);
        return 0;
}

int ap_ssh_key_sign_raw(const struct ap_ssh_key *k, const void *msg, size_t len, uint8_t sig[64],
                        struct ap_error *err)
{
        _cleanup_(pkey_freep) EVP_PKEY *pkey =
            EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, k->seed, AP_SSH_ED25519_LEN);
        _cleanup_(md_ctx_freep) EVP_MD_CTX *ctx = EVP_MD_CTX_new();
        size_t siglen = 64;
        if (!pkey || !ctx || EVP_DigestSignInit(ctx, NULL, NULL, NULL, pkey) != 1 ||
            EVP_DigestSign(ctx, sig, &siglen, msg, len) != 1 || siglen != 64)
                return ap_error_set(err, -EIO, "cannot sign with the ed25519 key");
        return 0;
}

void ap_ssh_pubkey_init(struct ap_ssh_pubkey *p)
{
        p->type[0] = '\0';
        ap_buf_init(&p->blob, AP_SSH_PUBLINE_MAX);
        ap_buf_init(&p->comment, AP_SSH_PUBLINE_MAX);
}

void ap_ssh_pubkey_release(struct ap_ssh_pubkey *p)
{
        if (!p)
                return;
        p->type[0] = '\0';
        ap_buf_release(&p->blob);
        ap_buf_release(&p->comment);
}

static bool is_blank(char c)
{
        return c == ' ' || c == '\t';
}

int ap_ssh_pubkey_parse(const char *line, size_t len, struct ap_ssh_pubkey *p, struct ap_error *err)
{
        if (len > AP_SSH_PUBLINE_MAX)
                return ap_error_set(err, AP_E_TOO_LARGE,
                                    "ssh public key line is longer than the limit of %d bytes",
                                    AP_SSH_PUBLINE_MAX);
        const char *s = line, *end = line + len;
        while (end > s && (end[-1] == '\n' || end[-1] == '\r' || is_blank(end[-1])))
                end--;
        while (s < end && is_blank(*s))
                s++;
        const char *type = s;
        while (s < end && !is_blank(*s))
                s++;
        size_t typelen = (size_t)(s - type);
        if (typelen == 0 || typelen > AP_SSH_KEYTYPE_MAX)
                return ap_error_set(err, -EINVAL, "ssh public key line has no valid key type");
        for (size_t i = 0; i < typelen; i++)
                if ((unsigned char)type[i] <= 0x20 || (unsigned char)type[i] >= 0x7f)
                        return ap_error_set(err, -EINVAL, "ssh public key type has invalid characters");
        while (s < end && is_blank(*s))
                s++;
        const char *b64 = s;
        while (s < end && !is_blank(*s))
                s++;
        const char *b64end = s;
        while (s < end && is_blank(*s))
                s++;
        if (!comment_ok(s, (size_t)(end - s)))
                return ap_error_set(err, -EINVAL,
                                    "ssh public key comment is too long or has control characters");

        ap_ssh_pubkey_release(p);
        if (ap_base64_decode(&p->blob, b64, (size_t)(b64end - b64), AP_B64_STD) < 0 || p->blob.len == 0) {
                ap_ssh_pubkey_release(p);
                return ap_error_set(err, -EINVAL, "ssh public key '%.*s' has invalid base64", (int)typelen,
                                    type);
        }
        struct ap_ssh_reader rd = {(const uint8_t *)p->blob.data, p->blob.len};
        const uint8_t *inner;
        size_t innerlen;
        if (!ap_ssh_read_string(&rd, &inner, &innerlen) || innerlen != typelen ||
            memcmp(inner, type, typelen) != 0 ||
            (typelen == strlen(ED25519_NAME) && memcmp(type, ED25519_NAME, typelen) == 0 &&
             (!ap_ssh_read_string(&rd, &inner, &innerlen) || innerlen != AP_SSH_ED25519_LEN ||
              rd.len != 0))) {
                ap_ssh_pubkey_release(p);
                return ap_error_set(err, -EINVAL, "ssh public key blob does not match its type '%.*s'",
                                    (int)typelen, type);
        }
        if (ap_buf_add(&p->comment, s, (size_t)(end - s)) < 0) {
                ap_ssh_pubkey_release(p);
                return ap_error_set(err, -ENOMEM, "out of memory");
        }
        memcpy(p->type, type, typelen);
        p->type[typelen] = '\0';
        return 0;
}

bool ap_ssh_pubkey_equal(const struct ap_ssh_pubkey *a, const struct ap_ssh_pubkey *b)
{
        return strcmp(a->type, b->type) == 0 && a->blob.len == b->blob.len &&
               memcmp(a->blob.data, b->blob.data, a->blob.len) == 0;
}

int ap_ssh_pubkey_write(const struct ap_ssh_pubkey *p, struct ap_buf *out)
{
        int r = ap_buf_printf(out, "%s ", p->type);
        return r < 0 ? r : ap_base64_encode(out, p->blob.data, p->blob.len, AP_B64_STD);
}

int ap_ssh_known_hosts_line(const char *host, unsigned port, const struct ap_ssh_pubkey *key,
                            struct ap_buf *out, struct ap_error *err)
{
        size_t n = strlen(host);
        if (n == 0 || n > 255 || strcspn(host, " \t\r\n,[]*?!|#") != n)
                return ap_error_set(err, -EINVAL, "'%.64s' is not a host name for known_hosts", host);
        if (port == 0 || port > 65535)
                return ap_error_set(err, -EINVAL, "port %u is out of range", port);
        if (!key->type[0] || key->blob.len == 0)
                return ap_error_set(err, -EINVAL, "no host key given for '%s'", host);
        int r = port == 22 ? ap_buf_printf(out, "%s ", host) : ap_buf_printf(out, "[%s]:%u ", host, port);
        if (r >= 0)
                r = ap_ssh_pubkey_write(key, out);
        if (r >= 0)
                r = ap_buf_addch(out, '\n');
        if (r < 0)
                return ap_error_set(err, r, "cannot write the known_hosts line for '%s'", host);
        return 0;
}
