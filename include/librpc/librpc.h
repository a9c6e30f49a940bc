/**
 * @file
 * @brief The whole public API in one include.
 *
 * librpc is a publish/subscribe library for processes on one machine.  Nodes
 * meet in a domain: one POSIX shared-memory segment, created by the first
 * node and removed by the last, reclaimed after crashes.  See README.md.
 *
 * @defgroup version Version
 * @brief The library's version.  See librpc/librpc.h.
 */

/**
 * @mainpage librpc API reference
 *
 * librpc is a C11 library for publish/subscribe between processes on one
 * Linux machine.  Processes create named nodes in a domain; the nodes of one
 * domain meet in one POSIX shared-memory segment (by default `/librpc_shm`).
 * There is no daemon: the first node creates the segment and the last one
 * removes it, and liveness comes from kernel-held file locks, so processes
 * killed with SIGKILL are noticed and cleaned up after by the survivors.
 *
 * Include librpc/librpc.h; link with `-lrpc` (pkg-config `librpc`, CMake
 * `librpc::librpc`).
 *
 * | header          | what it declares                                     |
 * |-----------------|------------------------------------------------------|
 * | librpc/error.h  | @ref errors "error codes", rpc_strerror(), rpc_errdetail() |
 * | librpc/config.h | @ref config "configuration": segment, size, limits    |
 * | librpc/node.h   | @ref nodes "nodes": rpc_node_create(), rpc_node_destroy() |
 * | librpc/pubsub.h | @ref pubsub "publish/subscribe": rpc_publish() and co. |
 * | librpc/events.h | @ref events "node events": rpc_node_set_event_cb()   |
 * | librpc/domain.h | @ref domain "domain queries and clean-up"            |
 * | librpc/librpc.h | all of the above, and rpc_version()                  |
 *
 * Conventions, the same for every function:
 * - A function that can fail returns 0 (or a non-negative count) on success
 *   and a negative RPC_E* code on failure; each function lists its codes
 *   under "Errors".  rpc_strerror() gives the code's text and
 *   rpc_errdetail() the details of the calling thread's last failure.
 * - Each function says under "Thread-safety" from which threads it may be
 *   called.
 * - A `const rpc_config *` argument may be NULL for the defaults.
 *
 * The life-cycle protocol, the data plane and the tools are described in
 * README.md and docs/ in the source tree.
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

/** @addtogroup version
 * @{ */

/** Major version of these headers; the shared library's soname follows it. */
#define RPC_VERSION_MAJOR 0
/** Minor version of these headers. */
#define RPC_VERSION_MINOR 1
/** Patch version of these headers. */
#define RPC_VERSION_PATCH 0
/** Version of these headers as a string. */
#define RPC_VERSION_STRING "0.1.0"

/**
 * The version string of the library linked at run time, such as "0.1.0";
 * it may differ from RPC_VERSION_STRING, the headers' version.
 * @return a static string.
 * @par Errors
 * None.
 * @par Thread-safety
 * Safe from any thread.
 */
const char *rpc_version(void);

/** @} */

#ifdef __cplusplus
}
#endif
#endif
