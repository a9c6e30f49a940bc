/*
 * node_impl.h - what a node handle holds: its place in the segment, its
 * publisher state (queues it writes, subscriber lists it caches) and its
 * receiver state (queues it reads, callbacks, receive thread).
 *
 * Locking inside a process: pub_mu serialises publishers of the node;
 * sub_mu (recursive, so callbacks may subscribe) guards the callback table
 * and is held while a callback runs, but is never taken across the attach
 * lock except by a callback itself; the inbound list belongs to whichever
 * single thread receives.  Order: pub_mu -> attach lock.
 */
#ifndef RPC_NODE_IMPL_H
#define RPC_NODE_IMPL_H

#include <pthread.h>

#include "attach.h"
#include "ring.h"
#include "subs.h"

struct rpci_local_sub {
    uint32_t index;               /* entry in the segment's table */
    uint32_t seq;
    rpc_message_cb cb;
    void *user;
    char group[RPCL_NAME_SIZE];
    char topic[RPCL_NAME_SIZE];
    struct rpci_local_sub *next;  /* in the pending list, while being added */
};

struct rpci_inbound {
    struct rpci_cons c;
    uint32_t ring_index;
    char publisher[RPC_NODE_NAME_MAX + 1];
};

struct rpci_outbound {
    struct rpci_prod p;
    uint64_t sub_inc;             /* the subscriber incarnation it serves */
    int valid;
};

struct rpci_pub_topic {
    char group[RPCL_NAME_SIZE];
    char topic[RPCL_NAME_SIZE];
    uint32_t generation;          /* of the segment, when targets were built */
    unsigned ntargets;
    unsigned cap;
    struct rpci_target *targets;
    struct rpci_pub_topic *next;
};

#define RPCI_TOPIC_BUCKETS 256

struct rpc_node {
    struct rpci_attach *att;
    uint32_t slot;
    uint64_t incarnation;
    char name[RPC_NODE_NAME_MAX + 1];
    int receive_mode;
    int spin_us;

    pthread_mutex_t pub_mu;
    uint64_t msg_seq;
    struct rpci_outbound *out;    /* indexed by subscriber slot */
    struct rpci_pub_topic *topics[RPCI_TOPIC_BUCKETS];

    pthread_mutex_t sub_mu;
    struct rpci_local_sub **subs; /* indexed by entry, max_subs long */
    unsigned nsubs;
    struct rpci_local_sub *pending; /* being entered into the segment */

    struct rpci_inbound *in;
    unsigned nin;
    unsigned in_cap;
    uint32_t in_generation;

    /* Node events (events.c); guarded by sub_mu like the callbacks. */
    rpc_event_cb event_cb;
    void *event_user;
    uint32_t event_generation;
    uint64_t *ev_incarnation;     /* per slot: who we last saw there (0: none) */
    char (*ev_name)[RPC_NODE_NAME_MAX + 1];
    int32_t *ev_pid;

    pthread_t thread;
    int thread_started;           /* set under sub_mu, at the first subscription */
    int recently_busy;            /* receiving thread only: spin before sleeping */
    _Atomic int stop;
};

static inline struct rpcl_node *rpci_node_shm(const struct rpc_node *n)
{
    return rpci_seg_node(&n->att->seg, n->slot);
}

/* Counters have one writer at a time (publishers under pub_mu, the single
 * receiving thread), so a plain load and store suffices: no locked
 * read-modify-write on the hot path.  Readers elsewhere see relaxed values. */
static inline void rpci_count(_Atomic uint64_t *c, uint64_t v)
{
    atomic_store_explicit(c, atomic_load_explicit(c, memory_order_relaxed) + v,
                          memory_order_relaxed);
}

/* Data-plane set-up and tear-down of a handle (pubsub.c). */
int rpci_node_data_init(struct rpc_node *n);
void rpci_node_data_free(struct rpc_node *n);
/* The receive thread's body and its stop request (pubsub.c). */
void *rpci_node_receive_main(void *arg);
void rpci_node_wake(struct rpc_node *n);
/* Start the receive thread if the node has none yet and is in thread mode:
 * done at the first subscription or event callback, so nodes that only
 * publish never pay for one. */
int rpci_node_ensure_receiver(struct rpc_node *n);
/* Report membership changes since the last call (receiving thread, sub_mu
 * held); events.c. */
void rpci_events_check(struct rpc_node *n);
void rpci_events_free(struct rpc_node *n);

#endif
