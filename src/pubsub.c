/*
 * pubsub.c - publishing, subscribing and receiving.
 *
 * A message goes from a publisher node to each subscriber node through the
 * SPSC queue of that pair (ring.c), allocated in the segment the first time
 * the pair needs one.  Publishers find their subscribers by scanning the
 * subscription table (subs.c) and cache the result per topic until the
 * segment's generation counter moves.
 *
 * Wake-up scheme (a Dekker pair per subscriber node slot):
 *   receiver: seq = wake_seq; sleeping = 1; barrier; re-check
 *             queues; futex_wait(wake_seq, seq); sleeping = 0
 *   publisher: commit record (release); barrier;
 *             if (sleeping) { wake_seq++; futex_wake(wake_seq) }
 * Either the receiver's re-check sees the record or the publisher sees
 * sleeping == 1; the wake_seq bump makes a wait that starts late return at
 * once.  A receiver that is awake costs publishers no system call.
 * The barriers are both seq_cst fences, or, when both processes take part
 * (platform.h), the receiver's heavy barrier and the publisher's compiler
 * barrier: a receiver goes to sleep far less often than messages are
 * published, so it pays a system call there and publishers pay no fence.
 */
#include "node_impl.h"
#include "platform/platform.h"
#include "registry.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ __volatile__("yield");
#endif
}

/* A spinning thread yields its CPU every SPIN_YIELD_MASK + 1 turns (some
 * 25 µs): when there are more spinners than CPUs (several subscriber
 * processes on a small machine), the thread a spinner waits for may need
 * that very CPU, and without a yield it would get it only when the time
 * slice ends, milliseconds later.  With a CPU each, the yield returns at
 * once. */
#define SPIN_YIELD_MASK 1023u

/* One turn of a spinning loop (i counts the turns). */
static inline void spin_turn(unsigned i)
{
    cpu_relax();
    if ((i & SPIN_YIELD_MASK) == SPIN_YIELD_MASK)
        rpcp_yield();
}

/* ---- set-up --------------------------------------------------------------- */

int rpci_node_data_init(struct rpc_node *n)
{
    pthread_mutexattr_t ma;
    const struct rpci_seg *s = &n->att->seg;
    n->out = calloc(s->max_nodes, sizeof *n->out);
    if (n->out == NULL)
        return rpci_fail(RPC_ENOMEM, "node %s: out of memory", n->name);
    pthread_mutex_init(&n->pub_mu, NULL);
    pthread_mutexattr_init(&ma);
    pthread_mutexattr_settype(&ma, PTHREAD_MUTEX_RECURSIVE);
    pthread_mutex_init(&n->sub_mu, &ma);
    pthread_mutexattr_destroy(&ma);
    n->in_generation = ~atomic_load_explicit(&rpci_seg_header(s)->generation,
                                             memory_order_acquire);
    /* The asymmetric wake-up protocol (top of file) pays off for receivers
     * that sleep only after spinning, that is when idle; one that never
     * spins sleeps after nearly every message, and a heavy barrier there
     * costs more (an interrupt to every CPU) than the publishers' fences.
     * Set before any subscription, so publishers see it with the entry. */
    RPCL_STORE(rpci_node_shm(n)->wake_asym, (uint32_t)(n->att->asym && n->spin_us != 0));
    return 0;
}

void rpci_node_data_free(struct rpc_node *n)
{
    unsigned i;
    for (i = 0; i < RPCI_TOPIC_BUCKETS; i++) {
        struct rpci_pub_topic *t = n->topics[i], *next;
        for (; t != NULL; t = next) {
            next = t->next;
            free(t->targets);
            free(t);
        }
    }
    if (n->subs != NULL) {
        unsigned left = n->nsubs;
        for (i = 0; left > 0 && i < n->att->seg.max_subs; i++)
            if (n->subs[i] != NULL) {
                free(n->subs[i]);
                left--;
            }
    }
    free(n->subs);
    free(n->out);
    free(n->in);
    rpci_events_free(n);
    if (!n->att->forked) {
        pthread_mutex_destroy(&n->pub_mu);
        pthread_mutex_destroy(&n->sub_mu);
    }
}

