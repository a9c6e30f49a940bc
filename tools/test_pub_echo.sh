#!/bin/sh
# test_pub_echo.sh - rpcctl pub and rpcctl echo between real processes.
#
# Usage: test_pub_echo.sh BINDIR   (the directory that holds rpcctl)
#
# What it asserts:
# - text: echo prints each message as "[g/t] seq=N from=rpcctl-pub-PID
#   size=S: TEXT", in order, exactly --count of them, then exits 0; pub from
#   an argument (--count) and from standard input; pub's summary line;
# - the counters: while echo runs, `rpcctl nodes` (table and --json) shows
#   what it received;
# - binary payloads print as hex (zero-filled --size, bytes from stdin, the
#   64-byte preview with "..."); --size repeats the message;
# - --json: one valid JSON object per message, "text" or "hex";
# - non-blocking pub into a stopped subscriber: exit 6, published copies =
#   delivered + dropped, and echo prints exactly the delivered ones;
# - echo --timeout: exit 1 with nothing (or too little) received;
# - SIGTERM and a closed output stop echo cleanly: exit 0 and, as it was the
#   last node, no segment is left;
# - pub without a segment: exit 1 and it creates none;
# - usage errors exit 2.
# The segment name is the test's own (/librpc_t_pubecho_<pid>); echo
# processes are ended by pid and the segment is removed on any exit.

BIN=$1
R="$BIN/rpcctl"
if [ -z "$BIN" ] || [ ! -x "$R" ]; then
    echo "test_pub_echo.sh: usage: test_pub_echo.sh BINDIR (with rpcctl in it)" >&2
    exit 2
fi
N="/librpc_t_pubecho_$$"
TMP=$(mktemp -d "${TMPDIR:-/tmp}/librpc_pubecho.XXXXXX") || exit 1
PIDS=""
unset LIBRPC_TEST_CRASH_AT LIBRPC_SHM_NAME

