#!/usr/bin/env bash
# Coverage-guided fuzzing of latent's parsers (libFuzzer, clang from Debian).
#
#   tools/fuzz.sh [SECONDS_PER_TARGET] [TARGET...]     (default: 60 s, every target; 0: only
#                                                      replay the regressions and corpora)
#
# Builds the harnesses of tests/fuzz/ into build-fuzz/ (clang, -fsanitize=fuzzer,address,
# undefined; never the main build/), replays every input of tests/fuzz/regressions/TARGET/,
# then fuzzes each target for SECONDS_PER_TARGET seconds from tests/fuzz/corpus/TARGET/ plus
# what earlier runs found (build-fuzz/corpus/TARGET/). Exits 1 on the first crash, hang (10 s),
# leak or sanitizer report and prints where the reproducer is; 77 (skipped) only when clang or
# its libFuzzer runtime is not installed (tools/setup.sh installs both).
# Environment: LATENT_FUZZ_BUILD (default: LATENT_BUILD_DIR, or build, + "-fuzz"),
# LATENT_FUZZ_JOBS (ninja -j),
# LATENT_FUZZ_CFLAGS (more compiler flags, e.g. -fno-sanitize=float-cast-overflow to look
# past a known finding).
set -uo pipefail
cd "$(dirname "$0")/.."

