/* managed_secret.c - the managed-secret reconciler, keyed by app: every intent of the app (Secrets
 * labelled labrats.work/managed-secret=true in '<app>-platform') in one pass, so a burst of changes
 * becomes one commit and one push. Refused intents get labrats.work/last-error and an Event and nothing
 * in Git; changed ones go Pending (committed=false), are committed, then Committed (committed=true,
 * labrats.work/commit=<sha>); deleted ones lose their files, then their finalizer, then the Secret.
 * After a push Flux is asked to reconcile at once. A failed commit leaves every annotation saying what
 * happened and is retried with backoff; nothing is committed twice (src/git re-applies the same change
 * set on the new tip and reports an identical tree as unchanged). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/clock.h"
#include "base/log.h"
#include "kube/status.h"
#include "kube/timefmt.h"
#include "operator/secret_pass.h"

static const char *annotation(const json_t *obj, const char *key)
{
        return json_string_value(
            json_object_get(json_object_get(json_object_get(obj, "metadata"), "annotations"), key));
}

static void pass_release(struct sec_pass *s)
{
        for (size_t i = 0; i < s->n_in; i++) {
                op_strv_free(s->in[i].targets, s->in[i].n_targets);
                free(s->in[i].target_name);
                json_decref(s->in[i].data);
        }
        free(s->in);
        for (size_t i = 0; i < s->n_files; i++)
                free(s->files[i]);
        free(s->files);
        for (size_t i = 0; i < s->n_ch; i++) {
                free(s->ch[i].path);
                ap_buf_release(&s->ch[i].data);
        }
        free(s->ch);
        free(s->spec_ns);
        json_decref(s->list);
        json_decref(s->reg);
}

static int collect_file(const char *path, void *userdata)
{
        struct sec_pass *s = userdata;
        if (s->n_files == s->cap_files) {
                size_t cap = s->cap_files ? s->cap_files * 2 : 32;
                char **n = realloc(s->files, cap * sizeof(char *));
                if (!n)
                        return -ENOMEM;
                s->files = n;
                s->cap_files = cap;
        }
        return (s->files[s->n_files] = strdup(path)) ? (s->n_files++, 0) : -ENOMEM;
}

/* Set the annotations of one intent (string = set, NULL member value = remove). */
static int annotate(struct sec_pass *s, const struct sec_intent *in, json_t *anns, struct ap_error *err)
{
        if (!anns)
                return ap_error_set(err, -ENOMEM, "out of memory");
        int r =
            op_patch_annotations(s->op, &ap_kube_res_secrets, in->obj, s->n.platform_ns, in->name, anns, err);
        json_decref(anns);
        return r == AP_KUBE_E_NOT_FOUND ? 0 : r;
}

/* The result of a write guarded by in->rv: a conflict (the intent changed during the pass) marks it
 * stale for the rest of the pass, as a gone intent is no error. */
static int versioned_result(struct sec_intent *in, int r, struct ap_error *err)
{
        if (r == AP_KUBE_E_CONFLICT) {
                in->stale = true;
                ap_error_clear(err);
                return 0;
        }
        return r == AP_KUBE_E_NOT_FOUND ? 0 : r;
}

/* Committed, on the version of the intent this pass committed and nothing newer (an update made during
 * the pass must not be marked Committed with a commit that holds its previous data: a conflict leaves
 * it to the pass its update queued), adding the finalizer in the same write when the intent lacks it.
 * The finalizer comes with the first Committed, not before the commit: a deletion that wins the race
 * leaves files no intent owns, which the next pass removes. */
static int settle_annotations(struct sec_pass *s, struct sec_intent *in, json_t *anns, struct ap_error *err)
{
        if (!anns)
                return ap_error_set(err, -ENOMEM, "out of memory");
        int r = op_patch_meta(s->op, &ap_kube_res_secrets, in->obj, anns, !in->finalizer, in->rv, err);
        json_decref(anns);
        return versioned_result(in, r, err);
}

/* committed=false before the commit of a change to an intent that was Committed, on the version the
 * pass planned with; in->rv follows our write (or in->stale: it changed meanwhile). */
