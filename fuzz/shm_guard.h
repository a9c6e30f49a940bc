/*
 * shm_guard.h - poison the bytes past the end of the fuzzed segment in the
 * library's own mappings of it (see shm_guard.c).
 */
#ifndef LIBRPC_FUZZ_SHM_GUARD_H
#define LIBRPC_FUZZ_SHM_GUARD_H

/* Guard every later shared mapping of the file fd refers to (by device and
 * inode, so the library's own descriptors match).  fd < 0 disarms. */
void fz_guard_set_file(int fd);

#endif
