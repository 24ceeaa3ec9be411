/* Data readers: IDX in every element type, gzip or plain; CSV; and every
 * kind of bad file with its exact message. */
#include <math.h>
#include "helpers.h"
#include <nnkit/data.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

static char path_buf[8][512];

static const char *tmp(int slot, const char *name)
{
    snprintf(path_buf[slot], sizeof path_buf[slot], "%s/%s", test_tmpdir(), name);
    return path_buf[slot];
}

static void write_file(const char *path, const void *data, size_t n, int gz)
{
    if (gz) {
        gzFile f = gzopen(path, "wb");
        gzwrite(f, data, (unsigned)n);
        gzclose(f);
    } else {
        FILE *f = fopen(path, "wb");
        fwrite(data, 1, n, f);
        fclose(f);
    }
}

/* An IDX file of 2 samples x 3 values of the given type, big-endian. */
static size_t make_idx(unsigned char *buf, int type, int size)
{
    unsigned char h[] = {0, 0, (unsigned char)type, 2, 0, 0, 0, 2, 0, 0, 0, 3};
    memcpy(buf, h, sizeof h);
    size_t o = sizeof h;
    for (int i = 0; i < 6; i++) {
        unsigned char v[8] = {0};
        double val = i - 2; /* -2 .. 3 */
        if (type == 0x08) { v[0] = (unsigned char)(i * 40); }
        else if (type == 0x09) { v[0] = (unsigned char)(signed char)(i - 2); }
        else if (type == 0x0B) { int16_t x = (int16_t)((i - 2) * 1000); v[0] = (unsigned char)(x >> 8); v[1] = (unsigned char)x; }
        else if (type == 0x0C) { int32_t x = (i - 2) * 100000; for (int b = 0; b < 4; b++) v[b] = (unsigned char)(x >> (24 - 8 * b)); }
        else if (type == 0x0D) { float f = (float)val * 0.5f; uint32_t x; memcpy(&x, &f, 4); for (int b = 0; b < 4; b++) v[b] = (unsigned char)(x >> (24 - 8 * b)); }
        else { double d = val * 0.25; uint64_t x; memcpy(&x, &d, 8); for (int b = 0; b < 8; b++) v[b] = (unsigned char)(x >> (56 - 8 * b)); }
        memcpy(buf + o, v, (size_t)size);
        o += (size_t)size;
    }
    return o;
}

START_TEST(idx_every_type)
{
    const struct { int type, size; float want[6]; } cases[] = {
        {0x08, 1, {0, 40, 80, 120, 160, 200}},
        {0x09, 1, {-2, -1, 0, 1, 2, 3}},
        {0x0B, 2, {-2000, -1000, 0, 1000, 2000, 3000}},
        {0x0C, 4, {-200000, -100000, 0, 100000, 200000, 300000}},
        {0x0D, 4, {-1, -0.5f, 0, 0.5f, 1, 1.5f}},
        {0x0E, 8, {-0.5f, -0.25f, 0, 0.25f, 0.5f, 0.75f}},
    };
    unsigned char labels[] = {0, 0, 8, 1, 0, 0, 0, 2, 7, 3};
    write_file(tmp(1, "l.idx"), labels, sizeof labels, 0);
    for (int c = 0; c < 6; c++)
        for (int gz = 0; gz < 2; gz++) {
            unsigned char buf[128];
            size_t n = make_idx(buf, cases[c].type, cases[c].size);
            write_file(tmp(0, "x.idx"), buf, n, gz);
            nnk_err err = {0, ""};
            nnk_dataset *d = nnk_dataset_load_idx(path_buf[0], path_buf[1], &err);
            ck_assert_msg(d != NULL, "type %x: %s", cases[c].type, err.msg);
            ck_assert_int_eq(d->rows, 2);
            ck_assert_int_eq(d->x_cols, 3);
            ck_assert_int_eq(cases[c].type == 0x08, d->x_u8 != NULL);
            for (int i = 0; i < 6; i++) {
                float v = d->x_u8 ? d->x_u8[i] : d->x_f32[i];
                ck_assert_msg(v == cases[c].want[i], "type %x gz %d [%d]: %g", cases[c].type, gz, i, (double)v);
            }
            ck_assert(d->y[0] == 7 && d->y[1] == 3);
            nnk_dataset_free(d);
        }
}
END_TEST

