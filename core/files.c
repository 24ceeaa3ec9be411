/* Files: whole-file reads, atomic whole-file writes, and mkdir -p, for
 * the core, the runner and libnnkit-tensorboard alike. */
#include "internal.h"
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Where writing to path lands: path itself, or, when it is a symbolic link
 * (a chain of them), the file the link names, so an atomic write replaces
 * the target and leaves the link alone, as cp and editors do. */
static int link_target(const char *path, char *out, size_t n)
{
    if (snprintf(out, n, "%s", path) >= (int)n)
        return -1;
    for (int hops = 0; hops < 40; hops++) {
        struct stat st;
        if (lstat(out, &st) || !S_ISLNK(st.st_mode))
            return 0;
        char target[PATH_MAX];
        ssize_t len = readlink(out, target, sizeof target - 1);
        if (len < 0)
            return -1;
        target[len] = 0;
        if (target[0] == '/') {
            if (snprintf(out, n, "%s", target) >= (int)n)
                return -1;
        } else { /* relative to the link's own directory */
            char *slash = strrchr(out, '/');
            size_t keep = slash ? (size_t)(slash - out) + 1 : 0;
            if (keep + (size_t)len + 1 > n)
                return -1;
            memcpy(out + keep, target, (size_t)len + 1);
        }
    }
    errno = ELOOP;
    return -1;
}

int nnk_write_file_atomic(const char *path, const void *data, size_t n,
                          nnk_err *err)
{
    char tmp[4096], real[4096];
    if (link_target(path, real, sizeof real))
        return nnk_err_set(err, NNK_EIO, "file '%s': cannot follow the link: %s", path, strerror(errno));
    const char *shown = path;
    path = real;
    if (snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid()) >= (int)sizeof tmp)
        return nnk_err_set(err, NNK_EIO, "file '%s': path too long", shown);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        return nnk_err_set(err, NNK_EIO, "file '%s': cannot create: %s", shown, strerror(errno));
    const char *p = data;
    size_t left = n;
    while (left > 0) {
        ssize_t w = write(fd, p, left);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            int e = errno;
            close(fd);
            unlink(tmp);
            return nnk_err_set(err, NNK_EIO, "file '%s': write failed: %s", shown,
                               w < 0 ? strerror(e) : "no space");
        }
        p += w;
        left -= (size_t)w;
    }
    if (fsync(fd) || close(fd)) {
        int e = errno;
        unlink(tmp);
        return nnk_err_set(err, NNK_EIO, "file '%s': fsync failed: %s", shown, strerror(e));
    }
    if (rename(tmp, path)) {
        int e = errno;
        unlink(tmp);
        return nnk_err_set(err, NNK_EIO, "file '%s': rename failed: %s", shown, strerror(e));
    }
    /* make the rename itself durable */
    char dir[4096];
    snprintf(dir, sizeof dir, "%s", path);
    int dfd = open(dirname(dir), O_RDONLY | O_DIRECTORY);
    if (dfd >= 0) {
        fsync(dfd);
        close(dfd);
    }
    return NNK_OK;
}

FILE *nnk_open_input(const char *path, const char *what, nnk_err *err)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        nnk_err_set(err, NNK_EIO, "%s '%s': cannot open: %s", what, path, strerror(errno));
        return NULL;
    }
    struct stat st;
    if (fstat(fileno(f), &st) == 0 && S_ISDIR(st.st_mode)) {
        fclose(f);
        nnk_err_set(err, NNK_EIO, "%s '%s': is a directory, not a file", what, path);
        return NULL;
    }
    return f;
}

unsigned char *nnk_read_file(const char *path, const char *what, size_t *n, nnk_err *err)
{
    FILE *f = nnk_open_input(path, what, err);
    if (!f)
        return NULL;
    size_t cap = 1 << 16, len = 0;
    unsigned char *buf = malloc(cap);
    while (buf) {
        len += fread(buf + len, 1, cap - len, f);
        if (len < cap)
            break;
        unsigned char *b = realloc(buf, cap * 2);
        if (!b) {
            free(buf);
            buf = NULL;
            break;
        }
        buf = b;
        cap *= 2;
    }
    int bad = ferror(f);
    fclose(f);
    if (!buf || bad) {
        free(buf);
        nnk_err_set(err, NNK_EIO, "%s '%s': %s", what, path, buf ? "read error" : "out of memory");
        return NULL;
    }
    *n = len;
    return buf;
}

int nnk_mkdir_p(const char *dir, const char *what, nnk_err *err)
{
    char buf[PATH_MAX];
    if (snprintf(buf, sizeof buf, "%s", dir) >= (int)sizeof buf)
        return nnk_err_set(err, NNK_EIO, "%s '%s': path too long", what, dir);
    for (char *p = buf + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = 0;
        if (mkdir(buf, 0755) && errno != EEXIST)
            return nnk_err_set(err, NNK_EIO, "%s '%s': cannot create '%s': %s", what, dir, buf, strerror(errno));
        *p = '/';
    }
    if (mkdir(buf, 0755) && errno != EEXIST)
        return nnk_err_set(err, NNK_EIO, "%s '%s': cannot create: %s", what, dir, strerror(errno));
    struct stat st;
    if (stat(buf, &st) || !S_ISDIR(st.st_mode))
        return nnk_err_set(err, NNK_EIO, "%s '%s': not a directory", what, dir);
    return NNK_OK;
}
