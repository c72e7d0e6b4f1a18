/* test_age_stream.c - end-to-end age encryption and decryption at STREAM edge sizes (0, 1, 64 KiB - 1,
 * 64 KiB, 64 KiB + 1, several chunks), with input fed in awkward pieces, armored and binary, several
 * recipients, scrypt, and the payload failures: truncation, trailing data, a flipped bit (only the
 * chunks before it are released). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "crypto/age.h"
#include "crypto/age_internal.h"

#define CHUNK 65536

static uint8_t *pattern(size_t n)
{
        uint8_t *p = malloc(n ? n : 1);
        uint32_t x = 2463534242u;
        for (size_t i = 0; i < n; i++) {
                x ^= x << 13;
                x ^= x >> 17;
                x ^= x << 5;
                p[i] = (uint8_t)x;
        }
        return p;
}

static int to_buf(void *ctx, const void *p, size_t n, struct ap_error *err)
{
        return ap_buf_add(ctx, p, n);
}

struct keys {
        struct ap_age_identity *id[2];
        struct ap_age_recipient *rc[2];
};

static void keys_new(struct keys *k)
{
        struct ap_error err = AP_ERROR_INIT;
        for (int i = 0; i < 2; i++) {
                assert_int_equal(ap_age_identity_generate(&k->id[i], &err), 0);
                assert_int_equal(ap_age_identity_to_recipient(k->id[i], &k->rc[i], &err), 0);
        }
}

static void keys_free(struct keys *k)
{
        for (int i = 0; i < 2; i++) {
                ap_age_identity_free(k->id[i]);
                ap_age_recipient_free(k->rc[i]);
        }
}

/* Encrypt with the plaintext fed in pieces of step bytes. */
static void encrypt_steps(struct ap_age_recipient *const *rc, size_t n_rc, const uint8_t *pt, size_t n,
                          size_t step, bool armor, struct ap_buf *out)
{
        struct ap_error err = AP_ERROR_INIT;
        struct ap_age_sink sink = {to_buf, out};
        struct ap_age_encryptor *e = NULL;
        assert_int_equal(ap_age_encryptor_new(rc, n_rc, armor, &sink, &e, &err), 0);
        for (size_t off = 0; off < n; off += step)
                assert_int_equal(ap_age_encryptor_update(e, pt + off, AP_MIN(step, n - off), &err), 0);
        assert_int_equal(ap_age_encryptor_final(e, &err), 0);
        ap_age_encryptor_free(e);
}

/* what the last decrypt_steps / decrypt_whole call said failed */
static enum ap_age_failure last_failure;

static int decrypt_steps(struct ap_age_identity *const *ids, size_t n_ids, const void *ct, size_t n,
                         size_t step, struct ap_buf *out)
{
        struct ap_error err = AP_ERROR_INIT;
        struct ap_age_sink sink = {to_buf, out};
        struct ap_age_decryptor *d = NULL;
        assert_int_equal(ap_age_decryptor_new(ids, n_ids, NULL, &sink, &d, &err), 0);
        int r = 0;
        for (size_t off = 0; r == 0 && off < n; off += step)
                r = ap_age_decryptor_update(d, (const char *)ct + off, AP_MIN(step, n - off), &err);
        if (r == 0)
                r = ap_age_decryptor_final(d, &err);
        last_failure = ap_age_decryptor_failure(d);
        if (r < 0)
                assert_int_equal(err.code, r);
        ap_age_decryptor_free(d);
        return r;
}

/* ap_age_decrypt, with the failure class kept in last_failure. */
static int decrypt_whole(struct ap_age_identity *const *ids, size_t n_ids, const void *ct, size_t n,
                         struct ap_buf *out, struct ap_error *err)
{
        struct ap_age_decrypt_opts opts = {.failure = &last_failure};
        return ap_age_decrypt_opts(ids, n_ids, &opts, ct, n, out, err);
}

