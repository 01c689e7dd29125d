#!/usr/bin/env bash
# Runs every test suite (unit, element, host) from the build tree and prints one summary line.
# Extra arguments go to `meson test` (e.g. --suite unit, or --setup valgrind).
# LATENT_BUILD_DIR: the build directory (default build); LATENT_SUMMARY_LABEL: the summary line's
# label (default "latent"; the Debian 13 lane says "latent (Debian 13)"). The counts are also
# written to BUILD/meson-logs/latent-summary.txt ("PASSED FAILED SKIPPED") for .ci/run.
set -uo pipefail
cd "$(dirname "$0")/.."
build=${LATENT_BUILD_DIR:-build}
rm -f "$build/meson-logs/latent-summary.txt"
meson test -C "$build" --print-errorlogs --num-processes 2 "$@"
status=$?
/usr/bin/python3 - "$build/meson-logs/testlog.json" "${LATENT_SUMMARY_LABEL:-latent}" <<'PY'
import json, os, sys
counts = {"OK": 0, "FAIL": 0, "SKIP": 0}
for line in open(sys.argv[1]):
    result = json.loads(line)["result"]
    key = "OK" if result in ("OK", "EXPECTEDFAIL") else "SKIP" if result == "SKIP" else "FAIL"
    counts[key] += 1
print(f"{sys.argv[2]}: {counts['OK']} passed, {counts['FAIL']} failed, {counts['SKIP']} skipped")
with open(os.path.join(os.path.dirname(sys.argv[1]), "latent-summary.txt"), "w") as f:
    print(counts["OK"], counts["FAIL"], counts["SKIP"], file=f)
PY
exit $status
