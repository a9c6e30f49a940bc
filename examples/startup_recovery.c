/*
 * startup_recovery.c - the start-up routine the seed recommends: before
 * creating your nodes, remove whatever an earlier crash left behind.
 *
 * librpc already repairs an orphaned segment when the first node joins it,
 * so this step is a belt-and-braces measure that also frees the memory at
 * once.  It is safe even while other processes start: rpc_domain_cleanup()
 * refuses (RPC_EBUSY) as soon as any live process is attached.
 *
 * Run with --crash-first to see it at work: a child process creates a node
 * and is killed with SIGKILL, leaving an orphaned segment behind.
 */
#define _POSIX_C_SOURCE 200809L   /* fork, waitpid */
#include <librpc/librpc.h>

#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

/* Remove an orphaned segment; 0 when the domain is ready to be joined. */
static int recover(const rpc_config *cfg)
{
    rpc_domain_info info;
    int active = rpc_domain_active_nodes(cfg), rc;
    if (active == RPC_ENOENT) {
        printf("no segment: nothing to recover\n");
        return 0;
    }
    if (active > 0) {
        printf("%d live node(s): the segment is in use, nothing to recover\n", active);
        return 0;
    }
    /* No live node, or a segment that cannot be read (a process died while
     * creating it): remove it if nobody is attached. */
    if (active != 0 && (rpc_domain_stat(cfg, &info) != 0 || !info.orphaned)) {
        fprintf(stderr, "segment unusable: %s\n", rpc_strerror(active));
        return -1;
    }
    rc = rpc_domain_cleanup(cfg, 0);   /* never RPC_CLEANUP_FORCE here: dangerous */
    if (rc == 0)
        printf("removed an orphaned segment\n");
    else if (rc == RPC_ENOENT || rc == RPC_EBUSY)   /* someone else was quicker */
        printf("clean-up not needed: %s\n", rpc_strerror(rc));
    else
        fprintf(stderr, "rpc_domain_cleanup: %s (%s)\n", rpc_strerror(rc), rpc_errdetail());
    return rc == 0 || rc == RPC_ENOENT || rc == RPC_EBUSY ? 0 : -1;
}

/* For the demonstration: a process that dies without destroying its node. */
static int crash_a_process(void)
{
    int status;
    pid_t pid = fork();
    if (pid == 0) {
        rpc_node *node;
        if (rpc_node_create(NULL, "doomed", &node) == 0)
            raise(SIGKILL);
        _exit(1);
    }
    if (pid < 0 || waitpid(pid, &status, 0) != pid || !WIFSIGNALED(status))
        return -1;
    printf("a process with a node was killed by SIGKILL; active nodes: %d\n",
           rpc_domain_active_nodes(NULL));
    return 0;
}

int main(int argc, char **argv)
{
    rpc_node *node;
    int rc;
    if (argc > 1 && strcmp(argv[1], "--crash-first") == 0 && crash_a_process() != 0)
        return 1;
    if (recover(NULL) != 0)
        return 1;

    if ((rc = rpc_node_create(NULL, "app", &node)) != 0) {
        fprintf(stderr, "rpc_node_create: %s (%s)\n", rpc_strerror(rc), rpc_errdetail());
        return 1;
    }
    printf("node %s started; active nodes: %d\n", rpc_node_name(node),
           rpc_domain_active_nodes(NULL));
    /* ... the application runs here ... */
    if (rpc_node_destroy(node) != 0)
        return 1;
    rc = rpc_domain_active_nodes(NULL);
    printf("node destroyed; segment %s\n", rc == RPC_ENOENT ? "removed" : "still in use");
    return 0;
}