static size_t payload_size(size_t n)
{
        size_t chunks = n == 0 ? 1 : (n + CHUNK - 1) / CHUNK;
        return AP_AGE_NONCE_LEN + n + chunks * AP_AGE_TAG_LEN;
}

static void test_edge_sizes(void **state)
{
        static const size_t sizes[] = {
            0, 1, 15, 16, 17, CHUNK - 1, CHUNK, CHUNK + 1, 2 * CHUNK, 2 * CHUNK + 1, 5 * CHUNK + 7};
        static const size_t steps[] = {1 << 30, 1, 7, 4096, CHUNK, CHUNK + 16, CHUNK + 17, 3 * CHUNK + 5};
        struct keys k;
        keys_new(&k);
        for (size_t i = 0; i < AP_ARRAY_SIZE(sizes); i++) {
                size_t n = sizes[i];
                uint8_t *pt = pattern(n);
                for (size_t s = 0; s < AP_ARRAY_SIZE(steps); s++) {
                        if (steps[s] < 4096 && n > 3 * CHUNK)
                                continue; /* byte-at-a-time on big inputs is just slow */
                        bool armor = s % 2;
                        _cleanup_buf_ struct ap_buf ct = AP_BUF_INIT, back = AP_BUF_INIT;
                        encrypt_steps(k.rc, 1, pt, n, steps[s], armor, &ct);
                        if (!armor) {
                                const char *end = memmem(ct.data, ct.len, "\n--- ", 5);
                                assert_non_null(end);
                                size_t hdr = (size_t)(end - ct.data) + 5 + 43 + 1;
                                assert_int_equal(ct.len - hdr, payload_size(n));
                        }
                        assert_int_equal(decrypt_steps(k.id, 1, ct.data, ct.len, steps[s], &back), 0);
                        assert_int_equal(back.len, n);
                        assert_memory_equal(back.data, pt, n);
                }
                free(pt);
        }
        keys_free(&k);
}

static void test_recipients_and_identities(void **state)
{
        struct keys k, other;
        keys_new(&k);
        keys_new(&other);
        struct ap_error err = AP_ERROR_INIT;
        _cleanup_buf_ struct ap_buf ct = AP_BUF_INIT, a = AP_BUF_INIT, b = AP_BUF_INIT, c = AP_BUF_INIT;
        assert_int_equal(ap_age_encrypt(k.rc, 2, "secret", 6, true, &ct, &err), 0);
        assert_int_equal(ap_age_decrypt(&k.id[0], 1, ct.data, ct.len, &a, &err), 0);
        assert_int_equal(ap_age_decrypt(&k.id[1], 1, ct.data, ct.len, &b, &err), 0);
        assert_string_equal(a.data, "secret");
        assert_string_equal(b.data, "secret");
        struct ap_age_identity *both[2] = {other.id[0], k.id[1]};
        assert_int_equal(ap_age_decrypt(both, 2, ct.data, ct.len, &c, &err), 0);
        ap_buf_reset(&c);
        assert_int_equal(decrypt_whole(other.id, 2, ct.data, ct.len, &c, &err), AP_E_NO_KEY);
        assert_int_equal(last_failure, AP_AGE_FAILURE_NO_MATCH);
        assert_int_equal(err.code, AP_E_NO_KEY);
        assert_int_equal(c.len, 0);
        assert_int_equal(decrypt_whole(NULL, 0, ct.data, ct.len, &c, &err), AP_E_NO_KEY);
        assert_int_equal(last_failure, AP_AGE_FAILURE_NO_MATCH);
        keys_free(&k);
        keys_free(&other);
}

