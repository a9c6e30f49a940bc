#!/bin/sh
# replay.sh BINDIR REGDIR... - run each fuzz target once on every input
# kept in REGDIR/<target>/ (inputs that once crashed: regression tests).
# Each input runs in its own process, so every failing one is reported.
# Exits non-zero if any input crashes or fails an oracle.
set -u
bindir=$1
shift
log=${TMPDIR:-/tmp}/librpc_replay_$$.log
status=0
total=0
failed=0
for regdir in "$@"; do
    for dir in "$regdir"/*/; do
        [ -d "$dir" ] || continue
        target=$(basename "$dir")
        bin=$bindir/$target
        for f in "$dir"*; do
            [ -f "$f" ] || continue
            if [ ! -x "$bin" ]; then
                echo "replay: no binary $bin for $f" >&2
                status=1
                continue
            fi
            total=$((total + 1))
            "$bin" -timeout=20 -rss_limit_mb=2048 "$f" >"$log" 2>&1 &
            pid=$!
            wait "$pid"
            rc=$?
            # The target removes its segments itself; this covers a crash.
            rm -f /dev/shm/librpc_fz*_"$pid"
            if [ "$rc" -eq 0 ]; then
                echo "replay: $target $(basename "$f"): ok"
                continue
            fi
            failed=$((failed + 1))
            status=1
            echo "replay: $target $(basename "$f"): FAILED (exit $rc)" >&2
            grep -E 'runtime error|ERROR:|oracle|^    #[0-9] ' "$log" | head -n 8 >&2
        done
    done
done
rm -f "$log"
echo "replay: $total regression inputs, $failed failed"
exit $status
