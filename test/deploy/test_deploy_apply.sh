#!/usr/bin/env bash
# test/deploy/test_deploy_apply.sh - TAP: `app-platform manifests` against the real kube-apiserver of
# tools/testenv: it applies cleanly (client-side, then unchanged on re-apply, then server-side dry-run),
# matches the deploy/ kustomize base, and the ClusterRoles grant what the spec's Access Roles table says
# (checked with impersonation), while the operator and dashboard ServiceAccounts cannot escalate.
set -uo pipefail
. "$(dirname "$0")/lib.sh"

manifests=$("$APP_PLATFORM_BIN" manifests) || bail "app-platform manifests failed"

# --- the command itself ---------------------------------------------------------------------------
if "$APP_PLATFORM_BIN" manifests --help | grep -q -- '--only'; then ok "manifests --help"; else not_ok "manifests --help"; fi
"$APP_PLATFORM_BIN" manifests --only nonsense >/dev/null 2>&1
[ $? -eq 2 ] && ok "manifests --only nonsense is a usage error" || not_ok "manifests --only nonsense is a usage error"
names() { kubectl create --dry-run=client -o name -f - 2>&1; }
first=$(printf '%s\n' "$manifests" | names | head -n1)
[ "$first" = "customresourcedefinition.apiextensions.k8s.io/appplatformregistrations.labrats.work" ] &&
  ok "the CRD comes first" || not_ok "the CRD comes first" "$first"
crd_only=$("$APP_PLATFORM_BIN" manifests --only crd | names)
[ "$crd_only" = "$first" ] && ok "--only crd prints the CRD alone" || not_ok "--only crd prints the CRD alone" "$crd_only"
rbac_only=$("$APP_PLATFORM_BIN" manifests --only rbac | names)
if grep -q '^clusterrole.rbac.authorization.k8s.io/app-platform-reader$' <<<"$rbac_only" &&
  ! grep -q '^deployment' <<<"$rbac_only" && ! grep -q '^customresourcedefinition' <<<"$rbac_only"; then
  ok "--only rbac prints RBAC without Deployments or the CRD"
else
  not_ok "--only rbac prints RBAC without Deployments or the CRD" "$rbac_only"
fi
tmpout=$(mktemp)
"$APP_PLATFORM_BIN" manifests -o "$tmpout" && [ "$(cat "$tmpout")" = "$manifests" ] &&
  ok "manifests -o FILE writes the same stream" || not_ok "manifests -o FILE writes the same stream"
rm -f "$tmpout"

# --- agrees with the kustomize base in deploy/ ----------------------------------------------------
ours=$(printf '%s\n' "$manifests" | names | sort)
theirs=$(kubectl kustomize "$srcdir/deploy" | names | sort)
[ -n "$ours" ] && [ "$ours" = "$theirs" ] && ok "same objects as kubectl kustomize deploy/ ($(wc -l <<<"$ours"))" ||
  not_ok "same objects as kubectl kustomize deploy/" "$(diff <(echo "$ours") <(echo "$theirs"))"
# Embedded files, in kustomization.yaml's resources order (each file starts with '# deploy/NAME -').
embedded=$(printf '%s\n' "$manifests" | sed -n 's|^# deploy/\([a-z-]*\.yaml\) - .*|\1|p')
listed=$(sed -n 's/^  - \([a-z-]*\.yaml\)$/\1/p' "$srcdir/deploy/kustomization.yaml")
[ "$embedded" = "$listed" ] && ok "embedded files follow kustomization.yaml" ||
  not_ok "embedded files follow kustomization.yaml" "$(diff <(echo "$embedded") <(echo "$listed"))"
version=$("$APP_PLATFORM_BIN" --version | awk '{print $2}')
images=$(printf '%s\n' "$manifests" | sed -n 's/^ *image: //p' | sort -u)
[ "$images" = "ghcr.io/labrats-work/app-platform:$version" ] && ok "images are tagged with the version ($version)" ||
  not_ok "images are tagged with the version ($version)" "$images"