static void expect_idx_error(const char *images, const char *want_fmt)
{
    nnk_err err = {0, ""};
    ck_assert_ptr_null(nnk_dataset_load_idx(images, NULL, &err));
    ck_assert_int_eq(err.status, NNK_EDATA);
    char want[1024];
    snprintf(want, sizeof want, want_fmt, images);
    ck_assert_str_eq(err.msg, want);
}

START_TEST(idx_bad_files)
{
    unsigned char buf[128];
    size_t n = make_idx(buf, 0x08, 1);
    write_file(tmp(0, "trunc.idx"), buf, n - 2, 0);
    expect_idx_error(path_buf[0], "data '%s': truncated file: it ends inside the data");
    write_file(tmp(0, "trunc.idx.gz"), buf, 6, 1);
    expect_idx_error(path_buf[0], "data '%s': truncated file: it ends inside the header");
    buf[2] = 0x07;
    write_file(tmp(0, "magic.idx"), buf, n, 0);
    expect_idx_error(path_buf[0], "data '%s': wrong IDX magic 00 00 07 02 (expected 00 00 <type> <ndim>)");
    /* a gzip stream with its body damaged */
    make_idx(buf, 0x08, 1);
    write_file(tmp(0, "bad.gz"), buf, n, 1);
    FILE *f = fopen(path_buf[0], "r+b");
    unsigned char gz[256];
    size_t gn = fread(gz, 1, sizeof gz, f);
    for (size_t i = 10; i < gn - 8; i++)
        gz[i] ^= 0x5a;
    fseek(f, 0, SEEK_SET);
    fwrite(gz, 1, gn, f);
    fclose(f);
    nnk_err err = {0, ""};
    ck_assert_ptr_null(nnk_dataset_load_idx(path_buf[0], NULL, &err));
    ck_assert_msg(strstr(err.msg, "corrupt gzip stream") != NULL, "%s", err.msg);
    expect_idx_error("/nonexistent.idx", "data '%s': cannot open: No such file or directory");
}
END_TEST

static nnk_dataset *csv(const char *text, const char *labels, const char *features, nnk_err *err)
{
    write_file(tmp(2, "d.csv"), text, strlen(text), 0);
    return nnk_dataset_load_csv(path_buf[2], labels, features, err);
}

START_TEST(csv_reads_columns)
{
    nnk_err err = {0, ""};
    nnk_dataset *d = csv("a,b,label,c\n1,2,0,3\n4.5, 5 ,1,-6e1\n\n", "label", NULL, &err);
    ck_assert_msg(d != NULL, "%s", err.msg);
    ck_assert_int_eq(d->rows, 2);
    ck_assert_int_eq(d->x_cols, 3);
    ck_assert(d->x_f32[3] == 4.5f && d->x_f32[4] == 5 && d->x_f32[5] == -60);
    ck_assert(d->y[0] == 0 && d->y[1] == 1);
    nnk_dataset_free(d);
    d = csv("a,b,label,c\n1,2,0,3\n", "label", "c, a", &err);
    ck_assert(d->x_cols == 2 && d->x_f32[0] == 3 && d->x_f32[1] == 1);
    nnk_dataset_free(d);
}
END_TEST

static void expect_csv_error(const char *text, const char *labels, const char *want_fmt)
{
    nnk_err err = {0, ""};
    ck_assert_ptr_null(csv(text, labels, NULL, &err));
    char want[1024];
    snprintf(want, sizeof want, want_fmt, path_buf[2]);
    ck_assert_str_eq(err.msg, want);
}

