#!/usr/bin/env bash
# test/e2e/flux_smoke.sh - TAP: the real Flux of tools/testenv/flux-up delivers SOPS secrets that
# `app-platform sops encrypt` wrote, from a repository of the local forge served over SSH with a
# per-repository deploy key, to one tenant, with the multi-tenancy lockdown:
#   a tenant (T-platform, T-dev; ServiceAccount T-flux bound to `admin` in those two only) gets a
#   GitRepository (ssh, branch main, deploy-key Secret) and a Kustomization (prune, sops decryption with
#   the tenant's age key, serviceAccountName T-flux); a Secret committed to secrets/T-dev/ arrives
#   decrypted, an update arrives, a removal is pruned; a commit adding a Secret for another tenant's
#   namespace is refused (Ready=False, Forbidden) and leaves T-dev untouched; another repository's deploy
#   key cannot fetch the repository, and no deploy key can push.
# Everything it creates (namespaces, the Git server, files) is removed at the end.
set -uo pipefail
. "$(dirname "$0")/lib.sh"

t0=$(date +%s%N)
tmp=$(mktemp -d /tmp/e2e-flux.XXXXXX) || bail "mktemp failed"
id=$(uniq_suffix)
t1=t1-$id t2=t2-$id
cleanup() {
  kubectl delete kustomization,gitrepository --all -n "$t1-platform" --wait=true --timeout=60s >/dev/null 2>&1
  kubectl delete namespace "$t1-platform" "$t1-dev" "$t2-dev" --wait=false >/dev/null 2>&1
  "$GITSERVER" stop "$tmp/srv" >/dev/null 2>&1
  [ -n "${KEEP_TMP:-}" ] || rm -rf "$tmp"
}
trap cleanup EXIT

# --- the Git server, the repositories, the keys ---------------------------------------------------
e2e_gitserver "$tmp" || bail "the SSH Git server did not start (see $tmp/srv/sshd.log)"
forge_repo "$t1" "$tmp/deploy-t1" || bail "cannot create the repository $t1"
forge_repo "$t2" "$tmp/deploy-t2" || bail "cannot create the repository $t2"
"$APP_PLATFORM_BIN" age keygen -o "$tmp/t1.agekey" 2>/dev/null || bail "app-platform age keygen failed"
recipient=$("$APP_PLATFORM_BIN" age keygen -y "$tmp/t1.agekey") || bail "app-platform age keygen -y failed"
git init -q -b main "$tmp/work" && git_work "$tmp/work" remote add origin "$(forge_url "$t1")" ||
  bail "cannot create the work tree"

# secret_file NS NAME KEY VALUE: write secrets/NS/NAME.sops.yaml in the work tree, encrypted.
secret_file() {
  mkdir -p "$tmp/work/secrets/$1"
  cat >"$tmp/plain.yaml" <<EOF
apiVersion: v1
kind: Secret
metadata:
  name: $2
  namespace: $1
type: Opaque
stringData:
  $3: $4
EOF
  "$APP_PLATFORM_BIN" sops encrypt --age "$recipient" --encrypted-regex '^(data|stringData)$' \
    "$tmp/plain.yaml" >"$tmp/work/secrets/$1/$2.sops.yaml"
}

secret_file "$t1-dev" x password first-value || bail "app-platform sops encrypt failed"
if grep -q first-value "$tmp/work/secrets/$t1-dev/x.sops.yaml"; then
  not_ok "the committed file holds no clear value"
else
  ok "the committed file holds no clear value"
fi
# A plain ConfigMap, so the repository never becomes empty when secrets are removed.
mkdir -p "$tmp/work/apps"
cat >"$tmp/work/apps/keep.yaml" <<EOF
apiVersion: v1
kind: ConfigMap
metadata:
  name: keep
  namespace: $t1-dev
data:
  a: b
EOF
rev1=$(git_push "$tmp/work" "x: first value") && ok "the operator key pushes over SSH" ||
  not_ok "the operator key pushes over SSH" "$rev1"

