/*
 * test_ownership.c - guarantee 6: nobody gets in who does not belong, and a
 * new segment gets exactly the configured mode.
 *
 * - Mode: with umask 0 a default segment is 0600; with umask 077 a
 *   configured 0660 is exactly 0660 (and 0644 with umask 0777); the
 *   caller's umask is left as it was.
 * - Foreign owner (as root, chown to nobody = uid 65534): a live segment, an
 *   orphan and a squatted empty file are all refused with RPC_EOWNER, left
 *   untouched (not repaired, not cleaned up), and the detail names the
 *   segment; rpc_config_set_allow_foreign_owner lets a process join.
 * - A process running as nobody cannot open root's 0600 segment (RPC_EACCES)
 *   and cannot remove it.
 * - Not a regular file: a symlink (also a dangling one, whose target must
 *   not be created), a directory and a FIFO are refused with RPC_ENOTREG,
 *   without a hang.
 * The root-only parts report a skip (77) when not run as root.
 */
#include "testutil.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define NOBODY 65534

static unsigned file_mode(const char *name)
{
    char path[512];
    struct stat st;
    ASSERT(stat(tu_shm_path(name, path, sizeof path), &st) == 0);
    return st.st_mode & 07777;
}

static void mode_case(mode_t mask, unsigned cfg_mode, unsigned want)
{
    const char *name = tu_shm_name("mode");
    rpc_config *cfg = tu_config(name);
    rpc_node *node = NULL;
    rpc_domain_info info;
    mode_t old = umask(mask);
    if (cfg_mode != 0)
        ASSERT_OK(rpc_config_set_mode(cfg, cfg_mode));
    ASSERT_OK(rpc_node_create(cfg, "m", &node));
    ASSERT_EQ(umask(old), mask); /* the library left our umask alone */
    ASSERT_MSG(file_mode(name) == want, "umask %03o, mode %04o: file has %04o, want %04o",
               (unsigned)mask, cfg_mode, file_mode(name), want);
    ASSERT_OK(rpc_domain_stat(cfg, &info));
    ASSERT_EQ(info.mode, want);
    ASSERT_EQ(info.uid, geteuid());
    ASSERT_OK(rpc_node_destroy(node));
    ASSERT(!tu_shm_exists(name));
    rpc_config_destroy(cfg);
}

/* Run rpc_node_create in a watched child; returns its result code. */
static int join_in_child(const char *name, int allow_foreign)
{
    int fds[2], rc = 1;
    pid_t pid;
    ASSERT(pipe(fds) == 0);
    pid = tu_fork(0);
    if (pid == 0) {
        rpc_config *cfg = tu_config(name);
        rpc_node *node = NULL;
        int r;
        close(fds[0]);
        ASSERT_OK(rpc_config_set_allow_foreign_owner(cfg, allow_foreign));
        r = rpc_node_create(cfg, "intruder", &node);
        if (r != 0 && strstr(rpc_errdetail(), name) == NULL)
            TU_FAIL("the detail does not name the segment: \"%s\"", rpc_errdetail());
        if (r == 0)
            r = rpc_node_destroy(node) == 0 ? 0 : 1000;
        ASSERT(write(fds[1], &r, sizeof r) == sizeof r);
        rpc_config_destroy(cfg);
        exit(0);
    }
    close(fds[1]);
    TU_EXPECT_EXIT0(pid, tu_timeout_ms(20000));
    ASSERT(read(fds[0], &rc, sizeof rc) == sizeof rc);
    close(fds[0]);
    return rc;
}

static void chown_nobody(const char *name)
{
    char path[512];
    ASSERT_MSG(lchown(tu_shm_path(name, path, sizeof path), NOBODY, NOBODY) == 0, "chown: %s",
               strerror(errno));
}

static void foreign_live(void)
{
    const char *name = tu_shm_name("flive");
    rpc_config *cfg = tu_config(name);
    tu_peer p;
    tu_peer_start(&p, name, 0);
    ASSERT_EQ(tu_peer_cmd(&p, NULL, 0, "create owner"), 0);
    chown_nobody(name);
    ASSERT_RC(join_in_child(name, 0), RPC_EOWNER);
    ASSERT_RC(rpc_domain_cleanup(cfg, 0), RPC_EOWNER);
    ASSERT(tu_shm_exists(name));
    /* Allowed explicitly: the joiner gets in (and leaves again). */
    ASSERT_RC(join_in_child(name, 1), 0);
    ASSERT(tu_shm_exists(name));
    ASSERT_EQ(tu_peer_cmd(&p, NULL, 0, "check"), 0);
    tu_peer_quit(&p);
    ASSERT_MSG(!tu_shm_exists(name), "last out did not remove the chowned segment");
    rpc_config_destroy(cfg);
}

static void foreign_orphan_and_squat(void)
{
    const char *orphan = tu_shm_name("forphan");
    const char *squat = tu_shm_name("fsquat");
    rpc_config *cfg = tu_config(orphan);
    rpc_domain_info info;
    tu_peer p;
    int fd;

    tu_peer_start(&p, orphan, 0);
    ASSERT_EQ(tu_peer_cmd(&p, NULL, 0, "create dead"), 0);
    tu_peer_kill(&p);
    chown_nobody(orphan);
    ASSERT_RC(join_in_child(orphan, 0), RPC_EOWNER);
    ASSERT_RC(rpc_domain_cleanup(cfg, 0), RPC_EOWNER);
    ASSERT_MSG(tu_shm_exists(orphan), "clean-up removed another user's segment");
    ASSERT_RC(rpc_domain_active_nodes(cfg), RPC_EOWNER);
    ASSERT_OK(rpc_domain_stat(cfg, &info));
    ASSERT_EQ(info.exists, 1);
    ASSERT_EQ(info.uid, NOBODY);
    ASSERT_EQ(file_mode(orphan), 0600);
    rpc_config_destroy(cfg);

    /* Someone else's empty file under the name: never initialised by us. */
    fd = shm_open(squat, O_RDWR | O_CREAT | O_EXCL, 0666);
    ASSERT(fd >= 0);
    ASSERT(fchown(fd, NOBODY, NOBODY) == 0);
    close(fd);
    ASSERT_RC(join_in_child(squat, 0), RPC_EOWNER);
    {
        char path[512];
        struct stat st;
        ASSERT(stat(tu_shm_path(squat, path, sizeof path), &st) == 0);
        ASSERT_MSG(st.st_size == 0, "the squatted file was initialised");
    }
    tu_shm_remove(squat);
    tu_shm_remove(orphan);
}