START_TEST(csv_bad_files)
{
    expect_csv_error("a,b,y\n1,2,0\n3,4\n", "y", "data '%s': line 3 has 2 fields, the header has 3");
    expect_csv_error("a,b,y\n1,inf,0\n", "y", "data '%s': line 2, column 'b': NaN or Inf ('inf')");
    expect_csv_error("a,b,y\n1,2,nan\n", "y", "data '%s': line 2, column 'y': NaN or Inf ('nan')");
    expect_csv_error("a,y\n1,0\n2,\n", "y", "data '%s': line 3, column 'y': the label is missing ('')");
    expect_csv_error("a,y\n1,cat\n2,NA\n", "y", "data '%s': line 3, column 'y': the label is missing ('NA')");
    expect_csv_error("a,b,y\n1,1e999,0\n", "y", "data '%s': line 2, column 'b': NaN or Inf ('1e999')");
    expect_csv_error("a,b,y\n1,2,0\n", "lable", "data '%s': no label column 'lable'");
    expect_csv_error("a,b,label\n1,2,0\n", "lable", "data '%s': no label column 'lable' (did you mean 'label'?)");
    expect_csv_error("", "y", "data '%s': empty file (a header row is needed)");
    expect_csv_error("a,b,y\n", "y", "data '%s': no data rows");
}
END_TEST

/* Missing feature cells are held as NaN and counted, with the first's place. */
START_TEST(csv_missing_cells)
{
    nnk_err err = {0, ""};
    nnk_dataset *d = csv("a,b,y\n1,,0\n2,NA,1\nnan,4,1\n", "y", NULL, &err);
    ck_assert_msg(d != NULL, "%s", err.msg);
    ck_assert_int_eq(d->n_missing, 3);
    ck_assert_str_eq(d->missing_at, "line 2, column 'b'");
    ck_assert(d->x_f32[1] != d->x_f32[1] && d->x_f32[3] != d->x_f32[3] && d->x_f32[4] != d->x_f32[4]);
    ck_assert(d->x_f32[0] == 1 && d->x_f32[5] == 4);
    nnk_dataset_free(d);
}
END_TEST

/* A string label column: its sorted distinct values are the classes, and
 * every row's label is its value's index among them. */
START_TEST(csv_string_labels)
{
    nnk_err err = {0, ""};
    nnk_dataset *d = csv("a,y\n1,pear\n2,apple\n3,fig\n4,pear\n5,apple\n", "y", NULL, &err);
    ck_assert_msg(d != NULL, "%s", err.msg);
    ck_assert_int_eq(d->n_classes, 3);
    ck_assert_str_eq(d->class_names[0], "apple");
    ck_assert_str_eq(d->class_names[1], "fig");
    ck_assert_str_eq(d->class_names[2], "pear");
    const float want[5] = {2, 0, 1, 2, 0};
    for (int r = 0; r < 5; r++)
        ck_assert_msg(d->y[r] == want[r], "row %d: class %g, want %g", r, (double)d->y[r], (double)want[r]);
    nnk_dataset_free(d);
}
END_TEST

/* A feature column turns to text at its first cell that is not a number:
 * its cells become indices of their texts in first-seen order, numbers
 * (those before the turn too) by their shortest float text; missing cells
 * stay NaN. Rows keep their lines. */