# --- applies to the real apiserver ----------------------------------------------------------------
if out=$(apply_manifests); then ok "manifests | kubectl apply -f -"; else not_ok "manifests | kubectl apply -f -" "$out"; fi
if out=$(wait_crd 2>&1); then ok "CRD Established"; else not_ok "CRD Established" "$out"; fi
out=$(printf '%s\n' "$manifests" | kubectl apply -f - 2>&1)
if [ $? -eq 0 ] && ! grep -vq ' unchanged$' <<<"$out"; then ok "re-apply leaves everything unchanged"; else
  not_ok "re-apply leaves everything unchanged" "$out"; fi
out=$(printf '%s\n' "$manifests" | kubectl apply --dry-run=server -f - 2>&1) &&
  ok "server-side dry-run apply" || not_ok "server-side dry-run apply" "$out"
out=$(printf '%s\n' "$manifests" | kubectl apply --server-side --dry-run=server --force-conflicts \
  --field-manager=app-platform-test -f - 2>&1) && ok "server-side apply (dry-run)" || not_ok "server-side apply (dry-run)" "$out"
out=$(kubectl api-resources --api-group=labrats.work --no-headers 2>&1)
grep -Eq '^appplatformregistrations +apr +labrats.work/v1alpha1 +false +AppPlatformRegistration' <<<"$out" &&
  ok "discovery: plural, short name apr, cluster-scoped" || not_ok "discovery: plural, short name apr, cluster-scoped" "$out"
for d in app-platform-operator app-platform-dashboard; do
  out=$(kubectl get deployment -n app-platform-system "$d" -o jsonpath='{.spec.template.spec.securityContext.runAsUser} {.spec.template.spec.containers[0].securityContext.readOnlyRootFilesystem} {.spec.template.spec.containers[0].securityContext.capabilities.drop[0]} {.spec.template.spec.containers[0].readinessProbe.httpGet.path}:{.spec.template.spec.containers[0].readinessProbe.httpGet.port}' 2>&1)
  [ "$out" = "1001 true ALL /readyz:8081" ] && ok "$d: uid 1001, read-only root, no capabilities, /readyz on 8081" ||
    not_ok "$d: uid 1001, read-only root, no capabilities, /readyz on 8081" "$out"
done

# --- Access Roles (impersonating a user in each group) --------------------------------------------
sfx=$(uniq_suffix)
ns="tdeploy-$sfx-dev"
kubectl create namespace "$ns" >/dev/null
for role in admin developer reader; do
  kubectl create rolebinding "$role" -n "$ns" --clusterrole="app-platform-$role" --group="g-$role-$sfx" >/dev/null
done
# allowed USER GROUPS VERB RESOURCE[.GROUP][/SUBRESOURCE] NAMESPACE [NAME]: "yes" or "no" from a
# SubjectAccessReview (not `kubectl auth can-i`, which needs discovery, and the Flux CRDs are absent).
allowed() {
  local user=$1 groups=$2 verb=$3 res=${4%%/*} ns=$5 name=${6:-} sub="" group="" out
  [ "$4" != "$res" ] && sub=${4#*/}
  case "$res" in *.*) group=${res#*.}; res=${res%%.*} ;; esac
  out=$(kubectl create -o jsonpath='{.status.allowed}' -f - 2>&1 <<JSON
{"apiVersion":"authorization.k8s.io/v1","kind":"SubjectAccessReview","spec":{"user":"$user",
 "groups":[$groups],"resourceAttributes":{"verb":"$verb","group":"$group","resource":"$res",
 "subresource":"$sub","namespace":"$ns","name":"$name"}}}
JSON
  )
  case "$out" in true) echo yes ;; false | "") echo no ;; *) echo "error: $out" ;; esac
}
# can ROLE EXPECT VERB RESOURCE: the answer for a member of ROLE's group in the test namespace.
can() {
  local got
  got=$(allowed "u-$1" "\"g-$1-$sfx\",\"system:authenticated\"" "$3" "$4" "$ns")
  [ "$got" = "$2" ] && ok "$1: $3 $4 = $2" || not_ok "$1: $3 $4 = $2 (got '$got')"
}
can admin yes create deployments.apps
can admin yes delete secrets
can admin yes update services
can admin yes create ingresses.networking.k8s.io
can admin yes delete jobs.batch
can admin yes delete namespaces
can admin yes create kustomizations.kustomize.toolkit.fluxcd.io
can admin no create rolebindings.rbac.authorization.k8s.io
can developer yes get secrets
can developer yes list deployments.apps
can developer yes create pods/exec
can developer yes get pods/exec
can developer yes create pods/portforward
can developer no delete deployments.apps
can developer no create secrets
can developer no delete namespaces
can reader yes list pods
can reader yes get pods/log
can reader yes get services
can reader no get secrets
can reader no create pods/exec
can reader no update deployments.apps
# The roles reach only the namespace they are bound in.
got=$(allowed u-admin "\"g-admin-$sfx\"" get pods default)
[ "$got" = no ] && ok "admin of '$ns' has nothing in 'default'" || not_ok "admin of '$ns' has nothing in 'default'" "$got"

