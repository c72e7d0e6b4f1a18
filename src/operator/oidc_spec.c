/* oidc_spec.c - the checks of one OIDC Secret's request and what follows from it (pure; see oidc.h):
 * client_id, hostname inside the app's domain, an absolute callback path, the optional name, policy and
 * token endpoint authentication method, a hand-written clientSecret's strength; the redirect URI, the
 * delivered values and the fingerprint. Messages quote user input sanitised, never the secret. */
#include <openssl/evp.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "base/base64.h"
#include "crypto/authelia_hash.h"
#include "operator/names.h"
#include "operator/oidc.h"

static const char *const known_keys[] = {AP_OIDC_KEY_HOSTNAME, AP_OIDC_KEY_CALLBACK, AP_OIDC_KEY_SECRET,
                                         AP_OIDC_KEY_NAME,     AP_OIDC_KEY_POLICY,   AP_OIDC_KEY_AUTH_METHOD,
                                         AP_OIDC_KEY_OFFLINE};

static int refuse(char *why, size_t size, const char *fmt, ...) _printf_(3, 4);
static int refuse(char *why, size_t size, const char *fmt, ...)
{
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(why, size, fmt, ap);
        va_end(ap);
        return AP_E_INVALID;
}

/* s as it may appear in a message: printable ASCII, at most 80 characters. */
static const char *shown(const char *s, char buf[96])
{
        size_t n = 0;
        for (; s[n] && n < 80; n++)
                buf[n] = (unsigned char)s[n] < 0x20 || (unsigned char)s[n] >= 0x7f ? '?' : s[n];
        snprintf(buf + n, 96 - n, "%s", s[n] ? "..." : "");
        return buf;
}

static bool unreserved(char c)
{
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
               c == '.' || c == '_' || c == '~';
}

