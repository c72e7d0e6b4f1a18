#!/usr/bin/env bash
# test/image/release.sh - TAP: the release bundle of tools/image/release (`make release`), written for the
# image archive of the meson custom target and installed on the test control plane as an admin would:
# every Deployment pins ghcr.io/labrats-work/app-platform:<version>@<the archive's digest>;
# `kubectl apply --server-side -f` installs it (the CRD Established, serving and storing v1alpha1; the
# namespace, ClusterRoles, ServiceAccounts, bindings and both Deployments with the pinned image, uid
# 1001, runAsNonRoot; a Pod of each template admitted by the namespace's restricted Pod Security level
# in a server-side dry run, as the test plane runs no Pods); a second apply changes no resourceVersion;
# a server-side dry run passes.
# The bundle's namespace is fixed (app-platform-system, which the deploy and dashboard tests apply
# client-side and leave behind), so the test runs alone (is_parallel: false): it removes a leftover
# namespace first (a fresh install, no field-manager conflicts), and at the end deletes the namespace
# and the cluster-scoped objects that were not there before it, waiting until they are gone.
# Meson test image_release (suite image; KUBECONFIG of tools/ci/test).
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$SRCDIR/test/deploy/lib.sh"
. "$here/lib.sh"
note() { printf '# %s\n' "$*"; }
command -v jq >/dev/null || bail "'jq' is not installed (tools/setup/deps installs it)"
img=$(image_archive) || bail "no image archive: run make image (or set APP_PLATFORM_IMAGE)"

NS=app-platform-system
CRD=customresourcedefinition.apiextensions.k8s.io/appplatformregistrations.labrats.work
tmp=$(mktemp -d /tmp/image-release.XXXXXX) || bail "mktemp failed"
bundle=$tmp/install.yaml
preexisting=() # cluster-scoped objects of the bundle that existed before this test
created_cluster=()
installing= # set once the test removes or creates $NS
cleanup() {
  [ -z "$installing" ] || kubectl delete namespace "$NS" --ignore-not-found --wait=true --timeout=120s >/dev/null 2>&1
  local o
  for o in "${created_cluster[@]}"; do
    kubectl delete "$o" --ignore-not-found --wait=true --timeout=60s >/dev/null 2>&1
  done
  [ -n "${KEEP_TMP:-}" ] || rm -rf "$tmp"
}
trap cleanup EXIT

# --- the bundle ----------------------------------------------------------------------------------
digest=$(tar -xOf "$img" index.json | jq -r '.manifests[0].digest')
version=$("$APP_PLATFORM_BIN" --version | awk '{print $2}')
if out=$("$SRCDIR/tools/image/release" --image "$img" --bin "$APP_PLATFORM_BIN" -o "$bundle" 2>&1) &&
  [ "$(tail -n1 <<<"$out")" = "$bundle" ] && [ -s "$bundle" ]; then
  ok "tools/image/release --image --bin writes the bundle (image @$digest)"
else
  bail "tools/image/release failed: $out"
fi
if [ -f "$img.digest" ]; then
  [ "$(cat "$img.digest")" = "$digest" ] && ok "the archive's index.json and its .digest name the same manifest" ||
    not_ok "the archive's index.json and its .digest name the same manifest" "$(cat "$img.digest") != $digest"
fi
# (one JSON document per object, gathered into {"items": [...]})
objects=$(kubectl create --dry-run=client -o json -f "$bundle" 2>&1 | jq -s '{items: .}' 2>&1) ||
  bail "the bundle does not parse: $(kubectl create --dry-run=client -o name -f "$bundle" 2>&1 | tail -3)"
want=ghcr.io/labrats-work/app-platform:$version@$digest
images=$(jq -r '.items[] | select(.kind == "Deployment") | "\(.metadata.name) \([.spec.template.spec.containers[].image] | unique | join(","))"' <<<"$objects")
if [ "$(wc -l <<<"$images")" = 2 ] && ! awk -v w="$want" '$2 != w { bad = 1 } END { exit !bad }' <<<"$images" &&
  [ "$(grep -c '^ *image: ' "$bundle")" = 2 ]; then
  ok "both Deployments pin $want"
