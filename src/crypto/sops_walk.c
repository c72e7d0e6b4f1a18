/* sops_walk.c - encrypt/decrypt every leaf of a SOPS tree in walk order while hashing the MAC, plus the
 * IV stash and the MAC's own ENC[] value. See sops_walk.h. */
#include "sops_walk.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <math.h>
#include <openssl/rand.h>
#include <stdlib.h>
#include <string.h>

#include "base/base64.h"
#include "base/hash.h"
#include "sops_scalar.h"

#define MAX_DEPTH         512
#define DEFAULT_MAX_VALUE ((size_t)64 << 20)

/* ---- stash ---- */

struct stash_entry {
        struct stash_entry *next;
        uint64_t hash;
        char *key; /* aad \0 type \0 plaintext */
        size_t key_len;
        uint8_t iv[AP_SOPS_IV_LEN];
        size_t iv_len;
};

struct ap_sops_stash {
        struct stash_entry *buckets[256];
};

int ap_sops_stash_new(struct ap_sops_stash **ret)
{
        *ret = calloc(1, sizeof(**ret));
        return *ret ? 0 : -ENOMEM;
}

struct ap_sops_stash *ap_sops_stash_free(struct ap_sops_stash *s)
{
        if (!s)
                return NULL;
        for (size_t i = 0; i < AP_ARRAY_SIZE(s->buckets); i++) {
                for (struct stash_entry *e = s->buckets[i], *n; e; e = n) {
                        n = e->next;
                        ap_secure_free(e->key, e->key_len);
                        ap_secure_free(e, sizeof(*e));
                }
        }
        free(s);
        return NULL;
}

static int stash_key(struct ap_buf *k, const struct ap_buf *aad, const char *type, const struct ap_buf *pt)
{
        ap_buf_reset(k);
        int r = ap_buf_add(k, aad->data, aad->len + 1);
        if (r == 0)
                r = ap_buf_add(k, type, strlen(type) + 1);
        if (r == 0)
                r = ap_buf_add(k, pt->data, pt->len);
        return r;
}

static struct stash_entry *stash_find(struct ap_sops_stash *s, const struct ap_buf *k)
{
        uint64_t h = ap_fnv1a64(k->data, k->len);
        for (struct stash_entry *e = s->buckets[h & 255]; e; e = e->next)
                if (e->hash == h && e->key_len == k->len && memcmp(e->key, k->data, k->len) == 0)
                        return e;
        return NULL;
}

static int stash_put(struct ap_sops_stash *s, const struct ap_buf *k, const uint8_t *iv, size_t iv_len)
{
        if (iv_len > AP_SOPS_IV_LEN || stash_find(s, k))
                return 0; /* only 32-byte IVs are reused, as written */
        struct stash_entry *e = calloc(1, sizeof(*e));
        if (!e)
                return -ENOMEM;
        e->key = malloc(k->len ? k->len : 1);
        if (!e->key) {
                free(e);
                return -ENOMEM;
        }
        memcpy(e->key, k->data, k->len);
        e->key_len = k->len;
        e->hash = ap_fnv1a64(k->data, k->len);
        memcpy(e->iv, iv, iv_len);
        e->iv_len = iv_len;
        e->next = s->buckets[e->hash & 255];
        s->buckets[e->hash & 255] = e;
        return 0;
}

/* ---- walk ---- */

struct level {
        bool list;
        size_t index; /* list: current item, for messages */
        struct ap_sops_str
            *comments; /* comment rules: copies of the comments just before the current entry */
        size_t nc, cap;
};

struct walker {
        struct ap_sops_walk *w;
        bool encrypt;
        EVP_MD_CTX *md;
        struct ap_sops_str path[MAX_DEPTH];
        size_t depth;
        struct level levels[MAX_DEPTH];
        size_t nlev;
        bool comment_rule;
        struct ap_buf aad, pt, val, key;
        struct ap_error *err;
};

static void level_clear(struct level *l)
{
        for (size_t i = 0; i < l->nc; i++)
                ap_secure_free((void *)l->comments[i].p, l->comments[i].n);
        l->nc = 0;
}

static void display_path(const struct walker *k, struct ap_buf *b)
{
        size_t d = 0;
        for (size_t i = 0; i < k->nlev; i++) {
                if (k->levels[i].list) {
                        ap_buf_printf(b, "[%zu]", k->levels[i].index);
                } else if (d < k->depth) {
                        ap_buf_printf(b, "%s%.*s", b->len ? "." : "", (int)AP_MIN(k->path[d].n, 200),
                                      k->path[d].p);
                        d++;
                }
        }
        if (!b->len)
                ap_buf_addstr(b, "(top level)");
}

