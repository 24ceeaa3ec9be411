/* The host table handed to every plugin: allocation, errors, BLAS, RNG,
 * weight declaration and scratch memory. Append-only. */
#include "internal.h"
#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void nnk_sgemm(int ta, int tb, int64_t m, int64_t n, int64_t k, float alpha,
               const float *a, int64_t lda, const float *b, int64_t ldb,
               float beta, float *c, int64_t ldc)
{
    cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans,
                tb ? CblasTrans : CblasNoTrans, (blasint)m, (blasint)n,
                (blasint)k, alpha, a, (blasint)lda, b, (blasint)ldb, beta, c,
                (blasint)ldc);
}

static nnk_node *node_of(nnk_layer *layer)
{
    return (nnk_node *)((char *)layer - offsetof(nnk_node, layer));
}

static const char *const known_initializers[] = {
    "glorot_uniform", "glorot_normal", "he_normal", "he_uniform",
    "lecun_normal", "lecun_uniform", "zeros", "ones", NULL};

static int host_layer_add_weight(nnk_layer *layer, const char *name,
                                 const nnk_shape *shape,
                                 const char *initializer, int64_t fan_in,
                                 int64_t fan_out, nnk_err *err)
{
    nnk_node *node = node_of(layer);
    int ok = 0;
    for (int i = 0; known_initializers[i]; i++)
        if (initializer && !strcmp(initializer, known_initializers[i]))
            ok = 1;
    if (!ok)
        return nnk_err_set(err, NNK_ECONFIG,
                            "layer '%s': unknown initializer '%s' for weight '%s'",
                            layer->name, initializer ? initializer : "(null)",
                            name),
               -1;
    if (layer->n_weights >= NNK_MAX_WEIGHTS)
        return nnk_err_set(err, NNK_ECONFIG, "layer '%s': too many weights",
                            layer->name),
               -1;
    int64_t n = 1;
    for (int d = 0; d < shape->ndim; d++)
        n *= shape->dim[d];
    int i = layer->n_weights;
    nnk_weight *w = &layer->weights[i];
    memset(w, 0, sizeof *w);
    w->name = strdup(name);
    w->value.ndim = w->grad.ndim = shape->ndim;
    memcpy(w->value.shape, shape->dim, sizeof shape->dim);
    memcpy(w->grad.shape, shape->dim, sizeof shape->dim);
    w->value.data = calloc((size_t)n, sizeof(float));
    w->grad.data = calloc((size_t)n, sizeof(float));
    node->initializers[i] = strdup(initializer);
    if (!w->name || !w->value.data || !w->grad.data || !node->initializers[i])
        return nnk_err_set(err, NNK_ENOMEM, "out of memory"), -1;
    node->fans[i][0] = fan_in;
    node->fans[i][1] = fan_out;
    layer->n_weights++;
    return i;
}

static float *host_layer_scratch(nnk_layer *layer, int slot, int64_t n)
{
    nnk_node *node = node_of(layer);
    if (slot < 0 || slot >= NNK_SCRATCH_SLOTS)
        return NULL;
    if (node->scratch_n[slot] < n) {
        float *p = realloc(node->scratch[slot], (size_t)n * sizeof(float));
        if (!p)
            return NULL;
        node->scratch[slot] = p;
        node->scratch_n[slot] = n;
    }
    return node->scratch[slot];
}

const nnk_host nnk_host_table = {
    .struct_size = sizeof(nnk_host),
    .abi_major = NNK_ABI_MAJOR,
    .abi_minor = NNK_ABI_MINOR,
    .alloc = malloc,
    .alloc_zeroed = calloc,
    .free = free,
    .err_set = nnk_err_set,
    .sgemm = nnk_sgemm,
    .rng_next = nnk_rng_next,
    .rng_uniform = nnk_rng_uniform,
    .rng_normal = nnk_rng_normal,
    .layer_add_weight = host_layer_add_weight,
    .layer_scratch = host_layer_scratch,
};
