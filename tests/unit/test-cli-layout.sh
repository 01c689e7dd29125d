#!/usr/bin/env bash
# `latent terrain train --layout straight|pca`: the dataset's latents are placed by a core
# layout (as terraintrain's `layout` property) instead of the dataset's coordinates.
#   test-cli-layout.sh LATENT_BINARY
source "$(dirname "$0")/cli-test-common.sh" "$1"

# Two control dims in the file, three fragments with different latents.
cat > data.json <<'JSON'
{"coordinates": {"1": {"0": [0, 0, 0], "1": [0, 0, 0]}, "2": {"0": [0, 0, 0], "1": [0, 0, 0]},
                 "3": {"0": [0, 0, 0], "1": [0, 0, 0]}},
 "latents": {"1": {"0": [0.1, 0.2, 0.3], "1": [1, 2, 3], "2": [0, 1, 0]},
             "2": {"0": [-0.1, -0.2, -0.3], "1": [3, 2, 1], "2": [1, 0, 1]},
             "3": {"0": [0.5, 0.5, 0.4], "1": [0, 0, 1], "2": [2, 2, 2]}}}
JSON

train () { "$latent" terrain train --dataset data.json --epochs 3 --seed 7 "$@" >out.txt 2>&1; }
control_dims () { "$latent" terrain info "$1" | awk '/control dims/ { print $3 }'; }

train --out plain.pt || fail "no --layout: $(tail -1 out.txt)"
for layout in straight pca; do
  train --out "$layout.pt" --layout "$layout" || fail "--layout $layout: $(tail -1 out.txt)"
  [ "$(control_dims "$layout.pt")" = 2 ] || fail "--layout $layout: not 2 control dims"
  echo "ok: --layout $layout"
done
# The layout replaced the all-zero coordinates: each trains another terrain from the same seed.
cmp -s plain.pt straight.pt && fail "--layout straight trained on the file's coordinates"
cmp -s straight.pt pca.pt && fail "--layout pca and straight trained the same terrain"
# --control-dims sets the layout's dims (without --layout it must match the file's 2).
train --out one.pt --layout straight --control-dims 1 || fail "--control-dims 1: $(tail -1 out.txt)"
[ "$(control_dims one.pt)" = 1 ] || fail "--layout straight --control-dims 1: not 1 control dim"
train --out bad.pt --control-dims 1 && fail "--control-dims 1 without --layout was accepted"
# Names as terraintrain's property takes them; anything else is refused, no file written.
expect_error '--layout takes straight or pca, not "circle"' \
  "$latent" terrain train --dataset data.json --out bad.pt --layout circle
[ -e bad.pt ] && fail "a refused run wrote bad.pt"
echo "cli-layout: $failures failure(s)"
[ "$failures" -eq 0 ]