targets_all=(dataset-json terrain-file model-info midi-voices latent-caps)
seconds=60
if [ $# -gt 0 ] && [[ $1 =~ ^[0-9]+$ ]]; then
  seconds=$1
  shift
fi
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=("${targets_all[@]}")
for t in "${targets[@]}"; do
  [[ " ${targets_all[*]} " == *" $t "* ]] || { echo "fuzz: unknown target $t (targets: ${targets_all[*]})" >&2; exit 2; }
done

# Beside the lane's meson build directory: the Debian 13 lane builds the same source tree
# (build-debian13), and objects of one distribution's clang must not serve the other.
build=${LATENT_FUZZ_BUILD:-${LATENT_BUILD_DIR:-build}-fuzz}
clang=${CLANG:-clang}
if ! command -v "$clang" >/dev/null; then
  echo "fuzz: SKIP: $clang is not installed (apt-get install clang)" >&2
  exit 77
fi
# The runtime's name depends on clang's layout: lib/linux/libclang_rt.fuzzer-ARCH.a (clang 14,
# and Debian 13's clang 19, whose --print-runtime-dir names lib/TRIPLE all the same) or
# lib/TRIPLE/libclang_rt.fuzzer.a (per-target runtime directories).
runtime_dir=$("$clang" --print-runtime-dir)
if [ ! -f "$runtime_dir/libclang_rt.fuzzer-$(uname -m).a" ] && [ ! -f "$runtime_dir/libclang_rt.fuzzer.a" ] \
    && [ ! -f "$(dirname "$runtime_dir")/linux/libclang_rt.fuzzer-$(uname -m).a" ]; then
  major=$("$clang" -dumpversion | cut -d. -f1)
  echo "fuzz: SKIP: clang's libFuzzer runtime is not in $runtime_dir (apt-get install libclang-rt-$major-dev)" >&2
  exit 77
fi

# ------------------------------------------------------------------ build
# A generated build.ninja: ninja recompiles what changed (depfiles), in parallel.
mkdir -p "$build"
root=$PWD
build=$(realpath --relative-to="$root" "$build")
cflags="-std=c11 -D_GNU_SOURCE -g -O1 -fno-omit-frame-pointer -fsanitize=address,undefined"
cflags+=" -fno-sanitize-recover=all -fsanitize=fuzzer-no-link -Wall -Wno-unused-parameter"
cflags+=" -I$root/core -I$root/core/torch -I$root/gst -I$root/tests/fuzz"
cflags+=" -DLATENT_BACKEND_BUILD_PATH=\\\"/nonexistent\\\" -DLATENT_BACKEND_INSTALL_PATH=\\\"/nonexistent\\\""
cflags+=" -DLATENT_BUILD_ROOT=\\\"$root/$build\\\" ${LATENT_FUZZ_CFLAGS:-}"
core_pkgs="glib-2.0 gobject-2.0 gmodule-2.0 json-glib-1.0 libpng samplerate"
core_cflags=$(pkg-config --cflags $core_pkgs) || exit 1
core_libs=$(pkg-config --libs $core_pkgs) || exit 1
gst_cflags=$(pkg-config --cflags gstreamer-1.0) || exit 1
gst_libs=$(pkg-config --libs gstreamer-1.0) || exit 1
core_objs=()
{
  echo "cflags = $cflags $core_cflags"
  echo "rule cc"
  echo "  command = $clang \$cflags -MD -MF \$out.d -c \$in -o \$out"
  echo "  depfile = \$out.d"
  echo "  deps = gcc"
  echo "  description = CC \$in"
  echo "rule link"
  echo "  command = $clang -fsanitize=fuzzer,address,undefined \$in -o \$out \$libs"
  echo "  description = LINK \$out"
  echo "rule module"
  echo "  command = $clang -fsanitize=address,undefined -shared \$in -o \$out"
  echo "  description = LINK \$out"
  for src in core/*.c; do
    obj=obj/${src%.c}.o
    core_objs+=("$obj")
    echo "build $obj: cc $root/$src"
  done
  echo "build obj/latent-caps.o: cc $root/gst/latent-caps.c"
  echo "  cflags = $cflags $core_cflags $gst_cflags"
  echo "build obj/fuzz-backend.o: cc $root/tests/fuzz/fuzz-backend.c"
  echo "  cflags = $cflags $core_cflags -fPIC"
  # The backend is a module of its own (core opens it by path); the harnesses that use it
  # link it too, so that it is already loaded and they can feed it.
  echo "build libfuzz-backend.so: module obj/fuzz-backend.o"
  for t in "${targets_all[@]}"; do
    echo "build obj/fuzz-$t.o: cc $root/tests/fuzz/fuzz-$t.c"
    extra_objs="" libs="$core_libs -lm -lpthread"
    case $t in
      latent-caps) echo "  cflags = $cflags $core_cflags $gst_cflags"
                   extra_objs="obj/latent-caps.o"; libs="$gst_libs $libs" ;;
      terrain-file|model-info) extra_objs="libfuzz-backend.so"
                   libs="$libs '-Wl,-rpath,\$\$ORIGIN' -ldl" ;;
    esac
    echo "build fuzz-$t: link obj/fuzz-$t.o ${core_objs[*]} $extra_objs"
    echo "  libs = $libs"
  done
} > "$build/build.ninja"
ninja -C "$build" ${LATENT_FUZZ_JOBS:+-j "$LATENT_FUZZ_JOBS"} $(printf 'fuzz-%s ' "${targets[@]}") >&2 \
  || { echo "fuzz: FAIL: the harnesses do not build" >&2; exit 1; }

# ------------------------------------------------------------------ run
# LeakSanitizer on; GLib's slice allocator off so leaks are seen per allocation. Debian's
# libraries have no frame pointers: the slow unwinder gives leak suppressions whole stacks.
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:fast_unwind_on_malloc=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
export LSAN_OPTIONS=${LSAN_OPTIONS:-suppressions=$root/tests/fuzz/lsan.supp:print_suppressions=0}
export G_SLICE=always-malloc
status=0
for t in "${targets[@]}"; do
  exe=$build/fuzz-$t
  crashes=$build/crashes/$t
  corpus=$build/corpus/$t
  mkdir -p "$crashes" "$corpus"
  log=$build/fuzz-$t.log
  regressions=(tests/fuzz/regressions/$t/*)
  if [ -e "${regressions[0]}" ]; then
    if ! "$exe" -timeout=10 -rss_limit_mb=2048 "${regressions[@]}" >"$log" 2>&1; then
      tail -n 40 "$log" >&2
      echo "fuzz: FAIL: $t: a regression input fails again (log: $log)" >&2
      status=1
      continue
    fi
    echo "fuzz: $t: ${#regressions[@]} regression inputs pass" >&2
  fi
  seeds=tests/fuzz/corpus/$t
  # 0 seconds: run the corpus once, no fuzzing (-max_total_time=0 would mean "for ever").
  limit=(-max_total_time="$seconds")
  [ "$seconds" -gt 0 ] || limit=(-runs=0)
  # latent-caps: the leaks LeakSanitizer sees there are GStreamer's caps parser's (lsan.supp);
  # on Debian 13 their stacks stop in GLib's g_malloc, before libgstreamer, so the suppression
  # cannot match: leak checking is off for that target (crashes and UB still count), both
  # libFuzzer's per-input check and LeakSanitizer's check at exit.
  leaks=() asan_options=$ASAN_OPTIONS
  [ "$t" != latent-caps ] || { leaks=(-detect_leaks=0); asan_options+=:detect_leaks=0; }
  # A fixed seed (LATENT_FUZZ_SEED, default 1) keeps the test suite's smoke run repeatable;
  # set LATENT_FUZZ_SEED=0 for libFuzzer's random seed in long runs.
  ASAN_OPTIONS=$asan_options "$exe" "${limit[@]}" "${leaks[@]}" -seed="${LATENT_FUZZ_SEED:-1}" -timeout=10 -rss_limit_mb=2048 -max_len=16384 \
      -print_final_stats=1 -artifact_prefix="$crashes/" "$corpus" "$seeds" >"$log" 2>&1
  rc=$?
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
  if [ $rc -ne 0 ]; then
    tail -n 60 "$log" >&2
    reproducer=$(sed -n 's/.*Test unit written to \(.*\)$/\1/p' "$log" | tail -n 1)
    echo "fuzz: FAIL: $t after ${runs:-?} runs; reproducer: ${reproducer:-none written} (log: $log)" >&2
    echo "fuzz: replay it with: $exe ${reproducer:-FILE}; keep it in tests/fuzz/regressions/$t/ once fixed" >&2
    status=1
  else
    echo "fuzz: $t: ${runs:-?} runs in ${seconds} s, no failure ($(ls "$corpus" | wc -l) inputs in $corpus)" >&2
  fi
done
exit $status
