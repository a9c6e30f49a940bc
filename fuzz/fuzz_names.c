/*
 * fuzz_names.c - libFuzzer target: names, numeric settings and the
 * command-line helpers.
 *
 * Input: one selector byte, a block of numbers (sizes and modes for the
 * configuration setters), then up to five strings separated by '\n':
 * segment name, node name, group, topic, free text.  Every step checks the
 * library against its documented rules, not only for crashes:
 *
 *   - rpc_config_set_shm_name and $LIBRPC_SHM_NAME accept exactly "/" then
 *     1..254 bytes without another '/';
 *   - node, group and topic names are accepted exactly when they are 1..63
 *     printable non-space ASCII bytes; an accepted node appears in the node
 *     list under that name; a message on an accepted (group, topic) comes
 *     back to a subscriber with the same names and payload;
 *   - numeric setters accept exactly their documented ranges and leave the
 *     configuration unchanged on error, so it always holds a segment size
 *     at least rpc_config_required_shm_size();
 *   - a configuration the setters accepted makes a segment the library
 *     then accepts, whose queues hold two maximum-size messages, and which
 *     is removed when its last node leaves;
 *   - tools/cli_common.c: cli_config follows the name rule, JSON strings
 *     are valid JSON and valid UTF-8, formatted sizes and times fit their
 *     buffers, cli_report returns cli_exit_code().
 *
 * rpcctl's own argument parser (parse_args in tools/rpcctl.c) is a static
 * function of the program's main file, so it is not reachable from here.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <sanitizer/common_interface_defs.h>

#include "cli_common.h"
#include "fuzz_common.h"

#define MAX_STR 400

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

enum sel_bits {
    SEL_GEOMETRY = 1u << 0,   /* build a segment from the fuzzed settings */
    SEL_NODE = 1u << 1,       /* node and topic names on the anchor domain */
    SEL_CLI = 1u << 2,        /* tools/cli_common.c helpers */
    SEL_ENV = 1u << 3         /* the name through $LIBRPC_SHM_NAME */
};

static char g_anchor_name[64];    /* long-lived domain for node-name tests */
static char g_geom_name[64];      /* made and removed by each geometry test */
static rpc_config *g_anchor_cfg;
static rpc_node *g_anchor;
static FILE *g_devnull;

static const cli_ctx g_ctx = {
    .prog = "fuzz_names",
    .rename_hint = "with --name /other",
    .cleanup_cmd = "rpcctl cleanup",
    .force_cmd = "rpcctl cleanup --force",
};

/* ---- input ---------------------------------------------------------------- */

struct input {
    const uint8_t *p;
    size_t left;
};

static uint64_t take_u64(struct input *in, unsigned bytes)
{
    uint64_t v = 0;
    unsigned i;
    for (i = 0; i < bytes && in->left > 0; i++, in->left--)
        v |= (uint64_t)*in->p++ << (8 * i);
    return v;
}

/* The next '\n'-terminated field, cut at MAX_STR, as a C string. */
static void take_str(struct input *in, char out[MAX_STR + 1])
{
    size_t n = 0;
    while (in->left > 0 && *in->p != '\n') {
        if (n < MAX_STR)
            out[n++] = (char)*in->p;
        in->p++;
        in->left--;
    }
    if (in->left > 0) {
        in->p++;
        in->left--;
    }
    out[n] = '\0';
}

struct numbers {
    uint64_t shm_size, queue_size, max_msg;
    uint32_t max_nodes, max_subs, mode;
    int32_t spin_us, receive_mode;
};

/* ---- the rules, restated from the headers -------------------------------- */

static int rule_shm_name(const char *s)
{
    size_t len = strlen(s);
    return s[0] == '/' && len >= 2 && len <= RPC_SHM_NAME_MAX && strchr(s + 1, '/') == NULL &&
           strcmp(s, "/.") != 0 && strcmp(s, "/..") != 0;
}

static int rule_name63(const char *s)
{
    size_t i, len = strlen(s);
    if (len < 1 || len > 63)
        return 0;
    for (i = 0; i < len; i++)
        if (s[i] < 0x21 || s[i] > 0x7e)
            return 0;
    return 1;
}

/* ---- set-up ------------------------------------------------------------- */

static void remove_segments(void)
{
    if (g_anchor_name[0] != '\0')
        shm_unlink(g_anchor_name);
    if (g_geom_name[0] != '\0')
        shm_unlink(g_geom_name);
}

