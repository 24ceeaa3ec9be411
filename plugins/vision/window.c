/* Window geometry and parameter checks shared by the vision layers. */
#include "vision.h"

int window_fit(window_axis *a, int same)
{
    int64_t span = (a->size - 1) * a->dilation + 1; /* input cells one window covers */
    if (same) {
        a->out = (a->in + a->stride - 1) / a->stride;
        int64_t total = (a->out - 1) * a->stride + span - a->in;
        a->pad_before = total > 0 ? total / 2 : 0;
        return 0;
    }
    if (span > a->in)
        return -1;
    a->out = (a->in - span) / a->stride + 1;
    a->pad_before = 0;
    return 0;
}

int64_t pair_at(const nnk_ints *v, int k) { return v->n == 2 ? v->v[k] : v->v[0]; }

int image_input(const nnk_layer *layer, const nnk_shape *in, nnk_err *err)
{
    if (in->ndim != 3)
        return vision_host->err_set(err, NNK_ESHAPE,
                                    "layer '%s': needs images (rows, columns, channels), got %d axes per sample "
                                    "(give [input] shape = H,W,C, or a reshape before it)",
                                    layer->name, in->ndim);
    return NNK_OK;
}

int pair_param(const nnk_layer *layer, const char *what, const nnk_ints *v, nnk_err *err)
{
    if (v->n != 1 && v->n != 2)
        return vision_host->err_set(err, NNK_ECONFIG, "layer '%s': %s takes 1 or 2 values (rows, columns), got %lld",
                                    layer->name, what, (long long)v->n);
    return NNK_OK;
}

const void *host_capability(const nnk_layer *layer, const char *name, nnk_err *err)
{
    const void *cap = NNK_CAPABILITY(vision_host, name);
    if (!cap)
        vision_host->err_set(err, NNK_EPLUGIN, "layer '%s': the host lacks %s", layer->name, name);
    return cap;
}

int64_t pad_after(const window_axis *a)
{
    int64_t reach = (a->out - 1) * a->stride + (a->size - 1) * a->dilation + 1 - a->pad_before;
    return reach > a->in ? reach - a->in : 0;
}
