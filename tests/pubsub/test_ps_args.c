/*
 * test_ps_args.c - bad arguments get distinct errors and change nothing.
 *
 *   - NULL node: RPC_EINVAL from every publish/subscribe call;
 *     NULL callback: RPC_EINVAL; NULL data with size > 0, a timeout below
 *     -1: RPC_EINVAL; NULL group or topic name: one code, the same from
 *     every call (the header leaves open whether EINVAL or EBADTOPIC);
 *   - names: empty, 64 bytes, with a space, a control or a non-ASCII byte
 *     give RPC_EBADTOPIC from subscribe, unsubscribe, is_subscribed and
 *     publish, in either position; 1 and 63 bytes are fine;
 *   - size over the segment's maximum: RPC_EMSGSIZE, nothing queued (a
 *     subscriber gets nothing) and no counter moves; rpc_errdetail says why;
 *   - rpc_node_poll on a receive-thread node: RPC_EMODE;
 *   - subscribe twice: RPC_EEXIST (and the first callback stays);
 *     unsubscribe when not subscribed: RPC_ENOTSUB; rpc_is_subscribed 0/1;
 *   - a full subscription table: RPC_ENOSPC, and room again after an
 *     unsubscribe;
 *   - in a forked child every call on the parent's node: RPC_EFORKED;
 *   - the new error codes have distinct texts.
 */
#include "psutil.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define G "args"

static int calls;

static void on_msg(rpc_node *node, const rpc_message *m, void *user)
{
    (void)node;
    (void)m;
    (void)user;
    calls++;
}

static void on_other(rpc_node *node, const rpc_message *m, void *user)
{
    (void)node;
    (void)m;
    (void)user;
    calls += 1000;
}

static void same_stats(rpc_node *n, const rpc_node_stats *before)
{
    rpc_node_stats now;
    ASSERT_OK(rpc_node_get_stats(n, &now));
    ASSERT_EQ(now.published, before->published);
    ASSERT_EQ(now.delivered, before->delivered);
    ASSERT_EQ(now.dropped, before->dropped);
    ASSERT_EQ(now.bytes_out, before->bytes_out);
}

/* Every call that takes (group, topic) rejects this pair with `want`. */
static void bad_pair(rpc_node *n, const char *g, const char *t, int want)
{
    char one = 'x';
    rpc_node_stats st;
    ASSERT_OK(rpc_node_get_stats(n, &st));
    ASSERT_RC(rpc_subscribe(n, g, t, on_msg, NULL), want);
    ASSERT_RC(rpc_unsubscribe(n, g, t), want);
    ASSERT_RC(rpc_is_subscribed(n, g, t), want);
    ASSERT_RC(rpc_publish(n, g, t, &one, 1, RPC_NO_WAIT), want);
    same_stats(n, &st);
}

static void test_names(rpc_node *n)
{
    char n63[64], n64[65];
    const char *bad[] = {"", n64, "has space", "tab\there", "ctl\x01", "bell\x7f",
                         "\xc3\xa9t\xc3\xa9"};
    int null_rc;
    memset(n63, 'a', 63);
    n63[63] = '\0';
    memset(n64, 'b', 64);
    n64[64] = '\0';
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        bad_pair(n, bad[i], "ok", RPC_EBADTOPIC);
        bad_pair(n, "ok", bad[i], RPC_EBADTOPIC);
    }
    /* NULL names: one code, whichever, from every call. */
    null_rc = rpc_is_subscribed(n, NULL, "ok");
    ASSERT_MSG(null_rc == RPC_EINVAL || null_rc == RPC_EBADTOPIC,
               "NULL group: %s", tu_errname(null_rc));
    bad_pair(n, NULL, "ok", null_rc);
    bad_pair(n, "ok", NULL, null_rc);
    bad_pair(n, NULL, NULL, null_rc);

    /* The limits themselves are fine. */
    ASSERT_OK(rpc_subscribe(n, n63, n63, on_msg, NULL));
    ASSERT_EQ(rpc_is_subscribed(n, n63, n63), 1);
    ASSERT_OK(rpc_publish(n, n63, n63, NULL, 0, RPC_NO_WAIT));
    ASSERT_OK(rpc_unsubscribe(n, n63, n63));
    ASSERT_OK(rpc_subscribe(n, "g", "t", on_msg, NULL));
    ASSERT_OK(rpc_unsubscribe(n, "g", "t"));
    ASSERT_OK(rpc_subscribe(n, "~!#$%&'()*+,-./:;<=>?@[]^_`{|}", "0", on_msg, NULL));
    ASSERT_OK(rpc_unsubscribe(n, "~!#$%&'()*+,-./:;<=>?@[]^_`{|}", "0"));
}

