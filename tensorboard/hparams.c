/* The hparams plugin's three summaries: session start, session end and
 * experiment, each a HParamsPluginData in the metadata content and the
 * empty DT_FLOAT [0] tensor, as TensorBoard's hparams_pb writes them. */
#include "internal.h"
#include "hparams.pb-c.h"
#include "tensor.pb-c.h"
#include <stdlib.h>
#include <string.h>

static int write_plugin_data(nnk_tb_writer *w, const char *tag,
                             const Tensorboard__Hparams__HParamsPluginData *data, int64_t step,
                             double wall_time, nnk_err *err)
{
    size_t n = tensorboard__hparams__hparams_plugin_data__get_packed_size(data);
    uint8_t *content = malloc(n ? n : 1);
    if (!content)
        return tb_err(err, NNK_ENOMEM, "out of memory");
    tensorboard__hparams__hparams_plugin_data__pack(data, content);
    Tensorboard__SummaryMetadata md = TENSORBOARD__SUMMARY_METADATA__INIT;
    Tensorboard__SummaryMetadata__PluginData pd = TENSORBOARD__SUMMARY_METADATA__PLUGIN_DATA__INIT;
    pd.plugin_name = "hparams";
    pd.content.data = content;
    pd.content.len = n;
    md.plugin_data = &pd;
    Tensorboard__TensorShapeProto__Dim d0 = TENSORBOARD__TENSOR_SHAPE_PROTO__DIM__INIT;
    Tensorboard__TensorShapeProto__Dim *dims[1] = {&d0};
    Tensorboard__TensorShapeProto shape = TENSORBOARD__TENSOR_SHAPE_PROTO__INIT;
    shape.n_dim = 1; /* [0]: no data */
    shape.dim = dims;
    Tensorboard__TensorProto t = TENSORBOARD__TENSOR_PROTO__INIT;
    t.dtype = DT_FLOAT;
    t.tensor_shape = &shape;
    int rc = tb_write_tensor(w, tag, &t, &md, step, wall_time, err);
    free(content);
    return rc;
}

static void set_value(Google__Protobuf__Value *v, const nnk_tb_hparam *h)
{
    google__protobuf__value__init(v);
    switch (h->type) {
    case NNK_TB_HP_NUMBER:
        v->kind_case = GOOGLE__PROTOBUF__VALUE__KIND_NUMBER_VALUE;
        v->number_value = h->number;
        break;
    case NNK_TB_HP_STRING:
        v->kind_case = GOOGLE__PROTOBUF__VALUE__KIND_STRING_VALUE;
        v->string_value = (char *)(h->string ? h->string : "");
        break;
    case NNK_TB_HP_BOOL:
        v->kind_case = GOOGLE__PROTOBUF__VALUE__KIND_BOOL_VALUE;
        v->bool_value = h->boolean != 0;
        break;
    }
}

static int cmp_hparam(const void *a, const void *b)
{
    return strcmp(((const nnk_tb_hparam *)a)->name, ((const nnk_tb_hparam *)b)->name);
}

int nnk_tb_hparams_start(nnk_tb_writer *w, const nnk_tb_hparam *hparams, int n,
                         const char *group_name, double start_time_secs, int64_t step,
                         double wall_time, nnk_err *err)
{
    nnk_tb_hparam *sorted = malloc(sizeof *sorted * (size_t)(n > 0 ? n : 1));
    Google__Protobuf__Value *vals = calloc((size_t)(n > 0 ? n : 1), sizeof *vals);
    Tensorboard__Hparams__SessionStartInfo__HparamsEntry *ents = calloc((size_t)(n > 0 ? n : 1), sizeof *ents);
    Tensorboard__Hparams__SessionStartInfo__HparamsEntry **ptrs = calloc((size_t)(n > 0 ? n : 1), sizeof *ptrs);
    if (!sorted || !vals || !ents || !ptrs) {
        free(sorted), free(vals), free(ents), free(ptrs);
        return tb_err(err, NNK_ENOMEM, "out of memory");
    }
    memcpy(sorted, hparams, sizeof *sorted * (size_t)n);
    qsort(sorted, (size_t)n, sizeof *sorted, cmp_hparam);
    for (int i = 0; i < n; i++) {
        tensorboard__hparams__session_start_info__hparams_entry__init(&ents[i]);
        set_value(&vals[i], &sorted[i]);
        ents[i].key = (char *)sorted[i].name;
        ents[i].value = &vals[i];
        ptrs[i] = &ents[i];
    }
    Tensorboard__Hparams__SessionStartInfo s = TENSORBOARD__HPARAMS__SESSION_START_INFO__INIT;
    s.n_hparams = (size_t)n;
    s.hparams = ptrs;
    s.group_name = (char *)(group_name ? group_name : "");
    s.start_time_secs = start_time_secs;
    Tensorboard__Hparams__HParamsPluginData d = TENSORBOARD__HPARAMS__HPARAMS_PLUGIN_DATA__INIT;
    d.data_case = TENSORBOARD__HPARAMS__HPARAMS_PLUGIN_DATA__DATA_SESSION_START_INFO;
    d.session_start_info = &s;
    int rc = write_plugin_data(w, "_hparams_/session_start_info", &d, step, wall_time, err);
    free(sorted), free(vals), free(ents), free(ptrs);
    return rc;
}

