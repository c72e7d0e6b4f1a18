/* watch_log.c - puts in the operator's log what its informers go through, since src/kube does not log:
 * a failed list or watch with its cause (the apiserver restarting), a consistent relist forced by 410
 * Gone (an etcd compaction), and the watch resuming afterwards. A thread compares the informers'
 * counters once a second; it also runs the operator's housekeeping (housekeeping.c). */
#include <string.h>
#include <time.h>

#include "base/clock.h"
#include "base/log.h"
#include "operator/operator_internal.h"

struct wl_state {
        struct ap_kube_informer *inf;
        const char *what;
        struct ap_kube_informer_stats last;
        struct ap_kube_informer_stats at_error; /* the counters when the last failure was seen */
        bool failing;
        int quiet; /* seconds without a new failure */
};

static void look(struct wl_state *w)
{
        struct ap_kube_informer_stats st;
        ap_kube_informer_get_stats(w->inf, &st);
        if (st.errors > w->last.errors) {
                char why[AP_ERROR_MSG_MAX] = "";
                ap_kube_informer_last_error(w->inf, why, sizeof(why));
                ap_log(AP_LOG_WARN, "watching %s failed (%lu time%s): %s; retrying with backoff", w->what,
                       st.errors - w->last.errors, st.errors - w->last.errors == 1 ? "" : "s",
                       why[0] ? why : "unknown cause");
                w->failing = true;
        }
        if (st.relists > w->last.relists)
                ap_log(AP_LOG_WARN,
                       "watching %s: resourceVersion %s expired (410 Gone, compacted): relisted at %s and "
                       "delivered the differences",
                       w->what, w->last.last_list_rv[0] ? w->last.last_list_rv : "(none)", st.last_list_rv);
        else if (st.resyncs > w->last.resyncs)
                ap_log(AP_LOG_WARN, "watching %s: an event could not be handed on: relisted at %s", w->what,
                       st.last_list_rv);
        /* back once a request went out after the last failure and two seconds passed without another */
        if (st.errors > w->last.errors) {
                w->quiet = 0;
                w->at_error = st;
        } else if (w->failing && ++w->quiet >= 2 &&
                   (st.watches > w->at_error.watches || st.lists > w->at_error.lists)) {
                ap_log(AP_LOG_INFO, "watching %s again (%lu list%s, %lu watch request%s so far)", w->what,
                       st.lists, st.lists == 1 ? "" : "s", st.watches, st.watches == 1 ? "" : "s");
                w->failing = false;
        }
        w->last = st;
}

static void *run(void *arg)
{
        struct ap_operator *op = arg;
        struct wl_state ws[] = {
            {.inf = op->regs, .what = "AppPlatformRegistrations"},
            {.inf = op->intents, .what = "managed secrets"},
            {.inf = op->gitrepos, .what = "Flux GitRepositories"},
            {.inf = op->kustomizations, .what = "Flux Kustomizations"},
        };
        for (size_t i = 0; i < AP_ARRAY_SIZE(ws); i++)
                if (ws[i].inf)
                        ap_kube_informer_get_stats(ws[i].inf, &ws[i].last);
        int64_t housekept = ap_mono_ms();
        while (!atomic_load(&op->wl_stop)) {
                struct timespec ts = {0, 100 * 1000000L};
                for (int i = 0; i < 10 && !atomic_load(&op->wl_stop); i++)
                        nanosleep(&ts, NULL);
                for (size_t i = 0; i < AP_ARRAY_SIZE(ws); i++)
                        if (ws[i].inf)
                                look(&ws[i]);
                op_housekeeping(op, &housekept);
        }
        return NULL;
}

int op_watch_log_start(struct ap_operator *op, struct ap_error *err)
{
        atomic_store(&op->wl_stop, false);
        int r = pthread_create(&op->wl_thread, NULL, run, op);
        if (r != 0)
                return ap_error_set(err, -r, "cannot start a thread: %s", strerror(r));
        op->wl_running = true;
        return 0;
}

void op_watch_log_stop(struct ap_operator *op)
{
        if (!op->wl_running)
                return;
        atomic_store(&op->wl_stop, true);
        pthread_join(op->wl_thread, NULL);
        op->wl_running = false;
}
