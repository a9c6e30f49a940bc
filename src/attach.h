/*
 * attach.h - a process's attachment to a domain, shared by all its nodes in
 * that domain: one descriptor, one mapping, one membership, one sweeper.
 */
#ifndef RPC_ATTACH_H
#define RPC_ATTACH_H

#include <pthread.h>

#include "peerwatch.h"
#include "segment.h"

struct rpci_attach {
    struct rpci_seg seg;
    struct rpc_config cfg;
    uint64_t owner_id;        /* random; marks our slots in the node table */
    unsigned live_nodes;      /* our registered nodes */
    unsigned handles;         /* rpc_node handles pointing here */
    int forked;               /* inherited through fork(): seg is closed */
    int asym;                 /* this process takes part in asymmetric barriers */
    pthread_t sweeper;
    int sweeper_started;
    struct rpci_peerwatch watch;  /* what the sweeper sleeps on */
    struct rpci_attach *next;
};

/* Register a node named name in the domain cfg describes, attaching the
 * process first if needed.  On success *att and *slot identify it. */
int rpci_attach_add_node(const struct rpc_config *cfg, const char *name,
                         struct rpci_attach **att, uint32_t *slot, uint64_t *incarnation);

/* Remove the node; detach (and possibly unlink) after the last one.  In a
 * forked child this only drops the handle. */
int rpci_attach_remove_node(struct rpci_attach *att, uint32_t slot);

/* Take g_lock and the life-cycle lock, for data-plane table changes.
 * Errors: RPC_EFORKED, RPC_ETIMEDOUT, RPC_ESYS. */
int rpci_attach_lock(struct rpci_attach *att);
/* The same, giving up at until_ns (monotonic) if sooner; 0: no limit of
 * the caller's (the library's 10 s deadline still applies). */
int rpci_attach_lock_until(struct rpci_attach *att, uint64_t until_ns);
void rpci_attach_unlock(struct rpci_attach *att);

/* The process-wide lock every holder of a life-cycle lock also holds (so
 * that fork() never copies a held life-cycle lock into a child). */
void rpci_process_lock(void);
void rpci_process_unlock(void);

/* If this process is attached to shm_name: the number of live nodes in
 * that domain (ours count as alive; others by lock test).  Else -1. */
int rpci_attach_count_alive(const char *shm_name);

/* Reclaim dead nodes now (a publisher found a queue full). */
void rpci_attach_sweep_now(struct rpci_attach *att, uint64_t until_ns);

/* A unique node name for this process: "node-<pid>-<n>". */
void rpci_attach_auto_name(char out[RPC_NODE_NAME_MAX + 1]);

#endif
