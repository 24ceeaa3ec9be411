/* The tensorboard callback: Keras's TensorBoard callback for nnkit runs.
 * Scalars go to <log_dir>/<run>/train and .../validation with Keras's tags
 * (epoch_loss, epoch_<metric>, epoch_learning_rate, batch_<metric>); the
 * run directory itself holds the hparams session. */
#include "tensorboard.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

const nnk_host *tb_host;

static const char *const splits[] = {"test", "validation", "train", NULL};

#define C(f) offsetof(tb_config, f)
static const nnk_param_spec tb_params[] = {
    {"log_dir", NNK_PARAM_STRING, "", 0, 0, NULL,
     "where runs go; empty: the run's own directory (runs/<name>); otherwise <log_dir>/<run name>", C(log_dir)},
    {"update_freq", NNK_PARAM_STRING, "epoch", 0, 0, NULL,
     "'epoch', 'batch', or N: write batch_<metric> scalars every N batches", C(update_freq)},
    {"histogram_freq", NNK_PARAM_INT, "0", 0, 1000000, NULL,
     "weight and bias histograms every N epochs (0: never)", C(histogram_freq)},
    {"write_graph", NNK_PARAM_BOOL, "true", 0, 0, NULL, "the model as a graph for the Graphs dashboard", C(write_graph)},
    {"write_images", NNK_PARAM_BOOL, "false", 0, 0, NULL,
     "the first dense layer's weights and captioned sample inputs as images (with the histograms)", C(write_images)},
    {"write_text", NNK_PARAM_BOOL, "true", 0, 0, NULL, "the resolved experiment and the model summary as text", C(write_text)},
    {"write_hparams", NNK_PARAM_BOOL, "true", 0, 0, NULL, "the run's hyper-parameters for the HParams dashboard", C(write_hparams)},
    {"write_gradients", NNK_PARAM_BOOL, "false", 0, 0, NULL,
     "also gradient histograms (<layer>/<weight>/gradient) on a fixed training sample", C(write_gradients)},
    {"write_activations", NNK_PARAM_BOOL, "false", 0, 0, NULL,
     "also activation histograms (<layer>/activation) on a fixed training sample", C(write_activations)},
    {"histogram_samples", NNK_PARAM_INT, "256", 1, 100000, NULL,
     "rows of the fixed sample for gradients and activations", C(histogram_samples)},
    {"image_samples", NNK_PARAM_INT, "36", 1, 1024, NULL, "sample inputs in the image grid", C(image_samples)},
    {"embeddings_freq", NNK_PARAM_INT, "0", 0, 1000000, NULL,
     "projector files every N epochs and at the end (0: never)", C(embeddings_freq)},
    {"embeddings_layer", NNK_PARAM_STRING, "", 0, 0, NULL,
     "layer whose outputs are projected (default: the last hidden layer)", C(embeddings_layer)},
    {"embeddings_samples", NNK_PARAM_INT, "0", 0, 100000, NULL,
     "points in the projector (0: up to 1000, as many as the data has)", C(embeddings_samples)},
    {"embeddings_data", NNK_PARAM_CHOICE, "test", 0, 0, splits,
     "data to project (falls back to validation, then train, when absent)", C(embeddings_data)},
    {"pr_curve_freq", NNK_PARAM_INT, "0", 0, 1000000, NULL,
     "a PR curve per class on the validation data every N epochs, for the PR Curves dashboard (0: never)",
     C(pr_curve_freq)},
    {"pr_curve_thresholds", NNK_PARAM_INT, "201", 2, 10001, NULL, "thresholds of each PR curve, evenly over [0, 1]",
     C(pr_curve_thresholds)},
    {"confusion_freq", NNK_PARAM_INT, "0", 0, 1000000, NULL,
     "the validation confusion matrix as an image every N epochs (0: never)", C(confusion_freq)},
    {NULL, 0, NULL, 0, 0, NULL, NULL, 0}};

