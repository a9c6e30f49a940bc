#!/bin/sh
# run.sh - build the fuzz targets with clang, make the seeds, replay the
# regression inputs, then fuzz each target for a bounded time.
#
#   fuzz/run.sh [SECONDS]   fuzz for SECONDS in all (default 60), split
#                           evenly between fuzz_segment and fuzz_names
#   fuzz/run.sh --replay    only build and replay the regression inputs
#   fuzz/run.sh --no-replay SECONDS   fuzz without replaying them first
#
# Environment: CC (default clang), FUZZ_BUILD_DIR (default build-fuzz in the
# source tree), FUZZ_WORK_DIR (corpus, logs, crash files; default
# $FUZZ_BUILD_DIR/fuzz-work), FUZZ_BIN_DIR (use targets built there instead
# of building), FUZZ_ARGS (extra libFuzzer flags, word-split, e.g.
# "-only_ascii=1"), FUZZ_TIMEOUT (seconds one input may take before it
# counts as a hang; default 5).
# Prints executions, exec/s, coverage and crashes per target; exits
# non-zero on any crash, oracle failure, leak or timeout.
#
# The corpus in $FUZZ_WORK_DIR/corpus/<target> persists between runs, so a
# long run by hand continues where the last one stopped.
set -u

here=$(cd "$(dirname "$0")" && pwd)
src=$(dirname "$here")
build=${FUZZ_BUILD_DIR:-$src/build-fuzz}
work=${FUZZ_WORK_DIR:-$build/fuzz-work}
mode=fuzz
secs=60
replay=1
for arg in "$@"; do
    case $arg in
        --replay) mode=replay ;;
        --no-replay) replay=0 ;;
        ""|*[!0-9]*) echo "usage: $0 [--no-replay] [SECONDS] | --replay" >&2; exit 2 ;;
        *) secs=$arg ;;
    esac
done

mkdir -p "$work" || exit 1

# Run a command in the background so its pid is known, then remove any
# segment a crashed target left under its pid (librpc_fz*_<pid>).
run_tracked() {
    log=$1
    shift
    "$@" >"$log" 2>&1 &
    pid=$!
    wait "$pid"
    rc=$?
    rm -f /dev/shm/librpc_fz*_"$pid"
    return $rc
}

bindir=${FUZZ_BIN_DIR:-}
if [ -z "$bindir" ]; then
    CC=${CC:-clang} cmake -S "$src" -B "$build" -DLIBRPC_FUZZ=ON \
        -DLIBRPC_BUILD_TOOLS=OFF -DLIBRPC_BUILD_BENCH=OFF -DLIBRPC_BUILD_EXAMPLES=OFF \
        -DCMAKE_BUILD_TYPE=RelWithDebInfo >"$work/configure.log" 2>&1 ||
        { cat "$work/configure.log" >&2; echo "fuzz: configure failed" >&2; exit 1; }
    cmake --build "$build" --target fuzz_segment fuzz_names make_seeds \
        -j "${JOBS:-2}" >"$work/build.log" 2>&1 ||
        { tail -n 40 "$work/build.log" >&2; echo "fuzz: build failed" >&2; exit 1; }
    bindir=$build/bin
fi

# Regression inputs: the kept files, and those make_seeds builds from the
# current layout (so they survive layout-version changes).
if [ "$replay" = 1 ] || [ "$mode" = replay ]; then
rm -rf "$work/regressions"
mkdir -p "$work/regressions"
run_tracked "$work/regressions.log" "$bindir/make_seeds" --regressions \
    "$work/regressions/fuzz_segment" ||
    { cat "$work/regressions.log" >&2; echo "fuzz: make_seeds --regressions failed" >&2; exit 1; }
"$here/replay.sh" "$bindir" "$work/regressions" "$here/regressions" || exit 1
fi
[ "$mode" = replay ] && exit 0

rm -rf "$work/seeds"
mkdir -p "$work/seeds"
if ! run_tracked "$work/seeds.log" "$bindir/make_seeds" "$work/seeds/fuzz_segment" ||
    ! run_tracked "$work/seeds_names.log" "$bindir/make_seeds" --names "$work/seeds/fuzz_names"; then
    cat "$work/seeds.log" "$work/seeds_names.log" >&2
    echo "fuzz: seeds failed" >&2
    exit 1
fi

# Crash, leak, timeout and OOM inputs libFuzzer wrote for a target.
count_artifacts() {
    n=0
    for f in "$work/artifacts/$1"-*; do
        [ -e "$f" ] && n=$((n + 1))
    done
    echo "$n"
}

per=$((secs / 2))
[ "$per" -ge 1 ] || per=1
status=0
mkdir -p "$work/artifacts"
for target in fuzz_segment fuzz_names; do
    case $target in
        fuzz_segment) max_len=65536 ;;
        *) max_len=1024 ;;
    esac
    mkdir -p "$work/corpus/$target"
    before=$(count_artifacts "$target")
    # One process (what -jobs=1 would give, without its log-file detour).
    # shellcheck disable=SC2086
    run_tracked "$work/$target.log" "$bindir/$target" \
        -max_total_time="$per" -timeout="${FUZZ_TIMEOUT:-5}" -rss_limit_mb=2048 \
        -max_len="$max_len" -print_final_stats=1 \
        -artifact_prefix="$work/artifacts/$target-" ${FUZZ_ARGS:-} \
        "$work/corpus/$target" "$work/seeds/$target"
    rc=$?
    after=$(count_artifacts "$target")
    log=$work/$target.log
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
    eps=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -n 1)
    last=$(grep -E '^#[0-9]+.*cov: ' "$log" | tail -n 1)
    cov=$(echo "$last" | sed -n 's/.* cov: \([0-9]*\).*/\1/p')
    ft=$(echo "$last" | sed -n 's/.* ft: \([0-9]*\).*/\1/p')
    corp=$(echo "$last" | sed -n 's/.* corp: \([0-9]*\).*/\1/p')
    crashes=$((after - before))
    echo "fuzz: $target: ${execs:-?} executions (budget ${per} s), ${eps:-?} exec/s," \
         "coverage ${cov:-?} edges / ${ft:-?} features, corpus ${corp:-?}," \
         "crashes $crashes (exit $rc)"
    if [ "$rc" -ne 0 ] || [ "$crashes" -ne 0 ]; then
        status=1
        echo "fuzz: $target FAILED; log $log, inputs in $work/artifacts:" >&2
        grep -v '^#[0-9]' "$log" | tail -n 60 >&2
    fi
done
exit $status