static void test_nulls(rpc_node *n)
{
    rpc_node_stats st;
    char one = 'x';
    ASSERT_RC(rpc_subscribe(NULL, G, "t", on_msg, NULL), RPC_EINVAL);
    ASSERT_RC(rpc_subscribe(n, G, "t", NULL, NULL), RPC_EINVAL);
    ASSERT_EQ(rpc_is_subscribed(n, G, "t"), 0);
    ASSERT_RC(rpc_unsubscribe(NULL, G, "t"), RPC_EINVAL);
    ASSERT_RC(rpc_is_subscribed(NULL, G, "t"), RPC_EINVAL);
    ASSERT_RC(rpc_publish(NULL, G, "t", &one, 1, RPC_NO_WAIT), RPC_EINVAL);
    ASSERT_RC(rpc_node_poll(NULL, 0), RPC_EINVAL);
    ASSERT_RC(rpc_node_get_stats(NULL, &st), RPC_EINVAL);
    ASSERT_RC(rpc_node_get_stats(n, NULL), RPC_EINVAL);

    ASSERT_OK(rpc_node_get_stats(n, &st));
    ASSERT_RC(rpc_publish(n, G, "t", NULL, 1, RPC_NO_WAIT), RPC_EINVAL);
    ASSERT_RC(rpc_publish(n, G, "t", &one, 1, -2), RPC_EINVAL);
    ASSERT_RC(rpc_publish(n, G, "t", &one, 1, INT32_MIN), RPC_EINVAL);
    same_stats(n, &st);
    /* NULL data is fine for an empty message. */
    ASSERT_OK(rpc_publish(n, G, "t", NULL, 0, RPC_NO_WAIT));
}

/* Over the limit: EMSGSIZE, nothing sent, nothing counted. */
static void test_size(rpc_node *pub, rpc_node *sub, size_t max)
{
    unsigned char *buf = calloc(1, max + 1);
    rpc_node_stats st;
    ASSERT(buf != NULL);
    /* Start from an empty queue (earlier checks may have left records
     * addressed to dropped subscriptions). */
    while (rpc_node_poll(sub, 0) > 0)
        ;
    calls = 0;
    ASSERT_OK(rpc_subscribe(sub, G, "size", on_msg, NULL));
    ASSERT_OK(rpc_node_get_stats(pub, &st));
    ASSERT_RC(rpc_publish(pub, G, "size", buf, max + 1, RPC_NO_WAIT), RPC_EMSGSIZE);
    ASSERT_MSG(rpc_errdetail()[0] != '\0', "no detail for RPC_EMSGSIZE");
    ASSERT_RC(rpc_publish(pub, G, "size", buf, max + 1, RPC_WAIT_FOREVER), RPC_EMSGSIZE);
    ASSERT_RC(rpc_publish(pub, G, "size", buf, SIZE_MAX, RPC_NO_WAIT), RPC_EMSGSIZE);
    ASSERT_RC(rpc_publish(pub, G, "size", buf, (size_t)UINT32_MAX + 2, 10), RPC_EMSGSIZE);
    same_stats(pub, &st);
    ASSERT_EQ(rpc_node_poll(sub, 0), 0);
    ASSERT_EQ(calls, 0);
    /* The maximum itself goes through. */
    ASSERT_OK(rpc_publish(pub, G, "size", buf, max, RPC_NO_WAIT));
    ASSERT_EQ(rpc_node_poll(sub, tu_timeout_ms(10000)), 1);
    ASSERT_EQ(calls, 1);
    ASSERT_OK(rpc_unsubscribe(sub, G, "size"));
    free(buf);
}

