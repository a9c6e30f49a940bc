/*
 * test_config.c - argument and configuration validation, error texts, node
 * names, and $LIBRPC_SHM_NAME.
 *
 * What it asserts: every invalid value gets its own documented error and
 * leaves the configuration unchanged; NULL arguments give RPC_EINVAL instead
 * of crashing; node names are validated and unique in a domain (also across
 * processes); auto-generated names are unique; every error code has its own
 * text; the environment variable is honoured and a bad one is refused.
 */
#include "testutil.h"

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static void test_shm_name(void)
{
    rpc_config *cfg = tu_config(NULL);
    char longest[RPC_SHM_NAME_MAX + 2];
    const char *good = tu_shm_name("cfg");

    ASSERT_STREQ(rpc_config_shm_name(cfg), RPC_DEFAULT_SHM_NAME);
    ASSERT_OK(rpc_config_set_shm_name(cfg, good));
    ASSERT_RC(rpc_config_set_shm_name(cfg, "librpc_noslash"), RPC_EBADNAME);
    ASSERT_RC(rpc_config_set_shm_name(cfg, "/a/b"), RPC_EBADNAME);
    ASSERT_RC(rpc_config_set_shm_name(cfg, "/trailing/"), RPC_EBADNAME);
    ASSERT_RC(rpc_config_set_shm_name(cfg, "//"), RPC_EBADNAME);
    ASSERT_RC(rpc_config_set_shm_name(cfg, "/"), RPC_EBADNAME);
    ASSERT_RC(rpc_config_set_shm_name(cfg, ""), RPC_EBADNAME);
    ASSERT_RC(rpc_config_set_shm_name(cfg, NULL), RPC_EINVAL);
    ASSERT_RC(rpc_config_set_shm_name(NULL, good), RPC_EINVAL);

    /* RPC_SHM_NAME_MAX counts the '/': that many is fine, one more is not. */
    memset(longest, 'x', sizeof longest);
    longest[0] = '/';
    longest[RPC_SHM_NAME_MAX] = '\0';
    ASSERT_OK(rpc_config_set_shm_name(cfg, longest));
    ASSERT_STREQ(rpc_config_shm_name(cfg), longest);
    longest[RPC_SHM_NAME_MAX] = 'x';
    longest[RPC_SHM_NAME_MAX + 1] = '\0';
    ASSERT_RC(rpc_config_set_shm_name(cfg, longest), RPC_EBADNAME);
    ASSERT_MSG(strlen(rpc_errdetail()) > 0, "a bad name leaves a detail line");

    /* Failed setters leave the previous value. */
    ASSERT_OK(rpc_config_set_shm_name(cfg, good));
    ASSERT_RC(rpc_config_set_shm_name(cfg, "bad"), RPC_EBADNAME);
    ASSERT_STREQ(rpc_config_shm_name(cfg), good);
    rpc_config_destroy(cfg);
}