static int mark_uncommitted(struct sec_pass *s, struct sec_intent *in, struct ap_error *err)
{
        json_t *anns = json_pack("{s:s}", AP_ANN_COMMITTED, "false");
        if (!anns)
                return ap_error_set(err, -ENOMEM, "out of memory");
        int r = op_patch_annotations_at(s->op, &ap_kube_res_secrets, in->obj, anns, in->rv, in->rv,
                                        sizeof(in->rv), err);
        json_decref(anns);
        return versioned_result(in, r, err);
}

/* Every intent that could not be handled at all (no registration, registration not ready). */
static void refuse_all(struct sec_pass *s, const char *why)
{
        for (size_t i = 0; i < s->n_in; i++) {
                struct sec_intent *in = &s->in[i];
                struct ap_error err = AP_ERROR_INIT;
                if (in->quiet)
                        continue;
                if (in->deleting) {
                        /* nothing of it can be in a repository we do not know: let it go */
                        if (in->finalizer &&
                            op_finalizer(s->op, &ap_kube_res_secrets, in->obj, false, &err) < 0)
                                ap_log(AP_LOG_WARN, "managed secret '%s/%s': %s", s->n.platform_ns, in->name,
                                       ap_error_message(&err));
                        continue;
                }
                const char *prev = annotation(in->obj, AP_ANN_LAST_ERROR);
                if (!prev || strcmp(prev, why) != 0)
                        op_event(s->op, in->obj, true, "SecretPending", "Commit", "%s", why);
                if (annotate(s, in,
                             json_pack("{s:s, s:s}", AP_ANN_COMMITTED, "false", AP_ANN_LAST_ERROR, why),
                             &err) < 0)
                        ap_log(AP_LOG_WARN, "managed secret '%s/%s': %s", s->n.platform_ns, in->name,
                               ap_error_message(&err));
        }
}

/* The commit message: subject naming the secrets, one body line per change, never a value. */
static int message(struct sec_pass *s, struct ap_buf *subject, struct ap_buf *body, const char **ret_by)
{
        int r = s->rotate ? ap_buf_printf(subject,
                                          "secrets: %s: re-encrypt every secret to the new age key (rotation "
                                          "'%.60s')",
                                          s->n.app, s->rot_req)
                          : ap_buf_printf(subject, "secrets: %s:", s->n.app);
        size_t shown = 0;
        const char *by = NULL;
        bool one_by = true;
        for (size_t i = 0; r == 0 && i < s->n_in; i++) {
                struct sec_intent *in = &s->in[i];
                if (!in->touched)
                        continue;
                if (s->rotate)
                        shown = 6;
                else if (shown < 5)
                        r = ap_buf_printf(subject, "%s %s %s", shown ? "," : "",
                                          in->deleting ? "delete" : "update", in->name);
                else if (shown == 5)
                        r = ap_buf_addstr(subject, ", ...");
                shown++;
                if (in->requested_by[0]) {
                        if (by && strcmp(by, in->requested_by) != 0)
                                one_by = false;
                        by = in->requested_by;
                }
        }
        for (size_t c = 0; r == 0 && c < s->n_ch; c++) {
                const struct sec_change *ch = &s->ch[c];
                const struct sec_intent *in = ch->intent >= 0 ? &s->in[ch->intent] : NULL;
                if (!in && strcmp(ch->why, "remove") == 0)
                        r = ap_buf_printf(body, "- remove %s: no managed secret owns it\n", ch->path);
                else if (!in)
                        r = ap_buf_printf(body, "- %s %s\n", ch->why, ch->path);
                else
                        r = ap_buf_printf(body, "- %s %s/%s -> %s%s%s%s\n", ch->why, s->n.platform_ns,
                                          in->name, ch->path, in->requested_by[0] ? " (requested by " : "",
                                          in->requested_by, in->requested_by[0] ? ")" : "");
        }
        for (size_t i = 0; r == 0 && i < s->n_in; i++) {
                const struct sec_intent *in = &s->in[i];
                if (in->touched && !in->deleting) {
                        r = ap_buf_printf(body, "\nsecret %s: targets", in->name);
                        for (size_t t = 0; r == 0 && t < in->n_targets; t++)
                                r = ap_buf_printf(body, "%s %s", t ? "," : "", in->targets[t]);
                        if (r == 0)
                                r = ap_buf_printf(body, ", Secret name %s", in->target_name);
                }
        }
        *ret_by = one_by ? by : NULL;
        return r;
}

