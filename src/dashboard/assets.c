/* assets.c - the web front end: files of the embedded build (assets_data.h) or of --assets-dir, by base
 * name under /assets/; every other page path gets index.html (the single-page app routes itself). Each
 * file is served with a strong ETag (If-None-Match answers 304) and, when the browser accepts it and the
 * build made one, its brotli (NAME.br) or gzip (NAME.gz) twin. Hashed names (Vite's NAME-XXXXXXXX.EXT)
 * are cached for a year as immutable; index.html and unhashed files are revalidated. */
#include <openssl/evp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "assets_data.h"
#include "base/fileio.h"
#include "dash.h"

/* One servable file: its bytes and the precompressed twins the build made (either may be NULL). */
struct asset {
        const char *name;
        struct ap_dash_blob *plain, *gz, *br;
        char etag[20]; /* 16 hex digits of the SHA-256 of plain */
};

static const char *type_of(const char *name)
{
        static const struct {
                const char *ext, *type;
        } types[] = {
            {".html", "text/html; charset=utf-8"},
            {".js", "text/javascript; charset=utf-8"},
            {".css", "text/css; charset=utf-8"},
            {".svg", "image/svg+xml"},
            {".png", "image/png"},
            {".ico", "image/x-icon"},
            {".json", "application/json"},
            {".woff2", "font/woff2"},
            {".map", "application/json"},
            {".txt", "text/plain; charset=utf-8"},
        };
        const char *dot = strrchr(name, '.');
        for (size_t i = 0; dot && i < AP_ARRAY_SIZE(types); i++)
                if (strcmp(dot, types[i].ext) == 0)
                        return types[i].type;
        return "application/octet-stream";
}

static bool name_ok(const char *n)
{
        if (!*n || n[0] == '.' || strlen(n) > 200)
                return false;
        for (const char *p = n; *p; p++)
                if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
                      *p == '-' || *p == '_' || *p == '.'))
                        return false;
        return true;
}

static bool ends_with(const char *s, const char *suffix)
{
        size_t n = strlen(s), m = strlen(suffix);
        return n >= m && strcmp(s + n - m, suffix) == 0;
}

/* Vite's content-hashed names: '<stem>-<8 base64url characters>.<ext>'. */
static bool hashed_name(const char *name)
{
        const char *dot = strrchr(name, '.');
        size_t stem = dot ? (size_t)(dot - name) : 0;
        if (stem < 10 || name[stem - 9] != '-')
                return false;
        for (size_t i = stem - 8; i < stem; i++) {
                char c = name[i];
                if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
                      c == '_'))
                        return false;
        }
        return true;
}

static void etag_of(const struct ap_dash_blob *b, char out[20])
{
        unsigned char md[32];
        unsigned int n = 0;
        if (!EVP_Digest(b->data, b->len, md, &n, EVP_sha256(), NULL) || n < 8) {
                snprintf(out, 20, "%016zx", b->len);
                return;
        }
        for (int i = 0; i < 8; i++)
                snprintf(out + 2 * i, 3, "%02x", md[i]);
}

/* ---- the embedded build, indexed once ---- */

static struct {
        struct asset *v;
        size_t n;
} embedded;
static pthread_once_t embedded_once = PTHREAD_ONCE_INIT;

static struct ap_dash_blob *embedded_blob(const char *name)
{
        for (size_t i = 0; i < ap_dash_web_files_count; i++)
                if (strcmp(ap_dash_web_files[i].name, name) == 0)
                        return ap_dash_blob_new(ap_dash_web_files[i].data, ap_dash_web_files[i].size);
        return NULL;
}

/* The blobs live as long as the process: they are what every response of the file shares. */
static void embedded_init(void)
{
        embedded.v = calloc(ap_dash_web_files_count ? ap_dash_web_files_count : 1, sizeof(*embedded.v));
        if (!embedded.v)
                return;
        char twin[256];
        for (size_t i = 0; i < ap_dash_web_files_count; i++) {
                const struct ap_embedded_file *f = &ap_dash_web_files[i];
                if (ends_with(f->name, ".gz") || ends_with(f->name, ".br"))
                        continue;
                struct asset *a = &embedded.v[embedded.n];
                a->name = f->name;
                a->plain = ap_dash_blob_new(f->data, f->size);
                if (!a->plain)
                        continue;
                snprintf(twin, sizeof(twin), "%s.gz", f->name);
                a->gz = embedded_blob(twin);
                snprintf(twin, sizeof(twin), "%s.br", f->name);
                a->br = embedded_blob(twin);
                etag_of(a->plain, a->etag);
                embedded.n++;
        }
}

/* ---- --assets-dir: read at every request (a development aid) ---- */