static void test_size_mode_nodes(void)
{
    rpc_config *cfg = tu_config(NULL);
    size_t min64 = rpc_config_min_shm_size(64), min1 = rpc_config_min_shm_size(1);
    size_t minmax = rpc_config_min_shm_size(RPC_MAX_NODES_LIMIT);

    ASSERT_EQ(rpc_config_shm_size(cfg), RPC_DEFAULT_SHM_SIZE);
    ASSERT_EQ(rpc_config_mode(cfg), RPC_DEFAULT_MODE);
    ASSERT_EQ(rpc_config_max_nodes(cfg), RPC_DEFAULT_MAX_NODES);
    ASSERT_MSG(min1 > 0 && min1 <= min64 && min64 <= minmax,
               "min sizes grow with max_nodes: %zu %zu %zu", min1, min64, minmax);
    ASSERT_MSG(minmax <= RPC_DEFAULT_SHM_SIZE, "the default size holds the node limit");

    ASSERT_RC(rpc_config_set_shm_size(cfg, 0), RPC_EBADSIZE);
    ASSERT_RC(rpc_config_set_shm_size(cfg, min64 - 1), RPC_EBADSIZE);
    ASSERT_EQ(rpc_config_shm_size(cfg), RPC_DEFAULT_SHM_SIZE);
    ASSERT_OK(rpc_config_set_shm_size(cfg, min64));
    ASSERT_EQ(rpc_config_shm_size(cfg), min64);
    ASSERT_OK(rpc_config_set_shm_size(cfg, (size_t)1 << 40));
    ASSERT_RC(rpc_config_set_shm_size(cfg, ((size_t)1 << 40) + 1), RPC_EBADSIZE);
    ASSERT_RC(rpc_config_set_shm_size(cfg, (size_t)-1), RPC_EBADSIZE);
    ASSERT_RC(rpc_config_set_shm_size(NULL, min64), RPC_EINVAL);

    ASSERT_RC(rpc_config_set_mode(cfg, 0), RPC_EBADMODE);
    ASSERT_RC(rpc_config_set_mode(cfg, 0400), RPC_EBADMODE);
    ASSERT_RC(rpc_config_set_mode(cfg, 0200), RPC_EBADMODE);
    ASSERT_RC(rpc_config_set_mode(cfg, 0066), RPC_EBADMODE);
    ASSERT_RC(rpc_config_set_mode(cfg, 01600), RPC_EBADMODE);
    ASSERT_RC(rpc_config_set_mode(cfg, 04600), RPC_EBADMODE);
    ASSERT_RC(rpc_config_set_mode(cfg, ~0u), RPC_EBADMODE);
    ASSERT_EQ(rpc_config_mode(cfg), RPC_DEFAULT_MODE);
    ASSERT_OK(rpc_config_set_mode(cfg, 0660));
    ASSERT_EQ(rpc_config_mode(cfg), 0660);
    ASSERT_OK(rpc_config_set_mode(cfg, 0777));
    ASSERT_RC(rpc_config_set_mode(NULL, 0600), RPC_EINVAL);

    ASSERT_RC(rpc_config_set_max_nodes(cfg, 0), RPC_EINVAL);
    ASSERT_RC(rpc_config_set_max_nodes(cfg, RPC_MAX_NODES_LIMIT + 1), RPC_EINVAL);
    ASSERT_RC(rpc_config_set_max_nodes(NULL, 4), RPC_EINVAL);
    ASSERT_OK(rpc_config_set_shm_size(cfg, RPC_DEFAULT_SHM_SIZE));
    ASSERT_OK(rpc_config_set_max_nodes(cfg, RPC_MAX_NODES_LIMIT));
    ASSERT_OK(rpc_config_set_max_nodes(cfg, 1));
    /* A size that fits one node but not 64: raising max_nodes must fail and
     * change nothing (when the layout makes the two minimums differ). */
    ASSERT_OK(rpc_config_set_shm_size(cfg, min1));
    if (min1 < min64) {
        ASSERT_RC(rpc_config_set_max_nodes(cfg, 64), RPC_EBADSIZE);
        ASSERT_EQ(rpc_config_max_nodes(cfg), 1);
        ASSERT_EQ(rpc_config_shm_size(cfg), min1);
    }
    ASSERT_RC(rpc_config_set_allow_foreign_owner(NULL, 1), RPC_EINVAL);
    rpc_config_destroy(cfg);
    rpc_config_destroy(NULL);

    /* NULL configuration reads as the defaults. */
    ASSERT_STREQ(rpc_config_shm_name(NULL), RPC_DEFAULT_SHM_NAME);
    ASSERT_EQ(rpc_config_shm_size(NULL), RPC_DEFAULT_SHM_SIZE);
    ASSERT_EQ(rpc_config_mode(NULL), RPC_DEFAULT_MODE);
    ASSERT_EQ(rpc_config_max_nodes(NULL), RPC_DEFAULT_MAX_NODES);
}

static void test_strerror(void)
{
    const int first = RPC_EINTR, last = RPC_EINVAL;
    const char *unknown = rpc_strerror(-1000);
    ASSERT(unknown != NULL);
    ASSERT_STREQ(rpc_strerror(12345), unknown);
    for (int a = first; a <= last; a++) {
        const char *ta = rpc_strerror(a);
        ASSERT_MSG(ta != NULL && ta[0] != '\0', "code %d has no text", a);
        ASSERT_MSG(strcmp(ta, unknown) != 0, "code %d (%s) reads as unknown", a, tu_errname(a));
        ASSERT_MSG(strcmp(ta, rpc_strerror(0)) != 0, "code %d reads like success", a);
        for (int b = a + 1; b <= last; b++)
            ASSERT_MSG(strcmp(ta, rpc_strerror(b)) != 0, "codes %d and %d share the text \"%s\"",
                       a, b, ta);
    }
    ASSERT(rpc_strerror(0) != NULL);
    ASSERT(rpc_strerror(first - 1) != NULL);
    ASSERT(rpc_errdetail() != NULL);
    ASSERT(rpc_version() != NULL && strcmp(rpc_version(), RPC_VERSION_STRING) == 0);
}

