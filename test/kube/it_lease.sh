#!/usr/bin/env bash
# it_lease.sh - leader election between real processes (test/kube/lease_contender) on a Lease in the
# real apiserver: exactly one leads; SIGKILL of the leader hands over within the lease duration (plus at
# most one retry period for the follower to have seen the last renewal) and the two never work at the same
# time (timestamps of both logs compared); SIGTERM drains, releases the lease (holder cleared), exits 0,
# and the follower takes over at once, after the reconcile in flight had its grace and was cancelled;
# /metrics and /readyz of both. A leader frozen (SIGSTOP) past its lease loses it: once thawed it starts
# no work, its in-flight request is cancelled at once, it keeps running and campaigns again, and leads
# again when the other one leaves. TAP output.
# Needs KUBECONFIG (fails without it) and LEASE_CONTENDER (set by meson).
set -uo pipefail
n=0
failed=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
not_ok() { n=$((n + 1)); failed=$((failed + 1)); echo "not ok $n - $1"; }
check() { local what=$1; shift; if "$@"; then ok "$what"; else not_ok "$what"; fi; }

if [ -z "${KUBECONFIG:-}" ]; then
  echo "1..1"
  echo "not ok 1 - KUBECONFIG is not set: the lease test needs a control plane (tools/testenv/up DIR)"
  exit 1
fi
bin=${LEASE_CONTENDER:?}
ns="kit-lease-$(od -An -N4 -tx1 /dev/urandom | tr -d ' \n')"
lease=app-platform-operator
work=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null; done
  "$bin" delete-namespace "$ns" >/dev/null 2>&1
  rm -rf "$work"
}
trap cleanup EXIT
LEASE_S=15 RETRY_S=2 GRACE_MS=2000

start() { # start NAME [LEASE_MS RENEW_MS RETRY_MS]: contender NAME logging to $work/NAME.log
  "$bin" run "$ns" "$lease" "$1" "${2:-0}" "${3:-0}" "${4:-0}" $GRACE_MS >"$work/$1.log" 2>"$work/$1.err" &
  pids+=($!)
  eval "pid_$1=$!"
}
first() { grep -m1 " $2\$" "$work/$1.log" | cut -d' ' -f1; }          # first TS of an event
last() { grep " $2" "$work/$1.log" | tail -n1 | cut -d' ' -f1; }        # last TS of an event (prefix)
count() { grep -c " $2" "$work/$1.log"; }
wait_for() { # wait_for SECONDS NAME EVENT
  local end=$((SECONDS + $1))
  while [ $SECONDS -lt $end ]; do grep -q " $3\$" "$work/$2.log" 2>/dev/null && return 0; sleep 0.1; done
  return 1
}
port() { grep -m1 ' ports ' "$work/$1.log" | sed -n "s/.*$2=\([0-9]*\).*/\1/p"; }
lt() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a < b) }'; }
le() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a <= b) }'; }
sub() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", a - b }'; }
elected() { # elected SECONDS A B: the name of whichever of A and B logs "leading" first, or ""
  local end=$((SECONDS + $1)) who=""
  while [ $SECONDS -lt $end ] && [ -z "$who" ]; do
    grep -q ' leading$' "$work/$2.log" 2>/dev/null && who=$2
    grep -q ' leading$' "$work/$3.log" 2>/dev/null && who=$3
    sleep 0.1
  done
  echo "$who"
}