static int fail_at(struct walker *k, int code, const char *what)
{
        _cleanup_buf_ struct ap_buf p = AP_BUF_INIT;
        display_path(k, &p);
        return ap_error_set(k->err, code, "'%s': %s", p.data, what);
}

/* A value past the limit: say which, how big and what the limit is (never what it holds). */
static int too_large(struct walker *k, const struct ap_sops_node *node)
{
        _cleanup_buf_ struct ap_buf msg = AP_BUF_INIT;
        size_t n = ap_sops_node_is_leaf(node) && node->type != AP_SOPS_INT && node->type != AP_SOPS_FLOAT &&
                           node->type != AP_SOPS_BOOL
                       ? node->len
                       : 0;
        int r = ap_buf_printf(&msg, "the value is %zu bytes, more than the limit of %zu bytes", n, k->pt.max);
        return fail_at(k, AP_E_TOO_LARGE, r == 0 ? msg.data : "the value is larger than the limit");
}

static int build_aad(struct walker *k, size_t depth, const struct ap_sops_str *extra)
{
        ap_buf_reset(&k->aad);
        int r = 0;
        for (size_t i = 0; r == 0 && i < depth; i++) {
                r = ap_buf_add(&k->aad, k->path[i].p, k->path[i].n);
                if (r == 0)
                        r = ap_buf_addch(&k->aad, ':');
        }
        if (r == 0 && extra) {
                r = ap_buf_add(&k->aad, extra->p, extra->n);
                if (r == 0)
                        r = ap_buf_addch(&k->aad, ':');
        }
        if (r == 0 && depth == 0 && !extra)
                r = ap_buf_addch(&k->aad, ':');
        return r;
}

static bool encrypts(struct walker *k, bool is_comment)
{
        if (!k->comment_rule)
                return ap_sops_rule_encrypts(k->w->rule, k->path, k->depth, NULL, is_comment);
        const struct ap_sops_str *levels[MAX_DEPTH];
        size_t n[MAX_DEPTH];
        for (size_t i = 0; i < k->nlev; i++) {
                levels[i] = k->levels[i].comments;
                n[i] = k->levels[i].nc;
        }
        struct ap_sops_comment_stack cs = {levels, n, k->nlev};
        return ap_sops_rule_encrypts(k->w->rule, k->path, k->depth, &cs, is_comment);
}

static int hash_leaf(struct walker *k, const struct ap_sops_node *node)
{
        if (node->type == AP_SOPS_STR || node->type == AP_SOPS_BYTES || node->type == AP_SOPS_TIME ||
            node->type == AP_SOPS_COMMENT) /* their bytes are the string itself: no copy */
                return EVP_DigestUpdate(k->md, node->str, node->len) ? 0 : -EIO;
        ap_buf_reset(&k->val);
        int r = ap_sops_scalar_bytes(node, &k->val);
        if (r == 0 && !EVP_DigestUpdate(k->md, k->val.data, k->val.len))
                r = -EIO;
        return r;
}

static int random_bytes(struct ap_sops_walk *w, void *buf, size_t n)
{
        if (w->random)
                return w->random(w->random_ctx, buf, n);
        return RAND_bytes(buf, (int)n) == 1 ? 0 : -EIO;
}

static int encrypt_leaf(struct walker *k, struct ap_sops_node *node)
{
        bool comment = node->type == AP_SOPS_COMMENT;
        if ((node->type == AP_SOPS_STR || comment) && node->len == 0)
                return 0; /* empty strings are never encrypted */
        const char *type = ap_sops_scalar_type_name(node);
        ap_buf_reset(&k->pt);
        int r = ap_sops_scalar_bytes(node, &k->pt);
        if (r == -E2BIG)
                return too_large(k, node);
        if (r == 0)
                r = build_aad(k, k->depth, NULL);
        if (r < 0)
                return ap_error_set(k->err, r, "out of memory");
        uint8_t iv[AP_SOPS_IV_LEN];
        struct stash_entry *e = NULL;
        if (k->w->stash) {
                r = stash_key(&k->key, &k->aad, type, &k->pt);
                e = r == 0 ? stash_find(k->w->stash, &k->key) : NULL;
        }
        if (e)
                memcpy(iv, e->iv, sizeof(iv));
        else if (random_bytes(k->w, iv, sizeof(iv)) < 0)
                return ap_error_set(k->err, -EIO, "cannot get random bytes for an IV");
        ap_buf_reset(&k->val);
        r = ap_sops_cipher_seal(k->w->cipher, iv, sizeof(iv), k->aad.data, k->aad.len, k->pt.data, k->pt.len,
                                type, &k->val);
        if (r == 0)
                r = ap_sops_node_set_str(node, k->val.data, k->val.len);
        if (r == -ENOMEM)
                return ap_error_set(k->err, r, "out of memory");
        if (r < 0)
                return fail_at(k, r, "cannot encrypt the value");
        if (!comment)
                node->type = AP_SOPS_STR;
        return 0;
}

