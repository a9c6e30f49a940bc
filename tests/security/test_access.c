/*
 * test_access.c - access control between the users of one machine, with
 * real kernel identities (root switches forked children to other uids).
 *
 *   test_access mode    a new segment is 0600 whatever the umask; a
 *                       configured mode and group are applied exactly; a
 *                       group the creator may not give is refused and
 *                       nothing is left behind
 *   test_access group   alice's 0660 segment of a shared group: bob (in the
 *                       group, foreign owner allowed) joins and exchanges
 *                       messages with her both ways; carol (not in it) is
 *                       refused with RPC_EACCES by every entry point
 *   test_access squat   a name pre-created by another user (empty, live,
 *                       orphaned) is refused with RPC_EOWNER naming the
 *                       owner, and left exactly as it was
 *   test_access denied  a segment we may not read (another user's 0600, or
 *                       our own chmod 0000) gives RPC_EACCES with a detail
 *                       naming it, from every entry point and tool
 *   test_access users   two users, each with a domain of their own, create,
 *                       use and remove it over and over at the same time
 *                       without disturbing each other
 *
 * Every part needs root and exits 77 (skipped) otherwise.
 */
#include "sec_common.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define GROUP "sec"

static int wait_ms(void)
{
    return tu_timeout_ms(20000);
}

/* A configuration whose nodes are driven by rpc_node_poll, so a test
 * process needs no receive thread. */
static rpc_config *manual_config(const char *name, int allow_foreign)
{
    rpc_config *cfg = tu_config(name);
    ASSERT_OK(rpc_config_set_receive_mode(cfg, RPC_RECEIVE_MANUAL));
    ASSERT_OK(rpc_config_set_allow_foreign_owner(cfg, allow_foreign));
    return cfg;
}

/* ---- messages ---------------------------------------------------------- */

struct inbox {
    int count;
    uint64_t last_seq;
    int out_of_order;
    char data[128];
    char publisher[RPC_NODE_NAME_MAX + 1];
};

static void on_message(rpc_node *node, const rpc_message *m, void *user)
{
    struct inbox *in = user;
    size_t n = m->size < sizeof in->data - 1 ? m->size : sizeof in->data - 1;
    (void)node;
    if (m->seq <= in->last_seq)
        in->out_of_order++;
    in->last_seq = m->seq;
    memcpy(in->data, m->data, n);
    in->data[n] = '\0';
    snprintf(in->publisher, sizeof in->publisher, "%s", m->publisher);
    in->count++;
}

/* Poll the node until the inbox holds `want` messages. */
static void wait_messages(rpc_node *node, struct inbox *in, int want)
{
    int64_t deadline = tu_now_ms() + wait_ms();
    while (in->count < want) {
        int rc = rpc_node_poll(node, 50);
        ASSERT_MSG(rc >= 0, "rpc_node_poll: %s (%s)", tu_errname(rc), rpc_errdetail());
        ASSERT_MSG(tu_now_ms() < deadline, "%d of %d messages after %d ms", in->count, want,
                   wait_ms());
    }
}

static void publish_text(rpc_node *node, const char *topic, const char *text)
{
    ASSERT_OK(rpc_publish(node, GROUP, topic, text, strlen(text), wait_ms()));
}

static int active_nodes(const char *name, int allow_foreign)
{
    rpc_config *cfg = manual_config(name, allow_foreign);
    int n = rpc_domain_active_nodes(cfg);
    rpc_config_destroy(cfg);
    return n;
}

/* ---- mode: the permission bits and group of a new segment -------------- */

struct mode_case {
    const char *name;
    mode_t umask;
    unsigned mode;   /* 0: leave the default */
    gid_t group;     /* (gid_t)-1: leave the default */
    int want_rc;
    unsigned want_mode;
    gid_t want_gid;
};

