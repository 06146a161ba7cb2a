#!/usr/bin/env bash
# Build a local Debian bookworm base image with Node.js, without any container registry:
# debootstrap a minimal root filesystem from Debian's package mirror, copy this machine's own node
# (and npm) into it, and `docker import` the result.
#
#   scripts/make-base-image.sh [tag] [--force] [--refresh]      default tag: nestbox-base:local
#     --force    rebuild the image even when it exists (reuses the cached rootfs)
#     --refresh  debootstrap again instead of using the cached rootfs (implies --force)
#
# Then: docker build --build-arg BASE_IMAGE=nestbox-base:local ... container/
#
# Env:
#   NESTBOX_CACHE_DIR     where the debootstrapped rootfs tarball is cached (default ~/.cache/nestbox)
#   DEBIAN_MIRROR         mirror URL; default: the first Debian URI of this machine's apt sources
#   NESTBOX_BASE_PACKAGES extra packages for the rootfs, comma-separated (default below)
#   NODE_BIN              node binary to copy (default: the one on PATH)
# Needs root (debootstrap), docker, debootstrap. Idempotent: skips when the image exists.
set -euo pipefail

log() { printf '[make-base-image] %s\n' "$*" >&2; }
die() { printf '[make-base-image] error: %s\n' "$*" >&2; exit 1; }

tag="nestbox-base:local"
force=0
refresh=0
for arg in "$@"; do
  case "$arg" in
    --force) force=1 ;;
    --refresh) force=1; refresh=1 ;;
    -h | --help) sed -n '2,18p' "$0"; exit 0 ;;
    -*) die "unknown option $arg" ;;
    *) tag="$arg" ;;
  esac
done

suite="bookworm"
packages="${NESTBOX_BASE_PACKAGES:-ca-certificates,passwd,procps,tzdata,curl,git,less,xz-utils}"
cache_dir="${NESTBOX_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/nestbox}"
node_bin="${NODE_BIN:-$(command -v node || true)}"

command -v docker >/dev/null 2>&1 || die "docker is not installed (scripts/install-docker.sh installs it)"
docker info >/dev/null 2>&1 || die "the docker daemon is not reachable (scripts/install-docker.sh starts it)"

if [ "$force" = 0 ] && docker image inspect "$tag" >/dev/null 2>&1; then
  log "image $tag already exists (use --force to rebuild)"
  exit 0
fi

[ "$(id -u)" = 0 ] || die "run as root: debootstrap and the rootfs extraction need it"
[ -n "$node_bin" ] && [ -x "$node_bin" ] || die "node not found; set NODE_BIN"
node_bin="$(readlink -f "$node_bin")"
if ! command -v debootstrap >/dev/null 2>&1; then
  log "installing debootstrap from apt"
  DEBIAN_FRONTEND=noninteractive apt-get update -q
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q debootstrap
fi

arch="$(dpkg --print-architecture 2>/dev/null || echo amd64)"
# The rootfs must offer the glibc this node binary was linked against: bookworm's, like this machine.
node_version="$("$node_bin" --version)"

# Debian's mirror comes from this machine's apt configuration, so no host name is written here.
mirror="${DEBIAN_MIRROR:-}"
if [ -z "$mirror" ]; then
  mirror="$(grep -hoE '^(URIs:|deb)[[:space:]]+(\[[^]]*\][[:space:]]+)?https?://[^[:space:]]+/debian/?([[:space:]]|$)' \
    /etc/apt/sources.list.d/*.sources /etc/apt/sources.list 2>/dev/null \
    | grep -oE 'https?://[^[:space:]]+' | grep -v -- '-security' | head -n1 || true)"
fi

mkdir -p "$cache_dir"
key="$(printf '%s %s %s %s' "$suite" "$arch" "$packages" "${mirror:-default}" | sha256sum | cut -c1-12)"
rootfs_tar="$cache_dir/rootfs-$suite-minbase-$arch-$key.tar"

