#!/usr/bin/env bash
# test/e2e/disaster.sh - TAP: disaster recovery. An app with two managed secrets runs on the shared
# control plane; then a FRESH control plane (tools/testenv/up + flux-up, nothing else) gets only the
# cluster age key and the Flux repo, applied through real Flux by a flux-system Kustomization with SOPS
# decryption: every platform comes back (namespaces, the app's age key, the platform repo's secrets
# decrypted into every target namespace) without the operator. Then the registrations are re-created
# from the Flux repo's registration.yaml copies and an operator started there adopts the existing key
# and repository without regenerating a key or rewriting a file, recreates the managed secrets from Git,
# and keeps working (a new secret arrives).
set -uo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/oplib.sh"

tmp=$(mktemp -d /tmp/e2e-dr.XXXXXX) || bail "mktemp failed"
id=$(uniq_suffix)
D=dr$id OPNS=ops-$id
SEL="e2e.labrats.work/run=$id"
P1_KUBECONFIG=$KUBECONFIG
P2=$tmp/plane2

cleanup() {
  stop_operator
  KUBECONFIG=$P2/kubeconfig "$SRCDIR/tools/testenv/down" "$P2" >/dev/null 2>&1
  export KUBECONFIG=$P1_KUBECONFIG
  e2e_cleanup "$D"
  "$GITSERVER" stop "$tmp/srv" >/dev/null 2>&1
  [ -n "${KEEP_TMP:-}" ] || rm -rf "$tmp"
}
trap cleanup EXIT

# --- the old cluster ---------------------------------------------------------------------------------
e2e_gitserver "$tmp" || bail "the SSH Git server did not start"
# the cluster Flux repo lives on the Git server; the new cluster's Flux gets a read-only deploy key
forge_repo "cluster-flux-$id" "$tmp/flux-deploy" || bail "cannot create the Flux repo"
FLUX_REPO=$FORGE/cluster-flux-$id.git
"$APP_PLATFORM_BIN" age keygen -o "$tmp/cluster.agekey" 2>/dev/null || bail "age keygen failed"
CLUSTER_RCP=$("$APP_PLATFORM_BIN" age keygen -y "$tmp/cluster.agekey")
install_platform() { # the admin's part on a cluster: CRD, ClusterRoles, the operator namespace
  kubectl apply --server-side -f "$SRCDIR/deploy/crd.yaml" -f "$SRCDIR/deploy/clusterroles.yaml" >/dev/null &&
    kubectl wait --for=condition=Established crd/appplatformregistrations.labrats.work --timeout=60s >/dev/null &&
    kubectl create namespace "$OPNS" >/dev/null &&
    kubectl -n "$OPNS" create secret generic forge-known-hosts --from-file=known_hosts="$GIT_KNOWN_HOSTS" >/dev/null
}
install_platform || bail "cannot install the platform on the old cluster"
start_operator || bail "the operator did not start"
cat <<EOF | kubectl apply -f - >/dev/null
apiVersion: labrats.work/v1alpha1
kind: AppPlatformRegistration
metadata: {name: $D, labels: {e2e.labrats.work/run: "$id"}}
spec:
  namespaces: [$D-dev, $D-prod]
  access: [{group: $D-admins, role: admin}]
EOF
kubectl wait --for=condition=Ready "apr/$D" --timeout=90s >/dev/null || bail "registration $D not Ready"
managed_secret "$D" s1 "$D-dev,$D-prod" k=one-$id
managed_secret "$D" s2 "$D-dev" k=two-$id
wait_for 60 secret_is "$D-prod" s1 k "one-$id" && wait_for 60 secret_is "$D-dev" s2 k "two-$id" ||
  bail "the secrets did not arrive on the old cluster"
wait_for 30 eval "test \"\$(kubectl get secret -n $D-platform s2 -o jsonpath='{.metadata.annotations.labrats\.work/committed}')\" = true"
rcp=$(kubectl get apr "$D" -o jsonpath='{.status.agePublicKey}')
heads() { echo "$(git -C "$FORGE/$D-platform.git" rev-parse main) $(git -C "$FLUX_REPO" rev-parse main)"; }
before=$(heads)
stop_operator
ok "the old cluster runs $D with two managed secrets"

