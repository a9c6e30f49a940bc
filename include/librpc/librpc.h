/*
 * librpc/librpc.h - the whole public API in one include.
 *
 * librpc is a publish/subscribe library for processes on one machine.  Nodes
 * meet in a domain: one POSIX shared-memory segment, created by the first
 * node and removed by the last, reclaimed after crashes.  See README.md.
 */
#ifndef LIBRPC_LIBRPC_H
#define LIBRPC_LIBRPC_H

#include "error.h"
#include "config.h"
#include "node.h"
#include "domain.h"
#include "pubsub.h"
#include "events.h"

#ifdef __cplusplus
extern "C" {
#endif

#define RPC_VERSION_MAJOR 0
#define RPC_VERSION_MINOR 1
#define RPC_VERSION_PATCH 0
#define RPC_VERSION_STRING "0.1.0"

/* rpc_version - the library's version string, e.g. "0.1.0".  Thread-safe. */
const char *rpc_version(void);

#ifdef __cplusplus
}
#endif
#endif