static int check_names(const char *group, const char *topic)
{
    if (!rpci_valid_topic_name(group) || !rpci_valid_topic_name(topic))
        return rpci_fail(RPC_EBADTOPIC, "group \"%.80s\" / topic \"%.80s\": need 1-63 "
                         "printable characters, no spaces", group ? group : "(null)",
                         topic ? topic : "(null)");
    return 0;
}

static int check_node(const struct rpc_node *n, const char *fn)
{
    if (n == NULL)
        return rpci_fail(RPC_EINVAL, "%s: node is NULL", fn);
    if (n->att->forked)
        return rpci_fail(RPC_EFORKED, "%s: node %s was inherited through fork()", fn, n->name);
    return 0;
}

/* ---- subscribing ---------------------------------------------------------- */

static struct rpci_local_sub *find_local(struct rpc_node *n, const char *group,
                                         const char *topic)
{
    struct rpci_local_sub *l;
    uint32_t i;
    unsigned seen = 0;
    for (i = 0; i < n->att->seg.max_subs && seen < n->nsubs; i++) {
        l = n->subs[i];
        if (l == NULL)
            continue;
        seen++;
        if (strcmp(l->group, group) == 0 && strcmp(l->topic, topic) == 0)
            return l;
    }
    for (l = n->pending; l != NULL; l = l->next)
        if (strcmp(l->group, group) == 0 && strcmp(l->topic, topic) == 0)
            return l;
    return NULL;
}

static void unlink_pending(struct rpc_node *n, struct rpci_local_sub *l)
{
    struct rpci_local_sub **pp;
    for (pp = &n->pending; *pp != NULL; pp = &(*pp)->next)
        if (*pp == l) {
            *pp = l->next;
            return;
        }
}

/* sub_mu guards the callback table and is held while callbacks run, so it
 * is never held across the life-cycle lock (which can take long under
 * contention): a subscription is first reserved as "pending" (to refuse a
 * concurrent duplicate), entered in the segment, then installed. */
int rpc_subscribe(rpc_node *n, const char *group, const char *topic, rpc_message_cb cb,
                  void *user)
{
    struct rpci_local_sub *l;
    int rc, idx = RPC_EEXIST;
    uint32_t seq = 0;
    rpci_clear_detail();
    if ((rc = check_node(n, "rpc_subscribe")) != 0 || (rc = check_names(group, topic)) != 0)
        return rc;
    if (cb == NULL)
        return rpci_fail(RPC_EINVAL, "rpc_subscribe: callback is NULL");
    if ((rc = rpci_node_ensure_receiver(n)) != 0)
        return rc;
    if ((l = calloc(1, sizeof *l)) == NULL)
        return rpci_fail(RPC_ENOMEM, "rpc_subscribe: out of memory");
    l->cb = cb;
    l->user = user;
    strcpy(l->group, group);
    strcpy(l->topic, topic);
    pthread_mutex_lock(&n->sub_mu);
    /* The callback table is allocated with the first subscription. */
    if (n->subs == NULL && (n->subs = calloc(n->att->seg.max_subs, sizeof *n->subs)) == NULL) {
        pthread_mutex_unlock(&n->sub_mu);
        free(l);
        return rpci_fail(RPC_ENOMEM, "rpc_subscribe: out of memory");
    }
    if (find_local(n, group, topic) != NULL) {
        pthread_mutex_unlock(&n->sub_mu);
        free(l);
        return rpci_fail(RPC_EEXIST, "node %s is already subscribed to %s/%s", n->name, group,
                         topic);
    }
    l->next = n->pending;
    n->pending = l;
    pthread_mutex_unlock(&n->sub_mu);

    if ((rc = rpci_attach_lock(n->att)) == 0) {
        idx = rpci_sub_add(&n->att->seg, RPCL_KIND_SUB, n->slot, n->incarnation, group, topic,
                           &seq);
        rpci_attach_unlock(n->att);
        rc = idx < 0 ? idx : 0;
    }

    pthread_mutex_lock(&n->sub_mu);
    unlink_pending(n, l);
    if (rc == 0) {
        l->index = (uint32_t)idx;
        l->seq = seq;
        l->next = NULL;
        n->subs[idx] = l;
        n->nsubs++;
        l = NULL;
    }
    pthread_mutex_unlock(&n->sub_mu);
    free(l);
    return rc;
}

