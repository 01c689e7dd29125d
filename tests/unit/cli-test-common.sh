# Sourced by the CLI tests (test-*-cli*.sh, test-cli-*.sh) with the `latent` binary as $1:
# a scratch directory as the working directory, removed on exit, a failure count and
# expect_error.
set -uo pipefail
latent=$(realpath "$1")
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
failures=0
fail () { echo "FAIL: $*"; failures=$((failures + 1)); }

# expect_error NEEDLE COMMAND...: exit status 1 (not a crash) and NEEDLE in the message.
expect_error () {
  local needle=$1; shift
  "$@" >out.txt 2>&1
  local status=$?
  if [ "$status" -ne 1 ]; then fail "$* exited $status, expected 1: $(tail -2 out.txt)"; return; fi
  grep -qF -- "$needle" out.txt || fail "$*: no '$needle' in: $(tail -2 out.txt)"
  echo "ok: $(tail -1 out.txt)"
}
