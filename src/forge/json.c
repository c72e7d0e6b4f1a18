/* json.c - readers for what forges send back (untrusted input, fuzzed by fuzz_forge_json): deploy-key
 * lists, repository objects, GitHub App installation tokens, error messages. Shapes from GitHub's REST
 * docs (repos, deploy-keys, apps) and Gitea's swagger (Repository, DeployKey); both agree on the fields
 * read here. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "forge/forge_internal.h"

static json_t *load(const char *json, size_t len, struct ap_error *err, const char *what)
{
        json_error_t je;
        json_t *j = json_loadb(json, len, JSON_REJECT_DUPLICATES, &je);
        if (!j)
                ap_error_set(err, AP_E_CORRUPT, "the forge sent invalid json for %s: %s", what, je.text);
        return j;
}

static bool copy_str(char *dst, size_t cap, json_t *v)
{
        const char *s = json_string_value(v);
        if (!s || strlen(s) >= cap)
                return false;
        memcpy(dst, s, strlen(s) + 1);
        return true;
}

int ap_forge_json_keys(const char *json, size_t len, struct ap_forge_key **ret, size_t *ret_n,
                       struct ap_error *err)
{
        _cleanup_(json_decrefp) json_t *j = load(json, len, err, "a deploy key list");
        if (!j)
                return err ? err->code : AP_E_CORRUPT;
        if (!json_is_array(j))
                return ap_error_set(err, AP_E_CORRUPT,
                                    "the forge sent a deploy key list that is not an array");
        size_t n = json_array_size(j);
        struct ap_forge_key *v = calloc(n ? n : 1, sizeof(*v));
        if (!v)
                return ap_error_set(err, -ENOMEM, "out of memory");
        for (size_t i = 0; i < n; i++) {
                json_t *k = json_array_get(j, i);
                json_t *id = json_object_get(k, "id");
                if (!json_is_object(k) || !json_is_integer(id) ||
                    !copy_str(v[i].key, sizeof(v[i].key), json_object_get(k, "key"))) {
                        free(v);
                        return ap_error_set(err, AP_E_CORRUPT,
                                            "the forge sent a deploy key without id or key");
                }
                v[i].id = json_integer_value(id);
                if (!copy_str(v[i].title, sizeof(v[i].title), json_object_get(k, "title")))
                        v[i].title[0] = '\0';
                json_t *ro = json_object_get(k, "read_only");
                v[i].read_only = json_is_true(ro);
        }
        *ret = v;
        *ret_n = n;
        return 0;
}

/* "git@host:owner/repo.git" -> "ssh://git@host/owner/repo.git"; ssh:// URLs are kept. */
static void ssh_form(const char *in, char *out, size_t outlen)
{
        const char *colon = strchr(in, ':');
        const char *slash = strchr(in, '/');
        if (strstr(in, "://") || !colon || (slash && slash < colon))
                snprintf(out, outlen, "%s", in);
        else
                snprintf(out, outlen, "ssh://%.*s/%s", (int)(colon - in), in, colon + 1);
}

int ap_forge_json_repo(const char *json, size_t len, struct ap_forge_repo *ret, struct ap_error *err)
{
        _cleanup_(json_decrefp) json_t *j = load(json, len, err, "a repository");
        if (!j)
                return err ? err->code : AP_E_CORRUPT;
        if (!json_is_object(j) || !json_is_string(json_object_get(j, "name")))
                return ap_error_set(err, AP_E_CORRUPT, "the forge sent a repository without a name");
        struct ap_forge_repo r = {0};
        r.is_private = json_is_true(json_object_get(j, "private"));
        if (!copy_str(r.default_branch, sizeof(r.default_branch), json_object_get(j, "default_branch")))
                r.default_branch[0] = '\0';
        char ssh[AP_FORGE_URL_MAX];
        if (copy_str(ssh, sizeof(ssh), json_object_get(j, "ssh_url")))
                ssh_form(ssh, r.ssh_url, sizeof(r.ssh_url));
        if (!copy_str(r.https_url, sizeof(r.https_url), json_object_get(j, "clone_url")))
                r.https_url[0] = '\0';
        r.archived = json_is_true(json_object_get(j, "archived"));
        *ret = r;
        return 0;
}

int ap_forge_parse_time(const char *s, time_t *ret)
{
        /* exactly YYYY-MM-DDTHH:MM:SSZ */
        static const char shape[] = "dddd-dd-ddTdd:dd:ddZ";
        if (!s || strlen(s) != sizeof(shape) - 1)
                return AP_E_INVALID;
        for (size_t i = 0; shape[i]; i++)
                if (shape[i] == 'd' ? (s[i] < '0' || s[i] > '9') : s[i] != shape[i])
                        return AP_E_INVALID;
#define NUM(off, n)                                                                                          \
        ({                                                                                                   \
                int v_ = 0;                                                                                  \
                for (int i_ = 0; i_ < (n); i_++)                                                             \
                        v_ = v_ * 10 + (s[(off) + i_] - '0');                                                \
                v_;                                                                                          \
        })
        struct tm tm = {.tm_year = NUM(0, 4) - 1900,
                        .tm_mon = NUM(5, 2) - 1,
                        .tm_mday = NUM(8, 2),
                        .tm_hour = NUM(11, 2),
                        .tm_min = NUM(14, 2),
                        .tm_sec = NUM(17, 2)};
#undef NUM
        if (tm.tm_mon > 11 || tm.tm_mday < 1 || tm.tm_mday > 31 || tm.tm_hour > 23 || tm.tm_min > 59 ||
            tm.tm_sec > 60)
                return AP_E_INVALID;
        time_t t = timegm(&tm);
        if (t == (time_t)-1)
                return AP_E_INVALID;
        *ret = t;
        return 0;
}