int nnk_tb_hparams_end(nnk_tb_writer *w, nnk_tb_status status, double end_time_secs, int64_t step,
                       double wall_time, nnk_err *err)
{
    Tensorboard__Hparams__SessionEndInfo e = TENSORBOARD__HPARAMS__SESSION_END_INFO__INIT;
    e.status = (int32_t)status;
    e.end_time_secs = end_time_secs;
    Tensorboard__Hparams__HParamsPluginData d = TENSORBOARD__HPARAMS__HPARAMS_PLUGIN_DATA__INIT;
    d.data_case = TENSORBOARD__HPARAMS__HPARAMS_PLUGIN_DATA__DATA_SESSION_END_INFO;
    d.session_end_info = &e;
    return write_plugin_data(w, "_hparams_/session_end_info", &d, step, wall_time, err);
}

int nnk_tb_hparams_experiment(nnk_tb_writer *w, const nnk_tb_hparam_domain *hp, int n_hp,
                              const nnk_tb_metric *metrics, int n_metrics,
                              double time_created_secs, int64_t step, double wall_time,
                              nnk_err *err)
{
    int total_vals = 0;
    for (int i = 0; i < n_hp; i++)
        total_vals += hp[i].discrete ? hp[i].n_values : 0;
    Tensorboard__Hparams__HParamInfo *infos = calloc((size_t)n_hp + 1, sizeof *infos);
    Tensorboard__Hparams__HParamInfo **info_ptrs = calloc((size_t)n_hp + 1, sizeof *info_ptrs);
    Tensorboard__Hparams__Interval *ivs = calloc((size_t)n_hp + 1, sizeof *ivs);
    Google__Protobuf__ListValue *lists = calloc((size_t)n_hp + 1, sizeof *lists);
    Google__Protobuf__Value *vals = calloc((size_t)total_vals + 1, sizeof *vals);
    Google__Protobuf__Value **val_ptrs = calloc((size_t)total_vals + 1, sizeof *val_ptrs);
    Tensorboard__Hparams__MetricInfo *mis = calloc((size_t)n_metrics + 1, sizeof *mis);
    Tensorboard__Hparams__MetricInfo **mi_ptrs = calloc((size_t)n_metrics + 1, sizeof *mi_ptrs);
    Tensorboard__Hparams__MetricName *names = calloc((size_t)n_metrics + 1, sizeof *names);
    int rc = NNK_OK;
    if (!infos || !info_ptrs || !ivs || !lists || !vals || !val_ptrs || !mis || !mi_ptrs || !names)
        rc = tb_err(err, NNK_ENOMEM, "out of memory");
    static const int32_t type_code[3] = {3, 1, 2}; /* FLOAT64, STRING, BOOL */
    for (int i = 0, v = 0; !rc && i < n_hp; i++) {
        Tensorboard__Hparams__HParamInfo *hi = &infos[i];
        tensorboard__hparams__hparam_info__init(hi);
        hi->name = (char *)hp[i].name;
        hi->type = type_code[hp[i].type];
        if (hp[i].discrete) {
            google__protobuf__list_value__init(&lists[i]);
            lists[i].values = val_ptrs + v;
            for (int k = 0; k < hp[i].n_values; k++, v++) {
                set_value(&vals[v], &hp[i].values[k]);
                val_ptrs[v] = &vals[v];
            }
            lists[i].n_values = (size_t)hp[i].n_values;
            hi->domain_case = TENSORBOARD__HPARAMS__HPARAM_INFO__DOMAIN_DOMAIN_DISCRETE;
            hi->domain_discrete = &lists[i];
        } else {
            tensorboard__hparams__interval__init(&ivs[i]);
            ivs[i].min_value = hp[i].min;
            ivs[i].max_value = hp[i].max;
            hi->domain_case = TENSORBOARD__HPARAMS__HPARAM_INFO__DOMAIN_DOMAIN_INTERVAL;
            hi->domain_interval = &ivs[i];
        }
        info_ptrs[i] = hi;
    }
    for (int i = 0; !rc && i < n_metrics; i++) {
        tensorboard__hparams__metric_name__init(&names[i]);
        names[i].tag = (char *)metrics[i].tag;
        names[i].group = (char *)(metrics[i].group ? metrics[i].group : "");
        tensorboard__hparams__metric_info__init(&mis[i]);
        mis[i].name = &names[i];
        mi_ptrs[i] = &mis[i];
    }
    if (!rc) {
        Tensorboard__Hparams__Experiment ex = TENSORBOARD__HPARAMS__EXPERIMENT__INIT;
        ex.time_created_secs = time_created_secs;
        ex.n_hparam_infos = (size_t)n_hp;
        ex.hparam_infos = info_ptrs;
        ex.n_metric_infos = (size_t)n_metrics;
        ex.metric_infos = mi_ptrs;
        Tensorboard__Hparams__HParamsPluginData d = TENSORBOARD__HPARAMS__HPARAMS_PLUGIN_DATA__INIT;
        d.data_case = TENSORBOARD__HPARAMS__HPARAMS_PLUGIN_DATA__DATA_EXPERIMENT;
        d.experiment = &ex;
        rc = write_plugin_data(w, "_hparams_/experiment", &d, step, wall_time, err);
    }
    free(infos), free(info_ptrs), free(ivs), free(lists), free(vals), free(val_ptrs);
    free(mis), free(mi_ptrs), free(names);
    return rc;
}
