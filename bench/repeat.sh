#!/bin/sh
# repeat.sh - run bench_lifecycle several times and summarise the runs.
#
# Prints every run's table into DIR (default: a fresh temporary directory),
# then the run whose "(a)" P50 is the median of all runs, and for every row
# the P50 of each run with their spread (max - min), so BENCHMARKS.md can
# report "the median run, and the spread" from one command.
#
# Usage: bench/repeat.sh [-n RUNS] [-b BUILD_DIR] [-o DIR] [-- bench arguments]
#   defaults: 3 runs, build directory "build", arguments "--iterations 20000"
set -eu

runs=3
build=build
outdir=
while [ $# -gt 0 ]; do
    case $1 in
    -n) runs=$2; shift 2 ;;
    -b) build=$2; shift 2 ;;
    -o) outdir=$2; shift 2 ;;
    --) shift; break ;;
    -h|--help) sed -n '2,12p' "$0"; exit 0 ;;
    *) echo "repeat.sh: unknown argument $1 (see --help)" >&2; exit 2 ;;
    esac
done
[ $# -gt 0 ] || set -- --iterations 20000

bench=$build/bin/bench_lifecycle
if [ ! -x "$bench" ]; then
    echo "repeat.sh: $bench not found; build first (cmake --build $build)" >&2
    exit 2
fi
if [ -z "$outdir" ]; then
    outdir=$(mktemp -d "${TMPDIR:-/tmp}/bench_lifecycle.XXXXXX")
fi
mkdir -p "$outdir"

i=1
while [ "$i" -le "$runs" ]; do
    echo "run $i/$runs: $bench $*" >&2
    # Zero-padded, so that the shell's glob below lists them in run order.
    out=$outdir/run$(printf %02d "$i").txt
    "$bench" "$@" > "$out"
    # Other work on the machine inflates the tails: record how busy it was.
    if [ -r /proc/loadavg ]; then
        echo "load average after the run: $(cut -d' ' -f1-3 /proc/loadavg)" >> "$out"
    fi
    i=$((i + 1))
done

# Table rows look like "| (a) label | samples | min | P50 | P99 | P99.9 | max |"
# with values such as "3.80 µs" or "45.1 ms"; compare them in microseconds.
awk -v runs="$runs" -v dir="$outdir" '
function us(v,   n) { n = v + 0; if (v ~ /ms/) n *= 1000; return n }
FNR == 1 { run++ }
/^\| \(/ {
    split($0, f, "|")
    label = f[2]; gsub(/^ +| +$/, "", label)
    if (!(label in seen)) { seen[label] = 1; order[++nrows] = label }
    p50[label, run] = us(f[5]); text[label, run] = f[5]
    if (label ~ /^\(a\) /) key[run] = us(f[5])
}
END {
    # The median run by the (a) P50.
    for (r = 1; r <= runs; r++) idx[r] = r
    for (r = 1; r <= runs; r++)
        for (s = r + 1; s <= runs; s++)
            if (key[idx[s]] < key[idx[r]]) { t = idx[r]; idx[r] = idx[s]; idx[s] = t }
    med = idx[int((runs + 1) / 2)]
    file = sprintf("%s/run%02d.txt", dir, med)
    printf "median run (by the (a) P50): run %d of %d, %s\n\n", med, runs, file
    while ((getline line < file) > 0) print line
    printf "\nP50 of every run, and the spread (max - min) across runs:\n\n"
    printf "| operation |"
    for (r = 1; r <= runs; r++) printf " run %d |", r
    printf " spread |\n|---|"
    for (r = 1; r <= runs; r++) printf "---:|"
    printf "---:|\n"
    for (k = 1; k <= nrows; k++) {
        l = order[k]; lo = hi = p50[l, 1]
        printf "| %s |", l
        for (r = 1; r <= runs; r++) {
            v = p50[l, r]; printf "%s|", text[l, r]
            if (v < lo) lo = v
            if (v > hi) hi = v
        }
        if (hi - lo >= 1000) printf " %.2f ms |\n", (hi - lo) / 1000
        else printf " %.1f µs |\n", hi - lo
    }
}' "$outdir"/run*.txt
