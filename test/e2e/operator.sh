#!/usr/bin/env bash
# test/e2e/operator.sh - TAP: the operator end to end against the real control plane, the real Flux of
# tools/testenv/flux-up and a real SSH Git server (the local forge's repositories, each with its own
# deploy key). It runs its own operator process (its own operator namespace, --watch-label-selector so
# it handles only this test's registrations) and checks what Flux applied, not our own files:
#   register an app -> Ready; namespaces, key, repo, Flux repo entries, bindings; Flux's own objects Ready
#   a managed secret for dev and prod -> decrypted in both; update arrives; delete is pruned
#   a secret for another app's namespace is refused; a hostile commit in one app's repo (a Secret and a
#   RoleBinding for another app's namespace, a ClusterRole) is refused by Flux through <app>-flux
#   removing a namespace removes its bindings and keeps it; hand edits under secrets/ are restored
#   a restart with nothing new makes no commit and no write; deletion under Retain and Delete
#   no secret value in the log, Events, conditions or commit messages
# The operator runs as its own ServiceAccount with exactly the RBAC of deploy/operator-rbac.yaml.
set -uo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/oplib.sh"

tmp=$(mktemp -d /tmp/e2e-op.XXXXXX) || bail "mktemp failed"
id=$(uniq_suffix)
A=ea$id B=eb$id OPNS=ops-$id
SEL="e2e.labrats.work/run=$id"

cleanup() {
  stop_operator
  e2e_cleanup "$A" "$B"
  "$GITSERVER" stop "$tmp/srv" >/dev/null 2>&1
  [ -n "${KEEP_TMP:-}" ] || rm -rf "$tmp"
}
trap cleanup EXIT

# --- the platform around the operator --------------------------------------------------------------
e2e_platform

operator_as_sa || bail "cannot give the operator its ServiceAccount and RBAC"
start_operator || bail "the operator did not start: $(tail -5 "$tmp/operator.log")"
ok "the operator starts and is ready"

# --- 1. registration --------------------------------------------------------------------------------
register "$A" "$A-dev" "$A-prod"
if kubectl wait --for=condition=Ready "apr/$A" --timeout=90s >/dev/null 2>&1; then
  ok "registration $A becomes Ready (kubectl wait)"
else
  not_ok "registration $A becomes Ready (kubectl wait)" "$(kubectl get apr "$A" -o yaml | sed -n '/^status:/,$p')"
fi
labels_ok() {
  for ns in "$A-platform" "$A-dev" "$A-prod"; do
    [ "$(kubectl get ns "$ns" -o jsonpath='{.metadata.labels.labrats\.work/app}')" = "$A" ] || return 1
  done
  [ "$(kubectl get ns "$A-platform" -o jsonpath='{.metadata.labels.labrats\.work/namespace-role}')" = platform ] &&
    [ "$(kubectl get ns "$A-dev" -o jsonpath='{.metadata.labels.labrats\.work/namespace-role}')" = app ]
}
check "namespaces exist with the app and role labels" labels_ok
rcp=$(kubectl get apr "$A" -o jsonpath='{.status.agePublicKey}')
key_ok() {
  kubectl get secret -n "$OPNS" "$A-platform-age-key" -o jsonpath='{.data.age\.agekey}' | base64 -d >"$tmp/a.agekey" &&
    [ "$("$APP_PLATFORM_BIN" age keygen -y "$tmp/a.agekey")" = "$rcp" ]
}
check "the age key Secret holds the key of status.agePublicKey" key_ok
repo_ok() {
  repo_clone "$A" "$tmp/a-repo" && grep -q "$rcp" "$tmp/a-repo/.sops.yaml" && [ -s "$tmp/a-repo/README.md" ]
}
check "the platform repo holds .sops.yaml (with the app's recipient) and README.md" repo_ok
flux_files_ok() {
  rm -rf "$tmp/flux" && git clone -q "$tmp/flux.git" "$tmp/flux" &&
    for f in kustomization.yaml namespace.yaml rbac.yaml age-secret.sops.yaml git-auth.sops.yaml sync.yaml; do
      [ -s "$tmp/flux/apps/$A-platform/$f" ] || return 1
    done &&
    SOPS_AGE_KEY_FILE=$tmp/cluster.agekey "$APP_PLATFORM_BIN" sops decrypt "$tmp/flux/apps/$A-platform/age-secret.sops.yaml" |
      grep -q 'age.agekey'
}
check "the Flux repo holds the six entries; the key Secret decrypts with the cluster key" flux_files_ok
bindings_ok() {
  [ "$(kubectl get rolebinding -n "$A-dev" app-platform-admin -o jsonpath='{.subjects[0].name}')" = "oidc:$A-admins" ] &&
    [ "$(kubectl get rolebinding -n "$A-prod" app-platform-reader -o jsonpath='{.roleRef.name}')" = app-platform-reader ] &&
    kubectl get rolebinding -n "$A-platform" secret-reader "$A-flux" app-platform-dashboard >/dev/null &&
    kubectl get role -n "$A-platform" secret-reader >/dev/null
}
check "RoleBindings for spec.access, <app>-flux and secret-reader exist" bindings_ok
flux_objects_ready() {
  [[ $(flux_ready gitrepository "$A-platform" "$A-platform") == True* ]] &&
    [[ $(flux_ready kustomization "$A-platform" "$A-platform") == True* ]]
}
check "Flux's GitRepository and Kustomization for the platform repo are Ready" wait_for 60 flux_objects_ready

