#!/usr/bin/env bash
# Runs every test suite (unit, element, host) from the build tree and prints one summary line.
# Extra arguments go to `meson test` (e.g. --suite unit, or --setup valgrind).
set -uo pipefail
cd "$(dirname "$0")/.."
meson test -C build --print-errorlogs --num-processes 2 "$@"
status=$?
/usr/bin/python3 - build/meson-logs/testlog.json <<'PY'
import json, sys
counts = {"OK": 0, "FAIL": 0, "SKIP": 0}
for line in open(sys.argv[1]):
    result = json.loads(line)["result"]
    key = "OK" if result in ("OK", "EXPECTEDFAIL") else "SKIP" if result == "SKIP" else "FAIL"
    counts[key] += 1
print(f"latent: {counts['OK']} passed, {counts['FAIL']} failed, {counts['SKIP']} skipped")
PY
exit $status
