#!/usr/bin/env bash
# test/e2e/faults_leader.sh - TAP: two operator replicas with --leader-elect against the same control
# plane, Flux repo and SSH Git server (each its own cache, as two pods), a stream of managed-secret
# changes running:
#   1. replica a leads (the Lease's holderIdentity), replica b waits;
#   2. a is killed with SIGKILL in the middle of the stream: b takes over once the Lease has run out by
#      its own clock: not before leaseDurationSeconds after a's last renewal, and at most one retry
#      period (2 s, how often a follower reads the Lease) and the requests' latency later; the delays
#      from the kill and from the last renewal are measured and printed;
#   3. a, restarted on its cache, waits (b keeps the Lease, a's leader_election_master_status is 0);
#   4. after the stream: fault_check.py's exactly-once checks, Flux delivers;
#   5. b stopped (SIGTERM: it releases the Lease): the restarted a campaigns again, leads at once and
#      carries a second stream;
# and over all three process lifetimes (fault_check.py leaders): a replica commits only while it leads,
# no two lead at the same time, no commit is made by two replicas.
set -uo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/oplib.sh"
. "$(dirname "$0")/faultlib.sh"

tmp=$(mktemp -d /tmp/e2e-fleader.XXXXXX) || bail "mktemp failed"
id=$(uniq_suffix)
A=fl$id OPNS=opfl-$id
SEL="e2e.labrats.work/run=$id"
STREAM_PID= PID_a= PID_b=
RETRY_MS=2000 # the elector's retry period (src/kube/leader.c's default, the operator's)
# a's renewal landing, b's read that sees it and b's write that takes over: what may add to the Lease's
# duration and the retry period (b counts the duration from when it saw the last renewal, on its clock)
REQ_MS=1000
cleanup() {
  [ -n "$STREAM_PID" ] && kill "$STREAM_PID" 2>/dev/null
  OP_PID=$PID_a stop_operator
  OP_PID=$PID_b stop_operator
  fault_cleanup "$A"
  "$GITSERVER" stop "$tmp/srv" >/dev/null 2>&1
  [ -n "${KEEP_TMP:-}" ] || rm -rf "$tmp"
}
trap cleanup EXIT

# start_replica R LOG: replica R (a or b) with its own cache, log LOG; sets PID_R, MP_R (metrics port).
start_replica() {
  OP_LOG=$2 CACHE_SUFFIX=-$1 start_operator "${OP_SSH[@]}" --leader-elect || return 1
  printf -v "PID_$1" %s "$OP_PID"
  printf -v "MP_$1" %s "$METRICS_PORT"
  OP_PID=
}
identity_of() { grep -o "campaigning for Lease '[^']*' as '[^']*'" "$1" | tail -1 | sed "s/.* as '\(.*\)'/\1/"; }
leads() { grep -q '"msg":"leading as ' "$1"; }
lease() { kubectl -n "$OPNS" get lease app-platform-operator -o jsonpath="{.spec.$1}"; }
us_of() { date -d "$1" +%s%6N; } # a Lease MicroTime in microseconds
master_status() { curl -fs "127.0.0.1:$1/metrics" | awk '$1 == "leader_election_master_status{name=\"app-platform-operator\"}" { print $2 }'; }

fault_platform || bail "cannot set up the platform"
start_replica a "$tmp/a1.log" || bail "replica a did not start: $(tail -5 "$tmp/a1.log")"
wait_for 30 leads "$tmp/a1.log" || bail "replica a does not lead: $(tail -5 "$tmp/a1.log")"
ID_a=$(identity_of "$tmp/a1.log")
check "replica a leads: the Lease's holderIdentity is '$ID_a'" eval '[ "$(lease holderIdentity)" = "$ID_a" ]'
fault_register "$A" || bail "registration $A did not become Ready"
REPO=$FORGE/$A-platform.git
start_replica b "$tmp/b.log" || bail "replica b did not start: $(tail -5 "$tmp/b.log")"
ID_b=$(identity_of "$tmp/b.log")
sleep $((3 * RETRY_MS / 1000)) # several of b's reads of the Lease
check "replica b ('$ID_b') waits: campaigning, not leading, the Lease still a's" \
  eval '[ -n "$ID_b" ] && ! leads "$tmp/b.log" && [ "$(lease holderIdentity)" = "$ID_a" ] && [ "$(master_status "$MP_b")" = 0 ]'

