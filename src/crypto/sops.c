/* sops.c - SOPS file encryption and decryption (sops.h): load the store, unwrap or create the data key with
 * age, walk the tree, seal or check the MAC, write the metadata and the store back. */
#include "sops.h"

#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sops_meta.h"
#include "sops_shamir.h"
#include "sops_yaml.h"

#define SHARE_LEN (AP_SOPS_KEY_LEN + 1)

static size_t limit(size_t max_size)
{
        return max_size ? max_size : AP_SOPS_MAX_SIZE_DEFAULT;
}

/* encrypted: a file sops may have written, read the way sops reads it (a JSON key may repeat); otherwise a
 * plaintext document to encrypt, where a repeated key is refused. */
static int load(const char *in, size_t n, enum ap_sops_format f, bool encrypted, size_t max,
                struct ap_sops_docs *docs, struct ap_error *err)
{
        if (n > max)
                return ap_error_set(err, AP_E_TOO_LARGE,
                                    "the document is %zu bytes, more than the limit of %zu", n, max);
        int r = f == AP_SOPS_FORMAT_JSON
                    ? ap_sops_json_load(in, n, encrypted ? AP_SOPS_JSON_KEEP_DUPLICATES : 0, docs, err)
                    : ap_sops_yaml_load(in, n, docs, err);
        if (r < 0)
                ap_error_prefix(err, "cannot parse %s", f == AP_SOPS_FORMAT_JSON ? "JSON" : "YAML");
        return r;
}

static int emit(const struct ap_sops_docs *docs, enum ap_sops_format f, int yaml_indent, int json_indent,
                struct ap_buf *out, struct ap_error *err)
{
        int r;
        if (f == AP_SOPS_FORMAT_YAML)
                r = ap_sops_yaml_emit(docs, yaml_indent, out, err);
        else if (docs->n != 1)
                return ap_error_set(err, AP_E_INVALID, "cannot write %zu YAML documents as one JSON document",
                                    docs->n);
        else
                r = ap_sops_json_emit(docs->docs[0], json_indent, out, err);
        if (r == -E2BIG)
                return ap_error_set(err, AP_E_TOO_LARGE, "the output is larger than the limit of %zu bytes",
                                    out->max);
        return r;
}

/* Append text to the caller's out (which may have a smaller limit of its own). */
static int hand_out(struct ap_buf *out, const struct ap_buf *text, struct ap_error *err)
{
        int r = ap_buf_add(out, text->data, text->len);
        if (r == -E2BIG)
                return ap_error_set(err, AP_E_TOO_LARGE,
                                    "the output is %zu bytes, more than the limit of %zu", text->len,
                                    out->max);
        return r < 0 ? ap_error_set(err, r, "out of memory") : 0;
}

static int openssl_random(void *ctx, void *buf, size_t n)
{
        (void)ctx;
        return RAND_bytes(buf, (int)n) == 1 ? 0 : -EIO;
}

/* ---- the data key ---- */

/* Open one age entry; the result (key or share) goes to out. */
static int open_entry(const struct ap_sops_age_entry *e, struct ap_age_identity *const *ids, size_t n_ids,
                      struct ap_buf *out, struct ap_error *err)
{
        ap_buf_reset(out);
        return ap_age_decrypt(ids, n_ids, e->enc, strlen(e->enc), out, err);
}

static void list_recipients(const struct ap_sops_meta *m, struct ap_buf *b)
{
        for (size_t g = 0; g < m->n_groups; g++)
                for (size_t i = 0; i < m->groups[g].n_age; i++)
                        ap_buf_printf(b, "%s%s", b->len ? ", " : "", m->groups[g].age[i].recipient);
        if (!b->len)
                ap_buf_addstr(b, "none of type age");
}

