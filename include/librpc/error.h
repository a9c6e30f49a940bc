/**
 * @file
 * @brief Error codes and their text.
 *
 * @defgroup errors Errors
 * @brief The RPC_E* codes every function returns, and their text.
 *
 * Every librpc function that can fail returns 0 (or a non-negative count) on
 * success and one of the negative RPC_E* codes below on failure.  Each code
 * names exactly one cause, so callers can switch on it; rpc_strerror() gives
 * a fixed sentence for it and rpc_errdetail() the last failure's details
 * (which segment, which owner, what was found).
 *
 * Declared in librpc/error.h.
 */
#ifndef LIBRPC_ERROR_H
#define LIBRPC_ERROR_H

#ifdef __cplusplus
extern "C" {
#endif

/** @addtogroup errors
 * @{ */

/** Return codes: 0 for success, a negative value for each cause of failure. */
enum rpc_error {
    RPC_OK = 0,             /**< success */
    RPC_EINVAL = -1,        /**< a NULL or out-of-range argument */
    RPC_ENOMEM = -2,        /**< out of process memory */
    RPC_ESYS = -3,          /**< an unexpected system-call failure (see rpc_errdetail) */
    RPC_EBADNAME = -4,      /**< segment name: no leading '/', a second '/', empty or too long */
    RPC_EBADSIZE = -5,      /**< segment size too small for the layout, or too large */
    RPC_EBADMODE = -6,      /**< access mode outside 0..0777 or without owner read+write */
    RPC_EBADNODENAME = -7,  /**< node name empty, too long or with unprintable characters */
    RPC_ENOENT = -8,        /**< the segment does not exist */
    RPC_EEXIST = -9,        /**< a live node with this name already exists in the domain */
    RPC_EFULL = -10,        /**< the node table of the segment is full */
    RPC_EBUSY = -11,        /**< live processes are attached: clean-up refused */
    RPC_EBADMAGIC = -12,    /**< the segment is not a librpc segment (wrong magic / garbage) */
    RPC_EVERSION = -13,     /**< the segment was made by an incompatible layout version */
    RPC_ESIZE = -14,        /**< the file size does not match the size the header records */
    RPC_ETRUNCATED = -15,   /**< the file is shorter than its header or than it says it is */
    RPC_EUNINIT = -16,      /**< the segment was never (fully) initialised (and is in use, when joining) */
    RPC_ECORRUPT = -17,     /**< a header or table field is out of bounds */
    RPC_EOWNER = -18,       /**< the segment belongs to another user */
    RPC_EACCES = -19,       /**< permission denied opening the segment */
    RPC_ENOTREG = -20,      /**< the name does not refer to a regular shared-memory file */
    RPC_ETIMEDOUT = -21,    /**< a lock or queue wait passed its deadline */
    RPC_EFORKED = -22,      /**< the handle was inherited through fork(): unusable in the child */
    RPC_EAGAIN = -23,       /**< a subscriber's queue is full (non-blocking publish) */
    RPC_EMSGSIZE = -24,     /**< the message exceeds the configured maximum size */
    RPC_EBADTOPIC = -25,    /**< group or topic name empty, too long or unprintable */
    RPC_ENOSPC = -26,       /**< the segment has no room left for another queue or table entry */
    RPC_ENOTSUB = -27,      /**< the node is not subscribed to this topic */
    RPC_EMODE = -28,        /**< the call does not fit the node's receive mode */
    RPC_ECLOSED = -29,      /**< the node is being destroyed */
    RPC_ELIMIT = -30,       /**< a compile-time or configured limit was reached */
    RPC_EINTR = -31         /**< a signal handler interrupted a blocking wait */
};

/**
 * Fixed English text for an error code.
 * @param err  an RPC_E* code (or RPC_OK).
 * @return a static string; unknown codes give "unknown error".
 * @par Errors
 * None.
 * @par Thread-safety
 * Safe from any thread.
 */
const char *rpc_strerror(int err);

/**
 * Details of the last failure of a librpc call on the
 * calling thread, such as "segment /librpc_shm: owned by uid 65534, not 0".
 * @return a thread-local string, empty when the last failure left no
 * details.  Valid until the next librpc call on the same thread.
 * @par Errors
 * None.
 * @par Thread-safety
 * Per thread: each thread sees its own last failure.
 */
const char *rpc_errdetail(void);

/** @} */

#ifdef __cplusplus
}
#endif
#endif