static void at_exit(void)
{
    if (g_anchor != NULL)
        rpc_node_destroy(g_anchor);   /* the last node: removes the segment */
    g_anchor = NULL;
    rpc_config_destroy(g_anchor_cfg);
    remove_segments();
}

int LLVMFuzzerInitialize(int *argc, char **argv[])
{
    int rc;
    (void)argc;
    (void)argv;
    fz_sweep_stale();
    unsetenv(RPC_ENV_SHM_NAME);
    snprintf(g_anchor_name, sizeof g_anchor_name, "/librpc_fzn_%ld", (long)getpid());
    snprintf(g_geom_name, sizeof g_geom_name, "/librpc_fzg_%ld", (long)getpid());
    g_anchor_cfg = fz_config(g_anchor_name);
    rc = rpc_node_create(g_anchor_cfg, "anchor", &g_anchor);
    FZ_ASSERT(rc == 0, "anchor node: %s (%s)", rpc_strerror(rc), rpc_errdetail());
    g_devnull = fopen("/dev/null", "w");
    FZ_ASSERT(g_devnull != NULL, "/dev/null: %s", strerror(errno));
    atexit(at_exit);
    __sanitizer_set_death_callback(remove_segments);
    return 0;
}

/* ---- configuration ------------------------------------------------------ */

struct cfg_view {
    char name[RPC_SHM_NAME_MAX + 1];
    size_t shm_size, max_msg, queue;
    unsigned mode, max_nodes;
};

static void view(const rpc_config *cfg, struct cfg_view *v)
{
    memset(v, 0, sizeof *v);   /* compared with memcmp: no stray bytes */
    snprintf(v->name, sizeof v->name, "%s", rpc_config_shm_name(cfg));
    v->shm_size = rpc_config_shm_size(cfg);
    v->max_msg = rpc_config_max_msg_size(cfg);
    v->queue = rpc_config_queue_size(cfg);
    v->mode = rpc_config_mode(cfg);
    v->max_nodes = rpc_config_max_nodes(cfg);
}

/* After any setter: the configuration still holds a usable geometry, a
 * failed setter changed nothing, and the outcome is the documented one
 * (expect 1: must succeed, 0: must fail, -1: depends on other settings). */
static void after_setter(const char *what, const rpc_config *cfg, const struct cfg_view *before,
                         int rc, int expect)
{
    struct cfg_view now;
    fz_check_rc(what, rc);
    view(cfg, &now);
    FZ_ASSERT(rpc_config_required_shm_size(cfg) <= now.shm_size,
              "%s: size %zu below required %zu", what, now.shm_size,
              rpc_config_required_shm_size(cfg));
    FZ_ASSERT(now.max_msg <= now.queue, "%s: max message %zu, queue %zu", what, now.max_msg,
              now.queue);
    if (rc != 0)
        FZ_ASSERT(memcmp(&now, before, sizeof now) == 0, "%s failed (%d) but changed the config",
                  what, rc);
    if (expect >= 0)
        FZ_ASSERT((rc == 0) == expect, "%s returned %d", what, rc);
}