/* Ask Flux to fetch the platform repo now instead of at its next interval (what `flux reconcile
 * source git` does). */
static void request_flux(struct sec_pass *s)
{
        if (op_flux_missing(s->op) || !s->op->cfg->request_reconcile)
                return;
        char now[AP_KUBE_TIME_MAX];
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ap_kube_format_micro_time(now, sizeof(now), &ts);
        json_t *patch = json_pack("{s:{s:{s:s}}}", "metadata", "annotations", AP_FLUX_REQUESTED_AT, now);
        struct ap_kube_opts o = {.timeout_ms = 10000};
        struct ap_error err = AP_ERROR_INIT;
        ap_kube_metric_inc(s->op->m_writes);
        int r = patch ? ap_kube_patch(s->op->kube, &op_res_gitrepositories, s->n.platform_ns,
                                      s->n.flux_object, AP_KUBE_PATCH_MERGE, patch, &o, NULL, NULL, &err)
                      : -ENOMEM;
        json_decref(patch);
        if (r < 0 && r != AP_KUBE_E_NOT_FOUND)
                ap_log(AP_LOG_WARN, "app '%s': cannot ask Flux to reconcile: %s", s->n.app,
                       ap_error_message(&err));
}

static int commit(struct sec_pass *s, char sha[41], struct ap_error *err)
{
        struct ap_git_change *gc = calloc(s->n_ch, sizeof(*gc));
        struct ap_buf subject = AP_BUF_INIT, body = AP_BUF_INIT;
        const char *by = NULL;
        int r = gc ? message(s, &subject, &body, &by) : -ENOMEM;
        if (r < 0) {
                free(gc);
                ap_buf_release(&subject);
                ap_buf_release(&body);
                return ap_error_set(err, r, "out of memory");
        }
        for (size_t i = 0; i < s->n_ch; i++)
                gc[i] = (struct ap_git_change){.path = s->ch[i].path,
                                               .data = s->ch[i].data.data,
                                               .len = s->ch[i].data.len,
                                               .remove = s->ch[i].remove};
        struct ap_git_commit_request req = {.changes = gc,
                                            .n_changes = s->n_ch,
                                            .subject = subject.data,
                                            .body = body.data,
                                            .app = s->n.app,
                                            .requested_by = by};
        struct ap_git_push_result pr;
        r = ap_git_repo_commit_push(s->a->repo, &req, &pr, err);
        if (r == 0) {
                snprintf(sha, 41, "%s", pr.commit);
                pthread_mutex_lock(&s->a->lock); /* Flux fetching our own commit needs no fetch of ours */
                snprintf(s->a->pushed, sizeof(s->a->pushed), "%s", pr.commit);
                pthread_mutex_unlock(&s->a->lock);
                if (!pr.unchanged)
                        ap_kube_metric_inc(s->op->m_commits_platform);
                ap_log(AP_LOG_INFO, "app '%s': %s %zu change%s to '%s' as %.12s (%s)%s", s->n.app,
                       pr.unchanged ? "found" : "committed", s->n_ch, s->n_ch == 1 ? "" : "s",
                       s->a->repo_label, pr.commit, subject.data, op_push_attempts_note(&pr));
        } else {
                ap_kube_metric_inc(s->op->m_push_fail);
        }
        free(gc);
        ap_buf_release(&subject);
        ap_buf_release(&body);
        return r;
}

static void tip_of(struct sec_pass *s, char tip[41]);

/* Whether commit holds the intent's files as they are at the cached tip (no fetch). */
static bool holds_its_files(struct sec_pass *s, const struct sec_intent *in, const char *commit)
{
        struct ap_buf paths[SEC_TARGETS_MAX];
        const char *pp[SEC_TARGETS_MAX];
        size_t n = in->n_targets <= SEC_TARGETS_MAX ? in->n_targets : 0;
        bool same = n > 0, ok = true;
        for (size_t i = 0; i < n; i++) {
                ap_buf_init(&paths[i], 4096);
                ok = ok && ap_render_secret_path(in->targets[i], in->name, &paths[i]) == 0;
                pp[i] = paths[i].data ? paths[i].data : "";
        }
        struct ap_error e = AP_ERROR_INIT;
        if (!ok || ap_git_repo_same_at(s->a->repo, commit, pp, n, &same, &e) < 0)
                same = false;
        for (size_t i = 0; i < n; i++)
                ap_buf_release(&paths[i]);
        return same;
}

