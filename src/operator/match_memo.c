/* src/operator/match_memo.c - which committed files are known to hold exactly their rendering.
 *
 * Every managed-secret pass compares each committed file with what its intent renders to (an unchanged
 * secret is never re-encrypted), which means decrypting every file of the app: with hundreds of secrets in
 * one app that was most of a pass, and every change waited for it. A file that matched once matches again
 * while neither the file's bytes, nor the rendering, nor the recipient changed, so the app remembers a
 * keyed digest of the three for each path that matched, and the pass decrypts only when it differs.
 * The digest is keyed with random bytes of this process, so the memo holds nothing that could confirm a
 * guessed secret value. Called with the app's work_lock held (one pass at a time per app). */
#include <errno.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "operator/operator_internal.h"

#define MEMO_MAX 8192 /* entries per app; past it the memo starts over */

static unsigned char memo_key[32];
static bool memo_key_ok;
static pthread_once_t memo_once = PTHREAD_ONCE_INIT;

static void memo_key_init(void)
{
        memo_key_ok = RAND_bytes(memo_key, sizeof(memo_key)) == 1;
}

static int add_part(EVP_MD_CTX *md, const void *p, size_t n)
{
        uint64_t len = n;
        return EVP_DigestUpdate(md, &len, sizeof(len)) && EVP_DigestUpdate(md, p, n) ? 0 : -EIO;
}

int op_memo_tag(const char *recipient, const void *committed, size_t committed_len, const void *plain,
                size_t plain_len, unsigned char ret_tag[32])
{
        pthread_once(&memo_once, memo_key_init);
        if (!memo_key_ok)
                return -EIO;
        EVP_MD_CTX *md = EVP_MD_CTX_new();
        unsigned char tag[32];
        unsigned int n = 0;
        int r = md && EVP_DigestInit_ex(md, EVP_sha256(), NULL) ? 0 : -EIO;
        if (r == 0)
                r = add_part(md, memo_key, sizeof(memo_key));
        if (r == 0)
                r = add_part(md, recipient, strlen(recipient));
        if (r == 0)
                r = add_part(md, committed, committed_len);
        if (r == 0)
                r = add_part(md, plain, plain_len);
        if (r == 0 && !EVP_DigestFinal_ex(md, tag, &n))
                r = -EIO;
        EVP_MD_CTX_free(md);
        if (r == 0)
                memcpy(ret_tag, tag, sizeof(tag));
        OPENSSL_cleanse(tag, sizeof(tag));
        return r;
}

static struct op_memo_entry *find(struct op_app *a, const char *path)
{
        for (size_t i = 0; i < a->n_memo; i++)
                if (strcmp(a->memo[i].path, path) == 0)
                        return &a->memo[i];
        return NULL;
}

bool op_memo_hit(struct op_app *a, const char *path, const unsigned char tag[32])
{
        const struct op_memo_entry *e = find(a, path);
        return e && CRYPTO_memcmp(e->tag, tag, 32) == 0;
}

void op_memo_put(struct op_app *a, const char *path, const unsigned char *tag)
{
        struct op_memo_entry *e = find(a, path);
        if (!tag) { /* no longer known to match */
                if (e) {
                        free(e->path);
                        *e = a->memo[--a->n_memo];
                }
                return;
        }
        if (!e) {
                if (a->n_memo >= MEMO_MAX)
                        op_memo_clear(a);
                if (a->n_memo == a->cap_memo) {
                        size_t cap = a->cap_memo ? 2 * a->cap_memo : 64;
                        struct op_memo_entry *m = realloc(a->memo, cap * sizeof(*m));
                        if (!m)
                                return; /* only an optimisation: the next pass decrypts */
                        a->memo = m;
                        a->cap_memo = cap;
                }
                char *p = strdup(path);
                if (!p)
                        return;
                e = &a->memo[a->n_memo++];
                e->path = p;
        }
        memcpy(e->tag, tag, 32);
}

void op_memo_clear(struct op_app *a)
{
        for (size_t i = 0; i < a->n_memo; i++)
                free(a->memo[i].path);
        free(a->memo);
        a->memo = NULL;
        a->n_memo = a->cap_memo = 0;
}
