#!/bin/sh
# The bundle's Turtle is valid and passes lv2_validate (lv2-dev; needs sord_validate from
# Debian's sordi package), and lilv lists all four plugins.
# Usage: test-ttl.sh BUNDLE_DIR
set -eu
command -v lv2_validate >/dev/null || { echo "lv2_validate not installed (lv2-dev)"; exit 77; }
command -v sord_validate >/dev/null || { echo "sord_validate not installed (sordi)"; exit 77; }
out=$(lv2_validate "$1"/*.ttl 2>&1)
echo "$out" | grep -v '^Skipping'
echo "$out" | grep -q 'Found 0 errors'
if command -v lv2ls >/dev/null; then
  listed=$(lv2ls)
  for uri in rave terrain after after-midi; do
    echo "$listed" | grep -qx "urn:latent:$uri" || { echo "lv2ls does not list urn:latent:$uri"; exit 1; }
  done
fi
# Every plugin names its maker (hosts such as Carla show it): the project is in the manifest.
if command -v lv2info >/dev/null; then
  for uri in rave terrain after after-midi; do
    lv2info "urn:latent:$uri" | grep -q 'Author: *latent developers' \
      || { echo "urn:latent:$uri has no author"; exit 1; }
  done
fi