static void test_null_arguments(const char *name)
{
    rpc_config *cfg = tu_config(name);
    rpc_node *node = NULL;
    rpc_domain_info info;

    ASSERT_RC(rpc_config_create(NULL), RPC_EINVAL);
    ASSERT_RC(rpc_node_create(cfg, "n", NULL), RPC_EINVAL);
    ASSERT_RC(rpc_node_destroy(NULL), 0);
    ASSERT_EQ(rpc_node_segment_id(NULL), 0);
    ASSERT_RC(rpc_domain_stat(cfg, NULL), RPC_EINVAL);
    ASSERT_RC(rpc_domain_list_nodes(cfg, NULL, 4), RPC_EINVAL);

    /* Queries on a segment that does not exist. */
    ASSERT_RC(rpc_domain_active_nodes(cfg), RPC_ENOENT);
    ASSERT_RC(rpc_domain_list_nodes(cfg, NULL, 0), RPC_ENOENT);
    ASSERT_RC(rpc_domain_cleanup(cfg, 0), RPC_ENOENT);
    memset(&info, 0xff, sizeof info);
    ASSERT_OK(rpc_domain_stat(cfg, &info));
    ASSERT_EQ(info.exists, 0);
    ASSERT_EQ(info.segment_id, 0);
    ASSERT(!tu_shm_exists(name));
    (void)node;
    rpc_config_destroy(cfg);
}

static void test_node_names(const char *name)
{
    rpc_config *cfg = tu_config(name);
    rpc_node *a = NULL, *b = NULL;
    char longest[RPC_NODE_NAME_MAX + 2];
    static const char *const bad[] = {"", "with space", "tab\there", "nl\n", "\x01", "del\x7f",
                                      "caf\xc3\xa9"};

    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        rpc_node *n = NULL;
        ASSERT_MSG(rpc_node_create(cfg, bad[i], &n) == RPC_EBADNODENAME && n == NULL,
                   "bad node name #%zu accepted", i);
    }
    /* A refused name must not leave a segment behind. */
    ASSERT(!tu_shm_exists(name));

    memset(longest, 'n', sizeof longest);
    longest[RPC_NODE_NAME_MAX + 1] = '\0';
    ASSERT_RC(rpc_node_create(cfg, longest, &a), RPC_EBADNODENAME);
    longest[RPC_NODE_NAME_MAX] = '\0';
    ASSERT_OK(rpc_node_create(cfg, longest, &a));
    ASSERT_STREQ(rpc_node_name(a), longest);
    ASSERT_STREQ(rpc_node_shm_name(a), name);

    /* Duplicates in one process. */
    ASSERT_RC(rpc_node_create(cfg, longest, &b), RPC_EEXIST);
    ASSERT(b == NULL);
    ASSERT_MSG(strstr(rpc_errdetail(), name) != NULL || strstr(rpc_errdetail(), longest) != NULL,
               "EEXIST detail names the node or segment: \"%s\"", rpc_errdetail());
    ASSERT_OK(rpc_node_create(cfg, "punct!#$%&'()*+,-./:;<=>?@[\\]^_`{|}~", &b));
    ASSERT_OK(rpc_node_destroy(b));
    ASSERT_OK(rpc_node_destroy(a));
    ASSERT(!tu_shm_exists(name));

    /* A destroyed node's name is free again. */
    ASSERT_OK(rpc_node_create(cfg, "again", &a));
    ASSERT_OK(rpc_node_destroy(a));
    ASSERT_OK(rpc_node_create(cfg, "again", &a));
    ASSERT_OK(rpc_node_destroy(a));
    ASSERT(!tu_shm_exists(name));
    rpc_config_destroy(cfg);
}

static void test_duplicate_across_processes(const char *name)
{
    rpc_config *cfg = tu_config(name);
    rpc_node *mine = NULL, *dup = NULL;
    char text[256];
    tu_peer p;

    tu_peer_start(&p, name, 0);
    ASSERT_EQ(tu_peer_cmd(&p, NULL, 0, "create shared-name"), 0);
    ASSERT_RC(rpc_node_create(cfg, "shared-name", &dup), RPC_EEXIST);
    ASSERT(dup == NULL);
    ASSERT_OK(rpc_node_create(cfg, "mine", &mine));
    ASSERT_EQ(tu_peer_cmd(&p, text, sizeof text, "create mine"), RPC_EEXIST);
    /* Once the peer's node is gone the name can be taken. */
    ASSERT_EQ(tu_peer_cmd(&p, NULL, 0, "destroy shared-name"), 0);
    ASSERT_OK(rpc_node_create(cfg, "shared-name", &dup));
    ASSERT_EQ(tu_peer_cmd(&p, NULL, 0, "active"), 2);
    tu_peer_quit(&p);
    ASSERT_OK(rpc_node_destroy(dup));
    ASSERT_OK(rpc_node_destroy(mine));
    ASSERT(!tu_shm_exists(name));
    rpc_config_destroy(cfg);
}