# --- 2. a managed secret through Flux ---------------------------------------------------------------
t0=$(date +%s%N)
managed_secret "$A" db "$A-dev,$A-prod" password=pw-first-$id user=app-user-$id
if wait_for 60 secret_is "$A-dev" db password "pw-first-$id" && wait_for 30 secret_is "$A-prod" db password "pw-first-$id"; then
  ok "a managed secret arrives decrypted in both targets ($(ms_since "$t0") ms)"
else
  not_ok "a managed secret arrives decrypted in both targets" "$(kubectl get secret -n "$A-platform" db -o yaml; tail -5 "$tmp/operator.log")"
fi
check "the intent is Committed with its commit" test "$(ann "$A-platform" db committed)" = true -a -n "$(ann "$A-platform" db commit)"
check "the second key arrives too" secret_is "$A-prod" db user "app-user-$id"
no_clear_value() { repo_clone "$A" "$tmp/c1" && [ -f "$tmp/c1/secrets/$A-dev/db.sops.yaml" ] && ! grep -rq "pw-first-$id" "$tmp/c1"; }
check "the files in Git hold no clear value" no_clear_value

# --- 3. update, delete --------------------------------------------------------------------------------
VALUES+=("pw-second-$id")
kubectl patch secret -n "$A-platform" db --type merge -p "{\"stringData\":{\"password\":\"pw-second-$id\"}}" >/dev/null
check "an update arrives in both targets" wait_for 60 secret_is "$A-prod" db password "pw-second-$id"
committed_again() { [ "$(ann "$A-platform" db committed)" = true ]; }
check "... and the intent is Committed again" wait_for 20 committed_again
kubectl annotate secret -n "$A-platform" db labrats.work/marked-for-deletion=true >/dev/null
check "a deleted secret is pruned from both targets" wait_for 60 eval "secret_gone $A-dev db && secret_gone $A-prod db"
check "... and the intent Secret is gone" wait_for 20 secret_gone "$A-platform" db

# --- 4. refusals -------------------------------------------------------------------------------------
register "$B" "$B-dev"
kubectl wait --for=condition=Ready "apr/$B" --timeout=90s >/dev/null 2>&1 || note "registration $B not Ready"
managed_secret "$A" sneaky "$B-dev" token=sneaky-$id
check "a secret targeting another app's namespace is refused with last-error" \
  wait_for 30 eval "ann $A-platform sneaky last-error | grep -q 'not one of the namespaces'"
nothing_in_git() { repo_clone "$A" "$tmp/c2" && [ ! -e "$tmp/c2/secrets/$B-dev" ]; }
check "... and nothing of it is in Git" nothing_in_git
kubectl delete secret -n "$A-platform" sneaky --wait=false >/dev/null 2>&1
managed_secret "$B" bsecret "$B-dev" k=b-value-$id
wait_for 60 secret_is "$B-dev" bsecret k "b-value-$id" || note "B's secret did not arrive"
# hostile commit into A's platform repo, pushed with the operator's full-access key
GIT_SSH_COMMAND=$OPERATOR_SSH git clone -q "$(forge_url "$A-platform")" "$tmp/hostile" || note "cannot clone $A's repo over SSH"
mkdir -p "$tmp/hostile/evil"
cat >"$tmp/hostile/evil/evil.yaml" <<EOF
apiVersion: v1
kind: Secret
metadata: {name: bsecret, namespace: $B-dev}
stringData: {k: overwritten}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: evil, namespace: $B-dev}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: admin}
subjects: [{kind: Group, name: evil, apiGroup: rbac.authorization.k8s.io}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: evil-$id}
rules: [{apiGroups: ["*"], resources: ["*"], verbs: ["*"]}]
EOF
git_push "$tmp/hostile" "hostile" >/dev/null || note "cannot push the hostile commit"
flux_reconcile gitrepository "$A-platform" "$A-platform"
hostile_refused() { [[ $(flux_ready kustomization "$A-platform" "$A-platform") == False*orbidden* ]]; }
check "Flux refuses the hostile commit through $A-flux (Forbidden)" wait_for 60 hostile_refused
check "... the other app is untouched" secret_is "$B-dev" bsecret k "b-value-$id"
nothing_created() { ! kubectl get rolebinding -n "$B-dev" evil >/dev/null 2>&1 && ! kubectl get clusterrole "evil-$id" >/dev/null 2>&1; }
check "... no RoleBinding or ClusterRole was created" nothing_created
check "... and registration $A shows Flux's refusal in FluxReady" wait_for 30 eval "cond_msg $A FluxReady | grep -qi forbidden"
git_work "$tmp/hostile" rm -rq evil && git_work "$tmp/hostile" commit -qm "remove hostile" &&
  git_work "$tmp/hostile" push -q origin main