static void mode_child(void *arg)
{
    const struct mode_case *c = arg;
    rpc_config *cfg = manual_config(c->name, 0);
    rpc_node *node = NULL;
    rpc_domain_info info;
    struct stat st;
    int rc;
    umask(c->umask);
    if (c->mode != 0)
        ASSERT_OK(rpc_config_set_mode(cfg, c->mode));
    if (c->group != (gid_t)-1)
        ASSERT_OK(rpc_config_set_group(cfg, c->group));
    rc = rpc_node_create(cfg, "m", &node);
    ASSERT_RC(rc, c->want_rc);
    if (rc != 0) {
        SEC_DETAIL_HAS(c->name);
        ASSERT_MSG(sec_shm_lstat(c->name, &st) != 0, "refused segment %s was left behind",
                   c->name);
        rpc_config_destroy(cfg);
        return;
    }
    ASSERT(sec_shm_lstat(c->name, &st) == 0 && S_ISREG(st.st_mode));
    ASSERT_MSG((st.st_mode & 07777) == c->want_mode,
               "uid %u, umask %03o, mode %04o, group %ld: file mode %04o, want %04o",
               (unsigned)geteuid(), (unsigned)c->umask, c->mode, (long)c->group,
               (unsigned)(st.st_mode & 07777), c->want_mode);
    ASSERT_EQ(st.st_uid, geteuid());
    ASSERT_EQ(st.st_gid, c->want_gid);
    ASSERT_OK(rpc_domain_stat(cfg, &info));
    ASSERT(info.exists && info.valid);
    ASSERT_EQ(info.mode, c->want_mode);
    ASSERT_EQ(info.uid, geteuid());
    ASSERT_EQ(info.gid, c->want_gid);
    ASSERT_EQ(umask(c->umask), c->umask); /* the library left the umask alone */
    ASSERT_OK(rpc_node_destroy(node));
    ASSERT_MSG(sec_shm_lstat(c->name, &st) != 0, "last out did not remove %s", c->name);
    rpc_config_destroy(cfg);
}

static void run_mode_case(const sec_user *u, mode_t mask, unsigned mode, gid_t group, int want_rc,
                          unsigned want_mode, gid_t want_gid)
{
    struct mode_case c = { tu_shm_name("mode"), mask, mode, group, want_rc, want_mode, want_gid };
    sec_call_as(u, mode_child, &c);
}

static void config_checks(void)
{
    rpc_config *cfg = tu_config(NULL);
    /* The owner must keep read and write; nothing beyond 0777. */
    ASSERT_RC(rpc_config_set_mode(cfg, 0066), RPC_EBADMODE);
    ASSERT_RC(rpc_config_set_mode(cfg, 0400), RPC_EBADMODE);
    ASSERT_RC(rpc_config_set_mode(cfg, 01600), RPC_EBADMODE);
    ASSERT_RC(rpc_config_set_mode(cfg, 04600), RPC_EBADMODE);
    ASSERT_EQ(rpc_config_mode(cfg), RPC_DEFAULT_MODE);
    ASSERT_EQ(rpc_config_mode(NULL), 0600);
    rpc_config_destroy(cfg);
}

static void test_mode(void)
{
    static const mode_t masks[] = { 000, 022, 077 };
    const sec_user *const users[] = { &sec_root, &sec_alice };
    size_t i, k;
    config_checks();
    for (i = 0; i < sizeof users / sizeof users[0]; i++) {
        const sec_user *u = users[i];
        for (k = 0; k < sizeof masks / sizeof masks[0]; k++) {
            run_mode_case(u, masks[k], 0, (gid_t)-1, 0, 0600, u->gid);
            run_mode_case(u, masks[k], 0660, SEC_GID_SHARED, 0, 0660, SEC_GID_SHARED);
            run_mode_case(u, masks[k], 0640, (gid_t)-1, 0, 0640, u->gid);
        }
        tu_log("%s: 0600 by default, 0660 + group, 0640 exact under umask 000/022/077",
               u->label);
    }
    /* alice is not in SEC_GID_OTHER: the kernel refuses the fchown, and the
     * file the library had just created must not stay behind. */
    run_mode_case(&sec_alice, 022, 0660, SEC_GID_OTHER, RPC_EACCES, 0, 0);
    tu_log("alice: a group she is not in is refused (RPC_EACCES), nothing left");
}

/* ---- group: a 0660 segment shared by the members of a group ------------- */

struct group_ctx {
    const char *name;
    int owner_last;          /* alice (the owner) leaves after bob */
    sec_chan to_parent, a2b, b2a;
};

static void alice_child(void *arg)
{
    struct group_ctx *g = arg;
    rpc_config *cfg = manual_config(g->name, 0);
    struct inbox in = { 0 };
    rpc_node_info nodes[4];
    rpc_node *node = NULL;
    struct stat st;
    ASSERT_OK(rpc_config_set_mode(cfg, 0660));
    ASSERT_OK(rpc_config_set_group(cfg, SEC_GID_SHARED));
    ASSERT_OK(rpc_node_create(cfg, "alice", &node));
    ASSERT_OK(rpc_subscribe(node, GROUP, "to_alice", on_message, &in));
    sec_say(&g->to_parent, "ready");
    sec_say(&g->a2b, "ready %llx", (unsigned long long)rpc_node_segment_id(node));

    sec_expect(&g->b2a, "ready", wait_ms());   /* bob has subscribed */
    wait_messages(node, &in, 1);
    ASSERT_STREQ(in.data, "hello alice, from bob");
    ASSERT_STREQ(in.publisher, "bob");
    publish_text(node, "to_bob", "hello bob, from alice");
    sec_expect(&g->b2a, "got", wait_ms());
    ASSERT_EQ(rpc_domain_list_nodes(cfg, nodes, 4), 2);
    ASSERT(nodes[0].alive && nodes[1].alive);
    sec_say(&g->a2b, "listed");

    if (g->owner_last) {
        sec_expect(&g->b2a, "bye", wait_ms());
        ASSERT_EQ(rpc_domain_active_nodes(cfg), 1);
        ASSERT_OK(rpc_node_destroy(node));
        ASSERT_MSG(sec_shm_lstat(g->name, &st) != 0, "alice left last: %s not removed",
                   g->name);
    } else {
        ASSERT_OK(rpc_node_destroy(node));
        ASSERT_MSG(sec_shm_lstat(g->name, &st) == 0, "removed under bob's node");
        sec_say(&g->a2b, "bye");
    }
    rpc_config_destroy(cfg);
}

