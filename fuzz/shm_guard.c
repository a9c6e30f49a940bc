/*
 * shm_guard.c - make reads past the end of the fuzzed segment visible.
 *
 * The library maps the whole segment file.  A mapping is page-granular, so
 * a read a few bytes past the file's end usually lands in the zero-filled
 * rest of the last page and goes unnoticed.  Linked with
 * -Wl,--wrap=mmap,--wrap=munmap, this file intercepts the library's shared
 * file mappings of the segment the harness names (fz_guard_set_file) and
 * places each one so that the bytes after the file's end, to the end of
 * its page, are poisoned for AddressSanitizer and the page after that is
 * PROT_NONE.  Any access past the segment's end then is a crash report.
 */
#define _GNU_SOURCE
#include "shm_guard.h"

#include <sanitizer/asan_interface.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

void *__real_mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off);
int __real_munmap(void *addr, size_t len);
void *__wrap_mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off);
int __wrap_munmap(void *addr, size_t len);

#define MAX_GUARDED 16

struct guarded {
    unsigned char *base;
    size_t len;        /* bytes of the file mapped */
    size_t total;      /* the whole reservation, guard page included */
};

static struct guarded g_maps[MAX_GUARDED];
static dev_t g_dev;
static ino_t g_ino;
static int g_armed;

void fz_guard_set_file(int fd)
{
    struct stat st;
    g_armed = fd >= 0 && fstat(fd, &st) == 0;
    if (g_armed) {
        g_dev = st.st_dev;
        g_ino = st.st_ino;
    }
}

static int is_segment(int fd)
{
    struct stat st;
    return g_armed && fd >= 0 && fstat(fd, &st) == 0 && st.st_dev == g_dev &&
           st.st_ino == g_ino;
}

static size_t page_size(void)
{
    static size_t ps;
    if (ps == 0)
        ps = (size_t)sysconf(_SC_PAGESIZE);
    return ps;
}

void *__wrap_mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
    size_t ps = page_size(), span, i;
    unsigned char *res, *p;
    if (addr != NULL || off != 0 || len == 0 || !(flags & MAP_SHARED) || !is_segment(fd))
        return __real_mmap(addr, len, prot, flags, fd, off);
    for (i = 0; i < MAX_GUARDED && g_maps[i].base != NULL; i++)
        ;
    if (i == MAX_GUARDED)
        return __real_mmap(addr, len, prot, flags, fd, off);
    span = (len + ps - 1) / ps * ps;
    res = __real_mmap(NULL, span + ps, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (res == MAP_FAILED)
        return MAP_FAILED;
    p = __real_mmap(res, len, prot, flags | MAP_FIXED, fd, 0);
    if (p == MAP_FAILED) {
        __real_munmap(res, span + ps);
        return MAP_FAILED;
    }
    if (span > len)
        ASAN_POISON_MEMORY_REGION(p + len, span - len);
    g_maps[i].base = p;
    g_maps[i].len = len;
    g_maps[i].total = span + ps;
    return p;
}

int __wrap_munmap(void *addr, size_t len)
{
    size_t i;
    for (i = 0; i < MAX_GUARDED; i++) {
        struct guarded *g = &g_maps[i];
        if (g->base == NULL || g->base != addr)
            continue;
        if (len != g->len)
            break;   /* not how the library unmaps: let the kernel judge */
        ASAN_UNPOISON_MEMORY_REGION(g->base + g->len, g->total - page_size() - g->len);
        addr = g->base;
        len = g->total;
        g->base = NULL;
        return __real_munmap(addr, len);
    }
    return __real_munmap(addr, len);
}
