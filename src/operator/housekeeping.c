/* housekeeping.c - what keeps the operator's memory near its working set between bursts, run once a
 * second by the watch_log.c thread: repositories unused for a minute give back their kept SSH session
 * and libgit2 handle (ap_git_repo_release_idle: with a hundred apps these were the largest part of the
 * heap), and the freed memory is returned to the system (malloc_trim), since glibc keeps freed pages of
 * a burst in its arenas otherwise. */
#include <malloc.h>

#include "base/clock.h"
#include "base/log.h"
#include "operator/operator_internal.h"

#define IDLE_MS  60000 /* a repository unused this long is closed */
#define EVERY_MS 15000

void op_housekeeping(struct ap_operator *op, int64_t *last_ms)
{
        int64_t now = ap_mono_ms();
        if (now - *last_ms < EVERY_MS)
                return;
        *last_ms = now;
        unsigned released = 0;
        if (ap_git_repo_release_idle(op->flux_repo, IDLE_MS))
                released++;
        pthread_mutex_lock(&op->apps_lock);
        size_t it = 0;
        const char *name;
        void *v;
        while (ap_keymap_next(&op->apps, &it, &name, &v)) {
                struct op_app *a = v;
                /* a->lock guards a->repo; never wait for it here (a pass may hold it) */
                if (pthread_mutex_trylock(&a->lock) != 0)
                        continue;
                if (ap_git_repo_release_idle(a->repo, IDLE_MS))
                        released++;
                pthread_mutex_unlock(&a->lock);
        }
        pthread_mutex_unlock(&op->apps_lock);
        if (released)
                ap_log(AP_LOG_DEBUG, "closed %u idle repositor%s (sessions and handles)", released,
                       released == 1 ? "y" : "ies");
        malloc_trim(0);
}
