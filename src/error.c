/*
 * error.c - error text, and the per-thread detail of the last failure.
 *
 * The detail lives in thread-local storage so that concurrent calls never see
 * each other's messages and no allocation is needed on error paths.
 */
#include "internal.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>

static _Thread_local char detail[512];

static const char *const messages[] = {
    [0] = "success",
    [1] = "invalid argument",
    [2] = "out of memory",
    [3] = "unexpected system error",
    [4] = "invalid segment name (need '/' followed by 1-254 characters, no other '/')",
    [5] = "invalid segment size",
    [6] = "invalid access mode (owner needs read and write, at most 0777)",
    [7] = "invalid node name (1-63 printable characters, no spaces)",
    [8] = "shared-memory segment does not exist",
    [9] = "a live node with this name already exists",
    [10] = "node table of the segment is full",
    [11] = "segment is in use by live processes",
    [12] = "not a librpc segment (wrong magic)",
    [13] = "segment was made by an incompatible librpc layout version",
    [14] = "segment size does not match its header",
    [15] = "segment is truncated",
    [16] = "segment was never (fully) initialised",
    [17] = "segment is corrupt (field out of bounds)",
    [18] = "segment is owned by another user",
    [19] = "permission denied on the segment",
    [20] = "not a regular shared-memory file",
    [21] = "timed out",
    [22] = "handle inherited through fork() is not usable in the child",
    [23] = "subscriber queue full",
    [24] = "message too large",
    [25] = "invalid group or topic name",
    [26] = "no space left in the segment",
    [27] = "not subscribed",
    [28] = "operation does not fit the node's receive mode",
    [29] = "node is being destroyed",
    [30] = "limit reached",
    [31] = "interrupted by a signal",
};

const char *rpc_strerror(int err)
{
    unsigned idx = err <= 0 ? (unsigned)-err : ~0u;
    if (idx < sizeof messages / sizeof messages[0] && messages[idx])
        return messages[idx];
    return "unknown error";
}

const char *rpc_errdetail(void)
{
    return detail;
}

void rpci_clear_detail(void)
{
    detail[0] = '\0';
}

int rpci_fail(int err, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(detail, sizeof detail, fmt, ap);
    va_end(ap);
    return err;
}

int rpci_from_errno(int neg_errno)
{
    switch (-neg_errno) {
    case 0: return RPC_OK;
    case ENOENT: return RPC_ENOENT;
    case EACCES: case EPERM: return RPC_EACCES;
    case ENOMEM: return RPC_ENOMEM;
    case ENAMETOOLONG: case EINVAL: return RPC_EBADNAME;
    case ENOSPC: return RPC_ENOSPC;
    case ETIMEDOUT: return RPC_ETIMEDOUT;
    default: return RPC_ESYS;
    }
}

const char *rpc_version(void)
{
    return RPC_VERSION_STRING;
}
