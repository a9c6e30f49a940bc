#!/bin/sh
# test_ops.sh - the operator commands between real processes: rpcctl topics,
# monitor, watch and cleanup --all.
#
# Usage: test_ops.sh BINDIR   (the directory that holds rpcctl)
#
# What it asserts:
# - topics: with a subscriber (rpcctl echo) and a publisher (rpcctl pub),
#   the table shows each (group, topic) with its publisher and subscribers;
#   --json is valid, schema 1, sorted; no segment: exit 1, "exists": false;
# - monitor --count 2, stdout not a terminal: two plain blocks (no escape
#   codes) showing both nodes, the segment's queue use and, in the second,
#   non-zero message and byte rates; a missing segment is shown as such;
# - watch --cleanup: waits for a missing segment, logs it in use, and when
#   its only process is SIGKILLed removes the orphan within seconds, with a
#   timestamped line; it leaves a live segment alone (and uses no CPU) while
#   a process stays attached; a clean exit is logged as such; SIGTERM stops
#   it with exit 0;
# - watch without --cleanup logs a clean exit as such (no false orphan),
#   logs an orphan once and leaves it;
# - in a private /dev/shm (unshare --mount, a tmpfs): cleanup --all removes
#   the orphaned and half-initialised librpc segments and leaves the live
#   one, an empty file, a semaphore-sized file, other contents, a directory
#   and another user's file, saying why (table and JSON); the live domain
#   still works; watch --all --cleanup removes an orphan present at start
#   and one made later, and leaves the live segment and the other files.
#   That part runs in a mount namespace (inside a user namespace when not
#   root; LIBRPC_TEST_UNSHARE overrides the command) and is skipped (exit
#   77) where neither is permitted: --all sees every segment of this user,
#   and this test must not touch those of others.
# The names are the test's own (/librpc_t_ops_<pid>_*); the processes it
# starts are ended by pid and the names removed on any exit.

BIN=$1
R="$BIN/rpcctl"
if [ -z "$BIN" ] || [ ! -x "$R" ]; then
    echo "test_ops.sh: usage: test_ops.sh BINDIR (with rpcctl in it)" >&2
    exit 2
fi
PRIVATE=0
if [ "${2:-}" = "--private" ]; then
    PRIVATE=1
fi
P="/librpc_t_ops_$$"
TMP=$(mktemp -d "${TMPDIR:-/tmp}/librpc_ops.XXXXXX") || exit 1
PIDS=""
NAMES=""
unset LIBRPC_TEST_CRASH_AT LIBRPC_SHM_NAME