else
  not_ok "both Deployments pin $want" "$images"
fi
names=$(jq -r '.items[] | "\(.kind)/\(.metadata.name)"' <<<"$objects")
note "bundle: $(wc -l <<<"$names") objects: $(tr '\n' ' ' <<<"$names")"

# --- a fresh install -----------------------------------------------------------------------------
# kubectl name of every cluster-scoped object of the bundle (the namespace goes with its contents).
cluster_scoped=$(jq -r '.items[] | select(.kind | test("^(CustomResourceDefinition|ClusterRole|ClusterRoleBinding)$"))
  | "\(.kind | ascii_downcase)/\(.metadata.name)"' <<<"$objects")
for o in $cluster_scoped; do
  if kubectl get "$o" >/dev/null 2>&1; then preexisting+=("$o"); else created_cluster+=("$o"); fi
done
note "already on the cluster before the install: ${preexisting[*]:-none}"
installing=1
if kubectl get namespace "$NS" >/dev/null 2>&1; then
  note "removing the $NS left by an earlier test (client-side applied manifests)"
  kubectl delete namespace "$NS" --wait=true --timeout=120s >/dev/null 2>&1 || bail "cannot remove the leftover $NS"
fi
if out=$(kubectl apply --server-side -f "$bundle" 2>&1); then
  ok "kubectl apply --server-side -f install.yaml ($(grep -c 'serverside-applied' <<<"$out") objects)"
else
  not_ok "kubectl apply --server-side -f install.yaml" "$out"
fi
out=$(kubectl wait --for=condition=Established "$CRD" --timeout=60s 2>&1) && ok "the CRD is Established" ||
  not_ok "the CRD is Established" "$out"
versions=$(kubectl get "$CRD" -o jsonpath='{range .spec.versions[*]}{.name}:{.served}:{.storage} {end}{.status.storedVersions}')
[[ $versions == *v1alpha1:true:true* ]] && ok "the CRD serves and stores v1alpha1 ($versions)" ||
  not_ok "the CRD serves and stores v1alpha1" "$versions"
out=$(kubectl get appplatformregistrations.v1alpha1.labrats.work 2>&1) && ok "the API serves labrats.work/v1alpha1 registrations" ||
  not_ok "the API serves labrats.work/v1alpha1 registrations" "$out"
out=$(kubectl get -f "$bundle" -o name 2>&1) && [ "$(wc -l <<<"$out")" = "$(wc -l <<<"$names")" ] &&
  ok "every object of the bundle exists" || not_ok "every object of the bundle exists" "$out"
psa=$(kubectl get namespace "$NS" -o jsonpath='{.metadata.labels.pod-security\.kubernetes\.io/enforce}')
[ "$psa" = restricted ] && ok "namespace $NS enforces the restricted Pod Security level" ||
  not_ok "namespace $NS enforces the restricted Pod Security level" "$psa"
out=$(kubectl get -n "$NS" serviceaccount app-platform-operator app-platform-dashboard -o name 2>&1) &&
  ok "the operator and dashboard ServiceAccounts exist" || not_ok "the operator and dashboard ServiceAccounts exist" "$out"
crb=$(kubectl get clusterrolebinding app-platform-operator app-platform-dashboard \
  -o jsonpath='{range .items[*]}{.roleRef.name}={.subjects[0].namespace}/{.subjects[0].name} {end}' 2>&1)
[ "$crb" = "app-platform-operator=$NS/app-platform-operator app-platform-dashboard=$NS/app-platform-dashboard " ] &&
  ok "the ClusterRoleBindings bind the ServiceAccounts of $NS" || not_ok "the ClusterRoleBindings bind the ServiceAccounts of $NS" "$crb"
rb=$(kubectl get -n "$NS" rolebinding app-platform-operator-leader-election -o jsonpath='{.roleRef.kind}/{.roleRef.name}' 2>&1)
[ "$rb" = Role/app-platform-operator-leader-election ] && ok "the leader-election RoleBinding exists" ||
  not_ok "the leader-election RoleBinding exists" "$rb"
for d in app-platform-operator app-platform-dashboard; do
  got=$(kubectl get -n "$NS" deployment "$d" -o jsonpath='{.spec.template.spec.containers[*].image} {.spec.template.spec.securityContext.runAsNonRoot} {.spec.template.spec.securityContext.runAsUser} {.spec.template.spec.containers[0].securityContext.runAsNonRoot} {.spec.template.spec.containers[0].securityContext.runAsUser}' 2>&1)
  [ "$got" = "$want true 1001 true 1001" ] && ok "deployment $d: the pinned image, runAsNonRoot, uid 1001" ||
    not_ok "deployment $d: the pinned image, runAsNonRoot, uid 1001" "$got"
done
# The test plane runs no deployment controller and no kubelet, so no Pod is made: a Pod of each
# Deployment's template, created with a server-side dry run, must pass the namespace's restricted Pod
# Security admission (it rejects what a real cluster's ReplicaSet could not create).
pod_admitted() {
  local pod
  pod=$(kubectl get -n "$NS" deployment "$1" -o json |
    jq '{apiVersion: "v1", kind: "Pod", metadata: {name: "\(.metadata.name)-dry-run", namespace: .metadata.namespace,
      labels: .spec.template.metadata.labels}, spec: .spec.template.spec}') &&
    kubectl create --dry-run=server -f - <<<"$pod" 2>&1
}
for d in app-platform-operator app-platform-dashboard; do
  out=$(pod_admitted "$d") && ! grep -qi 'warning' <<<"$out" && ok "deployment $d: its Pod passes the restricted Pod Security admission" ||
    not_ok "deployment $d: its Pod passes the restricted Pod Security admission" "$out"