START_TEST(csv_text_columns)
{
    nnk_err err = {0, ""};
    nnk_dataset *d = csv("a,b,y\n1,2,0\n2,01.50,1\n\n3,,0\n4,x,1\n5,1.5,0\n6,2.0,1\n", "y", NULL, &err);
    ck_assert_msg(d != NULL, "%s", err.msg);
    ck_assert_int_eq(d->n_text, 1);
    ck_assert_int_eq(d->text[0].feature, 1);
    ck_assert_int_eq(d->text[0].n_values, 3);
    ck_assert_str_eq(d->text[0].values[0], "2");
    ck_assert_str_eq(d->text[0].values[1], "1.5");
    ck_assert_str_eq(d->text[0].values[2], "x");
    const float want[6] = {0, 1, NAN, 2, 1, 0};
    const int64_t lines[6] = {2, 3, 5, 6, 7, 8};
    for (int r = 0; r < 6; r++) {
        float v = d->x_f32[r * 2 + 1];
        ck_assert_msg(v == want[r] || (v != v && want[r] != want[r]), "row %d: %g, want %g", r, (double)v, (double)want[r]);
        ck_assert(d->x_f32[r * 2] == (float)(r + 1));
        ck_assert_int_eq(d->lines[r], lines[r]);
    }
    ck_assert_str_eq(d->feature_names[0], "a");
    ck_assert_str_eq(d->feature_names[1], "b");
    /* a split keeps its own copy of the texts and the lines; a shuffle moves lines with rows */
    nnk_dataset *t = NULL;
    ck_assert_int_eq(nnk_dataset_split(d, 0.5, &t, &err), 0);
    ck_assert(t->n_text == 1 && t->text[0].n_values == 3 && t->text[0].values != d->text[0].values);
    ck_assert_str_eq(t->text[0].values[2], "x");
    ck_assert(t->lines[0] == 6 && t->lines[2] == 8 && t->x_f32[1] == 2);
    ck_assert_str_eq(t->feature_names[1], "b");
    nnk_dataset_shuffle(t, 3);
    for (int r = 0; r < 3; r++)
        ck_assert(t->x_f32[r * 2] == (float)(t->lines[r] - 2));
    nnk_dataset_free(t);
    nnk_dataset_free(d);
}
END_TEST

/* String labels fitted on the training split: its classes only, sorted;
 * the other part is renumbered, and a class it alone has names its line. */
START_TEST(classes_fitted_on_training_split)
{
    nnk_err err = {0, ""};
    nnk_dataset *d = csv("a,y\n1,pear\n2,apple\n3,pear\n4,apple\n5,kiwi\n6,apple\n", "y", NULL, &err), *t = NULL;
    ck_assert_msg(d != NULL, "%s", err.msg);
    ck_assert_int_eq(d->n_classes, 3); /* apple, kiwi, pear */
    ck_assert_int_eq(nnk_dataset_split(d, 0.5, &t, &err), 0);
    nnk_dataset *others[1] = {t};
    ck_assert_int_eq(nnk_dataset_fit_classes(d, others, 1, &err), NNK_EDATA);
    char want[600];
    snprintf(want, sizeof want, "data '%s': line 6: label 'kiwi' does not occur in the training split", path_buf[2]);
    ck_assert_str_eq(err.msg, want);
    nnk_dataset_free(t);
    nnk_dataset_free(d);
    /* the training split alone (the rest set aside): fig and pear, renumbered */
    d = csv("a,y\n1,pear\n2,fig\n3,pear\n4,apple\n5,kiwi\n6,apple\n", "y", NULL, &err);
    ck_assert_int_eq(nnk_dataset_split(d, 0.5, &t, &err), 0);
    ck_assert_msg(nnk_dataset_fit_classes(d, NULL, 0, &err) == 0, "%s", err.msg);
    ck_assert_int_eq(d->n_classes, 2);
    ck_assert_str_eq(d->class_names[0], "fig");
    ck_assert_str_eq(d->class_names[1], "pear");
    ck_assert(d->y[0] == 1 && d->y[1] == 0 && d->y[2] == 1);
    nnk_dataset_free(t);
    nnk_dataset_free(d);
    /* every class of the rest in the training split: the same classes */
    d = csv("a,y\n1,pear\n2,fig\n3,apple\n4,apple\n5,pear\n6,apple\n", "y", NULL, &err);
    ck_assert_int_eq(nnk_dataset_split(d, 0.5, &t, &err), 0);
    others[0] = t;
    ck_assert_msg(nnk_dataset_fit_classes(d, others, 1, &err) == 0, "%s", err.msg);
    ck_assert(d->n_classes == 3 && t->n_classes == 3);
    ck_assert(d->y[0] == 2 && d->y[1] == 1 && d->y[2] == 0 && t->y[0] == 0 && t->y[1] == 2 && t->y[2] == 0);
    nnk_dataset_free(t);
    nnk_dataset_free(d);
    d = csv("a,y\n1,pear\n2,apple\n3,apple\n4,kiwi\n", "y", NULL, &err);
    ck_assert_int_eq(nnk_dataset_split(d, 0.5, &t, &err), 0);
    others[0] = t;
    ck_assert_int_eq(nnk_dataset_fit_classes(d, others, 1, &err), NNK_EDATA); /* kiwi */
    nnk_dataset_free(t);
    nnk_dataset_free(d);
}
END_TEST

