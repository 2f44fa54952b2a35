// System calls Swift cannot reach directly (glibc's syscall() is variadic).
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <sys/syscall.h>
#include <unistd.h>

// RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS of <linux/openat2.h>, spelled out so older headers build too.
#define KBUILD_RESOLVE_NO_SYMLINKS 0x04
#define KBUILD_RESOLVE_BENEATH 0x08

/// openat2(2) with `resolve`; -1 with errno ENOSYS where the kernel or libc headers lack it.
static inline int kbuild_openat2(int dirfd, const char *path, uint64_t flags, uint64_t mode, uint64_t resolve) {
#ifdef SYS_openat2
    struct { uint64_t flags, mode, resolve; } how = { flags, mode, resolve };
    return (int)syscall(SYS_openat2, dirfd, path, &how, sizeof how);
#else
    errno = ENOSYS;
    return -1;
#endif
}