static void bob_child(void *arg)
{
    struct group_ctx *g = arg;
    rpc_config *strict = manual_config(g->name, 0);
    rpc_config *cfg = manual_config(g->name, 1);
    struct inbox in = { 0 };
    rpc_node *node = NULL;
    unsigned long long segid = 0;
    char line[128];
    struct stat st;
    sec_hear(&g->a2b, line, sizeof line, wait_ms());
    ASSERT(sscanf(line, "ready %llx", &segid) == 1);

    /* Without the opt-in a segment of another user is refused, even one we
     * may read and write through the group. */
    ASSERT_RC(rpc_node_create(strict, "bob", &node), RPC_EOWNER);
    SEC_DETAIL_HAS(g->name, "owned by uid 1001");
    ASSERT(node == NULL);

    ASSERT_OK(rpc_node_create(cfg, "bob", &node));
    ASSERT_EQ(rpc_node_segment_id(node), segid);
    ASSERT_OK(rpc_subscribe(node, GROUP, "to_bob", on_message, &in));
    sec_say(&g->b2a, "ready");
    publish_text(node, "to_alice", "hello alice, from bob");
    wait_messages(node, &in, 1);
    ASSERT_STREQ(in.data, "hello bob, from alice");
    ASSERT_STREQ(in.publisher, "alice");
    sec_say(&g->b2a, "got");
    sec_expect(&g->a2b, "listed", wait_ms());

    if (g->owner_last) {
        ASSERT_OK(rpc_node_destroy(node));
        ASSERT_MSG(sec_shm_lstat(g->name, &st) == 0, "removed under alice's node");
        sec_say(&g->b2a, "bye");
    } else {
        sec_expect(&g->a2b, "bye", wait_ms());
        ASSERT_EQ(rpc_domain_active_nodes(cfg), 1);
        ASSERT_OK(rpc_node_destroy(node));
        /* bob may not unlink alice's file in the sticky /dev/shm: see
         * test_group() for what must happen then. */
    }
    rpc_config_destroy(strict);
    rpc_config_destroy(cfg);
}

/* carol is not in the group: whatever she asks, the kernel says no before
 * the library looks at anything, and nothing changes. */
static void carol_child(void *arg)
{
    const char *name = arg;
    int allow;
    for (allow = 0; allow <= 1; allow++) {
        rpc_config *cfg = manual_config(name, allow);
        rpc_node *node = NULL;
        rpc_domain_info info;
        rpc_node_info ni;
        ASSERT_RC(rpc_node_create(cfg, "carol", &node), RPC_EACCES);
        SEC_DETAIL_HAS(name, "permission denied");
        ASSERT(node == NULL);
        ASSERT_RC(rpc_domain_stat(cfg, &info), RPC_EACCES);
        SEC_DETAIL_HAS(name, "permission denied");
        ASSERT_RC(rpc_domain_active_nodes(cfg), RPC_EACCES);
        ASSERT_RC(rpc_domain_list_nodes(cfg, &ni, 1), RPC_EACCES);
        ASSERT_RC(rpc_domain_cleanup(cfg, 0), RPC_EACCES);
        ASSERT_RC(rpc_domain_cleanup(cfg, RPC_CLEANUP_FORCE), RPC_EACCES);
        SEC_DETAIL_HAS(name);
        ASSERT_RC(rpc_domain_wait_orphaned(cfg), RPC_EACCES);
        rpc_config_destroy(cfg);
    }
}

/* A member may not remove the owner's file, even when it is orphaned. */
static void member_cleanup_child(void *arg)
{
    const char *name = arg;
    rpc_config *cfg = manual_config(name, 1);
    struct stat st;
    ASSERT_RC(rpc_domain_cleanup(cfg, 0), RPC_EACCES);
    SEC_DETAIL_HAS(name);
    ASSERT(sec_shm_lstat(name, &st) == 0);
    rpc_config_destroy(cfg);
}

