/* Event files: TFRecord framing, naming, buffering of whole records, and
 * the SIGINT/SIGTERM flush. */
#include "internal.h"
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define FLUSH_THRESHOLD (1u << 20)
#define MAX_WRITERS 64

struct nnk_tb_writer {
    int fd;
    char *path;
    char *dir;              /* realpath of the run directory */
    unsigned char *buf;     /* whole records not yet written */
    size_t cap;
    volatile size_t committed;
    uint64_t on_disk;       /* bytes of whole records in the file */
    unsigned char *scratch; /* packing space for one event */
    size_t scratch_cap;
    int failed;
    char failure[NNK_ERR_MAX];
};

/* Open writers, for the signal handler. Slots are only changed with the
 * signals blocked. */
static nnk_tb_writer *volatile open_writers[MAX_WRITERS];
static pthread_mutex_t writers_lock = PTHREAD_MUTEX_INITIALIZER;
static struct sigaction old_int, old_term;
static int handlers_installed;
static unsigned file_counter;


double tb_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void block_signals(sigset_t *old)
{
    sigset_t s;
    sigemptyset(&s);
    sigaddset(&s, SIGINT);
    sigaddset(&s, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &s, old);
}

static void restore_signals(const sigset_t *old) { pthread_sigmask(SIG_SETMASK, old, NULL); }

