#!/usr/bin/env bash
# scripts/analyze.sh - static analysis of the library (src/) and the tools
# (tools/) with cppcheck and clang-tidy, using the checked-in configuration:
#
#   .clang-tidy            the clang-tidy checks; each exclusion is justified
#   cppcheck.suppressions  cppcheck message ids switched off, each justified
#   analyze.suppressions   false positives, one place each: tool | check |
#                          file | text of the flagged line | why
#   analyze.baseline       real findings reported to their owners and not
#                          fixed yet, same format: listed, but do not fail
#
# Usage: scripts/analyze.sh [--only cppcheck|clang-tidy] [--build DIR]
#                           [--jobs N] [--verbose]
#   --build DIR   where to configure the compilation database for clang-tidy
#                 (default: build-analyze at the top of the repository)
#   --verbose     also list the suppressed and the known findings
#
# Exit: 0 no finding outside the two lists; 1 new findings (listed with the
# source line); 2 usage or configuration error; 77 cppcheck or clang-tidy
# is missing (Debian packages: cppcheck clang-tidy).
#
# Entries match on the text of the flagged line (a part of it without
# " | "), not its number, so they survive edits elsewhere in the file.  An
# entry that matches nothing any more is reported as stale, to be removed.
set -eu

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD="$ROOT/build-analyze"
JOBS=$(nproc 2>/dev/null || echo 2)
ONLY=""
VERBOSE=0

usage() {
    sed -n '/^# Usage:/,/^# Exit:/p' "$0" | sed 's/^# \{0,1\}//' | sed '$d' >&2
    exit 2
}

while [ $# -gt 0 ]; do
    case "$1" in
    --only) [ $# -ge 2 ] || usage; ONLY=$2; shift 2 ;;
    --build) [ $# -ge 2 ] || usage; BUILD=$2; shift 2 ;;
    --jobs) [ $# -ge 2 ] || usage; JOBS=$2; shift 2 ;;
    --verbose | -v) VERBOSE=1; shift ;;
    -h | --help) usage ;;
    *) echo "analyze: unknown argument '$1'" >&2; usage ;;
    esac
done
case "$ONLY" in "" | cppcheck | clang-tidy) ;; *) usage ;; esac

CPPCHECK=${CPPCHECK:-$(command -v cppcheck || true)}
CLANG_TIDY=${CLANG_TIDY:-$(command -v clang-tidy || command -v clang-tidy-14 || true)}
if { [ "$ONLY" != clang-tidy ] && [ -z "$CPPCHECK" ]; } ||
   { [ "$ONLY" != cppcheck ] && [ -z "$CLANG_TIDY" ]; }; then
    echo "analyze: cppcheck and clang-tidy are needed (Debian: apt-get install cppcheck clang-tidy)" >&2
    exit 77
fi

TMP=$(mktemp -d "${TMPDIR:-/tmp}/librpc-analyze.XXXXXX")
trap 'rm -rf "$TMP"' EXIT INT TERM
FINDINGS="$TMP/findings"   # tool <TAB> file <TAB> line <TAB> ids <TAB> message
: >"$FINDINGS"
cd "$ROOT"

# ---- cppcheck ------------------------------------------------------------
# cppcheck does not read the system headers, so what the code tests for in
# them is defined here: the OFD lock commands (Linux values; posix.c stops
# with #error without them) and the platform.
run_cppcheck() {
    local out="$TMP/cppcheck.txt" rc=0
    "$CPPCHECK" --enable=warning,style,performance,portability --error-exitcode=1 \
        --inline-suppr --suppressions-list=cppcheck.suppressions \
        --std=c11 --library=posix --library=gnu \
        -D__linux__=1 -D_GNU_SOURCE=1 -DLIBRPC_TEST_HOOKS=1 \
        -DF_OFD_GETLK=36 -DF_OFD_SETLK=37 -DF_OFD_SETLKW=38 \
        -I include -I src -I tools -j "$JOBS" -q \
        --template='{file}:{line}:{column}: {severity}: {message} [{id}]' \
        src tools 2>"$out" || rc=$?
    # Exit 1 also covers cppcheck's own errors (a bad suppression...): any
    # line that is not a finding in our template is one.
    if { [ "$rc" -ne 0 ] && [ "$rc" -ne 1 ]; } ||
       grep -qv '^[^:]*:[0-9]*:[0-9]*: [a-z]*: .* \[[A-Za-z0-9_]*\]$' "$out"; then
        cat "$out" >&2
        echo "analyze: cppcheck failed (exit $rc)" >&2
        exit 2
    fi
    sed -n 's/^\([^:]*\):\([0-9]*\):[0-9]*: \([a-z]*\): \(.*\) \[\([A-Za-z0-9_]*\)\]$/cppcheck\t\1\t\2\t\5\t\3: \4/p' \
        "$out" >>"$FINDINGS"
    echo "analyze: $("$CPPCHECK" --version) on src/ tools/: $(grep -c '^cppcheck' "$FINDINGS" || true) finding(s)"
}