/* Uninstall first (no callback for it starts after that), then remove the
 * entry from the segment; records still queued for it are discarded. */
int rpc_unsubscribe(rpc_node *n, const char *group, const char *topic)
{
    struct rpci_local_sub *l;
    int rc;
    rpci_clear_detail();
    if ((rc = check_node(n, "rpc_unsubscribe")) != 0 || (rc = check_names(group, topic)) != 0)
        return rc;
    pthread_mutex_lock(&n->sub_mu);
    l = find_local(n, group, topic);
    if (l == NULL || n->subs[l->index] != l) {   /* absent, or still being added */
        pthread_mutex_unlock(&n->sub_mu);
        return rpci_fail(RPC_ENOTSUB, "node %s is not subscribed to %s/%s", n->name, group,
                         topic);
    }
    n->subs[l->index] = NULL;
    n->nsubs--;
    pthread_mutex_unlock(&n->sub_mu);
    if ((rc = rpci_attach_lock(n->att)) == 0) {
        rpci_sub_remove(&n->att->seg, l->index);
        rpci_attach_unlock(n->att);
        free(l);
        return 0;
    }
    /* The segment could not be changed: stay subscribed, report why. */
    pthread_mutex_lock(&n->sub_mu);
    n->subs[l->index] = l;
    n->nsubs++;
    pthread_mutex_unlock(&n->sub_mu);
    return rc;
}

int rpc_is_subscribed(rpc_node *n, const char *group, const char *topic)
{
    int rc;
    rpci_clear_detail();
    if (n == NULL)
        return rpci_fail(RPC_EINVAL, "rpc_is_subscribed: node is NULL");
    if ((rc = check_names(group, topic)) != 0)
        return rc;
    pthread_mutex_lock(&n->sub_mu);
    rc = find_local(n, group, topic) != NULL;
    pthread_mutex_unlock(&n->sub_mu);
    return rc;
}

/* ---- publishing: subscriber lists ------------------------------------------- */

/* FNV-1a over "group\0topic", at most RPC_TOPIC_NAME_MAX + 1 bytes of each
 * (a longer name is never cached, so it need not hash further). */
static unsigned hash_names(const char *group, const char *topic)
{
    unsigned h = 2166136261u, i;
    for (i = 0; i <= RPC_TOPIC_NAME_MAX && group[i]; i++)
        h = (h ^ (unsigned char)group[i]) * 16777619u;
    h *= 16777619u;
    for (i = 0; i <= RPC_TOPIC_NAME_MAX && topic[i]; i++)
        h = (h ^ (unsigned char)topic[i]) * 16777619u;
    return h % RPCI_TOPIC_BUCKETS;
}

/* Record in the segment that we publish t, for the tools.  Best effort: a
 * full table or a busy lock costs only the listing, never the message. */
static void advertise(struct rpc_node *n, const struct rpci_pub_topic *t, uint64_t deadline_ns)
{
    uint32_t seq;
    if (rpci_attach_lock_until(n->att, deadline_ns) != 0)
        return;
    (void)rpci_sub_add(&n->att->seg, RPCL_KIND_PUB, n->slot, n->incarnation, t->group, t->topic,
                       &seq);
    rpci_attach_unlock(n->att);
    rpci_clear_detail();
}

/* The topic's cache entry, made (after checking the names) on first use.
 * Only valid names are ever cached, so a hit needs no name check: that
 * keeps the check off the path of every message.  *rc is set on failure. */
static struct rpci_pub_topic *topic_entry(struct rpc_node *n, const char *group,
                                          const char *topic, uint64_t deadline_ns, int *rc)
{
    unsigned b = hash_names(group, topic);
    struct rpci_pub_topic *t;
    for (t = n->topics[b]; t != NULL; t = t->next)
        if (strcmp(t->topic, topic) == 0 && strcmp(t->group, group) == 0)
            return t;
    if ((*rc = check_names(group, topic)) != 0)
        return NULL;
    if ((t = calloc(1, sizeof *t)) == NULL) {
        *rc = rpci_fail(RPC_ENOMEM, "rpc_publish: out of memory");
        return NULL;
    }
    strcpy(t->group, group);
    strcpy(t->topic, topic);
    t->generation = ~atomic_load_explicit(&rpci_seg_header(&n->att->seg)->generation,
                                          memory_order_relaxed);
    t->next = n->topics[b];
    n->topics[b] = t;
    advertise(n, t, deadline_ns);
    return t;
}

