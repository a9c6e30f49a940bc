/*
 * sec_common.h - what the access-control tests share: acting as another
 * user in a forked child, line channels between such children, and checks
 * on files and error details.
 *
 * The tests run as root and switch each child to the identity it plays
 * (setgroups, setresgid, setresuid), so "another user" is a real kernel
 * identity, with no passwd or group entry needed.  The parent itself never
 * creates a node: it only makes names, starts children and checks files, so
 * no library state is ever copied into a child by fork().
 */
#ifndef LIBRPC_SEC_COMMON_H
#define LIBRPC_SEC_COMMON_H

#include "testutil.h"

#include <sys/stat.h>
#include <sys/types.h>

/* Identities the tests play.  Numeric only: none needs a passwd entry. */
#define SEC_UID_NOBODY 65534
#define SEC_GID_NOGROUP 65534
#define SEC_UID_A 1001      /* alice */
#define SEC_UID_B 1002      /* bob */
#define SEC_UID_C 1003      /* carol, the outsider */
#define SEC_UID_D 1004      /* dave, whose files only the clean-up-all test makes */
#define SEC_GID_SHARED 64901 /* the group alice and bob share */
#define SEC_GID_OTHER 64902  /* a group alice is not in */

typedef struct sec_user {
    const char *label;
    uid_t uid;
    gid_t gid;           /* primary group */
    int ngroups;         /* supplementary groups */
    gid_t groups[4];
} sec_user;

extern const sec_user sec_root, sec_nobody, sec_alice, sec_bob, sec_carol, sec_dave;

/* Skip the test (77) unless we are root and can become the test users. */
void sec_require_root(void);

/* In a child: take u's identity for good (real, effective and saved ids),
 * re-arm the parent-death signal (a credential change clears it) and stay
 * dumpable so sanitizers and debuggers still work.  Fails the child on
 * error. */
void sec_become(const sec_user *u);

/* Fork a child that becomes u, runs fn(arg) and exits 0.  Returns its pid. */
pid_t sec_run_as(const sec_user *u, void (*fn)(void *arg), void *arg);

/* sec_run_as, then wait for the child and require exit status 0. */
void sec_call_as(const sec_user *u, void (*fn)(void *arg), void *arg);

/* A one-way channel of text lines between processes (made before fork). */
typedef struct sec_chan { int rd, wr; } sec_chan;
void sec_chan_make(sec_chan *c);
void sec_chan_close(sec_chan *c);
void sec_say(sec_chan *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Read one line (without its newline) into buf; fail on EOF or after
 * timeout_ms. */
void sec_hear(sec_chan *c, char *buf, size_t len, int timeout_ms);
/* Read a line and require it to be exactly `want`. */
void sec_expect(sec_chan *c, const char *want, int timeout_ms);

/* lstat of /dev/shm<name>; 0 when it exists, -1 when not. */
int sec_shm_lstat(const char *name, struct stat *st);

/* The last failure's detail must contain every given substring (NULL-ended). */
void sec_detail_has_at(const char *file, int line, const char *first, ...);
#define SEC_DETAIL_HAS(...) sec_detail_has_at(__FILE__, __LINE__, __VA_ARGS__, (const char *)NULL)

/* 1 if haystack contains needle. */
int sec_contains(const char *haystack, const char *needle);

/* Run a tool of the binary directory with argv and extra environment;
 * capture its output (stdout and stderr) into out; return its exit status.
 * A tool that does not end within a generous deadline is killed and the
 * test fails (a hang is a finding, not a reason to hang the test). */
int sec_tool(char *out, size_t len, const char *const env[], const char *prog, ...);

/* 1 when the tools are there and the current identity may run them. */
int sec_tools_usable(void);

/* A snapshot of a file, to prove a tool left it alone. */
typedef struct sec_snap {
    dev_t dev;
    ino_t ino;
    mode_t mode;
    uid_t uid;
    gid_t gid;
    off_t size;
    struct timespec mtime, ctime;
    char head[64];       /* the first bytes */
} sec_snap;
void sec_snap_take(const char *path, sec_snap *s);
void sec_snap_same_at(const char *file, int line, const char *path, const sec_snap *s);
#define SEC_SNAP_SAME(path, s) sec_snap_same_at(__FILE__, __LINE__, (path), (s))

#endif
