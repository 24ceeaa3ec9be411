/* Shared helpers for the Check suites. */
#ifndef NNKIT_TEST_HELPERS_H
#define NNKIT_TEST_HELPERS_H
#include <check.h>
#include <nnkit/nnkit.h>
#include <stdio.h>

/* A registry with the built-in plugins of this build tree. */
nnk_registry *test_registry(void);
/* Runs a suite; returns the process exit status. */
int test_run_suite(Suite *s);
/* Relative difference |a - b| / max(1, |a|, |b|). */
double rel_diff(double a, double b);
/* A temporary directory made for this process (created once). */
const char *test_tmpdir(void);
/* A small data set from arrays (copied). */
nnk_dataset *test_dataset(const float *x, int64_t rows, int64_t cols, const float *y,
                          int64_t y_cols);
/* A committed reference (tests/reference/) opened past its '#' header
 * lines; NULL, with a message on stderr, when it cannot be opened. */
FILE *test_open_reference(const char *path);
/* n numbers of a reference into v: 0, or -1 when fewer are there. */
int test_read_doubles(FILE *f, double *v, int64_t n);
#endif