/* The commit an intent the pass did not touch names: the one it already names when that commit holds
 * its files as they are now (no churn), else the tip. Its annotation can be stale: the pass that
 * committed its current version may have lost the write of its labrats.work/commit. The tip of a pass
 * that pushed nothing is learnt only when an annotation is stale or missing, and once per pass: learning
 * it asks the remote, and with the remote down each attempt holds the app's passes for the whole retry
 * budget. */
static const char *untouched_commit(struct sec_pass *s, const struct sec_intent *in, const char *sha,
                                    char tip[41])
{
        const char *have = annotation(in->obj, AP_ANN_COMMIT);
        bool named = have && *have;
        if (named && (strcmp(have, sha[0] ? sha : tip) == 0 || holds_its_files(s, in, have)))
                return have;
        if (!sha[0] && !tip[0] && !s->tip_tried) {
                s->tip_tried = true;
                tip_of(s, tip);
        }
        const char *now = sha[0] ? sha : tip;
        return now[0] || !named ? now : have;
}

/* After the pass (pushed, or nothing to push): each intent's annotations, finalizers, deletions. */
static int settle(struct sec_pass *s, const char *sha, char tip[41], struct ap_error *err)
{
        int first = 0;
        for (size_t i = 0; i < s->n_in; i++) {
                struct sec_intent *in = &s->in[i];
                int r = 0;
                if (in->deleting) {
                        if (in->finalizer)
                                r = op_finalizer(s->op, &ap_kube_res_secrets, in->obj, false, err);
                        if (r == 0 && !in->keep_object &&
                            !json_object_get(json_object_get(in->obj, "metadata"), "deletionTimestamp")) {
                                r = op_delete(s->op, &ap_kube_res_secrets, s->n.platform_ns, in->name, err);
                                if (r == 0)
                                        op_event(s->op, in->obj, false, "SecretDeleted", "Delete",
                                                 "removed from the platform repo%s%.12s; Flux prunes it from "
                                                 "the targets",
                                                 sha[0] ? " in commit " : "", sha);
                        }
                } else if (in->quiet) {
                        continue;
                } else if (!in->valid) {
                        const char *prev = annotation(in->obj, AP_ANN_LAST_ERROR);
                        if (!prev || strcmp(prev, in->error) != 0) {
                                op_event(s->op, in->obj, true, "SecretRejected", "Validate", "%s", in->error);
                                ap_log(AP_LOG_WARN, "managed secret '%s/%s' refused: %s", s->n.platform_ns,
                                       in->name, in->error);
                        }
                        r = annotate(
                            s, in,
                            json_pack("{s:s, s:s}", AP_ANN_COMMITTED, "false", AP_ANN_LAST_ERROR, in->error),
                            err);
                } else {
                        const char *commit = in->touched ? sha : untouched_commit(s, in, sha, tip);
                        if (in->stale)
                                continue; /* its update queued the pass that settles it */
                        r = settle_annotations(s, in,
                                               json_pack("{s:s, s:s, s:n}", AP_ANN_COMMITTED, "true",
                                                         AP_ANN_COMMIT, commit, AP_ANN_LAST_ERROR),
                                               err);
                        if (r == 0 && in->touched && !in->stale)
                                op_event(s->op, in->obj, false, "SecretCommitted", "Commit",
                                         "committed to %s in %.12s for %zu namespace%s", s->a->repo_label,
                                         sha, in->n_targets, in->n_targets == 1 ? "" : "s");
                }
                if (r < 0 && first == 0) {
                        first = r;
                        ap_log(AP_LOG_WARN, "managed secret '%s/%s': %s", s->n.platform_ns, in->name,
                               ap_error_message(err));
                }
        }
        return first;
}

