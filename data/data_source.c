/* Where data comes from: "fashion-mnist:train|test" (Debian's package),
 * a .csv file, or IDX files (the labels found beside the images by name).
 * Dispatches to the CSV and IDX readers, which build nnk_dataset objects
 * (dataset.c). */
#include "data_internal.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *const fashion_classes[10] = {
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
    "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"};

static const char *fashion_dir(void)
{
    const char *env = getenv("NNKIT_FASHION_MNIST_DIR");
    return env && *env ? env : "/usr/share/datasets/fashion-mnist";
}

static int ends_with(const char *s, const char *suffix)
{
    size_t a = strlen(s), b = strlen(suffix);
    return a >= b && !strcmp(s + a - b, suffix);
}

nnk_dataset *nnk_dataset_load(const char *spec, const char *label_columns,
                              const char *feature_columns, nnk_err *err)
{
    return nnk_dataset_load_classes(spec, label_columns, feature_columns, NULL, 0, err);
}

/* The images file of fashion-mnist:part, and its labels; NULL with err set
 * for an unknown part or a missing package. */
static int fashion_files(const char *spec, char *images, char *labels, size_t n, nnk_err *err)
{
    const char *part = spec + 14;
    const char *prefix = !strcmp(part, "train") ? "train" : !strcmp(part, "test") ? "t10k" : NULL;
    if (!prefix)
        return nnk_err_set(err, NNK_ECONFIG, "data '%s': unknown part '%s' (use fashion-mnist:train or fashion-mnist:test)",
                           spec, part);
    snprintf(images, n, "%s/%s-images-idx3-ubyte.gz", fashion_dir(), prefix);
    snprintf(labels, n, "%s/%s-labels-idx1-ubyte.gz", fashion_dir(), prefix);
    if (access(images, R_OK))
        return nnk_err_set(err, NNK_EDATA, "data '%s': '%s' not found (install Debian's dataset-fashion-mnist: tools/setup.sh)",
                           spec, images);
    return NNK_OK;
}

/* The labels file beside IDX images (...-labels-idx1-...), or "" */
static void idx_labels_beside(const char *spec, char *labels, size_t n)
{
    labels[0] = 0;
    const char *tag = strstr(spec, "images-idx");
    if (!tag)
        return;
    size_t pre = (size_t)(tag - spec);
    const char *after = strchr(tag + 10, '-');
    if (pre < 900 && after) {
        snprintf(labels, n, "%.*slabels-idx1%s", (int)pre, spec, after);
        if (access(labels, R_OK))
            labels[0] = 0;
    }
}

nnk_dataset *nnk_dataset_load_part(const char *spec, const char *label_columns, const char *feature_columns, int part,
                                   int parts, int64_t *total, nnk_err *err)
{
    if (parts < 1 || part < 0 || part >= parts) {
        nnk_err_set(err, NNK_EUSAGE, "data '%s': part %d of %d", spec, part, parts);
        return NULL;
    }
    char images[1024], labels[1024];
    if (!strncmp(spec, "fashion-mnist:", 14)) {
        if (fashion_files(spec, images, labels, sizeof images, err))
            return NULL;
        nnk_dataset *d = nnkd__load_idx_part(images, labels, part, parts, total, err);
        if (d) {
            d->class_names = fashion_classes;
            d->n_classes = 10;
        }
        return d;
    }
    if (ends_with(spec, ".csv"))
        return nnkd__load_csv_part(spec, label_columns, feature_columns, part, parts, total, err);
    idx_labels_beside(spec, labels, sizeof labels);
    if (!labels[0] && access(spec, R_OK)) {
        nnk_err_set(err, NNK_EDATA, "data '%s': file not found", spec);
        return NULL;
    }
    return nnkd__load_idx_part(spec, labels[0] ? labels : NULL, part, parts, total, err);
}

nnk_dataset *nnk_dataset_load_classes(const char *spec, const char *label_columns, const char *feature_columns,
                                      const char *const *classes, int64_t n_classes, nnk_err *err)
{
    char images[1024], labels[1024];
    if (!strncmp(spec, "fashion-mnist:", 14)) {
        if (fashion_files(spec, images, labels, sizeof images, err))
            return NULL;
        nnk_dataset *d = nnk_dataset_load_idx(images, labels, err);
        if (d) {
            d->class_names = fashion_classes;
            d->n_classes = 10;
        }
        return d;
    }
    if (ends_with(spec, ".csv"))
        return nnk_dataset_load_csv_classes(spec, label_columns, feature_columns, classes, n_classes, err);
    idx_labels_beside(spec, labels, sizeof labels);
    if (labels[0])
        return nnk_dataset_load_idx(spec, labels, err);
    if (access(spec, R_OK)) {
        nnk_err_set(err, NNK_EDATA, "data '%s': file not found", spec);
        return NULL;
    }
    return nnk_dataset_load_idx(spec, NULL, err);
}
