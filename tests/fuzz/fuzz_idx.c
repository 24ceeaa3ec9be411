/* The IDX reader: images and labels files, plain or gzip. The input is
 * split in two at the length its first two bytes give; with FUZZ_GZIP the
 * parts are gzipped first, so any content reaches the decompressing path.
 * Any bytes give a data set of finite values with as many labels as
 * samples, or one clean error line, and memory is never taken for more
 * than the files hold (the fuzzer's -rss_limit_mb and -malloc_limit_mb
 * catch that). */
#include "fuzz_common.h"
#include <zlib.h>

static void write_part(const char *path, const uint8_t *data, size_t n)
{
#ifdef FUZZ_GZIP
    gzFile g = gzopen(path, "wb");
    if (!g || (n && gzwrite(g, data, (unsigned)n) != (int)n) || gzclose(g) != Z_OK)
        abort();
#else
    fuzz_write(path, data, n);
#endif
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t n)
{
    if (n < 2)
        return 0;
    size_t split = (size_t)(data[0] | data[1] << 8);
    data += 2;
    n -= 2;
    if (split > n)
        split = n;
    const char *images = fuzz_path("images.idx"), *labels = fuzz_path("labels.idx");
    write_part(images, data, split);
    write_part(labels, data + split, n - split);
    nnk_err err = {NNK_OK, ""};
    nnk_dataset *d = nnk_dataset_load_idx(images, split == n ? NULL : labels, &err);
    if (!d) {
        fuzz_check_error(&err, err.status);
        return 0;
    }
    if (d->rows < 0 || d->x_cols < 0 || (!d->x_u8 == !d->x_f32))
        abort();
    fuzz_check_finite_and_free(d);
    return 0;
}
