#!/usr/bin/env bash
# bench/compare.sh - librpc against iceoryx, ZeroMQ, Unix sockets and pipes,
# in one command:
#
#   1. installs what is missing (iceoryx, its C binding, libzmq, gnuplot)
#      from the distribution's packages when run as root (Debian/Ubuntu);
#   2. configures and builds bench_compare and bench_compare_lifecycle in a
#      build directory of its own (default: build-compare);
#   3. starts iox-roudi with bench/compare/roudi.toml, waits until it is
#      ready, and stops it (by its pid) when the script ends, however it
#      ends; an iox-roudi that is already running is used as it is;
#   4. runs bench_compare (every mechanism, alternating) and
#      bench_compare_lifecycle;
#   5. writes the figures into BENCHMARKS.md (between the markers of its
#      "Against the peers" section) and the plots into
#      bench/compare/results/ (PNG, gnuplot).
#
# Usage: bench/compare.sh [--quick] [--head] [--build DIR] [--out DIR] [--no-install]
#                         [--write | --no-write] [-- bench_compare options]
#   --quick       a smoke run; it writes nothing into the tree unless --write
#   --head        build the last commit (git archive HEAD), not the working tree
#   --out DIR     where the raw report and data files go (default BUILD/compare-out)
#   --no-write    leave BENCHMARKS.md and the plots alone
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=$ROOT/build-compare
OUT=
QUICK=0
HEAD_ONLY=0
WRITE=
INSTALL=1
PACKAGES="iceoryx libiceoryx-binding-c-dev libzmq3-dev gnuplot-nox"

usage() {
    sed -n '2,/^set -euo/p' "$0" | sed -e '$d' -e 's/^# \{0,1\}//'
}

while [ $# -gt 0 ]; do
    case $1 in
        --quick) QUICK=1 ;;
        --head) HEAD_ONLY=1 ;;
        --build) BUILD=$2; shift ;;
        --out) OUT=$2; shift ;;
        --no-install) INSTALL=0 ;;
        --write) WRITE=1 ;;
        --no-write) WRITE=0 ;;
        -h|--help) usage; exit 0 ;;
        --) shift; break ;;
        *) echo "compare.sh: unknown option $1" >&2; usage >&2; exit 2 ;;
    esac
    shift
done
[ -n "$OUT" ] || OUT=$BUILD/compare-out
[ -n "$WRITE" ] || WRITE=$((1 - QUICK))
QUICK_ARG=()
[ "$QUICK" = 1 ] && QUICK_ARG=(--quick)

log() { printf 'compare.sh: %s\n' "$*" >&2; }

# ---- 1. packages ----
install_missing() {
    local missing=() p
    for p in $PACKAGES; do
        if [ "$p" = gnuplot-nox ] && command -v gnuplot >/dev/null; then
            continue
        fi
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' ||
            missing+=("$p")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    if [ "$INSTALL" = 1 ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
        log "installing ${missing[*]}"
        apt-get update -q >&2
        DEBIAN_FRONTEND=noninteractive apt-get install -y "${missing[@]}" >&2
    else
        log "missing ${missing[*]} (run as root to install them): their rows or plots are left out"
    fi
}
if command -v dpkg-query >/dev/null; then
    install_missing
fi

# Which library the figures are of: the commit, and whether the library's
# sources differed from it.
source_state() {
    local rev dirty
    if ! rev=$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null); then
        echo "not a git checkout"
        return 0
    fi
    dirty=$(git -C "$ROOT" status --porcelain -- src include CMakeLists.txt | wc -l)
    if [ "$HEAD_ONLY" = 1 ] || [ "$dirty" = 0 ]; then
        echo "commit $rev"
    else
        echo "commit $rev, built with uncommitted changes to $dirty file(s) of src/, include/ or CMakeLists.txt"
    fi
}

# ---- 2. build ----
# Tests (and with them the library's test-only crash points) stay out: this
# is the library as packaged.
SRC=$ROOT
CMK=$BUILD/cmake
if [ "$HEAD_ONLY" = 1 ]; then
    CMK=$BUILD/cmake-head
    SRC=$BUILD/head-src
    rm -rf "$SRC"
    mkdir -p "$SRC"
    git -C "$ROOT" archive HEAD | tar -x -C "$SRC"
    log "building commit $(git -C "$ROOT" rev-parse --short HEAD) in $BUILD"
else
    log "building the working tree in $BUILD"
fi
cmake -S "$SRC" -B "$CMK" -DLIBRPC_BUILD_TESTS=OFF -DLIBRPC_BUILD_EXAMPLES=OFF >&2
cmake --build "$CMK" -j"$(nproc)" --target bench_compare bench_compare_lifecycle >&2
BIN=$CMK/bin
mkdir -p "$OUT"
SOURCE_STATE=$(source_state)

# ---- 3. iox-roudi ----
ROUDI_PID=
ROUDI_ARGS=()
stop_roudi() {
    local i
    [ -n "$ROUDI_PID" ] || return 0
    if kill -TERM "$ROUDI_PID" 2>/dev/null; then
        for i in $(seq 100); do
            kill -0 "$ROUDI_PID" 2>/dev/null || break
            [ "$i" = 100 ] && kill -KILL "$ROUDI_PID" 2>/dev/null
            sleep 0.1
        done
    fi
    wait "$ROUDI_PID" 2>/dev/null || true
    ROUDI_PID=
}
trap stop_roudi EXIT
trap 'exit 130' INT TERM HUP