int ap_forge_json_app_token(const char *json, size_t len, struct ap_buf *token, time_t *ret_expires,
                            struct ap_error *err)
{
        _cleanup_(json_decrefp) json_t *j = load(json, len, err, "an installation token");
        if (!j)
                return err ? err->code : AP_E_CORRUPT;
        const char *t = json_string_value(json_object_get(j, "token"));
        const char *exp = json_string_value(json_object_get(j, "expires_at"));
        time_t when;
        if (!t || !t[0] || strlen(t) > 1024 || strcspn(t, " \t\r\n:") != strlen(t))
                return ap_error_set(err, AP_E_CORRUPT, "the installation token response has no usable token");
        if (!exp || ap_forge_parse_time(exp, &when) < 0)
                return ap_error_set(err, AP_E_CORRUPT,
                                    "the installation token response has no valid expires_at");
        int r = ap_buf_addstr(token, t);
        if (r < 0)
                return ap_error_set(err, r, "out of memory");
        *ret_expires = when;
        return 0;
}

char *ap_forge_json_dump(json_t *j)
{
        return j ? json_dumps(j, JSON_COMPACT) : NULL;
}

void ap_forge_json_message(const char *json, size_t len, char *out, size_t outlen)
{
        json_t *j = json_loadb(json, len, 0, NULL);
        const char *m = json_string_value(json_object_get(j, "message"));
        /* GitHub puts the detail of a 422 in errors[].message ("key is already in use") */
        json_t *e0 = json_array_get(json_object_get(j, "errors"), 0);
        const char *detail =
            json_is_string(e0) ? json_string_value(e0) : json_string_value(json_object_get(e0, "message"));
        snprintf(out, outlen, "%s%s%s", m ? m : "", m && detail ? ": " : "", detail ? detail : "");
        /* one line, printable: it ends up in an error message */
        for (char *p = out; *p; p++)
                if ((unsigned char)*p < 0x20)
                        *p = ' ';
        json_decref(j);
}

/* Phrases with which GitHub (errors[].message, errors[].code "already_exists") and Gitea (message) say
 * that what we asked to create is there already. */
static const char *const exists_phrases[] = {
    "already exist",      /* GitHub "name already exists on this account", Gitea "...already exists." */
    "already in use",     /* GitHub "key is already in use" */
    "already been taken", /* GitHub validation of unique fields */
    "already been added", /* Gitea "This key has already been added to this repository" */
    "has been used",      /* Gitea "Key content has been used as non-deploy key", "Key title has been used" */
};

static bool has_exists_phrase(const char *s)
{
        for (size_t i = 0; s && i < AP_ARRAY_SIZE(exists_phrases); i++)
                if (strcasestr(s, exists_phrases[i]))
                        return true;
        return false;
}

bool ap_forge_json_says_exists(const char *json, size_t len)
{
        _cleanup_(json_decrefp) json_t *j = json_loadb(json, len, 0, NULL);
        if (!json_is_object(j))
                return false;
        if (has_exists_phrase(json_string_value(json_object_get(j, "message"))))
                return true;
        json_t *errors = json_object_get(j, "errors");
        for (size_t i = 0; i < json_array_size(errors); i++) {
                json_t *e = json_array_get(errors, i);
                const char *code = json_string_value(json_object_get(e, "code"));
                if ((code && strcmp(code, "already_exists") == 0) ||
                    has_exists_phrase(json_string_value(e)) ||
                    has_exists_phrase(json_string_value(json_object_get(e, "message"))))
                        return true;
        }
        return false;
}

int ap_forge_json_owner(const char *json, size_t len, char *login, size_t n, bool *ret_is_org,
                        struct ap_error *err)
{
        _cleanup_(json_decrefp) json_t *j = load(json, len, err, "an account");
        if (!j)
                return err ? err->code : AP_E_CORRUPT;
        const char *l = json_string_value(json_object_get(j, "login"));
        if (!l || !l[0] || strlen(l) >= n)
                return ap_error_set(err, AP_E_CORRUPT, "the forge sent an account without a login");
        const char *type = json_string_value(json_object_get(j, "type"));
        memcpy(login, l, strlen(l) + 1);
        *ret_is_org = type && strcmp(type, "Organization") == 0;
        return 0;
}