static void test_payload_failures(void **state)
{
        struct keys k;
        keys_new(&k);
        size_t n = 3 * CHUNK + 100;
        uint8_t *pt = pattern(n);
        _cleanup_buf_ struct ap_buf ct = AP_BUF_INIT;
        encrypt_steps(k.rc, 1, pt, n, n, false, &ct);
        size_t payload_start = ct.len - payload_size(n) + AP_AGE_NONCE_LEN;

        /* truncated at every chunk boundary and inside chunks */
        static const size_t cut[] = {1, 15, 16, 17, 100, 100 + 16 + 1};
        for (size_t i = 0; i < AP_ARRAY_SIZE(cut); i++) {
                _cleanup_buf_ struct ap_buf back = AP_BUF_INIT;
                assert_int_equal(decrypt_steps(k.id, 1, ct.data, ct.len - cut[i], 1000, &back), AP_E_CORRUPT);
                assert_int_equal(last_failure, AP_AGE_FAILURE_PAYLOAD);
                assert_true(back.len <= n && memcmp(back.data, pt, back.len) == 0);
        }
        /* cut exactly after full chunks: no final chunk */
        for (size_t c = 0; c <= 3; c++) {
                _cleanup_buf_ struct ap_buf back = AP_BUF_INIT;
                size_t len = payload_start + c * (CHUNK + 16);
                assert_int_equal(decrypt_steps(k.id, 1, ct.data, len, CHUNK, &back), AP_E_CORRUPT);
                assert_int_equal(last_failure, AP_AGE_FAILURE_PAYLOAD);
                assert_int_equal(back.len, c * CHUNK);
        }
        /* no nonce or a short nonce is a header failure */
        {
                _cleanup_buf_ struct ap_buf back = AP_BUF_INIT;
                assert_int_equal(decrypt_steps(k.id, 1, ct.data, payload_start - 16, 64, &back),
                                 AP_E_CORRUPT);
                assert_int_equal(last_failure, AP_AGE_FAILURE_HEADER);
                assert_int_equal(decrypt_steps(k.id, 1, ct.data, payload_start - 3, 64, &back), AP_E_CORRUPT);
                assert_int_equal(last_failure, AP_AGE_FAILURE_HEADER);
        }
        /* trailing data */
        {
                _cleanup_buf_ struct ap_buf more = AP_BUF_INIT, back = AP_BUF_INIT;
                ap_buf_add(&more, ct.data, ct.len);
                ap_buf_addch(&more, 0);
                /* the short last chunk plus one byte no longer authenticates */
                assert_int_equal(decrypt_steps(k.id, 1, more.data, more.len, 7777, &back), AP_E_CORRUPT);
                assert_int_equal(last_failure, AP_AGE_FAILURE_PAYLOAD);
                assert_int_equal(back.len, 3 * CHUNK);
        }
        {
                /* a full-length final chunk is released, then the extra byte is refused */
                _cleanup_buf_ struct ap_buf full = AP_BUF_INIT, back = AP_BUF_INIT;
                encrypt_steps(k.rc, 1, pt, 2 * CHUNK, CHUNK, false, &full);
                ap_buf_addch(&full, 'x');
                assert_int_equal(decrypt_steps(k.id, 1, full.data, full.len, CHUNK + 16, &back),
                                 AP_E_CORRUPT);
                assert_int_equal(last_failure, AP_AGE_FAILURE_PAYLOAD);
                assert_int_equal(back.len, 2 * CHUNK);
                assert_memory_equal(back.data, pt, 2 * CHUNK);
        }
        /* a flipped bit in the third chunk releases exactly the first two */
        {
                _cleanup_buf_ struct ap_buf bad = AP_BUF_INIT, back = AP_BUF_INIT;
                ap_buf_add(&bad, ct.data, ct.len);
                bad.data[payload_start + 2 * (CHUNK + 16) + 5] ^= 1;
                assert_int_equal(decrypt_steps(k.id, 1, bad.data, bad.len, 100000, &back), AP_E_CORRUPT);
                assert_int_equal(last_failure, AP_AGE_FAILURE_PAYLOAD);
                assert_int_equal(back.len, 2 * CHUNK);
                assert_memory_equal(back.data, pt, 2 * CHUNK);
        }
        /* a flipped header byte: HMAC failure, nothing released */
        {
                _cleanup_buf_ struct ap_buf bad = AP_BUF_INIT, back = AP_BUF_INIT;
                ap_buf_add(&bad, ct.data, ct.len);
                char *share = strstr(bad.data, "X25519 ") + 7;
                /* change the share: the stanza no longer opens, so this is no match */
                share[0] = share[0] == 'A' ? 'B' : 'A';
                int r = decrypt_steps(k.id, 1, bad.data, bad.len, 100000, &back);
                assert_true((r == AP_E_NO_KEY && last_failure == AP_AGE_FAILURE_NO_MATCH) ||
                            (r == AP_E_CORRUPT && last_failure == AP_AGE_FAILURE_HEADER));
                assert_int_equal(back.len, 0);
        }
        free(pt);
        keys_free(&k);
}