static int tb_create(const void *config, void **state, nnk_err *err)
{
    const tb_config *c = config;
    int64_t freq = 0;
    if (!strcmp(c->update_freq, "batch")) {
        freq = 1;
    } else if (strcmp(c->update_freq, "epoch")) {
        char *end;
        freq = strtoll(c->update_freq, &end, 10);
        if (!*c->update_freq || *end || freq < 1)
            return tb_host->err_set(err, NNK_ECONFIG,
                                    "parameter 'update_freq' must be 'epoch', 'batch' or a positive integer, got '%s'",
                                    c->update_freq);
    }
    tb_state *s = tb_host->alloc_zeroed(1, sizeof *s);
    if (!s)
        return tb_host->err_set(err, NNK_ENOMEM, "out of memory");
    s->c = c;
    s->batch_freq = freq;
    s->emb_layer = -1;
    s->last_embedding_epoch = -1;
    *state = s;
    return NNK_OK;
}

static void close_all(tb_state *s, nnk_tb_status status)
{
    if (s->session_open && s->session) {
        nnk_tb_hparams_end(s->session, status, (double)time(NULL), 0, -1, NULL);
        s->session_open = 0;
    }
    nnk_tb_close(s->train, NULL);
    nnk_tb_close(s->validation, NULL);
    nnk_tb_close(s->session, NULL);
    s->train = s->validation = s->session = NULL;
}

static void tb_destroy(void *state)
{
    tb_state *s = state;
    if (!s)
        return;
    /* still open here means training ended with an error */
    close_all(s, NNK_TB_STATUS_FAILURE);
    tb_host->free(s);
}

static int pick_root(tb_state *s, const nnk_train_info *info, nnk_err *err)
{
    const char *run = info->run_dir;
    char stamp[64];
    if (!run || !*run) {
        time_t t = time(NULL);
        strftime(stamp, sizeof stamp, "%Y%m%d-%H%M%S", localtime(&t));
        run = stamp;
    }
    int n;
    if (!*s->c->log_dir) {
        n = info->run_dir && *info->run_dir ? snprintf(s->root, sizeof s->root, "%s", run)
                                            : snprintf(s->root, sizeof s->root, "runs/%s", run);
    } else {
        const char *base = strrchr(run, '/');
        n = snprintf(s->root, sizeof s->root, "%s/%s", s->c->log_dir, base ? base + 1 : run);
    }
    if (n >= (int)sizeof s->root)
        return tb_host->err_set(err, NNK_ECONFIG, "log directory path too long");
    return NNK_OK;
}

static nnk_tb_writer *open_run(tb_state *s, const char *sub, nnk_err *err)
{
    char dir[PATH_MAX + 32];
    snprintf(dir, sizeof dir, "%s%s%s", s->root, *sub ? "/" : "", sub);
    return nnk_tb_writer_open(dir, err);
}

static int flush_all(tb_state *s, nnk_err *err)
{
    int rc = s->train ? nnk_tb_flush(s->train, err) : NNK_OK;
    if (!rc && s->validation)
        rc = nnk_tb_flush(s->validation, err);
    if (!rc && s->session)
        rc = nnk_tb_flush(s->session, err);
    return rc;
}

static int train_begin(tb_state *s, const nnk_train_info *info, nnk_err *err)
{
    int rc = pick_root(s, info, err);
    /* every option is checked before anything is written */
    if (!rc)
        rc = tb_check_embeddings(s, info, err);
    if (rc)
        return rc;
    /* a resumed run continues the event files its backup names (load_state) */
    if (NNK_HAS(info, resumed) && info->resumed)
        return NNK_OK;
    if (!(s->train = open_run(s, "train", err)))
        return err->status;
    if (tb_host->model_rows(info->model, NNK_SPLIT_VALIDATION) > 0 &&
        !(s->validation = open_run(s, "validation", err)))
        return err->status;
    if (s->c->write_hparams) {
        if (!(s->session = open_run(s, "", err)) || tb_write_session_start(s, info, err))
            return err->status;
        s->session_open = 1;
    }
    if (s->c->write_graph && (rc = tb_write_graph(s, info, err)))
        return rc;
    if (s->c->write_text && (rc = tb_write_texts(s, info, err)))
        return rc;
    /* the session start too, so a run killed in its first epoch still
     * shows in the HParams dashboard */
    return flush_all(s, err);
}

