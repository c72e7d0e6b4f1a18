#!/usr/bin/env bash
# test/e2e/faults_race.sh - TAP: a push race. Another writer pushes to the platform repo and to the Flux
# repo (both served by the SSH Git server) while the operator commits a stream of managed-secret changes
# and registration changes:
#   - deterministic: a pre-receive hook on both repos lets the other writer push a commit of its own in
#     the middle of the operator's push (after the server advertised the branch, before it updates the
#     ref), on the operator's first two attempts out of three, so the server rejects them
#     (failed to update ref); the operator must fetch again, rebuild its change on the new tip and push;
#   - random: a loop pushing the other writer's commits over SSH every RACE_PAUSE seconds, so the operator
#     also meets a tip it has not fetched (non-fast-forward).
# After it: every intent Committed exactly once with its latest data, no merge commit, no duplicate, no
# orphan, every commit of the other writer still on main in both repos, Flux delivers, the Flux repo has
# every app's files, and the log says how many push attempts it took.
set -uo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/oplib.sh"
. "$(dirname "$0")/faultlib.sh"

tmp=$(mktemp -d /tmp/e2e-frace.XXXXXX) || bail "mktemp failed"
id=$(uniq_suffix)
A=fx$id OPNS=opfx-$id
B=fy$id
SEL="e2e.labrats.work/run=$id"
STREAM_PID= LOOP_PID=
RACE_PAUSE=${RACE_PAUSE:-0.5}
cleanup() {
  [ -n "$STREAM_PID" ] && kill "$STREAM_PID" 2>/dev/null
  [ -n "$LOOP_PID" ] && kill "$LOOP_PID" 2>/dev/null
  stop_operator
  fault_cleanup "$A" "$B"
  "$GITSERVER" stop "$tmp/srv" >/dev/null 2>&1
  [ -n "${KEEP_TMP:-}" ] || rm -rf "$tmp"
}
trap cleanup EXIT

fault_platform || bail "cannot set up the platform"
# the Flux repo over SSH too, so its pushes go through receive-pack and its hooks
FLUX_DIR=$FLUX_REPO
FLUX_REPO=ssh://$GIT_USER@127.0.0.1:$GIT_PORT$FLUX_DIR
OP_FLAGS=("${OP_SSH[@]}" --flux-repo-credentials-secret forge-ssh)
start_operator "${OP_FLAGS[@]}" || bail "the operator did not start: $(tail -5 "$tmp/operator.log")"
fault_register "$A" || bail "registration $A did not become Ready"
REPO=$FORGE/$A-platform.git
base=$(head_of "$REPO")
flux_base=$(head_of "$FLUX_DIR")