work="$(mktemp -d "${TMPDIR:-/tmp}/nestbox-base.XXXXXX")"
cleanup() { rm -rf "$work"; }
trap cleanup EXIT

if [ -f "$rootfs_tar" ] && [ "$refresh" = 0 ]; then
  log "using cached rootfs $rootfs_tar"
else
  log "debootstrap --variant=minbase $suite (${mirror:-debootstrap default mirror}); packages: $packages"
  log "this takes a few minutes the first time; the result is cached in $cache_dir"
  # shellcheck disable=SC2086 # the mirror argument is optional
  debootstrap --variant=minbase --arch="$arch" --include="$packages" "$suite" "$work/rootfs" ${mirror:+"$mirror"} \
    >"$work/debootstrap.log" 2>&1 || {
    tail -n 30 "$work/debootstrap.log" >&2
    die "debootstrap failed (full log above)"
  }
  log "trimming the rootfs"
  rm -rf "$work/rootfs/var/cache/apt/archives/"*.deb "$work/rootfs/var/lib/apt/lists/"* \
    "$work/rootfs/usr/share/doc/"* "$work/rootfs/usr/share/man/"* "$work/rootfs/usr/share/info/"* \
    "$work/rootfs/var/log/"*.log "$work/rootfs/var/cache/debconf/"*-old
  # Containers get their own resolv.conf and hostname; don't bake in this machine's.
  : >"$work/rootfs/etc/resolv.conf"
  : >"$work/rootfs/etc/hostname"
  tar -C "$work/rootfs" --numeric-owner -cf "$rootfs_tar.partial" .
  mv "$rootfs_tar.partial" "$rootfs_tar"
  # Drop rootfs tarballs of earlier package lists or mirrors.
  find "$cache_dir" -maxdepth 1 -name "rootfs-$suite-minbase-$arch-*.tar" ! -path "$rootfs_tar" -delete
  rm -rf "$work/rootfs"
  log "cached rootfs: $rootfs_tar ($(du -h "$rootfs_tar" | cut -f1))"
fi

log "adding node $node_version from $node_bin"
rootfs="$work/rootfs"
mkdir -p "$rootfs"
tar -C "$rootfs" --numeric-owner -xf "$rootfs_tar"
install -D -m 0755 "$node_bin" "$rootfs/usr/local/bin/node"
npm_dir=""
for candidate in "$(dirname "$node_bin")/../lib/node_modules/npm" /usr/lib/node_modules/npm /usr/local/lib/node_modules/npm; do
  if [ -f "$candidate/package.json" ]; then
    npm_dir="$(readlink -f "$candidate")"
    break
  fi
done
if [ -n "$npm_dir" ]; then
  mkdir -p "$rootfs/usr/local/lib/node_modules"
  cp -a "$npm_dir" "$rootfs/usr/local/lib/node_modules/npm"
  ln -sf ../lib/node_modules/npm/bin/npm-cli.js "$rootfs/usr/local/bin/npm"
  ln -sf ../lib/node_modules/npm/bin/npx-cli.js "$rootfs/usr/local/bin/npx"
  log "added npm $(node -p "require('$npm_dir/package.json').version" 2>/dev/null || echo '?')"
else
  log "warning: npm not found next to node; the image has no npm"
fi

log "importing as $tag"
tar -C "$rootfs" --numeric-owner -c . | docker import \
  --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
  --change 'ENV LANG=C.UTF-8' \
  --change "ENV NODE_VERSION=${node_version#v}" \
  --change "LABEL org.opencontainers.image.title=nestbox-base org.opencontainers.image.description=debian-$suite-minbase+node-$node_version" \
  --change 'CMD ["node"]' \
  - "$tag" >/dev/null

docker run --rm "$tag" node -e 'console.log("node " + process.version + " runs in the base image")' >&2 \
  || die "the imported image cannot run node"
log "done: $tag ($(docker image inspect "$tag" --format '{{.Size}}' | awk '{printf "%.0f MB", $1/1e6}'))"
