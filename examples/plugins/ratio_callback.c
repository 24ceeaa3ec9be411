/* A callback plugin to copy: the book's PrintValTrainRatioCallback. At the
 * end of every `every`-th epoch it says val_loss / loss, the ratio that
 * shows overfitting when it climbs. Callbacks see the logs of the epoch
 * (loss, metrics, val_ ones) and may stop training or change the learning
 * rate through the nnk_train_info they are given; they print through the
 * host's note, never by themselves. */
#include <nnkit/plugin.h>
#include <string.h>

static const nnk_host *host;

typedef struct ratio_config {
    int64_t every;
} ratio_config;

static const nnk_param_spec ratio_params[] = {
    {"every", NNK_PARAM_INT, "1", 1, 1000000, NULL, "say the ratio every N epochs", offsetof(ratio_config, every)},
    {NULL, 0, NULL, 0, 0, NULL, NULL, 0}};

typedef struct ratio_state {
    int64_t every;
} ratio_state;

static int ratio_create(const void *config, void **state, nnk_err *err)
{
    ratio_state *s = host->alloc(sizeof *s);
    if (!s)
        return host->err_set(err, NNK_ENOMEM, "out of memory");
    s->every = ((const ratio_config *)config)->every;
    *state = s;
    return NNK_OK;
}

/* The value of log `name` this event carries, or -1 when it has none. */
static double log_value(const nnk_train_info *info, const char *name)
{
    for (int i = 0; i < info->n_logs; i++)
        if (!strcmp(info->log_names[i], name))
            return info->log_values[i];
    return -1;
}

static int ratio_on_event(void *state, nnk_event event, const nnk_train_info *info, nnk_err *err)
{
    (void)err;
    const ratio_state *s = state;
    if (event != NNK_EPOCH_END || (info->epoch + 1) % s->every)
        return NNK_OK;
    if (NNK_HAS(info, rank) && info->rank != 0) /* data-parallel: one process speaks */
        return NNK_OK;
    double loss = log_value(info, "loss"), val = log_value(info, "val_loss");
    if (loss > 0 && val >= 0) /* epochs count from 0 in info; people count from 1 */
        host->note("epoch %lld: val/train %.2f", (long long)info->epoch + 1, val / loss);
    return NNK_OK;
}

static void ratio_destroy(void *state) { host->free(state); }

static const nnk_callback_vtable val_train_ratio = {
    .struct_size = sizeof(nnk_callback_vtable),
    .name = "val_train_ratio",
    .doc = "says val_loss / loss at the end of every N-th epoch (the book's PrintValTrainRatioCallback)",
    .params = ratio_params,
    .config_size = sizeof(ratio_config),
    .create = ratio_create,
    .on_event = ratio_on_event,
    .destroy = ratio_destroy,
};

static const nnk_callback_vtable *const callbacks[] = {&val_train_ratio, NULL};
static const nnk_plugin descriptor = {
    .struct_size = sizeof(nnk_plugin),
    .abi_major = NNK_ABI_MAJOR,
    .abi_minor = NNK_ABI_MINOR,
    .name = "ratio-callback",
    .version = "1.0.0",
    .doc = "a callback template: the validation/training loss ratio",
    .callbacks = callbacks,
};

static const nnk_plugin *ratio_init(const nnk_host *h, nnk_err *err)
{
    (void)err;
    host = h;
    return &descriptor;
}

NNK_PLUGIN(ratio_init);