# --- a new cluster: the cluster key and the Flux repo, applied by Flux ---------------------------------
"$SRCDIR/tools/testenv/up" "$P2" >/dev/null || bail "the new control plane did not start"
"$SRCDIR/tools/testenv/flux-up" "$P2" >/dev/null || bail "Flux did not start on the new control plane"
export KUBECONFIG=$P2/kubeconfig
kubectl apply --server-side -f "$SRCDIR/deploy/clusterroles.yaml" >/dev/null || bail "cannot install the ClusterRoles"
kubectl -n flux-system create secret generic sops-age --from-file=age.agekey="$tmp/cluster.agekey" >/dev/null
kubectl -n flux-system create secret generic flux-system --from-file=identity="$tmp/flux-deploy" \
  --from-file=identity.pub="$tmp/flux-deploy.pub" --from-file=known_hosts="$GIT_KNOWN_HOSTS" >/dev/null
cat <<EOF | kubectl apply -f - >/dev/null || bail "cannot create the flux-system objects"
apiVersion: v1
kind: ServiceAccount
metadata: {name: kustomize-controller, namespace: flux-system}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: flux-kustomize-controller}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: cluster-admin}
subjects: [{kind: ServiceAccount, name: kustomize-controller, namespace: flux-system}]
---
apiVersion: source.toolkit.fluxcd.io/v1
kind: GitRepository
metadata: {name: flux-system, namespace: flux-system}
spec:
  interval: 1m
  url: $(forge_url "cluster-flux-$id")
  ref: {branch: main}
  secretRef: {name: flux-system}
---
apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata: {name: app-platforms, namespace: flux-system}
spec:
  interval: 10m
  path: ./apps
  prune: true
  sourceRef: {kind: GitRepository, name: flux-system}
  serviceAccountName: kustomize-controller
  decryption: {provider: sops, secretRef: {name: sops-age}}
EOF
check "Flux alone brings back the platform namespace and the app namespaces" \
  wait_for 90 kubectl get ns "$D-platform" "$D-dev" "$D-prod"
restored_key() {
  kubectl get secret -n "$D-platform" "$D-platform-age-key" -o jsonpath='{.data.age\.agekey}' | base64 -d >"$tmp/k" &&
    [ "$("$APP_PLATFORM_BIN" age keygen -y "$tmp/k")" = "$rcp" ]
}
check "... the app's age key, decrypted with the cluster key" wait_for 60 restored_key
check "... and the platform repo's secrets decrypted into every target namespace" \
  wait_for 120 eval "secret_is $D-dev s1 k one-$id && secret_is $D-prod s1 k one-$id && secret_is $D-dev s2 k two-$id"

# --- the operator on the new cluster adopts everything -----------------------------------------------
install_platform 2>/dev/null || kubectl apply --server-side -f "$SRCDIR/deploy/crd.yaml" >/dev/null
kubectl wait --for=condition=Established crd/appplatformregistrations.labrats.work --timeout=60s >/dev/null
rm -rf "$tmp/fluxrepo" && git clone -q "$FLUX_REPO" "$tmp/fluxrepo"
check "the Flux repo holds a copy of the registration" test -s "$tmp/fluxrepo/apps/$D-platform/registration.yaml"
kubectl apply -f "$tmp/fluxrepo/apps/$D-platform/registration.yaml" >/dev/null
CACHE_SUFFIX=-new start_operator || bail "the operator did not start on the new cluster"
check "the registration becomes Ready on the new cluster" \
  kubectl wait --for=condition=Ready "apr/$D" --timeout=90s
check "... with the same age key (adopted, not regenerated)" \
  test "$(kubectl get apr "$D" -o jsonpath='{.status.agePublicKey}')" = "$rcp"
adopted() { kubectl get secret -n "$OPNS" "$D-platform-age-key" -o jsonpath='{.data.age\.agekey}' | base64 -d | grep -q AGE-SECRET-KEY; }
check "... kept again in the operator namespace" adopted
intents_back() {
  for s in s1 s2; do
    [ "$(kubectl get secret -n "$D-platform" "$s" -o jsonpath='{.metadata.annotations.labrats\.work/committed}')" = true ] ||
      return 1
  done
  [ "$(kubectl get secret -n "$D-platform" s1 -o jsonpath='{.metadata.annotations.labrats\.work/target-namespaces}')" = "$D-dev,$D-prod" ]
}
check "the managed secrets are recreated from Git, Committed, with their targets" wait_for 60 intents_back
sleep 5
check "no file was rewritten (platform repo and Flux repo unchanged)" test "$(heads)" = "$before"
managed_secret "$D" s3 "$D-prod" k=three-$id
check "a new secret arrives through the rebuilt platform" wait_for 60 secret_is "$D-prod" s3 k "three-$id"
check "the restored secrets are still delivered" secret_is "$D-dev" s2 k "two-$id"
leak=
for v in "${VALUES[@]}"; do grep -qF -- "$v" "$tmp/operator.log" && leak="$leak $v"; done
check "no secret value in the operator's log" test -z "$leak"
finish
