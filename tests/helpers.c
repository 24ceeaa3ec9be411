#include "helpers.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

nnk_registry *test_registry(void)
{
    nnk_registry *reg = nnk_registry_new();
    nnk_err err = {0, ""};
    if (nnk_registry_load_dir(reg, TEST_PLUGIN_DIR, &err)) {
        fprintf(stderr, "cannot load plugins: %s\n", err.msg);
        abort();
    }
    return reg;
}

int test_run_suite(Suite *s)
{
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

double rel_diff(double a, double b)
{
    double m = fmax(1.0, fmax(fabs(a), fabs(b)));
    return fabs(a - b) / m;
}

const char *test_tmpdir(void)
{
    static char dir[256];
    if (!dir[0]) {
        snprintf(dir, sizeof dir, "/tmp/nnkit-test-XXXXXX");
        if (!mkdtemp(dir))
            abort();
    }
    return dir;
}

nnk_dataset *test_dataset(const float *x, int64_t rows, int64_t cols, const float *y,
                          int64_t y_cols)
{
    nnk_dataset *d = calloc(1, sizeof *d);
    d->rows = rows;
    d->x_cols = cols;
    d->x_shape.ndim = 1;
    d->x_shape.dim[0] = cols;
    d->x_f32 = malloc((size_t)(rows * cols) * sizeof(float));
    memcpy(d->x_f32, x, (size_t)(rows * cols) * sizeof(float));
    if (y) {
        d->y_cols = y_cols;
        d->y = malloc((size_t)(rows * y_cols) * sizeof(float));
        memcpy(d->y, y, (size_t)(rows * y_cols) * sizeof(float));
    }
    d->source = strdup("test");
    return d;
}

FILE *test_open_reference(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        fprintf(stderr, "cannot open %s\n", path);
        return NULL;
    }
    int c;
    while ((c = fgetc(f)) == '#') /* the header lines */
        while ((c = fgetc(f)) != '\n' && c != EOF)
            ;
    ungetc(c, f);
    return f;
}

int test_read_doubles(FILE *f, double *v, int64_t n)
{
    for (int64_t i = 0; i < n; i++)
        if (fscanf(f, "%lf", &v[i]) != 1)
            return -1;
    return 0;
}