/* The owner's clean-up removes the orphan. */
static void owner_cleanup_child(void *arg)
{
    const char *name = arg;
    rpc_config *cfg = manual_config(name, 0);
    struct stat st;
    ASSERT_OK(rpc_domain_cleanup(cfg, 0));
    ASSERT(sec_shm_lstat(name, &st) != 0);
    rpc_config_destroy(cfg);
}

static void group_round(int owner_last)
{
    struct group_ctx g;
    pid_t alice, bob;
    struct stat st;
    g.name = tu_shm_name(owner_last ? "grp_ownerlast" : "grp_memberlast");
    g.owner_last = owner_last;
    sec_chan_make(&g.to_parent);
    sec_chan_make(&g.a2b);
    sec_chan_make(&g.b2a);

    alice = sec_run_as(&sec_alice, alice_child, &g);
    sec_expect(&g.to_parent, "ready", wait_ms());
    ASSERT(sec_shm_lstat(g.name, &st) == 0);
    ASSERT_EQ(st.st_mode & 07777, 0660);
    ASSERT_EQ(st.st_uid, SEC_UID_A);
    ASSERT_EQ(st.st_gid, SEC_GID_SHARED);

    sec_call_as(&sec_carol, carol_child, (void *)g.name);
    ASSERT_EQ(active_nodes(g.name, 1), 1); /* alice's node, and nobody else's */

    bob = sec_run_as(&sec_bob, bob_child, &g);
    TU_EXPECT_EXIT0(bob, tu_timeout_ms(60000));
    TU_EXPECT_EXIT0(alice, tu_timeout_ms(60000));
    if (sec_shm_lstat(g.name, &st) == 0) {
        /* Only when a member who is not the owner leaves last: the sticky
         * bit of /dev/shm forbids bob to unlink alice's file.  It must then
         * be an orphan that the owner's clean-up removes. */
        rpc_config *cfg = manual_config(g.name, 1);
        rpc_domain_info info;
        ASSERT_MSG(!owner_last, "alice left last, but %s is still there", g.name);
        ASSERT_OK(rpc_domain_stat(cfg, &info));
        ASSERT(info.exists && info.orphaned && info.live_nodes == 0);
        tu_log("group, member last out: the owner's file stays as an orphan (sticky /dev/shm)");
        rpc_config_destroy(cfg);
        sec_call_as(&sec_bob, member_cleanup_child, (void *)g.name);
        sec_call_as(&sec_alice, owner_cleanup_child, (void *)g.name);
    }
    sec_chan_close(&g.to_parent);
    sec_chan_close(&g.a2b);
    sec_chan_close(&g.b2a);
}

static void test_group(void)
{
    group_round(1);
    tu_log("group 0660: bob joins alice's domain, messages both ways, carol refused; "
           "owner last out removes it");
    group_round(0);
    tu_log("group 0660: the same with bob last out");
}

/* ---- squat: another user's file under our name -------------------------- */

struct squat_ctx {
    const char *name;
    sec_chan to_parent, cmd;
};

/* nobody plants an empty, world-writable file under the name. */
static void plant_empty_child(void *arg)
{
    const char *name = arg;
    int fd = shm_open(name, O_CREAT | O_EXCL | O_RDWR, 0666);
    ASSERT_MSG(fd >= 0, "shm_open %s: %s", name, strerror(errno));
    ASSERT(fchmod(fd, 0666) == 0);
    close(fd);
}

/* nobody runs a real domain under the name, open to all (0666), until told
 * to quit or killed. */
static void squatter_child(void *arg)
{
    struct squat_ctx *q = arg;
    rpc_config *cfg = manual_config(q->name, 0);
    rpc_node *node = NULL;
    struct stat st;
    ASSERT_OK(rpc_config_set_mode(cfg, 0666));
    ASSERT_OK(rpc_node_create(cfg, "squatter", &node));
    sec_say(&q->to_parent, "ready %llx", (unsigned long long)rpc_node_segment_id(node));
    sec_expect(&q->cmd, "quit", tu_timeout_ms(120000));
    ASSERT_EQ(rpc_domain_active_nodes(cfg), 1); /* no victim got in */
    ASSERT_OK(rpc_node_destroy(node));
    ASSERT(sec_shm_lstat(q->name, &st) != 0);
    rpc_config_destroy(cfg);
}

