#!/bin/sh
# test_tools.sh - rpcctl, test_shm_cleanup and the seed's cron script.
#
# Usage: test_tools.sh [BINDIR]   (default: $LIBRPC_TEST_BINDIR)
#
# What it asserts:
# - exit codes of both tools for: no segment (1), usage errors (2), clean-up
#   refused while live (3), bad segment (4), success (0); usage errors print
#   usage text; --help exits 0;
# - "shared memory: does not exist" from test_shm_cleanup status;
# - test_shm_cleanup without arguments passes and leaves nothing;
# - status/nodes show a live domain, its nodes, and an orphan as orphaned;
#   status --json is valid JSON;
# - the seed's cron script ("status, then cleanup if status exited 0") and
#   tools/cleanup_shm.sh leave a live segment alone (its owner keeps
#   working) and remove an orphan; a foreign (garbage) file survives them
#   and goes only with cleanup --force.
# Every segment name is the test's own (/librpc_t_tools_*_<pid>); workers are
# ended by pid and the names removed on any exit.

BIN=${1:-${LIBRPC_TEST_BINDIR:-}}
if [ -z "$BIN" ] || [ ! -x "$BIN/rpcctl" ] || [ ! -x "$BIN/test_shm_cleanup" ] ||
   [ ! -x "$BIN/mp_worker" ]; then
    echo "test_tools.sh: need BINDIR with rpcctl, test_shm_cleanup and mp_worker" >&2
    exit 2
fi
SRC=$(CDPATH="" cd -- "$(dirname -- "$0")/.." && pwd)
TMP=$(mktemp -d "${TMPDIR:-/tmp}/librpc_tools.XXXXXX") || exit 1
NAMES=""
PIDS=""
unset LIBRPC_TEST_CRASH_AT

