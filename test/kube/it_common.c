/* it_common.c - integration test helpers: kube client from $KUBECONFIG, namespaces, testenv scripts,
 * object builders, and a poll-based TCP proxy. */
#include "it_common.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <netinet/in.h>
#include <openssl/rand.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static char server_url[256];

struct ap_kube_client *it_client(const char *server_override)
{
        const char *kc = getenv("KUBECONFIG");
        if (!kc || !kc[0])
                fail_msg("KUBECONFIG is not set: the kube integration tests need a control plane "
                         "(tools/testenv/up DIR, or run tools/ci/test)");
        struct ap_error err = AP_ERROR_INIT;
        struct ap_kube_config *cfg = NULL;
        if (ap_kube_config_load_kubeconfig(kc, NULL, &cfg, &err) < 0)
                fail_msg("%s", err.msg);
        snprintf(server_url, sizeof(server_url), "%s", cfg->server);
        if (server_override) {
                free(cfg->server);
                cfg->server = strdup(server_override);
        }
        struct ap_kube_client *c = NULL;
        if (ap_kube_client_new(cfg, NULL, &c, &err) < 0)
                fail_msg("%s", err.msg);
        ap_kube_config_free(cfg);
        return c;
}

const char *it_server(void)
{
        return server_url;
}

char *it_namespace(struct ap_kube_client *c, const char *prefix)
{
        unsigned char r[4];
        RAND_bytes(r, sizeof(r));
        char *ns = NULL;
        if (asprintf(&ns, "kit-%s-%02x%02x%02x%02x", prefix, r[0], r[1], r[2], r[3]) < 0)
                fail_msg("out of memory");
        json_t *obj = json_pack("{s:s, s:s, s:{s:s, s:{s:s}}}", "apiVersion", "v1", "kind", "Namespace",
                                "metadata", "name", ns, "labels", "app-platform.test/kube", "integration");
        struct ap_error err = AP_ERROR_INIT;
        if (ap_kube_create(c, &ap_kube_res_namespaces, NULL, obj, NULL, NULL, NULL, &err) < 0)
                fail_msg("cannot create namespace '%s': %s", ns, err.msg);
        json_decref(obj);
        return ns;
}

void it_namespace_delete(struct ap_kube_client *c, const char *ns)
{
        struct ap_error err = AP_ERROR_INIT;
        if (ap_kube_delete(c, &ap_kube_res_namespaces, NULL, ns, NULL, NULL, NULL, &err) < 0) {
                /* best effort: the namespace controller cleans up what is left */
        }
}

const char *it_testenv_dir(void)
{
        static char dir[512];
        const char *kc = getenv("KUBECONFIG");
        if (!kc)
                return NULL;
        snprintf(dir, sizeof(dir), "%s", kc);
        char *d = dirname(dir);
        char env[600];
        snprintf(env, sizeof(env), "%s/env", d);
        struct stat st;
        if (stat(env, &st) != 0)
                return NULL;
        memmove(dir, d, strlen(d) + 1);
        return dir;
}

int it_testenv(const char *script, const char *arg)
{
        const char *dir = it_testenv_dir();
        const char *src = getenv("SRCDIR");
        if (!dir || !src)
                fail_msg("tools/testenv/%s needs a tools/testenv control plane behind KUBECONFIG and SRCDIR",
                         script);
        char cmd[2048];
        snprintf(cmd, sizeof(cmd), "'%s/tools/testenv/%s' '%s' %s >&2", src, script, dir, arg ? arg : "");
        return system(cmd);
}

json_t *it_configmap(const char *ns, const char *name, const char *key, const char *value)
{
        return json_pack("{s:s, s:s, s:{s:s, s:s}, s:{s:s}}", "apiVersion", "v1", "kind", "ConfigMap",
                         "metadata", "name", name, "namespace", ns, "data", key, value);
}

json_t *it_secret(const char *ns, const char *name, const char *label_key, const char *label_value)
{
        json_t *s = json_pack("{s:s, s:s, s:{s:s, s:s}, s:{s:s}}", "apiVersion", "v1", "kind", "Secret",
                              "metadata", "name", name, "namespace", ns, "stringData", "value", name);
        if (label_key)
                json_object_set_new(json_object_get(s, "metadata"), "labels",
                                    json_pack("{s:s}", label_key, label_value));
        return s;
}