/* A comment that sops may have placed in another container than we did: try the AADs of the enclosing
 * paths and of the neighbouring keys. */
static bool open_comment(struct walker *k, struct ap_sops_node *node, const struct ap_sops_node *container,
                         size_t idx)
{
        struct ap_sops_enc e;
        struct ap_error quiet = AP_ERROR_INIT;
        for (size_t attempt = 0;; attempt++) {
                const struct ap_sops_str *extra = NULL;
                struct ap_sops_str neighbour;
                size_t depth;
                if (attempt <= k->depth) {
                        depth = k->depth - attempt;
                } else if (container->type == AP_SOPS_MAP && attempt - k->depth <= 2) {
                        /* the next, then the previous entry's key */
                        bool next = attempt - k->depth == 1;
                        const struct ap_sops_node *nb = NULL;
                        for (size_t j = idx + 1; next && j < container->n && !nb; j++)
                                if (container->kids[j]->key)
                                        nb = container->kids[j];
                        for (size_t j = idx; !next && j-- > 0 && !nb;)
                                if (container->kids[j]->key)
                                        nb = container->kids[j];
                        if (!nb)
                                continue;
                        neighbour = (struct ap_sops_str){nb->key, nb->key_len};
                        extra = &neighbour;
                        depth = k->depth;
                } else {
                        return false;
                }
                if (build_aad(k, depth, extra) < 0)
                        return false;
                ap_buf_reset(&k->pt);
                if (ap_sops_cipher_open(k->w->cipher, node->str, node->len, k->aad.data, k->aad.len, &k->pt,
                                        &e, &quiet) == 0)
                        break;
        }
        if (ap_sops_scalar_set_typed(node, "comment", 7, k->pt.data, k->pt.len) < 0)
                return false;
        return true;
}

/* Record the IV of a value just decrypted (k->aad still holds its AAD) for re-encryption. */
static int remember_iv(struct walker *k, const struct ap_sops_node *node, const char *iv_b64,
                       size_t iv_b64_len)
{
        uint8_t iv[AP_SOPS_IV_LEN];
        if (ap_base64_decode_exact(iv, sizeof(iv), iv_b64, iv_b64_len, AP_B64_STD) < 0)
                return 0; /* not a 32-byte IV: never reused */
        ap_buf_reset(&k->val);
        int r = ap_sops_scalar_bytes(node, &k->val);
        if (r == 0)
                r = stash_key(&k->key, &k->aad, ap_sops_scalar_type_name(node), &k->val);
        if (r == 0)
                r = stash_put(k->w->stash, &k->key, iv, sizeof(iv));
        return r < 0 ? ap_error_set(k->err, r, "out of memory") : 0;
}

static int decrypt_leaf(struct walker *k, struct ap_sops_node *node, const struct ap_sops_node *container,
                        size_t idx)
{
        if (node->type == AP_SOPS_COMMENT) {
                if (node->len == 0)
                        return 0;
                if (!open_comment(k, node, container, idx)) {
                        k->w->comments_kept++; /* sops warns and keeps it as it is */
                        return 0;
                }
                return 0;
        }
        if (node->type != AP_SOPS_STR) {
                _cleanup_buf_ struct ap_buf msg = AP_BUF_INIT;
                ap_buf_printf(&msg,
                              "expected an encrypted value (a string), found a %s; encrypt the file again",
                              ap_sops_scalar_type_name(node));
                return fail_at(k, AP_E_CORRUPT, msg.data);
        }
        if (node->len == 0)
                return 0;
        int r = build_aad(k, k->depth, NULL);
        if (r < 0)
                return ap_error_set(k->err, r, "out of memory");
        ap_buf_reset(&k->pt);
        struct ap_sops_enc e;
        struct ap_error inner = AP_ERROR_INIT;
        r = ap_sops_cipher_open(k->w->cipher, node->str, node->len, k->aad.data, k->aad.len, &k->pt, &e,
                                &inner);
        if (r < 0)
                return fail_at(k, r, inner.msg);
        /* e points into node->str, which set_typed replaces: keep what is needed first */
        char type[16], iv[64];
        size_t type_len = AP_MIN(e.type_len, sizeof(type) - 1), iv_len = AP_MIN(e.iv_len, sizeof(iv));
        memcpy(type, e.type, type_len);
        type[type_len] = '\0';
        memcpy(iv, e.iv, iv_len);
        r = e.type_len < sizeof(type) ? ap_sops_scalar_set_typed(node, type, type_len, k->pt.data, k->pt.len)
                                      : -EINVAL;
        if (r == -ENOMEM)
                return ap_error_set(k->err, r, "out of memory");
        if (r < 0) {
                _cleanup_buf_ struct ap_buf msg = AP_BUF_INIT;
                ap_buf_printf(&msg, "cannot read the decrypted value as type '%s'", type);
                return fail_at(k, AP_E_CORRUPT, msg.data);
        }
        return k->w->stash ? remember_iv(k, node, iv, iv_len) : 0;
}