static void test_header_mac(void **state)
{
        /* add a grease stanza to a valid file: the MAC no longer matches */
        struct keys k;
        keys_new(&k);
        struct ap_error err = AP_ERROR_INIT;
        _cleanup_buf_ struct ap_buf ct = AP_BUF_INIT, bad = AP_BUF_INIT, back = AP_BUF_INIT;
        assert_int_equal(ap_age_encrypt(k.rc, 1, "x", 1, false, &ct, &err), 0);
        size_t intro = strlen(AP_AGE_INTRO) + 1;
        ap_buf_add(&bad, ct.data, intro);
        ap_buf_addstr(&bad, "-> grease\n\n");
        ap_buf_add(&bad, ct.data + intro, ct.len - intro);
        assert_int_equal(decrypt_whole(k.id, 1, bad.data, bad.len, &back, &err), AP_E_CORRUPT);
        assert_int_equal(last_failure, AP_AGE_FAILURE_HMAC);
        keys_free(&k);
}

static void test_scrypt(void **state)
{
        struct ap_error err = AP_ERROR_INIT;
        struct ap_age_recipient *r = NULL;
        struct ap_age_identity *good = NULL, *wrong = NULL;
        assert_int_equal(ap_age_scrypt_recipient_new("hunter2", 7, 10, &r, &err), 0);
        assert_int_equal(ap_age_scrypt_identity_new("hunter2", 7, &good, &err), 0);
        assert_int_equal(ap_age_scrypt_identity_new("hunter3", 7, &wrong, &err), 0);
        _cleanup_buf_ struct ap_buf ct = AP_BUF_INIT, back = AP_BUF_INIT;
        assert_int_equal(ap_age_encrypt(&r, 1, "pass", 4, false, &ct, &err), 0);
        assert_non_null(strstr(ct.data, "\n-> scrypt "));
        assert_non_null(strstr(ct.data, " 10\n"));
        assert_int_equal(decrypt_whole(&wrong, 1, ct.data, ct.len, &back, &err), AP_E_NO_KEY);
        assert_int_equal(last_failure, AP_AGE_FAILURE_NO_MATCH);
        assert_int_equal(ap_age_decrypt(&good, 1, ct.data, ct.len, &back, &err), 0);
        assert_string_equal(back.data, "pass");
        /* scrypt must be the only recipient */
        struct keys k;
        keys_new(&k);
        struct ap_age_recipient *mix[2] = {r, k.rc[0]};
        assert_int_equal(ap_age_encrypt(mix, 2, "x", 1, false, &ct, &err), -EINVAL);
        assert_int_equal(ap_age_scrypt_recipient_new("", 0, 10, &r, &err), -EINVAL);
        keys_free(&k);
        ap_age_recipient_free(r);
        ap_age_identity_free(good);
        ap_age_identity_free(wrong);
}

static int ask(void *ctx, struct ap_buf *pass, struct ap_error *err)
{
        (*(int *)ctx)++;
        return ap_buf_addstr(pass, "correct horse");
}