flux_reconcile gitrepository "$A-platform" "$A-platform"
check "after the hostile file is removed Flux is Ready again" wait_for 60 flux_objects_ready

# --- 5. removing a namespace --------------------------------------------------------------------------
managed_secret "$A" web "$A-dev,$A-prod" api-key=web-key-$id
wait_for 60 secret_is "$A-prod" web api-key "web-key-$id" || note "web did not arrive in $A-prod"
# the env namespaces' secret-reader ServiceAccount may read the new intent at once (the secrets pass keeps
# the Role current: no registration pass, no resync needed) and no Secret it does not name
reader_can() { kubectl auth can-i get "secret/$2" -n "$A-platform" --as="system:serviceaccount:$1:secret-reader" >/dev/null 2>&1; }
check "the new secret is readable through $A-dev's secret-reader, the age key is not" \
  wait_for 10 eval "reader_can $A-dev web && ! reader_can $A-dev $A-platform-age-key"
kubectl patch apr "$A" --type merge -p "{\"spec\":{\"namespaces\":[\"$A-dev\"]}}" >/dev/null
prod_unbound() { ! kubectl get rolebinding -n "$A-prod" app-platform-admin >/dev/null 2>&1 && ! kubectl get rolebinding -n "$A-prod" app-platform-reader >/dev/null 2>&1; }
check "removing $A-prod from spec.namespaces removes its access bindings" wait_for 60 prod_unbound
check "... the namespace itself is kept" kubectl get ns "$A-prod"
check "... and a secret targeting it is refused" wait_for 30 eval "ann $A-platform web last-error | grep -q '$A-prod'"
kubectl patch apr "$A" --type merge -p "{\"spec\":{\"namespaces\":[\"$A-dev\",\"$A-prod\"]}}" >/dev/null
check "adding it back makes the secret Committed again" wait_for 60 eval "test \"\$(ann $A-platform web committed)\" = true && test -z \"\$(ann $A-platform web last-error)\""

# --- 6. hand edits are restored -------------------------------------------------------------------------
GIT_SSH_COMMAND=$OPERATOR_SSH git -C "$tmp/hostile" pull -q origin main 2>/dev/null
echo "garbage: true" >>"$tmp/hostile/secrets/$A-dev/web.sops.yaml"
git_work "$tmp/hostile" rm -q "secrets/$A-prod/web.sops.yaml"
echo "apiVersion: v1" >"$tmp/hostile/secrets/$A-dev/orphan.sops.yaml"
git_push "$tmp/hostile" "hand edit" >/dev/null || note "cannot push the hand edit"
flux_reconcile gitrepository "$A-platform" "$A-platform"
restored() {
  rm -rf "$tmp/c3" && git clone -q "$FORGE/$A-platform.git" "$tmp/c3" &&
    [ -f "$tmp/c3/secrets/$A-prod/web.sops.yaml" ] && [ ! -f "$tmp/c3/secrets/$A-dev/orphan.sops.yaml" ] &&
    ! grep -q garbage "$tmp/c3/secrets/$A-dev/web.sops.yaml"
}
check "a changed, a deleted and an orphan file under secrets/ are restored / removed" wait_for 60 restored
check "... and Flux delivers the restored secret" wait_for 60 secret_is "$A-prod" web api-key "web-key-$id"

# --- 6b. a Secret Flux left behind --------------------------------------------------------------------------
# What kustomize-controller leaves when back-to-back reconciles lose a Secret from its inventory (see
# src/operator/flux_orphans.h): our labels and source, Flux's labels, in no inventory, no intent. Beside it,
# a Secret of the team's own that only carries the app label, which must stay.
kubectl apply -f - >/dev/null <<EOF
apiVersion: v1
kind: Secret
metadata:
  name: lost-$id
  namespace: $A-dev
  labels: {labrats.work/app: $A, app.kubernetes.io/managed-by: app-platform-operator,
           kustomize.toolkit.fluxcd.io/name: $A-platform, kustomize.toolkit.fluxcd.io/namespace: $A-platform}
  annotations: {labrats.work/source: $A-platform/lost-$id}