static int walk(struct walker *k, struct ap_sops_node *c);

static int visit(struct walker *k, struct ap_sops_node *c, size_t i)
{
        struct ap_sops_node *node = c->kids[i];
        bool comment = node->type == AP_SOPS_COMMENT;
        int r = 0;
        if (node->type == AP_SOPS_MAP || node->type == AP_SOPS_LIST)
                return walk(k, node);
        if (node->type == AP_SOPS_NULL)
                return 0;
        bool enc = encrypts(k, comment);
        bool hashed = !comment && (!k->w->mac_only_encrypted || enc);
        if (enc && comment && node->len == 0 && c->type == AP_SOPS_LIST) {
                /* sops turns an empty comment in a list into an empty string item when it encrypts or
                 * decrypts it (walkSlice stores the cipher's "" result): do the same */
                node->type = AP_SOPS_STR;
                node->inline_comment = false;
                return 0;
        }
        if (k->encrypt) {
                if (hashed && !enc && node->type == AP_SOPS_FLOAT && node->f == 0 && signbit(node->f))
                        /* a clear -0.0 is written "-0", which every reader (sops too) takes for the int 0:
                         * hash what they will see, or sops would report a MAC mismatch */
                        r = EVP_DigestUpdate(k->md, "0", 1) ? 0 : -EIO;
                else if (hashed)
                        r = hash_leaf(k, node);
                if (r == 0 && enc)
                        r = encrypt_leaf(k, node);
        } else {
                if (enc)
                        r = decrypt_leaf(k, node, c, i);
                if (r == 0 && hashed)
                        r = hash_leaf(k, node);
        }
        if (r < 0 && !k->err->code)
                return fail_at(k, r, "cannot process the value");
        return r;
}

static int walk(struct walker *k, struct ap_sops_node *c)
{
        if (k->nlev == MAX_DEPTH || k->depth == MAX_DEPTH)
                return ap_error_set(k->err, AP_E_TOO_LARGE, "nesting deeper than %d levels", MAX_DEPTH);
        struct level *lv = &k->levels[k->nlev++];
        *lv = (struct level){.list = c->type == AP_SOPS_LIST};
        int r = 0;
        for (size_t i = 0; r == 0 && i < c->n; i++) {
                struct ap_sops_node *node = c->kids[i];
                lv->index = i;
                if (node->type == AP_SOPS_COMMENT) {
                        if (k->comment_rule) {
                                if (lv->nc == lv->cap) {
                                        size_t cap = lv->cap ? lv->cap * 2 : 4;
                                        struct ap_sops_str *p = realloc(lv->comments, cap * sizeof(*p));
                                        if (!p) {
                                                r = ap_error_set(k->err, -ENOMEM, "out of memory");
                                                break;
                                        }
                                        lv->comments = p;
                                        lv->cap = cap;
                                }
                                char *copy = malloc(node->len + 1);
                                if (copy)
                                        memcpy(copy, node->str, node->len + 1);
                                lv->comments[lv->nc] = (struct ap_sops_str){copy, node->len};
                                if (!copy) {
                                        r = ap_error_set(k->err, -ENOMEM, "out of memory");
                                        break;
                                }
                                lv->nc++;
                        }
                        r = visit(k, c, i);
                        continue;
                }
                if (node->key)
                        k->path[k->depth++] = (struct ap_sops_str){node->key, node->key_len};
                r = visit(k, c, i);
                if (node->key)
                        k->depth--;
                level_clear(lv);
        }
        level_clear(lv);
        free(lv->comments);
        k->nlev--;
        return r;
}