static void test_passphrase_callback_and_fd(void **state)
{
        struct ap_error err = AP_ERROR_INIT;
        struct ap_age_recipient *r = NULL;
        assert_int_equal(ap_age_scrypt_recipient_new("correct horse", 13, 10, &r, &err), 0);
        int fds[2];
        assert_int_equal(pipe(fds), 0);
        size_t n = 3 * CHUNK + 3;
        uint8_t *pt = pattern(n);
        /* the pipe holds 64 KiB: write the plaintext from a child */
        pid_t pid = fork();
        if (pid == 0) {
                close(fds[0]);
                _exit(write(fds[1], pt, n) == (ssize_t)n ? 0 : 1);
        }
        close(fds[1]);
        _cleanup_buf_ struct ap_buf ct = AP_BUF_INIT, back = AP_BUF_INIT;
        struct ap_age_sink sink = {to_buf, &ct};
        assert_int_equal(ap_age_encrypt_fd(&r, 1, true, fds[0], "pipe", &sink, &err), 0);
        close(fds[0]);
        int calls = 0;
        struct ap_age_decrypt_opts opts = {
            .input = AP_AGE_INPUT_AUTO, .passphrase = ask, .passphrase_ctx = &calls};
        assert_int_equal(ap_age_decrypt_opts(NULL, 0, &opts, ct.data, ct.len, &back, &err), 0);
        assert_int_equal(calls, 1);
        assert_int_equal(back.len, n);
        assert_memory_equal(back.data, pt, n);
        /* armored input forced as binary fails as a header error; binary forced as armor as armor */
        opts.input = AP_AGE_INPUT_BINARY;
        opts.failure = &last_failure;
        assert_int_equal(ap_age_decrypt_opts(NULL, 0, &opts, ct.data, ct.len, &back, &err), AP_E_CORRUPT);
        assert_int_equal(last_failure, AP_AGE_FAILURE_HEADER);
        free(pt);
        ap_age_recipient_free(r);
}

/* The fd paths (whole-chunk double-buffered pump) at chunk-boundary sizes, both directions. */
static void test_fd_round_trip(void **state)
{
        static const size_t sizes[] = {
            0, 1, CHUNK - 1, CHUNK, CHUNK + 1, 2 * CHUNK, 2 * CHUNK + 1, 4 * CHUNK, 5 * CHUNK + 9};
        struct keys k;
        keys_new(&k);
        for (size_t i = 0; i < AP_ARRAY_SIZE(sizes); i++) {
                size_t n = sizes[i];
                uint8_t *pt = pattern(n);
                _cleanup_buf_ struct ap_buf ct = AP_BUF_INIT, back = AP_BUF_INIT;
                struct ap_error err = AP_ERROR_INIT;
                int in = memfd_create("pt", MFD_CLOEXEC);
                assert_true(in >= 0 && write(in, pt, n) == (ssize_t)n && lseek(in, 0, SEEK_SET) == 0);
                struct ap_age_sink sink = {to_buf, &ct};
                assert_int_equal(ap_age_encrypt_fd(k.rc, 2, false, in, "pt", &sink, &err), 0);
                close(in);
                assert_int_equal(ct.len - (size_t)(strstr(ct.data, "\n--- ") - ct.data) - 5 - 43 - 1,
                                 payload_size(n));
                int cin = memfd_create("ct", MFD_CLOEXEC);
                assert_true(cin >= 0 && write(cin, ct.data, ct.len) == (ssize_t)ct.len &&
                            lseek(cin, 0, SEEK_SET) == 0);
                struct ap_age_sink out = {to_buf, &back};
                assert_int_equal(ap_age_decrypt_fd(&k.id[1], 1, NULL, cin, "ct", &out, &err), 0);
                close(cin);
                assert_int_equal(back.len, n);
                assert_memory_equal(back.data, pt, n);
                free(pt);
        }
        keys_free(&k);
}

static int fd_of(const void *p, size_t n)
{
        int fd = memfd_create("data", MFD_CLOEXEC);
        assert_true(fd >= 0 && write(fd, p, n) == (ssize_t)n && lseek(fd, 0, SEEK_SET) == 0);
        return fd;
}