long long it_rv(const json_t *obj)
{
        const char *rv =
            json_string_value(json_object_get(json_object_get(obj, "metadata"), "resourceVersion"));
        return rv ? strtoll(rv, NULL, 10) : -1;
}

void it_sleep_ms(long ms)
{
        struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
        nanosleep(&ts, NULL);
}

long long it_now_ms(void)
{
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- TCP proxy ---- */

#define MAX_PAIRS 64

struct tcp_proxy {
        int listen_fd, port, upstream_port;
        int wake[2];
        pthread_t thread;
        pthread_mutex_t lock; /* guards cut and stop */
        bool cut, stop;
        int pairs[MAX_PAIRS][2]; /* client fd, upstream fd; -1 when free */
};

static void close_pair(struct tcp_proxy *p, int i)
{
        close(p->pairs[i][0]);
        close(p->pairs[i][1]);
        p->pairs[i][0] = p->pairs[i][1] = -1;
}

static bool pump(int from, int to)
{
        char buf[65536];
        ssize_t n = read(from, buf, sizeof(buf));
        if (n <= 0)
                return false;
        for (ssize_t off = 0; off < n;) {
                ssize_t w = write(to, buf + off, (size_t)(n - off));
                if (w < 0 && errno == EINTR)
                        continue;
                if (w <= 0)
                        return false;
                off += w;
        }
        return true;
}

static void *proxy_loop(void *arg)
{
        struct tcp_proxy *p = arg;
        for (;;) {
                struct pollfd fds[2 + 2 * MAX_PAIRS];
                int idx[2 + 2 * MAX_PAIRS];
                nfds_t n = 0;
                fds[n++] = (struct pollfd){p->wake[0], POLLIN, 0};
                fds[n++] = (struct pollfd){p->listen_fd, POLLIN, 0};
                for (int i = 0; i < MAX_PAIRS; i++) {
                        if (p->pairs[i][0] < 0)
                                continue;
                        idx[n] = i;
                        fds[n++] = (struct pollfd){p->pairs[i][0], POLLIN, 0};
                        idx[n] = i;
                        fds[n++] = (struct pollfd){p->pairs[i][1], POLLIN, 0};
                }
                if (poll(fds, n, -1) < 0 && errno != EINTR)
                        break;
                pthread_mutex_lock(&p->lock);
                bool stop = p->stop, cut = p->cut;
                pthread_mutex_unlock(&p->lock);
                if (fds[0].revents) {
                        char c;
                        (void)!read(p->wake[0], &c, 1);
                }
                if (stop)
                        break;
                if (cut) {
                        for (int i = 0; i < MAX_PAIRS; i++)
                                if (p->pairs[i][0] >= 0)
                                        close_pair(p, i);
                }
                if (fds[1].revents & POLLIN) {
                        int c = accept(p->listen_fd, NULL, NULL);
                        if (c >= 0 && cut) {
                                close(c);
                        } else if (c >= 0) {
                                int u = socket(AF_INET, SOCK_STREAM, 0);
                                struct sockaddr_in a = {.sin_family = AF_INET,
                                                        .sin_port = htons((uint16_t)p->upstream_port)};
                                a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
                                int slot = -1;
                                for (int i = 0; i < MAX_PAIRS && slot < 0; i++)
                                        if (p->pairs[i][0] < 0)
                                                slot = i;
                                if (slot < 0 || connect(u, (struct sockaddr *)&a, sizeof(a)) < 0) {
                                        close(c);
                                        close(u);
                                } else {
                                        p->pairs[slot][0] = c;
                                        p->pairs[slot][1] = u;
                                }
                        }
                }
                for (nfds_t k = 2; k < n && !cut; k++) {
                        int i = idx[k];
                        if (!fds[k].revents || p->pairs[i][0] < 0)
                                continue;
                        bool from_client = fds[k].fd == p->pairs[i][0];
                        if (fds[k].fd != p->pairs[i][0] && fds[k].fd != p->pairs[i][1])
                                continue;
                        if (!pump(fds[k].fd, from_client ? p->pairs[i][1] : p->pairs[i][0]))
                                close_pair(p, i);
                }
        }
        for (int i = 0; i < MAX_PAIRS; i++)
                if (p->pairs[i][0] >= 0)
                        close_pair(p, i);
        return NULL;
}

struct tcp_proxy *tcp_proxy_start(int upstream_port)
{
        return tcp_proxy_start_on("127.0.0.1", upstream_port);
}

struct tcp_proxy *tcp_proxy_start_on(const char *ip, int upstream_port)
{
        struct tcp_proxy *p = calloc(1, sizeof(*p));
        assert_non_null(p);
        memset(p->pairs, -1, sizeof(p->pairs));
        p->upstream_port = upstream_port;
        pthread_mutex_init(&p->lock, NULL);
        assert_int_equal(pipe2(p->wake, O_CLOEXEC), 0);
        p->listen_fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        struct sockaddr_in a = {.sin_family = AF_INET};
        assert_int_equal(inet_pton(AF_INET, ip, &a.sin_addr), 1);
        assert_int_equal(bind(p->listen_fd, (struct sockaddr *)&a, sizeof(a)), 0);
        assert_int_equal(listen(p->listen_fd, 64), 0);
        socklen_t len = sizeof(a);
        getsockname(p->listen_fd, (struct sockaddr *)&a, &len);
        p->port = ntohs(a.sin_port);
        assert_int_equal(pthread_create(&p->thread, NULL, proxy_loop, p), 0);
        return p;
}

int tcp_proxy_port(struct tcp_proxy *p)
{
        return p->port;
}

void tcp_proxy_cut(struct tcp_proxy *p, bool cut)
{
        pthread_mutex_lock(&p->lock);
        p->cut = cut;
        pthread_mutex_unlock(&p->lock);
        (void)!write(p->wake[1], "x", 1);
        it_sleep_ms(50); /* let the loop act on it */
}

void tcp_proxy_free(struct tcp_proxy *p)
{
        if (!p)
                return;
        pthread_mutex_lock(&p->lock);
        p->stop = true;
        pthread_mutex_unlock(&p->lock);
        (void)!write(p->wake[1], "x", 1);
        pthread_join(p->thread, NULL);
        close(p->listen_fd);
        close(p->wake[0]);
        close(p->wake[1]);
        pthread_mutex_destroy(&p->lock);
        free(p);
}

/* ---- the event mirror ---- */

void it_mirror_init(struct it_mirror *m)
{
        memset(m, 0, sizeof(*m));
        pthread_mutex_init(&m->lock, NULL);
}

void it_mirror_release(struct it_mirror *m)
{
        ap_keymap_release(&m->objs, NULL);
        ap_keymap_release(&m->seen, NULL);
        pthread_mutex_destroy(&m->lock);
}

static void remember(struct it_mirror *m, const char *key, long long rv)
{
        char k[512];
        snprintf(k, sizeof(k), "%s@%lld", key, rv);
        assert_int_equal(ap_keymap_put(&m->seen, k, NULL, NULL), 0);
}

static void mirror_add(void *userdata, json_t *obj)
{
        struct it_mirror *m = userdata;
        struct ap_buf key = AP_BUF_INIT;
        assert_int_equal(ap_kube_obj_key(obj, &key), 0);
        long long rv = it_rv(obj);
        pthread_mutex_lock(&m->lock);
        m->adds++;
        if (ap_keymap_contains(&m->objs, key.data))
                m->dup_adds++;
        assert_int_equal(ap_keymap_put(&m->objs, key.data, (void *)(intptr_t)rv, NULL), 0);
        remember(m, key.data, rv);
        pthread_mutex_unlock(&m->lock);
        ap_buf_release(&key);
}

static void mirror_update(void *userdata, json_t *old_obj, json_t *obj)
{
        struct it_mirror *m = userdata;
        struct ap_buf key = AP_BUF_INIT;
        assert_int_equal(ap_kube_obj_key(obj, &key), 0);
        long long rv = it_rv(obj);
        pthread_mutex_lock(&m->lock);
        m->updates++;
        if (!ap_keymap_contains(&m->objs, key.data))
                m->bad_updates++;
        else if ((long long)(intptr_t)ap_keymap_get(&m->objs, key.data) >= rv)
                m->stale_updates++;
        if (it_rv(old_obj) >= rv)
                m->stale_updates++;
        assert_int_equal(ap_keymap_put(&m->objs, key.data, (void *)(intptr_t)rv, NULL), 0);
        remember(m, key.data, rv);
        pthread_mutex_unlock(&m->lock);
        ap_buf_release(&key);
}

static void mirror_delete(void *userdata, json_t *obj)
{
        struct it_mirror *m = userdata;
        struct ap_buf key = AP_BUF_INIT;
        assert_int_equal(ap_kube_obj_key(obj, &key), 0);
        pthread_mutex_lock(&m->lock);
        m->deletes++;
        if (!ap_keymap_remove(&m->objs, key.data, NULL))
                m->bad_deletes++;
        pthread_mutex_unlock(&m->lock);
        ap_buf_release(&key);
}

struct ap_kube_informer_handlers it_mirror_handlers(struct it_mirror *m)
{
        return (struct ap_kube_informer_handlers){mirror_add, mirror_update, mirror_delete, m};
}

bool it_mirror_saw(struct it_mirror *m, const char *key, long long rv)
{
        char k[512];
        snprintf(k, sizeof(k), "%s@%lld", key, rv);
        pthread_mutex_lock(&m->lock);
        bool r = ap_keymap_contains(&m->seen, k);
        pthread_mutex_unlock(&m->lock);
        return r;
}

void it_mirror_assert_clean(struct it_mirror *m)
{
        pthread_mutex_lock(&m->lock);
        int a = m->dup_adds, u = m->bad_updates, s = m->stale_updates, d = m->bad_deletes;
        pthread_mutex_unlock(&m->lock);
        if (a || u || s || d)
                fail_msg("event anomalies: %d duplicate adds, %d updates of unknown keys, %d non-increasing "
                         "updates, %d deletes of unknown keys",
                         a, u, s, d);
}

/* Compare a list of objects with a key -> rv map; returns the first difference or NULL. */
static bool same_state(json_t *items, struct ap_keymap *rvs, char *why, size_t n)
{
        if (json_array_size(items) != ap_keymap_size(rvs)) {
                snprintf(why, n, "%zu objects on the server, %zu here", json_array_size(items),
                         ap_keymap_size(rvs));
                return false;
        }
        size_t i;
        json_t *obj;
        json_array_foreach(items, i, obj)
        {
                struct ap_buf key = AP_BUF_INIT;
                assert_int_equal(ap_kube_obj_key(obj, &key), 0);
                bool ok = ap_keymap_contains(rvs, key.data) &&
                          (long long)(intptr_t)ap_keymap_get(rvs, key.data) == it_rv(obj);
                if (!ok)
                        snprintf(why, n, "'%s' differs (server rv %lld)", key.data, it_rv(obj));
                ap_buf_release(&key);
                if (!ok)
                        return false;
        }
        return true;
}

void it_wait_converged(struct ap_kube_informer *inf, struct it_mirror *m, struct ap_kube_client *c,
                       const struct ap_kube_resource *r, const char *ns, const char *label_selector,
                       long timeout_ms)
{
        long long deadline = it_now_ms() + timeout_ms;
        char why[256] = "";
        for (;;) {
                json_t *server = NULL;
                struct ap_error err = AP_ERROR_INIT;
                struct ap_kube_opts o = {.label_selector = label_selector};
                if (ap_kube_list_all(c, r, ns, &o, &server, NULL, &err) == 0) {
                        json_t *items = json_object_get(server, "items");
                        /* the informer's cache */
                        struct ap_keymap cache = AP_KEYMAP_INIT;
                        json_t *cached = ap_kube_informer_list(inf);
                        size_t i;
                        json_t *obj;
                        json_array_foreach(cached, i, obj)
                        {
                                struct ap_buf key = AP_BUF_INIT;
                                assert_int_equal(ap_kube_obj_key(obj, &key), 0);
                                assert_int_equal(
                                    ap_keymap_put(&cache, key.data, (void *)(intptr_t)it_rv(obj), NULL), 0);
                                ap_buf_release(&key);
                        }
                        json_decref(cached);
                        bool ok = same_state(items, &cache, why, sizeof(why));
                        ap_keymap_release(&cache, NULL);
                        if (ok && m) {
                                pthread_mutex_lock(&m->lock);
                                ok = same_state(items, &m->objs, why, sizeof(why));
                                pthread_mutex_unlock(&m->lock);
                                if (!ok)
                                        strncat(why, " (in the event mirror)", sizeof(why) - strlen(why) - 1);
                        }
                        json_decref(server);
                        if (ok)
                                return;
                } else {
                        snprintf(why, sizeof(why), "listing failed: %s", err.msg);
                }
                if (it_now_ms() > deadline) {
                        char last[AP_ERROR_MSG_MAX] = "";
                        ap_kube_informer_last_error(inf, last, sizeof(last));
                        fail_msg(
                            "the cache did not converge to the server's state within %ld ms: %s; informer's "
                            "last error: %s",
                            timeout_ms, why, last);
                }
                it_sleep_ms(100);
        }
}
