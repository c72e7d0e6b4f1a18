/* app_state.c - per-app runtime state: the age key, the platform repo handle and the lock that
 * serialises the app's reconciles (see operator_internal.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "operator/operator_internal.h"

struct op_app *op_app_get(struct ap_operator *op, const char *app)
{
        pthread_mutex_lock(&op->apps_lock);
        struct op_app *a = ap_keymap_get(&op->apps, app);
        if (!a) {
                a = calloc(1, sizeof(*a));
                if (a) {
                        snprintf(a->app, sizeof(a->app), "%s", app);
                        pthread_mutex_init(&a->work_lock, NULL);
                        pthread_mutex_init(&a->lock, NULL);
                        pthread_mutex_init(&a->status_lock, NULL);
                        if (ap_keymap_put(&op->apps, a->app, a, NULL) < 0) {
                                pthread_mutex_destroy(&a->work_lock);
                                pthread_mutex_destroy(&a->lock);
                                pthread_mutex_destroy(&a->status_lock);
                                free(a);
                                a = NULL;
                        }
                }
        }
        pthread_mutex_unlock(&op->apps_lock);
        return a;
}

void op_app_reset(struct op_app *a)
{
        pthread_mutex_lock(&a->lock);
        a->ready = false;
        a->identity = ap_age_identity_free(a->identity);
        a->rcp = ap_age_recipient_free(a->rcp);
        a->recipient[0] = '\0';
        free(a->push_url);
        free(a->clone_url);
        free(a->repo_label);
        a->push_url = a->clone_url = a->repo_label = NULL;
        a->repo = ap_git_repo_free(a->repo);
        a->repo_synced_ms = 0;
        pthread_mutex_unlock(&a->lock);
}

static void app_free(void *v)
{
        struct op_app *a = v;
        op_app_reset(a);
        op_memo_clear(a);
        pthread_mutex_destroy(&a->work_lock);
        pthread_mutex_destroy(&a->lock);
        pthread_mutex_destroy(&a->status_lock);
        free(a);
}

void op_apps_free(struct ap_operator *op)
{
        ap_keymap_release(&op->apps, app_free);
}

void op_strv_free(char **v, size_t n)
{
        for (size_t i = 0; v && i < n; i++)
                free(v[i]);
        free(v);
}
