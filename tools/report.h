/* A classifier's confusion matrix and scikit-learn's classification
 * report (precision, recall, F1 and support per class, then accuracy and
 * the macro and weighted averages), as text, CSV or JSON. */
#ifndef NNKIT_REPORT_H
#define NNKIT_REPORT_H
#include <nnkit/nnkit.h>
#include <stdint.h>
#include <stdio.h>

typedef struct class_report {
    int64_t n;       /* classes */
    int64_t *counts; /* n x n: [true][predicted] */
    char **names;    /* n names, owned */
} class_report;

/* A report of n classes named names (NULL, or fewer than n: the rest are
 * "0", "1", ...), every count 0. NNK_OK, or NNK_ENOMEM / NNK_EUSAGE (no
 * class) with err set. */
int report_init(class_report *r, int64_t n, const char *const *names, int64_t n_names, nnk_err *err);
void report_free(class_report *r);

/* Counts rows of predictions (cols wide) against their labels
 * (label_cols: cols for one-hot rows, or 1 for class indices; a one-unit
 * output's label is 0 or 1). The predicted class is the first largest
 * output, or, for one unit, 1 above 0.5. A label naming no class is
 * refused: NNK_EDATA with err naming the row. */
int report_count(class_report *r, const float *pred, const float *y, int64_t rows, int64_t cols, int64_t label_cols,
                 nnk_err *err);

/* Row i's true class as report_count takes it (an index, or a one-hot
 * row's first largest entry), -1 when the label names none of r's. */
int64_t report_label_class(const class_report *r, const float *y, int64_t i, int64_t cols, int64_t label_cols);

/* A saved one-output classifier's report on d: predicts every row (into
 * *pred, rows x *cols, which the caller frees), names the classes as the
 * model does, and counts. NNK_OK (then report_free r), or the status with
 * err set and nothing to free. */
int report_for_model(nnk_model *m, const nnk_dataset *d, int64_t batch_size, class_report *r, float **pred,
                     int64_t *cols, nnk_err *err);

/* Per class k: precision, recall, F1 (0 where a denominator is 0, as
 * scikit-learn's zero_division=0) and support. */
void report_class(const class_report *r, int64_t k, double *precision, double *recall, double *f1, int64_t *support);

/* The report as scikit-learn's classification_report prints it (digits
 * 2), then the confusion matrix with the class names. Names are printed
 * with control characters replaced by '?'. */
void report_write_text(const class_report *r, FILE *f);
/* One table: class, precision, recall, f1-score, support, then the
 * class's row of the confusion matrix (a column per predicted class);
 * then accuracy, macro avg and weighted avg rows. Names quoted as CSV. */
void report_write_csv(const class_report *r, FILE *f);
/* scikit-learn's output_dict layout with the confusion matrix added:
 * {"NAME": {"precision": ..., "recall": ..., "f1-score": ..., "support":
 * ...}, ..., "accuracy": ..., "macro avg": {...}, "weighted avg": {...},
 * "confusion_matrix": {"labels": [...], "counts": [[...], ...]}}. */
void report_write_json(const class_report *r, FILE *f);
/* A class's ROC or precision-recall curve over n scores and labels
 * (non-zero: the class), a point per distinct score from the highest
 * down, as scikit-learn's roc_curve and precision_recall_curve take them:
 * ROC from (0, 0) through (false positive rate, true positive rate); PR
 * from (0, 1) through (recall, precision) at each threshold until recall
 * is 1. x and y
 * hold up to n + 1 points (the caller's arrays); returns the count, -1
 * when out of memory. *area: the trapezoids under the points (ROC: the
 * ROC AUC; PR: scikit-learn's auc(recall, precision)). */
enum { CURVE_ROC, CURVE_PR };
int64_t class_curve(int kind, const float *scores, const uint8_t *labels, int64_t n, double *x, double *y,
                    double *area);
#endif
