/* test_age_cctv.c - runs every C2SP/CCTV age vector (the testdata/ folder of the Go module
 * c2sp.org/CCTV/age, fetched into the cache by `tools/peers/build cctv-age`, whose folder $AP_CCTV_AGE_DIR
 * names; unset: the test is skipped, named but unreadable: it fails): the result class must equal "expect"
 * and the SHA-256 of the plaintext released must equal "payload". Post-quantum vectors must come out as
 * unsupported (counted, never success). Prints one TAP line per vector. */
#include <dirent.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include <zlib.h>

#include "base/fileio.h"
#include "crypto/age.h"

static int compare_names(const void *a, const void *b)
{
        return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The vector's "expect" word for a result: the failure class of a decryption, or "unsupported" for a key
 * that does not parse because it is post-quantum. */
static const char *classify(int r, enum ap_age_failure f)
{
        if (r == 0)
                return "success";
        if (r == AP_E_UNSUPPORTED)
                return "unsupported";
        if (f == AP_AGE_FAILURE_NONE)
                return "other error";
        /* the code is the shared vocabulary's for that class */
        if (f == AP_AGE_FAILURE_NO_MATCH
                ? r != AP_E_NO_KEY
                : r != AP_E_CORRUPT && !(f == AP_AGE_FAILURE_HEADER && r == AP_E_TOO_LARGE))
                return "a failure with the wrong error code";
        return ap_age_failure_name(f);
}

static int inflate_all(const unsigned char *in, size_t n, struct ap_buf *out)
{
        z_stream z = {0};
        if (inflateInit(&z) != Z_OK)
                return -1;
        z.next_in = (unsigned char *)in;
        z.avail_in = (uInt)n;
        int zr;
        do {
                if (ap_buf_grow(out, 1 << 20) < 0) {
                        inflateEnd(&z);
                        return -1;
                }
                z.next_out = (unsigned char *)out->data + out->len;
                z.avail_out = (uInt)(out->cap - out->len - 1);
                size_t before = z.avail_out;
                zr = inflate(&z, Z_NO_FLUSH);
                out->len += before - z.avail_out;
                out->data[out->len] = '\0';
        } while (zr == Z_OK);
        inflateEnd(&z);
        return zr == Z_STREAM_END ? 0 : -1;
}

struct outcome {
        const char *got;
        char detail[1100];
        char sha[65], sha_fd[65];
        bool fd_agrees; /* ap_age_decrypt_fd gave the same class and released the same plaintext */
};

static int to_buf(void *ctx, const void *p, size_t n, struct ap_error *err)
{
        return ap_buf_add(ctx, p, n);
}

static void sha_hex(const struct ap_buf *b, char hex[65])
{
        unsigned char md[32];
        unsigned int mdlen = 0;
        EVP_Digest(b->data, b->len, md, &mdlen, EVP_sha256(), NULL);
        for (int i = 0; i < 32; i++)
                snprintf(hex + 2 * i, 3, "%02x", md[i]);
}

static void run_vector(const char *text, size_t len, struct outcome *o, char *expect, size_t expect_len,
                       char *payload, size_t payload_len)
{
        struct ap_age_identities ids = AP_AGE_IDENTITIES_INIT;
        struct ap_buf file = AP_BUF_INIT, out = AP_BUF_INIT, out_fd = AP_BUF_INIT;
        struct ap_error err = AP_ERROR_INIT;
        bool armored = false, zlib = false;
        int r = 0;
        ap_buf_init(&file, (size_t)256 << 20);
        ap_buf_init(&out, (size_t)256 << 20);
        ap_buf_init(&out_fd, (size_t)256 << 20);
        o->got = "bad vector";
        const char *p = text, *end = text + len;
        for (;;) {
                const char *nl = memchr(p, '\n', (size_t)(end - p));
                if (!nl)
                        goto done;
                size_t n = (size_t)(nl - p);
                if (n == 0) {
                        p = nl + 1;
                        break;
                }
                const char *colon = memmem(p, n, ": ", 2);
                if (!colon)
                        goto done;
                size_t klen = (size_t)(colon - p);
                const char *v = colon + 2;
                size_t vlen = n - klen - 2;
                if (klen == 6 && memcmp(p, "expect", 6) == 0) {
                        snprintf(expect, expect_len, "%.*s", (int)vlen, v);
                } else if (klen == 7 && memcmp(p, "payload", 7) == 0) {
                        snprintf(payload, payload_len, "%.*s", (int)vlen, v);
                } else if (klen == 8 && memcmp(p, "identity", 8) == 0) {
                        struct ap_age_identity *id = NULL;
                        if (r == 0 && (r = ap_age_identity_parse(v, vlen, &id, &err)) == 0)
                                r = ap_age_identities_add(&ids, id, &err);
                } else if (klen == 10 && memcmp(p, "passphrase", 10) == 0) {
                        struct ap_age_identity *id = NULL;
                        if (r == 0 && (r = ap_age_scrypt_identity_new(v, vlen, &id, &err)) == 0)
                                r = ap_age_identities_add(&ids, id, &err);
                } else if (klen == 7 && memcmp(p, "armored", 7) == 0) {
                        armored = vlen == 3 && memcmp(v, "yes", 3) == 0;
                } else if (klen == 10 && memcmp(p, "compressed", 10) == 0) {
                        if (vlen != 4 || memcmp(v, "zlib", 4) != 0)
                                goto done;
                        zlib = true;
                } else if (!(klen == 8 && memcmp(p, "file key", 8) == 0) &&
                           !(klen == 7 && memcmp(p, "comment", 7) == 0)) {
                        goto done;
                }
                p = nl + 1;
        }
        if (zlib) {
                if (inflate_all((const unsigned char *)p, (size_t)(end - p), &file) < 0)
                        goto done;
        } else if (ap_buf_add(&file, p, (size_t)(end - p)) < 0) {
                goto done;
        }
        int r_fd = r;
        enum ap_age_failure f = AP_AGE_FAILURE_NONE, f_fd = AP_AGE_FAILURE_NONE;
        if (r == 0) {
                /* the push interface releases what authenticated before a failure (the whole-buffer call
                 * keeps nothing of a failed decryption), and the vector's payload hash covers exactly that */
                struct ap_age_decrypt_opts opts = {.input =
                                                       armored ? AP_AGE_INPUT_ARMORED : AP_AGE_INPUT_BINARY};
                struct ap_age_sink out_sink = {to_buf, &out};
                struct ap_age_decryptor *d = NULL;
                r = ap_age_decryptor_new(ids.items, ids.n, &opts, &out_sink, &d, &err);
                if (r == 0)
                        r = ap_age_decryptor_update(d, file.data, file.len, &err);
                if (r == 0)
                        r = ap_age_decryptor_final(d, &err);
                f = ap_age_decryptor_failure(d);
                ap_age_decryptor_free(d);
                opts.failure = &f_fd;
                /* the file-descriptor path (threaded pump for binary payloads) must agree exactly */
                int fd = memfd_create("vector", MFD_CLOEXEC);
                struct ap_age_sink sink = {to_buf, &out_fd};
                struct ap_error err_fd = AP_ERROR_INIT;
                if (fd < 0 || write(fd, file.data, file.len) != (ssize_t)file.len ||
                    lseek(fd, 0, SEEK_SET) != 0)
                        goto done;
                r_fd = ap_age_decrypt_fd(ids.items, ids.n, &opts, fd, "vector", &sink, &err_fd);
                close(fd);
        }
        o->got = classify(r, f);
        snprintf(o->detail, sizeof(o->detail), "%s", r ? ap_error_message(&err) : "");
        sha_hex(&out, o->sha);
        sha_hex(&out_fd, o->sha_fd);
        o->fd_agrees = r_fd == r && f_fd == f && strcmp(o->sha, o->sha_fd) == 0;
done:
        ap_age_identities_release(&ids);
        ap_buf_release(&file);
        ap_buf_release(&out);
        ap_buf_release(&out_fd);
}

int main(void)
{
        const char *dir = getenv("AP_CCTV_AGE_DIR");
        if (!dir || !*dir) {
                printf("1..0 # SKIP AP_CCTV_AGE_DIR is not set (the vectors' folder: tools/peers/build "
                       "cctv-age prints it; make check and tools/ci/test set it)\n");
                return 0;
        }
        DIR *dp = opendir(dir);
        if (!dp) {
                printf("1..1\nnot ok 1 - cannot open AP_CCTV_AGE_DIR '%s'\n", dir);
                return 1;
        }
        char **names = NULL;
        size_t n = 0;
        struct dirent *de;
        while ((de = readdir(dp))) {
                if (de->d_name[0] == '.')
                        continue;
                names = realloc(names, (n + 1) * sizeof(*names));
                names[n++] = strdup(de->d_name);
        }
        closedir(dp);
        qsort(names, n, sizeof(*names), compare_names);
        printf("1..%zu\n", n);
        size_t failed = 0, unsupported = 0, passed = 0;
        for (size_t i = 0; i < n; i++) {
                char path[8192];
                snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
                struct ap_buf text = AP_BUF_INIT;
                struct ap_error err = AP_ERROR_INIT;
                char expect[64] = "", payload[80] = "";
                struct outcome o = {0};
                if (ap_read_file(path, &text, &err) < 0) {
                        printf("not ok %zu - %s: %s\n", i + 1, names[i], ap_error_message(&err));
                        failed++;
                        continue;
                }
                bool pq = strstr(text.data, "identity: AGE-SECRET-KEY-PQ-") != NULL;
                run_vector(text.data, text.len, &o, expect, sizeof(expect), payload, sizeof(payload));
                ap_buf_release(&text);
                bool ok;
                if (pq) {
                        ok = strcmp(o.got, "unsupported") == 0;
                        if (ok) {
                                unsupported++;
                                printf("ok %zu - %s # unsupported (post-quantum identity; expect '%s')\n",
                                       i + 1, names[i], expect);
                                continue;
                        }
                } else {
                        ok = strcmp(o.got, expect) == 0 && (!payload[0] || strcmp(o.sha, payload) == 0) &&
                             o.fd_agrees;
                }
                if (ok) {
                        passed++;
                        printf("ok %zu - %s: %s\n", i + 1, names[i], expect);
                } else {
                        failed++;
                        printf("not ok %zu - %s: expected '%s' payload %s, got '%s' payload %s (%s)%s\n",
                               i + 1, names[i], expect, payload[0] ? payload : "-", o.got, o.sha, o.detail,
                               o.fd_agrees ? "" : "; the fd path disagrees");
                }
        }
        printf("# %zu passed, %zu unsupported (post-quantum), %zu failed, of %zu vectors\n", passed,
               unsupported, failed, n);
        for (size_t i = 0; i < n; i++)
                free(names[i]);
        free(names);
        return failed ? 1 : 0;
}
