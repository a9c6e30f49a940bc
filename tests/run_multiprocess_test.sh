#!/bin/bash
# run_multiprocess_test.sh - the seed's multi-process test: rounds of worker
# processes joining and leaving one domain concurrently, some exiting
# normally and some killed with SIGKILL; after every round no segment may be
# left (after the survivors leave, or after one `test_shm_cleanup cleanup`
# when the last processes were killed).
#
# Usage: run_multiprocess_test.sh [BINDIR]
#   BINDIR     where mp_worker and test_shm_cleanup are (default:
#              $LIBRPC_TEST_BINDIR, else ../build/bin beside this script)
# Environment:
#   ROUNDS           number of rounds (default 15)
#   SEED             random seed, printed so a failing run can be repeated
#   LIBRPC_SHM_NAME  the domain to use (default: /librpc_t_mp_<pid>, a name
#                    of its own); it must not exist when the script starts
#
# Round kinds, in turn:
#   normal   3-6 workers create/destroy 1-4 nodes in 1-8 cycles; all exit
#            normally: the last one out must have removed the segment.
#   killed   holders and churners; some holders are SIGKILLed while the
#            others run; the survivors exit last: they must reclaim the dead
#            nodes and remove the segment without any clean-up run.
#   orphan   churners finish, then every holder is SIGKILLed: the segment
#            must be there, orphaned, and one `test_shm_cleanup cleanup`
#            must remove it.
# Every worker that is not killed must exit 0 (mp_worker exits 3 when the
# segment at the path is not the one it is attached to).
# Prints one line per round and "N/N rounds passed"; exits 1 on any failure.

here=$(CDPATH="" cd -- "$(dirname -- "$0")" && pwd)
BIN=${1:-${LIBRPC_TEST_BINDIR:-$here/../build/bin}}
ROUNDS=${ROUNDS:-15}
SEED=${SEED:-$(( $$ ^ $(date +%s) ))}
RANDOM=$SEED
for prog in mp_worker test_shm_cleanup; do
    if [ ! -x "$BIN/$prog" ]; then
        echo "run_multiprocess_test.sh: $BIN/$prog not found: build first (make) or pass BINDIR" >&2
        exit 2
    fi
done
export LIBRPC_SHM_NAME=${LIBRPC_SHM_NAME:-/librpc_t_mp_$$}
unset LIBRPC_TEST_CRASH_AT
SHM="/dev/shm$LIBRPC_SHM_NAME"
if [ -e "$SHM" ]; then
    echo "run_multiprocess_test.sh: $SHM already exists; refusing to disturb it" >&2
    exit 2
fi
TMP=$(mktemp -d "${TMPDIR:-/tmp}/librpc_mp.XXXXXX") || exit 2
PIDS=()

