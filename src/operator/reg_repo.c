/* reg_repo.c - the app's platform repository: created on the configured forge (or adopted when it
 * exists, refused when it is public), Flux's read-only deploy key on it, and the operator's two files at
 * its root (.sops.yaml, README.md), committed only when their bytes differ. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/clock.h"
#include "base/log.h"
#include "operator/reg.h"

#define DEPLOY_KEY_TITLE "app-platform-flux"

static int forge_token(void *userdata, struct ap_buf *out, struct ap_error *err)
{
        return ap_forge_git_token(userdata, out, err);
}

/* The handle of the platform repo in the app state, (re)made when its URL changed. */
static int repo_handle(struct reg *g, const char *push_url, const char *clone_url, struct ap_error *err)
{
        struct op_app *a = g->app;
        pthread_mutex_lock(&a->lock);
        bool same = a->repo && a->push_url && strcmp(a->push_url, push_url) == 0;
        pthread_mutex_unlock(&a->lock);
        if (same)
                return 0;
        struct ap_buf cache = AP_BUF_INIT;
        struct ap_forge *f = NULL;
        int r = ap_buf_printf(&cache, "%s/platform/%s", g->cfg->cache_dir, g->n.app);
        if (r == 0 && g->cfg->forge != AP_FORGE_LOCAL)
                r = op_forge(g->op, g->repo_owner, &f, err);
        struct ap_git_repo *repo = NULL;
        if (r == 0) {
                struct ap_git_repo_config rc = {
                    .name = g->repo_url_shown,
                    .url = push_url,
                    .branch = g->cfg->platform_branch,
                    .cache_dir = cache.data,
                    /* asked per connection: GitHub App installation tokens expire hourly */
                    .token_fn = f ? forge_token : NULL,
                    .token_userdata = f,
                    .identity = g->op->creds.forge_ssh_identity,
                    .known_hosts = g->op->creds.forge_ssh_known_hosts,
                    .author_name = g->cfg->git_author_name,
                    .author_email = g->cfg->git_author_email,
                    .fault_hook = op_fault_hook,
                    .hook_userdata = g->op,
                    .cancel = op_cancel_flag(g->op),
                };
                r = ap_git_repo_new(&rc, &repo, err);
        }
        ap_buf_release(&cache);
        if (r < 0)
                return r;
        char *pu = strdup(push_url), *cu = strdup(clone_url), *lbl = strdup(g->repo_url_shown);
        if (!pu || !cu || !lbl) {
                free(pu);
                free(cu);
                free(lbl);
                ap_git_repo_free(repo);
                return ap_error_set(err, -ENOMEM, "out of memory");
        }
        pthread_mutex_lock(&a->lock);
        ap_git_repo_free(a->repo);
        free(a->push_url);
        free(a->clone_url);
        free(a->repo_label);
        a->repo = repo;
        a->push_url = pu;
        a->clone_url = cu;
        a->repo_label = lbl;
        a->repo_synced_ms = 0;
        pthread_mutex_unlock(&a->lock);
        return 0;
}

/* Commit .sops.yaml and README.md when they differ from what the branch holds. */
static int root_files(struct reg *g, struct ap_error *err)
{
        struct ap_buf sops = AP_BUF_INIT, readme = AP_BUF_INIT, cur = AP_BUF_INIT;
        int r = ap_render_sops_config(&g->plat, &sops, err);
        if (r == 0)
                r = ap_render_readme(&g->plat, &readme, err);
        struct op_app *a = g->app;
        if (r == 0)
                r = op_repo_sync(a->repo, &a->repo_synced_ms, 2000, err);
        struct ap_git_change ch[2];
        size_t n = 0;
        const struct ap_buf *want[2] = {&sops, &readme};
        const char *paths[2] = {".sops.yaml", "README.md"};
        for (int i = 0; r == 0 && i < 2; i++) {
                bool found = false;
                ap_buf_reset(&cur);
                r = ap_git_repo_read(a->repo, paths[i], &cur, &found, err);
                if (r == 0 && !(found && ap_buf_equal(&cur, want[i]->data, want[i]->len)))
                        ch[n++] = (struct ap_git_change){
                            .path = paths[i], .data = want[i]->data, .len = want[i]->len};
        }
        if (r == 0 && n > 0) {
                struct ap_git_commit_request req = {
                    .changes = ch,
                    .n_changes = n,
                    .subject = "platform: update .sops.yaml and README.md",
                    .body = "The operator's files at the root of the platform repository: the SOPS rule for "
                            "secrets/ "
                            "and the README.",
                    .app = g->n.app,
                };
                struct ap_git_push_result pr;
                r = ap_git_repo_commit_push(a->repo, &req, &pr, err);
                if (r == 0 && !pr.unchanged) {
                        ap_kube_metric_inc(g->op->m_commits_platform);
                        ap_log(AP_LOG_INFO, "registration '%s': committed %s to '%s' as %.12s", g->n.app,
                               n == 2 ? ".sops.yaml and README.md" : paths[ch[0].path == paths[0] ? 0 : 1],
                               g->repo_url_shown, pr.commit);
                }
        }
        ap_buf_release(&sops);
        ap_buf_release(&readme);
        ap_buf_release(&cur);
        return r;
}

