/* compact.c - keeping the cache small, as git gc does for a repository: every commit writes a few loose
 * objects (one file each, a disk block or more apiece) and every fetch writes a pack, so without this a
 * cache grows without bound.
 *   incremental: past compact_loose_objects loose objects, all of them go into one new pack and their
 *                files are deleted;
 *   full:        past compact_packs packs, or on ap_git_repo_compact, everything reachable from the
 *                cache's refs goes into one pack and every other pack, every loose object and every
 *                leftover temporary file is deleted (objects nothing refers to, such as commits built for
 *                pushes that were refused, go with them).
 * Nothing is deleted before the new pack and its index are complete, and it all runs under the repo's
 * locks, so no other call sees the cache meanwhile; afterwards the repository is opened again, so no
 * handle to a deleted pack is left, and the "ap-compacted" mark tells other objects on the same folder
 * to do the same (ap_git_cache_revalidate). A crash in between leaves extra files at worst, which the
 * next full compaction deletes. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "git/repo_internal.h"

#define CHECK_EVERY 8 /* calls between two counts of the cache's files */

static bool is_hex(const char *s, size_t n)
{
        for (size_t i = 0; i < n; i++)
                if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
                        return false;
        return s[n] == '\0';
}

/* Call fn(dir, name, userdata) for every loose object file objects/xx/<38 hex>; stops on non-zero. */
static int each_loose(const char *objects, int (*fn)(const char *dir, const char *name, void *userdata),
                      void *userdata)
{
        char dir[4300];
        for (int i = 0; i < 256; i++) {
                snprintf(dir, sizeof(dir), "%s/%02x", objects, i);
                DIR *d = opendir(dir);
                if (!d)
                        continue;
                int rc = 0;
                for (struct dirent *e; !rc && (e = readdir(d));)
                        if (is_hex(e->d_name, GIT_OID_HEXSZ - 2))
                                rc = fn(dir, e->d_name, userdata);
                closedir(d);
                if (rc)
                        return rc;
        }
        return 0;
}

static int count_one(const char *dir, const char *name, void *userdata)
{
        (*(size_t *)userdata)++;
        return 0;
}

static size_t count_packs(const char *objects)
{
        char dir[4300];
        snprintf(dir, sizeof(dir), "%s/pack", objects);
        DIR *d = opendir(dir);
        size_t n = 0;
        for (struct dirent *e; d && (e = readdir(d));) {
                size_t l = strlen(e->d_name);
                n += l > 5 && strcmp(e->d_name + l - 5, ".pack") == 0;
        }
        if (d)
                closedir(d);
        return n;
}

/* The fan-out folders objects/xx that are empty now (each costs a disk block). */
static void remove_empty_fanout(const char *objects)
{
        for (int i = 0; i < 256; i++) {
                char dir[4300];
                snprintf(dir, sizeof(dir), "%s/%02x", objects, i);
                (void)rmdir(dir); /* only when empty */
        }
}

static void objects_dir(const struct ap_git_repo *r, char *out, size_t n)
{
        snprintf(out, n, "%s/objects", r->cache_dir);
}

static int on_pack_progress(int stage, uint32_t current, uint32_t total, void *payload)
{
        return ap_git_cancelled(payload) ? GIT_EUSER : 0;
}

static int fail(struct ap_git_repo *r, const char *what, struct ap_error *err)
{
        (void)ap_git_fault(r, NULL, -1, what, err);
        return err->code;
}

/* Write pb as a pack in objects/pack; *ret_name its "pack-<hash>" name (empty when pb holds nothing). */
static int write_pack(struct ap_git_repo *r, git_packbuilder *pb, char *ret_name, size_t n,
                      struct ap_error *err)
{
        ret_name[0] = '\0';
        if (git_packbuilder_object_count(pb) == 0)
                return 0;
        if (git_packbuilder_set_callbacks(pb, on_pack_progress, r) < 0 ||
            git_packbuilder_write(pb, NULL, 0, NULL, NULL) < 0)
                return ap_git_cancelled(r) ? ap_git_cancel_error(r, err) : fail(r, "pack the cache of", err);
        snprintf(ret_name, n, "pack-%s", git_packbuilder_name(pb));
        return 0;
}

/* ---- incremental: the loose objects into one pack ---- */

struct loose {
        git_packbuilder *pb;
        git_oid *ids; /* the objects packed, whose files go afterwards */
        size_t n, cap;
};

static int insert_loose(const char *dir, const char *name, void *userdata)
{
        struct loose *l = userdata;
        char hex[GIT_OID_HEXSZ + 1];
        snprintf(hex, sizeof(hex), "%s%s", dir + strlen(dir) - 2, name);
        if (l->n == l->cap) {
                size_t cap = l->cap ? l->cap * 2 : 1024;
                git_oid *v = realloc(l->ids, cap * sizeof(*v));
                if (!v)
                        return -ENOMEM;
                l->ids = v;
                l->cap = cap;
        }
        if (git_oid_fromstr(&l->ids[l->n], hex) < 0)
                return 0; /* not an object file after all */
        if (git_packbuilder_insert(l->pb, &l->ids[l->n], NULL) < 0)
                return 0; /* unreadable: left for a full compaction (or the corruption check) */
        l->n++;
        return 0;
}

