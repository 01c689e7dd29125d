#!/usr/bin/env bash
# The `latent` CLI against careless or hostile input (issue 12): each case must end with a clear
# error and exit 1 (never a signal), and leave files as they were.
#   test-hostile-cli.sh LATENT_BINARY HOSTILE_MODELS_DIR
hostile=$(realpath "$2")
source "$(dirname "$0")/cli-test-common.sh" "$1"

cat > data.json <<'JSON'
{"coordinates": {"1": {"0": [0.0, 0.5, 1.0, 1.5], "1": [0.0, 0.1, 0.2, 0.3]},
                 "2": {"0": [-1.0, -0.5, 0.0, 0.5], "1": [1.0, 1.1, 1.2, 1.3]}},
 "latents": {"1": {"0": [0.1, 0.2, 0.3, 0.4], "1": [1, 2, 3, 4]},
             "2": {"0": [-0.1, -0.2, -0.3, -0.4], "1": [4, 3, 2, 1]}}}
JSON

# A batch of 10^7 allocated 72 GB and aborted.
expect_error "--batch 1..65536" "$latent" terrain train --dataset data.json --out t.pt --batch 10000000
# A batch larger than the data is the whole data: quick, and a file.
"$latent" terrain train --dataset data.json --out t.pt --batch 65536 --epochs 2 >out.txt 2>&1 \
  || fail "--batch 65536 on 8 pairs: $(tail -1 out.txt)"
cp t.pt good.pt

# Divergence (--lr 1e9, fresh or --from a good terrain) never replaces the good file.
expect_error "not finite" "$latent" terrain train --dataset data.json --out t.pt --lr 1e9 --epochs 5
cmp -s t.pt good.pt || fail "a diverged training replaced t.pt"
expect_error "not finite" "$latent" terrain train --dataset data.json --out t.pt --from good.pt \
  --lr 1e9 --epochs 5
cmp -s t.pt good.pt || fail "a diverged --from training replaced t.pt"

# Special and read-only outputs are refused, and stay what they were.
mkfifo fifo.pt
expect_error "a FIFO, not a regular file" "$latent" terrain train --dataset data.json --out fifo.pt --epochs 1
[ -p fifo.pt ] || fail "fifo.pt is no longer a FIFO"
expect_error "a device node" "$latent" terrain render good.pt --png /dev/null
[ -c /dev/null ] || fail "/dev/null is no longer a character device"
cp good.pt locked.pt && chmod 0444 locked.pt
expect_error "read-only (mode 0444)" "$latent" terrain train --dataset data.json --out locked.pt --epochs 1
cmp -s locked.pt good.pt || fail "a read-only file was replaced"

# A dataset nested 100000 levels deep crashed the JSON parser (stack exhaustion).
{ printf '{"coordinates": '; head -c 100000 /dev/zero | tr '\0' '['; } > deep.json
expect_error "nested 100001 levels deep" "$latent" terrain train --dataset deep.json --out t.pt

# `latent model info` showed a ratio of 2^32 as 0, as if valid: the method is listed as
# unusable, with the reason.
"$latent" model info "$hostile/ratio-2-32.ts" >out.txt 2>&1 \
  || fail "model info ratio-2-32.ts: $(tail -1 out.txt)"
grep -qF "unusable   encode (encode_params is [1, 1, 2, 4294967296]: ratios must be 1..1048576)" \
  out.txt || fail "model info ratio-2-32.ts: no unusable encode line in: $(cat out.txt)"
grep -qE "^  encode " out.txt && fail "model info ratio-2-32.ts lists encode as usable"
# `latent terrain info` said OK for a terrain with a NaN two_pi.
expect_error "two_pi is nan, expected a finite number" "$latent" terrain info \
  "$hostile/terrain-nan-two-pi.pt"

echo "hostile-cli: $failures failure(s)"
[ "$failures" -eq 0 ]
