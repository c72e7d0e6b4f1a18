#!/usr/bin/env bash
# test/e2e/rotate.sh - TAP: age key rotation end to end with real Flux. An app with three managed
# secrets gets labrats.work/rotate-key; while the operator rotates, a watcher checks every half second
# that Flux never fails to decrypt (the platform Kustomization never reports a decryption error) and the
# delivered values never change. Afterwards: a new key, every file re-encrypted to it in ONE commit
# together with .sops.yaml, the old key retired everywhere (operator namespace, platform namespace,
# Flux repo), the old key no longer opens the files, and a new secret still arrives.
set -uo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/oplib.sh"

tmp=$(mktemp -d /tmp/e2e-rot.XXXXXX) || bail "mktemp failed"
id=$(uniq_suffix)
R=ro$id OPNS=ops-$id
SEL="e2e.labrats.work/run=$id"
WATCH_PID=
cleanup() {
  [ -n "$WATCH_PID" ] && kill "$WATCH_PID" 2>/dev/null
  stop_operator
  e2e_cleanup "$R"
  "$GITSERVER" stop "$tmp/srv" >/dev/null 2>&1
  [ -n "${KEEP_TMP:-}" ] || rm -rf "$tmp"
}
trap cleanup EXIT

e2e_platform
start_operator || bail "the operator did not start"
cat <<EOF | kubectl apply -f - >/dev/null
apiVersion: labrats.work/v1alpha1
kind: AppPlatformRegistration
metadata: {name: $R, labels: {e2e.labrats.work/run: "$id"}}
spec:
  namespaces: [$R-dev, $R-prod]
  access: [{group: $R-admins, role: admin}]
EOF
kubectl wait --for=condition=Ready "apr/$R" --timeout=90s >/dev/null || bail "registration $R not Ready"
managed_secret "$R" a "$R-dev,$R-prod" k=a-$id
managed_secret "$R" b "$R-dev" k=b-$id
managed_secret "$R" c "$R-prod" k=c-$id
wait_for 60 eval "secret_is $R-dev a k a-$id && secret_is $R-prod a k a-$id && secret_is $R-dev b k b-$id && secret_is $R-prod c k c-$id" ||
  bail "the secrets did not arrive"
old_rcp=$(kubectl get apr "$R" -o jsonpath='{.status.agePublicKey}')
kubectl get secret -n "$OPNS" "$R-platform-age-key" -o jsonpath='{.data.age\.agekey}' | base64 -d >"$tmp/old.agekey"
ok "app $R runs with three managed secrets"

# the watcher: Flux must keep decrypting and the values must stay, at every instant
watch() {
  while :; do
    msg=$(flux_ready kustomization "$R-platform" "$R-platform")
    case $msg in *ecrypt*|*sops*|*SOPS*|*age:*) echo "decryption failure: $msg" >>"$tmp/watch.log" ;; esac
    secret_is "$R-dev" a k "a-$id" && secret_is "$R-prod" c k "c-$id" || echo "value missing at $(date +%T.%N)" >>"$tmp/watch.log"
    sleep 0.5
  done
}
: >"$tmp/watch.log"
watch &
WATCH_PID=$!

kubectl annotate apr "$R" labrats.work/rotate-key=r1 >/dev/null
phase() { kubectl get secret -n "$OPNS" "$R-platform-age-key" -o jsonpath='{.metadata.annotations.labrats\.work/rotation-phase}'; }
phase_done() { [ "$(phase)" = done ]; }
check "the rotation runs to the end (phase done)" wait_for 120 phase_done
new_rcp=$(kubectl get apr "$R" -o jsonpath='{.status.agePublicKey}')
check "status.agePublicKey is a new recipient" test -n "$new_rcp" -a "$new_rcp" != "$old_rcp"
single_key() {
  kubectl get secret -n "$OPNS" "$R-platform-age-key" -o jsonpath='{.data.age\.agekey}' | base64 -d >"$tmp/new.agekey" &&
    [ "$(grep -c AGE-SECRET-KEY "$tmp/new.agekey")" = 1 ] && [ "$("$APP_PLATFORM_BIN" age keygen -y "$tmp/new.agekey")" = "$new_rcp" ]
}
check "the key Secret holds the new key alone" wait_for 30 single_key
platform_single() {
  kubectl get secret -n "$R-platform" "$R-platform-age-key" -o jsonpath='{.data.age\.agekey}' | base64 -d |
    grep -c AGE-SECRET-KEY | grep -qx 1
}
check "... and so does the platform namespace's copy Flux decrypts with" wait_for 30 platform_single
flux_single() {
  rm -rf "$tmp/fr" && git clone -q "$FLUX_REPO" "$tmp/fr" &&
    SOPS_AGE_KEY_FILE=$tmp/cluster.agekey "$APP_PLATFORM_BIN" sops decrypt "$tmp/fr/apps/$R-platform/age-secret.sops.yaml" |
      grep -o 'age.agekey: .*' | cut -d' ' -f2 | base64 -d | grep -c AGE-SECRET-KEY | grep -qx 1
}
check "... and so does the Flux repo's (retired everywhere)" wait_for 30 flux_single
rot_commit=$(kubectl get secret -n "$OPNS" "$R-platform-age-key" -o jsonpath='{.metadata.annotations.labrats\.work/rotation-commit}')
one_commit() {
  local files
  files=$(git -C "$FORGE/$R-platform.git" show --name-only --format= "$rot_commit" | sort | tr '\n' ' ')
  [ "$files" = ".sops.yaml secrets/$R-dev/a.sops.yaml secrets/$R-dev/b.sops.yaml secrets/$R-prod/a.sops.yaml secrets/$R-prod/c.sops.yaml " ]
}
check "every file and .sops.yaml were re-encrypted in ONE commit" one_commit
new_only() {
  rm -rf "$tmp/pr" && git clone -q "$FORGE/$R-platform.git" "$tmp/pr" && grep -q "$new_rcp" "$tmp/pr/.sops.yaml" &&
    for f in "$tmp"/pr/secrets/*/*.sops.yaml; do
      grep -q "recipient: $new_rcp" "$f" && ! grep -q "$old_rcp" "$f" || return 1
      SOPS_AGE_KEY_FILE=$tmp/old.agekey "$APP_PLATFORM_BIN" sops decrypt "$f" >/dev/null 2>&1 && return 1
    done
  return 0
}
check "the files are encrypted to the new key only; the old key opens none of them" new_only
sleep 2
kill "$WATCH_PID" 2>/dev/null
WATCH_PID=
check "Flux decrypted and the values stayed at every instant of the rotation" test ! -s "$tmp/watch.log"
[ -s "$tmp/watch.log" ] && note "$(head -5 "$tmp/watch.log")"
events=$(kubectl get events.events.k8s.io -n default --field-selector "regarding.name=$R" -o jsonpath='{range .items[*]}{.reason} {end}' 2>/dev/null)
check "Events report the progress" bash -c "grep -q KeyRotationStarted <<<'$events' && grep -q KeyRotationCommitted <<<'$events' && grep -q KeyRotated <<<'$events'"
managed_secret "$R" d "$R-dev" k=d-$id
check "a new secret arrives after the rotation" wait_for 60 secret_is "$R-dev" d k "d-$id"
check "the registration is Ready" kubectl wait --for=condition=Ready "apr/$R" --timeout=30s
finish
