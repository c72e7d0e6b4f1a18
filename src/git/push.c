/* push.c - commit + push: the change set as one commit on the remote tip, pushed with retries (re-applied
 * on the new tip after the branch moved, waited out while the remote is down), and never twice: a push
 * that may have landed without our hearing of it (a broken connection after the pack went out, a process
 * killed mid-push, whose commit refs/ap-pending/<branch> still names) is looked for on the fetched branch
 * before anything new is built, by comparing trees: a commit whose tree is exactly this change set applied
 * on its parent is the change, whatever its id. */
#include <stdio.h>
#include <string.h>

#include "base/clock.h"
#include "git/repo_internal.h"

#define MAX_TRIED 8 /* commits of this call whose push may have landed; older ones are forgotten */

struct push_state {
        const struct ap_git_commit_request *req;
        struct ap_git_push_result res;
        git_oid tried[MAX_TRIED]; /* pushed by this call, fate unknown */
        size_t n_tried;
        bool maybe_landed; /* an attempt of this call may have reached the server */
        git_oid pending;   /* an unconfirmed push left in the cache before this call */
        bool have_pending;
};

static void remember(struct push_state *st, const git_oid *id)
{
        for (size_t i = 0; i < st->n_tried; i++)
                if (git_oid_equal(&st->tried[i], id))
                        return;
        if (st->n_tried == MAX_TRIED) {
                memmove(&st->tried[0], &st->tried[1], (MAX_TRIED - 1) * sizeof(git_oid));
                st->n_tried--;
        }
        st->tried[st->n_tried++] = *id;
}

static int lib_fail(struct ap_git_repo *r, const char *what, struct ap_error *err)
{
        (void)ap_git_fault(r, NULL, -1, what, err);
        return err->code;
}

static void forget_pending(struct ap_git_repo *r)
{
        git_reference *ref = NULL;
        if (git_reference_lookup(&ref, r->git, r->pending_ref) == 0)
                (void)git_reference_delete(ref);
        git_reference_free(ref);
}

/* Push commit id to the branch. 0 when the server accepted the ref. *ret_maybe_landed: the attempt
 * failed after (part of) the pack went out, so the server may have taken it without our hearing so. */
static int push_once(struct ap_git_repo *r, const git_oid *id, enum ap_git_fault *ret_fault,
                     bool *ret_maybe_landed, struct ap_error *err)
{
        *ret_maybe_landed = false;
        git_reference *ref = NULL;
        if (git_reference_create(&ref, r->git, r->pending_ref, id, 1, NULL) < 0) {
                *ret_fault = ap_git_fault(r, NULL, -1, "prepare the push to", err);
                return err->code;
        }
        git_reference_free(ref);

        struct ap_git_op op = {.r = r};
        char refspec[700];
        snprintf(refspec, sizeof(refspec), "%s:%s", r->pending_ref, r->remote_ref);
        int rc = ap_git_remote_run(r, &op, refspec, true);
        if (rc < 0) {
                *ret_fault = ap_git_fault(r, &op, rc, "push to", err);
                *ret_maybe_landed = op.sending && *ret_fault != AP_GIT_FAULT_CONFLICT;
                return err->code;
        }
        if (!op.ref_reported) {
                *ret_fault = AP_GIT_FAULT_TRANSIENT;
                *ret_maybe_landed = true;
                return ap_error_set(err, AP_E_UNAVAILABLE,
                                    "cannot push to '%s': the server did not report on '%s'", r->name,
                                    r->remote_ref);
        }
        if (op.ref_status[0]) {
                /* a concurrent update shows as one of these; anything else (hooks, protection) is final */
                const char *s = op.ref_status;
                bool moved = strstr(s, "non-fast-forward") || strstr(s, "fetch first") ||
                             strstr(s, "stale info") || strstr(s, "failed to update ref") ||
                             strstr(s, "failed to lock") || strstr(s, "cannot lock ref");
                *ret_fault = moved ? AP_GIT_FAULT_CONFLICT : AP_GIT_FAULT_PERMANENT;
                /* the server's reason, e.g. a lock file a crashed push left behind on the server */
                return ap_error_set(err, moved ? AP_E_CONFLICT : AP_E_FORBIDDEN,
                                    "the server refused the push of '%s' to '%s': %s%s%s%s", r->branch,
                                    r->name, s, op.remote_said[0] ? " (the server said: " : "",
                                    op.remote_said, op.remote_said[0] ? ")" : "");
        }
        /* our view of the remote is now our commit; a failure here only costs a fetch later */
        if (git_reference_create(&ref, r->git, r->tracking_ref, id, 1, NULL) < 0)
                r->need_fetch = true;
        git_reference_free(ref);
        return 0;
}

/* *ret: commit c is exactly the change set applied on its parent (one parent; none on an empty branch). */
static int is_the_change(struct ap_git_repo *r, const struct ap_git_commit_request *req, const git_oid *c,
                         bool *ret, struct ap_error *err)
{
        git_commit *commit = NULL;
        if (git_commit_lookup(&commit, r->git, c) < 0)
                return lib_fail(r, "read a commit of", err);
        unsigned np = git_commit_parentcount(commit);
        git_oid tree, parent;
        bool same = true;
        if (np == 1)
                parent = *git_commit_parent_id(commit, 0);
        int rc = np > 1 ? 0 : ap_git_build_tree(r, req, np ? &parent : NULL, &tree, &same, err);
        *ret = rc >= 0 && !same && git_oid_equal(&tree, git_commit_tree_id(commit));
        git_commit_free(commit);
        return rc < 0 ? rc : 0;
}

