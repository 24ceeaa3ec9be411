/* libnnkit-data's own declarations, shared between its files only. It
 * sees libnnkit through its public API alone. */
#ifndef NNKIT_DATA_INTERNAL_H
#define NNKIT_DATA_INTERNAL_H
#include "nnkit/data.h"

/* text_dict.c: distinct texts, each with its index in first-seen order */
typedef struct nnk_text_dict {
    char **values;
    int64_t n, cap;
    int64_t *slots; /* value index + 1; 0: empty */
    int64_t n_slots;
} nnk_text_dict;
/* The index of text, added when new; -1 when out of memory. */
int64_t nnkd__text_dict_intern(nnk_text_dict *t, const char *text);
void nnkd__text_dict_free(nnk_text_dict *t);

/* idx.c: part `part` of `parts` of the records (a data-parallel shard) */
nnk_dataset *nnkd__load_idx_part(const char *images, const char *labels, int part, int parts, int64_t *total,
                                 nnk_err *err);
/* csv.c: likewise for the data rows of a CSV file (read through, only the
 * part's rows kept) */
nnk_dataset *nnkd__load_csv_part(const char *path, const char *label_columns, const char *feature_columns, int part,
                                 int parts, int64_t *total, nnk_err *err);

/* categories.c: d's missing cells, a one-hot encoded column's block
 * counting once */
int64_t nnkd__count_missing(const nnk_model *m, const nnk_dataset *d);
#endif
