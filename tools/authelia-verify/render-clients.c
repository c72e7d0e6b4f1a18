/* render-clients.c - renders Authelia's clients.yml through the operator's own code path, for the one-time
 * check against a real Authelia (tools/authelia-verify/run; not built by meson, not part of the tests):
 * each client is checked with ap_oidc_spec_parse, given a secret by ap_oidc_generate_secret, hashed with
 * ap_pbkdf2_sha512_hash at the operator's iteration count and rendered by ap_render_authelia_clients.
 * Usage: render-clients BASE_DOMAIN OUT_CLIENTS_YML OUT_SECRETS_TSV SPEC...
 *   SPEC = app,client_id,hostname[,key=value...] (keys: callbackPath, clientName, authorizationPolicy,
 *   tokenEndpointAuthMethod, offlineAccess; app '-' = a platform client), given sorted by client_id.
 * OUT_SECRETS_TSV gets "client_id<TAB>secret" lines (mode 0600): test secrets for a throwaway Authelia, never
 * real ones. */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/base64.h"
#include "crypto/authelia_hash.h"
#include "operator/oidc.h"
#include "operator/render.h"

#define MAX_CLIENTS 32

static int put(json_t *data, const char *key, const char *val)
{
        _cleanup_buf_ struct ap_buf b = AP_BUF_INIT;
        if (ap_base64_encode(&b, val, strlen(val), AP_B64_STD) < 0)
                return -ENOMEM;
        return json_object_set_new(data, key, json_string(b.data)) == 0 ? 0 : -ENOMEM;
}

/* app,client_id,hostname[,k=v...] -> the Secret's data object (base64 values). */
static int parse_arg(char *arg, const char **ret_app, const char **ret_id, json_t **ret_data)
{
        char *save = NULL;
        const char *app = strtok_r(arg, ",", &save), *id = strtok_r(NULL, ",", &save);
        const char *host = strtok_r(NULL, ",", &save);
        if (!app || !id || !host)
                return -EINVAL;
        json_t *data = json_object();
        int r = data ? put(data, AP_OIDC_KEY_HOSTNAME, host) : -ENOMEM;
        for (char *kv; r == 0 && (kv = strtok_r(NULL, ",", &save));) {
                char *eq = strchr(kv, '=');
                if (!eq) {
                        r = -EINVAL;
                        break;
                }
                *eq = '\0';
                r = put(data, kv, eq + 1);
        }
        if (r < 0) {
                json_decref(data);
                return r;
        }
        *ret_app = strcmp(app, "-") == 0 ? NULL : app;
        *ret_id = id;
        *ret_data = data;
        return 0;
}

static int write_file(const char *path, const void *p, size_t n, mode_t mode)
{
        int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
        if (fd < 0)
                return -errno;
        ssize_t w = write(fd, p, n);
        int r = w == (ssize_t)n ? 0 : -EIO;
        if (close(fd) < 0 && r == 0)
                r = -errno;
        return r;
}

int main(int argc, char **argv)
{
        if (argc < 5 || argc - 4 > MAX_CLIENTS) {
                fprintf(stderr, "usage: render-clients BASE_DOMAIN OUT_CLIENTS_YML OUT_SECRETS_TSV "
                                "app,client_id,hostname[,key=value...]...\n");
                return 2;
        }
        size_t n = (size_t)argc - 4;
        static struct ap_oidc_spec specs[MAX_CLIENTS];
        static struct ap_authelia_client clients[MAX_CLIENTS];
        struct ap_buf digests[MAX_CLIENTS], secrets = AP_BUF_INIT_SECRET;
        int r = 0;
        for (size_t i = 0; i < n; i++)
                ap_buf_init(&digests[i], AP_PBKDF2_DIGEST_MAX);
        for (size_t i = 0; r == 0 && i < n; i++) {
                const char *app, *id;
                json_t *data = NULL;
                char why[512];
                _cleanup_buf_ struct ap_buf secret = AP_BUF_INIT_SECRET;
                if ((r = parse_arg(argv[4 + i], &app, &id, &data)) < 0) {
                        fprintf(stderr, "render-clients: bad client spec '%s'\n", argv[4 + i]);
                        break;
                }
                r = ap_oidc_spec_parse(app, argv[1], id, data, &specs[i], NULL, why, sizeof(why));
                json_decref(data);
                if (r < 0) {
                        fprintf(stderr, "render-clients: client '%s' refused: %s\n", id, why);
                        break;
                }
                if ((r = ap_oidc_generate_secret(&secret)) < 0 ||
                    (r = ap_pbkdf2_sha512_hash(secret.data, secret.len, AP_PBKDF2_SHA512_ITERATIONS,
                                               &digests[i])) < 0 ||
                    (r = ap_buf_printf(&secrets, "%s\t%s\n", specs[i].client_id, secret.data)) < 0) {
                        fprintf(stderr, "render-clients: cannot make the secret of '%s'\n", id);
                        break;
                }
                clients[i] = (struct ap_authelia_client){
                    .client_id = specs[i].client_id,
                    .client_name = specs[i].client_name,
                    .digest = digests[i].data,
                    .redirect_uri = specs[i].redirect_uri,
                    .authorization_policy = specs[i].authorization_policy,
                    .auth_method = specs[i].auth_method,
                    .offline_access = specs[i].offline_access,
                };
        }
        _cleanup_buf_ struct ap_buf file = AP_BUF_INIT;
        struct ap_error err = AP_ERROR_INIT;
        if (r == 0 && (r = ap_render_authelia_clients(clients, n, &file, &err)) < 0)
                fprintf(stderr, "render-clients: %s\n", err.msg);
        if (r == 0 && (r = write_file(argv[2], file.data, file.len, 0644)) < 0)
                fprintf(stderr, "render-clients: cannot write '%s': %s\n", argv[2], strerror(-r));
        if (r == 0 && (r = write_file(argv[3], secrets.data, secrets.len, 0600)) < 0)
                fprintf(stderr, "render-clients: cannot write '%s': %s\n", argv[3], strerror(-r));
        for (size_t i = 0; i < n; i++)
                ap_buf_release(&digests[i]);
        ap_buf_release(&secrets);
        return r == 0 ? 0 : 1;
}