# --- the leader killed mid-stream ----------------------------------------------------------------------
base=$(head_of "$REPO")
stream_start "$A" "$tmp/state" 70 0.3 l-
wait_for 60 eval '[ "$(stream_ops)" -ge 10 ]' || bail "the stream does not run: $(tail -3 "$tmp/stream.err")"
t_kill=$(date +%s%N)
if kill_operator "$PID_a"; then ok "the leader a killed with SIGKILL after $(stream_ops) changes of the stream"; else
  not_ok "the leader a killed with SIGKILL" "it was not running: $(tail -3 "$tmp/a1.log")"; fi
PID_a=
last_renew=$(lease renewTime) # a is dead: its last renewal
duration=$(lease leaseDurationSeconds)
if wait_for $((duration + 30)) leads "$tmp/b.log"; then
  took=$(ms_since "$t_kill")
  acquired=$(lease acquireTime)
  since_renew=$((($(us_of "$acquired") - $(us_of "$last_renew")) / 1000))
  ok "replica b took over $took ms after the SIGKILL, $since_renew ms after a's last renewal (leaseDurationSeconds $duration)"
  check "... not before the Lease ran out ($since_renew ms >= $duration s after a's last renewal)" \
    test "$since_renew" -ge $((duration * 1000))
  check "... within the Lease's duration of the last renewal it saw ($since_renew ms <= $duration s + one $RETRY_MS ms read + $REQ_MS ms for the requests)" \
    test "$since_renew" -le $((duration * 1000 + RETRY_MS + REQ_MS))
  check "the Lease's holderIdentity is b's now" eval '[ "$(lease holderIdentity)" = "$ID_b" ]'
else
  not_ok "replica b took over" "not within $((duration + 30)) s: $(tail -3 "$tmp/b.log")"
fi

# --- a restarted: it waits ----------------------------------------------------------------------------
start_replica a "$tmp/a2.log" || bail "replica a did not restart: $(tail -5 "$tmp/a2.log")"
ID_a2=$(identity_of "$tmp/a2.log")
check "replica a restarted on its cache campaigns as '$ID_a2'" eval '[ -n "$ID_a2" ] && [ "$ID_a2" != "$ID_b" ]'
sleep $((3 * RETRY_MS / 1000))
check "... and waits: not leading, the Lease still b's, its leader_election_master_status 0 (b's 1)" \
  eval '! leads "$tmp/a2.log" && [ "$(lease holderIdentity)" = "$ID_b" ] && [ "$(master_status "$MP_a")" = 0 ] && [ "$(master_status "$MP_b")" = 1 ]'
stream_wait 300 || not_ok "the stream ran to its end" "$(tail -3 "$tmp/stream.err")"
check_stream "leader killed" "$A" "$tmp/state" "$base"
check "the new leader b committed the stream's changes" log_has "$tmp/b.log" "app '$A': committed [0-9]+ change"
check "the restarted a still waits after the stream" eval '! leads "$tmp/a2.log"'

# --- b stopped: a campaigns again and leads --------------------------------------------------------------
base=$(head_of "$REPO")
t_stop=$(date +%s%N)
OP_PID=$PID_b stop_operator
PID_b=
check "b stopping says it does not lead any more" log_has "$tmp/b.log" "is not leading any more"
if wait_for 30 leads "$tmp/a2.log"; then
  ok "the restarted a campaigned again and leads $(ms_since "$t_stop") ms after b stopped (b released the Lease)"
else
  not_ok "the restarted a leads after b stopped" "$(tail -3 "$tmp/a2.log")"
fi
check "the Lease's holderIdentity is the restarted a's" eval '[ "$(lease holderIdentity)" = "$ID_a2" ]'
stream_start "$A" "$tmp/state" 20 0.3 m-
stream_wait 300 || not_ok "the second stream ran to its end" "$(tail -3 "$tmp/stream.err")"
check_stream "after the handover" "$A" "$tmp/state" "$base"

# --- one committer at a time, over the three process lifetimes ---------------------------------------------
python3 "$HERE_FAULTS/fault_check.py" leaders "$REPO,$FLUX_REPO" "$tmp/a1.log" "$tmp/b.log" "$tmp/a2.log" \
  >"$tmp/leaders.out" 2>&1
while IFS='|' read -r st what detail; do
  case $st in
    PASS) ok "$what" ;;
    FAIL) not_ok "$what" "$detail" ;;
    *) not_ok "fault_check.py leaders ran" "$st $what" ;;
  esac
done <"$tmp/leaders.out"
grep -h '"level":"error"' "$tmp"/a1.log "$tmp"/b.log "$tmp"/a2.log | head -3 | while read -r l; do note "$l"; done
finish
