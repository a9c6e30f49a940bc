#!/bin/sh
# coverage.sh - line and branch coverage of src/ reached by the fuzz corpus.
#
#   fuzz/coverage.sh [WORKDIR]
#
# Builds the targets once more with clang's source-based coverage (tree
# build-fuzz-cov), runs each target once over its corpus in WORKDIR
# (default build-fuzz/fuzz-work, as left by fuzz/run.sh) and fresh seeds, and
# prints llvm-cov's report for the library sources.  Needs llvm-profdata
# and llvm-cov (Debian: llvm or llvm-14).
set -u
here=$(cd "$(dirname "$0")" && pwd)
src=$(dirname "$here")
work=${1:-$src/build-fuzz/fuzz-work}
build=${FUZZ_COV_BUILD_DIR:-$src/build-fuzz-cov}
out=$work/coverage
profdata=$(command -v llvm-profdata || command -v llvm-profdata-14) ||
    { echo "coverage: llvm-profdata not found" >&2; exit 1; }
llvmcov=$(command -v llvm-cov || command -v llvm-cov-14) ||
    { echo "coverage: llvm-cov not found" >&2; exit 1; }

mkdir -p "$out" || exit 1
CC=${CC:-clang} cmake -S "$src" -B "$build" -DLIBRPC_FUZZ=ON \
    -DLIBRPC_BUILD_TOOLS=OFF -DLIBRPC_BUILD_BENCH=OFF -DLIBRPC_BUILD_EXAMPLES=OFF \
    "-DLIBRPC_FUZZ_SAN_EXTRA=-fprofile-instr-generate -fcoverage-mapping" \
    >"$out/configure.log" 2>&1 || { cat "$out/configure.log" >&2; exit 1; }
cmake --build "$build" --target fuzz_segment fuzz_names make_seeds -j "${JOBS:-2}" \
    >"$out/build.log" 2>&1 || { tail -n 40 "$out/build.log" >&2; exit 1; }
# Seeds of the current layout (those in WORKDIR may predate a change).
rm -rf "$out/seeds"
mkdir -p "$out/seeds"
if ! "$build/bin/make_seeds" "$out/seeds/fuzz_segment" >/dev/null ||
    ! "$build/bin/make_seeds" --names "$out/seeds/fuzz_names" >/dev/null; then
    echo "coverage: make_seeds failed" >&2
    exit 1
fi

rm -f "$out"/*.profraw
status=0
for target in fuzz_segment fuzz_names; do
    dirs=
    for d in "$work/corpus/$target" "$out/seeds/$target"; do
        [ -d "$d" ] && dirs="$dirs $d"
    done
    [ -n "$dirs" ] || { echo "coverage: no corpus for $target in $work" >&2; status=1; continue; }
    # -runs=0: execute the corpus once, no mutations.
    # shellcheck disable=SC2086
    LLVM_PROFILE_FILE="$out/$target-%p.profraw" \
        "$build/bin/$target" -runs=0 -timeout=20 $dirs >"$out/$target.log" 2>&1 &
    pid=$!
    wait "$pid" || { echo "coverage: $target failed, see $out/$target.log" >&2; status=1; }
    rm -f /dev/shm/librpc_fz*_"$pid"
done
"$profdata" merge -sparse "$out"/*.profraw -o "$out/fuzz.profdata" || exit 1
"$llvmcov" report "$build/bin/fuzz_segment" -object "$build/bin/fuzz_names" \
    -instr-profile="$out/fuzz.profdata" "$src/src" | tee "$out/report.txt"
exit $status
