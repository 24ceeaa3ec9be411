/* libnnkit-data: data sets for nnkit models, built on libnnkit's public
 * API (nnkit.h defines nnk_dataset and frees it). CSV files (gzip or
 * plain; text columns kept as categories until a model encodes them,
 * missing cells as NaN), IDX files, Fashion-MNIST by name, a
 * data-parallel process's shard of any of them, splitting, string labels'
 * classes, and the preprocessing a model keeps fitted on the training
 * split: one-hot categories, missing-value fills, standardization. */
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

/* ---- preprocessing fitted on the training split, kept by the model --------
 * (through nnk_model_set_categories, _set_fill and _set_standardizer) */

/* Categorical features, fitted on d (the training split): each text
 * column of d gets the sorted texts that occur in its rows as vocabulary,
 * saved with the model with the feature names and `unknown` ("error" or
 * "ignore"). Fails naming a column of more than NNK_MAX_CATEGORIES texts.
 * Before build, a 1-D input declared with the raw column count it takes
 * grows by each of its text columns' vocabulary size less one. With no
 * text columns it clears any categories. */
NNK_API int nnk_model_fit_categories(nnk_model *m, const nnk_dataset *d, const char *unknown, nnk_err *err);
/* One-hot encodes d's categorical columns in place, by the model's
 * vocabularies: each becomes one column per known text, named
 * "column=text" in d->feature_names; a missing cell makes its columns NaN
 * (for nnk_model_fit_missing's fills). A text the vocabulary lacks is an
 * error naming its line, column and text, or all zeros when the model
 * ignores unknown texts; text in a column the model reads as numbers is an
 * error naming the cell. No-op for a model without categories and data
 * without text. */
NNK_API int nnk_model_encode_categories(const nnk_model *m, nnk_dataset *d, nnk_err *err);
/* Missing values: fits a fill value per feature on d (the training split),
 * over the values present: how is "mean", "median" or "zero". Saved with
 * the model; rows are filled as they are gathered. */
NNK_API int nnk_model_fit_missing(nnk_model *m, const nnk_dataset *d, const char *how, nnk_err *err);
/* Fails (EDATA) naming the first missing cell of d when the model has no
 * fill values for it. */
NNK_API int nnk_model_check_missing(const nnk_model *m, const nnk_dataset *d, nnk_err *err);
/* Standardization fitted on d: the mean and standard deviation of each
 * feature over d's rows as the model gathers them (fills and scale
 * applied); a constant feature gets 1. */
NNK_API int nnk_model_fit_standardizer(nnk_model *m, const nnk_dataset *d, nnk_err *err);

#ifdef __cplusplus
}
#endif
#endif
