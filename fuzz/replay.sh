#!/bin/sh
# replay.sh BINDIR REGDIR - run each fuzz target once on every input kept
# in REGDIR/<target>/ (crashes found earlier, now regression tests).
# Exits non-zero if any input crashes or fails an oracle again.
set -u
bindir=$1
regdir=$2
status=0
total=0
for dir in "$regdir"/*/; do
    [ -d "$dir" ] || continue
    target=$(basename "$dir")
    bin=$bindir/$target
    set --
    for f in "$dir"*; do
        [ -f "$f" ] && set -- "$@" "$f"
    done
    [ $# -gt 0 ] || continue
    if [ ! -x "$bin" ]; then
        echo "replay: no binary $bin for $dir" >&2
        status=1
        continue
    fi
    "$bin" -timeout=20 -rss_limit_mb=2048 "$@" >"${TMPDIR:-/tmp}/replay_$$.log" 2>&1 &
    pid=$!
    wait "$pid"
    rc=$?
    # The target removes its segments itself; this covers a crash.
    rm -f /dev/shm/librpc_fz*_"$pid"
    if [ "$rc" -ne 0 ]; then
        echo "replay: $target FAILED on one of $# inputs (exit $rc):" >&2
        cat "${TMPDIR:-/tmp}/replay_$$.log" >&2
        status=1
    else
        echo "replay: $target: $# inputs OK"
    fi
    total=$((total + $#))
    rm -f "${TMPDIR:-/tmp}/replay_$$.log"
done
echo "replay: $total regression inputs"
exit $status
