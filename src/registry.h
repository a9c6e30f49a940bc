/*
 * registry.h - the node table inside a segment: register, remove, find the
 * dead and reclaim them.  Writers hold the life-cycle lock; readers (tools,
 * the sweeper's first pass) read slot fields racily and validate them.
 */
#ifndef RPC_REGISTRY_H
#define RPC_REGISTRY_H

#include "segment.h"

/* Register a node (life-cycle lock held).  name must be valid.  Returns the
 * slot index (>= 0), RPC_EEXIST or RPC_EFULL. */
int rpci_reg_add(struct rpci_seg *s, uint64_t owner_id, const char *name, uint64_t *incarnation);

/* Remove our node in slot (life-cycle lock held). */
void rpci_reg_remove(struct rpci_seg *s, uint32_t slot);

/* Reclaim every registered slot whose node lock nobody else holds, skipping
 * slots owned by owner_id (our own locks are invisible to us).  Life-cycle
 * lock held.  Returns the number reclaimed. */
int rpci_reg_sweep(struct rpci_seg *s, uint64_t owner_id);

/* Lock-free: is slot i registered, not ours, and without a live holder? */
int rpci_reg_is_dead(const struct rpci_seg *s, uint32_t i, uint64_t owner_id);

/* Lock-free pre-check for the sweeper: is any slot not ours dead? */
int rpci_reg_any_dead(const struct rpci_seg *s, uint64_t owner_id);

/* Is the node in slot alive, seen through a descriptor of another process
 * or a read-only view?  1, 0, or negative on error. */
int rpci_reg_alive(const struct rpci_seg *s, uint32_t slot);

/* Copy a slot's name, always NUL-terminated, whatever the segment holds. */
void rpci_reg_copy_name(const struct rpcl_node *n, char out[RPC_NODE_NAME_MAX + 1]);

#endif