static int batch_end(tb_state *s, const nnk_train_info *info, nnk_err *err)
{
    if (!s->batch_freq || info->global_batch % s->batch_freq)
        return NNK_OK;
    char tag[128];
    for (int i = 0; i < info->n_logs; i++) {
        snprintf(tag, sizeof tag, "batch_%s", info->log_names[i]);
        int rc = nnk_tb_scalar(s->train, tag, info->log_values[i], info->global_batch, -1, err);
        if (rc)
            return rc;
    }
    return NNK_OK;
}

static int epoch_end(tb_state *s, const nnk_train_info *info, nnk_err *err)
{
    char tag[128];
    int rc = NNK_OK;
    for (int i = 0; !rc && i < info->n_logs; i++) {
        const char *name = info->log_names[i];
        int val = !strncmp(name, "val_", 4);
        if (val && !s->validation)
            continue;
        snprintf(tag, sizeof tag, "epoch_%s", val ? name + 4 : name);
        rc = nnk_tb_scalar(val ? s->validation : s->train, tag, info->log_values[i], info->epoch, -1, err);
    }
    if (!rc)
        rc = nnk_tb_scalar(s->train, "epoch_learning_rate", *info->learning_rate, info->epoch, -1, err);
    int64_t hf = s->c->histogram_freq;
    if (!rc && hf > 0 && info->epoch % hf == 0) {
        rc = tb_write_histograms(s, info, err);
        if (!rc && s->c->write_images)
            rc = tb_write_images(s, info, err);
    }
    if (!rc)
        rc = tb_write_class_views(s, info, err);
    int64_t ef = s->c->embeddings_freq;
    if (!rc && ef > 0 && (info->epoch + 1) % ef == 0)
        rc = tb_write_embeddings(s, info, err);
    return rc ? rc : flush_all(s, err);
}

static int train_end(tb_state *s, const nnk_train_info *info, nnk_err *err)
{
    int rc = NNK_OK;
    if (s->c->embeddings_freq > 0 && s->last_embedding_epoch != info->epoch)
        rc = tb_write_embeddings(s, info, err);
    if (!rc && s->session_open) {
        rc = nnk_tb_hparams_end(s->session, NNK_TB_STATUS_SUCCESS, (double)time(NULL), 0, -1, err);
        s->session_open = 0;
    }
    int crc = nnk_tb_close(s->train, rc ? NULL : err);
    crc |= nnk_tb_close(s->validation, rc || crc ? NULL : err);
    crc |= nnk_tb_close(s->session, rc || crc ? NULL : err);
    s->train = s->validation = s->session = NULL;
    return rc ? rc : crc ? (int)err->status : NNK_OK;
}

static int tb_event(void *state, nnk_event ev, const nnk_train_info *info, nnk_err *err)
{
    if (NNK_HAS(info, rank) && info->rank != 0) /* data-parallel: rank 0 writes the events */
        return NNK_OK;
    tb_state *s = state;
    switch (ev) {
    case NNK_TRAIN_BEGIN: return train_begin(s, info, err);
    case NNK_BATCH_END: return batch_end(s, info, err);
    case NNK_EPOCH_END: return epoch_end(s, info, err);
    case NNK_TRAIN_END: return train_end(s, info, err);
    default: return NNK_OK;
    }
}

/* For backup_and_restore: where each event file stands. A resumed run
 * cuts them back there and continues them, so records written after the
 * backup are written once more, not twice. Text, one line per file:
 * "<role> <bytes> <path>", then "embedding <epoch>". */