static int write_all(int fd, const unsigned char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return w < 0 ? errno : ENOSPC;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

/* Async-signal-safe: write(2) of whole records, then the default action. */
static void on_signal(int sig)
{
    int saved = errno;
    for (int i = 0; i < MAX_WRITERS; i++) {
        nnk_tb_writer *w = open_writers[i];
        if (w && !w->failed && w->committed)
            write_all(w->fd, w->buf, w->committed);
    }
    sigaction(sig, sig == SIGINT ? &old_int : &old_term, NULL);
    errno = saved;
    raise(sig);
}

static void install_handlers(void)
{
    if (handlers_installed)
        return;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaddset(&sa.sa_mask, SIGINT);
    sigaddset(&sa.sa_mask, SIGTERM);
    sigaction(SIGINT, &sa, &old_int);
    sigaction(SIGTERM, &sa, &old_term);
    handlers_installed = 1;
}



static int register_writer(nnk_tb_writer *w, nnk_err *err)
{
    int rc = NNK_OK, slot = -1;
    sigset_t old;
    pthread_mutex_lock(&writers_lock);
    block_signals(&old);
    for (int i = 0; i < MAX_WRITERS; i++) {
        nnk_tb_writer *o = open_writers[i];
        if (!o && slot < 0)
            slot = i;
        if (o && w->dir && o->dir && !strcmp(o->dir, w->dir))
            rc = tb_err(err, NNK_EUSAGE, "log directory '%s' already has an open writer ('%s')",
                        w->dir, o->path);
    }
    if (!rc && slot < 0)
        rc = tb_err(err, NNK_EUSAGE, "too many open event writers (at most %d)", MAX_WRITERS);
    if (!rc) {
        open_writers[slot] = w;
        install_handlers();
    }
    restore_signals(&old);
    pthread_mutex_unlock(&writers_lock);
    return rc;
}

static void unregister_writer(nnk_tb_writer *w)
{
    sigset_t old;
    pthread_mutex_lock(&writers_lock);
    block_signals(&old);
    for (int i = 0; i < MAX_WRITERS; i++)
        if (open_writers[i] == w)
            open_writers[i] = NULL;
    restore_signals(&old);
    pthread_mutex_unlock(&writers_lock);
}

static void writer_free(nnk_tb_writer *w)
{
    if (!w)
        return;
    if (w->fd >= 0)
        close(w->fd);
    free(w->path);
    free(w->dir);
    free(w->buf);
    free(w->scratch);
    free(w);
}

static nnk_tb_writer *open_path(const char *path, const char *dir, double wall_time, nnk_err *err)
{
    nnk_tb_writer *w = calloc(1, sizeof *w);
    if (!w) {
        tb_err(err, NNK_ENOMEM, "out of memory");
        return NULL;
    }
    w->fd = -1;
    w->path = strdup(path);
    char real[PATH_MAX];
    if (dir && realpath(dir, real))
        w->dir = strdup(real);
    if (!w->path) {
        writer_free(w);
        tb_err(err, NNK_ENOMEM, "out of memory");
        return NULL;
    }
    if (register_writer(w, err)) {
        writer_free(w);
        return NULL;
    }
    w->fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (w->fd < 0) {
        tb_err(err, NNK_EIO, "event file '%s': cannot create: %s", path, strerror(errno));
        unregister_writer(w);
        writer_free(w);
        return NULL;
    }
    Tensorboard__Event ev = TENSORBOARD__EVENT__INIT;
    ev.wall_time = wall_time < 0 ? tb_now() : wall_time;
    ev.what_case = TENSORBOARD__EVENT__WHAT_FILE_VERSION;
    ev.file_version = "brain.Event:2";
    if (tb_write_event(w, &ev, err) || nnk_tb_flush(w, err)) {
        unregister_writer(w);
        unlink(path);
        writer_free(w);
        return NULL;
    }
    return w;
}

/* The directory a file path lies in ("." for a bare name). */
static void parent_dir(const char *path, char *dir, size_t n)
{
    snprintf(dir, n, "%s", path);
    char *slash = strrchr(dir, '/');
    if (slash)
        *slash = 0;
    else
        snprintf(dir, n, ".");
}

nnk_tb_writer *nnk_tb_writer_open_file(const char *path, double wall_time, nnk_err *err)
{
    char dir[PATH_MAX];
    parent_dir(path, dir, sizeof dir);
    return open_path(path, dir, wall_time, err);
}

nnk_tb_writer *nnk_tb_writer_open(const char *dir, nnk_err *err)
{
    if (nnk_mkdir_p(dir, "log directory", err))
        return NULL;
    char host[256] = "localhost";
    gethostname(host, sizeof host - 1);
    for (char *p = host; *p; p++) /* keep the name one path component */
        if (*p == '/')
            *p = '_';
    double now = tb_now();
    for (int attempt = 0; attempt < 1000; attempt++) {
        char path[PATH_MAX];
        unsigned n = __atomic_fetch_add(&file_counter, 1, __ATOMIC_SEQ_CST);
        snprintf(path, sizeof path, "%s/events.out.tfevents.%010lld.%s.%ld.%u", dir,
                 (long long)now, host, (long)getpid(), n);
        if (access(path, F_OK) == 0)
            continue;
        return open_path(path, dir, now, err);
    }
    tb_err(err, NNK_EIO, "log directory '%s': cannot pick a free event file name", dir);
    return NULL;
}

nnk_tb_writer *nnk_tb_writer_resume(const char *path, uint64_t length, nnk_err *err)
{
    struct stat st;
    if (stat(path, &st))
        return tb_err(err, NNK_EIO, "event file '%s': cannot continue it: %s", path, strerror(errno)), NULL;
    if ((uint64_t)st.st_size < length || length < 16)
        return tb_err(err, NNK_EIO, "event file '%s': cannot continue it: it holds %lld bytes, %llu expected", path,
                      (long long)st.st_size, (unsigned long long)length), NULL;
    char dir[PATH_MAX];
    parent_dir(path, dir, sizeof dir);
    nnk_tb_writer *w = calloc(1, sizeof *w);
    char real[PATH_MAX];
    if (w) {
        w->fd = -1;
        w->path = strdup(path);
        w->dir = realpath(dir, real) ? strdup(real) : NULL;
    }
    if (!w || !w->path) {
        writer_free(w);
        return tb_err(err, NNK_ENOMEM, "out of memory"), NULL;
    }
    if (register_writer(w, err)) {
        writer_free(w);
        return NULL;
    }
    w->fd = open(path, O_WRONLY | O_CLOEXEC);
    /* records after `length` were written after the backup that named it:
     * the resumed run writes them again */
    if (w->fd < 0 || ftruncate(w->fd, (off_t)length) || lseek(w->fd, (off_t)length, SEEK_SET) < 0) {
        tb_err(err, NNK_EIO, "event file '%s': cannot continue it: %s", path, strerror(errno));
        unregister_writer(w);
        writer_free(w);
        return NULL;
    }
    w->on_disk = length;
    return w;
}

uint64_t nnk_tb_writer_size(const nnk_tb_writer *w) { return w->on_disk + w->committed; }

const char *nnk_tb_writer_path(const nnk_tb_writer *w) { return w->path; }

static int reserve(nnk_tb_writer *w, size_t extra, nnk_err *err)
{
    if (w->committed + extra <= w->cap)
        return NNK_OK;
    size_t cap = w->cap ? w->cap : 1 << 16;
    while (cap < w->committed + extra)
        cap *= 2;
    sigset_t old;
    block_signals(&old); /* the handler must never see a freed buffer */
    unsigned char *b = realloc(w->buf, cap);
    if (b) {
        w->buf = b;
        w->cap = cap;
    }
    restore_signals(&old);
    return b ? NNK_OK : tb_err(err, NNK_ENOMEM, "out of memory");
}

static void put_le(unsigned char *p, uint64_t v, int n)
{
    for (int i = 0; i < n; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

int tb_write_event(nnk_tb_writer *w, const Tensorboard__Event *ev, nnk_err *err)
{
    if (w->failed)
        return tb_err(err, NNK_EIO, "%s", w->failure);
    size_t n = tensorboard__event__get_packed_size(ev);
    if (n + 16 > w->scratch_cap) {
        unsigned char *s = realloc(w->scratch, n + 16);
        if (!s)
            return tb_err(err, NNK_ENOMEM, "out of memory");
        w->scratch = s;
        w->scratch_cap = n + 16;
    }
    unsigned char *r = w->scratch;
    put_le(r, n, 8);
    put_le(r + 8, nnk_crc32c_mask(nnk_crc32c(r, 8)), 4);
    tensorboard__event__pack(ev, r + 12);
    put_le(r + 12 + n, nnk_crc32c_mask(nnk_crc32c(r + 12, n)), 4);
    if (reserve(w, n + 16, err))
        return NNK_ENOMEM;
    memcpy(w->buf + w->committed, r, n + 16);
    __atomic_signal_fence(__ATOMIC_SEQ_CST); /* bytes first, then the length */
    w->committed += n + 16;
    if (w->committed >= FLUSH_THRESHOLD)
        return nnk_tb_flush(w, err);
    return NNK_OK;
}

int tb_write_value(nnk_tb_writer *w, Tensorboard__Summary__Value *v, int64_t step,
                   double wall_time, nnk_err *err)
{
    Tensorboard__Summary s = TENSORBOARD__SUMMARY__INIT;
    Tensorboard__Summary__Value *vs[1] = {v};
    s.n_value = 1;
    s.value = vs;
    Tensorboard__Event ev = TENSORBOARD__EVENT__INIT;
    ev.wall_time = wall_time < 0 ? tb_now() : wall_time;
    ev.step = step;
    ev.what_case = TENSORBOARD__EVENT__WHAT_SUMMARY;
    ev.summary = &s;
    return tb_write_event(w, &ev, err);
}

int tb_write_tensor(nnk_tb_writer *w, const char *tag, struct Tensorboard__TensorProto *tensor,
                    Tensorboard__SummaryMetadata *md, int64_t step, double wall_time, nnk_err *err)
{
    Tensorboard__Summary__Value v = TENSORBOARD__SUMMARY__VALUE__INIT;
    v.tag = (char *)tag;
    v.value_case = TENSORBOARD__SUMMARY__VALUE__VALUE_TENSOR;
    v.tensor = tensor;
    v.metadata = md;
    return tb_write_value(w, &v, step, wall_time, err);
}

int nnk_tb_flush(nnk_tb_writer *w, nnk_err *err)
{
    if (w->failed)
        return tb_err(err, NNK_EIO, "%s", w->failure);
    if (!w->committed)
        return NNK_OK;
    sigset_t old;
    block_signals(&old);
    int e = write_all(w->fd, w->buf, w->committed);
    if (e) {
        /* cut any torn record so the file ends on a whole one */
        if (ftruncate(w->fd, (off_t)w->on_disk) == 0)
            lseek(w->fd, (off_t)w->on_disk, SEEK_SET);
        w->failed = 1;
        snprintf(w->failure, sizeof w->failure, "event file '%s': write failed: %s", w->path,
                 strerror(e));
    } else {
        w->on_disk += w->committed;
        w->committed = 0;
    }
    restore_signals(&old);
    return e ? tb_err(err, NNK_EIO, "%s", w->failure) : NNK_OK;
}

int nnk_tb_close(nnk_tb_writer *w, nnk_err *err)
{
    if (!w)
        return NNK_OK;
    int rc = nnk_tb_flush(w, err);
    unregister_writer(w);
    if (w->fd >= 0 && close(w->fd) && !rc)
        rc = tb_err(err, NNK_EIO, "event file '%s': close failed: %s", w->path, strerror(errno));
    w->fd = -1;
    writer_free(w);
    return rc;
}