static int data_key(const struct ap_sops_meta *m, struct ap_age_identity *const *ids, size_t n_ids,
                    uint8_t key[AP_SOPS_KEY_LEN], struct ap_error *err)
{
        size_t want =
            m->n_groups == 1 ? 1 : (m->shamir_threshold > 0 ? (size_t)m->shamir_threshold : m->n_groups);
        size_t len = m->n_groups == 1 ? AP_SOPS_KEY_LEN : SHARE_LEN;
        _cleanup_buf_ struct ap_buf got = AP_BUF_INIT_SECRET;
        _cleanup_buf_ struct ap_buf one = AP_BUF_INIT_SECRET;
        _cleanup_buf_ struct ap_buf why = AP_BUF_INIT;
        size_t have = 0;
        for (size_t g = 0; g < m->n_groups && have < want; g++) {
                for (size_t i = 0; i < m->groups[g].n_age; i++) {
                        struct ap_error e = AP_ERROR_INIT;
                        int r = open_entry(&m->groups[g].age[i], ids, n_ids, &one, &e);
                        if (r == 0 && one.len != len) {
                                r = AP_E_CORRUPT;
                                ap_error_set(&e, r, "the age file holds %zu bytes, not a %zu-byte %s",
                                             one.len, len, len == AP_SOPS_KEY_LEN ? "data key" : "key share");
                        }
                        if (r == 0) {
                                if (ap_buf_add(&got, one.data, one.len) < 0)
                                        return ap_error_set(err, -ENOMEM, "out of memory");
                                have++;
                                break;
                        }
                        if (r != AP_E_NO_KEY)
                                ap_buf_printf(&why, "; recipient '%s': %s", m->groups[g].age[i].recipient,
                                              ap_error_message(&e));
                }
        }
        if (have < want) {
                _cleanup_buf_ struct ap_buf rec = AP_BUF_INIT;
                list_recipients(m, &rec);
                if (n_ids == 0)
                        return ap_error_set(
                            err, AP_E_NO_KEY,
                            "no age identity was given to decrypt the data key (recipients: %s)%s", rec.data,
                            why.data);
                return ap_error_set(err, AP_E_NO_KEY,
                                    "none of the %zu age identities opens the data key (recipients: %s)%s%s",
                                    n_ids, rec.data, want > 1 ? " for enough key groups" : "", why.data);
        }
        if (want == 1 && m->n_groups == 1) {
                memcpy(key, got.data, AP_SOPS_KEY_LEN);
                return 0;
        }
        const uint8_t *shares[AP_SOPS_KEY_GROUPS_MAX];
        if (have > AP_ARRAY_SIZE(shares)) /* ap_sops_meta_extract bounds n_groups, so have too */
                return ap_error_set(err, AP_E_TOO_LARGE, "%zu key group shares, more than %d", have,
                                    AP_SOPS_KEY_GROUPS_MAX);
        for (size_t i = 0; i < have; i++)
                shares[i] = (const uint8_t *)got.data + i * SHARE_LEN;
        _cleanup_buf_ struct ap_buf secret = AP_BUF_INIT_SECRET;
        if (ap_sops_shamir_combine(shares, have, SHARE_LEN, &secret) < 0 || secret.len != AP_SOPS_KEY_LEN)
                return ap_error_set(err, AP_E_CORRUPT, "cannot combine the key group shares (Shamir)");
        memcpy(key, secret.data, AP_SOPS_KEY_LEN);
        return 0;
}

/* ---- decrypt ---- */

/* A decrypted file: plaintext documents, metadata, data key and (optionally) the IVs seen. */
struct opened {
        struct ap_sops_docs docs;
        struct ap_sops_meta meta;
        uint8_t key[AP_SOPS_KEY_LEN];
};

static void opened_release(struct opened *o)
{
        ap_sops_docs_release(&o->docs);
        ap_sops_meta_release(&o->meta);
        OPENSSL_cleanse(o->key, sizeof(o->key));
}

/* How to open a file: its store, the keys, the limit, whether to check the MAC. */
struct open_args {
        enum ap_sops_format format;
        struct ap_age_identity *const *ids;
        size_t n_ids;
        bool ignore_mac;
        size_t max;
        struct ap_sops_stash *stash; /* filled with the IVs seen, when set */
        bool *mac_failed;            /* set when the MAC alone failed, when set */
};