done

# --- a second apply changes nothing ----------------------------------------------------------------
# resourceVersion of every object, once they hold still (on a cluster with controllers the Deployments'
# status is written after their creation; here only the CRD's status is, by the apiserver).
versions_of() { kubectl get -f "$bundle" -o jsonpath='{range .items[*]}{.kind}/{.metadata.name}={.metadata.resourceVersion}{"\n"}{end}'; }
before=$(versions_of) prev=
for _ in $(seq 30); do
  [ "$before" = "$prev" ] && break
  prev=$before
  sleep 1
  before=$(versions_of)
done
if out=$(kubectl apply --server-side -f "$bundle" 2>&1); then
  after=$(versions_of)
  [ -n "$before" ] && [ "$before" = "$after" ] && ok "a second apply is a no-op (no resourceVersion changes)" ||
    not_ok "a second apply is a no-op (no resourceVersion changes)" "$(diff <(echo "$before") <(echo "$after"))"
else
  not_ok "a second apply is a no-op (no resourceVersion changes)" "$out"
fi
out=$(kubectl apply --server-side --dry-run=server -f "$bundle" 2>&1) && ok "kubectl apply --server-side --dry-run=server passes" ||
  not_ok "kubectl apply --server-side --dry-run=server passes" "$out"

# --- clean up (checked here; the trap repeats it on a bail out) ----------------------------------------
kubectl delete namespace "$NS" --wait=true --timeout=120s >/dev/null 2>&1
for o in "${created_cluster[@]}"; do kubectl delete "$o" --wait=true --timeout=60s >/dev/null 2>&1; done
left=$(kubectl get namespace "$NS" -o name 2>/dev/null; for o in "${created_cluster[@]}"; do kubectl get "$o" -o name 2>/dev/null; done)
[ -z "$left" ] && ok "cleaned up: $NS and ${#created_cluster[@]} cluster-scoped objects this install created are gone" ||
  not_ok "cleaned up" "$left"
finish
