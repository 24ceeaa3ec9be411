/* The experiment parser: any bytes give a parsed experiment or one clean
 * error line; a parsed one has every key on a line of the file, and its
 * settings, model and callbacks build or fail cleanly too. */
#include "fuzz_common.h"
#include <nnkit/experiment.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t n)
{
    nnk_registry *reg = fuzz_registry();
    const char *path = fuzz_path("exp.ini");
    fuzz_write(path, data, n);
    nnk_err err = {NNK_OK, ""};
    nnk_experiment *e = nnk_experiment_load(path, &err);
    if (!e) {
        fuzz_check_error(&err, err.status);
        return 0;
    }
    int lines = 1;
    for (size_t i = 0; i < n; i++)
        lines += data[i] == '\n';
    for (int i = 0; i < e->n; i++) {
        const nnk_ini_section *s = &e->sections[i];
        if (!s->kind || s->line < 1 || s->line > lines)
            abort();
        for (int k = 0; k < s->n; k++)
            if (!s->entries[k].key || !s->entries[k].value || s->entries[k].line < 1 || s->entries[k].line > lines)
                abort();
    }
    nnk_experiment_parts parts;
    int rc = nnk_experiment_settings(e, &parts, &err);
    if (rc) {
        fuzz_check_error(&err, rc);
    } else {
        nnk_model *m = nnk_experiment_model(e, reg, &err);
        if (!m) {
            fuzz_check_error(&err, err.status);
        } else if ((rc = nnk_model_build(m, 1, &err))) {
            fuzz_check_error(&err, rc);
        } else {
            char *text = nnk_experiment_resolved_text(e, m, &parts);
            if (!text)
                abort();
            free(text);
        }
        nnk_model_free(m);
        int n_cbs = 0;
        nnk_callback **cbs = nnk_experiment_callbacks(e, reg, &n_cbs, &err);
        if (!cbs)
            fuzz_check_error(&err, err.status);
        for (int i = 0; cbs && i < n_cbs; i++)
            nnk_callback_free(cbs[i]);
        free(cbs);
        nnk_experiment_parts_clear(&parts);
    }
    nnk_experiment_free(e);
    return 0;
}