static void test_subscription_rules(rpc_node *thr, rpc_node *man)
{
    ASSERT_RC(rpc_node_poll(thr, 0), RPC_EMODE);
    ASSERT_RC(rpc_node_poll(thr, 100), RPC_EMODE);
    ASSERT_RC(rpc_node_poll(man, -2), RPC_EINVAL);
    ASSERT_EQ(rpc_node_poll(man, 0), 0);

    ASSERT_EQ(rpc_is_subscribed(man, G, "dup"), 0);
    ASSERT_RC(rpc_unsubscribe(man, G, "dup"), RPC_ENOTSUB);
    ASSERT_OK(rpc_subscribe(man, G, "dup", on_msg, NULL));
    ASSERT_EQ(rpc_is_subscribed(man, G, "dup"), 1);
    ASSERT_EQ(rpc_is_subscribed(man, G, "dup2"), 0);
    ASSERT_EQ(rpc_is_subscribed(man, "args2", "dup"), 0);
    ASSERT_EQ(rpc_is_subscribed(thr, G, "dup"), 0);
    ASSERT_RC(rpc_subscribe(man, G, "dup", on_msg, NULL), RPC_EEXIST);
    ASSERT_RC(rpc_subscribe(man, G, "dup", on_other, NULL), RPC_EEXIST);
    /* The first callback is still the one that runs. */
    calls = 0;
    ASSERT_OK(rpc_publish(thr, G, "dup", NULL, 0, RPC_NO_WAIT));
    ASSERT_EQ(rpc_node_poll(man, tu_timeout_ms(10000)), 1);
    ASSERT_EQ(calls, 1);
    ASSERT_OK(rpc_unsubscribe(man, G, "dup"));
    ASSERT_EQ(rpc_is_subscribed(man, G, "dup"), 0);
    ASSERT_RC(rpc_unsubscribe(man, G, "dup"), RPC_ENOTSUB);
    /* Another node's subscription is not ours to remove. */
    ASSERT_OK(rpc_subscribe(thr, G, "dup", on_msg, NULL));
    ASSERT_RC(rpc_unsubscribe(man, G, "dup"), RPC_ENOTSUB);
    ASSERT_EQ(rpc_is_subscribed(thr, G, "dup"), 1);
    ASSERT_OK(rpc_unsubscribe(thr, G, "dup"));
}

/* A segment with room for 8 subscriptions. */
static void test_table_full(void)
{
    const char *name = ps_shm_name("full");
    rpc_config *cfg = tu_config(name);
    rpc_node *a = NULL, *b = NULL;
    char t[16];
    ASSERT_OK(rpc_config_set_max_subs(cfg, 8));
    ps_config_mode(cfg, RPC_RECEIVE_MANUAL, 0);
    ASSERT_OK(rpc_node_create(cfg, "a", &a));
    ASSERT_OK(rpc_node_create(cfg, "b", &b));
    for (int i = 0; i < 8; i++) {
        snprintf(t, sizeof t, "t%d", i);
        ASSERT_OK(rpc_subscribe(i % 2 ? a : b, G, t, on_msg, NULL));
    }
    ASSERT_RC(rpc_subscribe(a, G, "t8", on_msg, NULL), RPC_ENOSPC);
    ASSERT_MSG(rpc_errdetail()[0] != '\0', "no detail for RPC_ENOSPC");
    ASSERT_RC(rpc_subscribe(b, G, "t8", on_msg, NULL), RPC_ENOSPC);
    ASSERT_EQ(rpc_is_subscribed(a, G, "t8"), 0);
    ASSERT_OK(rpc_unsubscribe(b, G, "t0"));
    ASSERT_OK(rpc_subscribe(a, G, "t8", on_msg, NULL));
    /* A destroyed node's entries come back too. */
    ASSERT_OK(rpc_node_destroy(b));
    ASSERT_OK(rpc_subscribe(a, G, "t9", on_msg, NULL));
    ASSERT_OK(rpc_node_destroy(a));
    rpc_config_destroy(cfg);
    ASSERT(!tu_shm_exists(name));
}