/* Root or alice wants the name for a domain of their own. */
static void victim_child(void *arg)
{
    const char *name = arg;
    rpc_config *cfg = manual_config(name, 0);
    rpc_node *node = NULL;
    ASSERT_RC(rpc_node_create(cfg, "victim", &node), RPC_EOWNER);
    SEC_DETAIL_HAS(name, "owned by uid 65534");
    ASSERT(node == NULL);
    ASSERT_RC(rpc_domain_cleanup(cfg, 0), RPC_EOWNER);
    SEC_DETAIL_HAS(name, "owned by uid 65534");
    ASSERT_RC(rpc_domain_wait_orphaned(cfg), RPC_EOWNER);
    rpc_config_destroy(cfg);
}

/* The tools, as root, on a squatted name: refused (exit 4) naming the
 * owner, and nothing removed. */
static void squat_tools(const char *name)
{
    char out[4096], opt[300];
    const char *env[] = { NULL, NULL };
    char envname[300];
    int rc;
    if (!sec_tools_usable()) {
        tu_log("tools not built: their part of the squat test is left out");
        return;
    }
    snprintf(opt, sizeof opt, "--name=%s", name);
    snprintf(envname, sizeof envname, "LIBRPC_SHM_NAME=%s", name);
    env[0] = envname;
    rc = sec_tool(out, sizeof out, NULL, "rpcctl", "status", opt, (char *)NULL);
    ASSERT_MSG(rc == 4 && sec_contains(out, "65534"), "rpcctl status: exit %d: %s", rc, out);
    rc = sec_tool(out, sizeof out, NULL, "rpcctl", "cleanup", opt, (char *)NULL);
    ASSERT_MSG(rc == 4 && sec_contains(out, "owned by uid 65534"), "rpcctl cleanup: exit %d: %s",
               rc, out);
    rc = sec_tool(out, sizeof out, NULL, "rpcctl", "pub", "g", "t", "m", opt, (char *)NULL);
    ASSERT_MSG(rc == 4 && sec_contains(out, "owned by uid 65534"), "rpcctl pub: exit %d: %s", rc,
               out);
    rc = sec_tool(out, sizeof out, env, "test_shm_cleanup", "cleanup", (char *)NULL);
    ASSERT_MSG(rc == 4 && sec_contains(out, "65534"), "test_shm_cleanup cleanup: exit %d: %s",
               rc, out);
}

static void refuse_all(const char *name)
{
    sec_call_as(&sec_root, victim_child, (void *)name);
    sec_call_as(&sec_alice, victim_child, (void *)name);
    squat_tools(name);
}

static void squat_empty(void)
{
    const char *name = tu_shm_name("squat_empty");
    char path[512];
    sec_snap before;
    tu_shm_path(name, path, sizeof path);
    sec_call_as(&sec_nobody, plant_empty_child, (void *)name);
    sec_snap_take(path, &before);
    ASSERT_EQ(before.uid, SEC_UID_NOBODY);
    refuse_all(name);
    SEC_SNAP_SAME(path, &before); /* not initialised, not resized, not removed */
    tu_shm_remove(name);
    tu_log("squat: an empty file of nobody's is refused (RPC_EOWNER, owner named), untouched");
}

/* Same file, same owner, same segment id: nobody re-made it. */
static void expect_same_segment(const char *name, const struct stat *was, uint64_t segid)
{
    rpc_config *cfg = manual_config(name, 1);
    rpc_domain_info info;
    struct stat st;
    ASSERT(sec_shm_lstat(name, &st) == 0);
    ASSERT(st.st_ino == was->st_ino && st.st_uid == was->st_uid && st.st_size == was->st_size &&
           st.st_mode == was->st_mode);
    ASSERT_OK(rpc_domain_stat(cfg, &info));
    ASSERT(info.exists && info.valid);
    ASSERT_EQ(info.segment_id, segid);
    rpc_config_destroy(cfg);
}

static void squat_live_and_orphan(void)
{
    struct squat_ctx q;
    char line[128], path[512];
    unsigned long long segid = 0;
    struct stat was;
    sec_snap before;
    pid_t squatter;
    q.name = tu_shm_name("squat_live");
    sec_chan_make(&q.to_parent);
    sec_chan_make(&q.cmd);

    /* Live: the squatter's process holds its node. */
    squatter = sec_run_as(&sec_nobody, squatter_child, &q);
    sec_hear(&q.to_parent, line, sizeof line, wait_ms());
    ASSERT(sscanf(line, "ready %llx", &segid) == 1);
    ASSERT(sec_shm_lstat(q.name, &was) == 0);
    refuse_all(q.name);
    expect_same_segment(q.name, &was, segid);
    sec_say(&q.cmd, "quit");
    TU_EXPECT_EXIT0(squatter, tu_timeout_ms(60000));
    tu_log("squat: nobody's live domain is refused to root and alice, left running");

    /* Orphaned: the squatter dies and leaves its segment behind.  Joiners
     * re-make orphans of their own, never someone else's. */
    squatter = sec_run_as(&sec_nobody, squatter_child, &q);
    sec_hear(&q.to_parent, line, sizeof line, wait_ms());
    ASSERT(sscanf(line, "ready %llx", &segid) == 1);
    tu_kill9(squatter);
    ASSERT(sec_shm_lstat(q.name, &was) == 0);
    sec_snap_take(tu_shm_path(q.name, path, sizeof path), &before);
    refuse_all(q.name);
    expect_same_segment(q.name, &was, segid);
    SEC_SNAP_SAME(path, &before);
    tu_shm_remove(q.name);
    sec_chan_close(&q.to_parent);
    sec_chan_close(&q.cmd);
    tu_log("squat: nobody's orphaned domain is refused, not re-made, not removed");
}