/* Auto-generated names: unique within this process and against a peer's. */
static void test_auto_names(const char *name)
{
    enum { N = 20 };
    rpc_config *cfg = tu_config(name);
    rpc_node *nodes[N];
    char peer_names[N][RPC_NODE_NAME_MAX + 16];
    rpc_node_info info[2 * N];
    tu_peer p;

    tu_peer_start(&p, name, 0);
    for (int i = 0; i < N; i++) {
        ASSERT_OK(rpc_node_create(cfg, NULL, &nodes[i]));
        ASSERT(strlen(rpc_node_name(nodes[i])) >= 1);
        ASSERT(strlen(rpc_node_name(nodes[i])) <= RPC_NODE_NAME_MAX);
        ASSERT_EQ(tu_peer_cmd(&p, peer_names[i], sizeof peer_names[i], "create -"), 0);
    }
    for (int i = 0; i < N; i++) {
        for (int j = 0; j < N; j++) {
            if (i != j)
                ASSERT(strcmp(rpc_node_name(nodes[i]), rpc_node_name(nodes[j])) != 0);
            ASSERT(strcmp(rpc_node_name(nodes[i]), peer_names[j]) != 0);
            if (i != j)
                ASSERT(strcmp(peer_names[i], peer_names[j]) != 0);
        }
    }
    ASSERT_EQ(rpc_domain_list_nodes(cfg, info, 2 * N), 2 * N);
    ASSERT_EQ(rpc_domain_active_nodes(cfg), 2 * N);
    /* list_nodes reports the total even when cap is smaller. */
    ASSERT_EQ(rpc_domain_list_nodes(cfg, info, 3), 2 * N);
    ASSERT_EQ(rpc_domain_list_nodes(cfg, NULL, 0), 2 * N);
    tu_peer_quit(&p);
    for (int i = 0; i < N; i++)
        ASSERT_OK(rpc_node_destroy(nodes[i]));
    ASSERT(!tu_shm_exists(name));
    rpc_config_destroy(cfg);
}

/* A small node table fills up with RPC_EFULL, and the size is honoured. */
static void test_full_table(const char *name)
{
    rpc_config *cfg = tu_config(name);
    rpc_node *a = NULL, *b = NULL, *c = NULL;
    rpc_domain_info info;
    ASSERT_OK(rpc_config_set_max_nodes(cfg, 2));
    ASSERT_OK(rpc_config_set_shm_size(cfg, rpc_config_min_shm_size(2)));
    ASSERT_OK(rpc_node_create(cfg, "a", &a));
    ASSERT_OK(rpc_node_create(cfg, "b", &b));
    ASSERT_RC(rpc_node_create(cfg, "c", &c), RPC_EFULL);
    ASSERT_OK(rpc_domain_stat(cfg, &info));
    ASSERT_EQ(info.max_nodes, 2);
    ASSERT_EQ(info.size, rpc_config_min_shm_size(2));
    ASSERT_EQ(info.registered_nodes, 2);
    ASSERT_OK(rpc_node_destroy(a));
    ASSERT_OK(rpc_node_create(cfg, "c", &c));
    ASSERT_OK(rpc_node_destroy(b));
    ASSERT_OK(rpc_node_destroy(c));
    ASSERT(!tu_shm_exists(name));
    rpc_config_destroy(cfg);
}

/* A joiner's size, node count and mode apply only to a segment it creates:
 * an existing segment keeps its own. */