cleanup() {
    local p
    for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null; { wait "$p"; } 2>/dev/null; done
    PIDS=()
    rm -f "$SHM"
    rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

now_ms() { echo $(( $(date +%s%N) / 1000000 )); }
rnd() { echo $(( $1 + RANDOM % ($2 - $1 + 1) )); }   # rnd LO HI

# spawn ARGS...: start an mp_worker; its pid in WPID, output in $TMP/<pid>.
# The subshell execs the worker, so its pid names the output file.
spawn() {
    ( exec >"$TMP/$BASHPID" 2>&1; exec "$BIN/mp_worker" --seed "$RANDOM" "$@" ) &
    WPID=$!
    PIDS+=("$WPID")
}

# wait_ready PID: until the worker printed "ready" (or died), 20 s at most.
wait_ready() {
    local limit=$(( $(now_ms) + 20000 ))
    until grep -q '^ready' "$TMP/$1" 2>/dev/null; do
        kill -0 "$1" 2>/dev/null || return 1
        [ "$(now_ms)" -gt "$limit" ] && return 1
        sleep 0.01
    done
}

# reap PID: wait for it, forget it; exit status in RC.
reap() {
    { wait "$1"; } 2>/dev/null   # no "Killed" job notices: kills are intended
    RC=$?
    local keep=() p
    for p in "${PIDS[@]}"; do [ "$p" != "$1" ] && keep+=("$p"); done
    PIDS=("${keep[@]}")
}

ERR=""
problem() { ERR="${ERR:+$ERR; }$*"; }

# expect_exit0 PID: a worker that must finish normally.
expect_exit0() {
    reap "$1"
    [ "$RC" -eq 0 ] || problem "worker $1 exited $RC: $(tr '\n' ' ' <"$TMP/$1")"
}

# kill9 PID: SIGKILL a worker and check it died of it.
kill9() {
    kill -9 "$1" 2>/dev/null
    reap "$1"
    [ "$RC" -eq 137 ] || problem "killed worker $1 exited $RC instead of dying by SIGKILL"
}

churners() {  # churners N: start N workers that join and leave repeatedly
    CHURN=()
    local i
    for (( i = 0; i < $1; i++ )); do
        spawn --nodes "$(rnd 1 4)" --cycles "$(rnd 1 8)" --hold-max-ms 40
        CHURN+=("$WPID")
        sleep "0.00$(rnd 0 9)"
    done
}

holders() {  # holders N: start N workers that hold nodes until signalled
    HOLD=()
    local i
    for (( i = 0; i < $1; i++ )); do
        spawn --nodes "$(rnd 1 3)" --wait
        HOLD+=("$WPID")
    done
    for i in "${HOLD[@]}"; do wait_ready "$i" || problem "holder $i never got ready"; done
}

round_normal() {
    local n p
    n=$(rnd 3 6)
    WORKERS=$n KILLED=0
    churners "$n"
    for p in "${CHURN[@]}"; do expect_exit0 "$p"; done
    [ -e "$SHM" ] && problem "segment left after every worker exited normally"
}

round_killed() {
    local h c k p i
    h=$(rnd 2 4) c=$(rnd 2 4)
    k=$(rnd 1 $(( h - 1 )))
    WORKERS=$(( h + c )) KILLED=$k
    holders "$h"
    churners "$c"
    for (( i = 0; i < k; i++ )); do
        sleep "0.0$(rnd 0 5)"
        kill9 "${HOLD[$i]}"
    done
    for p in "${CHURN[@]}"; do expect_exit0 "$p"; done
    [ -e "$SHM" ] || problem "segment gone while holders are still attached"
    for (( i = k; i < h; i++ )); do
        kill -TERM "${HOLD[$i]}"
        expect_exit0 "${HOLD[$i]}"
    done
    [ -e "$SHM" ] && problem "segment left after the survivors exited (dead nodes not reclaimed?)"
}

round_orphan() {
    local h c p out
    h=$(rnd 1 3) c=$(rnd 1 4)
    WORKERS=$(( h + c )) KILLED=$h
    holders "$h"
    churners "$c"
    for p in "${CHURN[@]}"; do expect_exit0 "$p"; done
    for p in "${HOLD[@]}"; do kill9 "$p"; done
    [ -e "$SHM" ] || problem "the killed holders' segment vanished without a clean-up"
    out=$("$BIN/test_shm_cleanup" status 2>&1)
    case $out in *"orphaned: yes"*) ;; *) problem "status does not call it orphaned: $out" ;; esac
    out=$("$BIN/test_shm_cleanup" cleanup 2>&1) || problem "test_shm_cleanup cleanup failed: $out"
    [ -e "$SHM" ] && problem "segment left after one test_shm_cleanup cleanup"
}

echo "run_multiprocess_test.sh: $ROUNDS rounds on $LIBRPC_SHM_NAME, SEED=$SEED"
passed=0
start=$(now_ms)
for (( r = 1; r <= ROUNDS; r++ )); do
    ERR=""
    t0=$(now_ms)
    case $(( r % 3 )) in
        1) kind=normal; round_normal ;;
        2) kind=killed; round_killed ;;
        0) kind=orphan; round_orphan ;;
    esac
    # Whatever happened, start the next round from nothing.
    for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null; reap "$p"; done
    rm -f "$TMP"/[0-9]*
    if [ -e "$SHM" ]; then
        "$BIN/test_shm_cleanup" cleanup --force >/dev/null 2>&1 || rm -f "$SHM"
    fi
    if [ -z "$ERR" ]; then
        passed=$(( passed + 1 ))
        printf 'round %2d/%d %-6s %d workers, %d killed: PASS (%d ms)\n' \
            "$r" "$ROUNDS" "$kind" "$WORKERS" "$KILLED" $(( $(now_ms) - t0 ))
    else
        printf 'round %2d/%d %-6s %d workers, %d killed: FAIL: %s\n' \
            "$r" "$ROUNDS" "$kind" "$WORKERS" "$KILLED" "$ERR"
    fi
done
echo "final state:"
"$BIN/test_shm_cleanup" status | sed 's/^/  /'
echo "$passed/$ROUNDS rounds passed ($(( $(now_ms) - start )) ms)"
[ "$passed" -eq "$ROUNDS" ]
