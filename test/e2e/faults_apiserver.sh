#!/usr/bin/env bash
# test/e2e/faults_apiserver.sh - TAP: the apiserver restarted, and a 410 Gone forced by an etcd
# compaction, while a stream of managed-secret changes runs through the operator. Both need an apiserver
# of their own, so this test starts a control plane (tools/testenv/up, with --watch-cache=false: watches
# are served from etcd, so a watch resumed after a restart continues from its resourceVersion unless etcd
# compacted it) and Flux on it, and leaves the shared one alone.
#   1. restart: kube-apiserver stopped (SIGTERM) for APISERVER_DOWN seconds (default 5) and started again
#      on the same port; the stream retries its requests meanwhile. The operator's watches fail, resume,
#      and the operator converges; no 410 (etcd still has every revision).
#   2. compaction: unrelated churn (ConfigMaps) moves etcd past every informer's resourceVersion, etcd is
#      compacted to its current revision (tools/testenv/compact), and the apiserver restarted: each watch
#      resumed from its old resourceVersion gets 410 Gone, the operator relists and converges.
# After each: fault_check.py's exactly-once checks, Flux delivers, the log says what happened.
set -uo pipefail
[ -n "${SRCDIR:-}" ] || { echo "Bail out! SRCDIR is not set"; exit 1; }
tmp=$(mktemp -d /tmp/e2e-fapi.XXXXXX) || { echo "Bail out! mktemp failed"; exit 1; }
PLANE=$tmp/plane
plane_down() { "$SRCDIR/tools/testenv/down" "$PLANE" >/dev/null 2>&1; }
env_up=$("$SRCDIR/tools/testenv/up" "$PLANE" --watch-cache=false 2>"$tmp/up.err") ||
  { echo "Bail out! cannot start a control plane: $(tail -3 "$tmp/up.err")"; plane_down; rm -rf "$tmp"; exit 1; }
eval "$env_up"
env_flux=$("$SRCDIR/tools/testenv/flux-up" "$PLANE" 2>"$tmp/flux.err") ||
  { echo "Bail out! cannot start Flux: $(tail -3 "$tmp/flux.err")"; plane_down; rm -rf "$tmp"; exit 1; }
eval "$env_flux"
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/oplib.sh"
. "$(dirname "$0")/faultlib.sh"

id=$(uniq_suffix)
A=fa$id OPNS=opfa-$id
SEL="e2e.labrats.work/run=$id"
STREAM_PID=
cleanup() {
  [ -n "$STREAM_PID" ] && kill "$STREAM_PID" 2>/dev/null
  stop_operator
  "$GITSERVER" stop "$tmp/srv" >/dev/null 2>&1
  plane_down
  [ -n "${KEEP_TMP:-}" ] || rm -rf "$tmp"
}
trap cleanup EXIT
ok "a control plane of its own (--watch-cache=false) with Flux"

fault_platform || bail "cannot set up the platform"
start_operator "${OP_SSH[@]}" || bail "the operator did not start: $(tail -5 "$tmp/operator.log")"
fault_register "$A" || bail "registration $A did not become Ready"
REPO=$FORGE/$A-platform.git
relists() { grep -c "resourceVersion .* expired (410 Gone, compacted): relisted" "$tmp/operator.log"; }
healthy() { curl -fs "127.0.0.1:$HEALTH_PORT/healthz"; }

# --- 1. the apiserver restarted --------------------------------------------------------------------------
base=$(head_of "$REPO")
from=$(wc -l <"$tmp/operator.log")
stream_start "$A" "$tmp/state" 30 0.3 s-
wait_for 60 eval '[ "$(stream_ops)" -ge 8 ]' || bail "the stream does not run: $(tail -3 "$tmp/stream.err")"
t0=$(date +%s%N)
if "$SRCDIR/tools/testenv/restart-apiserver" "$PLANE" "${APISERVER_DOWN:-5}" >"$tmp/restart.out" 2>&1; then
  ok "kube-apiserver stopped for ${APISERVER_DOWN:-5} s and started again ($(ms_since "$t0") ms)"
else
  bail "restart-apiserver failed: $(tail -3 "$tmp/restart.out")"
fi
check "the operator stayed alive and is healthy after the restart" healthy
stream_wait 300 || not_ok "restart: the stream ran to its end" "$(tail -3 "$tmp/stream.err")"
check_stream "apiserver restart" "$A" "$tmp/state" "$base"
check "restart: the log says the watches failed and retried" \
  bash -c "tail -n +$from '$tmp/operator.log' | grep -Eq 'watching [A-Za-z ]+ failed .*retrying with backoff'"
check "restart: ... and that they watch again" \
  bash -c "tail -n +$from '$tmp/operator.log' | grep -Eq 'watching [A-Za-z ]+ again'"
r1=$(relists)
note "relists forced by 410 after the restart: $r1 (etcd had every revision: resumed)"

# --- 2. compaction: 410 Gone -------------------------------------------------------------------------------
base=$(head_of "$REPO")
from=$(wc -l <"$tmp/operator.log")
stream_start "$A" "$tmp/state" 30 0.3 c-
wait_for 60 eval '[ "$(stream_ops)" -ge 8 ]' || bail "the stream does not run: $(tail -3 "$tmp/stream.err")"
kubectl create namespace churn-$id >/dev/null
# 400 revisions of objects no informer of the operator selects (one request, so it is quick)
jq -n --arg ns "churn-$id" '{apiVersion: "v1", kind: "List",
  items: [range(400) | {apiVersion: "v1", kind: "ConfigMap", metadata: {name: "c\(.)", namespace: $ns}, data: {v: "\(.)"}}]}' |
  kubectl apply -f - >/dev/null || not_ok "the churn was applied"
# compacted while the apiserver is down, so no watch sees a newer event before it resumes: a compaction
# while it runs let the stream's writes and Flux's status updates move every informer past it, and then
# nothing was forced to relist (seen in CI)
rev=$("$SRCDIR/tools/testenv/restart-apiserver" --compact "$PLANE" 1 2>"$tmp/restart.out") ||
  bail "restart-apiserver --compact failed: $(tail -3 "$tmp/restart.out")"
ok "etcd compacted to revision $rev after 400 unrelated writes, while the stream runs and the apiserver is down"
ok "kube-apiserver restarted: the operator's watches resume from compacted resourceVersions"
check "the operator relisted after 410 Gone (says its log)" wait_for 60 eval '[ "$(relists)" -gt "$r1" ]'
note "$(tail -n +"$from" "$tmp/operator.log" | grep -o 'watching [^"]*expired[^"]*' | head -4 | tr '\n' ';')"
check "the operator is healthy after the relist" healthy
stream_wait 300 || not_ok "compaction: the stream ran to its end" "$(tail -3 "$tmp/stream.err")"
check_stream "410 relist" "$A" "$tmp/state" "$base"
check "the operator keeps committing after the relist" \
  bash -c "tail -n +$from '$tmp/operator.log' | grep -Eq \"app '$A': committed [0-9]+ change\""
grep '"level":"error"' "$tmp/operator.log" | head -3 | while read -r l; do note "$l"; done
finish
