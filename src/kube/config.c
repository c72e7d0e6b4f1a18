/* config.c - kubeconfig (YAML) and in-cluster configuration. */
#include "config.h"

#include <jansson.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/base64.h"
#include "base/fileio.h"
#include "yaml_json.h"

#define KUBECONFIG_MAX ((size_t)4 << 20)
#define PEM_MAX        ((size_t)1 << 20)

struct ap_kube_config *ap_kube_config_free(struct ap_kube_config *c)
{
        if (!c)
                return NULL;
        free(c->server);
        free(c->tls_server_name);
        ap_buf_release(&c->ca_pem);
        ap_buf_release(&c->cert_pem);
        ap_buf_release(&c->key_pem);
        ap_secure_free_str(c->token);
        free(c->token_file);
        free(c->namespace);
        free(c->context);
        free(c);
        return NULL;
}

static struct ap_kube_config *config_new(void)
{
        struct ap_kube_config *c = calloc(1, sizeof(*c));
        if (!c)
                return NULL;
        ap_buf_init(&c->ca_pem, PEM_MAX);
        ap_buf_init(&c->cert_pem, PEM_MAX);
        ap_buf_init_secret(&c->key_pem, PEM_MAX);
        return c;
}

/* The entry named `name` in a kubeconfig list ([{name, <field>: {...}}]); borrowed. */
static const json_t *named(const json_t *root, const char *list, const char *field, const char *name)
{
        const json_t *arr = json_object_get(root, list);
        size_t i;
        const json_t *e;
        json_array_foreach(arr, i, e)
        {
                const char *n = json_string_value(json_object_get(e, "name"));
                if (n && strcmp(n, name) == 0)
                        return json_object_get(e, field);
        }
        return NULL;
}

static char *resolve_path(const char *dir, const char *p)
{
        char *out = NULL;
        if (p[0] == '/' || !dir)
                return strdup(p);
        if (asprintf(&out, "%s/%s", dir, p) < 0)
                return NULL;
        return out;
}

/* Fill out from either "<field>-data" (base64) or "<field>" (a file path). Absent both: nothing. */
static int load_pem(const json_t *obj, const char *field, const char *dir, struct ap_buf *out,
                    struct ap_error *err)
{
        char key[64];
        snprintf(key, sizeof(key), "%s-data", field);
        const char *data = json_string_value(json_object_get(obj, key));
        const char *file = json_string_value(json_object_get(obj, field));
        if (data && data[0]) {
                if (ap_base64_decode(out, data, strlen(data), AP_B64_STD) < 0)
                        return ap_error_set(err, -EINVAL, "kubeconfig '%s' is not valid base64", key);
                return 0;
        }
        if (file && file[0]) {
                _cleanup_free_ char *path = resolve_path(dir, file);
                if (!path)
                        return ap_error_set(err, -ENOMEM, "out of memory");
                int r = ap_read_file(path, out, err);
                if (r < 0)
                        return ap_error_prefix(err, "kubeconfig '%s'", field);
        }
        return 0;
}

static int dup_into(char **dst, const char *s, struct ap_error *err)
{
        if (!s)
                return 0;
        *dst = strdup(s);
        return *dst ? 0 : ap_error_set(err, -ENOMEM, "out of memory");
}

static int strip_server(struct ap_kube_config *c, struct ap_error *err)
{
        if (!c->server || !c->server[0])
                return ap_error_set(err, -EINVAL, "kubeconfig cluster has no 'server'");
        if (strncmp(c->server, "https://", 8) != 0 && strncmp(c->server, "http://", 7) != 0)
                return ap_error_set(err, -EINVAL, "kubeconfig server '%s' is not an http(s) URL", c->server);
        size_t n = strlen(c->server);
        while (n > 0 && c->server[n - 1] == '/')
                c->server[--n] = '\0';
        return 0;
}