static struct ap_dash_blob *dir_blob(const char *dir, const char *name, const char *suffix)
{
        char path[4096];
        snprintf(path, sizeof(path), "%s/%s%s", dir, name, suffix);
        _cleanup_buf_ struct ap_buf b = AP_BUF_INIT;
        if (ap_read_file(path, &b, NULL) < 0)
                return NULL;
        return ap_dash_blob_new(b.data, b.len);
}

static void asset_release(struct asset *a)
{
        ap_dash_blob_unref(a->plain);
        ap_dash_blob_unref(a->gz);
        ap_dash_blob_unref(a->br);
}

/* Fill *ret with new references to the file's blobs; false when there is no such file. */
static bool find_asset(struct ap_dash *d, const char *name, struct asset *ret)
{
        if (d->cfg.assets_dir) {
                struct asset a = {.name = name, .plain = dir_blob(d->cfg.assets_dir, name, "")};
                if (!a.plain)
                        return false;
                a.gz = dir_blob(d->cfg.assets_dir, name, ".gz");
                a.br = dir_blob(d->cfg.assets_dir, name, ".br");
                etag_of(a.plain, a.etag);
                *ret = a;
                return true;
        }
        pthread_once(&embedded_once, embedded_init);
        for (size_t i = 0; i < embedded.n; i++) {
                const struct asset *e = &embedded.v[i];
                if (strcmp(e->name, name) != 0)
                        continue;
                *ret = (struct asset){.name = e->name,
                                      .plain = ap_dash_blob_ref(e->plain),
                                      .gz = e->gz ? ap_dash_blob_ref(e->gz) : NULL,
                                      .br = e->br ? ap_dash_blob_ref(e->br) : NULL};
                memcpy(ret->etag, e->etag, sizeof(ret->etag));
                return true;
        }
        return false;
}

/* True when an Accept-Encoding value accepts coding (a listed token whose q is not 0). */
static bool accepts(const char *ae, const char *coding)
{
        size_t cl = strlen(coding);
        for (const char *p = ae; p && *p;) {
                while (*p == ' ' || *p == '\t' || *p == ',')
                        p++;
                const char *end = p + strcspn(p, ",");
                const char *semi = memchr(p, ';', (size_t)(end - p));
                const char *tok_end = semi ? semi : end;
                while (tok_end > p && (tok_end[-1] == ' ' || tok_end[-1] == '\t'))
                        tok_end--;
                if ((size_t)(tok_end - p) == cl && strncasecmp(p, coding, cl) == 0) {
                        const char *q = semi ? strstr(semi, "q=") : NULL;
                        if (!q || q >= end)
                                return true;
                        return strtod(q + 2, NULL) > 0;
                }
                p = *end ? end + 1 : end;
        }
        return false;
}

/* True when If-None-Match lists this file's tag (any of its encodings) or '*'. */
static bool not_modified(const char *inm, const char *etag)
{
        if (!inm)
                return false;
        if (strchr(inm, '*'))
                return true;
        return strstr(inm, etag) != NULL;
}

static int serve(struct ap_dash_req *req, struct ap_dash_resp *resp, struct asset *a, bool immutable)
{
        const char *ae = ap_dash_req_header(req, "Accept-Encoding");
        const char *enc = NULL;
        struct ap_dash_blob **pick = &a->plain;
        if (a->br && ae && accepts(ae, "br")) {
                enc = "br";
                pick = &a->br;
        } else if (a->gz && ae && accepts(ae, "gzip")) {
                enc = "gzip";
                pick = &a->gz;
        }
        const char *etag = ap_dash_printf(req->arena, "\"%s%s%s\"", a->etag, enc ? "-" : "", enc ? enc : "");
        ap_dash_resp_header(resp, "ETag", etag);
        ap_dash_resp_header(resp, "Cache-Control", immutable ? "public, max-age=31536000, immutable" : "no-cache");
        resp->content_type = type_of(a->name);
        if (not_modified(ap_dash_req_header(req, "If-None-Match"), a->etag)) {
                resp->status = 304;
                ap_dash_resp_header(resp, "Vary", "Accept-Encoding");
                return 0;
        }
        resp->status = 200;
        resp->blob = *pick;
        *pick = NULL;
        if (enc)
                ap_dash_resp_header(resp, "Content-Encoding", enc);
        return 0;
}

int ap_dash_assets(struct ap_dash *d, struct ap_dash_req *req, struct ap_dash_resp *resp)
{
        struct asset a = {0};
        int r;
        if (strncmp(req->path, "/assets/", 8) == 0) {
                const char *name = req->path + 8;
                if (!name_ok(name) || ends_with(name, ".gz") || ends_with(name, ".br") ||
                    !find_asset(d, name, &a))
                        return ap_dash_reply_error(resp, 404, "no asset '%s'", name);
                r = serve(req, resp, &a, hashed_name(name));
        } else if (!find_asset(d, "index.html", &a))
                return ap_dash_reply_error(resp, 404, "the web front end is not built into this binary");
        else
                r = serve(req, resp, &a, false);
        asset_release(&a);
        return r;
}