static void release_abandoned(struct rpc_node *n);

/* Rebuild t's subscriber list if the segment changed since. */
static int refresh_targets(struct rpc_node *n, struct rpci_pub_topic *t)
{
    const struct rpci_seg *s = &n->att->seg;
    /* Acquire: pairs with the release bump of every table change. */
    uint32_t gen = atomic_load_explicit(&rpci_seg_header(s)->generation, memory_order_acquire);
    unsigned count;
    if (gen == t->generation)
        return 0;
    for (;;) {
        count = rpci_sub_match(s, t->group, t->topic, t->targets, t->cap);
        if (count <= t->cap)
            break;
        free(t->targets);
        t->cap = count + 8;
        if ((t->targets = malloc(t->cap * sizeof *t->targets)) == NULL) {
            t->cap = 0;
            return rpci_fail(RPC_ENOMEM, "rpc_publish: out of memory");
        }
    }
    t->ntargets = count;
    t->generation = gen;
    release_abandoned(n);   /* subscribers may have left: free their queues */
    return 0;
}

/* ---- publishing: queues ------------------------------------------------------ */

static void let_go(struct rpci_outbound *o)
{
    if (o->valid) {
        rpcp_tsan_release(o->p.r);
        atomic_fetch_or_explicit(&o->p.r->done, RPCL_RING_PUB_DONE, memory_order_release);
    }
    o->valid = 0;
}

/* Let go of every queue whose subscriber is gone, so the pool can reuse
 * it: the subscriber may have left without us publishing to it again. */
static void release_abandoned(struct rpc_node *n)
{
    uint32_t i;
    for (i = 0; i < n->att->seg.max_nodes; i++) {
        struct rpci_outbound *o = &n->out[i];
        if (o->valid &&
            (atomic_load_explicit(&o->p.r->done, memory_order_acquire) & RPCL_RING_SUB_DONE))
            let_go(o);
    }
}

/* The queue to the target's node, allocated on first use. */
static int outbound_for(struct rpc_node *n, const struct rpci_target *t, uint64_t deadline_ns,
                        struct rpci_outbound **out)
{
    struct rpci_outbound *o = &n->out[t->node_slot];
    int idx, rc;
    if (o->valid && o->sub_inc == t->node_inc &&
        !(atomic_load_explicit(&o->p.r->done, memory_order_acquire) & RPCL_RING_SUB_DONE)) {
        *out = o;
        return 0;
    }
    let_go(o);   /* the old subscriber of that slot is gone */
    release_abandoned(n);
    /* A publisher's timeout also bounds its wait for the tables' lock. */
    if ((rc = rpci_attach_lock_until(n->att, deadline_ns)) != 0)
        return rc;
    rpci_ring_collect(&n->att->seg);   /* what both ends let go of, now */
    idx = rpci_ring_alloc(&n->att->seg, n->slot, n->incarnation, n->name, t->node_slot,
                          t->node_inc);
    rpci_attach_unlock(n->att);
    if (idx < 0)
        return idx;
    rpci_prod_init(&o->p, &n->att->seg, rpci_seg_ring(&n->att->seg, (uint32_t)idx));
    o->sub_inc = t->node_inc;
    o->valid = 1;
    *out = o;
    return 0;
}

static void notify(const struct rpc_node *n, struct rpcl_node *sub)
{
    /* Dekker with the receiver's "sleeping" store (see top of file). */
    if (n->att->asym && RPCL_LOAD(sub->wake_asym))
        rpcp_asym_light();
    else
        rpcp_fence(memory_order_seq_cst);
    if (atomic_load_explicit(&sub->sleeping, memory_order_relaxed)) {
        atomic_fetch_add_explicit(&sub->wake_seq, 1, memory_order_release);
        rpcp_wake_word(&sub->wake_seq);
    }
}

#define WAIT_SLICE_NS (10ull * 1000000ull)

/* Wait for room in o, the queue to sub_slot, until deadline_ns (0: forever).  Returns 0 when there
 * is room, 1 when the subscriber is gone, RPC_ETIMEDOUT. */
