# test/e2e/lib.sh - shared by the end-to-end TAP scripts (suite flux): TAP helpers, the control plane's
# kubectl, the Flux environment of tools/testenv/flux-up, an SSH Git server for the local forge, and
# small Git/Flux helpers. Sourced, never run.
# Needs KUBECONFIG and FLUX_ENV (tools/testenv/up + flux-up print them; tools/ci/test exports them),
# APP_PLATFORM_BIN and GITSERVER (test/git/gitserver; meson sets both).

n=0
failures=0
ok() { n=$((n + 1)); echo "ok $n - $*"; }
not_ok() {
  n=$((n + 1)); failures=$((failures + 1)); echo "not ok $n - $1"
  [ $# -gt 1 ] && printf '%s\n' "$2" | sed 's/^/# /'
  return 0
}
# check NAME CMD...: ok when CMD succeeds, else not ok with CMD's output as the diagnostic.
check() {
  local name=$1 out
  shift
  if out=$("$@" 2>&1); then ok "$name"; else not_ok "$name" "$out"; fi
}
finish() { echo "1..$n"; [ "$failures" -eq 0 ]; }
bail() { echo "Bail out! $*"; exit 1; }
note() { printf '# %s\n' "$*"; }

[ -n "${KUBECONFIG:-}" ] || bail "KUBECONFIG is not set: start a control plane with eval \"\$(tools/testenv/up DIR)\" (tools/ci/test does)"
[ -n "${FLUX_ENV:-}" ] && [ -r "$FLUX_ENV" ] ||
  bail "FLUX_ENV is not set or unreadable: start Flux with eval \"\$(tools/testenv/flux-up DIR)\" (tools/ci/test does)"
[ -x "${APP_PLATFORM_BIN:-}" ] || bail "APP_PLATFORM_BIN is not set to the app-platform binary"
[ -x "${GITSERVER:-}" ] || bail "GITSERVER is not set to test/git/gitserver"
# shellcheck disable=SC1090,SC1091
. "$FLUX_ENV"
# shellcheck disable=SC1091
. "$(dirname "$FLUX_ENV")/env" # KUBECTL, the kubectl of tools/peers/build kube
kill -0 "$FLUX_SOURCE_PID" 2>/dev/null && kill -0 "$FLUX_KUSTOMIZE_PID" 2>/dev/null ||
  bail "the Flux controllers of '$FLUX_ENV' are not running (tools/testenv/flux-up)"
kubectl() { "$KUBECTL" --request-timeout=60s "$@"; }
kubectl version >/dev/null 2>&1 || bail "no apiserver answers at KUBECONFIG '$KUBECONFIG'"

# A name nobody else uses: tests run in parallel against one control plane.
uniq_suffix() { printf '%s%02d' "$(date +%s%N | tail -c 5)" $((RANDOM % 100)); }

# wait_for SECONDS CMD...: poll CMD every 0.25 s until it succeeds; false after SECONDS.
wait_for() {
  local secs=$1 end
  shift
  end=$(($(date +%s%N) + secs * 1000000000))
  until "$@" >/dev/null 2>&1; do
    [ "$(date +%s%N)" -lt "$end" ] || return 1
    sleep 0.25
  done
}
# ms_since START_NS: milliseconds since START_NS (from date +%s%N).
ms_since() { echo $((($(date +%s%N) - $1) / 1000000)); }

# --- SSH Git server for the local forge ------------------------------------------------------------
# e2e_gitserver DIR: start `gitserver sshd-forge DIR/srv DIR/forge`, an operator key with full access
# (DIR/operator, in authorized_keys); sets GIT_PORT, GIT_KNOWN_HOSTS, GIT_USER, FORGE.
e2e_gitserver() {
  FORGE=$1/forge
  mkdir -p "$FORGE"
  GIT_PORT=$("$GITSERVER" sshd-forge "$1/srv" "$FORGE") || return 1
  GIT_KNOWN_HOSTS=$1/srv/known_hosts
  GIT_USER=$(id -un)
  ssh-keygen -q -t ed25519 -N '' -C operator@e2e -f "$1/operator" || return 1
  cat "$1/operator.pub" >>"$1/srv/authorized_keys"
  OPERATOR_SSH="ssh -i $1/operator -o IdentitiesOnly=yes -o BatchMode=yes -o UserKnownHostsFile=$GIT_KNOWN_HOSTS -o StrictHostKeyChecking=yes"
}
# forge_url REPO: the ssh:// URL Flux clones FORGE/REPO.git with.
forge_url() { echo "ssh://$GIT_USER@127.0.0.1:$GIT_PORT$FORGE/$1.git"; }
# forge_repo REPO KEYFILE: a bare FORGE/REPO.git on main with KEYFILE (new ed25519, no passphrase) as
# its deploy key, recorded as the local forge does ("<title> <public key line>" in deploy-keys).
forge_repo() {
  git init -q --bare -b main "$FORGE/$1.git" || return 1
  ssh-keygen -q -t ed25519 -N '' -C "flux-$1" -f "$2" || return 1
  echo "flux-$1 $(cat "$2.pub")" >>"$FORGE/$1.git/deploy-keys"
}
# git_work DIR COMMAND...: git in work tree DIR as the operator (SSH with the operator key).
git_work() {
  local d=$1
  shift
  GIT_SSH_COMMAND=$OPERATOR_SSH git -C "$d" -c user.name=e2e -c user.email=e2e@test -c commit.gpgsign=false "$@"
}
# git_push DIR MESSAGE: commit everything in DIR and push main; prints the commit id.
git_push() {
  git_work "$1" add -A && git_work "$1" commit -q -m "$2" && git_work "$1" push -q origin main &&
    git_work "$1" rev-parse HEAD
}

# --- Flux ------------------------------------------------------------------------------------------
# flux_ready KIND NS NAME: print "STATUS REASON: MESSAGE" of the Ready condition.
flux_ready() {
  kubectl get "$1" -n "$2" "$3" \
    -o jsonpath='{range .status.conditions[?(@.type=="Ready")]}{.status} {.reason}: {.message}{end}' 2>/dev/null
}
# flux_reconcile KIND NS NAME: ask for a reconcile now (as `flux reconcile` does).
flux_reconcile() {
  kubectl annotate --overwrite "$1" -n "$2" "$3" "reconcile.fluxcd.io/requestedAt=$(date +%s%N)" >/dev/null
}
# secret_value NS NAME KEY: the decoded value of one key of a Secret.
secret_value() {
  local v
  v=$(kubectl get secret -n "$1" "$2" -o jsonpath="{.data.$3}" 2>/dev/null) && [ -n "$v" ] && base64 -d <<<"$v"
}
# secret_is NS NAME KEY VALUE: true when the Secret's KEY decodes to VALUE.
secret_is() { [ "$(secret_value "$1" "$2" "$3")" = "$4" ]; }
# secret_gone NS NAME: true when the Secret does not exist.
secret_gone() { ! kubectl get secret -n "$1" "$2" >/dev/null 2>&1; }
