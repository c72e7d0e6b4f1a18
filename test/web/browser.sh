#!/usr/bin/env bash
# test/web/browser.sh - TAP: the dashboard's pages in Debian's Chromium (test/web/browser.mjs, driven by
# playwright-core) against the real parts: the control plane of tools/testenv/up, the real Flux of
# tools/testenv/flux-up, an SSH Git server for the local forge, the real operator (started as
# test/e2e/oplib.sh does, handling only this test's registrations) and the real dashboard binary logging
# in through the test OIDC provider's own login form (test/dashboard/idp). This script builds the world
# (two apps registered and made Ready by the operator, an app repo Flux can fetch, the dashboard's own
# ServiceAccount) and hands it to browser.mjs; everything is removed at the end.
# Needs KUBECONFIG, FLUX_ENV, APP_PLATFORM_BIN, GITSERVER, SRCDIR (meson sets them; tools/ci/test exports
# the first two), Chromium at /usr/bin/chromium (tools/setup/deps) and the npm packages of test/web and
# test/dashboard/idp (their install scripts; run here when missing).
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
SRCDIR=${SRCDIR:-$(cd "$here/../.." && pwd)}
GITSERVER=${GITSERVER:-$SRCDIR/test/git/gitserver}
export SRCDIR GITSERVER
. "$SRCDIR/test/e2e/lib.sh"
. "$SRCDIR/test/e2e/oplib.sh"

[ -x /usr/bin/chromium ] || bail "no /usr/bin/chromium: install Debian's chromium (tools/setup/deps)"
"$here/install" || bail "cannot install test/web's npm packages"
"$SRCDIR/test/dashboard/idp/install" || bail "cannot install the test OIDC provider"

tmp=$(mktemp -d /tmp/web-browser.XXXXXX) || bail "mktemp failed"
id=$(uniq_suffix)
A=wa$id B=wb$id OPNS=webop-$id
SEL="e2e.labrats.work/run=$id"

cleanup() {
  stop_operator
  for app in $A $B; do
    kubectl patch apr "$app" --type merge -p '{"metadata":{"finalizers":null}}' >/dev/null 2>&1
    kubectl delete apr "$app" --wait=false >/dev/null 2>&1
    kubectl delete kustomization,gitrepository --all -n "$app-platform" --wait=false >/dev/null 2>&1
    for ns in "$app-dev" "$app-prod" "$app-qa"; do
      kubectl delete kustomization,gitrepository --all -n "$ns" --wait=false >/dev/null 2>&1
    done
    for s in $(kubectl get secret -n "$app-platform" -l labrats.work/managed-secret=true -o name 2>/dev/null); do
      kubectl patch -n "$app-platform" "$s" --type merge -p '{"metadata":{"finalizers":null}}' >/dev/null 2>&1
    done
    kubectl delete namespace "$app-platform" "$app-dev" "$app-prod" "$app-qa" --wait=false >/dev/null 2>&1
  done
  for r in $(kubectl get apr -l "web.labrats.work/run=$id" -o name 2>/dev/null); do
    kubectl delete "$r" --wait=false >/dev/null 2>&1
  done
  kubectl delete clusterrolebinding "web-dashboard-$id" "web-platform-admins-$id" >/dev/null 2>&1
  kubectl delete namespace "$OPNS" --wait=false >/dev/null 2>&1
  "$GITSERVER" stop "$tmp/srv" >/dev/null 2>&1
  [ -n "${KEEP_TMP:-}" ] || rm -rf "$tmp"
}
trap cleanup EXIT

# --- the platform around the operator (as test/e2e/operator.sh) -------------------------------------
e2e_gitserver "$tmp" || bail "the SSH Git server did not start"
FLUX_REPO=$tmp/flux.git
git init -q --bare -b main "$FLUX_REPO" || bail "cannot create the Flux repo"
"$APP_PLATFORM_BIN" age keygen -o "$tmp/cluster.agekey" 2>/dev/null || bail "age keygen failed"
CLUSTER_RCP=$("$APP_PLATFORM_BIN" age keygen -y "$tmp/cluster.agekey")
kubectl apply --server-side -f "$SRCDIR/deploy/crd.yaml" -f "$SRCDIR/deploy/clusterroles.yaml" \
  -f "$SRCDIR/deploy/namespace.yaml" -f "$SRCDIR/deploy/dashboard-rbac.yaml" >/dev/null ||
  bail "cannot install the CRD, ClusterRoles and the dashboard's RBAC"
kubectl wait --for=condition=Established crd/appplatformregistrations.labrats.work --timeout=60s >/dev/null ||
  bail "the CRD is not established"
