/* Plugins built for ABI 2.0 and 2.1, loaded by an ABI 3 core.
 *
 * Every ABI 3 vtable is ABI 2.0's followed by extension(); 2.1 appended
 * other fields in that place. So a 2.x vtable is read by 2.0's layout into
 * a copy of the ABI 3 vtable, and of 2.1's fields only the metric flag
 * NNK_METRIC_SUMS carries over (as the nnkit.dp.sums/1 capability): the
 * fused SGD flag and export hooks are left unused, which costs speed or
 * an export, never a result. The host table a 2.x plugin gets has 2.1's
 * layout, ending in layer_allreduce where ABI 3 has extension(). */
#include "internal.h"
#include <stdlib.h>
#include <string.h>

static const size_t abi20_vtable_size[NNK_KIND_COUNT] = {88, 64, 80, 64, 64, 88};
static const size_t abi3_vtable_size[NNK_KIND_COUNT] = {
    sizeof(nnk_layer_vtable),  sizeof(nnk_activation_vtable), sizeof(nnk_loss_vtable),
    sizeof(nnk_metric_vtable), sizeof(nnk_optimizer_vtable),  sizeof(nnk_callback_vtable)};

/* ABI 3's vtables and host table start with ABI 2.0's: extension() sits
 * where 2.0 ended. */
_Static_assert(offsetof(nnk_layer_vtable, extension) == 88, "layer vtable: ABI 2.0 prefix");
_Static_assert(offsetof(nnk_activation_vtable, extension) == 64, "activation vtable: ABI 2.0 prefix");
_Static_assert(offsetof(nnk_loss_vtable, extension) == 80, "loss vtable: ABI 2.0 prefix");
_Static_assert(offsetof(nnk_metric_vtable, extension) == 64, "metric vtable: ABI 2.0 prefix");
_Static_assert(offsetof(nnk_optimizer_vtable, extension) == 64, "optimizer vtable: ABI 2.0 prefix");
_Static_assert(offsetof(nnk_callback_vtable, extension) == 88, "callback vtable: ABI 2.0 prefix");
_Static_assert(offsetof(nnk_host, extension) == 208, "host table: ABI 2.0 prefix");

size_t nnk__vtable_size(nnk_kind kind, int abi_major)
{
    return abi_major == 2 ? abi20_vtable_size[kind] : abi3_vtable_size[kind];
}

static const nnk_metric_sums metric_sums = {sizeof(nnk_metric_sums)};

static const void *abi21_metric_extension(const char *name)
{
    return !strcmp(name, NNK_CAP_DP_SUMS) ? &metric_sums : NULL;
}

#define ABI21_METRIC_FLAGS 64 /* offsetof(nnk_metric_vtable, flags) in ABI 2.1 */
#define ABI21_METRIC_SUMS 1u

void *nnk__abi2_vtable(nnk_kind kind, const void *vt, unsigned minor)
{
    unsigned char *copy = calloc(1, abi3_vtable_size[kind]);
    if (!copy)
        return NULL;
    memcpy(copy, vt, abi20_vtable_size[kind]);
    size_t their_size = *(const size_t *)vt;
    *(size_t *)copy = abi3_vtable_size[kind];
    if (kind == NNK_KIND_METRIC && minor >= 1 && their_size >= ABI21_METRIC_FLAGS + sizeof(unsigned)) {
        unsigned flags;
        memcpy(&flags, (const char *)vt + ABI21_METRIC_FLAGS, sizeof flags);
        if (flags & ABI21_METRIC_SUMS)
            ((nnk_metric_vtable *)(void *)copy)->extension = abi21_metric_extension;
    }
    return copy;
}

/* ABI 2.1's host table: 2.0's services (ABI 3's own, up to extension) and
 * layer_allreduce. */
typedef struct abi21_host {
    unsigned char head[offsetof(nnk_host, extension)];
    int (*layer_allreduce)(nnk_layer *layer, double *values, int64_t n, nnk_err *err);
} abi21_host;

static abi21_host abi21_table;

const nnk_host *nnk__abi2_host(void)
{
    /* filled under the registry lock, once, from the ABI 3 table */
    if (!abi21_table.layer_allreduce) {
        nnk_host h = nnk__host_table;
        h.struct_size = sizeof(abi21_host);
        h.abi_major = 2;
        h.abi_minor = 1;
        memcpy(abi21_table.head, &h, sizeof abi21_table.head);
        const nnk_host_allreduce *dp = nnk__host_table.extension(NNK_CAP_DP_ALLREDUCE);
        abi21_table.layer_allreduce = dp->layer_allreduce;
    }
    return (const nnk_host *)(const void *)&abi21_table;
}

_Static_assert(offsetof(nnk_node, abi21_sgd_learning_rate) == offsetof(nnk_node, layer) + 1016 &&
                   sizeof(nnk_layer) == 1016,
               "an ABI 2.1 layer reads a zero float right after nnk_layer");
