/* assets.c - the web front end: files of the embedded build (assets_data.h) or of --assets-dir, by base
 * name under /assets/; every other page path gets index.html (the single-page app routes itself).
 * Hashed asset names are cached for a year; index.html is revalidated. */
#include <stdio.h>
#include <string.h>

#include "assets_data.h"
#include "base/fileio.h"
#include "dash.h"

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

static bool serve_file(struct ap_dash *d, struct ap_dash_resp *resp, const char *name)
{
        if (d->cfg.assets_dir) {
                char path[4096];
                snprintf(path, sizeof(path), "%s/%s", d->cfg.assets_dir, name);
                if (ap_read_file(path, &resp->body, NULL) < 0) {
                        ap_buf_reset(&resp->body);
                        return false;
                }
        } else {
                size_t i = 0;
                while (i < ap_dash_web_files_count && strcmp(ap_dash_web_files[i].name, name) != 0)
                        i++;
                if (i == ap_dash_web_files_count)
                        return false;
                struct ap_dash_blob *b =
                    ap_dash_blob_new(ap_dash_web_files[i].data, ap_dash_web_files[i].size);
                if (!b)
                        return false;
                resp->blob = b;
        }
        resp->status = 200;
        resp->content_type = type_of(name);
        return true;
}

int ap_dash_assets(struct ap_dash *d, struct ap_dash_req *req, struct ap_dash_resp *resp)
{
        if (strncmp(req->path, "/assets/", 8) == 0) {
                const char *name = req->path + 8;
                if (name_ok(name) && serve_file(d, resp, name)) {
                        ap_dash_resp_header(resp, "Cache-Control", "public, max-age=31536000, immutable");
                        return 0;
                }
                return ap_dash_reply_error(resp, 404, "no asset '%s'", name);
        }
        if (!serve_file(d, resp, "index.html"))
                return ap_dash_reply_error(resp, 404, "the web front end is not built into this binary");
        ap_dash_resp_header(resp, "Cache-Control", "no-cache");
        return 0;
}