#define SETTER(call, expect)                                                          \
    do {                                                                              \
        struct cfg_view b_;                                                           \
        int e_ = (expect);                                                            \
        view(cfg, &b_);                                                               \
        after_setter(#call, cfg, &b_, (call), e_);                                    \
    } while (0)

static void apply_numbers(rpc_config *cfg, const struct numbers *n)
{
    int pow2 = n->queue_size != 0 && (n->queue_size & (n->queue_size - 1)) == 0;
    SETTER(rpc_config_set_mode(cfg, n->mode), n->mode <= 0777 && (n->mode & 0600) == 0600);
    SETTER(rpc_config_set_spin_us(cfg, n->spin_us), n->spin_us >= -1 && n->spin_us <= 1000000);
    SETTER(rpc_config_set_receive_mode(cfg, n->receive_mode),
           n->receive_mode == RPC_RECEIVE_THREAD || n->receive_mode == RPC_RECEIVE_MANUAL);
    SETTER(rpc_config_set_max_msg_size(cfg, (size_t)n->max_msg),
           n->max_msg > ((uint64_t)16 << 20) ? 0 : -1);
    SETTER(rpc_config_set_queue_size(cfg, (size_t)n->queue_size),
           (!pow2 || n->queue_size < 4096 || n->queue_size > ((uint64_t)1 << 30)) ? 0 : -1);
    SETTER(rpc_config_set_max_nodes(cfg, n->max_nodes),
           (n->max_nodes == 0 || n->max_nodes > RPC_MAX_NODES_LIMIT) ? 0 : -1);
    SETTER(rpc_config_set_max_subs(cfg, n->max_subs),
           (n->max_subs == 0 || n->max_subs > (1u << 20)) ? 0 : -1);
    SETTER(rpc_config_set_shm_size(cfg, (size_t)n->shm_size),
           n->shm_size >= rpc_config_required_shm_size(cfg) && n->shm_size <= ((uint64_t)1 << 40));
}

/* ---- geometry: what the setters accept must make a working segment ------- */

static unsigned g_got;
static size_t g_got_size;

static void count_cb(rpc_node *node, const rpc_message *m, void *user)
{
    (void)node;
    (void)user;
    g_got++;
    g_got_size = m->size;
}

static void geometry(rpc_config *cfg)
{
    static unsigned char payload[(size_t)16 << 20];
    rpc_node *n = NULL;
    size_t max = rpc_config_max_msg_size(cfg);
    int rc, fd;
    /* Keep each run small: tmpfs pages are real memory once touched. */
    if (rpc_config_shm_size(cfg) > ((size_t)8 << 20))
        return;
    FZ_ASSERT(rpc_config_set_shm_name(cfg, g_geom_name) == 0, "geometry name");
    FZ_ASSERT(rpc_config_set_receive_mode(cfg, RPC_RECEIVE_MANUAL) == 0, "manual mode");
    rc = rpc_node_create(cfg, "geo", &n);
    fz_check_rc("rpc_node_create (geometry)", rc);
    if (rc == RPC_ENOSPC || rc == RPC_ENOMEM)
        return;
    FZ_ASSERT(rc == 0, "settings accepted by the setters make no usable segment: %s (%s)",
              rpc_strerror(rc), rpc_errdetail());
    FZ_ASSERT(rpc_subscribe(n, "geo", "t", count_cb, NULL) == 0, "subscribe: %s",
              rpc_errdetail());
    g_got = 0;
    /* The documented promise: a queue holds two maximum-size messages. */
    FZ_ASSERT(rpc_publish(n, "geo", "t", payload, max, RPC_NO_WAIT) == 0, "publish 1: %s",
              rpc_errdetail());
    FZ_ASSERT(rpc_publish(n, "geo", "t", payload, max, RPC_NO_WAIT) == 0, "publish 2 of %zu: %s",
              max, rpc_errdetail());
    FZ_ASSERT(rpc_publish(n, "geo", "t", payload, max + 1, RPC_NO_WAIT) == RPC_EMSGSIZE,
              "over the maximum");
    while (rpc_node_poll(n, 0) > 0)
        ;
    FZ_ASSERT(g_got == 2 && g_got_size == max, "got %u messages of %zu", g_got, g_got_size);
    FZ_ASSERT(rpc_node_destroy(n) == 0, "destroy: %s", rpc_errdetail());
    fd = shm_open(g_geom_name, O_RDONLY, 0);
    FZ_ASSERT(fd < 0 && errno == ENOENT, "segment left behind by its last node");
}

/* ---- names ---------------------------------------------------------------- */

static void shm_names(const char *s, unsigned sel)
{
    rpc_config *cfg = NULL;
    int rc, ok = rule_shm_name(s);
    FZ_ASSERT(rpc_config_create(&cfg) == 0, "config");
    rc = rpc_config_set_shm_name(cfg, s);
    FZ_ASSERT((rc == 0) == ok && (rc == 0 || rc == RPC_EBADNAME), "set_shm_name(\"%s\") = %d",
              s, rc);
    if (ok)
        FZ_ASSERT(strcmp(rpc_config_shm_name(cfg), s) == 0, "name not kept");
    rpc_config_destroy(cfg);
    if (sel & SEL_ENV) {
        cfg = NULL;
        setenv(RPC_ENV_SHM_NAME, s, 1);
        rc = rpc_config_create(&cfg);
        fz_sweep_stale();
    unsetenv(RPC_ENV_SHM_NAME);
        /* An empty variable means "not set". */
        FZ_ASSERT((rc == 0) == (ok || s[0] == '\0'), "$LIBRPC_SHM_NAME=\"%s\": %d", s, rc);
        if (rc == 0)
            FZ_ASSERT(strcmp(rpc_config_shm_name(cfg), s[0] ? s : RPC_DEFAULT_SHM_NAME) == 0,
                      "env name not used");
        else
            FZ_ASSERT(rc == RPC_EBADNAME && cfg == NULL, "env: %d", rc);
        rpc_config_destroy(cfg);
    }
}

struct echo {
    const char *group, *topic, *payload;
    unsigned got;
};

static void echo_cb(rpc_node *node, const rpc_message *m, void *user)
{
    struct echo *e = user;
    (void)node;
    FZ_ASSERT(strcmp(m->group, e->group) == 0 && strcmp(m->topic, e->topic) == 0,
              "delivered on %s/%s, sent on %s/%s", m->group, m->topic, e->group, e->topic);
    FZ_ASSERT(m->size == strlen(e->payload) && memcmp(m->data, e->payload, m->size) == 0,
              "payload changed");
    e->got++;
}

static int listed(const char *name)
{
    rpc_node_info info[FZ_MAX_NODES];
    int n = rpc_domain_list_nodes(g_anchor_cfg, info, FZ_MAX_NODES), i;
    for (i = 0; i < n && i < (int)FZ_MAX_NODES; i++)
        if (strcmp(info[i].name, name) == 0)
            return 1;
    return 0;
}

static void topics(rpc_node *n, const char *group, const char *topic, const char *text)
{
    struct echo e = { group, topic, text, 0 };
    size_t len = strlen(text) <= FZ_MAX_MSG ? strlen(text) : FZ_MAX_MSG;
    int ok = rule_name63(group) && rule_name63(topic), rc;
    char payload[FZ_MAX_MSG + 1];
    memcpy(payload, text, len);
    payload[len] = '\0';
    e.payload = payload;
    rc = rpc_subscribe(n, group, topic, echo_cb, &e);
    FZ_ASSERT(rc == (ok ? 0 : RPC_EBADTOPIC), "subscribe(\"%s\", \"%s\") = %d", group, topic, rc);
    rc = rpc_is_subscribed(n, group, topic);
    FZ_ASSERT(rc == (ok ? 1 : RPC_EBADTOPIC), "is_subscribed = %d", rc);
    rc = rpc_publish(n, group, topic, payload, len, RPC_NO_WAIT);
    FZ_ASSERT(rc == (ok ? 0 : RPC_EBADTOPIC), "publish = %d", rc);
    rc = rpc_node_poll(n, 0);
    FZ_ASSERT(rc == (ok ? 1 : 0) && e.got == (unsigned)rc, "poll = %d, got %u", rc, e.got);
    rc = rpc_unsubscribe(n, group, topic);
    FZ_ASSERT(rc == (ok ? 0 : RPC_EBADTOPIC), "unsubscribe = %d", rc);
    if (ok)
        FZ_ASSERT(rpc_is_subscribed(n, group, topic) == 0, "still subscribed");
}

static void node_names(const char *name, const char *group, const char *topic, const char *text)
{
    rpc_node *n = NULL;
    int ok = rule_name63(name), rc;
    rc = rpc_node_create(g_anchor_cfg, name, &n);
    if (!ok)
        FZ_ASSERT(rc == RPC_EBADNODENAME && n == NULL, "node name \"%s\": %d", name, rc);
    else if (strcmp(name, "anchor") == 0)
        FZ_ASSERT(rc == RPC_EEXIST && n == NULL, "duplicate name accepted: %d", rc);
    else {
        FZ_ASSERT(rc == 0, "node name \"%s\": %s (%s)", name, rpc_strerror(rc), rpc_errdetail());
        FZ_ASSERT(strcmp(rpc_node_name(n), name) == 0, "name not kept");
        FZ_ASSERT(listed(name), "node \"%s\" not listed", name);
    }
    if (n == NULL) {
        rc = rpc_node_create(g_anchor_cfg, "probe", &n);
        FZ_ASSERT(rc == 0, "probe node: %s", rpc_errdetail());
    }
    topics(n, group, topic, text);
    FZ_ASSERT(rpc_node_destroy(n) == 0, "destroy");
}

/* ---- tools/cli_common.c ------------------------------------------------- */

/* Is s (len bytes) one JSON string literal made of valid UTF-8? */
static int json_string_ok(const unsigned char *s, size_t len)
{
    size_t i = 1;
    if (len < 2 || s[0] != '"' || s[len - 1] != '"')
        return 0;
    while (i < len - 1) {
        unsigned char c = s[i];
        if (c == '\\') {
            if (i + 1 >= len - 1)
                return 0;
            c = s[i + 1];
            if (c == 'u') {
                size_t k;
                if (i + 6 > len - 1)
                    return 0;
                for (k = 2; k < 6; k++)
                    if (!strchr("0123456789abcdefABCDEF", s[i + k]) || s[i + k] == '\0')
                        return 0;
                i += 6;
            } else if (strchr("\"\\/bfnrt", c) && c != '\0') {
                i += 2;
            } else {
                return 0;
            }
        } else if (c == '"' || c < 0x20) {
            return 0;
        } else if (c < 0x80) {
            i++;
        } else {
            /* Multi-byte: the lead byte says how many follow. */
            size_t n = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC2 ? 2 : 0, k;
            if (n == 0 || c > 0xF4 || i + n > len - 1)
                return 0;
            for (k = 1; k < n; k++)
                if ((s[i + k] & 0xC0) != 0x80)
                    return 0;
            i += n;
        }
    }
    return 1;
}

static void cli(const char *name, const char *text, const struct numbers *n)
{
    char *out = NULL, buf[128];
    size_t out_len = 0, cap = 1 + n->mode % sizeof buf;
    FILE *saved = stderr, *f;
    rpc_config *cfg = NULL;
    int rc, err = -(int)(n->spin_us % 40);

    f = open_memstream(&out, &out_len);
    FZ_ASSERT(f != NULL, "open_memstream");
    cli_json_string(f, text);
    fclose(f);
    FZ_ASSERT(json_string_ok((const unsigned char *)out, out_len), "invalid JSON: %s", out);
    free(out);

    FZ_ASSERT(strlen(cli_format_size(n->shm_size, buf, cap)) < cap, "size overflow");
    FZ_ASSERT(strlen(cli_format_time((int64_t)n->queue_size, buf, cap)) < cap, "time overflow");
    FZ_ASSERT(cli_errname(err) != NULL && cli_exit_code(err) >= 0 && cli_exit_code(err) <= 5,
              "exit code");

    /* The helpers print their one-line errors on stderr: not here. */
    stderr = g_devnull;
    rc = cli_config(&g_ctx, name, &cfg);
    stderr = saved;
    FZ_ASSERT((rc == CLI_EXIT_OK) == rule_shm_name(name), "cli_config(\"%s\") = %d", name, rc);
    FZ_ASSERT(rc == CLI_EXIT_OK || rc == CLI_EXIT_USAGE, "cli_config exit %d", rc);
    rpc_config_destroy(cfg);

    stderr = g_devnull;
    rc = cli_report(&g_ctx, g_anchor_cfg, err, text);
    stderr = saved;
    FZ_ASSERT(rc == cli_exit_code(err), "cli_report exit %d for %d", rc, err);
}

/* ---- entry ---------------------------------------------------------------- */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static char s[5][MAX_STR + 1];
    struct input in = { data, size };
    struct numbers n;
    unsigned sel, i;
    rpc_config *cfg;
    if (size == 0)
        return 0;
    sel = (unsigned)take_u64(&in, 1);
    n.shm_size = take_u64(&in, 8);
    n.queue_size = take_u64(&in, 8);
    n.max_msg = take_u64(&in, 8);
    n.max_nodes = (uint32_t)take_u64(&in, 4);
    n.max_subs = (uint32_t)take_u64(&in, 4);
    n.mode = (uint32_t)take_u64(&in, 4);
    n.spin_us = (int32_t)take_u64(&in, 4);
    n.receive_mode = (int32_t)take_u64(&in, 4);
    for (i = 0; i < 5; i++)
        take_str(&in, s[i]);

    shm_names(s[0], sel);
    cfg = NULL;
    FZ_ASSERT(rpc_config_create(&cfg) == 0, "config");
    apply_numbers(cfg, &n);
    if (sel & SEL_GEOMETRY)
        geometry(cfg);
    rpc_config_destroy(cfg);
    if (sel & SEL_NODE)
        node_names(s[1], s[2], s[3], s[4]);
    if (sel & SEL_CLI)
        cli(s[0], s[4], &n);
    return 0;
}
