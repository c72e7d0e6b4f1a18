/* leader.h - leader election on a coordination.k8s.io/v1 Lease, as client-go does it: acquire when the
 * lease is free or its holder has not renewed for leaseDuration (measured on our own clock from when we
 * saw the record change), write with optimistic concurrency (resourceVersion), renew every retry
 * period, and stop leading once renewDeadline has passed since the start of the last successful renewal
 * (renewDeadline < leaseDuration, so the old leader always stops before anyone else may start). On stop
 * the lease is released (holderIdentity cleared) so a successor takes over at once. */
#pragma once

#include "base/macro.h"

#include <stdbool.h>

#include "client.h"
#include "metrics.h"

struct ap_kube_leader;

struct ap_kube_leader_options {
        const char *namespace;  /* of the Lease */
        const char *name;       /* of the Lease, e.g. "app-platform-operator" */
        const char *identity;   /* unique per process, e.g. "<hostname>_<random>" */
        long lease_duration_ms; /* 0 = 15 s */
        long renew_deadline_ms; /* 0 = 10 s; must be < lease_duration */
        long retry_period_ms;   /* 0 = 2 s */
        bool keep_on_stop;      /* don't release the lease when stopping */
        bool recampaign;        /* after losing the lease, follow and campaign again (else stop electing) */
        /* Callbacks run on the election thread. started: begin work. stopped: stop all work now (called
         * when leadership is lost or on stop while leading); after a loss the elector campaigns again
         * when recampaign is set, else it does not run again. */
        void (*on_started_leading)(void *userdata);
        void (*on_stopped_leading)(void *userdata);
        void (*on_new_leader)(void *userdata, const char *identity); /* may be NULL */
        void *userdata;
        struct ap_kube_metrics *metrics; /* leader_election_master_status{name}; may be NULL */
};

int ap_kube_leader_new(struct ap_kube_client *client, const struct ap_kube_leader_options *opts,
                       struct ap_kube_leader **ret, struct ap_error *err) _warn_unused_;
struct ap_kube_leader *ap_kube_leader_free(struct ap_kube_leader *le);
int ap_kube_leader_start(struct ap_kube_leader *le, struct ap_error *err) _warn_unused_;
/* Stop campaigning; if leading, call on_stopped_leading and release the lease. Joins the thread. */
void ap_kube_leader_stop(struct ap_kube_leader *le);
bool ap_kube_leader_is_leader(struct ap_kube_leader *le);
/* True once leadership was lost (not stopped) without recampaign: the process should exit. */
bool ap_kube_leader_lost(struct ap_kube_leader *le);
/* True while this process leads and its renew deadline has not passed since the last successful
 * renewal began: work may start. Checked by workers before each key, so a process that was frozen
 * (SIGSTOP, a long GC-like pause, a suspended VM) starts nothing after waking even before the election
 * thread notices the loss. Thread-safe. */
bool ap_kube_leader_lease_valid(struct ap_kube_leader *le);
/* How many times leadership was lost so far. */
unsigned long ap_kube_leader_losses(struct ap_kube_leader *le);
