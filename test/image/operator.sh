#!/usr/bin/env bash
# test/image/operator.sh - TAP: the operator binary of the container image, run from the unpacked image
# alone (test/image/lib.sh image_run: bwrap, read-only root of the image's files, uid/gid 1001, no host
# file but its data folder), against the test control plane with the real Flux of tools/testenv/flux-up
# and the SSH Git server, as its own ServiceAccount with deploy/operator-rbac.yaml's permissions (as in
# test/e2e/operator.sh): one registration becomes Ready, one managed secret becomes Committed and Flux
# applies it to its target namespace. Meson test image_operator (suite image).
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$SRCDIR/test/e2e/lib.sh"
. "$SRCDIR/test/e2e/oplib.sh"
. "$here/lib.sh"
for t in umoci bwrap jq; do command -v "$t" >/dev/null || bail "'$t' is not installed (tools/setup/deps installs it)"; done
img=$(image_archive) || bail "no image archive: run make image (or set APP_PLATFORM_IMAGE)"

tmp=$(mktemp -d /tmp/image-op.XXXXXX) || bail "mktemp failed"
id=$(uniq_suffix)
A=ia$id OPNS=iops-$id
cleanup() {
  stop_operator
  e2e_cleanup "$A"
  "$GITSERVER" stop "$tmp/srv" >/dev/null 2>&1
  [ -n "${KEEP_TMP:-}" ] || { chmod -R u+w "$tmp" 2>/dev/null; rm -rf "$tmp"; }
}
trap cleanup EXIT

image_unpack "$img" "$tmp/image" || bail "cannot unpack '$img'"
ok "unpacked $(basename "$img") ($(jq -r '.manifests[0].digest' "$tmp/image/layout/index.json"))"
# The host's binary (meson's build) sets the platform up (age keygen); the operator is the image's:
# start_operator runs $APP_PLATFORM_BIN, so from here on that is a wrapper around image_run whose only
# host files are this test's folder (the kubeconfig of the ServiceAccount, the cache, the local forge's
# bare repos), with the network shared for the apiserver and the SSH Git server on 127.0.0.1.
e2e_platform
operator_as_sa || bail "cannot give the operator its ServiceAccount and RBAC"
cat >"$tmp/app-platform" <<WRAP
#!/usr/bin/env bash
. "$here/lib.sh"
IMAGE_ROOT=$IMAGE_ROOT
image_run --net --bind "$tmp" --env HOME=/nonexistent -- "\$@"
WRAP
chmod +x "$tmp/app-platform"
APP_PLATFORM_BIN=$tmp/app-platform
image_version=$("$APP_PLATFORM_BIN" --version 2>&1)
check "the image's binary runs in the sandbox ($image_version)" test "${image_version%% *}" = app-platform

if start_operator; then
  ok "the image's operator starts and answers /readyz"
else
  bail "the image's operator did not start: $(tail -5 "$tmp/operator.log")"
fi
register "$A" "$A-dev"
if kubectl wait --for=condition=Ready "apr/$A" --timeout=90s >/dev/null 2>&1; then
  ok "registration $A becomes Ready"
else
  not_ok "registration $A becomes Ready" "$(kubectl get apr "$A" -o yaml | sed -n '/^status:/,$p'; tail -5 "$tmp/operator.log")"
fi
managed_secret "$A" db "$A-dev" password=img-pw-$id
committed() { [ "$(ann "$A-platform" db committed)" = true ] && [ -n "$(ann "$A-platform" db commit)" ]; }
if wait_for 60 committed; then
  ok "the managed secret becomes Committed ($(ann "$A-platform" db commit | cut -c1-12))"
else
  not_ok "the managed secret becomes Committed" "$(kubectl get secret -n "$A-platform" db -o yaml; tail -5 "$tmp/operator.log")"
fi
check "Flux applies it to $A-dev" wait_for 60 secret_is "$A-dev" db password "img-pw-$id"
in_repo() { repo_clone "$A" "$tmp/c" && [ -f "$tmp/c/secrets/$A-dev/db.sops.yaml" ] && ! grep -rq "img-pw-$id" "$tmp/c"; }
check "the platform repo holds the encrypted file and no clear value" in_repo
check "no secret value in the operator's log" eval "! grep -q 'img-pw-$id' '$tmp/operator.log'"
finish