echo "1..29"
start a
start b
leader=$(elected 40 a b)
if [ -z "$leader" ]; then
  not_ok "one contender leads within 40 s"; cat "$work"/*.err >&2; exit 1
fi
ok "one contender leads ($leader)"
follower=$([ "$leader" = a ] && echo b || echo a)
sleep 3
check "the follower has not started working" [ "$(count "$follower" active)" -eq 0 ]
check "the leader works" [ "$(count "$leader" active)" -gt 5 ]
check "the lease names the leader" [ "$("$bin" holder "$ns" "$lease")" = "$leader" ]
lm=$(curl -fsS "http://127.0.0.1:$(port "$leader" metrics)/metrics")
fm=$(curl -fsS "http://127.0.0.1:$(port "$follower" metrics)/metrics")
check "leader_election_master_status is 1 on the leader" grep -q "^leader_election_master_status{name=\"$lease\"} 1\$" <<<"$lm"
check "leader_election_master_status is 0 on the follower" grep -q "^leader_election_master_status{name=\"$lease\"} 0\$" <<<"$fm"
check "controller-runtime metrics on the leader" grep -q '^controller_runtime_reconcile_total{controller="lease-test",result="requeue_after"} [1-9]' <<<"$lm"
check "/readyz is 200 on both (informers synced)" \
  curl -fsS -o /dev/null "http://127.0.0.1:$(port "$leader" health)/readyz" -o /dev/null "http://127.0.0.1:$(port "$follower" health)/readyz"

# SIGKILL the leader: no release, the follower must wait the lease out
lpid=$(eval echo "\$pid_$leader")
kill -9 "$lpid"
wait "$lpid" 2>/dev/null
killed=$(date +%s.%6N)
if wait_for 40 "$follower" leading; then ok "the follower takes over after SIGKILL"; else not_ok "the follower takes over after SIGKILL"; fi
took=$(sub "$(first "$follower" leading)" "$killed")
echo "# takeover $took s after SIGKILL (lease ${LEASE_S} s, retry ${RETRY_S} s)"
check "takeover within the lease duration plus one retry period" le "$took" $((LEASE_S + RETRY_S + 1))
check "no overlap: the follower's first work comes after the leader's last" \
  lt "$(last "$leader" active)" "$(first "$follower" "active tick")"

# SIGTERM: drain, release, exit 0; a new follower takes over at once
start c
sleep 3
check "a third contender follows" [ "$(count c active)" -eq 0 ]
fpid=$(eval echo "\$pid_$follower")
termed=$(date +%s.%6N)
kill -TERM "$fpid"
wait "$fpid"
code=$?
check "SIGTERM: the leader exits 0" [ "$code" -eq 0 ]
ended=$(last "$follower" "slow end")
check "SIGTERM: the reconcile in flight got its grace, then was cancelled" \
  bash -c "grep -q ' slow end -125\$' '$work/$follower.log' && awk -v a=$ended -v b=$termed 'BEGIN { d = a - b; exit !(d >= 1.9 && d < 6) }'"
check "SIGTERM: 'stopped' logged after its last work" lt "$(last "$follower" active)" "$(first "$follower" stopped)"
if wait_for 10 c leading; then
  took=$(sub "$(first c leading)" "$(first "$follower" stopped)")
  echo "# takeover $took s after a released lease"
  check "after a release the next leader starts within one retry period" le "$took" $((RETRY_S + 1))
else
  not_ok "after a release the next leader starts within one retry period"
fi
check "no overlap after the release" lt "$(last "$follower" active)" "$(first c "active tick")"
kill -TERM "$pid_c"
wait "$pid_c"
check "the last leader exits 0 and clears holderIdentity" [ $? -eq 0 -a -z "$("$bin" holder "$ns" "$lease")" ]

# Lease loss without dying: freeze the leader (SIGSTOP) past its lease, thaw it after the other took over
lease2=frozen
start2() { "$bin" run "$ns" "$lease2" "$1" 4000 3000 1000 $GRACE_MS >"$work/$1.log" 2>"$work/$1.err" & pids+=($!); eval "pid_$1=$!"; }
start2 d
start2 e
L=$(elected 30 d e)
F=$([ "$L" = d ] && echo e || echo d)
check "a second pair elects a leader ($L)" [ -n "$L" ]
wait_for 10 "$L" "slow start" >/dev/null 2>&1 || true
grep -q ' slow start$' "$work/$L.log" && sleep 0.5
Lpid=$(eval echo "\$pid_$L")
kill -STOP "$Lpid"
if wait_for 20 "$F" leading; then ok "the other takes over from a frozen leader"; else not_ok "the other takes over from a frozen leader"; fi
sleep 1
thawed=$(date +%s.%6N)
kill -CONT "$Lpid"
wait_for 5 "$L" stopped
check "thawed, the old leader reports it stopped leading" grep -q ' stopped$' "$work/$L.log"
check "thawed, it started no reconcile" lt "$(last "$L" active)" "$thawed"
cancelled=$(last "$L" "slow end")
check "thawed, its request in flight was cancelled within 2 s" \
  bash -c "grep -q ' slow end -125\$' '$work/$L.log' && awk -v a=${cancelled:-0} -v b=$thawed 'BEGIN { d = a - b; exit !(d >= 0 && d < 2) }'"
check "no overlap: the new leader's first work comes after the frozen one's last" \
  lt "$(last "$L" active)" "$(first "$F" "active tick")"
n_thawed=$(count "$L" active)
sleep 2
check "the old leader keeps running (campaigns again) and does not work" \
  bash -c "kill -0 $Lpid && [ \$(grep -c ' active' '$work/$L.log') -eq $n_thawed ]"
Fpid=$(eval echo "\$pid_$F")
kill -TERM "$Fpid"
wait "$Fpid"
check "the new leader exits 0 on SIGTERM" [ $? -eq 0 ]
n_before=$(count "$L" active)
end=$((SECONDS + 10))
while [ $SECONDS -lt $end ] && [ "$(grep -c ' leading$' "$work/$L.log")" -lt 2 ]; do sleep 0.1; done
check "the old leader leads again, in the same process" [ "$(grep -c ' leading$' "$work/$L.log")" -eq 2 ]
sleep 1
check "and works again" [ "$(count "$L" active)" -gt "$n_before" ]
kill -TERM "$Lpid"
wait "$Lpid"
check "it exits 0 on SIGTERM and clears holderIdentity" [ $? -eq 0 -a -z "$("$bin" holder "$ns" "$lease2")" ]

[ $failed -eq 0 ] || { for f in "$work"/*.log "$work"/*.err; do echo "# --- $f"; sed 's/^/# /' "$f" | grep -v ' active ' | tail -n 20; done; }
exit $((failed > 0))