stringData: {k: left-behind}
---
apiVersion: v1
kind: Secret
metadata:
  name: own-$id
  namespace: $A-dev
  labels: {labrats.work/app: $A}
stringData: {k: the-teams-own}
EOF
managed_secret "$A" web "$A-dev,$A-prod" api-key=web-key2-$id # a new revision for Flux to apply
orphan_swept() {
  secret_gone "$A-dev" "lost-$id" && secret_is "$A-dev" web api-key "web-key2-$id" &&
    kubectl get events.events.k8s.io -n default --field-selector "regarding.name=$A" -o json 2>/dev/null |
    jq -r '.items[] | select(.reason == "FluxOrphanDeleted") | .note' | grep -q "lost-$id"
}
check "a Secret Flux delivered and no longer tracks is deleted once Flux applied the next revision, with an Event" \
  wait_for 60 orphan_swept
check "... and the team's own Secret with the app label stays" kubectl get secret -n "$A-dev" "own-$id"
kubectl delete secret -n "$A-dev" "own-$id" >/dev/null 2>&1

# --- 7. idempotence across a restart ----------------------------------------------------------------------
wait_for 30 flux_objects_ready
sleep 2
heads_before="$(git -C "$FORGE/$A-platform.git" rev-parse main) $(git -C "$FORGE/$B-platform.git" rev-parse main) $(git -C "$tmp/flux.git" rev-parse main)"
stop_operator
start_operator || bail "the operator did not restart"
sleep 6 # every registration and app reconciled at least once
heads_after="$(git -C "$FORGE/$A-platform.git" rev-parse main) $(git -C "$FORGE/$B-platform.git" rev-parse main) $(git -C "$tmp/flux.git" rev-parse main)"
check "a restart with nothing new makes no commit" test "$heads_before" = "$heads_after"
writes=$(metric app_platform_kube_writes_total)
check "... and no write to the apiserver (app_platform_kube_writes_total=$writes)" test "${writes:-x}" = 0

# --- 8. deletion ----------------------------------------------------------------------------------------
kubectl delete apr "$B" --wait=true --timeout=90s >/dev/null 2>&1
retain_ok() {
  ! kubectl get apr "$B" >/dev/null 2>&1 && kubectl get ns "$B-dev" "$B-platform" >/dev/null &&
    [ -d "$FORGE/$B-platform.git" ] && ! kubectl get rolebinding -n "$B-dev" app-platform-admin >/dev/null 2>&1 &&
    rm -rf "$tmp/f2" && git clone -q "$tmp/flux.git" "$tmp/f2" && [ ! -d "$tmp/f2/apps/$B-platform" ] &&
    ! kubectl get secret -n "$OPNS" "$B-platform-age-key" >/dev/null 2>&1
}
check "deleting $B (Retain) keeps its repo and namespaces, removes bindings, Flux entries and key" wait_for 30 retain_ok
check "... and what Flux delivered stays" secret_is "$B-dev" bsecret k "b-value-$id"
kubectl patch apr "$A" --type merge -p '{"spec":{"deletionPolicy":"Delete"}}' >/dev/null
kubectl delete apr "$A" --wait=true --timeout=90s >/dev/null 2>&1
delete_ok() {
  ! kubectl get apr "$A" >/dev/null 2>&1 && [ ! -d "$FORGE/$A-platform.git" ] &&
    ! kubectl get ns "$A-dev" -o jsonpath='{.status.phase}' 2>/dev/null | grep -q Active
}
check "deleting $A (Delete) deletes its repo and namespaces" wait_for 60 delete_ok

# --- 9. secrets stay secret -----------------------------------------------------------------------------
stop_operator
kubectl get events.events.k8s.io -A -o json >"$tmp/events.json" 2>/dev/null
kubectl get apr -o json >"$tmp/aprs.json" 2>/dev/null
{ git -C "$tmp/flux.git" log --format='%B' main; git -C "$FORGE/$B-platform.git" log --format='%B' main; } >"$tmp/messages.txt"
leak=
for v in "${VALUES[@]}"; do
  for f in "$tmp/operator.log" "$tmp/events.json" "$tmp/aprs.json" "$tmp/messages.txt"; do
    grep -qF -- "$v" "$f" && leak="$leak $v in $(basename "$f")"
  done
done
check "no secret value in the operator's log, Events, conditions or commit messages" test -z "$leak"
grep -q '"level":"error"' "$tmp/operator.log" && note "operator errors: $(grep '"level":"error"' "$tmp/operator.log" | head -3)"
finish