/* c is the tip or one of its ancestors. */
static bool on_branch(struct ap_git_repo *r, const git_oid *tip, const git_oid *c)
{
        return git_oid_equal(tip, c) || git_graph_descendant_of(r->git, tip, c) == 1;
}

/* Right after a fetch: did a push of this change land without our hearing of it? *ret_found with its
 * commit in *ret. Candidates: after an attempt of this call that may have landed, the tip (the brief
 * case: its tree is the change applied on its parent) and the commits this call pushed; and the commit a
 * previous call or process left pending. The pending ref is settled here either way. */
static int find_landed(struct ap_git_repo *r, struct push_state *st, const git_oid *tip, git_oid *ret,
                       bool *ret_found, struct ap_error *err)
{
        bool ours = false;
        int rc = 0;
        *ret_found = false;
        if (st->maybe_landed && (rc = is_the_change(r, st->req, tip, &ours, err)) < 0)
                return rc;
        if (ours) {
                *ret = *tip;
                *ret_found = true;
                return 0;
        }
        for (size_t i = 0; st->maybe_landed && i < st->n_tried; i++)
                if (on_branch(r, tip, &st->tried[i])) {
                        *ret = st->tried[i];
                        *ret_found = true;
                        return 0;
                }
        if (st->have_pending) {
                st->have_pending = false;
                if (on_branch(r, tip, &st->pending) &&
                    (rc = is_the_change(r, st->req, &st->pending, &ours, err)) < 0)
                        return rc;
                /* landed (as this change or another one) or never will: the trace has served */
                forget_pending(r);
                if (ours) {
                        *ret = st->pending;
                        *ret_found = true;
                }
        }
        return 0;
}

/* The call's verdict; the pending push (if any) is settled by it. */
static void result(struct ap_git_repo *r, struct push_state *st, bool unchanged, const git_oid *commit,
                   unsigned attempts)
{
        forget_pending(r);
        ap_git_maybe_compact(r);
        st->res.unchanged = unchanged;
        st->res.attempts = attempts;
        st->res.commit[0] = '\0';
        if (commit)
                git_oid_tostr(st->res.commit, sizeof(st->res.commit), commit);
}

static int commit_push_fn(struct ap_git_repo *r, void *args, int64_t deadline, struct ap_error *err)
{
        struct push_state *st = args;
        int rc = ap_git_cache_open(r, err);
        if (rc < 0)
                return rc;
        st->have_pending = git_reference_name_to_id(&st->pending, r->git, r->pending_ref) == 0;
        bool fetched = false;
        unsigned attempts = 0;
        for (unsigned step = 0;;) {
                enum ap_git_fault fault = AP_GIT_FAULT_PERMANENT;
                bool just_fetched = false;
                if (ap_git_cancelled(r))
                        return ap_git_cancel_error(r, err);
                if (r->need_fetch && (rc = ap_git_cache_fetch(r, &fault, err)) >= 0)
                        fetched = just_fetched = true;
                if (rc >= 0) {
                        git_oid tip, id, landed;
                        bool have_tip = false, unchanged = false, found = false;
                        if ((rc = ap_git_cache_tip(r, &tip, &have_tip, err)) < 0)
                                return rc;
                        if (just_fetched && have_tip &&
                            (rc = find_landed(r, st, &tip, &landed, &found, err)) < 0)
                                return rc;
                        if (found) {
                                result(r, st, false, &landed, attempts);
                                return 0;
                        }
                        if ((rc = ap_git_build_commit(r, st->req, have_tip ? &tip : NULL, &id, &unchanged,
                                                      err)) < 0)
                                return rc;
                        if (unchanged && !fetched) {
                                /* our cache may be behind: only the remote's current tip may say "unchanged"
                                 */
                                r->need_fetch = true;
                                continue;
                        }
                        if (unchanged) {
                                /* after an attempt that may have landed, the change being all there is ours
                                 */
                                result(r, st, !st->maybe_landed, have_tip ? &tip : NULL, attempts);
                                return 0;
                        }
                        if (r->fault_hook)
                                r->fault_hook(r->hook_userdata, "after-local-commit");
                        if (ap_git_cancelled(r))
                                return ap_git_cancel_error(r, err);
                        attempts++;
                        if (r->before_push)
                                r->before_push(r->hook_userdata, attempts);
                        bool maybe = false;
                        if ((rc = push_once(r, &id, &fault, &maybe, err)) >= 0) {
                                result(r, st, false, &id, attempts);
                                return 0;
                        }
                        if (maybe) {
                                st->maybe_landed = true;
                                remember(st, &id);
                        }
                        if (maybe || fault == AP_GIT_FAULT_CONFLICT)
                                r->need_fetch = true; /* see what the remote has now before building again */
                }
                if (fault != AP_GIT_FAULT_TRANSIENT && fault != AP_GIT_FAULT_CONFLICT)
                        return rc;
                if (!ap_git_backoff(r, step++, deadline, err))
                        return ap_git_give_up(r, err);
                rc = 0;
        }
}

int ap_git_repo_commit_push(struct ap_git_repo *r, const struct ap_git_commit_request *req,
                            struct ap_git_push_result *ret, struct ap_error *err)
{
        struct push_state st = {.req = req};
        int rc = ap_git_run_locked(r, req->cancel, commit_push_fn, &st, err);
        if (rc >= 0)
                *ret = st.res;
        return rc;
}