cleanup() {
    for p in $PIDS; do
        kill -9 "$p" 2>/dev/null
    done
    for n in $NAMES; do
        "$R" --name "$n" cleanup --force >/dev/null 2>&1
    done
    rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

fail() {
    echo "FAIL: $*" >&2
    for f in "$TMP"/*; do
        [ -s "$f" ] || continue
        echo "    --- $(basename "$f")" >&2
        tail -n 30 "$f" | sed 's/^/    | /' >&2
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
exists() { "$R" --name "$1" status >/dev/null 2>&1; [ $? -ne 1 ]; }
absent() { ! exists "$1"; }
ready() { grep -q "listening on" "$TMP/$1.err" 2>/dev/null; }
logged() { grep -F -q -- "$2" "$1" 2>/dev/null; }
count_lines() { grep -F -c -- "$2" "$1" 2>/dev/null; }
has_count() { [ "$(count_lines "$1" "$2")" -ge "$3" ]; }
have_python() { command -v python3 >/dev/null 2>&1; }

# start_echo TAG NAME ARGS...: rpcctl echo in the background (EPID), back
# once it is subscribed.
start_echo() {
    tag=$1
    name=$2
    shift 2
    NAMES="$NAMES $name"
    # Empty the files first: the child truncates them only once it runs,
    # and a tag used before must not look ready.
    : >"$TMP/$tag.out"
    : >"$TMP/$tag.err"
    "$R" --name "$name" echo "$@" >"$TMP/$tag.out" 2>"$TMP/$tag.err" &
    EPID=$!
    PIDS="$PIDS $EPID"
    wait_until "echo $tag to subscribe" ready_or_dead "$tag" "$EPID"
    alive "$EPID" || fail "echo $tag exited early"
}
ready_or_dead() { ready "$1" || gone "$2"; }

# orphan NAME: a domain whose only process was killed with SIGKILL.
orphan() {
    start_echo "orphan" "$1" g t
    kill -9 "$EPID"
    wait_until "the orphan's process to die" gone "$EPID"
    wait "$EPID" 2>/dev/null
    exists "$1" || fail "no orphan left behind for $1"
}

# cpu_ticks PID: user + system time in clock ticks.
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }

# stop_watch: SIGTERM the watcher WPID; it must exit 0 and log it.
stop_watch() {
    kill -TERM "$WPID"
    wait_until "watch to stop" gone "$WPID"
    wait "$WPID"
    wrc=$?
    [ "$wrc" -eq 0 ] || fail "watch exited $wrc on SIGTERM"
    expect "$WLOG" "rpcctl watch: stopping"
}

# ---------------------------------------------------------------------------
# cleanup --all and watch --all, in a private /dev/shm
# ---------------------------------------------------------------------------

private_part() {
    mount -t tmpfs -o mode=1777 tmpfs /dev/shm 2>/dev/null || exit 77
    [ -z "$(ls -A /dev/shm)" ] || fail "the private /dev/shm is not empty"

    echo "== cleanup --all"
    start_echo live "${P}_live" g t
    LIVE=$EPID
    orphan "${P}_orphan"
    half=0
    LIBRPC_TEST_CRASH_AT=init "$R" --name "${P}_half" echo g t >/dev/null 2>&1
    NAMES="$NAMES ${P}_half"
    if exists "${P}_half"; then
        half=1
    else
        echo "   (library built without test hooks: no half-initialised segment)"
    fi
    : >/dev/shm/empty_file
    head -c 32 /dev/zero >/dev/shm/sem.ops_test
    echo "not librpc" >/dev/shm/text_file
    head -c 64 /dev/zero >/dev/shm/zeros_file
    head -c 2000000 /dev/zero | tr '\0' 'x' >/dev/shm/big_text
    mkdir /dev/shm/a_directory
    foreign=0
    if [ "$(id -u)" -eq 0 ]; then
        : >/dev/shm/foreign_file
        chown 65534 /dev/shm/foreign_file 2>/dev/null && foreign=1
    fi
    run 0 "$R" cleanup --all
    cp "$TMP/out" "$TMP/cleanup_all.out"
    grep -E -q "^removed +${P}_orphan +orphaned +no live process" "$TMP/out" ||
        fail "cleanup --all did not remove the orphan"
    [ $half -eq 0 ] || grep -E -q "^removed +${P}_half +orphaned +half-initialised" "$TMP/out" ||
        fail "cleanup --all did not remove the half-initialised segment"
    grep -E -q "^left +${P}_live +live +1 live process, 1 live node\$" "$TMP/out" ||
        fail "cleanup --all did not leave the live segment"
    grep -E -q "^left +/empty_file +unknown +empty file" "$TMP/out" || fail "empty file"
    grep -E -q "^left +/sem.ops_test +not-librpc +a POSIX named semaphore" "$TMP/out" ||
        fail "semaphore"
    grep -E -q "^left +/text_file +not-librpc +other contents" "$TMP/out" || fail "text file"
    grep -E -q "^left +/zeros_file +not-librpc " "$TMP/out" || fail "zeros file"
    grep -E -q "^left +/big_text +not-librpc +other contents" "$TMP/out" || fail "big text file"
    grep -E -q "^left +/a_directory +not-librpc +not a regular file" "$TMP/out" || fail "directory"
    [ $foreign -eq 0 ] || grep -E -q "^left +/foreign_file +foreign +owned by uid 65534" "$TMP/out" ||
        fail "foreign file"
    expect "$TMP/out" "removed $((1 + half)) orphaned librpc segment"
    absent "${P}_orphan" || fail "the orphan is still there"
    absent "${P}_half" || fail "the half-initialised segment is still there"
    for f in empty_file sem.ops_test text_file zeros_file big_text a_directory; do
        [ -e "/dev/shm/$f" ] || fail "cleanup --all removed /dev/shm/$f"
    done
    [ $foreign -eq 0 ] || [ -e /dev/shm/foreign_file ] || fail "cleanup --all removed another user's file"
    # The live domain is untouched: its subscriber still gets messages.
    alive "$LIVE" || fail "the live segment's process died"
    run 0 "$R" --name "${P}_live" pub g t still-here
    expect "$TMP/out" "1 copy delivered"
    wait_until "the live subscriber to print" logged "$TMP/live.out" "still-here"

    orphan "${P}_orphan2"
    run 0 "$R" cleanup --all --json
    cp "$TMP/out" "$TMP/cleanup_all.json"
    expect "$TMP/out" "{\"name\": \"${P}_orphan2\", \"action\": \"removed\", \"reason\": \"orphaned\""
    expect "$TMP/out" "{\"name\": \"${P}_live\", \"action\": \"left\", \"reason\": \"live\""
    expect "$TMP/out" '"removed": 1,'
    if have_python; then
        python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
assert d["schema"] == 1 and d["directory"] == "/dev/shm", d
names = [s["name"] for s in d["segments"]]
assert names == sorted(names), names
for s in d["segments"]:
    assert set(s) == {"name", "action", "reason", "detail", "error"}, s
    assert s["action"] in ("removed", "left"), s
assert d["removed"] + d["left"] == len(d["segments"]), d
' "$TMP/out" || fail "cleanup --all --json is not the documented JSON"
    fi
    run 2 "$R" cleanup --all --force
    run 2 "$R" cleanup --all --name /x
    run 2 "$R" cleanup --json

    echo "== watch --all --cleanup"
    orphan "${P}_before"
    WLOG="$TMP/watch_all.log"
    "$R" watch --all --cleanup >"$WLOG" 2>&1 &
    WPID=$!
    PIDS="$PIDS $WPID"
    wait_until "watch --all to remove the orphan present at start" absent "${P}_before"
    wait_until "the removal to be logged" logged "$WLOG" "${P}_before: removed orphaned segment"
    expect "$WLOG" "${P}_live: in use: 1 live process, 1 live node"
    start_echo later "${P}_later" g t
    wait_until "watch --all to see the new segment" logged "$WLOG" "${P}_later: in use"
    kill -9 "$EPID"
    wait_until "watch --all to remove the new orphan" absent "${P}_later"
    wait_until "the removal to be logged" logged "$WLOG" "${P}_later: removed orphaned segment"
    exists "${P}_live" || fail "watch --all removed the live segment"
    alive "$LIVE" || fail "the live segment's process died"
    for f in empty_file sem.ops_test text_file zeros_file big_text a_directory; do
        [ -e "/dev/shm/$f" ] || fail "watch --all removed /dev/shm/$f"
    done
    kill -TERM "$LIVE"
    wait_until "the live subscriber to leave" gone "$LIVE"
    wait_until "its leaving to be logged" logged "$WLOG" "${P}_live: last process gone, segment removed"
    stop_watch
    if grep -E -q "(empty_file|sem.ops_test|text_file|zeros_file|big_text|a_directory|foreign_file)" "$WLOG"; then
        fail "watch --all logged files that are not librpc's"
    fi
    echo "PASS (private /dev/shm)"
    exit 0
}

if [ $PRIVATE -eq 1 ]; then
    private_part
fi

# ---------------------------------------------------------------------------
# topics, monitor and watch on names of this test
# ---------------------------------------------------------------------------

N="${P}_view"
echo "== topics"
run 1 "$R" --name "$N" topics
expect "$TMP/out" "does not exist"
run 1 "$R" --name "$N" topics --json
expect "$TMP/out" '"exists": false,'
expect "$TMP/out" '"topics": []'
start_echo sub "$N" g t u
SUB=$EPID
"$R" --name "$N" pub g t payload --rate 100 --count 1000000 --size 100 </dev/null 2>"$TMP/pub.err" &
PUB=$!
PIDS="$PIDS $PUB"
has_publisher() { "$R" --name "$N" topics 2>/dev/null | grep -q "rpcctl-pub-$PUB"; }
wait_until "the publisher to be listed" has_publisher
run 0 "$R" --name "$N" topics
grep -E -q "^g +t +rpcctl-pub-$PUB +rpcctl-echo-$SUB\$" "$TMP/out" || fail "topics: g/t row"
grep -E -q "^g +u +- +rpcctl-echo-$SUB\$" "$TMP/out" || fail "topics: g/u row"
head -n 1 "$TMP/out" | grep -E -q "^GROUP +TOPIC +PUBLISHERS +SUBSCRIBERS\$" || fail "topics: header"
run 0 "$R" --name "$N" topics --json
expect "$TMP/out" "{\"group\": \"g\", \"topic\": \"t\","
expect "$TMP/out" "\"publishers\": [{\"node\": \"rpcctl-pub-$PUB\", \"slot\": "
if have_python; then
    python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
pub, sub = "rpcctl-pub-" + sys.argv[2], "rpcctl-echo-" + sys.argv[3]
assert d["schema"] == 1 and d["exists"] is True and d["error"] is None, d
t = [(x["group"], x["topic"]) for x in d["topics"]]
assert t == [("g", "t"), ("g", "u")], t
gt, gu = d["topics"]
assert [e["node"] for e in gt["publishers"]] == [pub], gt
assert [e["node"] for e in gt["subscribers"]] == [sub], gt
assert gu["publishers"] == [] and [e["node"] for e in gu["subscribers"]] == [sub], gu
' "$TMP/out" "$PUB" "$SUB" || fail "topics --json is not the documented JSON"
fi

echo "== monitor"
# rate_ok: one monitor run whose second block shows the publisher sending
# and the subscriber receiving (a loaded machine may stall one window).
rate_ok() {
    "$R" --name "$N" monitor --count 2 --interval 0.5 >"$TMP/monitor.out" 2>&1 || return 1
    awk -v pn="rpcctl-pub-$PUB" -v sn="rpcctl-echo-$SUB" '
        /refresh 2$/ { second = 1 }
        second && $2 == pn && $5 != "0" && $5 != "-" && $7 != "0" { p = 1 }
        second && $2 == sn && $6 != "0" && $6 != "-" && $8 != "0" { s = 1 }
        END { exit !(p && s) }' "$TMP/monitor.out"
}
wait_until "monitor to show message rates" rate_ok
[ "$(grep -c '^rpcctl monitor ' "$TMP/monitor.out")" -eq 2 ] || fail "monitor --count 2: not 2 blocks"
if grep -q "$(printf '\033')" "$TMP/monitor.out"; then
    fail "monitor wrote escape codes to a file"
fi
grep -E -q "^queues: +[1-9][0-9]* of [1-9][0-9]* in use" "$TMP/monitor.out" || fail "monitor: queue use"
grep -E -q "^  SLOT +NAME +PID +STATE +MSG_OUT/S +MSG_IN/S +BYTES_OUT/S +BYTES_IN/S +DROPPED +DROP/S\$" \
    "$TMP/monitor.out" || fail "monitor: node header"
grep -E -q "^  g +t +rpcctl-pub-$PUB +rpcctl-echo-$SUB\$" "$TMP/monitor.out" || fail "monitor: topics"
# The first block has no rates yet.
awk -v pn="rpcctl-pub-$PUB" '/refresh 1$/ { f = 1 } /refresh 2$/ { f = 0 }
    f && $2 == pn && $5 == "-" { ok = 1 } END { exit !ok }' "$TMP/monitor.out" ||
    fail "monitor: the first block shows rates"
run 0 "$R" --name "${P}_none" monitor --count 1
expect "$TMP/out" "segment: does not exist (waiting for ${P}_none to appear)"
run 2 "$R" --name "$N" monitor --interval 0
run 2 "$R" --name "$N" monitor --count 0
run 2 "$R" --name "$N" monitor --json
kill -TERM "$PUB" "$SUB"
wait_until "pub and echo to leave" gone "$PUB"
wait_until "echo to leave" gone "$SUB"
wait_until "the segment to go" absent "$N"

echo "== watch --cleanup"
W="${P}_watch"
NAMES="$NAMES $W"
WLOG="$TMP/watch.log"
"$R" watch --cleanup --name "$W" >"$WLOG" 2>&1 &
WPID=$!
PIDS="$PIDS $WPID"
wait_until "watch to wait for the segment" logged "$WLOG" "$W: does not exist; waiting for it to appear"
start_echo victim "$W" g t
wait_until "watch to see it in use" logged "$WLOG" "$W: in use"
kill -9 "$EPID"
t0=$(date +%s)
wait_until "watch to remove the orphan" absent "$W"
[ $(($(date +%s) - t0)) -le 10 ] || fail "the orphan took more than 10 s to go"
wait_until "the removal to be logged" logged "$WLOG" "$W: removed orphaned segment"
grep -E -q "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3}Z $W: removed orphaned segment: no live process attached \(1 registered node, none alive: rpcctl-echo-$EPID \(pid $EPID\)\)\$" \
    "$WLOG" || fail "the removal line is not as documented"

echo "== watch leaves a live segment alone"
start_echo keeper "$W" g t
KEEP=$EPID
wait_until "watch to see it in use again" has_count "$WLOG" "$W: in use" 2
ticks=$(cpu_ticks "$WPID")
sleep 2 # the window in which watch must do nothing
exists "$W" || fail "watch removed a segment a live process uses"
alive "$KEEP" || fail "the live process died"
[ "$(count_lines "$WLOG" "removed orphaned segment")" -eq 1 ] || fail "watch logged a second removal"
used=$(($(cpu_ticks "$WPID") - ticks))
[ "$used" -le 20 ] || fail "watch used $used clock ticks of CPU in 2 s while waiting"
run 0 "$R" --name "$W" pub g t ping
expect "$TMP/out" "1 copy delivered"
kill -TERM "$KEEP"
wait_until "the keeper to leave" gone "$KEEP"
wait_until "the clean exit to be logged" logged "$WLOG" "$W: last process gone, segment removed"
stop_watch

echo "== watch without --cleanup only logs"
WLOG="$TMP/watch_log.log"
"$R" watch --name "$W" >"$WLOG" 2>&1 &
WPID=$!
PIDS="$PIDS $WPID"
wait_until "watch to start" logged "$WLOG" "$W: does not exist"
# Clean exits are no orphans, even though the last leaver lets go of its
# membership (waking watch) before it removes the segment.
for i in 1 2 3; do
    start_echo clean "$W" g t
    wait_until "watch to see it in use" has_count "$WLOG" "$W: in use" $i
    kill -TERM "$EPID"
    wait_until "clean exit $i to be logged" has_count "$WLOG" "$W: last process gone, segment removed" $i
done
if grep -q "orphaned" "$WLOG"; then
    fail "watch took a clean exit for an orphan"
fi
start_echo victim2 "$W" g t
wait_until "watch to see it in use" has_count "$WLOG" "$W: in use" 4
kill -9 "$EPID"
wait_until "the orphan to be logged" logged "$WLOG" "$W: orphaned: no live process attached"
exists "$W" || fail "watch without --cleanup removed the orphan"
expect "$WLOG" "not removed: run 'rpcctl --name $W cleanup', or watch with --cleanup"
run 0 "$R" --name "$W" cleanup
wait_until "watch to see it go" logged "$WLOG" "$W: no longer exists"
[ "$(count_lines "$WLOG" "$W: orphaned")" -eq 1 ] || fail "the orphan was logged more than once"
stop_watch

echo "== usage"
run 2 "$R" watch --count 3
run 2 "$R" watch --all --name /x
run 2 "$R" topics --interval 1
run 2 "$R" --name "$W" watch extra
for c in topics monitor watch cleanup; do
    run 0 "$R" "$c" --help
    expect "$TMP/out" "Usage: rpcctl $c"
done
run 0 "$R" --version
expect "$TMP/out" "rpcctl (librpc) "

echo "PASS"

# The --all commands run in a private /dev/shm, or not at all: as root a
# mount namespace, otherwise one inside a user namespace, where allowed.
if [ -n "${LIBRPC_TEST_UNSHARE:-}" ]; then
    UNSHARE=$LIBRPC_TEST_UNSHARE
elif unshare --mount --propagation private true 2>/dev/null; then
    UNSHARE="unshare --mount --propagation private"
elif unshare --user --map-root-user --mount --propagation private true 2>/dev/null; then
    UNSHARE="unshare --user --map-root-user --mount --propagation private"
else
    echo "SKIP: unshare --mount is not permitted here: cleanup --all and watch --all not tested"
    exit 77
fi
$UNSHARE sh "$0" "$BIN" --private
exit $?