static int run(struct ap_sops_walk *w, struct ap_sops_docs *docs, bool encrypt,
               char mac[AP_SOPS_MAC_HEX_LEN + 1], struct ap_error *err)
{
        struct walker *k = calloc(1, sizeof(*k));
        if (!k)
                return ap_error_set(err, -ENOMEM, "out of memory");
        k->w = w;
        k->encrypt = encrypt;
        k->err = err;
        k->comment_rule = w->rule->kind == AP_SOPS_UNENCRYPTED_COMMENT_REGEX ||
                          w->rule->kind == AP_SOPS_ENCRYPTED_COMMENT_REGEX;
        /* a value's plaintext up to max_value; its ENC[] text and stash key are about 4/3 of that */
        size_t max = w->max_value ? w->max_value : DEFAULT_MAX_VALUE;
        size_t room = max > (SIZE_MAX - 4096) / 2 ? SIZE_MAX : 2 * max + 4096;
        ap_buf_init(&k->aad, 0);
        ap_buf_init_secret(&k->pt, max);
        ap_buf_init_secret(&k->val, room);
        ap_buf_init_secret(&k->key, room);
        k->md = EVP_MD_CTX_new();
        int r = k->md && EVP_DigestInit_ex(k->md, EVP_sha512(), NULL) ? 0 : -ENOMEM;
        if (r == 0 && w->mac_only_encrypted) {
                uint8_t init[32];
                r = EVP_Digest("sops", 4, init, NULL, EVP_sha256(), NULL) &&
                            EVP_DigestUpdate(k->md, init, sizeof(init))
                        ? 0
                        : -EIO;
        }
        if (r < 0)
                ap_error_set(err, r, "cannot start the MAC");
        for (size_t d = 0; r == 0 && d < docs->n; d++)
                r = walk(k, docs->docs[d]);
        uint8_t digest[64];
        unsigned len = 0;
        if (r == 0 && !EVP_DigestFinal_ex(k->md, digest, &len))
                r = ap_error_set(err, -EIO, "cannot finish the MAC");
        if (r == 0) {
                static const char hex[] = "0123456789ABCDEF";
                for (unsigned i = 0; i < 64; i++) {
                        mac[2 * i] = hex[digest[i] >> 4];
                        mac[2 * i + 1] = hex[digest[i] & 15];
                }
                mac[128] = '\0';
        }
        EVP_MD_CTX_free(k->md);
        ap_buf_release(&k->aad);
        ap_buf_release(&k->pt);
        ap_buf_release(&k->val);
        ap_buf_release(&k->key);
        ap_secure_free(k, sizeof(*k));
        return r;
}

int ap_sops_walk_encrypt(struct ap_sops_walk *w, struct ap_sops_docs *docs, char mac[AP_SOPS_MAC_HEX_LEN + 1],
                         struct ap_error *err)
{
        return run(w, docs, true, mac, err);
}

int ap_sops_walk_decrypt(struct ap_sops_walk *w, struct ap_sops_docs *docs, char mac[AP_SOPS_MAC_HEX_LEN + 1],
                         struct ap_error *err)
{
        return run(w, docs, false, mac, err);
}

int ap_sops_mac_seal(struct ap_sops_walk *w, const char *mac, const char *lastmodified, struct ap_buf *out)
{
        uint8_t iv[AP_SOPS_IV_LEN];
        int r = random_bytes(w, iv, sizeof(iv));
        if (r < 0)
                return r;
        return ap_sops_cipher_seal(w->cipher, iv, sizeof(iv), lastmodified, strlen(lastmodified), mac,
                                   strlen(mac), "str", out);
}

int ap_sops_mac_verify(struct ap_sops_cipher *c, const char *stored, size_t stored_len,
                       const char *lastmodified, const char *mac, struct ap_error *err)
{
        _cleanup_buf_ struct ap_buf pt = AP_BUF_INIT_SECRET;
        struct ap_sops_enc e;
        struct ap_error inner = AP_ERROR_INIT;
        int r =
            ap_sops_cipher_open(c, stored, stored_len, lastmodified, strlen(lastmodified), &pt, &e, &inner);
        if (r < 0)
                return ap_error_set(err, -EBADMSG, "cannot decrypt the MAC: %s", inner.msg);
        if (pt.len != strlen(mac) || CRYPTO_memcmp(pt.data, mac, pt.len) != 0)
                return ap_error_set(
                    err, -EBADMSG,
                    "MAC mismatch: the file was modified after it was encrypted (values, their "
                    "order or lastmodified changed)");
        return 0;
}