/* Spin for room before sleeping for it: a consumer that is working hands
 * room back within microseconds, and sleeping would cost both sides a
 * system call per message (large messages then crawl).  The spin lasts the
 * node's spin time, the default one for a node that never spins (a full
 * queue means traffic, so this is no idle cost), at most
 * SPIN_FOR_ROOM_MAX_NS for one that spins without limit, and never past the
 * deadline.  Returns 1 if there is room. */
#define SPIN_FOR_ROOM_MAX_NS (1000ull * 1000ull)
static int spin_for_room(struct rpc_node *n, struct rpci_outbound *o, uint32_t len,
                         uint64_t deadline_ns)
{
    uint64_t limit, now;
    now = rpcp_mono_ns();
    limit = now + (n->spin_us < 0    ? SPIN_FOR_ROOM_MAX_NS
                   : n->spin_us == 0 ? (uint64_t)RPC_DEFAULT_SPIN_US * 1000u
                                     : (uint64_t)n->spin_us * 1000u);
    if (deadline_ns != 0 && deadline_ns < limit)
        limit = deadline_ns;
    for (unsigned i = 1;; i++) {
        if (rpci_prod_has_room(&o->p, len))
            return 1;
        spin_turn(i);
        if ((i & 63) == 0 && rpcp_mono_ns() >= limit)
            return 0;
    }
}

static int wait_for_room(struct rpc_node *n, struct rpci_outbound *o, uint32_t sub_slot,
                         uint32_t len, uint64_t deadline_ns)
{
    struct rpcl_ring *r = o->p.r;
    if (spin_for_room(n, o, len, deadline_ns))
        return 0;
    for (;;) {
        uint32_t seq = atomic_load_explicit(&r->space_seq, memory_order_acquire);
        uint64_t now, slice = WAIT_SLICE_NS;
        int room;
        atomic_store_explicit(&r->pub_waiting, 1, memory_order_relaxed);
        /* Dekker with the consumer's head store (see ring.c). */
        rpcp_fence(memory_order_seq_cst);
        room = rpci_prod_has_room(&o->p, len);
        if (room || (atomic_load_explicit(&r->done, memory_order_acquire) & RPCL_RING_SUB_DONE)) {
            atomic_store_explicit(&r->pub_waiting, 0, memory_order_relaxed);
            return room ? 0 : 1;
        }
        now = rpcp_mono_ns();
        if (deadline_ns != 0 && now >= deadline_ns) {
            atomic_store_explicit(&r->pub_waiting, 0, memory_order_relaxed);
            return RPC_ETIMEDOUT;
        }
        if (deadline_ns != 0 && deadline_ns - now < slice)
            slice = deadline_ns - now;
        rpcp_wait_word(&r->space_seq, seq, (int64_t)slice);
        atomic_store_explicit(&r->pub_waiting, 0, memory_order_relaxed);
        /* A full queue may mean a dead reader: reclaim it now rather than
         * at the next periodic sweep. */
        if (rpci_reg_is_dead(&n->att->seg, sub_slot, n->att->owner_id))
            rpci_attach_sweep_now(n->att, deadline_ns);
    }
}

static int send_one(struct rpc_node *n, const struct rpci_target *t, const struct rpcl_rec *hdr,
                    const void *data, int timeout_ms, uint64_t deadline_ns)
{
    struct rpcl_node *me = rpci_node_shm(n);
    struct rpci_outbound *o;
    int rc;
    if ((rc = outbound_for(n, t, deadline_ns, &o)) != 0) {
        if (rc == RPC_ETIMEDOUT)   /* no queue in time: this copy is lost */
            rpci_count(&me->dropped, 1);
        return rc;
    }
    while ((rc = rpci_prod_write(&o->p, hdr, data)) == RPC_EAGAIN && timeout_ms != 0) {
        rc = wait_for_room(n, o, t->node_slot, hdr->len, deadline_ns);
        if (rc == 1)
            return 0;   /* the subscriber left: nothing to deliver to */
        if (rc != 0)
            break;
    }
    if (rc != 0) {
        rpci_count(&me->dropped, 1);
        return rc;
    }
    rpci_count(&me->delivered, 1);
    rpci_count(&me->bytes_out, hdr->len);
    notify(n, rpci_seg_node(&n->att->seg, t->node_slot));
    return 0;
}

