#!/usr/bin/env bash
# The Debian 13 lane: runs the README's commands (./tools/setup.sh && ./tools/test.sh) inside a
# Debian 13 (trixie) chroot, building into build-debian13/ so the native build/ is untouched.
#
#   ./tools/debian13-chroot.sh                 setup + every test (extra arguments go to test.sh)
#   ./tools/debian13-chroot.sh --suite host    e.g. only the host suite
#   ./tools/debian13-chroot.sh --exec 'CMD'    CMD (bash) in the tree instead, e.g. --exec bash
#
# Needs root (debootstrap, mount, chroot). The root file system is made once with debootstrap
# (installed here when missing) from the mirror the host's apt uses, and kept as a cache:
# LATENT_DEBIAN13_ROOT (default .debian13/root in the clone, which git ignores; point it outside
# the clone to reuse it across fresh clones, e.g. /var/cache/latent/debian13). setup.sh inside
# installs what is missing, so a warm cache only builds and tests. LATENT_DEBIAN_MIRROR overrides
# the mirror.
#
# Mounted for the run, each made private (nothing propagates to or from the host's mounts), and
# always unmounted (EXIT, INT, TERM; also when a test fails): proc, sysfs, /dev (bind), /dev/pts
# (bind), a tmpfs of its own on /dev/shm (JACK's registry stays out of the host's), and the
# source tree bound at /src. The script checks with findmnt that nothing is left under the root.
# The host's own files are only read (resolv.conf and the apt proxy are copied into the root).
set -euo pipefail
cd "$(dirname "$0")/.."
src=$PWD
[ "$(id -u)" -eq 0 ] || { echo "debian13-chroot.sh: needs root (debootstrap, mount, chroot)" >&2; exit 1; }

root=${LATENT_DEBIAN13_ROOT:-$src/.debian13/root}
mkdir -p "$root"
root=$(cd "$root" && pwd -P)
suite=trixie
# Markers: made by this script (so a half-made root may be removed), and complete.
mine="$root/.latent-debian13-root"
ready="$root/.latent-debootstrap-done"
if [ "$root" = / ] || { [ -n "$(ls -A "$root")" ] && [ ! -f "$mine" ]; }; then
  echo "debian13-chroot.sh: $root is not a root this script made (no $mine): empty it or set" \
    "LATENT_DEBIAN13_ROOT to another directory" >&2
  exit 1
fi

# The mirror apt already uses: the first non-security Debian URI of sources.list or *.sources.
host_mirror() {
  local f line
  for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
    [ -f "$f" ] || continue
    while read -r line; do
      set -- $line
      [ "${1:-}" = deb ] || continue
      shift
      case "${1:-}" in \[*) while [ $# -gt 0 ] && [[ "$1" != *\] ]]; do shift; done; shift ;; esac
      case "${1:-}" in *security*|"") continue ;; esac
      echo "$1"; return 0
    done <"$f"
  done
  for f in /etc/apt/sources.list.d/*.sources; do
    [ -f "$f" ] || continue
    awk 'tolower($1) == "uris:" { for (i = 2; i <= NF; i++) if ($i !~ /security/) { print $i; exit } }' "$f" |
      grep . && return 0
  done
  echo http://deb.debian.org/debian
}

# What is mounted under the root (findmnt), one target a line.
mounts_under() { findmnt -rn -o TARGET | awk -v r="$root/" 'index($0, r) == 1'; }

# Mount points in the order they are mounted; unmounted in reverse.
mounted=()
mount_private() { # mount ARGS... TARGET (TARGET last)
  local target=${*: -1}
  mount "$@"
  mounted+=("$target")
  mount --make-private "$target"
}

# Processes still running inside the root (a test's jackd, say) hold the mounts: end them,
# each by its id (only processes whose root is this chroot, which this script started).
chroot_pids() {
  local p
  for p in /proc/[0-9]*; do
    [ "$(readlink "$p/root" 2>/dev/null)" = "$root" ] && echo "${p#/proc/}"
  done
  return 0
}

cleanup() {
  local rc=$? i pids
  trap - EXIT INT TERM
  pids=$(chroot_pids)
  if [ -n "$pids" ]; then
    kill $pids 2>/dev/null || true
    sleep 1
    pids=$(chroot_pids)
    [ -z "$pids" ] || kill -KILL $pids 2>/dev/null || true
  fi
  for (( i=${#mounted[@]}-1; i>=0; i-- )); do
    umount "${mounted[i]}" 2>/dev/null || umount -l "${mounted[i]}" || true
  done
  mounted=()
  if [ -n "$(mounts_under)" ]; then
    echo "debian13-chroot.sh: mounts left under $root:" >&2
    mounts_under >&2
    rc=1
  fi
  exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# Leftovers of a run that was killed hard (SIGKILL leaves no trap): unmount them first.
mounts_under | sort -r | while read -r m; do umount "$m" || umount -l "$m"; done

if [ ! -f "$ready" ]; then
  command -v debootstrap >/dev/null || {
    echo "latent: installing debootstrap" >&2
    apt-get update -q
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends debootstrap
  }
  mirror=${LATENT_DEBIAN_MIRROR:-$(host_mirror)}
  echo "latent: debootstrap $suite from $mirror into $root" >&2
  # A half-made root of this script's (an interrupted debootstrap): once nothing is mounted
  # under it (findmnt), it can go.
  if [ -f "$mine" ]; then
    [ -z "$(mounts_under)" ] || { echo "mounts under $root" >&2; mounts_under >&2; exit 1; }
    rm -rf --one-file-system "$root"
    mkdir -p "$root"
  fi
  touch "$mine"
  debootstrap --variant=minbase "$suite" "$root" "$mirror"
  touch "$ready"
fi

# Only the chroot's copies: DNS and any apt proxy the host uses.
cp -L /etc/resolv.conf "$root/etc/resolv.conf" 2>/dev/null || true
apt-config dump 2>/dev/null | grep -i '::proxy' >"$root/etc/apt/apt.conf.d/90latent-host-proxy" || \
  rm -f "$root/etc/apt/apt.conf.d/90latent-host-proxy"

mkdir -p "$root/proc" "$root/sys" "$root/dev" "$root/src"
mount_private -t proc proc "$root/proc"
mount_private -t sysfs sysfs "$root/sys"
mount_private --bind /dev "$root/dev"
mount_private --bind /dev/pts "$root/dev/pts"
mount_private -t tmpfs -o mode=1777,nosuid,nodev shm "$root/dev/shm"
mount_private --bind "$src" "$root/src"

export LATENT_BUILD_DIR=build-debian13 LATENT_SUMMARY_LABEL="latent (Debian 13)"
env=(HOME=/root PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8
  TERM="${TERM:-dumb}" LATENT_BUILD_DIR="$LATENT_BUILD_DIR" LATENT_SUMMARY_LABEL="$LATENT_SUMMARY_LABEL")
if [ "${1:-}" = --exec ]; then
  chroot "$root" /usr/bin/env -i "${env[@]}" /bin/bash -c 'cd /src && eval "$1"' exec "${2:?--exec CMD}"
else
  # The chroot's test.sh prints the lane's summary line; the exit status is the lane's. In the
  # background, waited for: INT and TERM then reach the traps at once (cleanup ends what runs
  # inside, then unmounts).
  chroot "$root" /usr/bin/env -i "${env[@]}" /bin/bash -c \
    'cd /src && ./tools/setup.sh && ./tools/test.sh "$@"' test "$@" &
  wait $!
fi
