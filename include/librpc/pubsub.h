/**
 * @file
 * @brief Publishing and subscribing.
 *
 * @defgroup pubsub Publish/subscribe
 * @brief Messages addressed by (group, topic), one queue per (publisher,
 * subscriber) pair.
 *
 * Messages are addressed by (group, topic): two names of 1..63 printable,
 * non-space ASCII bytes.  Every live node subscribed to a topic when a
 * message is published gets it exactly once; messages of one publishing
 * node arrive in publication order.  There is no history: a node that
 * subscribes late gets only messages published after rpc_subscribe()
 * returned.  A node subscribed to a topic it publishes receives its own
 * messages, like any other subscriber.
 *
 * Each (publisher node, subscriber node) pair has its own queue in the
 * segment (see rpc_config_set_queue_size).  When a queue is full the
 * publisher chooses per call: wait up to a timeout, or fail at once with
 * RPC_EAGAIN (the copy is dropped and counted).
 *
 * Callbacks run on the node's receive thread (RPC_RECEIVE_THREAD) or inside
 * rpc_node_poll() (RPC_RECEIVE_MANUAL), one at a time per node.  The
 * message and its bytes are valid only during the callback.
 *
 * Declared in librpc/pubsub.h.
 */
#ifndef LIBRPC_PUBSUB_H
#define LIBRPC_PUBSUB_H

#include <stddef.h>
#include <stdint.h>
#include "node.h"

