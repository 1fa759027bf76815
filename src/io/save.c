/*
 * save.c - the one way libmlp writes a file (docs/format.md, "Saving"):
 * follow symbolic links to the file they name, refuse to replace anything
 * but a regular file, write `target`.tmp, sync it, rename it over the
 * target and sync the directory, so that after MLP_OK the new bytes are
 * on disk and at no moment is the old file half replaced. POSIX systems
 * get all of it; elsewhere the C library's fopen/fwrite/rename without
 * the checks and syncs.
 */
#if defined(__unix__) || defined(__unix) || (defined(__APPLE__) && defined(__MACH__))
#define _POSIX_C_SOURCE 200809L
#define MLP__POSIX_FILES 1
#endif

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "io/file.h"

#ifdef MLP__POSIX_FILES
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

/* symbolic links followed before giving up (as the kernel's ELOOP) */
#define MAX_LINKS 40

static const char *kind_of(mode_t m)
{
    if (S_ISDIR(m))
        return "a directory";
    if (S_ISCHR(m))
        return "a character device";
    if (S_ISBLK(m))
        return "a block device";
    if (S_ISFIFO(m))
        return "a FIFO";
#ifdef S_ISSOCK
    if (S_ISSOCK(m))
        return "a socket";
#endif
    return "not a regular file";
}

/* A copy of `dir`'s part of `from` (up to its last '/') joined with rel. */
static char *join_dir(mlp_ctx *ctx, const char *fn, const char *from, const char *rel)
{
    const char *slash = strrchr(from, '/');
    size_t d = slash ? (size_t)(slash - from) + 1 : 0, r = strlen(rel);
    char *p = (char *)mlp__alloc(ctx, fn, d + r + 1);
    if (p) {
        memcpy(p, from, d);
        memcpy(p + d, rel, r + 1);
    }
    return p;
}

/* The file `path` names after following symbolic links (a new string),
 * and whether it exists (*st filled). A dangling link gives its target. */
static mlp_status resolve(mlp_ctx *ctx, const char *fn, const char *path, char **out,
                          struct stat *st, int *exists)
{
    char *cur = join_dir(ctx, fn, "", path), *link;
    int hops;
    *out = NULL;
    if (!cur)
        return ctx->err.code;
    for (hops = 0;; hops++) {
        ssize_t n;
        if (lstat(cur, st) != 0) { /* a new file (what else is wrong, creating it says) */
            *exists = 0;
            *out = cur;
            return MLP_OK;
        }
        if (!S_ISLNK(st->st_mode))
            break;
        if (hops == MAX_LINKS) {
            mlp__fail(ctx, MLP_ERR_IO, "%s: '%s': too many levels of symbolic links", fn, path);
            mlp__free(ctx, cur);
            return MLP_ERR_IO;
        }
        link = (char *)mlp__alloc(ctx, fn, (size_t)st->st_size + 2);
        n = link ? readlink(cur, link, (size_t)st->st_size + 1) : -1;
        if (n < 0 || n > (ssize_t)st->st_size) { /* gone or grown since lstat */
            if (link)
                mlp__fail(ctx, MLP_ERR_IO, "%s: cannot read the link '%s'", fn, cur);
            mlp__free(ctx, link);
            mlp__free(ctx, cur);
            return ctx->err.code;
        }
        link[n] = '\0';
        {
            char *next =
                link[0] == '/' ? join_dir(ctx, fn, "", link) : join_dir(ctx, fn, cur, link);
            mlp__free(ctx, link);
            mlp__free(ctx, cur);
            if (!(cur = next))
                return ctx->err.code;
        }
    }
    *exists = 1;
    *out = cur;
    return MLP_OK;
}

/* Write all of buf to fd, through short writes and signals. */
static int write_all(int fd, const unsigned char *buf, size_t size)
{
    while (size > 0) {
        ssize_t n = write(fd, buf, size);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        buf += n;
        size -= (size_t)n;
    }
    return 0;
}

/* A new string: the directory holding `file` ("." for a bare name). */
static char *dir_of(mlp_ctx *ctx, const char *fn, const char *file)
{
    const char *slash = strrchr(file, '/');
    char *dir;
    if (!slash)
        return join_dir(ctx, fn, "", ".");
    if (slash == file)
        return join_dir(ctx, fn, "", "/");
    if ((dir = join_dir(ctx, fn, "", file)) != NULL)
        dir[slash - file] = '\0';
    return dir;
}

/* Sync directory `dir`, so the new name in it survives a power cut.
 * Filesystems that cannot sync a directory (EINVAL) are let be. */
static mlp_status sync_dir(mlp_ctx *ctx, const char *fn, const char *dir, const char *file)
{
    int fd = open(dir, O_RDONLY), e;
    if (fd >= 0 && (fsync(fd) == 0 || errno == EINVAL)) {
        close(fd);
        return MLP_OK;
    }
    e = errno;
    if (fd >= 0)
        close(fd);
    return mlp__fail(ctx, MLP_ERR_IO,
                     "%s: '%s' was written but its directory '%s' could not be synced: %s", fn,
                     file, dir, strerror(e));
}

/* tmp must not exist when it is created: a stale regular file from a crash
 * is removed, anything else refused (a FIFO there would block the open). */
