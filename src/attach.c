/*
 * attach.c - the process-wide list of attachments, the background sweeper,
 * and what happens at fork().
 *
 * Invariants:
 * - g_lock guards the list and every attachment's live_nodes/handles, and is
 *   taken before any life-cycle lock (lock order: g_lock -> life-cycle ->
 *   membership), so at fork() no thread of ours is inside the protocol.
 * - The sweeper never blocks on g_lock or on the life-cycle lock (it only
 *   tries them), so a thread holding g_lock may join it.
 * - After fork() the child closes every inherited descriptor: OFD locks
 *   belong to the open file description, which the child would otherwise
 *   share, keeping the parent's nodes "alive" after the parent died.
 */
#include "attach.h"
#include "registry.h"
#include "ring.h"
#include "platform/platform.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER;
static struct rpci_attach *g_list;
static pthread_once_t g_once = PTHREAD_ONCE_INIT;
static atomic_uint g_name_counter;

/* ---- fork ------------------------------------------------------------- */

static void at_prepare(void) { pthread_mutex_lock(&g_lock); }
static void at_parent(void) { pthread_mutex_unlock(&g_lock); }

static void at_child(void)
{
    struct rpci_attach *a;
    for (a = g_list; a != NULL; a = a->next) {
        rpci_seg_close(&a->seg);
        a->forked = 1;
        a->sweeper_started = 0;   /* threads do not survive fork() */
        rpci_peerwatch_close_after_fork(&a->watch);
    }
    /* The child's handles keep these alive until destroyed; new nodes in
     * the child attach afresh. */
    g_list = NULL;
    /* Locked by at_prepare in this very thread: unlock, not re-initialise
     * (a re-initialised mutex still reads as held to ThreadSanitizer). */
    pthread_mutex_unlock(&g_lock);
}

static void register_atfork(void)
{
    pthread_atfork(at_prepare, at_parent, at_child);
}

/* ---- sweeper ------------------------------------------------------------ */

/* One sweep.  Returns 1 if dead nodes were seen but the locks were busy,
 * so the caller retries soon instead of a whole period later. */
static int sweep_once(struct rpci_attach *a)
{
    int busy = 1;
    /* Cheap racy pass first: one lock test per used slot, no lock taken. */
    if (!rpci_reg_any_dead(&a->seg, a->owner_id) && !rpci_ring_any_collectable(&a->seg))
        return 0;
    if (pthread_mutex_trylock(&g_lock) != 0)
        return 1;   /* never block here: a g_lock holder may be joining us */
    if (rpci_seg_trylock(&a->seg) == 0) {
        rpci_reg_sweep(&a->seg, a->owner_id);
        rpci_seg_unlock(&a->seg);
        busy = 0;
    }
    pthread_mutex_unlock(&g_lock);
    return busy;
}

#define RETRY_MS 5

/* Sweep whenever a peer process ends (or now and then: see peerwatch.h),
 * until stopped; soon again when the locks were busy. */
static void *sweeper_main(void *arg)
{
    struct rpci_attach *a = arg;
    int retry = 0;
    while (rpci_peerwatch_wait(&a->watch, &a->seg, a->owner_id, retry ? RETRY_MS : 0) == 0)
        retry = sweep_once(a);
    return NULL;
}

static int start_sweeper(struct rpci_attach *a)
{
    if (rpci_peerwatch_init(&a->watch, &a->seg) != 0)
        return rpci_fail(RPC_ESYS, "segment %s: cannot set up the sweeper", a->seg.name);
    if (rpcp_thread_start(&a->sweeper, sweeper_main, a) != 0) {
        rpci_peerwatch_close(&a->watch);
        return rpci_fail(RPC_ESYS, "segment %s: cannot start the sweeper thread", a->seg.name);
    }
    a->sweeper_started = 1;
    return 0;
}

static void stop_sweeper(struct rpci_attach *a)
{
    if (!a->sweeper_started)
        return;
    rpci_peerwatch_stop(&a->watch);
    pthread_join(a->sweeper, NULL);
    a->sweeper_started = 0;
    rpci_peerwatch_close(&a->watch);
}

static void free_attach(struct rpci_attach *a)
{
    rpci_peerwatch_close(&a->watch);
    free(a);
}

/* ---- attach / detach ------------------------------------------------------ */

static struct rpci_attach *find(const char *shm_name)
{
    struct rpci_attach *a;
    for (a = g_list; a != NULL; a = a->next)
        if (strcmp(a->seg.name, shm_name) == 0)
            return a;
    return NULL;
}

static void unlist(struct rpci_attach *a)
{
    struct rpci_attach **pp;
    for (pp = &g_list; *pp != NULL; pp = &(*pp)->next)
        if (*pp == a) {
            *pp = a->next;
            return;
        }
}

/* Join the segment: returns a new attachment with the life-cycle lock held. */
static int attach_new(const struct rpc_config *cfg, struct rpci_attach **out)
{
    struct rpci_attach *a = calloc(1, sizeof *a);
    int rc;
    if (a == NULL)
        return rpci_fail(RPC_ENOMEM, "segment %s: out of memory", cfg->shm_name);
    a->cfg = *cfg;
    a->owner_id = rpcp_random64();
    a->asym = rpcp_asym_register();
    if ((rc = rpci_seg_join(cfg, &a->seg)) != 0) {
        free(a);
        return rc;
    }
    *out = a;
    return 0;
}

