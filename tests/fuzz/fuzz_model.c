/* The model-file loader: any bytes load to a model or give one clean error
 * line. A model that loads saves, and the saved file loads back and saves
 * to the very same bytes. The first input byte picks what the rest is: a
 * whole file (0), or a payload that the harness seals in a valid envelope
 * (1), so mutations reach the protobuf decoding and the model checks
 * behind the envelope's CRC. */
#include "fuzz_common.h"
#include <zlib.h>

static void put_le(unsigned char *p, uint64_t v, int n)
{
    for (int i = 0; i < n; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

static unsigned char *slurp(const char *path, size_t *n)
{
    nnk_err err = {NNK_OK, ""};
    unsigned char *b = nnk_read_file(path, "model", n, &err);
    if (!b)
        abort();
    return b;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t n)
{
    nnk_registry *reg = fuzz_registry();
    const char *path = fuzz_path("model.nnk"), *again = fuzz_path("again.nnk"), *third = fuzz_path("third.nnk");
    if (!n)
        return 0;
    if (data[0] & 1) { /* "NNKM", format version 1, length, CRC-32, payload */
        unsigned char *sealed = malloc(n - 1 + 20);
        memcpy(sealed, "NNKM", 4);
        put_le(sealed + 4, 1, 4);
        put_le(sealed + 8, n - 1, 8);
        put_le(sealed + 16, crc32(0, data + 1, (uInt)(n - 1)), 4);
        memcpy(sealed + 20, data + 1, n - 1);
        fuzz_write(path, sealed, n - 1 + 20);
        free(sealed);
    } else {
        fuzz_write(path, data + 1, n - 1);
    }
    nnk_err err = {NNK_OK, ""};
    nnk_model *m = nnk_model_load(reg, path, &err);
    if (!m) {
        fuzz_check_error(&err, err.status);
        return 0;
    }
    /* it predicts (or refuses cleanly) on a few rows of zeros */
    nnk_shape shapes[16];
    int n_in = nnk_model_inputs(m, NULL, shapes, 16);
    int64_t cols = 0;
    for (int i = 0; i < n_in && i < 16; i++)
        cols += nnk_shape_elements(&shapes[i]);
    if (cols > 0 && cols < (1 << 20)) {
        float *zeros = calloc((size_t)cols * 3, sizeof(float));
        nnk_dataset d = {.rows = 3, .x_shape = {1, {cols}}, .x_cols = cols, .x_f32 = zeros, .source = (char *)"zeros"};
        int64_t out_cols = 0;
        float *p = nnk_model_predict(m, &d, 2, &out_cols, &err);
        if (!p)
            fuzz_check_error(&err, err.status);
        free(p);
        free(zeros);
    }
    if (nnk_model_save(m, again, &err))
        abort();
    nnk_model *m2 = nnk_model_load(reg, again, &err);
    if (!m2 || nnk_model_save(m2, third, &err))
        abort();
    size_t a, b;
    unsigned char *x = slurp(again, &a), *y = slurp(third, &b);
    if (a != b || memcmp(x, y, a))
        abort();
    free(x);
    free(y);
    nnk_model_free(m2);
    nnk_model_free(m);
    return 0;
}