# --- operator and dashboard ServiceAccounts: least privilege, no escalation -----------------------
op=system:serviceaccount:app-platform-system:app-platform-operator
dash=system:serviceaccount:app-platform-system:app-platform-dashboard
out=$(kubectl create rolebinding "apr-admins" -n "$ns" --clusterrole=app-platform-admin --group=x --as="$op" 2>&1) &&
  ok "operator binds app-platform-admin" || not_ok "operator binds app-platform-admin" "$out"
out=$(kubectl create rolebinding "escalate" -n "$ns" --clusterrole=cluster-admin --group=x --as="$op" 2>&1)
[ $? -ne 0 ] && grep -q forbidden <<<"$out" && ok "operator may not bind cluster-admin" ||
  not_ok "operator may not bind cluster-admin" "$out"
out=$(kubectl create role secret-reader -n "$ns" --verb=get,list,watch --resource=secrets --as="$op" 2>&1) &&
  ok "operator creates the secret-reader Role" || not_ok "operator creates the secret-reader Role" "$out"
out=$(kubectl create role pod-maker -n "$ns" --verb=create --resource=pods --as="$op" 2>&1)
[ $? -ne 0 ] && grep -q forbidden <<<"$out" && ok "operator may not create a Role granting more than it holds" ||
  not_ok "operator may not create a Role granting more than it holds" "$out"
# sa_can SA EXPECT VERB RESOURCE NAMESPACE [NAME]
sa_can() {
  local who=$1 want=$2 got
  shift 2
  got=$(allowed "$who" '"system:serviceaccounts","system:serviceaccounts:app-platform-system","system:authenticated"' "$@")
  [ "$got" = "$want" ] && ok "${who##*:}: $* = $want" || not_ok "${who##*:}: $* = $want (got '$got')"
}
sa_can "$op" yes patch appplatformregistrations.labrats.work/status "" x
sa_can "$op" yes update appplatformregistrations.labrats.work/finalizers "" x
sa_can "$op" no create appplatformregistrations.labrats.work ""
sa_can "$op" yes create namespaces ""
sa_can "$op" yes create gitrepositories.source.toolkit.fluxcd.io "$ns"
sa_can "$op" yes create kustomizations.kustomize.toolkit.fluxcd.io "$ns"
sa_can "$op" yes patch deployments.apps authelia authelia
sa_can "$op" no patch deployments.apps authelia other
sa_can "$op" no create clusterrolebindings.rbac.authorization.k8s.io ""
sa_can "$op" no create pods "$ns"
sa_can "$op" yes update leases.coordination.k8s.io app-platform-system app-platform-operator
sa_can "$op" no update leases.coordination.k8s.io "$ns" app-platform-operator
sa_can "$dash" yes impersonate users ""
sa_can "$dash" yes impersonate groups ""
sa_can "$dash" no impersonate serviceaccounts ""
sa_can "$dash" yes list appplatformregistrations.labrats.work ""
sa_can "$dash" no list secrets ""
sa_can "$dash" no create appplatformregistrations.labrats.work ""

kubectl delete namespace "$ns" --wait=false >/dev/null 2>&1
finish
