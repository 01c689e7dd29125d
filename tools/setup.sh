#!/usr/bin/env bash
# Installs every Debian package latent needs to build, run its demo and run its tests (Debian 12
# and 13: the release is read from /etc/os-release), then configures and builds into ./build
# (LATENT_BUILD_DIR: another build directory, e.g. build-debian13 in the Debian 13 chroot lane,
# tools/debian13-chroot.sh). Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(
  meson ninja-build gcc g++ pkg-config
  libglib2.0-dev libjson-glib-dev libpng-dev libsamplerate0-dev
  libgstreamer1.0-dev libgstreamer-plugins-base1.0-dev
  gstreamer1.0-tools gstreamer1.0-plugins-base gstreamer1.0-plugins-good gstreamer1.0-plugins-bad
  libtorch-dev python3-torch python3-numpy
  lv2-dev liblilv-dev lilv-utils
  valgrind sox sordi serdi
  jalv jackd2 ardour
  clang
)
# Per release. The JACK example clients the jalv tests use (jack_metro, jack_midiseq, jack_rec,
# ...) are in jackd2 on Debian 12 and in jack-example-tools from Debian 13 on.
. /etc/os-release
case "${VERSION_ID:-}" in
  12) ;;
  13) packages+=(jack-example-tools) ;;
  *) echo "latent: tools/setup.sh knows Debian 12 and 13, not ${PRETTY_NAME:-this system};" \
       "trying the Debian 13 names" >&2
     packages+=(jack-example-tools) ;;
esac

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  echo "latent: installing ${missing[*]}" >&2
  $sudo apt-get update -q
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends "${missing[@]}"
fi
# tools/fuzz.sh links clang's libFuzzer runtime, which clang does not pull in; its package is
# named after clang's major version (Debian 12: libclang-rt-14-dev).
fuzzer_runtime=libclang-rt-$(clang -dumpversion | cut -d. -f1)-dev
if ! dpkg-query -W -f='${Status}' "$fuzzer_runtime" 2>/dev/null | grep -q "install ok installed"; then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  echo "latent: installing $fuzzer_runtime" >&2
  $sudo apt-get update -q
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends "$fuzzer_runtime"
fi

build=${LATENT_BUILD_DIR:-build}
if [ ! -f "$build/build.ninja" ]; then
  meson setup "$build"
fi
ninja -C "$build"
