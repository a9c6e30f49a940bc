/*
 * subs.h - the subscription table in the segment: who wants which topic.
 */
#ifndef RPC_SUBS_H
#define RPC_SUBS_H

#include "segment.h"

/* Valid group/topic name: 1..63 printable non-space ASCII bytes. */
int rpci_valid_topic_name(const char *s);

/* Add a subscription or publisher entry (kind: enum rpcl_sub_kind;
 * life-cycle lock held).  Returns the entry index (*seq its seq) or
 * RPC_ENOSPC. */
int rpci_sub_add(struct rpci_seg *s, uint32_t kind, uint32_t slot, uint64_t inc,
                 const char *group, const char *topic, uint32_t *seq);
/* Remove one entry of ours (life-cycle lock held). */
void rpci_sub_remove(struct rpci_seg *s, uint32_t index);
/* Remove every entry of a node that left or died (life-cycle lock held). */
void rpci_sub_release_node(struct rpci_seg *s, uint32_t slot, uint64_t inc);

/* One subscriber of a topic, as a publisher sees it. */
struct rpci_target {
    uint32_t node_slot;
    uint64_t node_inc;
    uint32_t sub_index;
    uint32_t sub_seq;
};

/* Lock-free: collect up to cap subscribers of (group, topic) into out.
 * Returns how many there are (may exceed cap). */
unsigned rpci_sub_match(const struct rpci_seg *s, const char *group, const char *topic,
                        struct rpci_target *out, unsigned cap);

#endif
