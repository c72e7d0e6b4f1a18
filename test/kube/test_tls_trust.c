/* test_tls_trust.c - which CAs the REST client trusts: with a CA in the kubeconfig, that CA alone (never
 * the system CA directory next to it), without one the system store. A real `openssl s_server` holds a
 * certificate from a "system" CA that a private mount namespace puts in /etc/ssl/certs. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "base/fileio.h"
#include "kube/client.h"
#include "kube/config.h"

static char dir[] = "/tmp/ap-tls-trust-XXXXXX";
static pid_t server_pid = -1;
static int server_port;

static int sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int sh(const char *fmt, ...)
{
        char cmd[2048];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(cmd, sizeof(cmd), fmt, ap);
        va_end(ap);
        int r = system(cmd);
        if (r != 0)
                fprintf(stderr, "# '%s' failed (%d)\n", cmd, r);
        return r;
}

static int free_port(void)
{
        int fd = socket(AF_INET, SOCK_STREAM, 0);
        struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
        socklen_t len = sizeof(a);
        if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0 ||
            getsockname(fd, (struct sockaddr *)&a, &len) < 0)
                return -1;
        close(fd);
        return ntohs(a.sin_port);
}

static bool accepting(int port)
{
        int fd = socket(AF_INET, SOCK_STREAM, 0);
        struct sockaddr_in a = {.sin_family = AF_INET,
                                .sin_port = htons((uint16_t)port),
                                .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
        bool ok = fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0;
        if (fd >= 0)
                close(fd);
        return ok;
}

/* Two unrelated CAs, a server certificate from the "system" one, the system CA directory (hashed link
 * and the bundle file libcurl reads by default), and the server. */
static int setup(void **state)
{
        if (!mkdtemp(dir))
                return -1;
        char ext[512];
        snprintf(ext, sizeof(ext), "%s/srv.ext", dir);
        FILE *f = fopen(ext, "w");
        if (!f)
                return -1;
        fprintf(f, "subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n");
        fclose(f);
        const char *ca = "-x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 1 "
                         "-addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign";
        if (sh("cd %s && openssl req %s -keyout sys.key -out sys.crt -subj /CN=ap-test-system-ca 2>/dev/null",
               dir, ca) ||
            sh("cd %s && openssl req %s -keyout cluster.key -out cluster.crt -subj /CN=ap-test-cluster-ca "
               "2>/dev/null",
               dir, ca) ||
            sh("cd %s && openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout "
               "srv.key "
               "-subj /CN=server 2>/dev/null | openssl x509 -req -CA sys.crt -CAkey sys.key -CAcreateserial "
               "-days 1 -extfile srv.ext -out srv.crt 2>/dev/null",
               dir))
                return -1;
        if (sh("cd %s && mkdir certs && cp sys.crt \"certs/$(openssl x509 -hash -noout -in sys.crt).0\" && "
               "cp sys.crt certs/ca-certificates.crt",
               dir))
                return -1;
        server_port = free_port();
        char accept[32], cert[512], key[512];
        snprintf(accept, sizeof(accept), "127.0.0.1:%d", server_port);
        snprintf(cert, sizeof(cert), "%s/srv.crt", dir);
        snprintf(key, sizeof(key), "%s/srv.key", dir);
        server_pid = fork();
        if (server_pid == 0) {
                if (!freopen("/dev/null", "w", stdout))
                        _exit(126);
                execlp("openssl", "openssl", "s_server", "-accept", accept, "-cert", cert, "-key", key,
                       "-www", "-quiet", (char *)NULL);
                _exit(127);
        }
        for (int i = 0; i < 100 && !accepting(server_port); i++) {
                struct timespec ts = {0, 50 * 1000000L};
                nanosleep(&ts, NULL);
        }
        return accepting(server_port) ? 0 : -1;
}