int ap_kube_config_parse_kubeconfig(const char *yaml, size_t len, const char *dir, const char *context,
                                    struct ap_kube_config **ret, struct ap_error *err)
{
        json_t *root = NULL;
        int r = ap_yaml_to_json(yaml, len, &root, err);
        if (r < 0)
                return ap_error_prefix(err, "cannot parse the kubeconfig");
        _cleanup_(ap_kube_config_freep) struct ap_kube_config *c = config_new();
        if (!c) {
                json_decref(root);
                return ap_error_set(err, -ENOMEM, "out of memory");
        }
        const char *ctx_name =
            context ? context : json_string_value(json_object_get(root, "current-context"));
        const json_t *ctx = NULL, *cluster = NULL, *user = NULL;
        const char *cluster_name = NULL, *user_name = NULL;
        if (!json_is_object(root)) {
                r = ap_error_set(err, -EINVAL, "the kubeconfig is not a YAML mapping");
                goto out;
        }
        if (!ctx_name || !ctx_name[0]) {
                r = ap_error_set(err, -EINVAL, "the kubeconfig has no current-context: pass a context name");
                goto out;
        }
        ctx = named(root, "contexts", "context", ctx_name);
        if (!json_is_object(ctx)) {
                r = ap_error_set(err, -ENOENT, "context '%s' is not in the kubeconfig", ctx_name);
                goto out;
        }
        cluster_name = json_string_value(json_object_get(ctx, "cluster"));
        user_name = json_string_value(json_object_get(ctx, "user"));
        cluster = cluster_name ? named(root, "clusters", "cluster", cluster_name) : NULL;
        if (!json_is_object(cluster)) {
                r = ap_error_set(err, -ENOENT, "cluster '%s' of context '%s' is not in the kubeconfig",
                                 cluster_name ? cluster_name : "", ctx_name);
                goto out;
        }
        user = user_name && user_name[0] ? named(root, "users", "user", user_name) : NULL;
        if (user_name && user_name[0] && !json_is_object(user)) {
                r = ap_error_set(err, -ENOENT, "user '%s' of context '%s' is not in the kubeconfig",
                                 user_name, ctx_name);
                goto out;
        }
        if ((r = dup_into(&c->context, ctx_name, err)) < 0 ||
            (r = dup_into(&c->namespace, json_string_value(json_object_get(ctx, "namespace")), err)) < 0 ||
            (r = dup_into(&c->server, json_string_value(json_object_get(cluster, "server")), err)) < 0 ||
            (r = dup_into(&c->tls_server_name, json_string_value(json_object_get(cluster, "tls-server-name")),
                          err)) < 0 ||
            (r = strip_server(c, err)) < 0)
                goto out;
        c->insecure = json_is_true(json_object_get(cluster, "insecure-skip-tls-verify"));
        if ((r = load_pem(cluster, "certificate-authority", dir, &c->ca_pem, err)) < 0)
                goto out;
        if (user) {
                if (json_object_get(user, "exec") || json_object_get(user, "auth-provider")) {
                        r = ap_error_set(
                            err, -EOPNOTSUPP,
                            "user '%s' uses an exec or auth-provider plugin, which is not supported: "
                            "use a client certificate or a token",
                            user_name);
                        goto out;
                }
                if ((r = load_pem(user, "client-certificate", dir, &c->cert_pem, err)) < 0 ||
                    (r = load_pem(user, "client-key", dir, &c->key_pem, err)) < 0)
                        goto out;
                if ((c->cert_pem.len > 0) != (c->key_pem.len > 0)) {
                        r = ap_error_set(err, -EINVAL,
                                         "user '%s' has a client certificate without a key or "
                                         "a key without a certificate",
                                         user_name);
                        goto out;
                }
                const char *token = json_string_value(json_object_get(user, "token"));
                const char *token_file = json_string_value(json_object_get(user, "tokenFile"));
                if (token && token[0]) {
                        r = dup_into(&c->token, token, err);
                } else if (token_file && token_file[0]) {
                        c->token_file = resolve_path(dir, token_file);
                        if (!c->token_file)
                                r = ap_error_set(err, -ENOMEM, "out of memory");
                }
                if (r < 0)
                        goto out;
                if (json_object_get(user, "username") && !c->token && !c->cert_pem.len) {
                        r = ap_error_set(err, -EOPNOTSUPP,
                                         "user '%s' uses basic authentication, which is not "
                                         "supported: use a client certificate or a token",
                                         user_name);
                        goto out;
                }
        }
        *ret = TAKE_PTR(c);
out:
        json_decref(root);
        return r;
}