static int decrypt_fd_buf(struct ap_age_identity *id, const void *ct, size_t n, struct ap_buf *out,
                          struct ap_error *err)
{
        int fd = fd_of(ct, n);
        struct ap_age_sink sink = {to_buf, out};
        struct ap_age_decrypt_opts opts = {.failure = &last_failure};
        int r = ap_age_decrypt_fd(&id, 1, &opts, fd, "ct", &sink, err);
        close(fd);
        return r;
}

/* The pump with and without its helper thread, over several slots (4 chunks each): sizes around slot
 * boundaries both ways, and the payload failures at and across them, releasing exactly the chunks that
 * authenticated before the failure. */
static void test_fd_pump(void **state)
{
        static const size_t sizes[] = {
            0,         1,         4 * CHUNK - 1,  4 * CHUNK,          4 * CHUNK + 1,
            8 * CHUNK, 9 * CHUNK, 16 * CHUNK + 3, 17 * CHUNK - 16 * 5};
        struct keys k;
        keys_new(&k);
        size_t big = 17 * CHUNK + 100;
        uint8_t *pt = pattern(big);
        for (int threads = 0; threads <= 1; threads++) {
                ap_age_pump_threads = threads;
                for (size_t i = 0; i < AP_ARRAY_SIZE(sizes); i++) {
                        size_t n = sizes[i];
                        struct ap_error err = AP_ERROR_INIT;
                        _cleanup_buf_ struct ap_buf ct = AP_BUF_INIT, back = AP_BUF_INIT, ref = AP_BUF_INIT;
                        int in = fd_of(pt, n);
                        struct ap_age_sink sink = {to_buf, &ct};
                        assert_int_equal(ap_age_encrypt_fd(k.rc, 1, false, in, "pt", &sink, &err), 0);
                        close(in);
                        assert_int_equal(decrypt_fd_buf(k.id[0], ct.data, ct.len, &back, &err), 0);
                        assert_int_equal(back.len, n);
                        assert_memory_equal(back.data, pt, n);
                        assert_int_equal(decrypt_steps(k.id, 1, ct.data, ct.len, 1000, &ref), 0);
                        assert_int_equal(ref.len, n);
                }

                _cleanup_buf_ struct ap_buf ct = AP_BUF_INIT, full = AP_BUF_INIT;
                encrypt_steps(k.rc, 1, pt, big, big, false, &ct);
                size_t start = ct.len - payload_size(big) + AP_AGE_NONCE_LEN;
                /* cut after c whole chunks, and inside chunk c */
                for (size_t c = 0; c <= 17; c++) {
                        for (size_t extra = 0; extra <= 17; extra += 17) {
                                struct ap_error err = AP_ERROR_INIT;
                                _cleanup_buf_ struct ap_buf back = AP_BUF_INIT;
                                size_t len = start + c * (CHUNK + 16) + extra;
                                assert_int_equal(decrypt_fd_buf(k.id[0], ct.data, len, &back, &err),
                                                 AP_E_CORRUPT);
                                assert_int_equal(last_failure, AP_AGE_FAILURE_PAYLOAD);
                                assert_int_equal(err.code, AP_E_CORRUPT);
                                assert_int_equal(back.len, c * CHUNK);
                                assert_memory_equal(back.data, pt, back.len);
                        }
                }
                /* a flipped bit in chunk c releases the c chunks before it */
                static const size_t flip[] = {0, 1, 3, 4, 5, 8, 15, 16, 17};
                for (size_t i = 0; i < AP_ARRAY_SIZE(flip); i++) {
                        struct ap_error err = AP_ERROR_INIT;
                        _cleanup_buf_ struct ap_buf bad = AP_BUF_INIT, back = AP_BUF_INIT;
                        ap_buf_add(&bad, ct.data, ct.len);
                        size_t body = flip[i] == 17 ? 100 : CHUNK; /* the last chunk is short */
                        /* in the body, or in the tag */
                        bad.data[start + flip[i] * (CHUNK + 16) + (i % 2 ? 7 : body + 3)] ^= 1;
                        assert_int_equal(decrypt_fd_buf(k.id[0], bad.data, bad.len, &back, &err),
                                         AP_E_CORRUPT);
                        assert_int_equal(last_failure, AP_AGE_FAILURE_PAYLOAD);
                        assert_int_equal(back.len, flip[i] * CHUNK);
                        assert_memory_equal(back.data, pt, back.len);
                }
                /* full-length final chunks at and inside a slot, then one byte more: released, then refused
                 */
                static const size_t whole[] = {4, 6, 8};
                for (size_t i = 0; i < AP_ARRAY_SIZE(whole); i++) {
                        struct ap_error err = AP_ERROR_INIT;
                        _cleanup_buf_ struct ap_buf w = AP_BUF_INIT, back = AP_BUF_INIT;
                        encrypt_steps(k.rc, 1, pt, whole[i] * CHUNK, CHUNK, false, &w);
                        ap_buf_addch(&w, 'x');
                        assert_int_equal(decrypt_fd_buf(k.id[0], w.data, w.len, &back, &err), AP_E_CORRUPT);
                        assert_int_equal(last_failure, AP_AGE_FAILURE_PAYLOAD);
                        assert_non_null(strstr(err.msg, "trailing data"));
                        assert_int_equal(back.len, whole[i] * CHUNK);
                        assert_memory_equal(back.data, pt, back.len);
                }
        }
        ap_age_pump_threads = -1;
        free(pt);
        keys_free(&k);
}