static int open_file(const char *in, size_t n, const struct open_args *a, struct opened *o,
                     struct ap_error *err)
{
        int r = load(in, n, a->format, true, a->max, &o->docs, err);
        if (r == 0)
                r = ap_sops_meta_extract(&o->docs, &o->meta, err);
        if (r == 0)
                r = data_key(&o->meta, a->ids, a->n_ids, o->key, err);
        if (r < 0)
                return r;
        struct ap_sops_rule rule;
        r = ap_sops_rule_init(&rule, o->meta.rule, o->meta.rule_value, err);
        if (r < 0)
                return r;
        _cleanup_(ap_sops_cipher_freep) struct ap_sops_cipher *c = NULL;
        r = ap_sops_cipher_new(o->key, &c);
        struct ap_sops_walk w = {.rule = &rule,
                                 .mac_only_encrypted = o->meta.mac_only_encrypted,
                                 .cipher = c,
                                 .stash = a->stash,
                                 .max_value = a->max};
        char mac[AP_SOPS_MAC_HEX_LEN + 1];
        if (r < 0)
                ap_error_set(err, r, "out of memory");
        else
                r = ap_sops_walk_decrypt(&w, &o->docs, mac, err);
        ap_sops_rule_release(&rule);
        if (r < 0 || a->ignore_mac)
                return r;
        _cleanup_buf_ struct ap_buf aad = AP_BUF_INIT;
        if (!o->meta.mac || !o->meta.mac[0])
                r = ap_error_set(err, AP_E_CORRUPT,
                                 "the file has no MAC: it was not written by sops, or the MAC was removed");
        else if ((r = ap_sops_meta_lastmodified_aad(&o->meta, &aad, err)) == 0)
                r = ap_sops_mac_verify(c, o->meta.mac, strlen(o->meta.mac), aad.data, mac, err);
        if (r == AP_E_CORRUPT && a->mac_failed)
                *a->mac_failed = true;
        return r;
}

int ap_sops_decrypt(const char *in, size_t n, const struct ap_sops_decrypt_opts *o, struct ap_buf *out,
                    struct ap_error *err)
{
        struct opened f = {.docs = AP_SOPS_DOCS_INIT};
        const struct open_args a = {.format = o->input,
                                    .ids = o->identities,
                                    .n_ids = o->n_identities,
                                    .ignore_mac = o->ignore_mac,
                                    .max = limit(o->max_size),
                                    .mac_failed = o->mac_failed};
        if (o->mac_failed)
                *o->mac_failed = false;
        int r = open_file(in, n, &a, &f, err);
        _cleanup_buf_ struct ap_buf text = AP_BUF_INIT_SECRET;
        text.max = a.max;
        if (r == 0)
                r = emit(&f.docs, o->output, o->yaml_indent, o->json_indent, &text, err);
        if (r == 0)
                r = hand_out(out, &text, err);
        opened_release(&f);
        return r;
}

/* ---- encrypt ---- */

static int random_key(const struct ap_sops_encrypt_opts *o, uint8_t key[AP_SOPS_KEY_LEN],
                      struct ap_error *err)
{
        int r = (o->random ? o->random : openssl_random)(o->random_ctx, key, AP_SOPS_KEY_LEN);
        return r < 0 ? ap_error_set(err, -EIO, "cannot get random bytes for the data key") : 0;
}