int rpc_publish(rpc_node *n, const char *group, const char *topic, const void *data,
                size_t size, int timeout_ms)
{
    struct rpci_pub_topic *t;
    struct rpcl_rec hdr;
    uint64_t deadline = 0;
    int rc, first_err = 0;
    unsigned i;
    if ((rc = check_node(n, "rpc_publish")) != 0)
        return rc;
    if (group == NULL || topic == NULL)
        return check_names(group, topic);
    if ((data == NULL && size > 0) || timeout_ms < RPC_WAIT_FOREVER)
        return rpci_fail(RPC_EINVAL, "rpc_publish: NULL data or bad timeout");
    if (size > n->att->seg.max_msg_size)
        return rpci_fail(RPC_EMSGSIZE, "rpc_publish: %zu bytes, the segment allows %u", size,
                         n->att->seg.max_msg_size);
    if (timeout_ms > 0)
        deadline = rpcp_mono_ns() + (uint64_t)timeout_ms * 1000000u;
    pthread_mutex_lock(&n->pub_mu);
    if ((t = topic_entry(n, group, topic, deadline, &rc)) != NULL)
        rc = refresh_targets(n, t);
    if (rc == 0) {
        memset(&hdr, 0, sizeof hdr);
        hdr.len = (uint32_t)size;
        hdr.msg_seq = ++n->msg_seq;
        rpci_count(&rpci_node_shm(n)->published, 1);
        for (i = 0; i < t->ntargets; i++) {
            hdr.sub_index = t->targets[i].sub_index;
            hdr.sub_seq = t->targets[i].sub_seq;
            rc = send_one(n, &t->targets[i], &hdr, data, timeout_ms, deadline);
            if (rc != 0 && first_err == 0)
                first_err = rc;
        }
        rc = first_err;
    }
    pthread_mutex_unlock(&n->pub_mu);
    return rc;
}

/* ---- receiving ---------------------------------------------------------------- */

/* Add queues addressed to us that appeared since the last look.  Only the
 * receiving thread calls this. */
static void refresh_inbound(struct rpc_node *n)
{
    const struct rpci_seg *s = &n->att->seg;
    /* Acquire: pairs with the release bump after a queue is allocated. */
    uint32_t gen = atomic_load_explicit(&rpci_seg_header(s)->generation, memory_order_acquire);
    uint32_t i, limit;
    unsigned k;
    if (gen == n->in_generation)
        return;
    n->in_generation = gen;
    limit = rpci_ring_limit(s);
    for (i = 0; i < limit; i++) {
        struct rpcl_ring *r = rpci_seg_ring(s, i);
        if (atomic_load_explicit(&r->state, memory_order_acquire) != RPCL_RING_ACTIVE ||
            RPCL_LOAD(r->sub_slot) != n->slot || RPCL_LOAD(r->sub_incarnation) != n->incarnation ||
            (atomic_load_explicit(&r->done, memory_order_relaxed) & RPCL_RING_SUB_DONE))
            continue;
        for (k = 0; k < n->nin && n->in[k].ring_index != i; k++)
            ;
        if (k < n->nin)
            continue;
        if (n->nin == n->in_cap) {
            unsigned cap = n->in_cap ? n->in_cap * 2 : 8;
            struct rpci_inbound *in = realloc(n->in, cap * sizeof *in);
            if (in == NULL)
                return;   /* retried at the next generation change */
            n->in = in;
            n->in_cap = cap;
        }
        rpci_cons_init(&n->in[n->nin].c, s, r);
        n->in[n->nin].ring_index = i;
        /* The queue keeps its publisher's name: the slot may be reused. */
        rpcl_name_load(n->in[n->nin].publisher, r->pub_name);
        n->nin++;
    }
}

/* We are done with queue k: tell the pool and forget it. */
static void drop_inbound(struct rpc_node *n, unsigned k)
{
    rpcp_tsan_release(n->in[k].c.r);
    atomic_fetch_or_explicit(&n->in[k].c.r->done, RPCL_RING_SUB_DONE, memory_order_release);
    n->in[k] = n->in[--n->nin];
}

/* Run the callback for one record.  Returns 1 if one ran, 0 if the record
 * was for a subscription we no longer have. */