static int pack_loose(struct ap_git_repo *r, struct ap_error *err)
{
        char objects[4200], name[64];
        objects_dir(r, objects, sizeof(objects));
        struct loose l = {0};
        if (git_packbuilder_new(&l.pb, r->git) < 0)
                return fail(r, "pack the cache of", err);
        int rc = each_loose(objects, insert_loose, &l);
        if (rc < 0)
                rc = ap_error_set(err, rc, "out of memory");
        else
                rc = write_pack(r, l.pb, name, sizeof(name), err);
        git_packbuilder_free(l.pb);
        for (size_t i = 0; rc >= 0 && i < l.n; i++) {
                char hex[GIT_OID_HEXSZ + 1], path[4300];
                git_oid_tostr(hex, sizeof(hex), &l.ids[i]);
                snprintf(path, sizeof(path), "%s/%.2s/%s", objects, hex, hex + 2);
                (void)unlink(path);
        }
        free(l.ids);
        if (rc >= 0)
                remove_empty_fanout(objects);
        return rc;
}

/* ---- full: everything reachable into one pack, the rest deleted ---- */

static int push_ref(git_reference *ref, void *payload)
{
        git_revwalk *walk = payload;
        git_reference *resolved = NULL;
        int rc = git_reference_resolve(&resolved, ref);
        if (rc == 0) {
                git_object *o = NULL;
                /* only commits are walked; a ref to anything else would be ours by mistake: leave it */
                if (git_object_lookup(&o, git_reference_owner(ref), git_reference_target(resolved),
                                      GIT_OBJECT_COMMIT) == 0)
                        rc = git_revwalk_push(walk, git_reference_target(resolved));
                git_object_free(o);
        } else if (rc == GIT_ENOTFOUND) {
                rc = 0; /* an unborn symbolic ref (HEAD of the bare cache) */
        }
        git_reference_free(resolved);
        git_reference_free(ref);
        return rc;
}

static int remove_loose(const char *dir, const char *name, void *userdata)
{
        char path[4400];
        snprintf(path, sizeof(path), "%s/%s", dir, name);
        (void)unlink(path);
        return 0;
}

/* Delete every file of objects/pack but the pack keep (and its index, bitmap, ...), and every leftover
 * temporary file there. */
static void remove_other_packs(const char *objects, const char *keep)
{
        char dir[4300], path[4600];
        snprintf(dir, sizeof(dir), "%s/pack", objects);
        DIR *d = opendir(dir);
        size_t kl = strlen(keep);
        for (struct dirent *e; d && (e = readdir(d));) {
                if (e->d_name[0] == '.' || (kl && strncmp(e->d_name, keep, kl) == 0 && e->d_name[kl] == '.'))
                        continue;
                snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
                (void)unlink(path);
        }
        if (d)
                closedir(d);
}

static int repack_all(struct ap_git_repo *r, struct ap_error *err)
{
        char objects[4200], name[64];
        objects_dir(r, objects, sizeof(objects));
        git_revwalk *walk = NULL;
        git_packbuilder *pb = NULL;
        int rc = 0;
        if (git_revwalk_new(&walk, r->git) < 0 || git_packbuilder_new(&pb, r->git) < 0 ||
            git_reference_foreach(r->git, push_ref, walk) < 0 || git_packbuilder_insert_walk(pb, walk) < 0)
                rc = fail(r, "collect the objects of", err);
        if (rc >= 0)
                rc = write_pack(r, pb, name, sizeof(name), err);
        git_packbuilder_free(pb);
        git_revwalk_free(walk);
        if (rc < 0)
                return rc;
        /* the new pack holds everything reachable: the rest may go */
        remove_other_packs(objects, name);
        (void)each_loose(objects, remove_loose, NULL);
        remove_empty_fanout(objects);
        return 0;
}

static int compact(struct ap_git_repo *r, bool full, struct ap_error *err)
{
        int rc = full ? repack_all(r, err) : pack_loose(r, err);
        int rc2 = ap_git_cache_mark_compacted(r, err); /* and reopen: other objects reopen too */
        r->compactions++;
        return rc < 0 ? rc : rc2;
}

static int compact_fn(struct ap_git_repo *r, void *args, int64_t deadline, struct ap_error *err)
{
        int rc = ap_git_cache_open(r, err);
        return rc < 0 ? rc : compact(r, true, err);
}

int ap_git_repo_compact(struct ap_git_repo *r, struct ap_error *err)
{
        return ap_git_run_locked(r, NULL, compact_fn, NULL, err);
}

void ap_git_maybe_compact(struct ap_git_repo *r)
{
        if (!r->auto_compact || !r->git || ++r->calls_since_check < CHECK_EVERY)
                return;
        r->calls_since_check = 0;
        char objects[4200];
        objects_dir(r, objects, sizeof(objects));
        size_t loose = 0, packs = count_packs(objects);
        (void)each_loose(objects, count_one, &loose);
        struct ap_error ignored = AP_ERROR_INIT;
        /* best effort: a failure here costs disk space, not the call that made the objects */
        if (packs > r->compact_packs)
                (void)compact(r, true, &ignored);
        else if (loose > r->compact_loose)
                (void)compact(r, false, &ignored);
}
