/* flux_orphans.h - Secrets that Flux delivered from a platform repo and then lost track of.
 *
 * kustomize-controller prunes what its Kustomization's status.inventory lists and the new revision no
 * longer holds. When two of its reconciles run back to back (a push lands while it applies the one
 * before), the second can start from a cached Kustomization that does not yet hold the inventory the
 * first wrote: the Secrets the first created are then never listed, and no later revision prunes them
 * (seen with kustomize-controller v1.9.4 here: the second reconcile's garbage collection repeats the
 * deletions of the first and misses what the first created; compare fluxcd/kustomize-controller#409 and
 * #1664, other ways to the same orphans). A deleted managed secret would stay readable in its target
 * namespace. So once Flux reports a complete apply, the operator deletes the Secrets that carry the
 * app's delivery marks (labels and labrats.work/source), are not in that inventory, and are the target
 * of no live intent: exactly what Flux's own prune would have removed. */
#pragma once

#include <jansson.h>
#include <stdbool.h>

#include "operator/names.h"

/* The revision a Kustomization finished applying in full, or NULL: Ready=True for its current generation,
 * lastAppliedRevision equal to lastAttemptedRevision, an inventory, and (gitrepo, may be NULL: not checked)
 * the GitRepository's artifact at that revision. Borrowed from kustomization. */
const char *op_flux_applied_revision(const json_t *kustomization, const json_t *gitrepo);

/* Of secrets (an array of the Secrets listed in one of the app's namespaces; borrowed), the ones Flux left
 * behind: delivered from n's platform repo (labels labrats.work/app=<app>, app.kubernetes.io/managed-by,
 * kustomize.toolkit.fluxcd.io/name and /namespace = <app>-platform, annotation labrats.work/source
 * '<app>-platform/...'), absent from inventory (status.inventory.entries, borrowed), and the target of no
 * intent in intents (an array of intent Secrets, borrowed; one marked for deletion counts as gone).
 * Returns a new array of them (new references), NULL when out of memory. */
json_t *op_flux_orphans(const struct ap_app_names *n, const json_t *inventory, const json_t *intents,
                        const json_t *secrets);
