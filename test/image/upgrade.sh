#!/usr/bin/env bash
# test/image/upgrade.sh - TAP: an upgrade from the previous release (tools/image/build-old: its deploy/
# and its release binary, built from its commit and cached) to this tree, on the test control plane with
# the real Flux of tools/testenv/flux-up and the SSH Git server, as test/e2e/operator.sh runs the
# operator (its own process, ServiceAccount and operator namespace, --watch-label-selector):
#   the old CRD and RBAC, the old operator: a registration becomes Ready, a managed secret Committed and
#   Flux applies it; the old operator stops
#   this tree's CRD and RBAC applied with --server-side: the CRD still serves and stores v1alpha1, the
#   registration and the managed secret are there with their status
#   this tree's operator (APP_PLATFORM_BIN, an empty cache as a new Pod has) reconciles them to
#   Ready / Committed with no new commit in the platform repo or the Flux repo (heads compared 20 s
#   after it settled), the applied Secret's value unchanged, and no secret value in either log.
# Skipped (TAP 1..0 # SKIP) when the previous release's commit is not in this clone's history.
# Meson test image_upgrade (suite image).
set -uo pipefail
. "$SRCDIR/test/e2e/lib.sh"
. "$SRCDIR/test/e2e/oplib.sh"

old=$("$SRCDIR/tools/image/build-old" 2>"${TMPDIR:-/tmp}/image-upgrade-build-old.$$.log")
rc=$?
msg=$(tail -n 5 "${TMPDIR:-/tmp}/image-upgrade-build-old.$$.log")
rm -f "${TMPDIR:-/tmp}/image-upgrade-build-old.$$.log"
if [ "$rc" = 3 ]; then
  echo "1..0 # SKIP the previous release is not in this clone's history: $msg"
  exit 0
fi
[ "$rc" = 0 ] || bail "tools/image/build-old failed: $msg"
old_commit=$(cat "$old/commit")
NEW_BIN=$APP_PLATFORM_BIN OLD_BIN=$old/bin/app-platform
note "from $old_commit ($("$OLD_BIN" --version)) to this tree ($("$NEW_BIN" --version))"

tmp=$(mktemp -d /tmp/image-upgrade.XXXXXX) || bail "mktemp failed"
id=$(uniq_suffix)
A=ua$id OPNS=uops-$id
cleanup() {
  stop_operator
  e2e_cleanup "$A"
  "$GITSERVER" stop "$tmp/srv" >/dev/null 2>&1
  [ -n "${KEEP_TMP:-}" ] || rm -rf "$tmp"
}
trap cleanup EXIT

# --- the previous release --------------------------------------------------------------------------
# e2e_platform and operator_as_sa apply $SRCDIR/deploy's CRD, ClusterRoles and operator RBAC: the old ones.
APP_PLATFORM_BIN=$OLD_BIN
SRCDIR=$old e2e_platform
SRCDIR=$old operator_as_sa || bail "cannot give the operator its ServiceAccount and RBAC"
if cmp -s "$old/deploy/crd.yaml" "$SRCDIR/deploy/crd.yaml"; then
  note "the CRD is the same in both releases"
else
  note "the CRD changed: $(diff "$old/deploy/crd.yaml" "$SRCDIR/deploy/crd.yaml" | grep -c '^[<>]') lines"
fi
OP_LOG=$tmp/operator-old.log
start_operator || bail "the old operator did not start: $(tail -5 "$OP_LOG")"
ok "the old operator ($old_commit) starts and is ready"
register "$A" "$A-dev"
if kubectl wait --for=condition=Ready "apr/$A" --timeout=90s >/dev/null 2>&1; then
  ok "old: registration $A becomes Ready"
else
  not_ok "old: registration $A becomes Ready" "$(kubectl get apr "$A" -o yaml | sed -n '/^status:/,$p'; tail -5 "$OP_LOG")"
fi
managed_secret "$A" db "$A-dev" password=up-pw-$id
committed() { [ "$(ann "$A-platform" db committed)" = true ] && [ -n "$(ann "$A-platform" db commit)" ]; }
check "old: the managed secret becomes Committed" wait_for 60 committed
check "old: Flux applies it to $A-dev" wait_for 60 secret_is "$A-dev" db password "up-pw-$id"
flux_objects_ready() {
  [[ $(flux_ready gitrepository "$A-platform" "$A-platform") == True* ]] &&
    [[ $(flux_ready kustomization "$A-platform" "$A-platform") == True* ]]
}
wait_for 30 flux_objects_ready || note "Flux's objects for $A-platform are not Ready: $(flux_ready kustomization "$A-platform" "$A-platform")"
sleep 2
stop_operator
heads() { git ls-remote "$FORGE/$A-platform.git"; git ls-remote "$tmp/flux.git"; }
heads_before=$(heads)
status_of() { kubectl get apr "$A" -o jsonpath='{.status.agePublicKey} {.status.repositoryURL} {.status.platformNamespace} {.status.observedGeneration}'; }
status_before=$(status_of)
commit_before=$(ann "$A-platform" db commit)
applied_rv=$(kubectl get secret -n "$A-dev" db -o jsonpath='{.metadata.resourceVersion}')