static int clear_tmp(mlp_ctx *ctx, const char *fn, const char *tmp)
{
    struct stat st;
    if (lstat(tmp, &st) != 0)
        return 0;
    if (!S_ISREG(st.st_mode)) {
        mlp__fail(ctx, MLP_ERR_IO, "%s: cannot create '%s': it exists and is %s", fn, tmp,
                  S_ISLNK(st.st_mode) ? "a symbolic link" : kind_of(st.st_mode));
        return -1;
    }
    if (unlink(tmp) != 0) {
        mlp__fail(ctx, MLP_ERR_IO, "%s: cannot remove the stale '%s': %s", fn, tmp,
                  strerror(errno));
        return -1;
    }
    return 0;
}

/* Write, sync and rename tmp over target; on failure tmp is removed. */
static mlp_status write_tmp(mlp_ctx *ctx, const char *fn, const char *tmp, const char *target,
                            const char *dir, const void *buf, size_t size, const struct stat *old)
{
    const char *what;
    int fd, e;
    if (clear_tmp(ctx, fn, tmp) != 0)
        return MLP_ERR_IO;
    fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL, 0666);
    if (fd < 0) {
        e = errno;
        return mlp__fail(ctx, MLP_ERR_IO, "%s: cannot create '%s': %s", fn, tmp, strerror(e));
    }
    /* the new file keeps the permissions of the one it replaces */
    if (old && fchmod(fd, old->st_mode & 07777) != 0)
        what = "set the permissions of";
    else if (write_all(fd, (const unsigned char *)buf, size) != 0)
        what = "write";
    else if (fsync(fd) != 0)
        what = "sync";
    else
        what = NULL;
    if (what) {
        e = errno;
        close(fd);
        unlink(tmp);
        return mlp__fail(ctx, MLP_ERR_IO, "%s: cannot %s '%s': %s", fn, what, tmp, strerror(e));
    }
    if (close(fd) != 0 || rename(tmp, target) != 0) {
        e = errno;
        unlink(tmp);
        return mlp__fail(ctx, MLP_ERR_IO, "%s: cannot close and rename '%s' to '%s': %s", fn, tmp,
                         target, strerror(e));
    }
    return sync_dir(ctx, fn, dir, target);
}

mlp_status mlp__write_file_atomic(mlp_ctx *ctx, const char *fn, const char *path, const void *buf,
                                  size_t size)
{
    struct stat st;
    char *target, *tmp, *dir;
    size_t tlen;
    int exists = 0;
    mlp_status s;
    if (!path)
        return mlp__fail(ctx, MLP_ERR_NULL, "%s: path is NULL", fn);
    if (path[0] == '\0')
        return mlp__fail(ctx, MLP_ERR_ARG, "%s: path is empty", fn);
    if ((s = resolve(ctx, fn, path, &target, &st, &exists)) != MLP_OK)
        return s;
    if (exists && !S_ISREG(st.st_mode)) {
        if (strcmp(target, path) == 0)
            s = mlp__fail(ctx, MLP_ERR_IO, "%s: '%s' is %s, not a regular file: not replaced", fn,
                          path, kind_of(st.st_mode));
        else
            s = mlp__fail(ctx, MLP_ERR_IO,
                          "%s: '%s' links to '%s', which is %s, not a regular file: not replaced",
                          fn, path, target, kind_of(st.st_mode));
        mlp__free(ctx, target);
        return s;
    }
    tlen = strlen(target);
    /* everything allocated before the first byte is written */
    tmp = (char *)mlp__alloc(ctx, fn, tlen + 5);
    dir = tmp ? dir_of(ctx, fn, target) : NULL;
    if (dir) {
        memcpy(tmp, target, tlen);
        memcpy(tmp + tlen, ".tmp", 5);
        s = write_tmp(ctx, fn, tmp, target, dir, buf, size, exists ? &st : NULL);
    } else {
        s = ctx->err.code;
    }
    mlp__free(ctx, dir);
    mlp__free(ctx, tmp);
    mlp__free(ctx, target);
    return s;
}

#else /* no POSIX: the C library's write, flush, close and rename only */

mlp_status mlp__write_file_atomic(mlp_ctx *ctx, const char *fn, const char *path, const void *buf,
                                  size_t size)
{
    char *tmp;
    size_t plen;
    FILE *f;
    int ok;
    if (!path)
        return mlp__fail(ctx, MLP_ERR_NULL, "%s: path is NULL", fn);
    if ((plen = strlen(path)) == 0)
        return mlp__fail(ctx, MLP_ERR_ARG, "%s: path is empty", fn);
    if (!(tmp = (char *)mlp__alloc(ctx, fn, plen + 5)))
        return ctx->err.code;
    memcpy(tmp, path, plen);
    memcpy(tmp + plen, ".tmp", 5);
    f = fopen(tmp, "wb");
    ok = f && (!size || fwrite(buf, 1, size, f) == size) && fflush(f) == 0;
    ok = (f && fclose(f) == 0) && ok;
    ok = ok && rename(tmp, path) == 0;
    if (!ok) {
        remove(tmp);
        mlp__fail(ctx, MLP_ERR_IO, "%s: cannot write '%s' through '%s': %s", fn, path, tmp,
                  strerror(errno));
    }
    mlp__free(ctx, tmp);
    return ok ? MLP_OK : MLP_ERR_IO;
}

#endif
