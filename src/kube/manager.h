/* manager.h - the building blocks wired together the way an operator process runs them (as
 * controller-runtime's manager does): /metrics, /healthz and /readyz (ready once every informer synced),
 * informers, and controllers that start only while this process leads (when leader election is on).
 * Losing the lease stops the controllers at once (no new key; reconciles in flight see their cancel flag
 * and are queued again) and the process campaigns again in-process: the informers keep running, and the
 * controllers restart with their queues on the next leadership. Workers also check the lease's renew
 * deadline before each key, so a process frozen past it starts nothing when it wakes.
 * ap_kube_manager_run blocks until SIGTERM/SIGINT, then shuts down in order: no new reconcile, those in
 * flight get shutdown_grace_ms to finish (the lease is still renewed meanwhile) and are then cancelled,
 * the informers stop, the lease is released; the endpoints stop when the manager is freed. */
#pragma once

#include "base/macro.h"

#include <signal.h>
#include <stdbool.h>

#include "client.h"
#include "controller.h"
#include "health.h"
#include "informer.h"
#include "leader.h"
#include "metrics.h"

struct ap_kube_manager;

struct ap_kube_manager_options {
        const char *metrics_addr; /* ":8080"; "0" disables */
        const char *health_addr;  /* ":8081"; "0" disables */
        bool leader_elect;
        const char *lease_namespace;
        const char *lease_name;                                     /* "app-platform-operator" */
        const char *identity;                                       /* unique per process */
        long lease_duration_ms, renew_deadline_ms, retry_period_ms; /* 0 = 15 s / 10 s / 2 s */
        long cache_sync_timeout_ms;                                 /* 0 = 2 min */
        long shutdown_grace_ms; /* for reconciles in flight at SIGTERM; 0 = 30 s */
        /* Told when this process starts leading (controllers started) and stops leading (controllers
         * stopped and joined), as often as that happens; with leader election off, once each around the
         * run. May be NULL. */
        void (*on_leading)(void *userdata, bool leading);
        void *userdata;
};

/* metrics is created by the manager and exposed through ap_kube_manager_metrics. */
int ap_kube_manager_new(struct ap_kube_client *client, const struct ap_kube_manager_options *opts,
                        struct ap_kube_manager **ret, struct ap_error *err) _warn_unused_;
struct ap_kube_manager *ap_kube_manager_free(struct ap_kube_manager *m);
struct ap_kube_metrics *ap_kube_manager_metrics(struct ap_kube_manager *m);
struct ap_kube_health *ap_kube_manager_health(struct ap_kube_manager *m);

/* Hand informers and controllers to the manager (it stops and frees them). Before run. */
int ap_kube_manager_add_informer(struct ap_kube_manager *m, struct ap_kube_informer *inf) _warn_unused_;
int ap_kube_manager_add_controller(struct ap_kube_manager *m, struct ap_kube_controller *c) _warn_unused_;

/* Block SIGTERM and SIGINT in the calling thread; call at the top of main, before any thread starts, so
 * every thread inherits the mask and the signals are only ever taken by ap_kube_manager_run. */
int ap_kube_block_stop_signals(void) _warn_unused_;

/* Run until SIGTERM/SIGINT or ap_kube_manager_request_stop (returns 0 after a clean shutdown). A lost
 * lease does not end the run (see above). Errors at start-up are returned (cache sync timeout: optional
 * informers whose resource is missing count as synced). */
int ap_kube_manager_run(struct ap_kube_manager *m, struct ap_error *err) _warn_unused_;
/* Ask a running manager to stop as if it got SIGTERM (from any thread). */
void ap_kube_manager_request_stop(struct ap_kube_manager *m);
