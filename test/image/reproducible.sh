#!/usr/bin/env bash
# test/image/reproducible.sh - TAP: the image is reproducible. A second checkout of the same commit (a
# `git clone` of this one, elsewhere on disk) builds the image in its own fresh build-image/ (a release
# build from scratch) and gets the same manifest digest, byte for byte the same archive, as the image of
# this tree (APP_PLATFORM_IMAGE and its .digest). Skipped when this tree has uncommitted changes (its image
# is labelled '<commit>-dirty', which no clone can be).
set -uo pipefail
n=0
failures=0
ok() { n=$((n + 1)); echo "ok $n - $*"; }
not_ok() { n=$((n + 1)); failures=$((failures + 1)); echo "not ok $n - $1"; [ $# -gt 1 ] && printf '%s\n' "$2" | sed 's/^/# /'; return 0; }

if [ -n "$(git -C "$SRCDIR" status --porcelain 2>/dev/null)" ]; then
  echo "1..0 # SKIP the tree has uncommitted changes: its image is labelled -dirty"
  exit 0
fi
tmp=$(mktemp -d "${TMPDIR:-/tmp}/ap-image-repro.XXXXXX") || { echo "Bail out! cannot create a temporary folder"; exit 1; }
trap 'rm -rf "$tmp"' EXIT
ours=$(cat "$APP_PLATFORM_IMAGE.digest")
git clone -q "$SRCDIR" "$tmp/src" && ok "a second checkout of $(git -C "$SRCDIR" rev-parse --short HEAD)" ||
  not_ok "a second checkout" "git clone failed"
t0=$(date +%s)
if theirs=$(TMPDIR=$tmp "$tmp/src/tools/image/build" -o "$tmp/second.oci.tar" 2>"$tmp/build.err"); then
  ok "it builds its image from scratch ($(($(date +%s) - t0)) s)"
else
  not_ok "it builds its image from scratch" "$(tail -20 "$tmp/build.err")"
fi
[ "$theirs" = "$ours" ] && ok "the same digest: $ours" || not_ok "the same digest" "this tree: $ours; the second checkout: $theirs"
cmp -s "$APP_PLATFORM_IMAGE" "$tmp/second.oci.tar" && ok "the same archive, byte for byte" ||
  not_ok "the same archive, byte for byte" "$(cmp "$APP_PLATFORM_IMAGE" "$tmp/second.oci.tar" 2>&1)"
echo "1..$n"
echo "# $((n - failures)) passed, $failures failed"
[ "$failures" = 0 ]