static void test_squat(void)
{
    squat_empty();
    squat_live_and_orphan();
}

/* ---- denied: a segment we may not read ---------------------------------- */

struct keeper_ctx {
    const char *name;
    sec_chan to_parent, cmd;
};

/* Holds a node in a default (0600) domain until told to quit. */
static void keeper_child(void *arg)
{
    struct keeper_ctx *k = arg;
    rpc_config *cfg = manual_config(k->name, 0);
    rpc_node *node = NULL;
    struct stat st;
    ASSERT_OK(rpc_node_create(cfg, "keeper", &node));
    sec_say(&k->to_parent, "ready");
    sec_expect(&k->cmd, "quit", tu_timeout_ms(120000));
    ASSERT_EQ(rpc_domain_active_nodes(cfg), 1);
    ASSERT_OK(rpc_node_destroy(node));
    ASSERT_MSG(sec_shm_lstat(k->name, &st) != 0, "last out did not remove %s", k->name);
    rpc_config_destroy(cfg);
}

static void intruder_tools(const char *name, int is_owner)
{
    char out[4096], opt[300], envname[300];
    const char *env[] = { envname, NULL };
    int rc;
    if (!sec_tools_usable()) {
        tu_log("tools not built or not executable for uid %u: left out", (unsigned)geteuid());
        return;
    }
    snprintf(opt, sizeof opt, "--name=%s", name);
    snprintf(envname, sizeof envname, "LIBRPC_SHM_NAME=%s", name);
    rc = sec_tool(out, sizeof out, NULL, "rpcctl", "status", opt, (char *)NULL);
    ASSERT_MSG(rc == 4 && sec_contains(out, "permission denied"), "rpcctl status: exit %d: %s",
               rc, out);
    rc = sec_tool(out, sizeof out, NULL, "rpcctl", "nodes", opt, (char *)NULL);
    ASSERT_MSG(rc == 4 && sec_contains(out, "permission denied"), "rpcctl nodes: exit %d: %s",
               rc, out);
    rc = sec_tool(out, sizeof out, NULL, "rpcctl", "cleanup", opt, (char *)NULL);
    ASSERT_MSG(rc == 4, "rpcctl cleanup: exit %d: %s", rc, out);
    if (!is_owner) {
        /* (The owner may unlink her own file whatever its mode.) */
        rc = sec_tool(out, sizeof out, NULL, "rpcctl", "cleanup", "--force", opt, (char *)NULL);
        ASSERT_MSG(rc == 4, "rpcctl cleanup --force: exit %d: %s", rc, out);
    }
    rc = sec_tool(out, sizeof out, env, "test_shm_cleanup", "status", (char *)NULL);
    ASSERT_MSG(rc == 4, "test_shm_cleanup status: exit %d: %s", rc, out);
}

struct intruder_ctx {
    const char *name;
    int is_owner;       /* the owner herself, locked out by mode 0000 */
};

static void intruder_child(void *arg)
{
    const struct intruder_ctx *x = arg;
    const char *name = x->name;
    int allow;
    for (allow = 0; allow <= 1; allow++) {
        rpc_config *cfg = manual_config(name, allow);
        rpc_node *node = NULL;
        rpc_domain_info info;
        rpc_node_info ni;
        rpc_endpoint_info ei;
        ASSERT_RC(rpc_node_create(cfg, "intruder", &node), RPC_EACCES);
        SEC_DETAIL_HAS(name, "permission denied");
        ASSERT_RC(rpc_domain_stat(cfg, &info), RPC_EACCES);
        SEC_DETAIL_HAS(name, "permission denied");
        ASSERT_RC(rpc_domain_active_nodes(cfg), RPC_EACCES);
        ASSERT_RC(rpc_domain_list_nodes(cfg, &ni, 1), RPC_EACCES);
        ASSERT_RC(rpc_domain_list_endpoints(cfg, &ei, 1), RPC_EACCES);
        ASSERT_RC(rpc_domain_cleanup(cfg, 0), RPC_EACCES);
        if (!x->is_owner)
            ASSERT_RC(rpc_domain_cleanup(cfg, RPC_CLEANUP_FORCE), RPC_EACCES);
        ASSERT_RC(rpc_domain_wait_orphaned(cfg), RPC_EACCES);
        rpc_config_destroy(cfg);
    }
    intruder_tools(name, x->is_owner);
}