static int deliver(struct rpc_node *n, struct rpci_inbound *in, const struct rpcl_rec *rec,
                   const void *payload)
{
    struct rpcl_node *me = rpci_node_shm(n);
    struct rpci_local_sub *l;
    rpc_message m;
    if (n->subs == NULL || rec->sub_index >= n->att->seg.max_subs)
        return 0;
    l = n->subs[rec->sub_index];
    /* Addressed to a subscription we have since dropped (or replaced). */
    if (l == NULL || l->seq != rec->sub_seq)
        return 0;
    m.group = l->group;
    m.topic = l->topic;
    m.data = payload;
    m.size = rec->len;
    m.seq = rec->msg_seq;
    m.publisher = in->publisher;
    rpci_count(&me->received, 1);
    rpci_count(&me->bytes_in, rec->len);
    l->cb(n, &m, l->user);
    return 1;
}

#define BATCH 64

/* One pass over the queues (at most BATCH records each).  Returns how many
 * callbacks ran; *consumed counts records taken, discarded ones included. */
static int drain_once(struct rpc_node *n, int *consumed)
{
    int total = 0;
    unsigned k = 0;
    refresh_inbound(n);
    pthread_mutex_lock(&n->sub_mu);
    rpci_events_check(n);
    while (k < n->nin) {
        struct rpci_inbound *in = &n->in[k];
        const struct rpcl_rec *rec;
        const void *payload;
        int got = 0, rc;
        while (got < BATCH && (rc = rpci_cons_peek(&in->c, &rec, &payload)) == 1) {
            total += deliver(n, in, rec, payload);
            rpci_cons_next(&in->c, rec);
            got++;
            ++*consumed;
        }
        if (got > 0)
            rpci_cons_release(&in->c);
        if (rc == RPC_ECORRUPT ||
            (rc == 0 && (atomic_load_explicit(&in->c.r->done, memory_order_acquire) &
                         RPCL_RING_PUB_DONE) && !rpci_cons_has_data(&in->c))) {
            /* Publisher gone and queue drained, or queue unusable. */
            drop_inbound(n, k);
            continue;
        }
        k++;
    }
    pthread_mutex_unlock(&n->sub_mu);
    return total;
}

/* Run callbacks for what is queued now.  Returns how many ran; keeps going
 * while it only finds records for dropped subscriptions, so that 0 means
 * "nothing was queued", never "only stale records were in front". */
static int drain(struct rpc_node *n)
{
    int ran, consumed;
    do {
        consumed = 0;
        ran = drain_once(n, &consumed);
    } while (ran == 0 && consumed > 0);
    if (ran > 0)
        n->recently_busy = 1;
    return ran;
}

static int has_work(struct rpc_node *n)
{
    unsigned k;
    if (atomic_load_explicit(&n->stop, memory_order_relaxed))
        return 1;
    if (atomic_load_explicit(&rpci_seg_header(&n->att->seg)->generation, memory_order_relaxed) !=
        n->in_generation)
        return 1;
    for (k = 0; k < n->nin; k++)
        if (rpci_cons_has_data(&n->in[k].c))
            return 1;
    return 0;
}

/* The receiver's half of the Dekker pair with notify() (top of file),
 * between storing sleeping = 1 and looking at the queues once more. */
static void sleep_barrier(struct rpcl_node *me, int64_t *timeout_ns)
{
    if (!RPCL_LOAD(me->wake_asym)) {
        rpcp_fence(memory_order_seq_cst);
    } else if (rpcp_asym_heavy() != 0) {
        /* Cannot happen once registered.  Should it, publishers must fence
         * from now on, and one that did not a moment ago is covered by
         * sleeping at most 1 ms this time. */
        RPCL_STORE(me->wake_asym, 0);
        rpcp_fence(memory_order_seq_cst);
        if (*timeout_ns < 0 || *timeout_ns > 1000000)
            *timeout_ns = 1000000;
    }
}

/* Wait until there may be work, at most timeout_ns (< 0: no limit).
 * Returns -EINTR if a signal interrupted the sleep, else 0. */
