#!/usr/bin/env bash
# test/e2e/faults_remote.sh - TAP: the Git remote down while a stream of managed-secret changes runs:
# the operator pushes the platform repo over SSH to the clone URL; the SSH server is stopped (every
# connection dropped), then started again on the same port with the same host key. The outage lasts
# DOWN_SECONDS (default 20 s, not the minute of the issue: with --git-retry-timeout 5s it spans several
# fetches and pushes that give up, reconciles that fail and are retried with backoff, and reconciles
# that plan on the cached copy; a minute proves nothing more and costs CI 40 s). While it is down nothing
# reaches the repo and new changes stay un-Committed; the operator stays healthy; once it is back every
# change lands exactly once (decrypted repo against the intended state, no duplicate commit, no orphan),
# Flux delivers the final state, and the log says the remote was unreachable and for how long.
set -uo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/oplib.sh"
. "$(dirname "$0")/faultlib.sh"

tmp=$(mktemp -d /tmp/e2e-fremote.XXXXXX) || bail "mktemp failed"
id=$(uniq_suffix)
A=fr$id OPNS=opfr-$id
SEL="e2e.labrats.work/run=$id"
STREAM_PID=
DOWN_SECONDS=${DOWN_SECONDS:-20}
OP_FLAGS=("${OP_SSH[@]}" --git-retry-timeout 5s)
cleanup() {
  [ -n "$STREAM_PID" ] && kill "$STREAM_PID" 2>/dev/null
  stop_operator
  fault_cleanup "$A"
  "$GITSERVER" stop "$tmp/srv" >/dev/null 2>&1
  [ -n "${KEEP_TMP:-}" ] || rm -rf "$tmp"
}
trap cleanup EXIT

fault_platform || bail "cannot set up the platform"
start_operator "${OP_FLAGS[@]}" || bail "the operator did not start: $(tail -5 "$tmp/operator.log")"
fault_register "$A" || bail "registration $A did not become Ready"
REPO=$FORGE/$A-platform.git
base=$(head_of "$REPO")
cp "$GIT_KNOWN_HOSTS" "$tmp/known_hosts.before"

stream_start "$A" "$tmp/state" 70 0.7 r-
wait_for 60 eval '[ "$(stream_ops)" -ge 6 ]' || bail "the stream does not run: $(tail -3 "$tmp/stream.err")"
wait_for 60 eval '[ "$(git -C "$REPO" rev-list --count "$base..main")" -ge 2 ]' || note "no commit before the outage"

# --- the remote goes down ------------------------------------------------------------------------------
"$GITSERVER" stop "$tmp/srv" sshd
t_down=$(date +%s%N)
port_closed() { ! (exec 3<>"/dev/tcp/127.0.0.1/$GIT_PORT") 2>/dev/null; }
check "the SSH server is down (port $GIT_PORT refuses connections)" wait_for 10 port_closed
ops_down=$(stream_ops)
tip_down=$(head_of "$REPO")
# while it is down: a change made after the stop must not be Committed; the operator stays healthy
new_after_stop() { # the name of the newest create/update of the stream made after the stop, not deleted since
  tail -n "+$((ops_down + 1))" "$tmp/state.log" |
    awk '$2 == "delete" { del[$3] = 1; next } { name[++k] = $3 }
      END { for (i = k; i > 0; i--) if (!(name[i] in del)) { print name[i]; exit } }'
}
deleted_after_stop() { tail -n "+$((ops_down + 1))" "$tmp/state.log" | awk -v n="$1" '$2 == "delete" && $3 == n { f = 1 } END { exit !f }'; }
wait_for 30 eval '[ -n "$(new_after_stop)" ]'
sleep 10
# an update the operator has not observed yet still carries committed=true and its previous version's
# commit: Pending unless that commit holds the intent's current data (fault_check.py pending). The stream
# goes on meanwhile: when it deletes the chosen intent (never committed, the operator lets it go at once),
# the check is made again on the newest live one; an intent gone that the stream did not delete fails.
for _ in 1 2 3 4 5; do
  pending=$(new_after_stop)
  intents_json "$A" "$tmp/intents.json"
  python3 "$HERE_FAULTS/fault_check.py" pending "$tmp/intents.json" "$pending" "$REPO" "$tmp/$A.agekey" >"$tmp/pending.out" 2>&1
  IFS='|' read -r st what detail <"$tmp/pending.out"
  [ "$st|$what" = "FAIL|$pending exists" ] || break
  sleep 1 # the stream logs a deletion once the apiserver took it
  deleted_after_stop "$pending" || break
  note "$pending was deleted by the stream meanwhile: checking the newest live change instead"
done
if [ "$st" = PASS ]; then ok "a change made while the remote is down: $what"; else
  not_ok "a change made while the remote is down ($pending) is not Committed" "${detail:-$(cat "$tmp/pending.out")}"; fi
remaining=$((DOWN_SECONDS - $(ms_since "$t_down") / 1000))
[ "$remaining" -gt 0 ] && sleep "$remaining" # beyond several retry budgets (--git-retry-timeout 5s)
check "nothing reached the repo while the SSH server was down (the operator pushes over SSH)" \
  test "$(head_of "$REPO")" = "$tip_down"
check "the operator stays alive and healthy through the outage" curl -fs "127.0.0.1:$HEALTH_PORT/healthz"
ok "the remote was down for $(($(ms_since "$t_down") / 1000)) s while the stream made $(($(stream_ops) - ops_down)) changes"

# --- back, same port, same host key ---------------------------------------------------------------------
up_line=$(wc -l <"$tmp/operator.log") # nothing can be committed before this line: the remote is down
port=$("$GITSERVER" sshd-forge "$tmp/srv" "$FORGE" "$GIT_PORT") || bail "the SSH server did not start again"
t_up=$(date +%s%N)
check "the SSH server is back on the same port with the same host key" \
  eval "[ '$port' = '$GIT_PORT' ] && cmp -s '$tmp/known_hosts.before' '$GIT_KNOWN_HOSTS'"
if wait_for 120 eval '[ "$(head_of "$REPO")" != "$tip_down" ]'; then
  ok "the operator pushes again $(ms_since "$t_up") ms after the remote is back"
else
  not_ok "the operator pushes again after the remote is back" \
    "$(tail -5 "$tmp/operator.log"; echo "lock files in the repo: $(cd "$REPO" && find . -name '*.lock' | tr '\n' ' ')")"
fi
stream_wait 300 || not_ok "the stream ran to its end" "$(tail -3 "$tmp/stream.err")"
check_stream "remote down" "$A" "$tmp/state" "$base"
check "the log says the remote cannot be reached, and retries" \
  log_has "$tmp/operator.log" "'[^']*$A-platform[^']*': the remote cannot be reached, retrying"
check "the log says a push or fetch gave up during the outage (--git-retry-timeout 5s) and what was done" \
  log_has "$tmp/operator.log" "app '$A': (cannot fetch the platform repo, planning on the cached copy|cannot commit|cannot learn the platform repo's tip)"
committed_after_outage() { # a commit of A's secrets logged after the SSH server came back (a fetch
  # that started before may still log "cannot be reached" after that commit, so that line is no marker)
  tail -n "+$((up_line + 1))" "$tmp/operator.log" | grep -Eq "app '$A': committed [0-9]+ change"
}
check "the log shows the commits once the remote is back" committed_after_outage
grep '"level":"warn"' "$tmp/operator.log" | grep -v "watching" | head -3 | while read -r l; do note "$l"; done
finish