struct failing_sink {
        int calls_left;
        size_t got;
        size_t limit; /* also fail a call that would go past this many bytes (0: no limit) */
};

static int failing_write(void *ctx, const void *p, size_t n, struct ap_error *err)
{
        struct failing_sink *f = ctx;
        if (f->calls_left-- <= 0 || (f->limit && f->got + n > f->limit))
                return ap_error_set(err, -ENOSPC, "no space left for 'sink'");
        f->got += n;
        return 0;
}

/* Sink and read failures end the pump with their error (no hang, no leak), in both modes. */
static void test_fd_pump_failures(void **state)
{
        struct keys k;
        keys_new(&k);
        size_t n = 13 * CHUNK + 5;
        uint8_t *pt = pattern(n);
        for (int threads = 0; threads <= 1; threads++) {
                ap_age_pump_threads = threads;
                for (int calls = 0; calls < 5; calls++) { /* the header, then 4 slots */
                        struct ap_error err = AP_ERROR_INIT;
                        struct failing_sink f = {calls, 0, 0};
                        struct ap_age_sink sink = {failing_write, &f};
                        int in = fd_of(pt, n);
                        assert_int_equal(ap_age_encrypt_fd(k.rc, 1, false, in, "pt", &sink, &err), -ENOSPC);
                        assert_string_equal(err.msg, "no space left for 'sink'");
                        close(in);
                }
                /* a sink that fails is the sink's failure, not the file's */
                {
                        struct ap_error err = AP_ERROR_INIT;
                        _cleanup_buf_ struct ap_buf ct = AP_BUF_INIT;
                        encrypt_steps(k.rc, 1, pt, n, n, false, &ct);
                        int in = fd_of(ct.data, ct.len);
                        struct failing_sink f = {1, 0, 0};
                        struct ap_age_sink sink = {failing_write, &f};
                        struct ap_age_decrypt_opts opts = {.failure = &last_failure};
                        assert_int_equal(ap_age_decrypt_fd(&k.id[0], 1, &opts, in, "ct", &sink, &err),
                                         -ENOSPC);
                        assert_int_equal(last_failure, AP_AGE_FAILURE_NONE);
                        close(in);
                }
                /* a chunk fails in the second slot and the sink refuses its partial output: the payload
                 * failure is what is reported */
                {
                        struct ap_error err = AP_ERROR_INIT;
                        _cleanup_buf_ struct ap_buf ct = AP_BUF_INIT;
                        encrypt_steps(k.rc, 1, pt, n, n, false, &ct);
                        ct.data[ct.len - payload_size(n) + AP_AGE_NONCE_LEN + 6 * (CHUNK + 16) + 9] ^= 1;
                        int in = fd_of(ct.data, ct.len);
                        struct failing_sink f = {100, 0, 5 * CHUNK};
                        struct ap_age_sink sink = {failing_write, &f};
                        struct ap_age_decrypt_opts opts = {.failure = &last_failure};
                        assert_int_equal(ap_age_decrypt_fd(&k.id[0], 1, &opts, in, "ct", &sink, &err),
                                         AP_E_CORRUPT);
                        assert_int_equal(last_failure, AP_AGE_FAILURE_PAYLOAD);
                        assert_non_null(strstr(err.msg, "failed to decrypt and authenticate"));
                        assert_true(f.got < 6 * CHUNK);
                        close(in);
                }
                struct ap_error err = AP_ERROR_INIT;
                _cleanup_buf_ struct ap_buf ct = AP_BUF_INIT;
                struct ap_age_sink sink = {to_buf, &ct};
                int dir = open(".", O_RDONLY | O_DIRECTORY);
                assert_true(dir >= 0);
                assert_int_equal(ap_age_encrypt_fd(k.rc, 1, false, dir, "dir", &sink, &err), -EISDIR);
                assert_non_null(strstr(err.msg, "cannot read 'dir'"));
                close(dir);
        }
        ap_age_pump_threads = -1;
        free(pt);
        keys_free(&k);
}

