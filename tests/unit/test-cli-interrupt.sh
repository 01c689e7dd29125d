#!/usr/bin/env bash
# `latent terrain train` interrupted (issue 12: an interrupted training must save what it has
# within about a second). Ctrl-C (SIGINT) used to cancel and write nothing; SIGKILL lost
# everything. Now SIGINT saves what was learnt and exits 130, SIGKILL leaves the last
# checkpoint (--checkpoint-interval), and --checkpoint-interval 0 writes only at the end.
#   test-cli-interrupt.sh LATENT_BINARY
source "$(dirname "$0")/cli-test-common.sh" "$1"

# One fragment of 400 frames, 2 control dims -> 8 latents: a few ms per epoch.
awk 'BEGIN {
  printf "{\"coordinates\": {\"1\": {"
  for (d = 0; d < 2; d++) {
    printf "%s\"%d\": [", d ? ", " : "", d
    for (i = 0; i < 400; i++) printf "%s%g", i ? ", " : "", d ? sin(i / 40) : i / 50 - 4
    printf "]"
  }
  printf "}}, \"latents\": {\"1\": {"
  for (k = 0; k < 8; k++) {
    printf "%s\"%d\": [", k ? ", " : "", k
    for (i = 0; i < 400; i++) printf "%s%g", i ? ", " : "", sin(i * (k + 1) / 60)
    printf "]"
  }
  printf "}}}\n"
}' > data.json

# Milliseconds, in shell arithmetic (bc is not installed everywhere: Debian 13's lane lacks it).
now_ms () { date +%s%3N; }

# start_training OUT [OPTIONS...]: in the background ($pid) until it reports training.
start_training () {
  local out=$1; shift
  "$latent" terrain train --dataset data.json --out "$out" --epochs 1000000 "$@" \
    >log.txt 2>&1 &
  pid=$!
  local deadline=$(( $(date +%s) + 60 ))
  until grep -q "training on" log.txt; do
    kill -0 "$pid" 2>/dev/null && [ "$(date +%s)" -lt "$deadline" ] ||
      { fail "training never started: $(tail -2 log.txt)"; return 1; }
    sleep 0.02
  done
  sleep 0.3 # some epochs in
}

# SIGINT: the exact weights, written and loadable, within a second; exit status 130.
if start_training int.pt; then
  t0=$(now_ms)
  kill -INT "$pid"
  wait "$pid"; status=$?
  took=$(( $(now_ms) - t0 ))
  [ "$status" = 130 ] || fail "SIGINT: exit status $status, expected 130: $(tail -1 log.txt)"
  # About 0.4 s of it is opening the LibTorch backend that writes .pt files; 2 s on a busy box.
  [ "$took" -lt 2000 ] || fail "SIGINT: took $took ms to exit"
  "$latent" terrain info int.pt >/dev/null || fail "SIGINT: int.pt missing or not loadable"
  grep -q "interrupted: wrote what was learnt" log.txt || fail "SIGINT: $(tail -1 log.txt)"
  echo "SIGINT: $(tail -1 log.txt), exit $status after $took ms"
fi

# SIGKILL 1.5 s in: the last checkpoint (0.3 s apart; the first also opens the backend).
if start_training kill.pt --checkpoint-interval 0.3; then
  sleep 1.2
  kill -KILL "$pid"; wait "$pid" 2>/dev/null
  "$latent" terrain info kill.pt >/dev/null || fail "SIGKILL: kill.pt missing or not loadable"
  [ -e kill.pt ] && echo "ok: SIGKILL 1.5 s in left a loadable checkpoint"
fi

# --checkpoint-interval 0: nothing before the end, as before checkpoints.
if start_training none.pt --checkpoint-interval 0; then
  sleep 1.2
  kill -KILL "$pid"; wait "$pid" 2>/dev/null
  [ -e none.pt ] && fail "--checkpoint-interval 0 wrote none.pt before the end"
  echo "ok: --checkpoint-interval 0 writes only at the end"
fi

expect_error "--checkpoint-interval must be 0..86400" \
  "$latent" terrain train --dataset data.json --out bad.pt --checkpoint-interval -1
echo "cli-interrupt: $failures failure(s)"
[ "$failures" -eq 0 ]