kubectl create namespace "$OPNS" >/dev/null || bail "cannot create the operator namespace"
kubectl -n "$OPNS" create secret generic forge-known-hosts --from-file=known_hosts="$GIT_KNOWN_HOSTS" >/dev/null ||
  bail "cannot create the known_hosts Secret"
# The dashboard's ServiceAccount in the operator namespace: the operator binds it in each platform namespace.
kubectl -n "$OPNS" create serviceaccount app-platform-dashboard >/dev/null &&
  kubectl create clusterrolebinding "web-dashboard-$id" --clusterrole=app-platform-dashboard \
    --serviceaccount="$OPNS:app-platform-dashboard" >/dev/null &&
  kubectl create clusterrolebinding "web-platform-admins-$id" --clusterrole=app-platform-registrations-admin \
    --group=oidc:platform-admins >/dev/null || bail "cannot create the dashboard's ServiceAccount and bindings"
start_operator || bail "the operator did not start: $(tail -5 "$tmp/operator.log")"
ok "the operator starts and is ready"

# --- two apps, with the IdP's groups (test/dashboard/idp: alice admin, bob developer, carol reader of
# app A; dave admin of app B; erin platform admin) ------------------------------------------------------
reg() { # reg APP NAMESPACES ACCESS-YAML
  cat <<YAML | kubectl apply -f - >/dev/null
apiVersion: labrats.work/v1alpha1
kind: AppPlatformRegistration
metadata:
  name: $1
  labels: {e2e.labrats.work/run: "$id"}
spec:
  namespaces: [$2]
  access: $3
YAML
}
reg "$A" "$A-dev, $A-prod" '[{group: app-a-admins, role: admin}, {group: app-a-developers, role: developer}, {group: app-a-readers, role: reader}]'
reg "$B" "$B-dev" '[{group: app-b-admins, role: admin}, {group: app-b-developers, role: developer}]'
for app in $A $B; do
  kubectl wait --for=condition=Ready "apr/$app" --timeout=120s >/dev/null 2>&1 ||
    bail "registration $app is not Ready: $(kubectl get apr "$app" -o jsonpath='{.status.conditions}')"
done
ok "apps $A and $B are registered and Ready"

# --- the app repo a GitRepository of the tests points at: a ConfigMap with a substituted variable ----
forge_repo "apps-$id" "$tmp/app-deploy-key" || bail "cannot create the app repo"
git clone -q "$FORGE/apps-$id.git" "$tmp/app" 2>/dev/null
mkdir -p "$tmp/app/deploy"
cat >"$tmp/app/deploy/kustomization.yaml" <<'YAML'
apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
resources: [configmap.yaml]
YAML
cat >"$tmp/app/deploy/configmap.yaml" <<'YAML'
apiVersion: v1
kind: ConfigMap
metadata:
  name: web-greeting
data:
  greeting: "${GREETING}"
YAML
git_work "$tmp/app" add -A && git_work "$tmp/app" commit -q -m "app manifests" && git -C "$tmp/app" push -q origin main ||
  bail "cannot push the app repo"
# Flux applies a user Kustomization in an app namespace as that namespace's default ServiceAccount
# (--default-service-account): let it manage ConfigMaps there.
kubectl create rolebinding web-flux-apply -n "$A-dev" --clusterrole=edit --serviceaccount="$A-dev:default" >/dev/null ||
  bail "cannot bind the Flux service account"

# --- the dashboard's own identity: a token of its ServiceAccount ----------------------------------
token=$(kubectl -n "$OPNS" create token app-platform-dashboard --duration=2h) || bail "cannot get a token"
"$KUBECTL" config view --raw --minify -o json | jq --arg t "$token" \
  '{apiVersion:"v1",kind:"Config",clusters:[{name:"c",cluster:.clusters[0].cluster}],users:[{name:"dash",user:{token:$t}}],contexts:[{name:"c",context:{cluster:"c",user:"dash"}}],"current-context":"c"}' \
  >"$tmp/dashboard.kubeconfig" || bail "cannot write the dashboard's kubeconfig"

export WEB_A=$A WEB_B=$B WEB_RUN_ID=$id WEB_TMP=$tmp WEB_DASH_KUBECONFIG=$tmp/dashboard.kubeconfig
export WEB_APP_REPO_URL WEB_APP_REPO_KEY=$tmp/app-deploy-key WEB_KNOWN_HOSTS=$GIT_KNOWN_HOSTS
WEB_APP_REPO_URL=$(forge_url "apps-$id")
export WEB_OPERATOR_LOG=$tmp/operator.log KUBECTL TAP_START=$n
node "$here/browser.mjs"
rc=$?
[ "$rc" -eq 0 ] || [ -z "${KEEP_TMP:-}" ] || echo "# kept $tmp"
exit "$rc"
