# test/image/lib.sh - shared by the image tests: unpack an OCI image archive of tools/image/build and run
# its binary from the unpacked root filesystem alone. Sourced, never run.
#
# image_unpack ARCHIVE DIR: unpack ARCHIVE (umoci unpack --rootless) into DIR; sets IMAGE_ROOT
# (DIR/bundle/rootfs). Needs umoci and jq.
image_unpack() {
  local img=$1 dir=$2 tag
  mkdir -p "$dir/layout" || return 1
  tar -xf "$img" -C "$dir/layout" || return 1
  tag=$(jq -r '.manifests[0].annotations["org.opencontainers.image.ref.name"]' "$dir/layout/index.json") || return 1
  umoci unpack --rootless --image "$dir/layout:$tag" "$dir/bundle" >/dev/null || return 1
  IMAGE_ROOT=$dir/bundle/rootfs
}

# image_run [--bind DIR]... [--net] [--env NAME=VALUE]... -- ARG...: /usr/bin/app-platform of IMAGE_ROOT
# under bwrap: the image's root read-only, every namespace unshared (the network too unless --net),
# uid/gid 1001, a fresh /proc, /dev and tmpfs /tmp (the Deployments' emptyDir), an empty environment
# but the --env pairs (set inside the sandbox, not for bwrap), and each --bind DIR read-write at its own
# path (the data a Pod would mount).
# Nothing else of the host is visible. The sandbox dies with its caller.
image_run() {
  local b=() e=() share=()
  while [ $# -gt 0 ]; do
    case $1 in
    --bind) b+=(--bind "$2" "$2"); shift 2 ;;
    --env) e+=(--setenv "${2%%=*}" "${2#*=}"); shift 2 ;;
    --net) share=(--share-net); shift ;;
    --) shift; break ;;
    *) break ;;
    esac
  done
  # The image has no /proc or /dev (a container runtime makes them): the root is a tmpfs holding the
  # image's top-level entries (read-only binds, its symlinks as they are), made read-only at the end.
  local root=() f name
  for f in "$IMAGE_ROOT"/*; do
    name=${f##*/}
    case $name in proc | dev | tmp) continue ;; esac
    if [ -L "$f" ]; then root+=(--symlink "$(readlink "$f")" "/$name"); else root+=(--ro-bind "$f" "/$name"); fi
  done
  env -i bwrap --tmpfs / "${root[@]}" --proc /proc --dev /dev --tmpfs /tmp "${b[@]}" --remount-ro / \
    "${e[@]}" --unshare-all "${share[@]}" --uid 1001 --gid 1001 --die-with-parent /usr/bin/app-platform "$@"
}

# image_archive: the archive to test: $APP_PLATFORM_IMAGE (meson sets it to the image its custom target
# builds), else build/app-platform-*.oci.tar of `make image`.
image_archive() {
  local img=${APP_PLATFORM_IMAGE:-}
  if [ -z "$img" ]; then
    img=$(ls "$(dirname "${BASH_SOURCE[0]}")"/../../build/app-platform-*.oci.tar 2>/dev/null | head -n1)
  fi
  [ -f "$img" ] || return 1
  echo "$img"
}