static int teardown(void **state)
{
        if (server_pid > 0) {
                kill(server_pid, SIGTERM);
                waitpid(server_pid, NULL, 0);
        }
        ap_remove_tree(dir);
        return 0;
}

/* GET / with a kubeconfig trusting ca_file (NULL: no CA in the kubeconfig); the client's return code. */
static int get_with_ca(const char *ca_file, char *msg, size_t msg_size)
{
        char kc[512];
        snprintf(kc, sizeof(kc), "%s/kubeconfig-%s", dir, ca_file ? ca_file : "none");
        FILE *f = fopen(kc, "w");
        if (!f)
                return -EIO;
        fprintf(f,
                "apiVersion: v1\nkind: Config\ncurrent-context: t\nclusters:\n- name: t\n  cluster:\n"
                "    server: https://127.0.0.1:%d\n",
                server_port);
        if (ca_file)
                fprintf(f, "    certificate-authority: %s/%s\n", dir, ca_file);
        fprintf(f, "users:\n- name: u\n  user: {}\ncontexts:\n- name: t\n  context: {cluster: t, user: u}\n");
        fclose(f);
        struct ap_error err = AP_ERROR_INIT;
        struct ap_kube_config *cfg = NULL;
        struct ap_kube_client *c = NULL;
        int r = ap_kube_config_load_kubeconfig(kc, NULL, &cfg, &err);
        if (r >= 0)
                r = ap_kube_client_new(cfg, NULL, &c, &err);
        if (r >= 0) {
                char url[64];
                snprintf(url, sizeof(url), "https://127.0.0.1:%d/", server_port);
                struct ap_kube_http h = {.method = "GET", .url = url};
                long code = 0;
                r = ap_kube_client_do(c, &h, &code, NULL, NULL, &err);
        }
        snprintf(msg, msg_size, "%s", err.msg);
        ap_kube_client_free(c);
        ap_kube_config_free(cfg);
        return r;
}

/* In a private mount namespace with our certs/ over /etc/ssl/certs; reports by exit code. */
static int trust_child(void)
{
        if (unshare(CLONE_NEWNS) < 0 && unshare(CLONE_NEWUSER | CLONE_NEWNS) < 0)
                return 10;
        char certs[512];
        snprintf(certs, sizeof(certs), "%s/certs", dir);
        if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0 ||
            mount(certs, "/etc/ssl/certs", NULL, MS_BIND, NULL) < 0)
                return 11;
        char msg[AP_ERROR_MSG_MAX];
        /* the kubeconfig names another CA: the server's system-CA certificate must not pass */
        int r = get_with_ca("cluster.crt", msg, sizeof(msg));
        if (r != AP_KUBE_E_TLS_VERIFY) {
                fprintf(stderr,
                        "# a server from a system CA passed a client trusting only the cluster CA: %d %s\n",
                        r, msg);
                return 12;
        }
        /* the kubeconfig names the server's CA: it passes */
        if ((r = get_with_ca("sys.crt", msg, sizeof(msg))) < 0) {
                fprintf(stderr, "# the server's own CA in the kubeconfig: %d %s\n", r, msg);
                return 13;
        }
        /* no CA in the kubeconfig: the system store decides, and it holds the server's CA */
        if ((r = get_with_ca(NULL, msg, sizeof(msg))) < 0) {
                fprintf(stderr, "# no CA in the kubeconfig, server CA in the system store: %d %s\n", r, msg);
                return 14;
        }
        return 0;
}

static void test_cluster_ca_alone(void **state)
{
        pid_t pid = fork();
        assert_true(pid >= 0);
        if (pid == 0)
                _exit(trust_child());
        int st = 0;
        assert_int_equal(waitpid(pid, &st, 0), pid);
        assert_true(WIFEXITED(st));
        assert_int_equal(WEXITSTATUS(st), 0);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_cluster_ca_alone),
        };
        return cmocka_run_group_tests(tests, setup, teardown);
}