# --- the tenant -----------------------------------------------------------------------------------
kubectl apply -f - >"$tmp/apply.log" 2>&1 <<EOF
apiVersion: v1
kind: Namespace
metadata: {name: $t1-platform}
---
apiVersion: v1
kind: Namespace
metadata: {name: $t1-dev}
---
apiVersion: v1
kind: Namespace
metadata: {name: $t2-dev}
---
apiVersion: v1
kind: ServiceAccount
metadata: {name: $t1-flux, namespace: $t1-platform}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: $t1-flux, namespace: $t1-platform}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: admin}
subjects: [{kind: ServiceAccount, name: $t1-flux, namespace: $t1-platform}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: $t1-flux, namespace: $t1-dev}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: admin}
subjects: [{kind: ServiceAccount, name: $t1-flux, namespace: $t1-platform}]
EOF
[ $? -eq 0 ] || bail "cannot create the tenant: $(cat "$tmp/apply.log")"
kubectl create secret generic age-key -n "$t1-platform" --from-file=age.agekey="$tmp/t1.agekey" >/dev/null &&
  kubectl create secret generic git-auth -n "$t1-platform" --from-file=identity="$tmp/deploy-t1" \
    --from-file=identity.pub="$tmp/deploy-t1.pub" --from-file=known_hosts="$GIT_KNOWN_HOSTS" >/dev/null &&
  kubectl create secret generic git-auth-wrong -n "$t1-platform" --from-file=identity="$tmp/deploy-t2" \
    --from-file=identity.pub="$tmp/deploy-t2.pub" --from-file=known_hosts="$GIT_KNOWN_HOSTS" >/dev/null ||
  bail "cannot create the tenant's Secrets"

# flux_objects NAME SECRET: a GitRepository NAME for the t1 repository authenticated by SECRET, and a
# Kustomization NAME applying it.
flux_objects() {
  kubectl apply -f - <<EOF
apiVersion: source.toolkit.fluxcd.io/v1
kind: GitRepository
metadata: {name: $1, namespace: $t1-platform}
spec:
  url: $(forge_url "$t1")
  interval: 10m
  timeout: 30s
  ref: {branch: main}
  secretRef: {name: $2}
---
apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata: {name: $1, namespace: $t1-platform}
spec:
  interval: 10m
  retryInterval: 5s
  timeout: 1m
  path: ./
  prune: true
  sourceRef: {kind: GitRepository, name: $1}
  serviceAccountName: $t1-flux
  decryption:
    provider: sops
    secretRef: {name: age-key}
EOF
}
start=$(date +%s%N)
out=$(flux_objects app git-auth 2>&1) || bail "cannot create the GitRepository and Kustomization: $out"

# --- delivery -------------------------------------------------------------------------------------
gitrepo_at() { flux_ready gitrepository "$t1-platform" app | grep -q '^True ' &&
  kubectl get gitrepository -n "$t1-platform" app -o jsonpath='{.status.artifact.revision}' | grep -q "sha1:$1$"; }
applied_at() { kubectl get kustomization -n "$t1-platform" app -o jsonpath='{.status.lastAppliedRevision}' |
  grep -q "sha1:$1$"; }
if wait_for 60 gitrepo_at "$rev1"; then
  ok "GitRepository Ready at main@sha1:$rev1 (deploy key over SSH) after $(ms_since "$start") ms"
else
  not_ok "GitRepository Ready at the pushed commit" "$(flux_ready gitrepository "$t1-platform" app)"
fi
if wait_for 60 secret_is "$t1-dev" x password first-value; then
  ok "the Secret arrives in $t1-dev decrypted, $(ms_since "$start") ms after the Flux objects were created"
else
  not_ok "the Secret arrives in $t1-dev decrypted" "$(flux_ready kustomization "$t1-platform" app)"
fi
wait_for 30 applied_at "$rev1" && [ "$(flux_ready kustomization "$t1-platform" app | cut -d' ' -f1)" = True ] &&
  ok "Kustomization Ready, lastAppliedRevision main@sha1:$rev1" ||
  not_ok "Kustomization Ready at the pushed commit" "$(flux_ready kustomization "$t1-platform" app)"
kubectl get configmap -n "$t1-dev" keep >/dev/null 2>&1 && ok "the plain ConfigMap is applied too" ||
  not_ok "the plain ConfigMap is applied too"
[ "$(kubectl get secret -n "$t1-dev" x -o jsonpath='{.metadata.labels.kustomize\.toolkit\.fluxcd\.io/name}')" = app ] &&
  ok "the Secret carries Flux's ownership label" || not_ok "the Secret carries Flux's ownership label"

# --- update ---------------------------------------------------------------------------------------
secret_file "$t1-dev" x password second-value && secret_file "$t1-dev" z token zeta-1 &&
  rev2=$(git_push "$tmp/work" "x: second value; z: new") || bail "cannot push the update"
start=$(date +%s%N)
flux_reconcile gitrepository "$t1-platform" app
if wait_for 60 secret_is "$t1-dev" x password second-value && wait_for 30 secret_is "$t1-dev" z token zeta-1; then
  ok "an update arrives (and a second Secret), $(ms_since "$start") ms after the reconcile request"
else
  not_ok "an update arrives" "$(flux_ready kustomization "$t1-platform" app)"
fi