static int format_now(long long now, struct ap_buf *out)
{
        time_t t = now ? (time_t)now : time(NULL);
        struct tm tm;
        if (!gmtime_r(&t, &tm))
                return -EINVAL;
        return ap_buf_printf(out, "%04d-%02d-%02dT%02d:%02d:%02dZ", tm.tm_year + 1900, tm.tm_mon + 1,
                             tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

static int wrap_for(struct ap_sops_meta *m, size_t g, struct ap_age_recipient *rcp, const uint8_t *secret,
                    size_t len, struct ap_error *err)
{
        _cleanup_buf_ struct ap_buf enc = AP_BUF_INIT;
        _cleanup_buf_ struct ap_buf name = AP_BUF_INIT;
        int r = ap_age_recipient_format(rcp, &name);
        if (r < 0)
                return ap_error_set(err, r, "cannot format an age recipient");
        r = ap_age_encrypt(&rcp, 1, secret, len, true, &enc, err);
        if (r < 0)
                return ap_error_prefix(err, "cannot encrypt the data key to '%s'", name.data);
        r = ap_sops_meta_add_age(m, g, name.data, enc.data);
        return r < 0 ? ap_error_set(err, r, "out of memory") : 0;
}

/* Key groups for a fresh data key: one group, or Shamir shares across several. */
static int wrap_key(const struct ap_sops_encrypt_opts *o, const uint8_t key[AP_SOPS_KEY_LEN],
                    struct ap_sops_meta *m, struct ap_error *err)
{
        struct ap_sops_recipient_group single = {o->recipients, o->n_recipients};
        const struct ap_sops_recipient_group *groups = o->n_groups ? o->groups : &single;
        size_t n_groups = o->n_groups ? o->n_groups : 1;
        size_t total = 0;
        for (size_t g = 0; g < n_groups; g++)
                total += groups[g].n;
        if (total == 0)
                return ap_error_set(err, AP_E_INVALID, "no age recipient to encrypt to");
        if (n_groups > AP_SOPS_KEY_GROUPS_MAX)
                return ap_error_set(err, AP_E_TOO_LARGE,
                                    "%zu key groups, more than the %d Shamir's scheme can "
                                    "share a data key between",
                                    n_groups, AP_SOPS_KEY_GROUPS_MAX);
        unsigned threshold = o->shamir_threshold > 0 ? (unsigned)o->shamir_threshold : (unsigned)n_groups;
        if (n_groups > 1 && (threshold < 2 || threshold > n_groups))
                return ap_error_set(err, -EINVAL, "shamir threshold %u does not fit %zu key groups",
                                    threshold, n_groups);
        _cleanup_buf_ struct ap_buf share_buf = AP_BUF_INIT_SECRET; /* wiped whatever happens */
        uint8_t *shares = NULL;
        if (n_groups > 1) {
                if (ap_buf_grow(&share_buf, n_groups * SHARE_LEN) < 0)
                        return ap_error_set(err, -ENOMEM, "out of memory");
                shares = (uint8_t *)share_buf.data;
                share_buf.len = n_groups * SHARE_LEN; /* so that release wipes them all */
                if (ap_sops_shamir_split(key, AP_SOPS_KEY_LEN, (unsigned)n_groups, threshold,
                                         o->random ? o->random : openssl_random, o->random_ctx, shares) < 0)
                        return ap_error_set(err, -EIO, "cannot split the data key");
                m->shamir_threshold = (int)threshold;
        }
        int r = 0;
        for (size_t g = 0; r == 0 && g < n_groups; g++) {
                struct ap_sops_key_group *grp = realloc(m->groups, (m->n_groups + 1) * sizeof(*grp));
                if (!grp) {
                        r = ap_error_set(err, -ENOMEM, "out of memory");
                        break;
                }
                m->groups = grp;
                m->groups[m->n_groups++] = (struct ap_sops_key_group){0};
                for (size_t i = 0; r == 0 && i < groups[g].n; i++)
                        r = wrap_for(m, g, groups[g].recipients[i],
                                     n_groups > 1 ? shares + g * SHARE_LEN : key,
                                     n_groups > 1 ? SHARE_LEN : AP_SOPS_KEY_LEN, err);
        }
        return r;
}

static bool same_recipients(const struct ap_sops_meta *m, const char *const *want, size_t n)
{
        if (m->n_groups != 1 || m->groups[0].n_age != n || m->groups[0].n_other != 0)
                return false;
        for (size_t i = 0; i < n; i++) {
                bool found = false;
                for (size_t j = 0; j < n && !found; j++)
                        found = strcmp(m->groups[0].age[j].recipient, want[i]) == 0;
                if (!found)
                        return false;
        }
        return true;
}

/* Reuse the data key, age entries and IVs of an earlier encryption to the same recipients. */
static int adopt_previous(const struct ap_sops_encrypt_opts *o, struct opened *prev,
                          struct ap_sops_stash **stash, bool *adopted, struct ap_error *err)
{
        *adopted = false;
        if (!o->previous || o->n_groups > 0)
                return 0;
        _cleanup_free_ char **names = calloc(o->n_recipients ? o->n_recipients : 1, sizeof(char *));
        if (!names)
                return ap_error_set(err, -ENOMEM, "out of memory");
        const struct open_args a = {.format = o->output,
                                    .ids = o->identities,
                                    .n_ids = o->n_identities,
                                    .max = limit(o->max_size),
                                    .stash = NULL};
        int r = ap_sops_stash_new(stash);
        if (r < 0)
                return ap_error_set(err, r, "out of memory");
        struct open_args with_stash = a;
        with_stash.stash = *stash;
        r = open_file(o->previous, o->previous_len, &with_stash, prev, err);
        if (r < 0) {
                ap_error_prefix(err, "cannot open the previous version");
                return r;
        }
        for (size_t i = 0; r == 0 && i < o->n_recipients; i++) {
                _cleanup_buf_ struct ap_buf b = AP_BUF_INIT;
                r = ap_age_recipient_format(o->recipients[i], &b);
                names[i] = r == 0 ? ap_buf_detach(&b, NULL) : NULL;
                if (r == 0 && !names[i])
                        r = -ENOMEM;
        }
        if (r == 0)
                *adopted = same_recipients(&prev->meta, (const char *const *)names, o->n_recipients) &&
                           prev->meta.mac_only_encrypted == o->mac_only_encrypted;
        for (size_t i = 0; i < o->n_recipients; i++)
                free(names[i]);
        if (!*adopted)
                *stash = ap_sops_stash_free(*stash);
        return r < 0 ? ap_error_set(err, r, "out of memory") : 0;
}

static int copy_groups(const struct ap_sops_meta *from, struct ap_sops_meta *to)
{
        for (size_t g = 0; g < from->n_groups; g++) {
                struct ap_sops_key_group *grp = realloc(to->groups, (to->n_groups + 1) * sizeof(*grp));
                if (!grp)
                        return -ENOMEM;
                to->groups = grp;
                to->groups[to->n_groups++] = (struct ap_sops_key_group){0};
                for (size_t i = 0; i < from->groups[g].n_age; i++) {
                        int r = ap_sops_meta_add_age(to, g, from->groups[g].age[i].recipient,
                                                     from->groups[g].age[i].enc);
                        if (r < 0)
                                return r;
                }
        }
        return 0;
}

int ap_sops_encrypt(const char *in, size_t n, const struct ap_sops_encrypt_opts *o, struct ap_buf *out,
                    struct ap_error *err)
{
        struct ap_sops_docs docs = AP_SOPS_DOCS_INIT;
        struct ap_sops_meta meta = {0};
        struct opened prev = {.docs = AP_SOPS_DOCS_INIT};
        _cleanup_(ap_sops_stash_freep) struct ap_sops_stash *stash = NULL;
        _cleanup_(ap_sops_cipher_freep) struct ap_sops_cipher *c = NULL;
        _cleanup_buf_ struct ap_buf text = AP_BUF_INIT;
        _cleanup_buf_ struct ap_buf lastmod = AP_BUF_INIT;
        _cleanup_buf_ struct ap_buf mac_enc = AP_BUF_INIT;
        struct ap_sops_rule rule = {0};
        uint8_t key[AP_SOPS_KEY_LEN];
        char mac[AP_SOPS_MAC_HEX_LEN + 1];
        bool adopted = false;
        text.max = limit(o->max_size);
        int r = load(in, n, o->input, false, text.max, &docs, err);
        if (r == 0 && docs.n == 0)
                r = ap_error_set(err, -EINVAL, "there is no document to encrypt");
        for (size_t d = 0; r == 0 && d < docs.n; d++)
                if (ap_sops_map_get(docs.docs[d], "sops"))
                        r = ap_error_set(err, -EEXIST,
                                         "document %zu has a top-level 'sops' key: the file is already "
                                         "encrypted (or uses the key sops reserves for its metadata)",
                                         d + 1);
        if (r == 0)
                r = ap_sops_rule_init(&rule, o->rule, o->rule_value, err);
        if (r == 0)
                r = adopt_previous(o, &prev, &stash, &adopted, err);
        if (r == 0 && adopted) {
                memcpy(key, prev.key, sizeof(key));
                if (copy_groups(&prev.meta, &meta) < 0)
                        r = ap_error_set(err, -ENOMEM, "out of memory");
        } else if (r == 0) {
                r = random_key(o, key, err);
                if (r == 0)
                        r = wrap_key(o, key, &meta, err);
        }
        if (r == 0 && (r = ap_sops_cipher_new(key, &c)) < 0)
                ap_error_set(err, r, "out of memory");
        struct ap_sops_walk w = {.rule = &rule,
                                 .mac_only_encrypted = o->mac_only_encrypted,
                                 .cipher = c,
                                 .random = o->random ? o->random : openssl_random,
                                 .random_ctx = o->random_ctx,
                                 .stash = stash,
                                 .max_value = text.max};
        if (r == 0)
                r = ap_sops_walk_encrypt(&w, &docs, mac, err);
        if (r == 0 && format_now(o->now, &lastmod) < 0)
                r = ap_error_set(err, -EINVAL, "cannot format the current time");
        if (r == 0 && (r = ap_sops_mac_seal(&w, mac, lastmod.data, &mac_enc)) < 0)
                ap_error_set(err, r, "cannot encrypt the MAC");
        if (r == 0) {
                meta.lastmodified = strdup(lastmod.data);
                meta.mac = strdup(mac_enc.data);
                meta.rule = o->rule;
                meta.rule_value = o->rule_value ? strdup(o->rule_value) : NULL;
                meta.mac_only_encrypted = o->mac_only_encrypted;
                if (!meta.lastmodified || !meta.mac || (o->rule_value && !meta.rule_value))
                        r = ap_error_set(err, -ENOMEM, "out of memory");
        }
        if (r == 0)
                r = ap_sops_meta_attach(&docs, &meta, err);
        if (r == 0)
                r = emit(&docs, o->output, o->yaml_indent, o->json_indent, &text, err);
        if (r == 0)
                r = hand_out(out, &text, err);
        OPENSSL_cleanse(key, sizeof(key));
        ap_sops_rule_release(&rule);
        ap_sops_meta_release(&meta);
        ap_sops_docs_release(&docs);
        opened_release(&prev);
        return r;
}

/* ---- matching ---- */

static void clear_inline(struct ap_sops_node *n)
{
        n->inline_comment = false;
        for (size_t i = 0; i < n->n; i++)
                clear_inline(n->kids[i]);
}

int ap_sops_matches(const char *committed, size_t committed_len, const char *plaintext, size_t plaintext_len,
                    const struct ap_sops_match_opts *o, bool *ret_match, struct ap_error *err)
{
        struct opened f = {.docs = AP_SOPS_DOCS_INIT};
        struct ap_sops_docs plain = AP_SOPS_DOCS_INIT;
        _cleanup_buf_ struct ap_buf a = AP_BUF_INIT_SECRET;
        _cleanup_buf_ struct ap_buf b = AP_BUF_INIT_SECRET;
        const struct open_args args = {
            .format = o->format, .ids = o->identities, .n_ids = o->n_identities, .max = limit(o->max_size)};
        a.max = b.max = args.max;
        int r = open_file(committed, committed_len, &args, &f, err);
        if (r == 0)
                r = load(plaintext, plaintext_len, o->format, false, args.max, &plain, err);
        bool match = false;
        if (r == 0) {
                enum ap_sops_rule_kind want =
                    o->rule == AP_SOPS_RULE_NONE ? AP_SOPS_UNENCRYPTED_SUFFIX : o->rule;
                const char *want_v =
                    o->rule == AP_SOPS_RULE_NONE ? AP_SOPS_DEFAULT_UNENCRYPTED_SUFFIX : o->rule_value;
                enum ap_sops_rule_kind have =
                    f.meta.rule == AP_SOPS_RULE_NONE ? AP_SOPS_UNENCRYPTED_SUFFIX : f.meta.rule;
                const char *have_v =
                    f.meta.rule == AP_SOPS_RULE_NONE ? AP_SOPS_DEFAULT_UNENCRYPTED_SUFFIX : f.meta.rule_value;
                match = same_recipients(&f.meta, o->recipients, o->n_recipients) && want == have &&
                        strcmp(want_v ? want_v : "", have_v ? have_v : "") == 0 &&
                        f.meta.mac_only_encrypted == o->mac_only_encrypted;
        }
        for (size_t d = 0; r == 0 && d < f.docs.n; d++)
                clear_inline(f.docs.docs[d]);
        for (size_t d = 0; r == 0 && d < plain.n; d++)
                clear_inline(plain.docs[d]);
        if (r == 0 && match)
                r = emit(&f.docs, AP_SOPS_FORMAT_YAML, 0, 0, &a, err);
        if (r == 0 && match)
                r = emit(&plain, AP_SOPS_FORMAT_YAML, 0, 0, &b, err);
        if (r == 0)
                *ret_match = match && a.len == b.len && CRYPTO_memcmp(a.data, b.data, a.len) == 0;
        ap_sops_docs_release(&plain);
        opened_release(&f);
        return r;
}
