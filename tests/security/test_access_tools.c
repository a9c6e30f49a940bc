/*
 * test_access_tools.c - the library and the tools never operate on a path
 * and never follow a symbolic link, whatever name they are given.
 *
 *   test_access_tools names    names that are paths ("/etc/passwd", "../x",
 *                              "/dir/file", no leading '/', ...) are refused
 *                              by every command of rpcctl and test_shm_cleanup
 *                              with exit 2 (usage), and by the library with
 *                              RPC_EBADNAME; the files they point at are
 *                              left exactly as they were
 *   test_access_tools symlink  a symbolic link planted in /dev/shm under the
 *                              name (by another user, pointing at a file of
 *                              the victim's, at a live segment, at nothing,
 *                              at a directory) is refused with RPC_ENOTREG by
 *                              the library and exit 4 by the tools, never
 *                              followed: the target is untouched, a dangling
 *                              target is not created, and a forced clean-up
 *                              removes the link, not what it points at
 *   test_access_tools cleanup_all
 *                              `rpcctl cleanup --all`, run as a user (dave),
 *                              removes his orphaned segment and nothing
 *                              else: not his live one, not another user's
 *                              orphan, no link planted in /dev/shm (to his
 *                              file, his live or his orphaned segment), nor
 *                              what the links point at
 *
 * Needs root (to plant files as another user); exits 77 otherwise.
 */
#include "sec_common.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

static char decoy_dir[64];   /* a private directory under /tmp, removed at exit */
static char shm_dir_file[320]; /* a file in a directory of /dev/shm, removed at exit */
static pid_t main_pid;

static void remove_decoys(void)
{
    static const char *const files[] = { "target", "mine", "absent" };
    char path[128];
    size_t i;
    if (getpid() != main_pid || decoy_dir[0] == '\0')
        return;
    /* (The directory itself goes with the test's names, after this.) */
    if (shm_dir_file[0] != '\0')
        unlink(shm_dir_file);
    for (i = 0; i < sizeof files / sizeof files[0]; i++) {
        snprintf(path, sizeof path, "%s/%s", decoy_dir, files[i]);
        unlink(path);
    }
    rmdir(decoy_dir);
}

/* A decoy file: what a hostile name or link would make us damage. */
static const char *make_decoy(const char *file, uid_t uid, mode_t mode, char *path, size_t len)
{
    static const char text[] = "precious contents: must never change\n";
    int fd;
    snprintf(path, len, "%s/%s", decoy_dir, file);
    fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
    ASSERT_MSG(fd >= 0, "create %s: %s", path, strerror(errno));
    ASSERT(write(fd, text, sizeof text - 1) == (ssize_t)(sizeof text - 1));
    ASSERT(fchown(fd, uid, uid) == 0 && fchmod(fd, mode) == 0);
    close(fd);
    return path;
}

static void make_decoy_dir(void)
{
    snprintf(decoy_dir, sizeof decoy_dir, "/tmp/librpc_sec_XXXXXX");
    ASSERT_MSG(mkdtemp(decoy_dir) != NULL, "mkdtemp: %s", strerror(errno));
    ASSERT(chmod(decoy_dir, 0755) == 0); /* the other users reach their decoys */
    main_pid = getpid();
    atexit(remove_decoys);
}

/* ---- names that are paths ---------------------------------------------- */

/* Every command of both tools refuses the name as a usage error; returns
 * how many command forms were tried. */