/* In a forked child the parent's nodes refuse to work. */
static void test_forked(rpc_node *thr, rpc_node *man)
{
    pid_t pid = tu_fork(0);
    if (pid == 0) {
        rpc_node_stats st;
        int bad = 0;
#define EXPECT_FORKED(expr)                                                              \
    do {                                                                                 \
        int rc_ = (expr);                                                                \
        if (rc_ != RPC_EFORKED) {                                                        \
            fprintf(stderr, "child: %s: %s, want RPC_EFORKED\n", #expr, tu_errname(rc_)); \
            bad = 1;                                                                     \
        }                                                                                \
    } while (0)
        EXPECT_FORKED(rpc_publish(thr, G, "t", NULL, 0, RPC_NO_WAIT));
        EXPECT_FORKED(rpc_subscribe(man, G, "forked", on_msg, NULL));
        EXPECT_FORKED(rpc_unsubscribe(man, G, "t"));
        EXPECT_FORKED(rpc_node_poll(man, 0));
        EXPECT_FORKED(rpc_node_get_stats(thr, &st));
#undef EXPECT_FORKED
        _exit(bad);
    }
    TU_EXPECT_EXIT0(pid, tu_timeout_ms(20000));
}

static void test_strerror(void)
{
    const int codes[] = {RPC_EAGAIN, RPC_EMSGSIZE, RPC_EBADTOPIC, RPC_ENOSPC, RPC_ENOTSUB,
                         RPC_EMODE, RPC_ETIMEDOUT, RPC_EINVAL, RPC_EEXIST};
    const size_t n = sizeof codes / sizeof codes[0];
    for (size_t i = 0; i < n; i++) {
        const char *s = rpc_strerror(codes[i]);
        ASSERT(s != NULL && s[0] != '\0');
        ASSERT_MSG(strcmp(s, rpc_strerror(12345)) != 0, "%s has no text", tu_errname(codes[i]));
        for (size_t j = 0; j < i; j++)
            ASSERT_MSG(strcmp(s, rpc_strerror(codes[j])) != 0, "%s and %s share a text",
                       tu_errname(codes[i]), tu_errname(codes[j]));
    }
}

int main(void)
{
    const char *name;
    rpc_config *tcfg, *mcfg;
    rpc_node *thr = NULL, *man = NULL;

    ps_init("ps_args");
    test_strerror();
    name = ps_shm_name("args");
    tcfg = tu_config(name);
    mcfg = tu_config(name);
    ps_config_mode(mcfg, RPC_RECEIVE_MANUAL, 0);
    ASSERT_OK(rpc_node_create(tcfg, "thr", &thr));
    ASSERT_OK(rpc_node_create(mcfg, "man", &man));

    test_nulls(thr);
    test_names(thr);
    test_names(man);
    test_size(thr, man, rpc_config_max_msg_size(tcfg));
    test_subscription_rules(thr, man);
    test_forked(thr, man);
    test_table_full();

    ASSERT_OK(rpc_node_destroy(man));
    ASSERT_OK(rpc_node_destroy(thr));
    rpc_config_destroy(tcfg);
    rpc_config_destroy(mcfg);
    return tu_done();
}