/* chmod 0000 by the owner itself. */
static void lock_out_child(void *arg)
{
    char path[512];
    ASSERT(chmod(tu_shm_path(arg, path, sizeof path), 0) == 0);
}

/* Root bypasses the permission bits, but the owner check still applies. */
static void root_on_foreign_child(void *arg)
{
    const char *name = arg;
    rpc_config *cfg = manual_config(name, 0);
    rpc_node *node = NULL;
    ASSERT_RC(rpc_node_create(cfg, "root", &node), RPC_EOWNER);
    SEC_DETAIL_HAS(name, "owned by uid 1001");
    rpc_config_destroy(cfg);
}

static void denied_case(const sec_user *owner, int lock_out)
{
    struct intruder_ctx x;
    struct keeper_ctx k;
    struct stat st;
    pid_t keeper;
    k.name = tu_shm_name(lock_out ? "denied_0000" : "denied_0600");
    sec_chan_make(&k.to_parent);
    sec_chan_make(&k.cmd);
    keeper = sec_run_as(owner, keeper_child, &k);
    sec_expect(&k.to_parent, "ready", wait_ms());
    if (lock_out) {
        sec_call_as(owner, lock_out_child, (void *)k.name);
        ASSERT(sec_shm_lstat(k.name, &st) == 0 && (st.st_mode & 07777) == 0);
        sec_call_as(&sec_root, root_on_foreign_child, (void *)k.name);
    }
    x.name = k.name;
    x.is_owner = owner == &sec_alice;
    sec_call_as(&sec_alice, intruder_child, &x);
    ASSERT(sec_shm_lstat(k.name, &st) == 0);
    if (lock_out) {
        /* Give the keeper back a mode it can look at its domain with. */
        char path[512];
        ASSERT(chmod(tu_shm_path(k.name, path, sizeof path), 0600) == 0);
    }
    sec_say(&k.cmd, "quit");
    TU_EXPECT_EXIT0(keeper, tu_timeout_ms(60000));
    sec_chan_close(&k.to_parent);
    sec_chan_close(&k.cmd);
    tu_log("denied: alice on %s's %s segment: RPC_EACCES everywhere, nothing changed",
           owner->label, lock_out ? "0000" : "0600");
}

static void test_denied(void)
{
    denied_case(&sec_root, 0);
    denied_case(&sec_nobody, 0);
    denied_case(&sec_alice, 1);   /* her own segment, chmod 0000 */
}

/* ---- users: two users, two domains, at the same time -------------------- */

#define SOLO_CYCLES 25       /* at least this many cycles each */
#define SOLO_MIN_MS 2000     /* and for at least this long, so the runs overlap */
#define SOLO_MESSAGES 16

struct solo_ctx {
    const char *own, *other;
    tu_gate *gate;
    sec_chan *report;
};

struct stream {
    int cycle, next;
    int bad;
};

static void on_stream(rpc_node *node, const rpc_message *m, void *user)
{
    struct stream *s = user;
    char want[64];
    int n = snprintf(want, sizeof want, "uid %u cycle %d message %d", (unsigned)getuid(),
                     s->cycle, s->next);
    (void)node;
    if (m->size != (size_t)n || memcmp(m->data, want, (size_t)n) != 0 ||
        m->seq != (uint64_t)s->next + 1)
        s->bad++;
    s->next++;
}

static void solo_cycle(const char *name, int cycle)
{
    rpc_config *cfg = manual_config(name, 0);
    struct stream s = { cycle, 0, 0 };
    rpc_node *pub = NULL, *sub = NULL;
    int64_t deadline;
    struct stat st;
    int i;
    ASSERT_OK(rpc_node_create(cfg, "pub", &pub));
    ASSERT_OK(rpc_node_create(cfg, "sub", &sub));
    ASSERT_OK(rpc_subscribe(sub, GROUP, "own", on_stream, &s));
    for (i = 0; i < SOLO_MESSAGES; i++) {
        char text[64];
        snprintf(text, sizeof text, "uid %u cycle %d message %d", (unsigned)getuid(), cycle, i);
        publish_text(pub, "own", text);
    }
    deadline = tu_now_ms() + wait_ms();
    while (s.next < SOLO_MESSAGES) {
        ASSERT(rpc_node_poll(sub, 50) >= 0);
        ASSERT_MSG(tu_now_ms() < deadline, "cycle %d: %d of %d messages", cycle, s.next,
                   SOLO_MESSAGES);
    }
    ASSERT_EQ(s.bad, 0);
    ASSERT_EQ(rpc_domain_active_nodes(cfg), 2);
    ASSERT_OK(rpc_node_destroy(sub));
    ASSERT_OK(rpc_node_destroy(pub));
    ASSERT_MSG(sec_shm_lstat(name, &st) != 0, "cycle %d: %s not removed", cycle, name);
    rpc_config_destroy(cfg);
}