static int tools_refuse_name(const char *bad)
{
    int forms = 0;
    char out[4096], envname[600], eq[600];
    const char *env[] = { envname, NULL };
    int rc;
    snprintf(envname, sizeof envname, "LIBRPC_SHM_NAME=%s", bad);
    snprintf(eq, sizeof eq, "--name=%s", bad);
#define EXPECT_USAGE(...)                                                                 \
    do {                                                                                  \
        rc = sec_tool(out, sizeof out, __VA_ARGS__, (char *)NULL);                        \
        ASSERT_MSG(rc == 2, "name \"%s\": %s: exit %d, want 2: %s", bad, #__VA_ARGS__, rc, \
                   out);                                                                  \
        forms++;                                                                          \
    } while (0)
    EXPECT_USAGE(NULL, "rpcctl", "status", "--name", bad);
    EXPECT_USAGE(NULL, "rpcctl", "status", "--json", eq);
    EXPECT_USAGE(NULL, "rpcctl", "nodes", "--name", bad);
    EXPECT_USAGE(NULL, "rpcctl", "cleanup", "--name", bad);
    EXPECT_USAGE(NULL, "rpcctl", "cleanup", "--force", "--name", bad);
    EXPECT_USAGE(NULL, "rpcctl", "--name", bad, "cleanup", "--force");
    EXPECT_USAGE(NULL, "rpcctl", "pub", "g", "t", "m", "--name", bad);
    EXPECT_USAGE(NULL, "rpcctl", "echo", "g", "t", "--count", "1", "--timeout", "1", eq);
    EXPECT_USAGE(NULL, "rpcctl", "topics", "--name", bad);
    EXPECT_USAGE(NULL, "rpcctl", "monitor", "--count", "1", "--name", bad);
    EXPECT_USAGE(NULL, "rpcctl", "watch", "--cleanup", "--name", bad); /* must not start waiting */
    /* An empty $LIBRPC_SHM_NAME means "unset" (the default name). */
    if (bad[0] != '\0') {
        EXPECT_USAGE(env, "rpcctl", "status");
        EXPECT_USAGE(env, "rpcctl", "cleanup", "--force");
        EXPECT_USAGE(env, "test_shm_cleanup", "status");
        EXPECT_USAGE(env, "test_shm_cleanup", "cleanup");
        EXPECT_USAGE(env, "test_shm_cleanup", "cleanup", "--force");
    }
#undef EXPECT_USAGE
    /* The messages say what is wrong. */
    rc = sec_tool(out, sizeof out, NULL, "rpcctl", "cleanup", "--force", "--name", bad,
                  (char *)NULL);
    ASSERT_MSG(sec_contains(out, "not a path") || sec_contains(out, "invalid segment name"),
               "rpcctl cleanup --force --name \"%s\" says: %s", bad, out);
    return forms;
}

static void library_refuses_name(const char *bad)
{
    rpc_config *cfg = tu_config(NULL);
    ASSERT_RC(rpc_config_set_shm_name(cfg, bad), RPC_EBADNAME);
    ASSERT_STREQ(rpc_config_shm_name(cfg), RPC_DEFAULT_SHM_NAME); /* unchanged */
    rpc_config_destroy(cfg);
}