int rpci_attach_add_node(const struct rpc_config *cfg, const char *name,
                         struct rpci_attach **att, uint32_t *slot, uint64_t *incarnation)
{
    struct rpci_attach *a;
    int rc, fresh = 0;
    pthread_once(&g_once, register_atfork);
    pthread_mutex_lock(&g_lock);
    if ((a = find(cfg->shm_name)) != NULL) {
        rc = rpci_seg_lock(&a->seg);
    } else {
        rc = attach_new(cfg, &a);
        fresh = rc == 0;
    }
    if (rc != 0)
        goto out;
    /* Reclaim the dead first, so their names and slots are free again. */
    rpci_reg_sweep(&a->seg, a->owner_id);
    rc = rpci_reg_add(&a->seg, a->owner_id, name, incarnation);
    if (rc < 0) {
        if (fresh) {
            rpci_seg_leave(&a->seg);
            free(a);
        } else {
            rpci_seg_unlock(&a->seg);
        }
        goto out;
    }
    rpci_seg_unlock(&a->seg);
    *slot = (uint32_t)rc;
    rc = 0;
    a->live_nodes++;
    a->handles++;
    if (fresh) {
        a->next = g_list;
        g_list = a;
        if (start_sweeper(a) != 0)
            a->sweeper_started = 0;   /* no periodic sweep; joins still sweep */
    }
    *att = a;
out:
    pthread_mutex_unlock(&g_lock);
    return rc;
}

int rpci_attach_remove_node(struct rpci_attach *a, uint32_t slot)
{
    int rc = 0;
    pthread_mutex_lock(&g_lock);
    if (a->forked) {
        /* Only memory to free: the segment is the parent's business. */
        if (--a->handles == 0)
            free_attach(a);
        pthread_mutex_unlock(&g_lock);
        return 0;
    }
    if (rpci_seg_lock(&a->seg) != 0) {
        /* Stuck holder: drop the node lock so the survivors' sweep reclaims
         * the slot as if we had died. */
        (void)rpcp_lock_try(a->seg.fd, RPC_LOCK_NODE0 + slot, RPCP_UNLOCK);
        rc = RPC_ETIMEDOUT;
    } else {
        rpci_reg_remove(&a->seg, slot);
    }
    a->live_nodes--;
    a->handles--;
    if (a->live_nodes == 0) {
        unlist(a);
        stop_sweeper(a);
        if (rc == 0)
            rpci_seg_leave(&a->seg);   /* unlinks if we were the last */
        else
            rpci_seg_close(&a->seg);
        free_attach(a);
    } else if (rc == 0) {
        rpci_seg_unlock(&a->seg);
    }
    pthread_mutex_unlock(&g_lock);
    return rc;
}

void rpci_process_lock(void)
{
    pthread_once(&g_once, register_atfork);
    pthread_mutex_lock(&g_lock);
}

void rpci_process_unlock(void)
{
    pthread_mutex_unlock(&g_lock);
}

int rpci_attach_lock(struct rpci_attach *a)
{
    return rpci_attach_lock_until(a, 0);
}

int rpci_attach_lock_until(struct rpci_attach *a, uint64_t until_ns)
{
    int rc;
    /* A thread of ours may hold g_lock while it waits (up to 10 s) for the
     * life-cycle lock another process holds: the caller's deadline bounds
     * this wait too, not only the one for the file lock. */
    if (rpcp_mutex_lock_until(&g_lock, until_ns) != 0)
        return rpci_fail(RPC_ETIMEDOUT, "segment %s: another thread of this process holds the "
                         "tables past the deadline", a->seg.name);
    if (a->forked) {
        pthread_mutex_unlock(&g_lock);
        return rpci_fail(RPC_EFORKED, "node inherited through fork()");
    }
    if ((rc = rpci_seg_lock_fd_until(a->seg.fd, a->seg.name, until_ns)) != 0)
        pthread_mutex_unlock(&g_lock);
    return rc;
}

void rpci_attach_unlock(struct rpci_attach *a)
{
    rpci_seg_unlock(&a->seg);
    pthread_mutex_unlock(&g_lock);
}

int rpci_attach_count_alive(const char *shm_name)
{
    struct rpci_attach *a;
    int count = -1;
    uint32_t i;
    rpci_process_lock();
    if ((a = find(shm_name)) != NULL) {
        count = 0;
        for (i = 0; i < a->seg.max_nodes; i++) {
            const struct rpcl_node *n = rpci_seg_node(&a->seg, i);
            /* Acquire: pairs with the release that published the slot. */
            if (atomic_load_explicit(&n->state, memory_order_acquire) != RPCL_NODE_ALIVE)
                continue;
            /* Our own locks are invisible to our descriptor: ours are alive
             * by construction (we hold g_lock, nobody is removing them). */
            if (RPCL_LOAD(n->owner_id) == a->owner_id || rpci_reg_alive(&a->seg, i) == 1)
                count++;
        }
    }
    rpci_process_unlock();
    return count;
}

void rpci_attach_sweep_now(struct rpci_attach *a, uint64_t until_ns)
{
    if (rpci_attach_lock_until(a, until_ns) != 0)
        return;
    rpci_reg_sweep(&a->seg, a->owner_id);
    rpci_attach_unlock(a);
}

void rpci_attach_auto_name(char out[RPC_NODE_NAME_MAX + 1])
{
    unsigned n = atomic_fetch_add_explicit(&g_name_counter, 1, memory_order_relaxed);
    snprintf(out, RPC_NODE_NAME_MAX + 1, "node-%ld-%u", (long)getpid(), n);
}