int reg_step_repo(struct reg *g)
{
        struct ap_error err = AP_ERROR_INIT;
        struct ap_forge *f = NULL;
        int r = op_forge(g->op, g->repo_owner, &f, &err);
        if (r < 0)
                return reg_fail(g, C_REPO, "ForgeError", &err, "cannot use the forge");
        struct ap_buf shown = AP_BUF_INIT;
        if (g->repo_owner)
                r = ap_buf_printf(&shown, "%s/%s", g->repo_owner, g->repo_name);
        else
                r = ap_buf_printf(&shown, "%s/%s.git", g->cfg->local_repos_dir, g->repo_name);
        g->repo_url_shown = r == 0 ? ap_buf_detach(&shown, NULL) : NULL;
        ap_buf_release(&shown);
        if (!g->repo_url_shown)
                return -ENOMEM;
        char desc[256];
        snprintf(desc, sizeof(desc),
                 "App Platform: the platform repository of %s (managed by app-platform-operator)", g->n.app);
        struct ap_forge_repo info;
        memset(&info, 0, sizeof(info));
        if ((r = ap_forge_ensure_repo(f, g->repo_name, desc, &info, &err)) < 0)
                return reg_fail(g, C_REPO, "RepositoryError", &err, "cannot create or read the repository");
        if (!info.is_private) {
                reg_cond(
                    g, C_REPO, false, "RepositoryPublic",
                    "repository '%s' exists and is public: secrets are never written to a public repository; "
                    "make it private or set spec.repository.name to another repository",
                    g->repo_url_shown);
                g->failed = true;
                return AP_E_FORBIDDEN;
        }
        if (info.created)
                op_event(g->op, g->obj, false, "RepositoryCreated", "Create",
                         "created the private repository '%s'", g->repo_url_shown);
        if ((r = reg_load_deploy_key(g)) < 0)
                return r;
        enum ap_forge_key_result kr;
        if ((r = ap_forge_ensure_deploy_key(f, g->repo_name, DEPLOY_KEY_TITLE, g->deploy_pub.data, false, &kr,
                                            &err)) < 0)
                return reg_fail(g, C_REPO, "DeployKeyError", &err,
                                "cannot add Flux's deploy key to the repository");
        struct ap_buf clone = AP_BUF_INIT, push = AP_BUF_INIT;
        r = ap_forge_clone_url(f, g->repo_name, &clone, &err);
        if (r == 0) {
                if (g->cfg->forge == AP_FORGE_LOCAL && g->op->creds.forge_ssh_identity)
                        r = ap_buf_addstr(&push, clone.data); /* served over SSH: push where Flux clones */
                else if (g->cfg->forge == AP_FORGE_LOCAL)
                        r = ap_buf_printf(&push, "%s/%s.git", g->cfg->local_repos_dir, g->repo_name);
                else
                        r = ap_buf_addstr(&push, info.https_url);
                if (r < 0)
                        ap_error_set(&err, r, "out of memory");
        }
        if (r == 0)
                r = repo_handle(g, push.data, clone.data, &err);
        if (r == 0) {
                g->clone_url = ap_buf_detach(&clone, NULL);
                g->status_repo_url = strdup(g->clone_url ? g->clone_url : "");
                g->plat.clone_url = g->clone_url ? g->clone_url : "";
                g->plat.repo_display = g->repo_url_shown;
        }
        ap_buf_release(&clone);
        ap_buf_release(&push);
        if (r < 0)
                return reg_fail(g, C_REPO, "RepositoryError", &err, "cannot prepare the repository");
        if ((r = root_files(g, &err)) < 0)
                return reg_fail(g, C_REPO, "CommitFailed", &err, "cannot commit .sops.yaml and README.md");
        pthread_mutex_lock(&g->app->lock);
        g->app->ready = true;
        pthread_mutex_unlock(&g->app->lock);
        g->repo_ready = true;
        reg_cond(g, C_REPO, true, "RepositoryReady",
                 "repository '%s' is private; Flux clones %s with its deploy key", g->repo_url_shown,
                 g->plat.clone_url);
        return 0;
}