cleanup() {
    for p in $PIDS; do
        kill -CONT "$p" 2>/dev/null
        kill -9 "$p" 2>/dev/null
    done
    "$R" --name "$N" cleanup --force >/dev/null 2>&1
    rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

fail() {
    echo "FAIL: $*" >&2
    for f in "$TMP"/*; do
        [ -s "$f" ] || continue
        echo "    --- $(basename "$f")" >&2
        head -n 20 "$f" | sed 's/^/    | /' >&2
    done
    exit 1
}

# run RC CMD...: run CMD (output in $TMP/out) and check its exit code.
run() {
    want=$1
    shift
    "$@" >"$TMP/out" 2>&1
    rc=$?
    [ "$rc" -eq "$want" ] || fail "'$*' exited $rc, expected $want"
}

expect() { # FILE TEXT: FILE contains TEXT (a fixed string)
    grep -F -q -- "$2" "$1" || fail "$(basename "$1") lacks '$2'"
}

# wait_until WHAT CMD...: poll CMD every 20 ms for up to 20 s.
wait_until() {
    what=$1
    shift
    end=$(($(date +%s) + 20))
    until "$@"; do
        [ "$(date +%s)" -le "$end" ] || fail "timed out waiting for $what"
        sleep 0.02
    done
}

alive() { kill -0 "$1" 2>/dev/null; }
gone() { ! kill -0 "$1" 2>/dev/null; }
lines() { wc -l <"$1" | tr -d ' '; }
has_lines() { [ "$(lines "$1")" -ge "$2" ]; }
listed() { "$R" --name "$N" nodes 2>/dev/null | grep -q "rpcctl-echo-$1 "; }
ready() { grep -q "listening on" "$TMP/$1.err" 2>/dev/null; }
segment_gone() { "$R" --name "$N" status >/dev/null 2>&1; [ $? -eq 1 ]; }

# start_echo TAG ARGS...: rpcctl echo ARGS in the background, output in
# $TMP/TAG.out and .err; returns once it is subscribed (EPID is its pid).
start_echo() {
    tag=$1
    shift
    "$R" --name "$N" echo "$@" >"$TMP/$tag.out" 2>"$TMP/$tag.err" &
    EPID=$!
    PIDS="$PIDS $EPID"
    # Listed: it joined; "listening": its subscriptions are in place.
    wait_until "echo $tag to join" listed_or_dead "$EPID"
    alive "$EPID" || fail "echo $tag exited early"
    wait_until "echo $tag to subscribe" ready "$tag"
}
listed_or_dead() { listed "$1" || gone "$1"; }

# finish_echo: wait (with a deadline) for echo EPID to exit; ERC = its code.
finish_echo() {
    wait_until "echo $EPID to exit" gone "$EPID"
    wait "$EPID"
    ERC=$?
}

# pub ARGS...: rpcctl pub with standard input from /dev/null; its pid in
# PPID_, exit code in PRC, stderr in $TMP/pub.err.  (It runs in the
# background only to learn its pid, which names its node.)
pub() {
    "$R" --name "$N" pub "$@" </dev/null 2>"$TMP/pub.err" &
    PPID_=$!
    wait "$PPID_"
    PRC=$?
}

# pub_lines TEXT ARGS...: the same with TEXT (printf format) as input.
pub_lines() {
    printf "$1" >"$TMP/in"
    shift
    "$R" --name "$N" pub "$@" <"$TMP/in" 2>"$TMP/pub.err" &
    PPID_=$!
    wait "$PPID_"
    PRC=$?
}

echo "== text, counters, stdin"
start_echo text g t u --count 6
pub g t "hello world" --count 5
[ "$PRC" -eq 0 ] || fail "pub exited $PRC"
expect "$TMP/pub.err" "pub g/t: 5 messages published, 5 copies delivered, 0 dropped"
wait_until "5 messages" has_lines "$TMP/text.out" 5
i=1
while [ $i -le 5 ]; do
    line=$(sed -n "${i}p" "$TMP/text.out")
    [ "$line" = "[g/t] seq=$i from=rpcctl-pub-$PPID_ size=11: hello world" ] ||
        fail "line $i is '$line'"
    i=$((i + 1))
done
run 0 "$R" --name "$N" nodes
grep -E -q "rpcctl-echo-$EPID +$EPID +alive +0 +0 +0 +5 +0 +55\$" "$TMP/out" ||
    fail "nodes does not show 5 messages (55 bytes) received"
run 0 "$R" --name "$N" nodes --json
expect "$TMP/out" '"stats": {"published": 0, "delivered": 0, "dropped": 0, "received": 5, "bytes_out": 0, "bytes_in": 55}'
if command -v python3 >/dev/null 2>&1; then
    python3 -m json.tool "$TMP/out" >/dev/null || fail "nodes --json is not valid JSON"
fi
run 0 "$R" --name "$N" status --json
expect "$TMP/out" '"received": 5'
pub_lines 'from stdin\n' g u
[ "$PRC" -eq 0 ] || fail "pub from stdin exited $PRC"
finish_echo
[ "$ERC" -eq 0 ] || fail "echo --count 6 exited $ERC"
[ "$(lines "$TMP/text.out")" -eq 6 ] || fail "echo printed $(lines "$TMP/text.out") lines, not 6"
[ "$(sed -n 6p "$TMP/text.out")" = "[g/u] seq=1 from=rpcctl-pub-$PPID_ size=10: from stdin" ] ||
    fail "stdin line: '$(sed -n 6p "$TMP/text.out")'"
wait_until "the last node to remove the segment" segment_gone

echo "== binary payloads and --size"
start_echo bin g b --count 4
pub g b "" --size 100
pub_lines '\001\002\377\n' g b
pub g b ab --size 5
pub g b "tab	ok"
finish_echo
[ "$ERC" -eq 0 ] || fail "echo exited $ERC"
zeros=$(printf '%0128d' 0)
expect "$TMP/bin.out" "size=100 hex: $zeros..."
expect "$TMP/bin.out" "size=3 hex: 0102ff"
expect "$TMP/bin.out" "size=5: ababa"
expect "$TMP/bin.out" "size=6: tab	ok"
grep -E -q '^\[g/b\] seq=1 from=rpcctl-pub-[0-9]+ size=3 hex: 0102ff$' "$TMP/bin.out" ||
    fail "binary line format"

echo "== --json"
start_echo json g j --count 3 --json
pub g j 'say "hi"' --count 2
pub_lines '\001\002\377\n' g j
finish_echo
[ "$ERC" -eq 0 ] || fail "echo --json exited $ERC"
[ "$(lines "$TMP/json.out")" -eq 3 ] || fail "echo --json printed $(lines "$TMP/json.out") lines"
expect "$TMP/json.out" '{"group": "g", "topic": "j", "seq": 2, "publisher": "rpcctl-pub-'
expect "$TMP/json.out" '"size": 8, "text": "say \"hi\""}'
expect "$TMP/json.out" '"size": 3, "hex": "0102ff"}'
if command -v python3 >/dev/null 2>&1; then
    python3 -c '
import json, sys
for line in open(sys.argv[1]):
    m = json.loads(line)
    assert set(m) >= {"group", "topic", "seq", "publisher", "size"}, m
    assert ("text" in m) != ("hex" in m), m
' "$TMP/json.out" || fail "echo --json lines are not the documented JSON"
fi

echo "== non-blocking pub into a stopped subscriber"
start_echo drop g d --timeout 2
kill -STOP "$EPID"
wait_until "echo to stop" grep -q '^State:.*T' "/proc/$EPID/status"
pub g d x --size 60000 --count 10 --timeout 0
kill -CONT "$EPID"
[ "$PRC" -eq 6 ] || fail "pub with drops exited $PRC, expected 6"
sum=$(sed -n 's/.*: 10 messages published, \([0-9]*\) cop[a-z]* delivered, \([0-9]*\) dropped.*/\1 \2/p' "$TMP/pub.err")
[ -n "$sum" ] || fail "no summary from pub"
set -- $sum
[ $(($1 + $2)) -eq 10 ] || fail "delivered $1 + dropped $2 is not 10"
[ "$2" -ge 1 ] || fail "nothing dropped from a stopped subscriber's full queue"
expect "$TMP/pub.err" "found a full queue"
finish_echo
[ "$ERC" -eq 0 ] || fail "echo exited $ERC after receiving"
[ "$(lines "$TMP/drop.out")" -eq "$1" ] || fail "echo printed $(lines "$TMP/drop.out") of $1 delivered"

echo "== --timeout"
run 1 "$R" --name "$N" echo g quiet --timeout 0.3
expect "$TMP/out" "no message arrived within 0.3 s"
start_echo short g s --count 2 --timeout 2
pub g s one
finish_echo
[ "$ERC" -eq 1 ] || fail "echo with 1 of --count 2 exited $ERC, expected 1"
expect "$TMP/short.err" "of 2"

echo "== SIGTERM and a closed output stop echo cleanly"
start_echo term g t
kill -TERM "$EPID"
finish_echo
[ "$ERC" -eq 0 ] || fail "echo exited $ERC on SIGTERM"
segment_gone || fail "echo left the segment after SIGTERM"
{ "$R" --name "$N" echo g p 2>"$TMP/pipe.err"; echo $? >"$TMP/pipe.rc"; } | head -n 1 >"$TMP/pipe.out" &
wait_until "echo | head to subscribe" ready pipe
EPID=$(sed -n 's/.*node rpcctl-echo-\([0-9]*\) listening.*/\1/p' "$TMP/pipe.err")
PIDS="$PIDS $EPID"
pub g p first
wait_until "head to exit" has_lines "$TMP/pipe.out" 1
pub g p second
wait_until "echo to see the closed pipe" test -s "$TMP/pipe.rc"
[ "$(cat "$TMP/pipe.rc")" -eq 0 ] || fail "echo exited $(cat "$TMP/pipe.rc") on a closed pipe"
expect "$TMP/pipe.out" "first"
wait_until "the segment to go" segment_gone

echo "== pub without a segment"
run 1 "$R" --name "$N" pub g t x
expect "$TMP/out" "does not exist"
segment_gone || fail "pub created the segment"

echo "== usage errors"
run 2 "$R" --name "$N" echo g;         expect "$TMP/out" "no wildcards"
run 2 "$R" --name "$N" echo
run 2 "$R" --name "$N" pub g
run 2 "$R" --name "$N" pub g t a b
run 2 "$R" --name "$N" pub g "a b" x
run 2 "$R" --name "$N" pub g "$(printf '%064d' 0)" x
run 2 "$R" --name "$N" pub g t x --count 0
run 2 "$R" --name "$N" pub g t x --rate 0
run 2 "$R" --name "$N" pub g t x --size -1
run 2 "$R" --name "$N" pub g t x --timeout -2
run 2 "$R" --name "$N" pub g t x --json
run 2 "$R" --name "$N" echo g t --timeout 0
run 2 "$R" --name "$N" echo g t --size 3
run 2 "$R" --name "$N" status --count 1
run 2 "$R" --name "$N" pub g t x --count
run 0 "$R" pub --help;  expect "$TMP/out" "there is no history"
run 0 "$R" help echo;   expect "$TMP/out" "no wildcards"
segment_gone || fail "a usage error created the segment"

echo "PASS"