static void test_existing_geometry(const char *name)
{
    rpc_config *cfg = tu_config(name);
    rpc_node *mine = NULL;
    rpc_domain_info info;
    char path[512];
    struct stat st;
    tu_peer p;

    ASSERT_OK(rpc_config_set_max_nodes(cfg, 2));
    ASSERT_OK(rpc_config_set_shm_size(cfg, rpc_config_min_shm_size(2)));
    ASSERT_OK(rpc_node_create(cfg, "small", &mine));
    tu_peer_start(&p, name, 0); /* default configuration, but for the name */
    ASSERT_EQ(tu_peer_cmd(&p, NULL, 0, "create p1"), 0);
    ASSERT_EQ(tu_peer_cmd(&p, NULL, 0, "create p2"), RPC_EFULL);
    ASSERT_OK(rpc_domain_stat(cfg, &info));
    ASSERT_EQ(info.max_nodes, 2);
    ASSERT_EQ(info.size, rpc_config_min_shm_size(2));
    tu_peer_quit(&p);

    /* Mode: a joiner configured for 0660 leaves a 0600 segment as it is. */
    {
        rpc_config *wide = tu_config(name);
        rpc_node *other = NULL;
        ASSERT_OK(rpc_config_set_mode(wide, 0660));
        ASSERT_OK(rpc_node_create(wide, "wide", &other));
        ASSERT(stat(tu_shm_path(name, path, sizeof path), &st) == 0);
        ASSERT_EQ(st.st_mode & 0777, 0600);
        ASSERT_OK(rpc_node_destroy(other));
        rpc_config_destroy(wide);
    }
    ASSERT_OK(rpc_node_destroy(mine));
    ASSERT(!tu_shm_exists(name));
    rpc_config_destroy(cfg);
}

/* $LIBRPC_SHM_NAME: honoured by rpc_config_create and by a NULL config;
 * an invalid value is refused rather than silently replaced. */
static void test_env_name(const char *name)
{
    rpc_config *cfg = NULL;
    rpc_node *node = NULL;

    ASSERT(setenv(RPC_ENV_SHM_NAME, name, 1) == 0);
    ASSERT_OK(rpc_config_create(&cfg));
    ASSERT_STREQ(rpc_config_shm_name(cfg), name);
    ASSERT_STREQ(rpc_config_shm_name(NULL), name);
    rpc_config_destroy(cfg);

    ASSERT_OK(rpc_node_create(NULL, "env-node", &node));
    ASSERT_STREQ(rpc_node_shm_name(node), name);
    ASSERT(tu_shm_exists(name));
    ASSERT_EQ(rpc_domain_active_nodes(NULL), 1);
    ASSERT_OK(rpc_node_destroy(node));
    ASSERT(!tu_shm_exists(name));

    static const char *const bad[] = {"no_slash", "/two/slashes", "/"};
    int default_before = tu_shm_exists(RPC_DEFAULT_SHM_NAME);
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        rpc_config *old;
        int rc;
        ASSERT(unsetenv(RPC_ENV_SHM_NAME) == 0);
        old = cfg = tu_config(name); /* a non-NULL value that must be reset */
        ASSERT(setenv(RPC_ENV_SHM_NAME, bad[i], 1) == 0);
        ASSERT_RC(rpc_config_create(&cfg), RPC_EBADNAME);
        ASSERT(cfg == NULL);
        rpc_config_destroy(old);
        ASSERT_MSG(strstr(rpc_errdetail(), RPC_ENV_SHM_NAME) != NULL,
                   "detail names the variable: \"%s\"", rpc_errdetail());
        node = NULL;
        rc = rpc_node_create(NULL, "env-node", &node);
        if (rc == 0) {
            /* It joined some other segment: leave it before failing. */
            const char *where = rpc_node_shm_name(node);
            tu_log("with %s=%s the node joined %s", RPC_ENV_SHM_NAME, bad[i], where);
            ASSERT_OK(rpc_node_destroy(node));
        }
        ASSERT_RC(rc, RPC_EBADNAME);
        ASSERT(node == NULL);
    }
    if (!default_before)
        ASSERT(!tu_shm_exists(RPC_DEFAULT_SHM_NAME));
    ASSERT(unsetenv(RPC_ENV_SHM_NAME) == 0);
    ASSERT_OK(rpc_config_create(&cfg));
    ASSERT_STREQ(rpc_config_shm_name(cfg), RPC_DEFAULT_SHM_NAME);
    rpc_config_destroy(cfg);
}

int main(void)
{
    tu_init("config");
    test_shm_name();
    test_size_mode_nodes();
    test_strerror();
    test_null_arguments(tu_shm_name("null"));
    test_node_names(tu_shm_name("names"));
    test_duplicate_across_processes(tu_shm_name("dup"));
    test_auto_names(tu_shm_name("auto"));
    test_full_table(tu_shm_name("full"));
    test_existing_geometry(tu_shm_name("geom"));
    test_env_name(tu_shm_name("env"));
    return tu_done();
}
