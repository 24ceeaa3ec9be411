/* libnnkit-data: data sets for nnkit models, built on libnnkit's public
 * API (nnkit.h defines nnk_dataset and frees it). CSV files (gzip or
 * plain; text columns kept as categories until a model encodes them,
 * missing cells as NaN), IDX files, Fashion-MNIST by name, a
 * data-parallel process's shard of any of them, splitting, and string
 * labels' classes. */
#ifndef NNKIT_DATA_H
#define NNKIT_DATA_H
#include <nnkit/nnkit.h>

#ifdef __cplusplus
extern "C" {
#endif

/* IDX files (gzip or plain; every element type of the format). */
NNK_API nnk_dataset *nnk_dataset_load_idx(const char *images, const char *labels,
                                  nnk_err *err);
/* CSV with a header row. label_columns: comma-separated column names (may
 * be NULL or "" for no labels); feature_columns: likewise, NULL or "" for
 * every other column. */
NNK_API nnk_dataset *nnk_dataset_load_csv(const char *path, const char *label_columns,
                                  const char *feature_columns, nnk_err *err);
/* The same with string labels read against known classes (a model's, or
 * the training file's): a label that is none of them is an error naming
 * its line. With classes NULL, a string label column gets its classes from
 * the file itself: its distinct values, sorted, become class indices and
 * the data set's class_names. Numbers stay numbers either way. */
NNK_API nnk_dataset *nnk_dataset_load_csv_classes(const char *path, const char *label_columns,
                                          const char *feature_columns, const char *const *classes,
                                          int64_t n_classes, nnk_err *err);
/* "fashion-mnist:train" / ":test" or a file path (.csv, or IDX images with
 * the labels file found by name). */
NNK_API nnk_dataset *nnk_dataset_load(const char *spec, const char *label_columns,
                              const char *feature_columns, nnk_err *err);
/* nnk_dataset_load with known classes for a CSV's string labels (see
 * nnk_dataset_load_csv_classes); classes NULL: none known. */
NNK_API nnk_dataset *nnk_dataset_load_classes(const char *spec, const char *label_columns, const char *feature_columns,
                                      const char *const *classes, int64_t n_classes, nnk_err *err);
/* Part `part` of `parts` of a data source: its contiguous rows as a
 * data-parallel process's shard (nnk_reducer's split: a remainder to the
 * first parts), without the other rows in memory; *total (may be NULL)
 * gets the source's row count. IDX files (fashion-mnist too) skip to the
 * part; a CSV file is read through, keeping only its rows, and a text
 * column or string label is refused (their classes need every row). */
NNK_API nnk_dataset *nnk_dataset_load_part(const char *spec, const char *label_columns, const char *feature_columns,
                                           int part, int parts, int64_t *total, nnk_err *err);
/* String labels fitted on the training split: the classes become the
 * sorted label texts that occur in train's rows, and the rows of train and
 * of each of others (split from the same file) are renumbered to them. A
 * row of others whose label does not occur in train is an error naming its
 * line and label. Nothing happens unless train->text_labels. */
NNK_API int nnk_dataset_fit_classes(nnk_dataset *train, nnk_dataset *const *others, int n_others, nnk_err *err);
/* Splits off the last `fraction` of rows into *tail (Keras's
 * validation_split: taken before any shuffling). */
NNK_API int nnk_dataset_split(nnk_dataset *d, double fraction, nnk_dataset **tail,
                      nnk_err *err);

#ifdef __cplusplus
}
#endif
#endif