/* A process running as nobody against root's 0600 segment. */
static void nobody_process(void)
{
    const char *name = tu_shm_name("nobody");
    tu_peer p;
    pid_t pid;
    tu_peer_start(&p, name, 0);
    ASSERT_EQ(tu_peer_cmd(&p, NULL, 0, "create rootnode"), 0);
    pid = tu_fork(0);
    if (pid == 0) {
        rpc_config *cfg = tu_config(name);
        rpc_node *node = NULL;
        ASSERT(setgroups(0, NULL) == 0 && setgid(NOBODY) == 0 && setuid(NOBODY) == 0);
        ASSERT_RC(rpc_node_create(cfg, "nobody", &node), RPC_EACCES);
        ASSERT_MSG(strstr(rpc_errdetail(), name) != NULL, "detail: \"%s\"", rpc_errdetail());
        {
            int rc = rpc_domain_cleanup(cfg, 0);
            ASSERT_MSG(rc == RPC_EACCES || rc == RPC_EOWNER, "cleanup as nobody gave %s",
                       tu_errname(rc));
            rc = rpc_domain_cleanup(cfg, RPC_CLEANUP_FORCE);
            ASSERT_MSG(rc != 0, "a forced clean-up by another user removed root's segment");
        }
        rpc_config_destroy(cfg);
        exit(0);
    }
    TU_EXPECT_EXIT0(pid, tu_timeout_ms(20000));
    ASSERT(tu_shm_exists(name));
    ASSERT_EQ(tu_peer_cmd(&p, NULL, 0, "check"), 0);
    tu_peer_quit(&p);
    ASSERT(!tu_shm_exists(name));
}

static void not_regular(void)
{
    const char *target = tu_shm_name("target");
    const char *link_name = tu_shm_name("symlink");
    const char *dangling = tu_shm_name("dangling");
    const char *missing = tu_shm_name("missing");
    const char *dir = tu_shm_name("dir");
    const char *fifo = tu_shm_name("fifo");
    char p1[512], p2[512];
    rpc_config *cfg;
    rpc_domain_info info;
    int fd = shm_open(target, O_RDWR | O_CREAT | O_EXCL, 0600);

    ASSERT(fd >= 0);
    close(fd);
    if (symlink(tu_shm_path(target, p1, sizeof p1), tu_shm_path(link_name, p2, sizeof p2)) != 0)
        tu_skip("cannot create a symlink in /dev/shm: %s", strerror(errno));
    ASSERT_RC(join_in_child(link_name, 0), RPC_ENOTREG);
    ASSERT_MSG(file_mode(target) == 0600, "the symlink's target was changed");
    {
        struct stat st;
        ASSERT(stat(p1, &st) == 0);
        ASSERT_MSG(st.st_size == 0, "the symlink's target was written");
    }
    cfg = tu_config(link_name);
    ASSERT_RC(rpc_domain_cleanup(cfg, 0), RPC_ENOTREG);
    ASSERT(tu_shm_exists(link_name));
    {
        int rc = rpc_domain_stat(cfg, &info);
        ASSERT_MSG(rc == RPC_ENOTREG || (rc == 0 && info.valid == 0), "stat of a symlink: %s",
                   tu_errname(rc));
    }
    rpc_config_destroy(cfg);

    ASSERT(symlink(tu_shm_path(missing, p1, sizeof p1), tu_shm_path(dangling, p2, sizeof p2)) ==
           0);
    ASSERT_RC(join_in_child(dangling, 0), RPC_ENOTREG);
    ASSERT_MSG(!tu_shm_exists(missing), "a dangling symlink was followed and its target created");

    ASSERT(mkdir(tu_shm_path(dir, p1, sizeof p1), 0700) == 0);
    ASSERT_RC(join_in_child(dir, 0), RPC_ENOTREG);

    ASSERT(mkfifo(tu_shm_path(fifo, p1, sizeof p1), 0600) == 0);
    ASSERT_RC(join_in_child(fifo, 0), RPC_ENOTREG);
    cfg = tu_config(fifo);
    ASSERT_RC(rpc_domain_active_nodes(cfg), RPC_ENOTREG);
    rpc_config_destroy(cfg);
    tu_shm_remove(fifo);
    tu_shm_remove(dir);
    tu_shm_remove(dangling);
    tu_shm_remove(link_name);
    tu_shm_remove(target);
}

int main(void)
{
    tu_init("ownership");
    mode_case(0, 0, 0600);
    mode_case(077, 0660, 0660);
    mode_case(0777, 0644, 0644);
    mode_case(022, 0666, 0666);
    not_regular();
    if (geteuid() != 0)
        tu_skip("not root: the chown and setuid parts need root (mode and file-type parts "
                "passed)");
    foreign_live();
    foreign_orphan_and_squat();
    nobody_process();
    return tu_done();
}