static void test_names(void)
{
    char target[128], in_shm_dir[320], shm_dir_path[300], abs_in_shm[400], up[200], longname[300];
    const char *dir_name = tu_shm_name("dir");
    sec_snap passwd, decoy, dirfile;
    size_t i;
    const char *bad[16];
    size_t nbad = 0;
    int forms = 0;

    make_decoy_dir();
    make_decoy("target", 0, 0644, target, sizeof target);
    /* A directory inside /dev/shm with a file in it: "/dir/file" must not
     * reach the file. */
    ASSERT(mkdir(tu_shm_path(dir_name, shm_dir_path, sizeof shm_dir_path), 0755) == 0);
    snprintf(in_shm_dir, sizeof in_shm_dir, "%s/file", shm_dir_path);
    {
        int fd = open(in_shm_dir, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
        snprintf(shm_dir_file, sizeof shm_dir_file, "%s", in_shm_dir);
        ASSERT(fd >= 0 && write(fd, "keep\n", 5) == 5);
        close(fd);
    }
    snprintf(abs_in_shm, sizeof abs_in_shm, "%s/file", dir_name); /* "/librpc_t_.../file" */
    snprintf(up, sizeof up, "../..%s", target);                    /* relative, climbs out */
    memset(longname, 'a', 256);
    longname[0] = '/';
    longname[256] = '\0';                                           /* 256 > RPC_SHM_NAME_MAX */

    bad[nbad++] = "/etc/passwd";
    bad[nbad++] = "../x";
    bad[nbad++] = up;
    bad[nbad++] = target;            /* an absolute path outside /dev/shm */
    bad[nbad++] = abs_in_shm;        /* a path into a directory of /dev/shm */
    bad[nbad++] = in_shm_dir;        /* "/dev/shm/..." spelled out */
    bad[nbad++] = "librpc_shm";      /* no leading '/' */
    bad[nbad++] = "x";
    bad[nbad++] = "//x";
    bad[nbad++] = "/x/";
    bad[nbad++] = "/";
    bad[nbad++] = "";
    bad[nbad++] = longname;

    sec_snap_take("/etc/passwd", &passwd);
    sec_snap_take(target, &decoy);
    sec_snap_take(in_shm_dir, &dirfile);
    for (i = 0; i < nbad; i++)
        library_refuses_name(bad[i]);
    if (!sec_tools_usable())
        tu_skip("rpcctl and test_shm_cleanup are not built");
    for (i = 0; i < nbad; i++) {
        int n = tools_refuse_name(bad[i]);
        forms = n > forms ? n : forms;
    }
    SEC_SNAP_SAME("/etc/passwd", &passwd);
    SEC_SNAP_SAME(target, &decoy);
    SEC_SNAP_SAME(in_shm_dir, &dirfile);
    tu_log("%zu path-like names refused by the library (RPC_EBADNAME) and by up to %d "
           "command forms of rpcctl and test_shm_cleanup (exit 2); their targets untouched", nbad,
           forms);

    /* "/." and "/.." pass the name rule (one '/', then characters) but name
     * /dev/shm itself and /dev: they must be refused one way or another and
     * change nothing. */
    {
        static const char *const dots[] = { "/.", "/.." };
        struct stat shm_before, dev_before, st;
        char out[4096];
        ASSERT(stat("/dev/shm", &shm_before) == 0 && stat("/dev", &dev_before) == 0);
        for (i = 0; i < 2; i++) {
            int a = sec_tool(out, sizeof out, NULL, "rpcctl", "cleanup", "--force", "--name",
                             dots[i], (char *)NULL);
            int b = sec_tool(out, sizeof out, NULL, "rpcctl", "status", "--name", dots[i],
                             (char *)NULL);
            ASSERT_MSG((a == 2 || a == 4) && (b == 2 || b == 4),
                       "\"%s\": cleanup --force exit %d, status exit %d", dots[i], a, b);
            tu_log("name \"%s\": cleanup --force exit %d, status exit %d%s", dots[i], a, b,
                   a == 4 ? " (reaches the file system; refused as not a regular file)" : "");
        }
        ASSERT(stat("/dev/shm", &st) == 0 && S_ISDIR(st.st_mode) && st.st_ino == shm_before.st_ino);
        ASSERT(stat("/dev", &st) == 0 && S_ISDIR(st.st_mode) && st.st_ino == dev_before.st_ino);
    }
    ASSERT(unlink(in_shm_dir) == 0);
    shm_dir_file[0] = '\0';
    tu_shm_remove(dir_name);
}

/* ---- symbolic links ------------------------------------------------------ */

struct link_case {
    const char *name;     /* the planted link's segment name */
    const char *target;   /* where it points */
};

/* nobody plants the link (a hostile local user). */
static void plant_link_child(void *arg)
{
    const struct link_case *l = arg;
    char path[512];
    ASSERT_MSG(symlink(l->target, tu_shm_path(l->name, path, sizeof path)) == 0,
               "symlink: %s", strerror(errno));
}

static void plant_link(const struct link_case *l)
{
    struct stat st;
    sec_call_as(&sec_nobody, plant_link_child, (void *)l);
    ASSERT(sec_shm_lstat(l->name, &st) == 0 && S_ISLNK(st.st_mode));
    ASSERT_EQ(st.st_uid, SEC_UID_NOBODY);
}

/* The link is still there and still points at the same target. */
static void expect_link(const struct link_case *l)
{
    char path[512], got[512];
    ssize_t n = readlink(tu_shm_path(l->name, path, sizeof path), got, sizeof got - 1);
    ASSERT_MSG(n > 0, "the link %s is gone", path);
    got[n] = '\0';
    ASSERT_STREQ(got, l->target);
}

/* Every library entry point refuses the link as not a regular file. */
static void library_refuses_link(void *arg)
{
    const struct link_case *l = arg;
    int allow;
    for (allow = 0; allow <= 1; allow++) {
        rpc_config *cfg = tu_config(l->name);
        rpc_node *node = NULL;
        rpc_domain_info info;
        rpc_node_info ni;
        ASSERT_OK(rpc_config_set_allow_foreign_owner(cfg, allow));
        ASSERT_OK(rpc_config_set_receive_mode(cfg, RPC_RECEIVE_MANUAL));
        ASSERT_RC(rpc_node_create(cfg, "victim", &node), RPC_ENOTREG);
        SEC_DETAIL_HAS(l->name, "not a regular");
        ASSERT(node == NULL);
        ASSERT_RC(rpc_domain_stat(cfg, &info), RPC_ENOTREG);
        ASSERT_RC(rpc_domain_active_nodes(cfg), RPC_ENOTREG);
        ASSERT_RC(rpc_domain_list_nodes(cfg, &ni, 1), RPC_ENOTREG);
        ASSERT_RC(rpc_domain_cleanup(cfg, 0), RPC_ENOTREG);
        ASSERT_RC(rpc_domain_wait_orphaned(cfg), RPC_ENOTREG);
        rpc_config_destroy(cfg);
    }
}

/* Every command of the tools refuses it with exit 4 (bad segment). */
static void tools_refuse_link(void *arg)
{
    const struct link_case *l = arg;
    char out[4096], opt[300], envname[300];
    const char *env[] = { envname, NULL };
    int rc;
    if (!sec_tools_usable()) {
        tu_log("tools not built or not executable for uid %u: left out", (unsigned)geteuid());
        return;
    }
    snprintf(opt, sizeof opt, "--name=%s", l->name);
    snprintf(envname, sizeof envname, "LIBRPC_SHM_NAME=%s", l->name);
#define EXPECT_BADSEG(...)                                                                 \
    do {                                                                                   \
        rc = sec_tool(out, sizeof out, __VA_ARGS__, (char *)NULL);                         \
        ASSERT_MSG(rc == 4, "link to %s: %s: exit %d, want 4: %s", l->target, #__VA_ARGS__, \
                   rc, out);                                                               \
    } while (0)
    EXPECT_BADSEG(NULL, "rpcctl", "status", opt);
    EXPECT_BADSEG(NULL, "rpcctl", "status", "--json", opt);
    EXPECT_BADSEG(NULL, "rpcctl", "nodes", opt);
    EXPECT_BADSEG(NULL, "rpcctl", "topics", opt);
    EXPECT_BADSEG(NULL, "rpcctl", "cleanup", opt);
    EXPECT_BADSEG(NULL, "rpcctl", "pub", "g", "t", "m", opt);
    EXPECT_BADSEG(NULL, "rpcctl", "echo", "g", "t", "--count", "1", "--timeout", "1", opt);
    EXPECT_BADSEG(env, "test_shm_cleanup", "status");
    EXPECT_BADSEG(env, "test_shm_cleanup", "cleanup");
#undef EXPECT_BADSEG
    rc = sec_tool(out, sizeof out, NULL, "rpcctl", "status", opt, (char *)NULL);
    ASSERT_MSG(sec_contains(out, "not a regular shared-memory file"), "status says: %s", out);
}

/* A forced clean-up removes the name - the link - and nothing else. */
static void forced_cleanup_removes_link_only(const struct link_case *l, int with_rpcctl)
{
    char out[4096], opt[300], envname[300];
    const char *env[] = { envname, NULL };
    struct stat st;
    int rc;
    snprintf(opt, sizeof opt, "--name=%s", l->name);
    snprintf(envname, sizeof envname, "LIBRPC_SHM_NAME=%s", l->name);
    if (with_rpcctl)
        rc = sec_tool(out, sizeof out, NULL, "rpcctl", "cleanup", "--force", opt, (char *)NULL);
    else
        rc = sec_tool(out, sizeof out, env, "test_shm_cleanup", "cleanup", "--force",
                      (char *)NULL);
    ASSERT_MSG(rc == 0, "%s cleanup --force on a link: exit %d: %s",
               with_rpcctl ? "rpcctl" : "test_shm_cleanup", rc, out);
    ASSERT_MSG(sec_shm_lstat(l->name, &st) != 0, "the link is still there");
}

/* One planted link, checked from the library and the tools as `victim`. */
static void link_case(const sec_user *victim, const char *tag, const char *target,
                      int target_exists)
{
    struct link_case l = { tu_shm_name(tag), target };
    struct stat st;
    sec_snap before;
    plant_link(&l);
    if (target_exists)
        sec_snap_take(target, &before);
    sec_call_as(victim, library_refuses_link, &l);
    sec_call_as(victim, tools_refuse_link, &l);
    expect_link(&l);
    if (target_exists)
        SEC_SNAP_SAME(target, &before);
    else
        ASSERT_MSG(lstat(target, &st) != 0, "the dangling link's target %s was created", target);
    if (sec_tools_usable()) {
        forced_cleanup_removes_link_only(&l, 1);
        plant_link(&l);
        forced_cleanup_removes_link_only(&l, 0);
        if (target_exists)
            SEC_SNAP_SAME(target, &before);
        else
            ASSERT(lstat(target, &st) != 0);
    } else {
        tu_shm_remove(l.name);
    }
    tu_log("link by nobody -> %s (%s): refused to %s, not followed, target untouched", target,
           tag, victim->label);
}

/* A live segment of root's, reached through a link under another name. */
struct keeper_ctx {
    const char *name;
    unsigned mode;        /* 0: the default */
    sec_chan to_parent, cmd;
};

/* Holds a node until told to quit (or killed, to leave an orphan). */
static void keeper_child(void *arg)
{
    struct keeper_ctx *k = arg;
    rpc_config *cfg = tu_config(k->name);
    rpc_node *node = NULL;
    ASSERT_OK(rpc_config_set_receive_mode(cfg, RPC_RECEIVE_MANUAL));
    if (k->mode != 0)
        ASSERT_OK(rpc_config_set_mode(cfg, k->mode));
    ASSERT_OK(rpc_node_create(cfg, "keeper", &node));
    sec_say(&k->to_parent, "ready %llx", (unsigned long long)rpc_node_segment_id(node));
    sec_expect(&k->cmd, "quit", tu_timeout_ms(120000));
    ASSERT_EQ(rpc_domain_active_nodes(cfg), 1); /* nobody came in through the link */
    ASSERT_OK(rpc_node_destroy(node));
    rpc_config_destroy(cfg);
}

static void link_to_live_segment(void)
{
    struct keeper_ctx k;
    char real_path[512], line[128];
    unsigned long long segid = 0;
    rpc_domain_info info;
    rpc_config *cfg;
    pid_t keeper;
    k.name = tu_shm_name("real");
    k.mode = 0;
    sec_chan_make(&k.to_parent);
    sec_chan_make(&k.cmd);
    keeper = sec_run_as(&sec_root, keeper_child, &k);
    sec_hear(&k.to_parent, line, sizeof line, tu_timeout_ms(20000));
    ASSERT(sscanf(line, "ready %llx", &segid) == 1);
    link_case(&sec_root, "link_live", tu_shm_path(k.name, real_path, sizeof real_path), 1);
    cfg = tu_config(k.name);
    ASSERT_OK(rpc_domain_stat(cfg, &info));
    ASSERT(info.exists && info.valid && info.live_nodes == 1);
    ASSERT_EQ(info.segment_id, segid);
    rpc_config_destroy(cfg);
    sec_say(&k.cmd, "quit");
    TU_EXPECT_EXIT0(keeper, tu_timeout_ms(60000));
    ASSERT(!tu_shm_exists(k.name));
    sec_chan_close(&k.to_parent);
    sec_chan_close(&k.cmd);
}

static void fifo_case(void)
{
    const char *name = tu_shm_name("fifo");
    char path[512], out[4096];
    int rc;
    ASSERT(mkfifo(tu_shm_path(name, path, sizeof path), 0666) == 0);
    if (sec_tools_usable()) {
        /* Opening a FIFO without O_NONBLOCK would hang here. */
        rc = sec_tool(out, sizeof out, NULL, "rpcctl", "status", "--name", name, (char *)NULL);
        ASSERT_MSG(rc == 4, "rpcctl status on a FIFO: exit %d: %s", rc, out);
        rc = sec_tool(out, sizeof out, NULL, "rpcctl", "pub", "g", "t", "m", "--name", name,
                      (char *)NULL);
        ASSERT_MSG(rc == 4, "rpcctl pub on a FIFO: exit %d: %s", rc, out);
    }
    tu_shm_remove(name);
    tu_log("a FIFO under the name: refused at once (exit 4), no hang");
}

static void test_symlink(void)
{
    char root_file[128], alice_file[128], absent[128];
    make_decoy_dir();
    make_decoy("target", 0, 0600, root_file, sizeof root_file);
    make_decoy("mine", SEC_UID_A, 0600, alice_file, sizeof alice_file);
    snprintf(absent, sizeof absent, "%s/absent", decoy_dir);

    link_case(&sec_root, "link_rootfile", root_file, 1);
    link_case(&sec_alice, "link_alicefile", alice_file, 1);
    link_case(&sec_root, "link_dangling", absent, 0);
    link_case(&sec_alice, "link_dangling_a", absent, 0);
    link_case(&sec_root, "link_dir", decoy_dir, 1);
    link_to_live_segment();
    fifo_case();
}

/* ---- rpcctl cleanup --all: this user's orphans only, no link followed ---- */

/* Start a keeper as u for a fresh name; with orphan set, kill it so its
 * segment stays behind with nobody attached. */
static pid_t start_keeper(struct keeper_ctx *k, const sec_user *u, const char *tag,
                          unsigned mode, int orphan)
{
    char line[128];
    pid_t pid;
    k->name = tu_shm_name(tag);
    k->mode = mode;
    sec_chan_make(&k->to_parent);
    sec_chan_make(&k->cmd);
    pid = sec_run_as(u, keeper_child, k);
    sec_hear(&k->to_parent, line, sizeof line, tu_timeout_ms(20000));
    if (orphan) {
        tu_kill9(pid);
        pid = 0;
    }
    return pid;
}

static void cleanup_all_child(void *arg)
{
    char *out = arg;
    int rc = sec_tool(out, 65536, NULL, "rpcctl", "cleanup", "--all", (char *)NULL);
    ASSERT_MSG(rc == 0, "rpcctl cleanup --all as dave: exit %d: %s", rc, out);
}

/* The line of `cleanup --all` output that names `name`. */
static const char *line_of(const char *out, const char *name, char *buf, size_t len)
{
    const char *p = strstr(out, name), *start, *end;
    size_t n;
    if (p == NULL)
        return "";
    for (start = p; start > out && start[-1] != '\n'; start--)
        ;
    end = strchr(p, '\n');
    n = end ? (size_t)(end - start) : strlen(start);
    n = n < len - 1 ? n : len - 1;
    memcpy(buf, start, n);
    buf[n] = '\0';
    return buf;
}

static void test_cleanup_all(void)
{
    struct keeper_ctx orphan, live, foreign;
    struct link_case to_file, to_live, to_orphan, own_link;
    char decoy[128], live_path[512], orphan_path[512], path[512], line[512];
    static char out[65536];
    sec_snap decoy_before, foreign_before;
    struct stat live_before, st;
    pid_t live_pid;

    if (!sec_tools_usable())
        tu_skip("rpcctl is not built");
    make_decoy_dir();
    make_decoy("mine", SEC_UID_D, 0600, decoy, sizeof decoy);
    start_keeper(&orphan, &sec_dave, "ca_orphan", 0, 1);
    live_pid = start_keeper(&live, &sec_dave, "ca_live", 0, 0);
    start_keeper(&foreign, &sec_nobody, "ca_foreign", 0644, 1);
    to_file = (struct link_case){ tu_shm_name("ca_link_file"), decoy };
    to_live = (struct link_case){ tu_shm_name("ca_link_live"),
                                  tu_shm_path(live.name, live_path, sizeof live_path) };
    to_orphan = (struct link_case){ tu_shm_name("ca_link_orphan"),
                                    tu_shm_path(orphan.name, orphan_path, sizeof orphan_path) };
    plant_link(&to_file);
    plant_link(&to_live);
    plant_link(&to_orphan);
    /* dave's own link to his own file: his, but not a segment. */
    own_link = (struct link_case){ tu_shm_name("ca_link_own"), decoy };
    ASSERT(symlink(decoy, tu_shm_path(own_link.name, path, sizeof path)) == 0);
    ASSERT(lchown(path, SEC_UID_D, SEC_UID_D) == 0);

    sec_snap_take(decoy, &decoy_before);
    sec_snap_take(tu_shm_path(foreign.name, path, sizeof path), &foreign_before);
    ASSERT(sec_shm_lstat(live.name, &live_before) == 0);

    /* The output goes through a file the child writes and we read. */
    {
        char *shared = mmap(NULL, sizeof out, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS,
                            -1, 0);
        ASSERT(shared != MAP_FAILED);
        shared[0] = '\0';
        sec_call_as(&sec_dave, cleanup_all_child, shared);
        snprintf(out, sizeof out, "%s", shared);
        munmap(shared, sizeof out);
    }

    ASSERT_MSG(sec_shm_lstat(orphan.name, &st) != 0, "dave's orphan was not removed: %s",
               line_of(out, orphan.name, line, sizeof line));
    ASSERT_MSG(sec_contains(line_of(out, orphan.name, line, sizeof line), "orphaned"),
               "dave's orphan: \"%s\"", line);
    ASSERT(sec_shm_lstat(live.name, &st) == 0 && st.st_ino == live_before.st_ino);
    SEC_SNAP_SAME(tu_shm_path(foreign.name, path, sizeof path), &foreign_before);
    SEC_SNAP_SAME(decoy, &decoy_before);
    expect_link(&to_file);
    expect_link(&to_live);
    expect_link(&to_orphan);
    expect_link(&own_link);
    tu_log("cleanup --all as dave: his orphan removed; his live segment, nobody's orphan, "
           "four links (to his file, his live and orphaned segments) and their targets left");
    tu_log("  %s", line_of(out, foreign.name, line, sizeof line));
    tu_log("  %s", line_of(out, to_file.name, line, sizeof line));
    tu_log("  %s", line_of(out, own_link.name, line, sizeof line));

    sec_say(&live.cmd, "quit");
    TU_EXPECT_EXIT0(live_pid, tu_timeout_ms(60000));
    ASSERT(!tu_shm_exists(live.name));
    tu_shm_remove(foreign.name);
    tu_shm_remove(to_file.name);
    tu_shm_remove(to_live.name);
    tu_shm_remove(to_orphan.name);
    tu_shm_remove(own_link.name);
    sec_chan_close(&orphan.to_parent);
    sec_chan_close(&orphan.cmd);
    sec_chan_close(&live.to_parent);
    sec_chan_close(&live.cmd);
    sec_chan_close(&foreign.to_parent);
    sec_chan_close(&foreign.cmd);
}

int main(int argc, char **argv)
{
    static const struct {
        const char *name;
        void (*run)(void);
    } parts[] = { { "names", test_names }, { "symlink", test_symlink },
                  { "cleanup_all", test_cleanup_all } };
    char test[64];
    size_t i;
    for (i = 0; argc == 2 && i < sizeof parts / sizeof parts[0]; i++) {
        if (strcmp(argv[1], parts[i].name) == 0) {
            snprintf(test, sizeof test, "access_tools_%s", argv[1]);
            tu_init(test);
            sec_require_root();
            parts[i].run();
            return tu_done();
        }
    }
    fprintf(stderr, "usage: test_access_tools names|symlink|cleanup_all\n");
    return 2;
}