static int tb_save(void *state, uint8_t **bytes, size_t *n, nnk_err *err)
{
    tb_state *s = state;
    int rc = flush_all(s, err);
    if (rc)
        return rc;
    const char *roles[3] = {"train", "validation", "session"};
    nnk_tb_writer *ws[3] = {s->train, s->validation, s->session};
    size_t cap = 64;
    for (int i = 0; i < 3; i++)
        cap += ws[i] ? strlen(nnk_tb_writer_path(ws[i])) + 64 : 0;
    char *text = tb_host->alloc(cap);
    if (!text)
        return tb_host->err_set(err, NNK_ENOMEM, "out of memory");
    size_t len = 0;
    for (int i = 0; i < 3; i++)
        if (ws[i])
            len += (size_t)snprintf(text + len, cap - len, "%s %llu %s\n", roles[i],
                                    (unsigned long long)nnk_tb_writer_size(ws[i]), nnk_tb_writer_path(ws[i]));
    len += (size_t)snprintf(text + len, cap - len, "embedding %lld\n", (long long)s->last_embedding_epoch);
    *bytes = (uint8_t *)text;
    *n = len;
    return NNK_OK;
}

static int tb_load(void *state, const uint8_t *bytes, size_t n, nnk_err *err)
{
    tb_state *s = state;
    char *text = tb_host->alloc(n + 1);
    if (!text)
        return tb_host->err_set(err, NNK_ENOMEM, "out of memory");
    memcpy(text, bytes, n);
    text[n] = 0;
    s->session_open = 0;
    close_all(s, NNK_TB_STATUS_UNKNOWN);
    int rc = NNK_OK;
    char *save = NULL;
    for (char *line = strtok_r(text, "\n", &save); line && !rc; line = strtok_r(NULL, "\n", &save)) {
        char role[16], *path;
        unsigned long long size;
        long long epoch;
        int used = 0;
        if (sscanf(line, "embedding %lld", &epoch) == 1) {
            s->last_embedding_epoch = epoch;
            continue;
        }
        if (sscanf(line, "%15s %llu %n", role, &size, &used) != 2 || !used)
            rc = tb_host->err_set(err, NNK_EMODEL, "bad saved state");
        path = line + used;
        nnk_tb_writer **w = !strcmp(role, "train") ? &s->train : !strcmp(role, "validation") ? &s->validation
                                                                  : !strcmp(role, "session") ? &s->session : NULL;
        if (!rc && !w)
            rc = tb_host->err_set(err, NNK_EMODEL, "bad saved state: unknown event file role '%s'", role);
        if (!rc && !(*w = nnk_tb_writer_resume(path, size, err)))
            rc = err->status;
    }
    s->session_open = !rc && s->session != NULL;
    tb_host->free(text);
    return rc;
}

static const nnk_callback_vtable tensorboard_callback = {
    .struct_size = sizeof(nnk_callback_vtable),
    .name = "tensorboard",
    .doc = "TensorBoard logs like Keras's TensorBoard callback: scalars, histograms, images, graph, text, projector, hparams",
    .params = tb_params,
    .config_size = sizeof(tb_config),
    .create = tb_create,
    .on_event = tb_event,
    .destroy = tb_destroy,
    .save_state = tb_save,
    .load_state = tb_load,
};

static const nnk_callback_vtable *const callbacks[] = {&tensorboard_callback, NULL};

static const nnk_plugin tensorboard_plugin = {
    .struct_size = sizeof(nnk_plugin),
    .abi_major = NNK_ABI_MAJOR,
    .abi_minor = NNK_ABI_MINOR,
    .name = "nnkit-tensorboard",
    .version = "0.1.0",
    .doc = "The tensorboard callback.",
    .callbacks = callbacks,
};

static const nnk_plugin *plugin_init(const nnk_host *host, nnk_err *err)
{
    if (!NNK_HAS(host, model_summary)) {
        host->err_set(err, NNK_EPLUGIN, "the host has no model introspection (nnkit too old)");
        return NULL;
    }
    tb_host = host;
    return &tensorboard_plugin;
}

NNK_PLUGIN(plugin_init);