/* Parts of a source, each read without the others, put back together in
 * order are the whole: Fashion-MNIST's test images (gzip IDX) in 3 parts
 * and a CSV file in 4; a text column cannot be split so. */
START_TEST(parts_make_the_whole)
{
    nnk_err err = {0, ""};
    nnk_dataset *whole = nnk_dataset_load("fashion-mnist:test", NULL, NULL, &err);
    ck_assert_msg(whole != NULL, "%s", err.msg);
    int64_t at = 0, total = 0;
    for (int p = 0; p < 3; p++) {
        nnk_dataset *d = nnk_dataset_load_part("fashion-mnist:test", NULL, NULL, p, 3, &total, &err);
        ck_assert_msg(d != NULL, "%s", err.msg);
        ck_assert_int_eq(total, 10000);
        ck_assert_int_eq(d->rows, p == 0 ? 3334 : 3333);
        ck_assert(!memcmp(d->x_u8, whole->x_u8 + at * 784, (size_t)(d->rows * 784)));
        ck_assert(!memcmp(d->y, whole->y + at, sizeof(float) * (size_t)d->rows));
        ck_assert_str_eq(d->class_names[9], "Ankle boot");
        at += d->rows;
        nnk_dataset_free(d);
    }
    ck_assert_int_eq(at, 10000);
    nnk_dataset_free(whole);
    const char *text = "a,b,y\n1,2,0\n3,4,1\n\n5,6,0\n7,8,1\n9,10,0\n11,12,1\n13,14,0\n";
    whole = csv(text, "y", NULL, &err);
    at = 0;
    for (int p = 0; p < 4; p++) {
        nnk_dataset *d = nnk_dataset_load_part(path_buf[2], "y", NULL, p, 4, &total, &err);
        ck_assert_msg(d != NULL, "%s", err.msg);
        ck_assert_int_eq(total, 7);
        ck_assert_int_eq(d->rows, p < 3 ? 2 : 1);
        ck_assert(!memcmp(d->x_f32, whole->x_f32 + at * 2, sizeof(float) * (size_t)(d->rows * 2)));
        ck_assert(d->lines[0] == whole->lines[at]); /* lines of the file, the blank one counted */
        at += d->rows;
        nnk_dataset_free(d);
    }
    nnk_dataset_free(whole);
    nnk_dataset_free(csv("a,y\n1,cat\n2,dog\n", "y", NULL, &err));
    ck_assert_ptr_null(nnk_dataset_load_part(path_buf[2], "y", NULL, 0, 2, NULL, &err));
    char want[1200];
    snprintf(want, sizeof want, "data '%s': column 'y' holds text; a shard of the data cannot fit its classes or categories "
             "(use numbers, or load the whole file)", path_buf[2]);
    ck_assert_str_eq(err.msg, want);
}
END_TEST

