/* The CSV reader: any bytes give a data set of finite numbers with the
 * header's shape, or one clean error line. The first input byte picks the
 * label columns asked for (none, the first, the last, two, or one that may
 * not exist). */
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t n)
{
    static const char *const labels[] = {"", "a", "label", "a,b", "species"};
    const char *label = n ? labels[data[0] % 5] : "";
    const char *path = fuzz_path("data.csv");
    fuzz_write(path, n ? data + 1 : data, n ? n - 1 : 0);
    nnk_err err = {NNK_OK, ""};
    nnk_dataset *d = nnk_dataset_load_csv(path, label, "", &err);
    if (!d) {
        fuzz_check_error(&err, err.status);
        return 0;
    }
    if (d->rows < 1 || d->x_cols < 1 || d->x_shape.ndim != 1 || d->x_shape.dim[0] != d->x_cols || !d->x_f32)
        abort();
    fuzz_check_finite_and_free(d);
    return 0;
}
