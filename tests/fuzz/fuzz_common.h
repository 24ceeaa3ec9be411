/* Shared by the libFuzzer harnesses: the input goes to a file (the readers
 * under test take paths), and what every failure must look like. */
#ifndef NNKIT_FUZZ_COMMON_H
#define NNKIT_FUZZ_COMMON_H
#include <nnkit/data.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* A path for this process's scratch file `name` (in /dev/shm when it is
 * there, so the fuzzer does not wear a disk). */
static inline const char *fuzz_path(const char *name)
{
    static char path[4][256];
    static int next;
    char *p = path[next++ % 4];
    const char *dir = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
    snprintf(p, sizeof path[0], "%s/nnkit-fuzz-%ld-%s", dir, (long)getpid(), name);
    return p;
}

static inline void fuzz_write(const char *path, const uint8_t *data, size_t n)
{
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(data, 1, n, f) != n || fclose(f))
        abort();
}

/* A refusal must be one non-empty printable line with a known status. */
static inline void fuzz_check_error(const nnk_err *err, int rc)
{
    if (rc <= NNK_OK || rc >= NNK_STATUS_COUNT || (int)err->status != rc || !err->msg[0])
        abort();
    for (const unsigned char *p = (const unsigned char *)err->msg; *p; p++)
        if (*p < 0x20 || *p == 0x7f)
            abort();
}

/* A loaded data set holds finite numbers, except the feature cells it
 * counts as missing (NaN, with missing_at naming the first), and is freed. */
static inline void fuzz_check_finite_and_free(nnk_dataset *d)
{
    int64_t nan_cells = 0;
    for (int64_t i = 0; d->x_f32 && i < d->rows * d->x_cols; i++) {
        if (d->x_f32[i] != d->x_f32[i])
            nan_cells++;
        else if (!(d->x_f32[i] - d->x_f32[i] == 0))
            abort();
    }
    if (nan_cells != d->n_missing || (nan_cells > 0 && (!d->missing_at || !d->missing_at[0])))
        abort();
    for (int64_t i = 0; i < d->rows * d->y_cols; i++)
        if (!(d->y[i] - d->y[i] == 0))
            abort();
    nnk_dataset_free(d);
}

/* The registry of this build's plugins, loaded once. */
static inline nnk_registry *fuzz_registry(void)
{
    static nnk_registry *reg;
    if (!reg) {
        nnk_err e = {NNK_OK, ""};
        reg = nnk_registry_new();
        if (!reg || nnk_registry_load_default(reg, NULL, &e))
            abort();
    }
    return reg;
}
#endif