START_TEST(split_keeps_order)
{
    float x[10], y[10];
    for (int i = 0; i < 10; i++)
        x[i] = y[i] = (float)i;
    nnk_dataset *d = test_dataset(x, 10, 1, y, 1), *t = NULL;
    nnk_err err = {0, ""};
    ck_assert_int_eq(nnk_dataset_split(d, 0.3, &t, &err), 0);
    ck_assert(d->rows == 7 && t->rows == 3 && t->x_f32[0] == 7 && t->y[2] == 9);
    nnk_dataset_free(t);
    ck_assert_int_eq(nnk_dataset_split(d, 1.5, &t, &err), NNK_ECONFIG);
    nnk_dataset_free(d);
}
END_TEST

/* shuffle_split's shuffle: a permutation of whole rows (inputs with their
 * labels), the same for the same seed, another for another seed. */
static void shuffled_order(uint64_t seed, int64_t *order)
{
    float x[40 * 2], y[40];
    for (int i = 0; i < 40; i++) {
        x[2 * i] = (float)i;
        x[2 * i + 1] = (float)(10 * i);
        y[i] = (float)i;
    }
    nnk_dataset *d = test_dataset(x, 40, 2, y, 1);
    nnk_dataset_shuffle(d, seed);
    int seen[40] = {0};
    for (int i = 0; i < 40; i++) {
        int k = (int)d->y[i];
        ck_assert(k >= 0 && k < 40 && !seen[k]);
        seen[k] = 1;
        ck_assert(d->x_f32[2 * i] == (float)k && d->x_f32[2 * i + 1] == (float)(10 * k));
        order[i] = k;
    }
    nnk_dataset_free(d);
}

START_TEST(shuffle_moves_whole_rows)
{
    int64_t a[40], b[40], c[40];
    shuffled_order(7, a);
    shuffled_order(7, b);
    shuffled_order(8, c);
    int moved = 0, differ = 0;
    for (int i = 0; i < 40; i++) {
        ck_assert_int_eq(a[i], b[i]);
        moved += a[i] != i;
        differ += a[i] != c[i];
    }
    ck_assert_int_gt(moved, 30);
    ck_assert_int_gt(differ, 30);
}
END_TEST

START_TEST(fashion_mnist_resolves)
{
    nnk_err err = {0, ""};
    nnk_dataset *d = nnk_dataset_load("fashion-mnist:test", NULL, NULL, &err);
    ck_assert_msg(d != NULL, "%s", err.msg);
    ck_assert_int_eq(d->rows, 10000);
    ck_assert_int_eq(d->x_shape.ndim, 2);
    ck_assert_int_eq(d->x_shape.dim[0], 28);
    ck_assert_ptr_nonnull(d->x_u8); /* held as bytes */
    ck_assert(d->y[0] == 9);        /* the first test image is an ankle boot */
    nnk_dataset_free(d);
    ck_assert_ptr_null(nnk_dataset_load("fashion-mnist:validate", NULL, NULL, &err));
    ck_assert_str_eq(err.msg, "data 'fashion-mnist:validate': unknown part 'validate' (use fashion-mnist:train or fashion-mnist:test)");
}
END_TEST

int main(void)
{
    Suite *s = suite_create("data");
    TCase *tc = tcase_create("all");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, idx_every_type);
    tcase_add_test(tc, idx_bad_files);
    tcase_add_test(tc, csv_reads_columns);
    tcase_add_test(tc, csv_bad_files);
    tcase_add_test(tc, csv_missing_cells);
    tcase_add_test(tc, csv_string_labels);
    tcase_add_test(tc, csv_text_columns);
    tcase_add_test(tc, classes_fitted_on_training_split);
    tcase_add_test(tc, parts_make_the_whole);
    tcase_add_test(tc, split_keeps_order);
    tcase_add_test(tc, shuffle_moves_whole_rows);
    tcase_add_test(tc, fashion_mnist_resolves);
    suite_add_tcase(s, tc);
    return test_run_suite(s);
}