# --- delete: pruned -------------------------------------------------------------------------------
git_work "$tmp/work" rm -q "secrets/$t1-dev/x.sops.yaml" && rev3=$(git_push "$tmp/work" "x: removed") ||
  bail "cannot push the removal"
start=$(date +%s%N)
flux_reconcile gitrepository "$t1-platform" app
if wait_for 60 secret_gone "$t1-dev" x; then
  ok "a removed Secret is pruned, $(ms_since "$start") ms after the reconcile request"
else
  not_ok "a removed Secret is pruned" "$(flux_ready kustomization "$t1-platform" app)"
fi
wait_for 30 applied_at "$rev3" && secret_is "$t1-dev" z token zeta-1 &&
  ok "the other Secret stays" || not_ok "the other Secret stays"

# --- a Secret for another tenant's namespace: refused by RBAC of the impersonated ServiceAccount --
z_rv=$(kubectl get secret -n "$t1-dev" z -o jsonpath='{.metadata.resourceVersion}')
secret_file "$t2-dev" y stolen hostile && secret_file "$t1-dev" z token zeta-2 &&
  rev4=$(git_push "$tmp/work" "hostile: a Secret for $t2-dev") || bail "cannot push the hostile commit"
flux_reconcile gitrepository "$t1-platform" app
attempted_at() { kubectl get kustomization -n "$t1-platform" app -o jsonpath='{.status.lastAttemptedRevision}' |
  grep -q "sha1:$1$" && flux_ready kustomization "$t1-platform" app | grep -q '^False '; }
if wait_for 60 attempted_at "$rev4"; then
  msg=$(flux_ready kustomization "$t1-platform" app)
  note "Ready: $msg"
  if grep -q "Forbidden" <<<"$msg" && grep -q "system:serviceaccount:$t1-platform:$t1-flux" <<<"$msg" &&
    grep -q "$t2-dev" <<<"$msg"; then
    ok "the commit for $t2-dev is refused: Ready=False, Forbidden for $t1-flux"
  else
    not_ok "the refusal names Forbidden, the ServiceAccount and the namespace" "$msg"
  fi
else
  not_ok "the commit for $t2-dev is refused" "$(flux_ready kustomization "$t1-platform" app)"
fi
secret_gone "$t2-dev" y && ok "nothing is written to $t2-dev" || not_ok "nothing is written to $t2-dev"
[ "$(kubectl get secret -n "$t1-dev" z -o jsonpath='{.metadata.resourceVersion}')" = "$z_rv" ] &&
  secret_is "$t1-dev" z token zeta-1 &&
  ok "$t1-dev is untouched: the refused dry-run blocks the whole commit (z keeps its old data)" ||
  not_ok "$t1-dev is untouched" "$(secret_value "$t1-dev" z token)"
kubectl get kustomization -n "$t1-platform" app -o jsonpath='{.status.lastAppliedRevision}' | grep -q "sha1:$rev3$" &&
  ok "lastAppliedRevision stays at the last good commit" || not_ok "lastAppliedRevision stays at the last good commit"

# --- deploy keys ----------------------------------------------------------------------------------
out=$(flux_objects wrong-key git-auth-wrong 2>&1) || not_ok "create a GitRepository with another repository's key" "$out"
wrong_failed() { flux_ready gitrepository "$t1-platform" wrong-key | grep -q '^False '; }
if wait_for 60 wrong_failed; then
  msg=$(flux_ready gitrepository "$t1-platform" wrong-key)
  note "Ready: $msg"
  if grep -q "does not grant access" <<<"$msg"; then
    ok "another repository's deploy key cannot fetch: GitRepository Ready=False"
  else
    not_ok "the failure comes from the deploy key check" "$msg"
  fi
else
  not_ok "another repository's deploy key cannot fetch" "$(flux_ready gitrepository "$t1-platform" wrong-key)"
fi
[ -z "$(kubectl get gitrepository -n "$t1-platform" wrong-key -o jsonpath='{.status.artifact.revision}')" ] &&
  ok "no artifact from the wrong key" || not_ok "no artifact from the wrong key"
deploy_ssh="ssh -i $tmp/deploy-t1 -o IdentitiesOnly=yes -o BatchMode=yes -o UserKnownHostsFile=$GIT_KNOWN_HOSTS"
if GIT_SSH_COMMAND=$deploy_ssh git -C "$tmp/work" push -q "$(forge_url "$t1")" main:refs/heads/other 2>"$tmp/push.err"; then
  not_ok "a deploy key cannot push"
else
  grep -q "read-only" "$tmp/push.err" && ok "a deploy key cannot push (read-only)" ||
    not_ok "a deploy key cannot push (read-only)" "$(cat "$tmp/push.err")"
fi

note "took $(ms_since "$t0") ms"
finish