# ---- clang-tidy -----------------------------------------------------------
# A build directory of its own, configured (not built) only for its
# compilation database; the sanitizers and the optional parts stay off, the
# test crash points stay in (so their code is analysed too).
run_clang_tidy() {
    local files n
    cmake -S "$ROOT" -B "$BUILD" -DCMAKE_EXPORT_COMPILE_COMMANDS=ON -DLIBRPC_SANITIZE= \
        -DLIBRPC_BUILD_TESTS=OFF -DLIBRPC_TEST_HOOKS=ON -DLIBRPC_BUILD_BENCH=OFF -DLIBRPC_BUILD_EXAMPLES=OFF \
        >"$TMP/cmake.txt" 2>&1 || { cat "$TMP/cmake.txt" >&2; echo "analyze: cmake failed" >&2; exit 2; }
    # The library is compiled twice (shared and static): analyse each file once.
    files=$(sed -n 's/^ *"file": "\(.*\)",\{0,1\}$/\1/p' "$BUILD/compile_commands.json" |
            grep -E "^$ROOT/(src|tools)/" | sort -u)
    n=$(printf '%s\n' "$files" | grep -c . || true)
    [ "$n" -gt 0 ] || { echo "analyze: no source files in $BUILD/compile_commands.json" >&2; exit 2; }
    mkdir -p "$TMP/tidy"
    # One output file per source, so parallel runs do not interleave lines.
    printf '%s\n' "$files" | xargs -P "$JOBS" -I{} sh -c \
        '"$1" -p "$2" --quiet --extra-arg=-Wno-unknown-warning-option "$4" \
             >"$3/$(printf %s "$4" | tr / _).txt" 2>&1 || true' \
        sh "$CLANG_TIDY" "$BUILD" "$TMP/tidy" {}
    cat "$TMP"/tidy/*.txt |
        sed -n 's/^\([^: ]*\):\([0-9]*\):[0-9]*: \(warning\|error\): \(.*\) \[\([^]]*\)\]$/clang-tidy\t\1\t\2\t\5\t\3: \4/p' |
        sed "s|\t$ROOT/|\t|" | sort -u >>"$FINDINGS"
    echo "analyze: clang-tidy $("$CLANG_TIDY" --version | sed -n 's/.*version \([0-9.]*\).*/\1/p' | head -1) on $n files of src/ tools/: $(grep -c '^clang-tidy' "$FINDINGS" || true) finding(s)"
}

[ "$ONLY" = clang-tidy ] || run_cppcheck
[ "$ONLY" = cppcheck ] || run_clang_tidy

# ---- classify ---------------------------------------------------------------
# Append the flagged source line to each finding, then match the lists.
while IFS="$(printf '\t')" read -r tool file line ids msg; do
    src=""
    [ -f "$file" ] && src=$(sed -n "${line}p" "$file" | tr '\t' ' ')
    printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$tool" "$file" "$line" "$ids" "$msg" "$src"
done <"$FINDINGS" | sort -u >"$TMP/records"

RAN="cppcheck clang-tidy"
[ -z "$ONLY" ] || RAN=$ONLY
awk -F '\t' -v verbose="$VERBOSE" -v records="$TMP/records" -v ran=" $RAN " '
function trim(s) { gsub(/^[ \t]+|[ \t]+$/, "", s); return s }
# Split an entry at its first four " | "; the reason (last) may hold more.
function fields(s, f,    i, p) {
    for (i = 1; i <= 4; i++) {
        p = index(s, " | ")
        if (p == 0) return i
        f[i] = substr(s, 1, p - 1)
        s = substr(s, p + 3)
    }
    f[5] = s
    return 5
}
# list files: tool | check | file | text | why   (# comments, blank lines)
FILENAME != records {
    if ($0 ~ /^[ \t]*(#|$)/) next
    n = fields($0, f)
    if (n != 5 || trim(f[5]) == "") {
        printf "analyze: %s:%d: need \"tool | check | file | text of the line | why\"\n", FILENAME, FNR > "/dev/stderr"
        bad = 1; next
    }
    k = ++entries
    e_list[k] = FILENAME; e_line[k] = FNR
    e_tool[k] = trim(f[1]); e_check[k] = trim(f[2]); e_file[k] = trim(f[3]); e_text[k] = trim(f[4])
    next
}
{
    tool = $1; file = $2; line = $3; ids = "," $4 ","; msg = $5; src = $6
    kind = "new"
    for (k = 1; k <= entries; k++)
        if (e_tool[k] == tool && e_file[k] == file && index(ids, "," e_check[k] ",") &&
            index(src, e_text[k])) {
            used[k] = 1
            kind = e_list[k] ~ /baseline/ ? "known" : "suppressed"
            break
        }
    count[kind]++
    total++
    if (kind == "new" || verbose) {
        printf "%-10s %s:%s: %s [%s] (%s)\n", kind, file, line, msg, $4, tool
        printf "           > %s\n", trim(src)
    }
}
END {
    for (k = 1; k <= entries; k++)
        if (!used[k] && index(ran, " " e_tool[k] " "))
            printf "stale      %s:%d: matches nothing any more: remove it (%s | %s | %s)\n",
                   e_list[k], e_line[k], e_tool[k], e_check[k], e_file[k]
    printf "analyze: %d finding(s): %d false positive(s) suppressed (analyze.suppressions), %d known real finding(s) (analyze.baseline), %d new\n",
           total, count["suppressed"], count["known"], count["new"]
    if (bad) exit 2
    exit count["new"] > 0 ? 1 : 0
}' analyze.suppressions analyze.baseline "$TMP/records"
