#!/usr/bin/env bash
# Builds the stand-ins for the official debian, postgres, caddy and node images without any
# registry (see images/README.md for what differs from the official images).
#
# Each image carries the label krc.standin.inputs=<hash of everything it was built from>; an
# image whose label matches is left alone, so a run with nothing changed takes about a second.
# Needs root (debootstrap), debootstrap, a running Docker engine and the host's node v20.
#
# Usage: images/build.sh            build what is missing or out of date
#        images/build.sh --force    rebuild everything
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
readonly here
readonly suite=bookworm
readonly mirror="${KRC_DEBIAN_MIRROR:-http://deb.debian.org/debian}"
readonly base_tag="krc-standin/debian:${suite}"
readonly host_node=/usr/bin/node
readonly input_label=krc.standin.inputs

force=false
case "${1:-}" in
  "") ;;
  --force) force=true ;;
  *) printf 'usage: %s [--force]\n' "$0" >&2; exit 2 ;;
esac
readonly force

log() { printf '[images] %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

# The hash covers file contents and repo-relative paths, so a clone at another path still matches.
hash_files() {
  (cd "$here" && find "$@" -type f -print0 | LC_ALL=C sort -z | xargs -0 sha256sum) | sha256sum | cut -d' ' -f1
}

hash_text() { printf '%s\n' "$@" | sha256sum | cut -d' ' -f1; }

# Prints the input hash an existing image was built from, or nothing.
built_from() {
  docker image inspect --format "{{ index .Config.Labels \"${input_label}\" }}" "$1" 2>/dev/null || true
}

is_current() { [[ "$force" == false && "$(built_from "$1")" == "$2" ]]; }

# Prints an image's id, or nothing when there is no such image.
image_id() { docker image inspect --format '{{.Id}}' "$1" 2>/dev/null || true; }

# A rebuilt tag leaves the old image dangling; drop it unless something still uses it.
drop_if_dangling() {
  local old="$1"
  [[ -n "$old" ]] || return 0
  if [[ "$(docker image inspect --format '{{len .RepoTags}}' "$old" 2>/dev/null || echo 1)" == 0 ]]; then
    # The engine refuses while a container still uses it, and then it stays: that is the intent.
    docker image rm "$old" >/dev/null 2>&1 || true
  fi
}

common_labels=(
  --label krc.standin=true
  --label org.opencontainers.image.vendor=krc
  --label org.opencontainers.image.source=images/
)

build_base() {
  local inputs old started tmp
  inputs="$(hash_files build.sh debian)"
  if is_current "$base_tag" "$inputs"; then
    log "$base_tag is up to date"
    return
  fi
  [[ "$(id -u)" == 0 ]] || die "debootstrap needs root to build $base_tag"
  command -v debootstrap >/dev/null || die "debootstrap is not installed (apt-get install -y debootstrap)"

  started=$SECONDS
  old="$(image_id "$base_tag")"
  tmp="$(mktemp -d /var/tmp/krc-standin.XXXXXX)"
  # shellcheck disable=SC2064 # expand now: the trap must remove this run's directory
  trap "rm -rf '$tmp'" EXIT
  log "debootstrap --variant=minbase $suite from $mirror"
  if ! debootstrap --variant=minbase "$suite" "$tmp/rootfs" "$mirror" >"$tmp/debootstrap.log" 2>&1; then
    tail -n 40 "$tmp/debootstrap.log" >&2
    die "debootstrap failed"
  fi
  rm -f "$tmp/rootfs/etc/apt/sources.list"
  cp -a "$here/debian/rootfs/." "$tmp/rootfs/"
  # Official images follow the point releases and security updates; so does this one.
  log "applying bookworm-updates and bookworm-security"
  if ! chroot "$tmp/rootfs" sh -c 'apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get -y -qq upgrade' \
    >"$tmp/upgrade.log" 2>&1; then
    tail -n 40 "$tmp/upgrade.log" >&2
    die "apt-get upgrade in the new root filesystem failed"
  fi
  # debootstrap copies the build host's resolver and name into the tree; Docker supplies both.
  rm -rf "$tmp/rootfs/var/lib/apt/lists/"* "$tmp/rootfs/var/cache/apt/"*.bin "$tmp/rootfs/var/log/"*.log
  : >"$tmp/rootfs/etc/resolv.conf"
  : >"$tmp/rootfs/etc/hostname"
  tar --numeric-owner -C "$tmp/rootfs" -c . | docker import \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'CMD ["bash"]' \
    --change "LABEL krc.standin=true ${input_label}=${inputs} org.opencontainers.image.title=debian-${suite}-minbase" \
    - "$base_tag" >/dev/null
  rm -rf "$tmp"
  trap - EXIT
  drop_if_dangling "$old"
  log "built $base_tag in $((SECONDS - started)) s"
}

# docker_build TAG CONTEXT INPUT_HASH [docker build args...]
docker_build() {
  local tag="$1" context="$2" inputs="$3" old started output
  shift 3
  started=$SECONDS
  old="$(image_id "$tag")"
  log "building $tag"
  # Host networking: the build's apt-get reaches the Debian archive the same way the host does.
  # The build's own output only matters when it fails.
  if ! output="$(docker build --network host --tag "$tag" \
    "${common_labels[@]}" --label "${input_label}=${inputs}" "$@" "$context" 2>&1)"; then
    printf '%s\n' "$output" | tail -n 60 >&2
    die "docker build of $tag failed"
  fi
  drop_if_dangling "$old"
  log "built $tag in $((SECONDS - started)) s"
}

# Builds images/<dir> on the base image as TAG unless the image is current.
build_on_base() {
  local tag=$1 dir=$2 inputs
  inputs="$(hash_text "$(hash_files build.sh "$dir")" "$(image_id "$base_tag")")"
  if is_current "$tag" "$inputs"; then
    log "$tag is up to date"
    return
  fi
  docker_build "$tag" "$here/$dir" "$inputs"
}

# Prints the shared libraries the host's node loads that the base image does not have.
node_missing_libs() {
  local libs
  mapfile -t libs < <(ldd "$host_node" | awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// { print $1 }')
  docker run --rm --network none "$base_tag" sh -c 'for f; do [ -e "$f" ] || echo "$f"; done' sh "${libs[@]}"
}

build_node() {
  local tag=krc-standin/node:20 version inputs missing lib ctx
  [[ -x "$host_node" ]] || die "$host_node is missing: the node stand-in copies the host's node v20"
  version="$("$host_node" --version)"
  [[ "$version" == v20.* ]] || die "$host_node is $version, the node stand-in needs v20"
  missing="$(node_missing_libs)"
  inputs="$(hash_text "$(hash_files build.sh node)" "$(image_id "$base_tag")" \
    "$(sha256sum "$host_node" | cut -d' ' -f1)" "$missing")"
  if is_current "$tag" "$inputs"; then
    log "$tag is up to date"
    return
  fi
  ctx="$(mktemp -d /var/tmp/krc-standin-node.XXXXXX)"
  # shellcheck disable=SC2064 # expand now: the trap must remove this run's directory
  trap "rm -rf '$ctx'" EXIT
  cp -a "$here/node/." "$ctx/"
  mkdir -p "$ctx/rootfs/usr/local/bin" "$ctx/rootfs/usr/local/lib"
  cp "$host_node" "$ctx/rootfs/usr/local/bin/node"
  for lib in $missing; do
    log "node needs $lib, which the base image lacks: copying it to /usr/local/lib"
    cp -L "$lib" "$ctx/rootfs/usr/local/lib/"
  done
  docker_build "$tag" "$ctx" "$inputs" --build-arg "NODE_VERSION=${version#v}"
  rm -rf "$ctx"
  trap - EXIT
}

main() {
  local started=$SECONDS
  docker info >/dev/null 2>&1 || die "the Docker engine is not answering on /var/run/docker.sock"
  # Two builds at once would race on the same tags.
  exec 9>"${TMPDIR:-/tmp}/krc-standin-build.lock"
  flock 9
  build_base
  build_on_base krc-standin/postgres:15 postgres
  build_on_base krc-standin/caddy:2 caddy
  build_node
  log "stand-in images ready in $((SECONDS - started)) s"
}

main