static void solo_child(void *arg)
{
    struct solo_ctx *c = arg;
    rpc_config *other = manual_config(c->other, 0);
    int64_t t0, t1;
    int cycle, seen = 0;
    tu_gate_wait(c->gate);
    t0 = tu_now_ms();
    for (cycle = 0; cycle < SOLO_CYCLES || tu_now_ms() - t0 < SOLO_MIN_MS; cycle++) {
        int rc;
        solo_cycle(c->own, cycle);
        /* The other user's domain: present (no access) or absent, never
         * ours to look into or remove. */
        rc = rpc_domain_active_nodes(other);
        ASSERT_MSG(rc == RPC_EACCES || rc == RPC_ENOENT, "active_nodes(other): %s",
                   tu_errname(rc));
        seen += rc == RPC_EACCES;
        rc = rpc_domain_cleanup(other, 0);
        ASSERT_MSG(rc == RPC_EACCES || rc == RPC_ENOENT, "cleanup(other): %s", tu_errname(rc));
    }
    t1 = tu_now_ms();
    sec_say(c->report, "%lld %lld %d %d", (long long)t0, (long long)t1, cycle, seen);
    rpc_config_destroy(other);
}

static void test_users(void)
{
    const char *dom_a = tu_shm_name("users_alice");
    const char *dom_b = tu_shm_name("users_bob");
    struct solo_ctx ca = { dom_a, dom_b, NULL, NULL }, cb = { dom_b, dom_a, NULL, NULL };
    long long t0[2], t1[2];
    int cycles[2], seen[2], i;
    sec_chan report;
    tu_gate gate;
    pid_t pa, pb;
    tu_gate_make(&gate);
    sec_chan_make(&report);
    ca.gate = cb.gate = &gate;
    ca.report = cb.report = &report;
    pa = sec_run_as(&sec_alice, solo_child, &ca);
    pb = sec_run_as(&sec_bob, solo_child, &cb);
    tu_gate_open(&gate, 2);
    for (i = 0; i < 2; i++) {
        char line[128];
        sec_hear(&report, line, sizeof line, tu_timeout_ms(120000));
        ASSERT(sscanf(line, "%lld %lld %d %d", &t0[i], &t1[i], &cycles[i], &seen[i]) == 4);
    }
    TU_EXPECT_EXIT0(pa, tu_timeout_ms(60000));
    TU_EXPECT_EXIT0(pb, tu_timeout_ms(60000));
    ASSERT(!tu_shm_exists(dom_a) && !tu_shm_exists(dom_b));
    /* They did run at the same time. */
    ASSERT_MSG(t0[0] < t1[1] && t0[1] < t1[0], "the two runs did not overlap");
    tu_log("users: two users ran %d and %d create/use/remove cycles at once (%d ms, %d ms); "
           "each found the other's domain present (and refused) %d and %d times", cycles[0],
           cycles[1], (int)(t1[0] - t0[0]), (int)(t1[1] - t0[1]), seen[0], seen[1]);
    sec_chan_close(&report);
}

/* ---- main ---------------------------------------------------------------- */

int main(int argc, char **argv)
{
    static const struct {
        const char *name;
        void (*run)(void);
    } parts[] = {
        { "mode", test_mode },     { "group", test_group }, { "squat", test_squat },
        { "denied", test_denied }, { "users", test_users },
    };
    char test[64];
    size_t i;
    if (argc != 2) {
        fprintf(stderr, "usage: test_access mode|group|squat|denied|users\n");
        return 2;
    }
    snprintf(test, sizeof test, "access_%s", argv[1]);
    tu_init(test);
    for (i = 0; i < sizeof parts / sizeof parts[0]; i++) {
        if (strcmp(argv[1], parts[i].name) == 0) {
            sec_require_root();
            parts[i].run();
            return tu_done();
        }
    }
    fprintf(stderr, "test_access: unknown part '%s'\n", argv[1]);
    return 2;
}