static bool hex(char c)
{
        return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

/* An absolute URI path (RFC 3986 path-absolute: pchar and '/', percent-escapes well formed). */
static bool absolute_path(const char *p)
{
        if (p[0] != '/')
                return false;
        for (size_t i = 0; p[i]; i++) {
                char c = p[i];
                if (c == '%') {
                        if (!hex(p[i + 1]) || !hex(p[i + 2]))
                                return false;
                        i += 2;
                } else if (!unreserved(c) && !strchr("!$&'()*+,;=:@/", c)) {
                        return false;
                }
        }
        return true;
}

/* data[key] decoded into dst (size bytes, NUL-terminated); 0, 1 when absent, or AP_E_INVALID. */
static int value(const json_t *data, const char *key, char *dst, size_t size, bool *ret_too_long)
{
        const char *b64 = json_string_value(json_object_get(data, key));
        *ret_too_long = false;
        if (!b64)
                return 1;
        struct ap_buf b = AP_BUF_INIT_SECRET;
        int r = ap_base64_decode(&b, b64, strlen(b64), AP_B64_STD);
        if (r == 0 && (b.len >= size || memchr(b.data, '\0', b.len))) {
                *ret_too_long = b.len >= size;
                r = AP_E_INVALID;
        }
        if (r == 0)
                memcpy(dst, b.data, b.len + 1);
        ap_buf_release(&b);
        return r == -ENOMEM ? r : r < 0 ? AP_E_INVALID : 0;
}

static int check_keys(const json_t *data, char *why, size_t size)
{
        const char *k;
        const json_t *v;
        json_object_foreach((json_t *)data, k, v)
        {
                bool known = false;
                for (size_t i = 0; i < AP_ARRAY_SIZE(known_keys) && !known; i++)
                        known = strcmp(k, known_keys[i]) == 0;
                char b[96];
                if (!known)
                        return refuse(
                            why, size,
                            "unknown key '%s': an OIDC Secret holds hostname, callbackPath, clientName, "
                            "authorizationPolicy, tokenEndpointAuthMethod, offlineAccess and the "
                            "operator's clientSecret",
                            shown(k, b));
        }
        return 0;
}

/* An app's client: <app>.<base> or a name under it. A platform client (app NULL): a name under base. */
static int check_hostname(const char *app, const char *base, const char *h, char *why, size_t size)
{
        char domain[320], b[96];
        snprintf(domain, sizeof(domain), "%s%s%s", app ? app : "", app ? "." : "", base);
        size_t n = strlen(h), d = strlen(domain);
        bool under = n > d + 1 && h[n - d - 1] == '.' && strcmp(h + n - d, domain) == 0;
        bool inside = under || (app && strcmp(h, domain) == 0);
        if (!app && (!ap_is_dns1123_subdomain(h) || !inside))
                return refuse(why, size,
                              "hostname '%s' is not in the platform's domain: use a name ending in '.%s' "
                              "(lowercase letters, digits, '-' and '.')",
                              shown(h, b), domain);
        if (!ap_is_dns1123_subdomain(h) || !inside)
                return refuse(why, size,
                              "hostname '%s' is not in the app's domain: use '%s' or a name ending in '.%s' "
                              "(lowercase letters, digits, '-' and '.')",
                              shown(h, b), domain, domain);
        return 0;
}

static int check_secret(const char *s, char *why, size_t size)
{
        size_t n = strlen(s), i = 0;
        while (i < n && unreserved(s[i]))
                i++;
        if (n < AP_OIDC_SECRET_MIN || i < n)
                return refuse(why, size,
                              "clientSecret is not usable: it must be %d to %d characters of A-Z a-z 0-9 '-' "
                              "'.' '_' '~'; delete the key and the operator generates one",
                              AP_OIDC_SECRET_MIN, AP_OIDC_SECRET_MAX);
        return 0;
}

/* One optional key that takes one of two values; *ret is the first when absent. */
static int choice(const json_t *data, const char *key, const char *a, const char *b, const char **ret,
                  char *why, size_t size)
{
        char v[64], s[96];
        bool long_ = false;
        int r = value(data, key, v, sizeof(v), &long_);
        if (r == -ENOMEM)
                return r;
        *ret = a;
        if (r == 1)
                return 0;
        if (r == 0 && strcmp(v, a) == 0)
                return 0;
        if (r == 0 && strcmp(v, b) == 0) {
                *ret = b;
                return 0;
        }
        return refuse(why, size, "%s '%s' is not '%s' or '%s'", key, r == 0 ? shown(v, s) : "(not text)", a,
                      b);
}

int ap_oidc_spec_parse(const char *app, const char *base_domain, const char *client_id, const json_t *data,
                       struct ap_oidc_spec *ret, struct ap_buf *ret_secret, char *why, size_t why_size)
{
        struct ap_oidc_spec s = {0};
        char b[96];
        size_t idn = client_id ? strlen(client_id) : 0;
        bool id_ok = idn > 0 && idn <= AP_OIDC_CLIENT_ID_MAX;
        for (size_t i = 0; id_ok && i < idn; i++)
                id_ok = unreserved(client_id[i]);
        if (!id_ok)
                return refuse(
                    why, why_size,
                    "client_id '%s' (label %s) must be 1 to %d characters of A-Z a-z 0-9 '-' '.' '_' "
                    "'~'",
                    shown(client_id ? client_id : "", b), AP_LABEL_OIDC_CLIENT, AP_OIDC_CLIENT_ID_MAX);
        memcpy(s.client_id, client_id, idn + 1);
        int r = check_keys(data, why, why_size);
        if (r < 0)
                return r;
        bool too_long = false;
        r = value(data, AP_OIDC_KEY_HOSTNAME, s.hostname, sizeof(s.hostname), &too_long);
        if (r == -ENOMEM)
                return r;
        if (r == 1)
                return refuse(
                    why, why_size,
                    "key 'hostname' is missing: the host name your app is served at, e.g. 'app.%s.%s'",
                    app ? app : "dashboard", base_domain);
        if (r < 0)
                return refuse(why, why_size, "hostname is %s",
                              too_long ? "longer than 253 characters" : "not text");
        if ((r = check_hostname(app, base_domain, s.hostname, why, why_size)) < 0)
                return r;
        r = value(data, AP_OIDC_KEY_CALLBACK, s.callback_path, sizeof(s.callback_path), &too_long);
        if (r == -ENOMEM)
                return r;
        if (r == 1)
                snprintf(s.callback_path, sizeof(s.callback_path), "%s", AP_OIDC_DEFAULT_CALLBACK);
        else if (r < 0 || !absolute_path(s.callback_path))
                return refuse(
                    why, why_size,
                    "callbackPath '%s' is not an absolute path: it must start with '/' and hold only "
                    "URL path characters (no query, fragment or spaces; at most %d characters)",
                    r < 0 ? (too_long ? "(too long)" : "(not text)") : shown(s.callback_path, b),
                    AP_OIDC_CALLBACK_MAX);
        r = value(data, AP_OIDC_KEY_NAME, s.client_name, sizeof(s.client_name), &too_long);
        if (r == -ENOMEM)
                return r;
        if (r == 1)
                snprintf(s.client_name, sizeof(s.client_name), "%s", s.client_id);
        for (size_t i = 0; r == 0 && s.client_name[i]; i++)
                if ((unsigned char)s.client_name[i] < 0x20 || s.client_name[i] == 0x7f)
                        r = AP_E_INVALID;
        if (r < 0 || !s.client_name[0])
                return refuse(why, why_size,
                              "clientName must be 1 to %d characters without control characters",
                              AP_OIDC_NAME_MAX);
        if ((r = choice(data, AP_OIDC_KEY_POLICY, "two_factor", "one_factor", &s.authorization_policy, why,
                        why_size)) < 0 ||
            (r = choice(data, AP_OIDC_KEY_AUTH_METHOD, "client_secret_basic", "client_secret_post",
                        &s.auth_method, why, why_size)) < 0)
                return r;
        const char *offline;
        if ((r = choice(data, AP_OIDC_KEY_OFFLINE, "false", "true", &offline, why, why_size)) < 0)
                return r;
        s.offline_access = strcmp(offline, "true") == 0;
        snprintf(s.redirect_uri, sizeof(s.redirect_uri), "https://%s%s", s.hostname, s.callback_path);
        struct ap_buf sec = AP_BUF_INIT_SECRET;
        const char *b64 = json_string_value(json_object_get(data, AP_OIDC_KEY_SECRET));
        if (b64) {
                r = ap_base64_decode(&sec, b64, strlen(b64), AP_B64_STD);
                if (r == -ENOMEM) {
                        ap_buf_release(&sec);
                        return r;
                }
                if (r < 0 || sec.len > AP_OIDC_SECRET_MAX || memchr(sec.data, '\0', sec.len))
                        r = refuse(why, why_size,
                                   "clientSecret is not usable: delete the key and the operator "
                                   "generates one");
                else
                        r = check_secret(sec.data, why, why_size);
                if (r == 0 && ret_secret)
                        r = ap_buf_add(ret_secret, sec.data, sec.len);
                s.has_secret = r == 0;
        }
        ap_buf_release(&sec);
        if (r < 0)
                return r;
        *ret = s;
        return 0;
}

int ap_oidc_generate_secret(struct ap_buf *out)
{
        char s[AP_OIDC_SECRET_LEN + 1];
        int r = ap_random_urlsafe(s, AP_OIDC_SECRET_LEN);
        if (r == 0)
                r = ap_buf_add(out, s, AP_OIDC_SECRET_LEN);
        ap_secure_wipe(s, sizeof(s));
        return r;
}

static int put_b64(json_t *o, const char *key, const char *v, size_t n)
{
        struct ap_buf b = AP_BUF_INIT_SECRET;
        int r = ap_base64_encode(&b, v, n, AP_B64_STD);
        if (r == 0)
                r = json_object_set_new(o, key, json_stringn(b.data, b.len)) < 0 ? -ENOMEM : 0;
        ap_buf_release(&b);
        return r;
}

json_t *ap_oidc_delivery_data(const struct ap_oidc_spec *s, const char *issuer_url, const char *secret,
                              size_t secret_len)
{
        json_t *o = json_object();
        /* keys in sorted order */
        if (!o || put_b64(o, AP_OIDC_OUT_CALLBACK, s->redirect_uri, strlen(s->redirect_uri)) < 0 ||
            put_b64(o, AP_OIDC_OUT_ID, s->client_id, strlen(s->client_id)) < 0 ||
            put_b64(o, AP_OIDC_OUT_SECRET, secret, secret_len) < 0 ||
            put_b64(o, AP_OIDC_OUT_ISSUER, issuer_url, strlen(issuer_url)) < 0) {
                json_decref(o);
                return NULL;
        }
        return o;
}

void ap_oidc_fingerprint(const struct ap_oidc_spec *s, const char *secret, size_t secret_len, char out[65])
{
        const char *parts[] = {s->client_id, s->client_name, s->redirect_uri, s->authorization_policy,
                               s->auth_method};
        unsigned char md[32];
        unsigned int mdn = 0;
        EVP_MD_CTX *c = EVP_MD_CTX_new();
        bool ok = c && EVP_DigestInit_ex(c, EVP_sha256(), NULL) == 1;
        for (size_t i = 0; ok && i < AP_ARRAY_SIZE(parts); i++)
                ok = EVP_DigestUpdate(c, parts[i], strlen(parts[i]) + 1) == 1; /* with the NUL: unambiguous */
        /* only when set: the fingerprints of clients without it are those of before the key existed */
        if (ok && s->offline_access)
                ok = EVP_DigestUpdate(c, "offline_access", sizeof("offline_access")) == 1;
        ok = ok && EVP_DigestUpdate(c, secret, secret_len) == 1 && EVP_DigestFinal_ex(c, md, &mdn) == 1;
        EVP_MD_CTX_free(c);
        for (unsigned i = 0; i < 32; i++)
                snprintf(out + 2 * i, 3, "%02x", ok ? md[i] : 0);
        out[64] = '\0';
}