# --- the other writer ----------------------------------------------------------------------------------
# other_push REPO-DIR CLONE LOG TAG: one commit of the other writer (foreign/<tag>.txt) on the newest tip,
# pushed to REPO-DIR (a path, so run by the hook without SSH, or an ssh:// URL); its id appended to LOG.
other_push() {
  local url=$1 w=$2 log=$3 tag=$4 i
  [ -d "$w/.git" ] || GIT_SSH_COMMAND=$OPERATOR_SSH git clone -q "$url" "$w" 2>/dev/null || return 1
  for i in 1 2 3 4 5 6 7 8; do
    GIT_SSH_COMMAND=$OPERATOR_SSH git -C "$w" fetch -q origin main 2>/dev/null &&
      git -C "$w" reset -q --hard origin/main || continue
    mkdir -p "$w/foreign" && echo "$tag" >"$w/foreign/$tag.txt"
    git -C "$w" add -A && git -C "$w" -c user.name="other writer" -c user.email=other@e2e -c commit.gpgsign=false \
      commit -q -m "other writer: $tag" || return 1
    if GIT_SSH_COMMAND=$OPERATOR_SSH git -C "$w" push -q origin HEAD:main 2>/dev/null; then
      git -C "$w" rev-parse HEAD >>"$log"
      return 0
    fi
  done
  return 1
}
# hook_head COUNTER: how both hooks start: nothing for a nested push or another writer's, else n = the
# number of the operator's pushes so far, counted in the file COUNTER
hook_head() {
  cat <<EOF
#!/usr/bin/env bash
[ -n "\${RACE_NESTED:-}" ] && exit 0
ours=
while read -r old new ref; do
  [ "\$(git log -1 --format=%an "\$new" 2>/dev/null)" = app-platform-operator ] && ours=1
done
[ -n "\$ours" ] || exit 0
n=\$((\$(cat '$1' 2>/dev/null || echo 0) + 1))
echo "\$n" >'$1'
EOF
}
# race_hook REPO-DIR NAME: the pre-receive hook; counts the operator's pushes in $tmp/NAME.attempts, and on
# attempts 1 and 2 of every 3 pushes a commit of the other writer first (logged in $tmp/NAME.raced)
race_hook() {
  local repo=$1 name=$2
  {
    hook_head "$tmp/$name.attempts"
    cat <<EOF
[ \$((n % 3)) -eq 0 ] && exit 0
(
  unset GIT_QUARANTINE_PATH GIT_OBJECT_DIRECTORY GIT_ALTERNATE_OBJECT_DIRECTORIES GIT_DIR
  export RACE_NESTED=1
  . '$tmp/race-env'
  other_push '$repo' '$tmp/hook-$name' '$tmp/$name.raced' "hook-\$n"
) >/dev/null 2>&1
exit 0
EOF
  } >"$repo/hooks/pre-receive"
  # post-receive: right after every other push of the operator that landed, the other writer pushes
  # too (in the background, after the operator heard its push was taken), so the operator's next commit
  # meets a tip it has not fetched (non-fast-forward)
  {
    hook_head "$tmp/$name.landed"
    cat <<EOF
[ \$((n % 2)) -eq 0 ] || exit 0
(
  unset GIT_QUARANTINE_PATH GIT_OBJECT_DIRECTORY GIT_ALTERNATE_OBJECT_DIRECTORIES GIT_DIR
  export RACE_NESTED=1
  . '$tmp/race-env'
  sleep \$(((n / 2) % 2 ? 2 : 0)).2 # before or after Flux fetched the operator's commit
  other_push '$repo' '$tmp/post-$name' '$tmp/$name.after' "after-\$n"
) </dev/null >/dev/null 2>&1 &
exit 0
EOF
  } >"$repo/hooks/post-receive"
  chmod +x "$repo/hooks/pre-receive" "$repo/hooks/post-receive"
}
{
  declare -f other_push
  echo "OPERATOR_SSH='$OPERATOR_SSH'"
} >"$tmp/race-env"
race_hook "$REPO" platform
race_hook "$FLUX_DIR" flux
ok "pre-receive hooks race the operator's pushes to $A-platform and to the Flux repo"

other_loop() {
  local i=0
  while [ ! -e "$tmp/loop.stop" ]; do
    i=$((i + 1))
    other_push "ssh://$GIT_USER@127.0.0.1:$GIT_PORT$REPO" "$tmp/loop-platform" "$tmp/platform.loop" "loop-$i" ||
      echo "loop $i: platform push failed" >>"$tmp/loop.err"
    other_push "$FLUX_REPO" "$tmp/loop-flux" "$tmp/flux.loop" "loop-$i" ||
      echo "loop $i: flux push failed" >>"$tmp/loop.err"
    sleep "$RACE_PAUSE"
  done
}
other_loop &
LOOP_PID=$!

# the stream on A's secrets, and registration changes (Flux repo commits) meanwhile
stream_start "$A" "$tmp/state" 40 0.3 x-
register "$B" "$B-dev" || bail "cannot register $B"
wait_for 120 eval '[ "$(cond "$B" Ready)" = True ]' || not_ok "registration $B became Ready while racing" "$(cond_msg "$B" Ready)"
kubectl patch apr "$B" --type merge -p "{\"spec\":{\"namespaces\":[\"$B-dev\",\"$B-prod\"]}}" >/dev/null
kubectl patch apr "$A" --type merge -p "{\"spec\":{\"namespaces\":[\"$A-dev\",\"$A-prod\",\"$A-qa\"]}}" >/dev/null
stream_wait 300 || not_ok "the stream ran to its end" "$(tail -3 "$tmp/stream.err")"
touch "$tmp/loop.stop"
wait "$LOOP_PID" 2>/dev/null
LOOP_PID=

