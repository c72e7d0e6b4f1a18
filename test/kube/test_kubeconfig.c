/* test_kubeconfig.c - kubeconfig parsing (contexts, inline and file credentials, token and tokenFile,
 * relative paths, errors), in-cluster configuration, and the YAML -> JSON conversion under it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/fileio.h"
#include "kube/config.h"
#include "kube/yaml_json.h"

static char dir[] = "/tmp/ap-kubeconfig-XXXXXX";

static int setup(void **state)
{
        if (!mkdtemp(dir))
                return -1;
        struct ap_error err = AP_ERROR_INIT;
        char p[512];
        snprintf(p, sizeof(p), "%s/ca.crt", dir);
        if (ap_write_file_atomic(p, "CA-PEM\n", 7, 0644, &err) < 0)
                return -1;
        snprintf(p, sizeof(p), "%s/client.crt", dir);
        if (ap_write_file_atomic(p, "CERT-PEM\n", 9, 0644, &err) < 0)
                return -1;
        snprintf(p, sizeof(p), "%s/client.key", dir);
        if (ap_write_file_atomic(p, "KEY-PEM\n", 8, 0600, &err) < 0)
                return -1;
        snprintf(p, sizeof(p), "%s/token", dir);
        if (ap_write_file_atomic(p, "tok-123\n", 8, 0600, &err) < 0)
                return -1;
        snprintf(p, sizeof(p), "%s/namespace", dir);
        if (ap_write_file_atomic(p, "app-platform-system", 19, 0644, &err) < 0)
                return -1;
        return err.code;
}

static int teardown(void **state)
{
        const char *names[] = {"ca.crt", "client.crt", "client.key", "token", "namespace", "config"};
        char p[512];
        for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
                snprintf(p, sizeof(p), "%s/%s", dir, names[i]);
                unlink(p);
        }
        return rmdir(dir);
}

static const char kubeconfig[] = "apiVersion: v1\n"
                                 "kind: Config\n"
                                 "current-context: files\n"
                                 "clusters:\n"
                                 "- name: local\n"
                                 "  cluster:\n"
                                 "    server: https://127.0.0.1:6443/\n"
                                 "    certificate-authority: ca.crt\n"
                                 "- name: inline\n"
                                 "  cluster:\n"
                                 "    server: \"https://[::1]:7443\"\n"
                                 "    certificate-authority-data: Q0EtREFUQQ==\n"
                                 "    insecure-skip-tls-verify: true\n"
                                 "users:\n"
                                 "- name: admin\n"
                                 "  user:\n"
                                 "    client-certificate: client.crt\n"
                                 "    client-key: client.key\n"
                                 "- name: inline-user\n"
                                 "  user:\n"
                                 "    client-certificate-data: Q0VSVC1EQVRB\n"
                                 "    client-key-data: S0VZLURBVEE=\n"
                                 "- name: tok\n"
                                 "  user: {token: abc.def}\n"
                                 "- name: tokfile\n"
                                 "  user:\n"
                                 "    tokenFile: token\n"
                                 "- name: plugin\n"
                                 "  user:\n"
                                 "    exec: {command: foo}\n"
                                 "contexts:\n"
                                 "- name: files\n"
                                 "  context: {cluster: local, user: admin, namespace: dev}\n"
                                 "- name: inline\n"
                                 "  context: {cluster: inline, user: inline-user}\n"
                                 "- name: tok\n"
                                 "  context: {cluster: local, user: tok}\n"
                                 "- name: tokfile\n"
                                 "  context: {cluster: local, user: tokfile}\n"
                                 "- name: plugin\n"
                                 "  context: {cluster: local, user: plugin}\n"
                                 "- name: nocluster\n"
                                 "  context: {cluster: missing, user: tok}\n";

static struct ap_kube_config *load(const char *context, struct ap_error *err)
{
        struct ap_kube_config *c = NULL;
        if (ap_kube_config_parse_kubeconfig(kubeconfig, strlen(kubeconfig), dir, context, &c, err) < 0)
                return NULL;
        return c;
}

static void test_current_context_files(void **state)
{
        struct ap_error err = AP_ERROR_INIT;
        _cleanup_(ap_kube_config_freep) struct ap_kube_config *c = load(NULL, &err);
        assert_non_null(c);
        assert_string_equal(c->server, "https://127.0.0.1:6443");
        assert_string_equal(c->context, "files");
        assert_string_equal(c->namespace, "dev");
        assert_string_equal(c->ca_pem.data, "CA-PEM\n");
        assert_string_equal(c->cert_pem.data, "CERT-PEM\n");
        assert_string_equal(c->key_pem.data, "KEY-PEM\n");
        assert_true(c->key_pem.secret);
        assert_false(c->insecure);
        assert_null(c->token);
}

static void test_inline_data(void **state)
{
        struct ap_error err = AP_ERROR_INIT;
        _cleanup_(ap_kube_config_freep) struct ap_kube_config *c = load("inline", &err);
        assert_non_null(c);
        assert_string_equal(c->server, "https://[::1]:7443");
        assert_string_equal(c->ca_pem.data, "CA-DATA");
        assert_string_equal(c->cert_pem.data, "CERT-DATA");
        assert_string_equal(c->key_pem.data, "KEY-DATA");
        assert_true(c->insecure);
        assert_null(c->namespace);
}

static void test_tokens(void **state)
{
        struct ap_error err = AP_ERROR_INIT;
        struct ap_kube_config *c = load("tok", &err);
        assert_non_null(c);
        assert_string_equal(c->token, "abc.def");
        ap_kube_config_free(c);
        c = load("tokfile", &err);
        assert_non_null(c);
        assert_null(c->token);
        char want[512];
        snprintf(want, sizeof(want), "%s/token", dir);
        assert_string_equal(c->token_file, want);
        ap_kube_config_free(c);
}

static void test_errors(void **state)
{
        struct ap_error err = AP_ERROR_INIT;
        assert_null(load("plugin", &err));
        assert_int_equal(err.code, -EOPNOTSUPP);
        assert_non_null(strstr(err.msg, "exec"));
        assert_null(load("nocluster", &err));
        assert_string_equal(err.msg, "cluster 'missing' of context 'nocluster' is not in the kubeconfig");
        assert_null(load("nope", &err));
        assert_string_equal(err.msg, "context 'nope' is not in the kubeconfig");
        struct ap_kube_config *c = NULL;
        const char *bad = "clusters: [\n";
        assert_int_equal(ap_kube_config_parse_kubeconfig(bad, strlen(bad), NULL, NULL, &c, &err), -EBADMSG);
        assert_non_null(strstr(err.msg, "cannot parse the kubeconfig"));
        const char *noctx = "apiVersion: v1\nclusters: []\n";
        assert_int_equal(ap_kube_config_parse_kubeconfig(noctx, strlen(noctx), NULL, NULL, &c, &err),
                         -EINVAL);
        const char *badb64 =
            "current-context: a\ncontexts: [{name: a, context: {cluster: c}}]\n"
            "clusters: [{name: c, cluster: {server: 'https://x', certificate-authority-data: '!!'}}]\n";
        assert_int_equal(ap_kube_config_parse_kubeconfig(badb64, strlen(badb64), NULL, NULL, &c, &err),
                         -EINVAL);
        const char *notls = "current-context: a\ncontexts: [{name: a, context: {cluster: c}}]\n"
                            "clusters: [{name: c, cluster: {server: 'ftp://x'}}]\n";
        assert_int_equal(ap_kube_config_parse_kubeconfig(notls, strlen(notls), NULL, NULL, &c, &err),
                         -EINVAL);
        assert_null(c);
}

static void test_load_file(void **state)
{
        char p[512];
        snprintf(p, sizeof(p), "%s/config", dir);
        struct ap_error err = AP_ERROR_INIT;
        assert_int_equal(ap_write_file_atomic(p, kubeconfig, strlen(kubeconfig), 0600, &err), 0);
        _cleanup_(ap_kube_config_freep) struct ap_kube_config *c = NULL;
        assert_int_equal(ap_kube_config_load_kubeconfig(p, NULL, &c, &err), 0);
        assert_string_equal(c->ca_pem.data, "CA-PEM\n"); /* relative to the file's directory */
        struct ap_kube_config *d = NULL;
        assert_int_equal(ap_kube_config_load_kubeconfig("/nonexistent/kubeconfig", NULL, &d, &err), -ENOENT);
        assert_non_null(strstr(err.msg, "cannot read the kubeconfig"));
}