#ifdef __cplusplus
extern "C" {
#endif

/** @addtogroup pubsub
 * @{ */

/** Longest group or topic name in bytes, without the terminating NUL. */
#define RPC_TOPIC_NAME_MAX 63

/* Timeouts (milliseconds) for rpc_publish and rpc_node_poll. */
/** Timeout: do not wait (rpc_publish(), rpc_node_poll()). */
#define RPC_NO_WAIT 0
/** Timeout: wait without a deadline (rpc_publish(), rpc_node_poll()). */
#define RPC_WAIT_FOREVER (-1)

/** A received message, as a callback sees it. */
typedef struct rpc_message {
    const char *group;       /**< group name */
    const char *topic;       /**< topic name */
    const void *data;        /**< payload, valid during the callback only */
    size_t size;             /**< payload size in bytes */
    uint64_t seq;            /**< per publishing node, from 1, in order */
    const char *publisher;   /**< publishing node's name */
} rpc_message;

/**
 * A message callback (rpc_subscribe()).
 * @param node  the subscribing node.
 * @param msg   the message; it and its bytes are valid during the call only.
 * @param user  the pointer given to rpc_subscribe().
 */
typedef void (*rpc_message_cb)(rpc_node *node, const rpc_message *msg, void *user);

/**
 * Delivers messages on (group, topic) to cb(node, msg, user).
 * Only messages published after this call returns are delivered.
 * @param node   the subscribing node.
 * @param group  group name: 1..63 printable, non-space ASCII bytes.
 * @param topic  topic name, likewise.
 * @param cb     the callback.
 * @param user   passed to cb as it is.
 * @return 0, or a negative error code.
 * @par Errors
 * RPC_EINVAL (NULL node or cb), RPC_EBADTOPIC, RPC_EEXIST (already
 * subscribed: unsubscribe first to change the callback), RPC_ENOSPC
 * (subscription table full), RPC_EFORKED, RPC_ETIMEDOUT, RPC_ENOMEM.
 * @par Thread-safety
 * Safe from any thread, including the node's callbacks.
 */
int rpc_subscribe(rpc_node *node, const char *group, const char *topic, rpc_message_cb cb,
                  void *user);

/**
 * Stops delivering (group, topic).  Messages already queued
 * for it are discarded.  After it returns, no new callback for the topic
 * starts; one already running on the receive thread may still finish.
 * @param node   the subscribed node.
 * @param group  group name.
 * @param topic  topic name.
 * @return 0, or a negative error code.
 * @par Errors
 * RPC_EINVAL, RPC_EBADTOPIC, RPC_ENOTSUB, RPC_EFORKED, RPC_ETIMEDOUT.
 * @par Thread-safety
 * Safe from any thread, including the node's callbacks.
 */
int rpc_unsubscribe(rpc_node *node, const char *group, const char *topic);

/**
 * Tells whether the node is subscribed to (group, topic).
 * @param node   the node.
 * @param group  group name.
 * @param topic  topic name.
 * @return 1 if the node is subscribed, 0 if not, or a negative error code.
 * @par Errors
 * RPC_EINVAL, RPC_EBADTOPIC.
 * @par Thread-safety
 * Safe from any thread.
 */
int rpc_is_subscribed(rpc_node *node, const char *group, const char *topic);

/**
 * Sends size bytes (size may be 0, data then may be NULL) to
 * every subscriber of (group, topic) in the domain.
 *
 * timeout_ms: how long to wait for room when a subscriber's queue is full:
 * RPC_NO_WAIT (0) fails at once, RPC_WAIT_FOREVER (-1) waits as long as the
 * subscriber lives, > 0 waits that many milliseconds.  A timeout > 0 also
 * bounds the wait for the table locks that the first message to a new
 * subscriber needs (its queue is allocated then): if another process, or
 * another thread of this one, holds them past the deadline, that copy is
 * dropped (RPC_ETIMEDOUT).
 * Otherwise that lock is waited for up to the library's 10 s deadline.  A subscriber that
 * dies never blocks a publisher: its queue is abandoned.  A publisher
 * waiting for room first polls for it (for the node's spin time, or
 * RPC_DEFAULT_SPIN_US for a node whose spin time is 0, at most 1 ms), then
 * sleeps in the kernel until the subscriber frees some.
 * @param node        the publishing node.
 * @param group       group name: 1..63 printable, non-space ASCII bytes.
 * @param topic       topic name, likewise.
 * @param data        the payload, copied into each subscriber's queue.
 * @param size        payload size in bytes, at most the segment's maximum
 *                    (rpc_config_set_max_msg_size).
 * @param timeout_ms  RPC_NO_WAIT, RPC_WAIT_FOREVER or milliseconds, as above.
 * @return 0 when every subscriber got the message (also when there are
 * none), or a negative error code.
 * @par Errors
 * RPC_EINVAL, RPC_EBADTOPIC, RPC_EMSGSIZE (larger than the
 * segment's maximum: nothing is sent), RPC_EAGAIN (a queue was full with
 * RPC_NO_WAIT) or RPC_ETIMEDOUT (a queue stayed full): in both cases the
 * other subscribers did get the message, the full ones did not, and the
 * node's dropped counter says how many copies were lost; RPC_ENOSPC (no
 * room for another queue in the segment: that subscriber did not get it),
 * RPC_EFORKED.
 * @par Thread-safety
 * Safe from any thread; concurrent publishers on one node
 * are serialised.
 */
int rpc_publish(rpc_node *node, const char *group, const char *topic, const void *data,
                size_t size, int timeout_ms);

/**
 * For a node created with RPC_RECEIVE_MANUAL: runs the
 * callbacks of queued messages (and node events), waiting up to timeout_ms
 * for the first one.  A
 * signal caught while waiting ends the wait early (the call then returns
 * what it ran, possibly 0), so a handler's flag can stop a poll loop.
 * @param node        the node.
 * @param timeout_ms  0: do not wait, -1: forever, else milliseconds.
 * @return the number of callbacks run, or a negative error code.
 * @par Errors
 * RPC_EINVAL, RPC_EMODE (the node has a receive thread), RPC_EFORKED.
 * @par Thread-safety
 * Call from one thread at a time per node.
 */
int rpc_node_poll(rpc_node *node, int timeout_ms);

/** Per-node counters (see rpc_node_get_stats and rpc_domain_list_nodes). */
typedef struct rpc_node_stats {
    uint64_t published;      /**< rpc_publish calls that passed argument checks */
    uint64_t delivered;      /**< copies queued to subscribers */
    uint64_t dropped;        /**< copies lost to full queues */
    uint64_t received;       /**< messages passed to callbacks */
    uint64_t bytes_out;      /**< payload bytes queued */
    uint64_t bytes_in;       /**< payload bytes received */
} rpc_node_stats;

/**
 * Reads the node's counters.
 * @param node      the node.
 * @param[out] out  receives the counters.
 * @return 0, or a negative error code.
 * @par Errors
 * RPC_EINVAL, RPC_EFORKED.
 * @par Thread-safety
 * Safe from any thread.
 */
int rpc_node_get_stats(const rpc_node *node, rpc_node_stats *out);

/** @} */

#ifdef __cplusplus
}
#endif
#endif