running_roudi() {
    local p
    for p in /proc/[0-9]*; do
        if [ "$(cat "$p/comm" 2>/dev/null)" = iox-roudi ]; then
            basename "$p"
            return 0
        fi
    done
    return 1
}

start_roudi() {
    local other i
    if other=$(running_roudi); then
        log "using the iox-roudi already running (pid $other), not ours: its configuration applies"
        ROUDI_ARGS=(--roudi-pid "$other")
        return 0
    fi
    if ! command -v iox-roudi >/dev/null; then
        log "iox-roudi not found: the iceoryx rows are left out"
        return 0
    fi
    iox-roudi -c "$ROOT/bench/compare/roudi.toml" >"$OUT/roudi.log" 2>&1 &
    ROUDI_PID=$!
    for i in $(seq 200); do
        if grep -q 'RouDi is ready for clients' "$OUT/roudi.log"; then
            log "iox-roudi ready (pid $ROUDI_PID)"
            ROUDI_ARGS=(--roudi-pid "$ROUDI_PID")
            return 0
        fi
        if ! kill -0 "$ROUDI_PID" 2>/dev/null; then
            break
        fi
        [ "$i" = 200 ] || sleep 0.1
    done
    log "iox-roudi did not start (see $OUT/roudi.log): the iceoryx rows are left out"
    stop_roudi
}
start_roudi

# ---- 4. the benchmarks ----
STATUS=0
log "running bench_compare (progress below; the report goes to $OUT/report.md)"
"$BIN/bench_compare" "${QUICK_ARG[@]}" "${ROUDI_ARGS[@]}" --out "$OUT" "$@" \
    >"$OUT/compare.md" || STATUS=1
log "running bench_compare_lifecycle"
"$BIN/bench_compare_lifecycle" "${QUICK_ARG[@]}" >"$OUT/lifecycle.md" || STATUS=1
stop_roudi

# ---- 5. BENCHMARKS.md and the plots ----
RESULTS=$ROOT/bench/compare/results
plots() {
    if ! command -v gnuplot >/dev/null; then
        log "gnuplot not found: no plots"
        return 0
    fi
    mkdir -p "$RESULTS"
    gnuplot -e "data='$OUT'; out='$RESULTS'" "$ROOT/bench/compare/plots.gp" >&2
    cp "$OUT"/latency_cdf.dat "$OUT"/latency_p50.dat "$OUT"/throughput.dat \
        "$OUT"/fanout.dat "$RESULTS"/
}

# The generated part of the section: the reports and links to the plots.
generated() {
    printf '<!-- compare:generated:begin -->\n'
    printf '<!-- Written by bench/compare.sh; edits here are overwritten. -->\n\n'
    printf 'librpc source: %s\n\n' "$SOURCE_STATE"
    cat "$OUT/compare.md"
    printf '\n#### Joining, leaving and noticing a crash (bench_compare_lifecycle)\n\n'
    # Its own title line is replaced by the heading above.
    sed -e '1{/^#/d}' "$OUT/lifecycle.md"
    printf '\n#### Plots\n\n'
    printf '![one-way latency distribution, 64 B](bench/compare/results/latency_cdf.png)\n\n'
    printf '![throughput against payload size](bench/compare/results/throughput.png)\n\n'
    printf '![fan-out: messages per second per subscriber](bench/compare/results/fanout.png)\n\n'
    printf '<!-- compare:generated:end -->\n'
}

# Replace the generated part between its markers; without them, put it
# before the section's end marker; without a section, append one.
write_benchmarks() {
    local md=$ROOT/BENCHMARKS.md new=$OUT/generated.md tmp
    generated >"$new"
    tmp=$(mktemp "$md.XXXXXX")
    if grep -q '<!-- compare:generated:begin -->' "$md"; then
        awk -v new="$new" '
            /<!-- compare:generated:begin -->/ { while ((getline l < new) > 0) print l; skip = 1; next }
            /<!-- compare:generated:end -->/ { skip = 0; next }
            !skip { print }' "$md" >"$tmp"
    elif grep -q '<!-- compare:end -->' "$md"; then
        awk -v new="$new" '
            /<!-- compare:end -->/ { while ((getline l < new) > 0) print l; print ""; }
            { print }' "$md" >"$tmp"
    else
        { cat "$md"; printf '\n<!-- compare:begin -->\n## Against the peers\n\n'
          cat "$new"; printf '\n<!-- compare:end -->\n'; } >"$tmp"
    fi
    chmod --reference="$md" "$tmp"
    mv "$tmp" "$md"
    log "wrote the figures into BENCHMARKS.md"
}

if [ "$WRITE" = 1 ]; then
    plots
    write_benchmarks
else
    log "figures in $OUT (BENCHMARKS.md and the plots left alone)"
fi
[ "$STATUS" = 0 ] || log "FAILED: see the messages above"
exit "$STATUS"