static void test_in_cluster(void **state)
{
        struct ap_error err = AP_ERROR_INIT;
        _cleanup_(ap_kube_config_freep) struct ap_kube_config *c = NULL;
        assert_int_equal(ap_kube_config_in_cluster("10.0.0.1", "443", dir, &c, &err), 0);
        assert_string_equal(c->server, "https://10.0.0.1:443");
        assert_string_equal(c->namespace, "app-platform-system");
        assert_string_equal(c->ca_pem.data, "CA-PEM\n");
        assert_non_null(strstr(c->token_file, "/token"));
        struct ap_kube_config *v6 = NULL;
        assert_int_equal(ap_kube_config_in_cluster("fd00::1", "443", dir, &v6, &err), 0);
        assert_string_equal(v6->server, "https://[fd00::1]:443");
        ap_kube_config_free(v6);
        struct ap_kube_config *none = NULL;
        assert_int_equal(ap_kube_config_in_cluster(NULL, "443", dir, &none, &err), -ENOENT);
        assert_non_null(strstr(err.msg, "--kubeconfig"));
        assert_int_equal(ap_kube_config_in_cluster("h", "1", "/nonexistent", &none, &err), -ENOENT);
}

static json_t *yaml(const char *s)
{
        json_t *v = NULL;
        struct ap_error err = AP_ERROR_INIT;
        if (ap_yaml_to_json(s, strlen(s), &v, &err) < 0)
                return NULL;
        return v;
}