# shellcheck disable=SC2317  # called from the trap
cleanup() {
    for p in $PIDS; do kill -9 "$p" 2>/dev/null; { wait "$p"; } 2>/dev/null; done
    for n in $NAMES; do rm -f "/dev/shm$n"; done
    rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

fail() {
    echo "FAIL: $*" >&2
    [ -f "$TMP/out" ] && sed 's/^/    | /' "$TMP/out" >&2
    exit 1
}

# new_name TAG: set N to a fresh segment name of this test (no subshell, so
# the exit trap knows every name).
new_name() {
    N="/librpc_t_tools_$1_$$"
    NAMES="$NAMES $N"
}

now_ms() { echo $(( $(date +%s%N) / 1000000 )); }

# wait_until MS CMD...: poll CMD every 20 ms up to MS milliseconds.
wait_until() {
    limit=$(( $(now_ms) + $1 )); shift
    while ! "$@"; do
        [ "$(now_ms)" -gt "$limit" ] && return 1
        sleep 0.02
    done
    return 0
}

# run WANT_RC CMD...: run with output in $TMP/out, assert the exit code.
run() {
    want=$1; shift
    "$@" >"$TMP/out" 2>&1
    rc=$?
    [ "$rc" -eq "$want" ] || fail "'$*' exited $rc, want $want"
}

expect_out() { grep -q -- "$1" "$TMP/out" || fail "output lacks '$1'"; }
exists() { [ -e "/dev/shm$1" ]; }

# start_worker NAME NODES: a worker holding NODES nodes until signalled.
start_worker() {
    out="$TMP/worker.$(date +%s%N)"
    "$BIN/mp_worker" --name "$1" --nodes "$2" --wait >"$out" 2>&1 &
    WPID=$!
    PIDS="$PIDS $WPID"
    wait_until 20000 grep -q '^ready' "$out" || fail "worker did not get ready: $(cat "$out")"
}

# kill_worker PID SIGNAL: signal a worker, reap it (exit code in WRC) and
# forget its pid, so the exit trap never signals a reused pid.
kill_worker() {
    kill "-$2" "$1"
    { wait "$1"; } 2>/dev/null   # no "Killed" job notice: the kill is intended
    WRC=$?
    PIDS=$(echo " $PIDS " | sed "s/ $1 / /")
}

# The seed's cron script, verbatim but for the program's directory.
cat >"$TMP/cleanup_shm.sh" <<EOF
#!/bin/bash
# cleanup_shm.sh
"$BIN/test_shm_cleanup" status
if [ \$? -eq 0 ]; then
    "$BIN/test_shm_cleanup" cleanup
fi
EOF
SEED_CRON="$TMP/cleanup_shm.sh"
TOOLS_CRON="$SRC/tools/cleanup_shm.sh"
[ -f "$TOOLS_CRON" ] || TOOLS_CRON="$BIN/cleanup_shm.sh"

R="$BIN/rpcctl"
T="$BIN/test_shm_cleanup"

echo "== no segment"
new_name none
export LIBRPC_SHM_NAME="$N"
run 1 "$T" status;           expect_out "shared memory: does not exist"
run 1 "$T" cleanup
run 1 "$R" status
run 1 "$R" status --json
run 1 "$R" nodes
run 1 "$R" cleanup
run 1 "$R" --name "$N" status
exists "$N" && fail "a read-only tool created the segment"

echo "== usage errors"
run 2 "$R" --bogus;             expect_out "sage"
run 2 "$R" frobnicate
run 2 "$R" status extra-arg
run 2 "$R" cleanup --forse
run 2 "$R" --name noslash status
run 2 "$R" --name /a/b status
run 2 "$T" bogus
run 2 "$T" status extra
run 2 env LIBRPC_SHM_NAME=bad "$T" status
run 0 "$R" --help;              expect_out "sage"
run 0 "$T" --help

echo "== test_shm_cleanup automatic test"
run 0 "$T"
expect_out "cleaned up automatically"
exists "$N" && fail "the automatic test left the segment"

echo "== live segment: status, nodes, refused clean-up, cron scripts"
new_name live
export LIBRPC_SHM_NAME="$N"
start_worker "$N" 2
W=$WPID
run 0 "$T" status;   expect_out "shared memory: exists"; expect_out "orphaned: no"
run 0 "$R" status;   expect_out "mpw-$W-0"; expect_out "alive"
run 0 "$R" status --json
if command -v python3 >/dev/null 2>&1; then
    python3 -m json.tool "$TMP/out" >/dev/null 2>&1 || fail "status --json is not valid JSON"
elif command -v jq >/dev/null 2>&1; then
    jq . "$TMP/out" >/dev/null 2>&1 || fail "status --json is not valid JSON"
fi
expect_out '"orphaned": false'
run 0 "$R" nodes;    expect_out "mpw-$W-1"
run 3 "$R" cleanup
run 3 "$T" cleanup
exists "$N" || fail "a refused clean-up removed the live segment"
# The seed's script ends with cleanup's own exit code: 3, refused.
run 3 sh "$SEED_CRON"
expect_out "shared memory: exists"
exists "$N" || fail "the seed's cron script removed a live segment"
run 0 sh "$TOOLS_CRON"
exists "$N" || fail "cleanup_shm.sh removed a live segment"
run 0 "$R" nodes;    expect_out "mpw-$W-0"
kill -0 "$W" || fail "the worker died"
kill_worker "$W" TERM
[ "$WRC" -eq 0 ] || fail "worker exited $WRC after the clean-up attempts (split brain?)"
exists "$N" && fail "last out did not remove the segment"
run 1 "$T" status;   expect_out "shared memory: does not exist"

echo "== orphan: status says so, cron scripts remove it"
for cron in "$SEED_CRON" "$TOOLS_CRON"; do
    start_worker "$N" 1; A=$WPID
    start_worker "$N" 2; B=$WPID
    kill_worker "$A" 9
    kill_worker "$B" 9
    exists "$N" || fail "the killed workers' segment vanished by itself"
    run 0 "$T" status;  expect_out "orphaned: yes"
    run 0 "$R" status;  expect_out "dead"
    run 0 "$R" status --json; expect_out '"orphaned": true'
    run 0 sh "$cron"
    exists "$N" && fail "$(basename "$cron") left the orphan"
    run 1 "$T" status;  expect_out "shared memory: does not exist"
done

echo "== forced clean-up of a live segment"
start_worker "$N" 1
W=$WPID
run 0 "$R" cleanup --force
exists "$N" && fail "cleanup --force did not remove the segment"
kill_worker "$W" 9

echo "== a foreign (garbage) file is left to the administrator"
head -c 8192 /dev/urandom | tr '\000' '\001' >"/dev/shm$N"
run 4 "$R" status
run 0 "$T" status
run 4 "$R" cleanup
run 4 "$T" cleanup
run 4 sh "$TOOLS_CRON"
run 4 sh "$SEED_CRON"
exists "$N" || fail "a clean-up without --force removed a foreign file"
run 0 "$T" cleanup --force
exists "$N" && fail "cleanup --force did not remove the foreign file"

echo "PASS"
exit 0