raced=$(cat "$tmp/platform.raced" 2>/dev/null | wc -l)
fraced=$(cat "$tmp/flux.raced" 2>/dev/null | wc -l)
check "the hook raced the operator's pushes to the platform repo ($raced times in $(cat "$tmp/platform.attempts") attempts)" \
  test "$raced" -ge 4
check "the hook raced the operator's pushes to the Flux repo ($fraced times in $(cat "$tmp/flux.attempts" 2>/dev/null) attempts)" \
  test "$fraced" -ge 2
check "the other writer's loop pushed meanwhile ($(cat "$tmp/platform.loop" 2>/dev/null | wc -l) + $(cat "$tmp/flux.loop" 2>/dev/null | wc -l) commits)" \
  test -s "$tmp/platform.loop" -a -s "$tmp/flux.loop"
[ -s "$tmp/loop.err" ] && note "other writer: $(wc -l <"$tmp/loop.err") pushes gave up after 8 tries (it lost races too)"

check_stream "push race" "$A" "$tmp/state" "$base" foreign/
kept() { # REPO-DIR LOG...: every commit id in the logs is on main
  local repo=$1 c lost=()
  shift
  for c in $(cat "$@" 2>/dev/null); do
    git -C "$repo" merge-base --is-ancestor "$c" main 2>/dev/null || lost+=("$c")
  done
  [ ${#lost[@]} -eq 0 ] || { echo "not on main: ${lost[*]}"; return 1; }
}
check "every commit of the other writer is still on $A-platform's main ($(cat "$tmp"/platform.{raced,after,loop} 2>/dev/null | wc -l))" \
  kept "$REPO" "$tmp/platform.raced" "$tmp/platform.after" "$tmp/platform.loop"
check "every commit of the other writer is still on the Flux repo's main ($(cat "$tmp"/flux.{raced,after,loop} 2>/dev/null | wc -l))" \
  kept "$FLUX_DIR" "$tmp/flux.raced" "$tmp/flux.after" "$tmp/flux.loop"

# the Flux repo: both registrations' latest state, a linear history without duplicates
flux_has() { # the Flux repo holds A with A-qa and B with B-prod (the last registration changes)
  git -C "$FLUX_DIR" show "main:apps/$A-platform/namespace.yaml" | grep -q "name: $A-qa" &&
    git -C "$FLUX_DIR" show "main:apps/$B-platform/namespace.yaml" | grep -q "name: $B-prod" &&
    git -C "$FLUX_DIR" cat-file -e "main:apps/$B-platform/age-secret.sops.yaml"
}
check "the Flux repo holds both registrations' latest files" wait_for 120 flux_has
python3 "$HERE_FAULTS/fault_check.py" history "$FLUX_DIR" "$flux_base" foreign/ >"$tmp/fhist.out" 2>&1
while IFS='|' read -r st what detail; do
  case $st in
    PASS) ok "Flux repo: $what" ;;
    FAIL) not_ok "Flux repo: $what" "$detail" ;;
    NOTE) note "Flux repo: $what" ;;
    *) not_ok "Flux repo: fault_check.py history ran" "$st $what" ;;
  esac
done <"$tmp/fhist.out"
check "the other writer pushed right after the operator's pushes ($(cat "$tmp/platform.after" 2>/dev/null | wc -l) to the platform repo)" \
  test -s "$tmp/platform.after"
moved=$(grep -c "the branch 'main' moved on the remote\|non-fast-forward" "$tmp/operator.log")
note "the operator met a tip it had not fetched $moved times (rejected as non-fast-forward)"
check "the log says pushes took several attempts (the branch had moved)" \
  log_has "$tmp/operator.log" "app '$A': committed .* after [0-9]+ push attempts"
check "... for the Flux repo too" \
  log_has "$tmp/operator.log" "to the Flux repo as .* after [0-9]+ push attempts"
finish
