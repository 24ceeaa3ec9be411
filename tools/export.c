/* nnkit export: the command; the formats are export_onnx.c and export_c.c. */
#include "cli.h"
#include <string.h>

int cmd_export(const options *o)
{
    if (!o->positional)
        return usage_error("export", "%s", "missing MODEL.nnk");
    const char *format = o->format ? o->format : "onnx";
    int onnx = !strcmp(format, "onnx");
    if (!onnx && strcmp(format, "c"))
        return usage_error("export", "--format must be onnx or c, got '%s'", format);
    if (!o->output)
        return usage_error("export", "missing -o %s", onnx ? "OUT.onnx" : "OUT.c");
    size_t n = strlen(o->output);
    if (onnx ? n < 6 || strcmp(o->output + n - 5, ".onnx") : n < 3 || strcmp(o->output + n - 2, ".c"))
        return usage_error("export", onnx ? "-o '%s' must end in .onnx" : "-o '%s' must end in .c (the header goes beside it as .h)",
                           o->output);
    nnk_err err = {NNK_OK, ""};
    nnk_registry *reg = load_registry(o, &err);
    nnk_model *m = reg ? nnk_model_load(reg, o->positional, &err) : NULL;
    if (m && !export_check_finite(m, &err))
        onnx ? export_onnx(m, o->positional, o->output, &err) : export_c(m, o->positional, o->output, &err);
    nnk_model_free(m);
    nnk_registry_free(reg);
    return err.status ? fail(&err) : 0;
}

