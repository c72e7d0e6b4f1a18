#!/usr/bin/env bash
# test/e2e/faults_crash.sh - TAP: the operator killed with SIGKILL in the middle of a commit while a
# stream of managed-secret creates/updates/deletes runs through it, at each step (--test-fault POINT:2:
# after encrypting, after the local commit, while the push is being sent over SSH), and restarted at
# once on the same cache. After each: every intent Committed exactly once with its latest data (the
# repo decrypted with the app key against the intended state), no duplicate commit, no orphan file, Flux
# delivers exactly the intended Secrets, and the log says what happened.
# Arguments: the crash points to run (default all three).
set -uo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/oplib.sh"
. "$(dirname "$0")/faultlib.sh"

tmp=$(mktemp -d /tmp/e2e-fcrash.XXXXXX) || bail "mktemp failed"
id=$(uniq_suffix)
A=fc$id OPNS=opfc-$id
SEL="e2e.labrats.work/run=$id"
STREAM_PID=
cleanup() {
  [ -n "$STREAM_PID" ] && kill "$STREAM_PID" 2>/dev/null
  stop_operator
  fault_cleanup "$A"
  "$GITSERVER" stop "$tmp/srv" >/dev/null 2>&1
  [ -n "${KEEP_TMP:-}" ] || rm -rf "$tmp"
}
trap cleanup EXIT

fault_platform || bail "cannot set up the platform"
start_operator "${OP_SSH[@]}" || bail "the operator did not start: $(tail -5 "$tmp/operator.log")"
fault_register "$A" || bail "registration $A did not become Ready"
check "the operator pushes $A's platform repo over SSH (the clone URL)" \
  log_has "$tmp/operator.log" "registration '$A': committed .* to '.*' as"
stop_operator

phase=0
for point in ${*:-after-encrypt after-local-commit push-sending}; do
  phase=$((phase + 1))
  base=$(head_of "$FORGE/$A-platform.git")
  log=$tmp/op-$point.log
  OP_LOG=$log start_operator "${OP_SSH[@]}" --test-fault "$point:2" || bail "the operator did not start"
  stream_start "$A" "$tmp/state" 24 0.3 "p$phase-"
  if wait_dead "$OP_PID" 120; then
    check "$point: the operator died by SIGKILL (status $DEAD_RC) after $(stream_ops) changes of the stream" \
      test "$DEAD_RC" = 137
  else
    not_ok "$point: the operator died by SIGKILL" "still running after 120 s: $(tail -3 "$log")"
    stop_operator
  fi
  OP_PID=
  check "$point: ... at that point, says its log" log_has "$log" "test fault: killing the process at '$point'"
  killed_at=$(wc -l <"$log")
  OP_LOG=$log start_operator "${OP_SSH[@]}" || bail "the operator did not restart: $(tail -5 "$log")"
  ok "$point: restarted on the same cache while the stream goes on"
  stream_wait 300 || not_ok "$point: the stream ran to its end" "$(tail -3 "$tmp/stream.err")"
  check_stream "$point" "$A" "$tmp/state" "$base"
  check "$point: after the restart the log shows its commits" \
    bash -c "tail -n +$killed_at '$log' | grep -Eq \"app '$A': (committed|found) \""
  stop_operator
done
grep -h '"level":"error"' "$tmp"/op-*.log >/dev/null 2>&1 && note "operator errors: $(grep -h '"level":"error"' "$tmp"/op-*.log | head -3)"
finish
