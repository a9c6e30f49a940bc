#!/bin/sh
# run_pubsub.sh - run example_subscriber and example_publisher together and
# check that the subscriber got every message, in order, and that the
# segment is gone afterwards.  Used by ctest (example_pubsub); also a
# template for trying the pair by hand.
#
#   run_pubsub.sh BIN_DIR [COUNT]
#
# The domain is $LIBRPC_SHM_NAME, else /librpc_t_ex_pubsub_<pid>.
# Exit status 0 on success, 1 on failure.
set -u

bin=${1:?usage: run_pubsub.sh BIN_DIR [COUNT]}
count=${2:-100}
LIBRPC_SHM_NAME=${LIBRPC_SHM_NAME:-/librpc_t_ex_pubsub_$$}
export LIBRPC_SHM_NAME
out=$(mktemp) || exit 1
sub_pid=

finish() {
    status=$1
    [ -n "$sub_pid" ] && kill "$sub_pid" 2>/dev/null && wait "$sub_pid" 2>/dev/null
    rm -f "$out"
    # Nobody else uses this name: a segment left now is ours, and a failure.
    if [ -e "/dev/shm$LIBRPC_SHM_NAME" ]; then
        echo "FAIL: /dev/shm$LIBRPC_SHM_NAME outlived the programs" >&2
        rm -f "/dev/shm$LIBRPC_SHM_NAME"
        status=1
    fi
    exit "$status"
}

# The subscriber bounds its own wait (60 s); the publisher waits for it to
# subscribe, so the start order does not matter.
"$bin/example_subscriber" --count "$count" --timeout 60 >"$out" &
sub_pid=$!
"$bin/example_publisher" --count "$count" --rate 500 || {
    echo "FAIL: the publisher failed" >&2
    finish 1
}
wait "$sub_pid"
sub_status=$?
sub_pid=
cat "$out"
if [ "$sub_status" -ne 0 ]; then
    echo "FAIL: the subscriber exited with $sub_status" >&2
    finish 1
fi

# Every message once, in publication order: lines "... #1 from ...: hello 1"
# up to COUNT.
awk -v n="$count" '
    / from publisher-/ { i++; if ($2 != "#" i || $NF != i) bad = 1 }
    END { exit !(i == n && !bad) }' "$out" || {
    echo "FAIL: expected messages 1..$count in order" >&2
    finish 1
}
echo "OK: the subscriber received all $count messages in order"
finish 0