/* The commit at the tip of the platform repo (an empty change set makes no commit and reports it). */
static void tip_of(struct sec_pass *s, char tip[41])
{
        struct ap_git_commit_request req = {.subject = "none"};
        struct ap_git_push_result pr;
        struct ap_error e = AP_ERROR_INIT;
        tip[0] = '\0';
        int r = ap_git_repo_commit_push(s->a->repo, &req, &pr, &e);
        if (r == 0 && pr.unchanged)
                snprintf(tip, 41, "%s", pr.commit);
        else if (r < 0 && r != AP_E_CANCELLED)
                ap_log(AP_LOG_WARN,
                       "app '%s': cannot learn the platform repo's tip, the intents keep the commit they "
                       "name: %s",
                       s->n.app, ap_error_message(&e));
}

/* Disaster recovery (secret_restore.c): 1 when this pass must stop here. */
static int restore(struct sec_pass *s, struct ap_kube_reconcile_result *res, struct ap_error *err)
{
        struct op_app *a = s->a;
        if (a->restore_expect > 0) {
                if (s->n_in < a->restore_expect && ap_mono_ms() < a->restore_deadline_ms) {
                        res->requeue_after_ms = 500;
                        return 1;
                }
                a->restore_expect = 0;
        }
        if (!a->restore_pending)
                return 0;
        char tip[41];
        tip_of(s, tip);
        size_t n = 0;
        int r = sec_restore(s, tip, &n, err);
        if (r < 0)
                return r;
        json_t *anns = json_pack("{s:n}", AP_ANN_RESTORE);
        r = anns ? op_patch_annotations(s->op, &ap_kube_res_secrets, NULL, s->op->cfg->namespace,
                                        s->n.age_secret, anns, err)
                 : ap_error_set(err, -ENOMEM, "out of memory");
        json_decref(anns);
        if (r < 0)
                return r;
        a->restore_pending = false;
        if (n == 0)
                return 0;
        a->restore_expect = s->n_in + n;
        a->restore_deadline_ms = ap_mono_ms() + 30000;
        res->requeue_after_ms = 500;
        return 1;
}

/* The intents of app and its registration, classified. Returns 1 when the pass cannot go on (and has
 * already said why on the intents). */
static int load(struct sec_pass *s, const char *app, struct ap_kube_reconcile_result *res,
                struct ap_error *err)
{
        s->reg = ap_kube_informer_get(s->op->regs, app);
        s->list = ap_kube_informer_by_index(s->op->intents, "namespace", s->n.platform_ns);
        json_t *oidc = op_oidc_delivery_list(s->op, s->n.platform_ns); /* OIDC Secrets delivered too */
        int xr = s->list && oidc ? json_array_extend(s->list, oidc) : -1;
        json_decref(oidc);
        if (xr < 0)
                return -ENOMEM;
        s->n_in = json_array_size(s->list);
        s->in = calloc(s->n_in + 1, sizeof(*s->in));
        const json_t *nss = json_object_get(json_object_get(s->reg, "spec"), "namespaces");
        s->spec_ns = calloc(json_array_size(nss) + 1, sizeof(char *));
        if (!s->in || !s->spec_ns)
                return -ENOMEM;
        for (size_t i = 0; i < json_array_size(nss); i++)
                if (json_string_value(json_array_get(nss, i)))
                        s->spec_ns[s->n_spec_ns++] = json_string_value(json_array_get(nss, i));
        for (size_t i = 0; i < s->n_in; i++) {
                s->in[i].obj = json_array_get(s->list, i);
                s->in[i].name = ap_kube_obj_name(s->in[i].obj);
                const char *rv = ap_kube_obj_resource_version(s->in[i].obj);
                snprintf(s->in[i].rv, sizeof(s->in[i].rv), "%s", rv ? rv : "");
        }
        int r = sec_classify(s);
        if (r < 0)
                return r;
        /* an operator handling a subset of registrations leaves the other apps' secrets alone */
        if ((s->n_in == 0 || s->op->cfg->watch_selector) && !s->reg)
                return 1;
        char why[1200];
        if (!s->reg || json_object_get(json_object_get(s->reg, "metadata"), "deletionTimestamp")) {
                snprintf(why, sizeof(why), "%s: create an AppPlatformRegistration named '%s' first",
                         s->reg ? "the app's AppPlatformRegistration is being deleted"
                                : "no AppPlatformRegistration",
                         s->n.app);
                refuse_all(s, why);
                return 1;
        }
        pthread_mutex_lock(&s->a->lock);
        bool ready = s->a->ready && s->a->repo && s->a->identity;
        pthread_mutex_unlock(&s->a->lock);
        if (!ready) {
                const json_t *c = ap_kube_condition_find(
                    json_object_get(json_object_get(s->reg, "status"), "conditions"), "Ready");
                const char *msg = json_string_value(json_object_get(c, "message"));
                if (msg && json_string_value(json_object_get(c, "status")) &&
                    strcmp(json_string_value(json_object_get(c, "status")), "True") != 0) {
                        snprintf(why, sizeof(why), "waiting for AppPlatformRegistration '%s' to be Ready: %s",
                                 s->n.app, msg);
                        refuse_all(s, why);
                }
                res->requeue_after_ms = 2000; /* the registration's pass queues us again when it is ready */
                return 1;
        }
        (void)err;
        return 0;
}