# --- the upgrade: this tree's CRD and RBAC ----------------------------------------------------------
out=$(kubectl apply --server-side -f "$SRCDIR/deploy/crd.yaml" -f "$SRCDIR/deploy/clusterroles.yaml" 2>&1) &&
  ok "this tree's CRD and ClusterRoles apply with --server-side over the old ones" ||
  not_ok "this tree's CRD and ClusterRoles apply with --server-side over the old ones" "$out"
kubectl apply --server-side -f "$SRCDIR/deploy/operator-rbac.yaml" >/dev/null 2>&1 # as operator_as_sa does
out=$(kubectl wait --for=condition=Established crd/appplatformregistrations.labrats.work --timeout=60s 2>&1) &&
  ok "the CRD is Established" || not_ok "the CRD is Established" "$out"
versions=$(kubectl get crd appplatformregistrations.labrats.work \
  -o jsonpath='{range .spec.versions[*]}{.name}:{.served}:{.storage} {end}{.status.storedVersions}')
[[ $versions == *v1alpha1:true:true* ]] && [[ $versions == *'["v1alpha1"]' ]] &&
  ok "the CRD serves and stores v1alpha1, the only stored version ($versions)" ||
  not_ok "the CRD serves and stores v1alpha1, the only stored version" "$versions"
kept() {
  [ "$(cond "$A" Ready)" = True ] && [ "$(status_of)" = "$status_before" ] &&
    [ "$(ann "$A-platform" db committed)" = true ] && [ "$(ann "$A-platform" db commit)" = "$commit_before" ]
}
check "the registration and the managed secret are kept with their status" kept

# --- this tree's operator ---------------------------------------------------------------------------
APP_PLATFORM_BIN=$NEW_BIN OP_LOG=$tmp/operator-new.log CACHE_SUFFIX=-new
start_operator || bail "the new operator did not start: $(tail -5 "$OP_LOG")"
ok "the new operator starts and is ready (an empty cache)"
passes() { [ "${1:-0}" -ge 1 ] 2>/dev/null; }
reconciled() { passes "$(metric app_platform_secret_reconciles_total)"; }
check "the new operator makes a managed-secret pass" wait_for 60 reconciled
check "the registration is Ready" wait_for 60 eval '[ "$(cond "$A" Ready)" = True ]'
check "the managed secret is Committed" committed
sleep 20 # past Ready: the resync (15 s) reconciles the registration and its secrets again
heads_after=$(heads)
if [ -n "$heads_before" ] && [ "$heads_before" = "$heads_after" ]; then
  ok "no new commit in the platform repo or the Flux repo ($(wc -l <<<"$heads_after") refs)"
else
  not_ok "no new commit in the platform repo or the Flux repo" "$(diff <(echo "$heads_before") <(echo "$heads_after"))
$(git -C "$tmp/flux.git" log --oneline -3 main; git -C "$FORGE/$A-platform.git" log --oneline -3 main)"
fi
check "the managed secret keeps its commit ($(cut -c1-12 <<<"$commit_before"))" test "$(ann "$A-platform" db commit)" = "$commit_before"
check "the applied Secret's value is unchanged" secret_is "$A-dev" db password "up-pw-$id"
rv=$(kubectl get secret -n "$A-dev" db -o jsonpath='{.metadata.resourceVersion}')
[ "$rv" = "$applied_rv" ] && ok "the applied Secret was not rewritten (resourceVersion $rv)" ||
  not_ok "the applied Secret was not rewritten" "resourceVersion $applied_rv -> $rv"
writes=$(metric app_platform_kube_writes_total)
note "the new operator's apiserver writes: ${writes:-?}"
stop_operator
leak=
for f in "$tmp/operator-old.log" "$tmp/operator-new.log"; do
  grep -qF -- "up-pw-$id" "$f" && leak="$leak $(basename "$f")"
done
check "no secret value in either operator's log" test -z "$leak"
grep -h '"level":"error"' "$tmp/operator-old.log" "$tmp/operator-new.log" | head -3 | while read -r l; do note "operator error: $l"; done
finish