static void assert_json(json_t *v, const char *want)
{
        assert_non_null(v);
        char *got = json_dumps(v, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);
        assert_string_equal(got, want);
        free(got);
        json_decref(v);
}

static void test_yaml_scalars(void **state)
{
        assert_json(
            yaml("a: 1\nb: -2\nc: 0x1f\nd: 0o17\ne: 1.5\nf: true\ng: False\nh: ~\ni: null\nj:\n"
                 "k: '1'\nl: \"true\"\nm: 1.2.3\nn: 99999999999999999999\no: .inf\np: !!str 5\n"),
            "{\"a\":1,\"b\":-2,\"c\":31,\"d\":15,\"e\":1.5,\"f\":true,\"g\":false,\"h\":null,\"i\":null,"
            "\"j\":null,\"k\":\"1\",\"l\":\"true\",\"m\":\"1.2.3\",\"n\":\"99999999999999999999\","
            "\"o\":\".inf\",\"p\":\"5\"}");
        assert_json(yaml("- a\n- [1, 2]\n- {x: y}\n- |\n  line1\n  line2\n"),
                    "[\"a\",[1,2],{\"x\":\"y\"},\"line1\\nline2\\n\"]");
        assert_json(yaml(""), "null");
        assert_json(yaml("1: one\ntrue: yes\n"), "{\"1\":\"one\",\"true\":\"yes\"}");
}

static void test_yaml_anchors_and_limits(void **state)
{
        assert_json(yaml("base: &b {x: 1}\nuse: *b\n"), "{\"base\":{\"x\":1},\"use\":{\"x\":1}}");
        assert_null(yaml("a: *nope\n"));
        assert_null(yaml("a: &x [*x]\n")); /* an alias inside its own anchor: no cycles */
        assert_null(yaml("a: 1\na: 2\n"));
        assert_null(yaml("? [1]\n: x\n"));
        char deep[71];
        memset(deep, '[', 70);
        deep[70] = '\0';
        assert_null(yaml(deep));
        json_t *docs = NULL;
        struct ap_error err = AP_ERROR_INIT;
        const char *multi = "a: 1\n---\n---\nb: 2\n...\n";
        assert_int_equal(ap_yaml_to_json_all(multi, strlen(multi), &docs, &err), 0);
        assert_json(docs, "[{\"a\":1},{\"b\":2}]");
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_current_context_files),
            cmocka_unit_test(test_inline_data),
            cmocka_unit_test(test_tokens),
            cmocka_unit_test(test_errors),
            cmocka_unit_test(test_load_file),
            cmocka_unit_test(test_in_cluster),
            cmocka_unit_test(test_yaml_scalars),
            cmocka_unit_test(test_yaml_anchors_and_limits),
        };
        return cmocka_run_group_tests(tests, setup, teardown);
}