static int wait_for_work(struct rpc_node *n, int64_t timeout_ns)
{
    int rc = 0;
    struct rpcl_node *me = rpci_node_shm(n);
    uint64_t start;
    uint32_t seq;
    /* Look before reading the clock: when the next message is already
     * here, the clock read would only add to its latency. */
    if (has_work(n))
        return 0;
    start = rpcp_mono_ns();
    /* Spin only while traffic flows: an idle node (nothing since its last
     * spin ran out) goes straight to sleep, so quiet nodes cost no CPU and
     * do not compete with the threads that have work. */
    if (n->spin_us < 0 || (n->spin_us > 0 && n->recently_busy)) {
        uint64_t spin_ns = n->spin_us < 0 ? UINT64_MAX : (uint64_t)n->spin_us * 1000u;
        if (timeout_ns >= 0 && (uint64_t)timeout_ns < spin_ns)
            spin_ns = (uint64_t)timeout_ns;
        for (unsigned i = 0;; i++) {
            if (has_work(n))
                return 0;
            spin_turn(i);
            if ((i & 63) == 63 && rpcp_mono_ns() - start >= spin_ns)
                break;
        }
        n->recently_busy = 0;   /* spun out: sleep at once until traffic returns */
        if (timeout_ns >= 0) {
            uint64_t spent = rpcp_mono_ns() - start;
            if (spent >= (uint64_t)timeout_ns)
                return 0;
            timeout_ns -= (int64_t)spent;
        }
    }
    seq = atomic_load_explicit(&me->wake_seq, memory_order_acquire);
    atomic_store_explicit(&me->sleeping, 1, memory_order_relaxed);
    sleep_barrier(me, &timeout_ns);
    if (!has_work(n))
        rc = rpcp_wait_word(&me->wake_seq, seq, timeout_ns);
    atomic_store_explicit(&me->sleeping, 0, memory_order_relaxed);
    return rc;
}

void rpci_node_wake(struct rpc_node *n)
{
    struct rpcl_node *me = rpci_node_shm(n);
    atomic_fetch_add_explicit(&me->wake_seq, 1, memory_order_release);
    rpcp_wake_word(&me->wake_seq);
}

void *rpci_node_receive_main(void *arg)
{
    struct rpc_node *n = arg;
    while (!atomic_load_explicit(&n->stop, memory_order_relaxed)) {
        if (drain(n) == 0)
            wait_for_work(n, -1);
    }
    return NULL;
}

int rpci_node_ensure_receiver(struct rpc_node *n)
{
    int rc = 0;
    if (n->receive_mode != RPC_RECEIVE_THREAD)
        return 0;
    pthread_mutex_lock(&n->sub_mu);
    if (!n->thread_started) {
        if (rpcp_thread_start(&n->thread, rpci_node_receive_main, n) != 0)
            rc = rpci_fail(RPC_ESYS, "node %s: cannot start its receive thread", n->name);
        else
            n->thread_started = 1;
    }
    pthread_mutex_unlock(&n->sub_mu);
    return rc;
}

int rpc_node_poll(rpc_node *n, int timeout_ms)
{
    uint64_t deadline;
    int rc, count;
    rpci_clear_detail();
    if ((rc = check_node(n, "rpc_node_poll")) != 0)
        return rc;
    if (n->receive_mode != RPC_RECEIVE_MANUAL)
        return rpci_fail(RPC_EMODE, "node %s has a receive thread; rpc_node_poll is for "
                         "RPC_RECEIVE_MANUAL nodes", n->name);
    if (timeout_ms < RPC_WAIT_FOREVER)
        return rpci_fail(RPC_EINVAL, "rpc_node_poll: bad timeout %d", timeout_ms);
    /* No clock read unless there is a deadline: a poll(0) loop is hot. */
    deadline = timeout_ms > 0 ? rpcp_mono_ns() + (uint64_t)timeout_ms * 1000000u : 0;
    while ((count = drain(n)) == 0 && timeout_ms != 0) {
        uint64_t now = timeout_ms > 0 ? rpcp_mono_ns() : 0;
        if (timeout_ms > 0 && now >= deadline)
            break;
        /* A signal ends the wait early (returning 0), so that a caller's
         * handler can stop its loop even with RPC_WAIT_FOREVER. */
        if (wait_for_work(n, timeout_ms < 0 ? -1 : (int64_t)(deadline - now)) == -EINTR)
            return drain(n);
    }
    return count;
}