int ap_kube_config_load_kubeconfig(const char *path, const char *context, struct ap_kube_config **ret,
                                   struct ap_error *err)
{
        _cleanup_buf_ struct ap_buf data = AP_BUF_INIT_SECRET;
        data.max = KUBECONFIG_MAX;
        int r = ap_read_file(path, &data, err);
        if (r < 0)
                return ap_error_prefix(err, "cannot read the kubeconfig");
        _cleanup_free_ char *copy = strdup(path);
        if (!copy)
                return ap_error_set(err, -ENOMEM, "out of memory");
        r = ap_kube_config_parse_kubeconfig(data.data, data.len, dirname(copy), context, ret, err);
        if (r < 0)
                return ap_error_prefix(err, "'%s'", path);
        return 0;
}

int ap_kube_config_in_cluster(const char *host, const char *port, const char *sa_dir,
                              struct ap_kube_config **ret, struct ap_error *err)
{
        if (!host || !host[0] || !port || !port[0])
                return ap_error_set(err, -ENOENT,
                                    "not running in a cluster (KUBERNETES_SERVICE_HOST/PORT unset): "
                                    "pass --kubeconfig or set KUBECONFIG");
        if (!sa_dir)
                sa_dir = AP_KUBE_SA_DIR;
        _cleanup_(ap_kube_config_freep) struct ap_kube_config *c = config_new();
        if (!c)
                return ap_error_set(err, -ENOMEM, "out of memory");
        /* an IPv6 host needs brackets in a URL */
        bool v6 = strchr(host, ':') != NULL;
        if (asprintf(&c->server, "https://%s%s%s:%s", v6 ? "[" : "", host, v6 ? "]" : "", port) < 0) {
                c->server = NULL;
                return ap_error_set(err, -ENOMEM, "out of memory");
        }
        _cleanup_free_ char *ca = NULL, *tok = NULL, *nsf = NULL;
        if (asprintf(&ca, "%s/ca.crt", sa_dir) < 0 || asprintf(&tok, "%s/token", sa_dir) < 0 ||
            asprintf(&nsf, "%s/namespace", sa_dir) < 0)
                return ap_error_set(err, -ENOMEM, "out of memory");
        int r = ap_read_file(ca, &c->ca_pem, err);
        if (r < 0)
                return ap_error_prefix(err, "in-cluster configuration");
        /* read the token once now so a missing mount fails at start, not at the first request */
        _cleanup_buf_ struct ap_buf t = AP_BUF_INIT_SECRET;
        r = ap_read_file(tok, &t, err);
        if (r < 0)
                return ap_error_prefix(err, "in-cluster configuration");
        c->token_file = TAKE_PTR(tok);
        _cleanup_buf_ struct ap_buf ns = AP_BUF_INIT;
        ns.max = 256;
        struct ap_error ignored = AP_ERROR_INIT;
        if (ap_read_file(nsf, &ns, &ignored) == 0) {
                while (ns.len > 0 && (ns.data[ns.len - 1] == '\n' || ns.data[ns.len - 1] == ' '))
                        ap_buf_truncate(&ns, ns.len - 1);
                if (ns.len > 0)
                        c->namespace = ap_buf_detach(&ns, NULL);
        }
        *ret = TAKE_PTR(c);
        return 0;
}
