# test/deploy/lib.sh - shared by the deploy TAP scripts: TAP helpers, the kubectl of the test control
# plane (tools/peers/build kube), and applying the manifests once per cluster. Sourced, never run.
# Needs KUBECONFIG (tools/testenv/up prints it; tools/ci/test exports it) and APP_PLATFORM_BIN.

n=0
failures=0
ok() { n=$((n + 1)); echo "ok $n - $*"; }
not_ok() {
  n=$((n + 1)); failures=$((failures + 1)); echo "not ok $n - $1"
  [ $# -gt 1 ] && printf '%s\n' "$2" | sed 's/^/# /'
  return 0
}
finish() { echo "1..$n"; [ "$failures" -eq 0 ]; }
bail() { echo "Bail out! $*"; exit 1; }

[ -n "${KUBECONFIG:-}" ] || bail "KUBECONFIG is not set: start a control plane with eval \"\$(tools/testenv/up DIR)\" (tools/ci/test does)"
[ -r "$KUBECONFIG" ] || bail "KUBECONFIG '$KUBECONFIG' is not readable"
[ -x "${APP_PLATFORM_BIN:-}" ] || bail "APP_PLATFORM_BIN is not set to the app-platform binary"
srcdir=${SRCDIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
KUBECTL=$("$srcdir/tools/peers/build" kube | tail -n1) || bail "cannot build kubectl (tools/peers/build kube)"
kubectl() { "$KUBECTL" --request-timeout=60s "$@"; }
"$KUBECTL" version >/dev/null 2>&1 || bail "no apiserver answers at KUBECONFIG '$KUBECONFIG'"

# A name nobody else uses: tests run in parallel against one control plane.
uniq_suffix() { printf '%s%04d' "$(date +%s%N | tail -c 6)" $((RANDOM % 10000)); }

# apply_manifests: `app-platform manifests | kubectl apply -f -`, retried, since another test may be
# creating the same objects at the same moment (AlreadyExists on the loser's create).
apply_manifests() {
  local i out
  for i in 1 2 3 4 5; do
    if out=$("$APP_PLATFORM_BIN" manifests | kubectl apply -f - 2>&1); then
      printf '%s\n' "$out"
      return 0
    fi
    sleep 1
  done
  printf '%s\n' "$out"
  return 1
}

wait_crd() {
  kubectl wait --for=condition=Established --timeout=60s crd/appplatformregistrations.labrats.work
}