/* Plan, commit and settle the loaded pass (work_lock held). extra: a further change for the same commit
 * (the rotation's .sops.yaml), or NULL. */
static int run_pass(struct sec_pass *s, const struct ap_git_change *extra, char sha[41], struct ap_error *err)
{
        int r = sec_plan(s, err);
        if (r == 0 && extra) {
                struct ap_buf b = AP_BUF_INIT;
                if ((r = ap_buf_add(&b, extra->data, extra->len)) == 0)
                        r = sec_add_change(s, extra->path, &b, false, -1, "rewrite");
                ap_buf_release(&b);
                if (r < 0)
                        ap_error_set(err, r, "out of memory");
        }
        char tip[41] = "";
        if (r == 0 && s->n_ch > 0) {
                for (size_t i = 0; r == 0 && i < s->n_in; i++) {
                        const char *c = annotation(s->in[i].obj, AP_ANN_COMMITTED);
                        if (s->in[i].touched && !s->in[i].deleting && c && strcmp(c, "true") == 0)
                                r = mark_uncommitted(s, &s->in[i], err);
                }
                op_fault(s->op, "after-encrypt");
                if (r == 0)
                        r = commit(s, sha, err);
        }
        if (r == 0) {
                r = settle(s, sha, tip, err); /* the tip holds every unchanged secret's current version */
                if (sha[0])
                        request_flux(s); /* after the annotations: Committed is not held up by it */
                return r;
        }
        /* say why on every intent this pass was for */
        for (size_t i = 0; i < s->n_in; i++) {
                struct sec_intent *in = &s->in[i];
                if (!(in->valid || in->deleting) || (!in->touched && s->n_ch > 0))
                        continue;
                struct ap_error e2 = AP_ERROR_INIT;
                op_event(s->op, in->obj, true, "CommitFailed", "Commit", "%s", ap_error_message(err));
                if (!in->deleting &&
                    annotate(s, in, json_pack("{s:s}", AP_ANN_LAST_ERROR, ap_error_message(err)), &e2) < 0)
                        ap_log(AP_LOG_WARN, "managed secret '%s/%s': %s", s->n.platform_ns, in->name,
                               ap_error_message(&e2));
        }
        ap_log(AP_LOG_WARN, "app '%s': cannot commit its secrets: %s", s->n.app, ap_error_message(err));
        return r;
}

static int pass_init(struct sec_pass *s, struct ap_operator *op, struct op_app *a, const char *key,
                     struct ap_error *err)
{
        memset(s, 0, sizeof(*s));
        s->op = op;
        s->a = a;
        if (ap_app_names_init(&s->n, key, err) < 0)
                return -EINVAL;
        s->plat.names = &s->n;
        s->plat.group_prefix = op->cfg->rbac_group_prefix;
        return 0;
}

