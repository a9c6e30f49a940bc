/*
 * fuzz_common.h - what the fuzz targets and the seed generator share: the
 * small segment geometry the seeds are made with, the harness knobs kept in
 * the header page, and the check that a librpc result is a documented one.
 *
 * The geometry is deliberately tiny (4 node slots, 16 subscription entries,
 * 8 queues of 4 KiB, about 48 KiB in all) so that a mutated image is cheap to
 * copy and a random mutation has a fair chance to land in every table.
 */
#ifndef LIBRPC_FUZZ_COMMON_H
#define LIBRPC_FUZZ_COMMON_H

#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include <librpc/librpc.h>

#include "layout.h"

#define FZ_MAX_NODES 4u
#define FZ_MAX_SUBS 16u
#define FZ_QUEUE_SIZE 4096u
#define FZ_MAX_MSG 512u
#define FZ_RINGS 8u
/* 4 KiB header, node table padded to a page, subscription table padded to
 * a page, then FZ_RINGS blocks of (ring header + queue). */
#define FZ_RING_BLOCK (RPCL_RING_HDR_SIZE + FZ_QUEUE_SIZE)
#define FZ_SHM_SIZE (3u * 4096u + FZ_RINGS * FZ_RING_BLOCK)

/*
 * Harness knobs: the last 8 bytes of the 4 KiB header page, which the
 * library never reads (its header struct is ~140 bytes).  Keeping them in
 * the image means an input file is exactly a segment image: a copy of a
 * real /dev/shm file is a valid input, its knobs then all zero (the
 * deepest path: look alive, subscribe, publish, poll).
 */
#define FZ_KNOB_OFF 4088u
_Static_assert(sizeof(struct rpcl_header) <= FZ_KNOB_OFF, "knobs outside the header struct");
enum fz_knob_flags {
    FZK_NO_MEMBERSHIP = 1u << 0, /* do not look attached: join re-initialises */
    FZK_KEEP_SIZE = 1u << 1,     /* leave header.segment_size as mutated */
    FZK_NO_SUBSCRIBE = 1u << 2,
    FZK_NO_PUBLISH = 1u << 3,
    FZK_EVENTS = 1u << 4,        /* watch node events while polling */
    FZK_SECOND_NODE = 1u << 5,   /* create a second node in the same process */
    FZK_UNSUBSCRIBE = 1u << 6,   /* unsubscribe everything before destroy */
    FZK_KEEP_VERSION = 1u << 7   /* leave header.layout_version as mutated */
};
enum fz_knob_index {
    FZK_FLAGS = 0,
    FZK_LOCK_XOR = 1,    /* slots 0..7: flip "looks alive" against the image */
    FZK_PAYLOAD = 2,     /* payload bytes / 4 (past FZ_MAX_MSG: RPC_EMSGSIZE) */
    FZK_NAME = 3,        /* 0 "fz", 255 auto name, else the name in slot k-1 */
    FZK_PUBLISHES = 4,   /* 1 + k % 8 publications per topic */
    FZK_SCAN = 5         /* subscription entries scanned for names: 0 means 8 */
};

/* Abort (a crash for the fuzzer) unless rc is success or a documented
 * RPC_E* code: a result outside the contract is a finding too. */
static inline void fz_check_rc(const char *what, int rc)
{
    if (rc >= 0)
        return;
    if (rc < RPC_EINTR) {   /* the most negative code */
        fprintf(stderr, "fuzz oracle: %s returned %d, not an RPC_E* code\n", what, rc);
        abort();
    }
}

/* Fail loudly: the harness itself found a broken promise of the library. */
#define FZ_ASSERT(cond, ...)                                                   \
    do {                                                                       \
        if (!(cond)) {                                                         \
            fprintf(stderr, "fuzz oracle failed at %s:%d: ", __FILE__, __LINE__); \
            fprintf(stderr, __VA_ARGS__);                                      \
            fputc('\n', stderr);                                               \
            abort();                                                           \
        }                                                                      \
    } while (0)

/*
 * Remove segments of the fuzz programs (librpc_fz*_<pid>) whose process is
 * gone.  A sanitizer report ends a target with _exit(), past every clean-up
 * hook, so its segment would otherwise stay in /dev/shm; run.sh and
 * replay.sh remove those too, this covers runs by hand.
 */
static inline void fz_sweep_stale(void)
{
    DIR *d = opendir("/dev/shm");
    struct dirent *e;
    if (d == NULL)
        return;
    while ((e = readdir(d)) != NULL) {
        const char *us = strrchr(e->d_name, '_');
        char *end;
        long pid;
        if (strncmp(e->d_name, "librpc_fz", 9) != 0 || us == NULL || us[1] == '\0')
            continue;
        pid = strtol(us + 1, &end, 10);
        if (*end == '\0' && pid > 0 && kill((pid_t)pid, 0) != 0 && errno == ESRCH) {
            char name[300];
            snprintf(name, sizeof name, "/%s", e->d_name);
            shm_unlink(name);
        }
    }
    closedir(d);
}

/* A configuration for the fuzz geometry on segment `name`, manual mode. */
static inline rpc_config *fz_config(const char *name)
{
    rpc_config *cfg = NULL;
    if (rpc_config_create(&cfg) != 0 || rpc_config_set_shm_name(cfg, name) != 0 ||
        rpc_config_set_max_msg_size(cfg, FZ_MAX_MSG) != 0 ||
        rpc_config_set_queue_size(cfg, FZ_QUEUE_SIZE) != 0 ||
        rpc_config_set_max_nodes(cfg, FZ_MAX_NODES) != 0 ||
        rpc_config_set_max_subs(cfg, FZ_MAX_SUBS) != 0 ||
        rpc_config_set_shm_size(cfg, FZ_SHM_SIZE) != 0 ||
        rpc_config_set_receive_mode(cfg, RPC_RECEIVE_MANUAL) != 0 ||
        rpc_config_set_spin_us(cfg, 0) != 0) {
        fprintf(stderr, "fuzz: cannot build the configuration: %s\n", rpc_errdetail());
        abort();
    }
    return cfg;
}

#endif