/* A failure must not wait for a pipe that stalls: the helper may be blocked reading the next slot when the
 * calling thread's slot fails to authenticate. */
static void test_fd_pump_stalled_pipe(void **state)
{
        struct keys k;
        keys_new(&k);
        size_t n = 9 * CHUNK;
        uint8_t *pt = pattern(n);
        _cleanup_buf_ struct ap_buf ct = AP_BUF_INIT, back = AP_BUF_INIT;
        encrypt_steps(k.rc, 1, pt, n, n, false, &ct);
        size_t start = ct.len - payload_size(n) + AP_AGE_NONCE_LEN;
        ct.data[start + (CHUNK + 16) + 100] ^= 1; /* chunk 1, in the first slot */
        size_t sent = start + 6 * (CHUNK + 16);   /* the second slot is only half there */
        int fds[2];
        assert_int_equal(pipe(fds), 0);
        pid_t pid = fork();
        if (pid == 0) {
                close(fds[0]);
                if (write(fds[1], ct.data, sent) != (ssize_t)sent)
                        _exit(1);
                pause(); /* the pipe stays open and silent */
                _exit(0);
        }
        close(fds[1]);
        ap_age_pump_threads = 1;
        struct ap_error err = AP_ERROR_INIT;
        struct ap_age_sink sink = {to_buf, &back};
        struct ap_age_decrypt_opts opts = {.failure = &last_failure};
        assert_int_equal(ap_age_decrypt_fd(&k.id[0], 1, &opts, fds[0], "pipe", &sink, &err), AP_E_CORRUPT);
        assert_int_equal(last_failure, AP_AGE_FAILURE_PAYLOAD);
        assert_int_equal(back.len, CHUNK);
        ap_age_pump_threads = -1;
        kill(pid, SIGKILL);
        waitpid(pid, NULL, 0);
        close(fds[0]);
        free(pt);
        keys_free(&k);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_edge_sizes),       cmocka_unit_test(test_recipients_and_identities),
            cmocka_unit_test(test_payload_failures), cmocka_unit_test(test_header_mac),
            cmocka_unit_test(test_scrypt),           cmocka_unit_test(test_passphrase_callback_and_fd),
            cmocka_unit_test(test_fd_round_trip),    cmocka_unit_test(test_fd_pump),
            cmocka_unit_test(test_fd_pump_failures), cmocka_unit_test(test_fd_pump_stalled_pipe),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
