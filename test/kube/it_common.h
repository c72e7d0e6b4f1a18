/* it_common.h - shared helpers of the kube integration tests: a client for $KUBECONFIG (the test fails
 * when it is unset), a fresh namespace per test, the tools/testenv control plane's scripts
 * (restart-apiserver, compact), small object builders, and a TCP proxy a test can cut to drop and refuse
 * a client's connections while the cluster changes behind its back. */
#pragma once

#include <jansson.h>
#include <pthread.h>
#include <stdbool.h>

#include "kube/api.h"
#include "kube/client.h"
#include "kube/config.h"
#include "kube/obj.h"
#include "kube/watch_stream.h"

/* The client for $KUBECONFIG; aborts the test (fail) when it is unset or unusable. server_override
 * (may be NULL) replaces the server URL, e.g. to go through a tcp_proxy. */
struct ap_kube_client *it_client(const char *server_override);
/* The kubeconfig's server URL ("https://127.0.0.1:PORT"). */
const char *it_server(void);
/* Create a namespace "kit-<prefix>-<random>" and return its name (static storage per call site is not
 * needed: the string is malloc'd). */
char *it_namespace(struct ap_kube_client *c, const char *prefix);
/* Delete it (foreground is not needed: the namespace controller cleans up). */
void it_namespace_delete(struct ap_kube_client *c, const char *ns);
/* The tools/testenv DIR behind $KUBECONFIG (its directory holding 'env'), or NULL. */
const char *it_testenv_dir(void);
/* Run tools/testenv/<script> DIR [arg]; 0 on success. */
int it_testenv(const char *script, const char *arg);

json_t *it_configmap(const char *ns, const char *name, const char *key, const char *value);
json_t *it_secret(const char *ns, const char *name, const char *label_key, const char *label_value);
long long it_rv(const json_t *obj);
void it_sleep_ms(long ms);
long long it_now_ms(void);

struct tcp_proxy;
/* Listen on 127.0.0.1:0 and forward every connection to 127.0.0.1:upstream_port. */
struct tcp_proxy *tcp_proxy_start(int upstream_port);
/* The same listening on another loopback address (e.g. "127.0.0.2"). */
struct tcp_proxy *tcp_proxy_start_on(const char *ip, int upstream_port);
int tcp_proxy_port(struct tcp_proxy *p);
/* cut = true: close every open connection and refuse new ones until cut = false. */
void tcp_proxy_cut(struct tcp_proxy *p, bool cut);
void tcp_proxy_free(struct tcp_proxy *p);

/* A copy of an informer's view built only from the events its handlers receive, with counters of every
 * anomaly: an add for a key already present, an update or delete for a key absent, an update whose
 * resourceVersion does not increase (a duplicate or reordered event). Every (key, resourceVersion)
 * delivered is remembered, so a test can check that a given write was seen. */
#include "kube/informer.h"
#include "kube/keymap.h"

struct it_mirror {
        pthread_mutex_t lock;
        struct ap_keymap objs; /* key -> (intptr_t) resourceVersion */
        struct ap_keymap seen; /* "key@rv" -> NULL */
        int adds, updates, deletes;
        int dup_adds, bad_updates, stale_updates, bad_deletes;
};

void it_mirror_init(struct it_mirror *m);
void it_mirror_release(struct it_mirror *m);
/* Handlers that maintain m (userdata = m). */
struct ap_kube_informer_handlers it_mirror_handlers(struct it_mirror *m);
bool it_mirror_saw(struct it_mirror *m, const char *key, long long rv);
/* No anomalies so far. */
void it_mirror_assert_clean(struct it_mirror *m);
/* Wait until the informer's cache and the mirror both equal the server's list (same keys, same
 * resourceVersions); fails the test after timeout_ms. */
void it_wait_converged(struct ap_kube_informer *inf, struct it_mirror *m, struct ap_kube_client *c,
                       const struct ap_kube_resource *r, const char *ns, const char *label_selector,
                       long timeout_ms);
