/* terminate_on_nan: stops training at the first batch whose loss is NaN
 * or infinite (Keras's TerminateOnNaN), with a message naming it. */
#include "callbacks.h"
#include <math.h>

static const nnk_param_spec tn_params[] = {{NULL, 0, NULL, 0, 0, NULL, NULL, 0}};

static int tn_event(void *state, nnk_event ev, const nnk_train_info *info, nnk_err *err)
{
    (void)state, (void)err;
    if (ev != NNK_BATCH_END || info->n_logs < 1 || isfinite(info->log_values[0]))
        return NNK_OK;
    callbacks_host->note("epoch %lld, batch %lld: invalid loss (%g), terminating training",
                         (long long)info->epoch + 1, (long long)info->batch + 1, info->log_values[0]);
    *info->stop = 1;
    return NNK_OK;
}

const nnk_callback_vtable terminate_on_nan_callback = {
    .struct_size = sizeof(nnk_callback_vtable),
    .name = "terminate_on_nan",
    .doc = "stops training when the loss becomes NaN or infinite, like Keras's TerminateOnNaN",
    .params = tn_params,
    .on_event = tn_event,
};
