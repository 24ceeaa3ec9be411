/* csv_logger: one row per epoch (epoch, then the logs in name order), like
 * Keras's CSVLogger. A relative filename goes under the run directory. */
#include "callbacks.h"
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct csv_config {
    const char *filename;
    const char *separator;
    int append;
} csv_config;

static const nnk_param_spec csv_params[] = {
    {"filename", NNK_PARAM_STRING, "training.csv", 0, 0, NULL,
     "CSV file; relative paths are inside the run directory", offsetof(csv_config, filename)},
    {"separator", NNK_PARAM_STRING, ",", 0, 0, NULL, "field separator", offsetof(csv_config, separator)},
    {"append", NNK_PARAM_BOOL, "false", 0, 0, NULL, "append to an existing file", offsetof(csv_config, append)},
    {NULL, 0, NULL, 0, 0, NULL, NULL, 0}};

typedef struct csv_state {
    const csv_config *config;
    FILE *f;
    int order[NNK_MAX_LOGS];
    int n;
    char path[4096];
} csv_state;

static int csv_create(const void *config, void **state, nnk_err *err)
{
    const csv_config *c = config;
    if (!*c->filename)
        return callbacks_host->err_set(err, NNK_ECONFIG, "parameter 'filename' is empty");
    csv_state *s = callbacks_host->alloc_zeroed(1, sizeof *s);
    if (!s)
        return callbacks_host->err_set(err, NNK_ENOMEM, "out of memory");
    s->config = c;
    *state = s;
    return NNK_OK;
}

static int csv_open(csv_state *s, const nnk_train_info *info, nnk_err *err)
{
    const csv_config *c = s->config;
    if (c->filename[0] != '/' && info->run_dir)
        snprintf(s->path, sizeof s->path, "%s/%s", info->run_dir, c->filename);
    else
        snprintf(s->path, sizeof s->path, "%s", c->filename);
    int had = 0;
    if (c->append) {
        FILE *t = fopen(s->path, "r");
        if (t) {
            had = fgetc(t) != EOF;
            fclose(t);
        }
    }
    s->f = fopen(s->path, c->append ? "a" : "w");
    if (!s->f)
        return callbacks_host->err_set(err, NNK_EIO, "callback csv_logger: cannot open '%s': %s",
                                       s->path, strerror(errno));
    return had ? 1 : 0;
}

static int csv_event(void *state, nnk_event ev, const nnk_train_info *info, nnk_err *err)
{
    if (!cb_writes_files(info)) /* another rank writes */
        return NNK_OK;
    csv_state *s = state;
    if (ev == NNK_TRAIN_BEGIN) {
        int had = csv_open(s, info, err);
        if (had < 0 || !s->f)
            return NNK_EIO;
        s->n = had ? -1 : 0; /* -1: header already there */
        return NNK_OK;
    }
    if (ev == NNK_TRAIN_END && s->f) {
        fclose(s->f);
        s->f = NULL;
        return NNK_OK;
    }
    if (ev != NNK_EPOCH_END || !s->f)
        return NNK_OK;
    const char *sep = s->config->separator;
    int n = info->n_logs < NNK_MAX_LOGS ? info->n_logs : NNK_MAX_LOGS;
    if (s->n <= 0) {
        int write_header = s->n == 0;
        for (int i = 0; i < n; i++)
            s->order[i] = i;
        for (int i = 1; i < n; i++) /* sorted by name, as Keras writes them */
            for (int j = i; j > 0 && strcmp(info->log_names[s->order[j]],
                                            info->log_names[s->order[j - 1]]) < 0; j--) {
                int t = s->order[j];
                s->order[j] = s->order[j - 1];
                s->order[j - 1] = t;
            }
        s->n = n;
        if (write_header) {
            fprintf(s->f, "epoch");
            for (int i = 0; i < n; i++)
                fprintf(s->f, "%s%s", sep, info->log_names[s->order[i]]);
            fprintf(s->f, "\n");
        }
    }
    fprintf(s->f, "%lld", (long long)info->epoch);
    for (int i = 0; i < s->n && i < n; i++)
        fprintf(s->f, "%s%.9g", sep, info->log_values[s->order[i]]);
    fprintf(s->f, "\n");
    if (fflush(s->f))
        return callbacks_host->err_set(err, NNK_EIO, "callback csv_logger: write to '%s' failed: %s",
                                       s->path, strerror(errno));
    return NNK_OK;
}

/* For backup_and_restore: the rows written so far, so a resumed run's
 * file reads as one run's. */
static int csv_save(void *state, uint8_t **bytes, size_t *n, nnk_err *err)
{
    csv_state *s = state;
    *n = 0;
    *bytes = NULL;
    if (!s->f)
        return NNK_OK;
    fflush(s->f);
    FILE *r = fopen(s->path, "rb");
    if (!r)
        return callbacks_host->err_set(err, NNK_EIO, "cannot read '%s' back", s->path);
    fseek(r, 0, SEEK_END);
    long len = ftell(r);
    fseek(r, 0, SEEK_SET);
    *bytes = callbacks_host->alloc((size_t)len + sizeof s->n + 1);
    int ok = *bytes && fread(*bytes + sizeof s->n, 1, (size_t)len, r) == (size_t)len;
    fclose(r);
    if (!ok)
        return callbacks_host->err_set(err, NNK_EIO, "cannot read '%s' back", s->path);
    memcpy(*bytes, &s->n, sizeof s->n);
    *n = (size_t)len + sizeof s->n;
    return NNK_OK;
}

static int csv_load(void *state, const uint8_t *bytes, size_t n, nnk_err *err)
{
    csv_state *s = state;
    if (n < sizeof s->n || !s->f)
        return NNK_OK;
    fclose(s->f);
    s->f = fopen(s->path, "w");
    if (!s->f || fwrite(bytes + sizeof s->n, 1, n - sizeof s->n, s->f) != n - sizeof s->n || fflush(s->f))
        return callbacks_host->err_set(err, NNK_EIO, "cannot rewrite '%s'", s->path);
    memcpy(&s->n, bytes, sizeof s->n);
    /* the column order is found again from the first logged epoch */
    if (s->n > 0)
        s->n = -1;
    return NNK_OK;
}

static void csv_destroy(void *state)
{
    csv_state *s = state;
    if (s && s->f)
        fclose(s->f);
    callbacks_host->free(s);
}

const nnk_callback_vtable csv_logger_callback = {
    .struct_size = sizeof(nnk_callback_vtable),
    .name = "csv_logger",
    .doc = "writes the epoch logs to a CSV file, like Keras's CSVLogger",
    .params = csv_params,
    .config_size = sizeof(csv_config),
    .create = csv_create,
    .on_event = csv_event,
    .destroy = csv_destroy,
    .save_state = csv_save,
    .load_state = csv_load,
};
