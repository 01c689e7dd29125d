#!/bin/sh
# The three benchmarks on the RAVE v2 / AFTER fixtures generated in build/tests/data
# (tests/data/make_*_v2_fixture.py): element / plugin time against python3-torch and against
# the bare core loop, in one run each. Printed figures, not tests.
#   ninja -C build bench-fixtures
# usage: bench-fixtures.sh BENCH_RAVE BENCH_AFTER FIXTURE_DIR [BENCH_LV2]
set -e
bench_rave=$1 bench_after=$2 dir=$3 bench_lv2=${4:-}
echo "== bench-rave, RAVE v2 fixture (nn~ 1.6 layout)"
"$bench_rave" --model "$dir/rave-v2-nn16.ts" --seconds 20 --repeat 2 --blocks 2048,8192
echo "== bench-rave, RAVE v2 fixture (nn~ 1.5.6 layout)"
"$bench_rave" --model "$dir/rave-v2-nn156.ts" --seconds 20 --repeat 2 --blocks 2048,8192
echo "== bench-after, AFTER audio fixture"
"$bench_after" --model "$dir/after-v2-audio.ts" --seconds 10 --repeat 2 --steps 1,4
if [ -n "$bench_lv2" ]; then
  for model in rave-v2-nn16.ts after-v2-audio.ts after-v2-midi.ts; do
    echo "== bench-lv2 --model $model"
    "$bench_lv2" --model "$dir/$model"
  done
fi
