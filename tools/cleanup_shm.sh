#!/bin/sh
# cleanup_shm.sh - the seed's maintenance script (e.g. for cron): remove the
# domain's shared memory if it is orphaned, leave it alone if it is in use.
#
#   test_shm_cleanup status      exit 0 when a segment exists
#   test_shm_cleanup cleanup     removes it only if no live process is
#                                attached, so this is safe at any time
#
# The domain is $LIBRPC_SHM_NAME, else /librpc_shm.  The program is
# $TEST_SHM_CLEANUP if set, else the one beside this script, else the one in
# ../build/bin relative to this script (the source tree), else the PATH.
#
# Exit status: 0 when the domain is clean afterwards or in use by live
# processes (cleanup refused, which is correct); otherwise the failing
# command's exit code (4: bad or foreign segment, 5: other error).

here=$(CDPATH= cd -- "$(dirname -- "$0")" && pwd)

find_program() {
    if [ -n "${TEST_SHM_CLEANUP:-}" ]; then
        echo "$TEST_SHM_CLEANUP"
    elif [ -x "$here/test_shm_cleanup" ]; then
        echo "$here/test_shm_cleanup"
    elif [ -x "$here/../build/bin/test_shm_cleanup" ]; then
        echo "$here/../build/bin/test_shm_cleanup"
    else
        command -v test_shm_cleanup
    fi
}

prog=$(find_program)
if [ -n "${TEST_SHM_CLEANUP:-}" ] && [ ! -x "$prog" ]; then
    echo "cleanup_shm.sh: TEST_SHM_CLEANUP=$prog is not an executable program: fix or unset it" >&2
    exit 5
fi
if [ -z "$prog" ] || [ ! -x "$prog" ]; then
    echo "cleanup_shm.sh: test_shm_cleanup not found beside this script, in ../build/bin or on the PATH: build it (make) or set TEST_SHM_CLEANUP to its path" >&2
    exit 5
fi

"$prog" status
rc=$?
if [ $rc -eq 0 ]; then
    "$prog" cleanup
    rc=$?
    # 1: someone else removed it meanwhile; 3: in use, refused: both fine.
    case $rc in 0|1|3) exit 0 ;; *) exit $rc ;; esac
fi
# 1: no segment, nothing to do.
[ $rc -eq 1 ] && exit 0
exit $rc