int op_secrets_reconcile(void *userdata, const char *key, struct ap_kube_reconcile_result *res)
{
        struct ap_operator *op = userdata;
        struct op_app *a = op_app_get(op, key);
        if (!a)
                return -ENOMEM;
        struct sec_pass s;
        struct ap_error err = AP_ERROR_INIT;
        if (pass_init(&s, op, a, key, &err) < 0)
                return 0;
        pthread_mutex_lock(&a->work_lock);
        ap_kube_metric_inc(op->m_reconcile_secrets);
        int r = load(&s, key, res, &err);
        if (r != 0)
                goto out;
        s.plat.recipient = a->recipient;
        s.enc_rcp = a->rcp;
        s.enc_recipient = a->recipient;
        s.dec_id = a->identity;
        /* our own pushes keep the cache current and a push onto a moved branch re-applies the change set
         * on the new tip: fetch only when Flux saw a revision we did not make, or now and then */
        bool fetch = atomic_exchange(&a->needs_sync, false);
        r = op_repo_sync(a->repo, &a->repo_synced_ms, fetch ? 0 : 10000, &err);
        if (r < 0 && r != AP_E_CANCELLED) {
                /* the remote is unreachable (its retry budget is spent): plan on the cached tip all the
                 * same; the push re-applies the change set on whatever the remote holds by then, and says
                 * on the intents why when it cannot get through either */
                ap_log(AP_LOG_WARN,
                       "app '%s': cannot fetch the platform repo, planning on the cached copy: %s", s.n.app,
                       ap_error_message(&err));
                if (fetch)
                        atomic_store(&a->needs_sync, true);
                ap_error_clear(&err);
                r = 0;
        }
        if (r == 0)
                r = ap_git_repo_list(a->repo, "secrets", collect_file, &s, &err);
        if (r == 0 && (r = restore(&s, res, &err)) != 0) {
                if (r > 0)
                        r = 0; /* restored or waiting for the restored intents: plan on the next pass */
                goto out;
        }
        if (r < 0 && r != AP_E_CANCELLED)
                ap_log(AP_LOG_WARN, "app '%s': cannot read the platform repo: %s", s.n.app,
                       ap_error_message(&err));
        char sha[41] = "";
        if (r == 0)
                r = run_pass(&s, NULL, sha, &err);
        /* an intent created or deleted: env namespaces read it through the secret-reader Role */
        struct ap_error re = AP_ERROR_INIT;
        if (r == 0 && op_reader_role_apply(op, a, &s.plat, false, &re) < 0)
                ap_log(AP_LOG_WARN, "app '%s': cannot update the secret-reader Role: %s", s.n.app,
                       ap_error_message(&re));
out:
        pthread_mutex_unlock(&a->work_lock);
        pass_release(&s);
        if (r < 0)
                return r;
        if (res->requeue_after_ms == 0)
                res->requeue_after_ms = op->cfg->resync_ms;
        return 0;
}

int op_secrets_rotate(struct ap_operator *op, struct op_app *a, const char *app,
                      struct ap_age_identity *new_id, struct ap_age_recipient *new_rcp,
                      const char *new_recipient, const char *sops_yaml, size_t sops_yaml_len,
                      const char *request, char ret_sha[41], struct ap_error *err)
{
        struct sec_pass s;
        struct ap_kube_reconcile_result res = {0};
        int r = pass_init(&s, op, a, app, err);
        if (r < 0)
                return r;
        r = load(&s, app, &res, err);
        if (r > 0)
                r = ap_error_set(err, AP_E_UNAVAILABLE, "the app's secrets cannot be committed yet");
        s.plat.recipient = new_recipient;
        s.enc_rcp = new_rcp;
        s.enc_recipient = new_recipient;
        s.dec_id = a->identity; /* the old key */
        s.rotate = true;
        s.rot_req = request;
        (void)new_id;
        if (r == 0)
                r = op_repo_sync(a->repo, &a->repo_synced_ms, 0, err);
        if (r == 0)
                r = ap_git_repo_list(a->repo, "secrets", collect_file, &s, err);
        struct ap_git_change extra = {.path = ".sops.yaml", .data = sops_yaml, .len = sops_yaml_len};
        char sha[41] = "";
        if (r == 0)
                r = run_pass(&s, &extra, sha, err);
        if (r == 0 && !sha[0])
                tip_of(&s, sha);
        pass_release(&s);
        if (r == 0)
                snprintf(ret_sha, 41, "%s", sha);
        return r;
}
