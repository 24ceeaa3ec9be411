/* The plugin loader: every failure stage with its exact message, the ABI
 * layout pinned, parameter parsing. */
#include "helpers.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FIX(name) TEST_FIXTURE_DIR "/" name

static void expect_load_error(const char *path, const char *want_fmt)
{
    nnk_registry *reg = test_registry();
    nnk_err err = {0, ""};
    int before = nnk_registry_count(reg);
    ck_assert_int_eq(nnk_registry_load_file(reg, path, &err), NNK_EPLUGIN);
    char want[1024];
    snprintf(want, sizeof want, want_fmt, path);
    ck_assert_str_eq(err.msg, want);
    ck_assert_int_eq(nnk_registry_count(reg), before); /* nothing half-registered */
    nnk_registry_free(reg);
}

/* The status table: each code's text. */
START_TEST(status_table)
{
    ck_assert_str_eq(nnk_status_text(NNK_OK), "ok");
    ck_assert_str_eq(nnk_status_text(NNK_ECONFIG), "configuration error");
    ck_assert_str_eq(nnk_status_text(NNK_EMODEL), "model file error");
    ck_assert_str_eq(nnk_status_text((nnk_status)99), "unknown status");
}
END_TEST

START_TEST(loader_failures)
{
    expect_load_error(FIX("fixture_noentry.so"), "plugin '%s': not an nnkit plugin (no nnkit_plugin record)");
    /* the symbol table is read before the record: a function or a short
     * object of that name is refused without one byte of it being read */
    expect_load_error(FIX("fixture_funcrecord.so"), "plugin '%s': not an nnkit plugin (nnkit_plugin is not a data record)");
    expect_load_error(FIX("fixture_shortrecord.so"),
                      "plugin '%s': not an nnkit plugin (nnkit_plugin is 3 bytes, the record 88)");
    /* its init would abort: the record is checked before any plugin code runs */
    expect_load_error(FIX("fixture_abi.so"), "plugin '%s': built for ABI 4.0, this nnkit has ABI 3.1 (and loads 2.0, 2.1 and 3.0)");
    expect_load_error(FIX("fixture_bad_sizes.so"),
                      "plugin '%s': built for ABI 3.1, but its nnk_host is 208 bytes where ABI 3.1 has 216 (other headers "
                      "or compiler settings)");
    /* components are checked before anything of theirs is called */
    expect_load_error(FIX("fixture_bad_null_backward.so"), "plugin '%s': layer 'broken' has no backward function");
    expect_load_error(FIX("fixture_bad_offset.so"),
                      "plugin '%s': layer 'broken': parameter 'units' lies outside the config struct (offset 64 + 8 "
                      "bytes > config_size 8)");
    expect_load_error(FIX("fixture_bad_struct_size.so"),
                      "plugin '%s': a layer has struct_size 0, expected at least 96 for ABI 3.1 (set it to "
                      "sizeof(nnk_layer_vtable))");
    expect_load_error(FIX("fixture_bad_type.so"), "plugin '%s': layer 'broken': parameter 'units' has unknown type 42");
    expect_load_error(FIX("fixture_initfail.so"), "plugin '%s': init failed: license file '/nowhere' not found");
    expect_load_error(FIX("fixture_dup.so"), "plugin '%s': duplicate layer 'dense', already provided by '" TEST_PLUGIN_DIR "/nnkit-layers.so'");
    nnk_registry *reg = test_registry();
    nnk_err err = {0, ""};
    ck_assert_int_eq(nnk_registry_load_file(reg, "/nonexistent/x.so", &err), NNK_EPLUGIN);
    ck_assert_str_eq(err.msg, "plugin '/nonexistent/x.so': cannot open: /nonexistent/x.so: cannot open shared object file: No such file or directory");
    /* a text file is no shared object */
    ck_assert_int_eq(nnk_registry_load_file(reg, TEST_SOURCE_DIR "/README.md", &err), NNK_EPLUGIN);
    ck_assert(strstr(err.msg, "plugin '" TEST_SOURCE_DIR "/README.md': cannot open: ") == err.msg);
    nnk_registry_free(reg);
}
END_TEST

/* Plugins built for ABI 2.0 and 2.1 load and train under 3.0: the core
 * reads their vtables by 2.0's layout, so their layer's weight gets the
 * optimizer's update (a 2.1 fused-SGD flag is not used), while the
 * built-in dense layer beside it folds plain SGD into backward through
 * its nnkit.train.fused_sgd/1 capability. */
static nnk_model *scaled_model(nnk_registry *reg, const char *type, const char *metric, double clipvalue)
{
    nnk_err err = {0, ""};
    nnk_model *m = nnk_model_new(reg);
    nnk_shape s = {1, {3}};
    const char *k[] = {"units"}, *v[] = {"1"};
    ck_assert_int_eq(nnk_model_add_input(m, "input", &s, &err), 0);
    ck_assert_msg(nnk_model_add_layer(m, "scale", type, NULL, 0, NULL, NULL, NULL, 0, &err) == 0, "%s", err.msg);
    ck_assert_int_eq(nnk_model_add_layer(m, "out", "dense", NULL, 0, k, v, NULL, 1, &err), 0);
    nnk_compile_options co;
    nnk_compile_options_init(&co);
    const char *loss[] = {"mse"};
    co.losses = loss;
    co.n_losses = 1;
    co.metrics = metric;
    co.learning_rate = 0.05;
    co.clipvalue = clipvalue;
    ck_assert_msg(nnk_model_compile_with(m, &co, &err) == 0, "%s", err.msg);
    ck_assert_msg(nnk_model_build(m, 5, &err) == 0, "%s", err.msg);
    return m;
}

/* Trains the layer `type` of plugin `file` twice, once with dense folding
 * plain SGD into its backward and once not (clipvalue), and checks both
 * move every weight alike. */
static void old_plugin_trains(const char *file, const char *type, const char *metric, float *scale)
{
    nnk_registry *reg = test_registry();
    nnk_err err = {0, ""};
    ck_assert_msg(nnk_registry_load_file(reg, file, &err) == 0, "%s", err.msg);
    float x[3 * 16], y[16];
    for (int i = 0; i < 16; i++) {
        for (int j = 0; j < 3; j++)
            x[3 * i + j] = (float)((i * 7 + j * 3) % 11) / 5.0f - 1.0f;
        y[i] = 2 * x[3 * i] - x[3 * i + 1] + 0.5f * x[3 * i + 2];
    }
    nnk_dataset *d = test_dataset(x, 16, 3, y, 1);
    /* clipvalue 1e30 clips nothing but keeps the update out of backward */
    nnk_model *folded = scaled_model(reg, type, metric, 0), *plain = scaled_model(reg, type, metric, 1e30);
    nnk_fit_options o;
    nnk_fit_options_init(&o);
    o.epochs = 5;
    o.batch_size = 4;
    ck_assert_msg(nnk_model_fit(folded, d, &o, NULL, &err) == 0, "%s", err.msg);
    ck_assert_msg(nnk_model_fit(plain, d, &o, NULL, &err) == 0, "%s", err.msg);
    float s1[3], s2[3], w1[3], w2[3];
    ck_assert_int_eq(nnk_model_get_weights(folded, "scale", "scale", s1, 3, &err), 0);
    ck_assert_int_eq(nnk_model_get_weights(plain, "scale", "scale", s2, 3, &err), 0);
    ck_assert_int_eq(nnk_model_get_weights(folded, "out", "kernel", w1, 3, &err), 0);
    ck_assert_int_eq(nnk_model_get_weights(plain, "out", "kernel", w2, 3, &err), 0);
    int moved = 0;
    for (int j = 0; j < 3; j++) {
        moved += s1[j] != 1.0f;
        ck_assert_msg(fabsf(s1[j] - s2[j]) <= 1e-6f * (1 + fabsf(s2[j])), "scale %d: %g folded, %g plain", j, (double)s1[j], (double)s2[j]);
        ck_assert_msg(fabsf(w1[j] - w2[j]) <= 1e-6f * (1 + fabsf(w2[j])), "kernel %d: %g folded, %g plain", j, (double)w1[j], (double)w2[j]);
    }
    ck_assert_int_eq(moved, 3);
    memcpy(scale, s1, sizeof s1);
    /* dense applied plain SGD inside backward: it never wrote its kernel's
     * gradient, as it does when the optimizer applies the step */
    nnk_layer_info folded_out, plain_out;
    ck_assert_int_eq(nnk_model_layer(folded, 1, &folded_out), 0);
    ck_assert_int_eq(nnk_model_layer(plain, 1, &plain_out), 0);
    float folded_grad = 0, plain_grad = 0;
    for (int j = 0; j < 3; j++) {
        folded_grad += fabsf(folded_out.weights[0].grad.data[j]);
        plain_grad += fabsf(plain_out.weights[0].grad.data[j]);
    }
    ck_assert_msg(folded_grad == 0 && plain_grad > 0, "kernel gradients %g folded, %g plain", (double)folded_grad,
                  (double)plain_grad);
    nnk_model_free(folded);
    nnk_model_free(plain);
    nnk_dataset_free(d);
    nnk_registry_free(reg);
}

START_TEST(abi_2_0_plugin_trains)
{
    float scale[3];
    old_plugin_trains(FIX("fixture_abi20.so"), "old_scale", NULL, scale);
}
END_TEST

/* What 2.1 appended: the layer reads sgd_learning_rate (0 here) and calls
 * host->layer_allreduce; its metric's NNK_METRIC_SUMS becomes the
 * nnkit.dp.sums/1 capability; its export hook is not used. */
START_TEST(abi_2_1_plugin_trains)
{
    /* the same layer as 2.0's old_scale, trained alike: a fused step at any
     * rate the core left in sgd_learning_rate would part them */
    float scale20[3], scale21[3];
    old_plugin_trains(FIX("fixture_abi20.so"), "old_scale", NULL, scale20);
    old_plugin_trains(FIX("fixture_abi21.so"), "old_scale21", "sum21", scale21);
    for (int j = 0; j < 3; j++)
        ck_assert_msg(scale20[j] == scale21[j], "scale %d: %g (2.0) and %g (2.1)", j, (double)scale20[j],
                      (double)scale21[j]);
    nnk_registry *reg = test_registry();
    nnk_err err = {0, ""};
    ck_assert_msg(nnk_registry_load_file(reg, FIX("fixture_abi21.so"), &err) == 0, "%s", err.msg);
    const nnk_metric_vtable *metric = nnk_registry_find(reg, NNK_KIND_METRIC, "sum21")->vtable;
    const nnk_layer_vtable *layer = nnk_registry_find(reg, NNK_KIND_LAYER, "old_scale21")->vtable;
    ck_assert_uint_eq(metric->struct_size, sizeof(nnk_metric_vtable));
    ck_assert_ptr_nonnull(NNK_CAPABILITY(metric, NNK_CAP_DP_SUMS));
    ck_assert_ptr_null(NNK_CAPABILITY(metric, NNK_CAP_EXPORT_C));
    ck_assert_ptr_null(NNK_CAPABILITY(layer, NNK_CAP_EXPORT_C));
    ck_assert_ptr_null(NNK_CAPABILITY(layer, NNK_CAP_FUSED_SGD));
    const nnk_layer_vtable *dense = nnk_registry_find(reg, NNK_KIND_LAYER, "dense")->vtable;
    ck_assert_ptr_nonnull(NNK_CAPABILITY(dense, NNK_CAP_FUSED_SGD));
    nnk_registry_free(reg);
}
END_TEST

START_TEST(builtins_all_present)
{
    nnk_registry *reg = test_registry();
    const char *acts[] = {"heaviside", "sign", "sigmoid", "tanh", "relu", "leaky_relu", "elu",
                          "selu", "softplus", "softmax", "linear"};
    for (int i = 0; i < 11; i++)
        ck_assert_ptr_nonnull(nnk_registry_find(reg, NNK_KIND_ACTIVATION, acts[i]));
    const char *losses[] = {"mse", "mae", "huber", "binary_crossentropy", "categorical_crossentropy",
                            "sparse_categorical_crossentropy"};
    for (int i = 0; i < 6; i++)
        ck_assert_ptr_nonnull(nnk_registry_find(reg, NNK_KIND_LOSS, losses[i]));
    ck_assert_ptr_nonnull(nnk_registry_find(reg, NNK_KIND_LAYER, "dense"));
    ck_assert_ptr_nonnull(nnk_registry_find(reg, NNK_KIND_OPTIMIZER, "perceptron"));
    ck_assert_ptr_nonnull(nnk_registry_find(reg, NNK_KIND_CALLBACK, "csv_logger"));
    const nnk_component_info *c = nnk_registry_find(reg, NNK_KIND_LAYER, "dense");
    ck_assert_str_eq(c->plugin_name, "nnkit-layers");
    nnk_registry_free(reg);
}
END_TEST

/* A change to any of these is an ABI change: bump NNK_ABI_* deliberately
 * and update the numbers. (x86-64 / LP64 layout.) */
START_TEST(abi_layout_pinned)
{
    ck_assert_int_eq(NNK_ABI_MAJOR, 3);
    ck_assert_int_eq(NNK_ABI_MINOR, 1);
    ck_assert_uint_eq(sizeof(nnk_abi_sizes), 64);
    ck_assert_uint_eq(sizeof(nnk_plugin_record), 88);
    ck_assert_uint_eq(offsetof(nnk_plugin_record, sizes), 12);
    ck_assert_uint_eq(offsetof(nnk_plugin_record, init), 80);
    ck_assert_uint_eq(sizeof(nnk_err), 516);
    ck_assert_uint_eq(sizeof(nnk_shape), 40);
    ck_assert_uint_eq(sizeof(nnk_tensor), 48);
    ck_assert_uint_eq(sizeof(nnk_param_spec), 64);
    ck_assert_uint_eq(offsetof(nnk_param_spec, offset), 56);
    /* the host table: ABI 2.0's services, then extension where 2.1 had layer_allreduce */
    ck_assert_uint_eq(sizeof(nnk_host), 216);
    ck_assert_uint_eq(offsetof(nnk_host, sgemm), 48);
    ck_assert_uint_eq(offsetof(nnk_host, layer_scratch), 88);
    ck_assert_uint_eq(offsetof(nnk_host, model_summary), 176);
    ck_assert_uint_eq(offsetof(nnk_host, note), 192);
    ck_assert_uint_eq(offsetof(nnk_host, fit_backup), 200);
    ck_assert_uint_eq(offsetof(nnk_host, extension), 208);
    ck_assert_uint_eq(sizeof(nnk_layer_info), 104);
    ck_assert_uint_eq(sizeof(nnk_weight), 120);
    ck_assert_uint_eq(sizeof(nnk_layer), 1016);
    ck_assert_uint_eq(offsetof(nnk_layer, weights), 48);
    ck_assert_uint_eq(offsetof(nnk_layer, input_names), 1008);
    /* every vtable: ABI 2.0's fields, then extension */
    ck_assert_uint_eq(sizeof(nnk_layer_vtable), 96);
    ck_assert_uint_eq(offsetof(nnk_layer_vtable, adapt), 80);
    ck_assert_uint_eq(offsetof(nnk_layer_vtable, extension), 88);
    ck_assert_uint_eq(sizeof(nnk_activation_vtable), 72);
    ck_assert_uint_eq(offsetof(nnk_activation_vtable, extension), 64);
    ck_assert_uint_eq(sizeof(nnk_loss_vtable), 88);
    ck_assert_uint_eq(offsetof(nnk_loss_vtable, accuracy_metric), 72);
    ck_assert_uint_eq(offsetof(nnk_loss_vtable, extension), 80);
    ck_assert_uint_eq(sizeof(nnk_metric_vtable), 72);
    ck_assert_uint_eq(offsetof(nnk_metric_vtable, extension), 64);
    ck_assert_uint_eq(sizeof(nnk_optimizer_vtable), 72);
    ck_assert_uint_eq(offsetof(nnk_optimizer_vtable, default_learning_rate), 56);
    ck_assert_uint_eq(offsetof(nnk_optimizer_vtable, extension), 64);
    ck_assert_uint_eq(sizeof(nnk_callback_vtable), 96);
    ck_assert_uint_eq(offsetof(nnk_callback_vtable, backup_path), 80);
    ck_assert_uint_eq(offsetof(nnk_callback_vtable, extension), 88);
    ck_assert_uint_eq(sizeof(nnk_train_info), 176);
    ck_assert_uint_eq(offsetof(nnk_train_info, global_batch), 144);
    ck_assert_uint_eq(offsetof(nnk_train_info, n_log_names), 152);
    ck_assert_uint_eq(offsetof(nnk_train_info, resumed), 156);
    ck_assert_uint_eq(offsetof(nnk_train_info, keep_backup), 160);
    ck_assert_uint_eq(offsetof(nnk_train_info, rank), 164);
    ck_assert_uint_eq(offsetof(nnk_train_info, size), 168);
    ck_assert_uint_eq(sizeof(nnk_plugin), 88);
    ck_assert_uint_eq(offsetof(nnk_plugin, callbacks), 80);
    /* the exporter's services and the capabilities */
    ck_assert_uint_eq(sizeof(nnk_export_host), 80);
    ck_assert_uint_eq(offsetof(nnk_export_host, onnx_value), 8);
    ck_assert_uint_eq(offsetof(nnk_export_host, onnx_constant), 16);
    ck_assert_uint_eq(offsetof(nnk_export_host, onnx_node), 24);
    ck_assert_uint_eq(offsetof(nnk_export_host, c_array), 32);
    ck_assert_uint_eq(offsetof(nnk_export_host, c_code), 40);
    ck_assert_uint_eq(offsetof(nnk_export_host, c_elementwise), 48);
    ck_assert_uint_eq(offsetof(nnk_export_host, c_float), 56);
    ck_assert_uint_eq(offsetof(nnk_export_host, onnx_int64_constant), 64);
    ck_assert_uint_eq(offsetof(nnk_export_host, onnx_node_ints), 72);
    ck_assert_uint_eq(sizeof(nnk_layer_export_onnx), 16);
    ck_assert_uint_eq(offsetof(nnk_layer_export_onnx, export_onnx), 8);
    ck_assert_uint_eq(sizeof(nnk_layer_export_c), 16);
    ck_assert_uint_eq(offsetof(nnk_layer_export_c, export_c), 8);
    ck_assert_uint_eq(sizeof(nnk_layer_fused_sgd), 16);
    ck_assert_uint_eq(offsetof(nnk_layer_fused_sgd, backward_sgd), 8);
    ck_assert_uint_eq(sizeof(nnk_activation_export_onnx), 16);
    ck_assert_uint_eq(sizeof(nnk_activation_export_c), 16);
    ck_assert_uint_eq(sizeof(nnk_activation_threshold), 16);
    ck_assert_uint_eq(offsetof(nnk_activation_threshold, threshold), 8);
    ck_assert_uint_eq(sizeof(nnk_metric_sums), 8);
    ck_assert_uint_eq(sizeof(nnk_optimizer_fused_sgd), 16);
    ck_assert_uint_eq(offsetof(nnk_optimizer_fused_sgd, plain), 8);
    ck_assert_uint_eq(sizeof(nnk_host_allreduce), 16);
    ck_assert_uint_eq(offsetof(nnk_host_allreduce, layer_allreduce), 8);
    ck_assert_uint_eq(sizeof(nnk_host_conv2d), 32);
    ck_assert_uint_eq(offsetof(nnk_host_conv2d, forward), 8);
    ck_assert_uint_eq(offsetof(nnk_host_conv2d, backward_data), 16);
    ck_assert_uint_eq(offsetof(nnk_host_conv2d, backward_weights), 24);
    ck_assert_uint_eq(sizeof(nnk_conv2d_shape), 15 * 8);
    ck_assert_uint_eq(offsetof(nnk_conv2d_shape, out_h), 4 * 8);
    ck_assert_uint_eq(offsetof(nnk_conv2d_shape, kernel_h), 7 * 8);
    ck_assert_uint_eq(offsetof(nnk_conv2d_shape, pad_left), 14 * 8);
    ck_assert_uint_eq(sizeof(nnk_host_pool2d), 40);
    ck_assert_uint_eq(offsetof(nnk_host_pool2d, max_backward), 16);
    ck_assert_uint_eq(offsetof(nnk_host_pool2d, average_backward), 32);
    ck_assert_uint_eq(sizeof(nnk_pool2d_shape), 12 * 8);
    ck_assert_uint_eq(offsetof(nnk_pool2d_shape, pool_h), 6 * 8);
    ck_assert_uint_eq(sizeof(nnk_host_batchnorm), 48);
    ck_assert_uint_eq(offsetof(nnk_host_batchnorm, moment_sums), 40);
    ck_assert_uint_eq(offsetof(nnk_host_batchnorm, gradient_sums), 16);
    ck_assert_uint_eq(offsetof(nnk_host_batchnorm, input_gradient), 32);
    /* the names, each a versioned string */
    ck_assert_str_eq(NNK_CAP_EXPORT_ONNX, "nnkit.export.onnx/1");
    ck_assert_str_eq(NNK_CAP_EXPORT_C, "nnkit.export.c/1");
    ck_assert_str_eq(NNK_CAP_FUSED_SGD, "nnkit.train.fused_sgd/1");
    ck_assert_str_eq(NNK_CAP_DP_ALLREDUCE, "nnkit.dp.allreduce/1");
    ck_assert_str_eq(NNK_CAP_DP_SUMS, "nnkit.dp.sums/1");
    ck_assert_str_eq(NNK_CAP_CLASS_THRESHOLD, "nnkit.metric.class_threshold/1");
    ck_assert_str_eq(NNK_CAP_CONV2D, "nnkit.compute.conv2d/1");
    ck_assert_str_eq(NNK_CAP_POOL2D, "nnkit.compute.pool2d/1");
    ck_assert_str_eq(NNK_CAP_BATCHNORM, "nnkit.compute.batchnorm/1");
    /* every vtable starts with the same header the loader reads */
    ck_assert_uint_eq(offsetof(nnk_layer_vtable, params), 24);
    ck_assert_uint_eq(offsetof(nnk_activation_vtable, params), 24);
    ck_assert_uint_eq(offsetof(nnk_loss_vtable, params), 24);
    ck_assert_uint_eq(offsetof(nnk_metric_vtable, params), 24);
    ck_assert_uint_eq(offsetof(nnk_optimizer_vtable, params), 24);
    ck_assert_uint_eq(offsetof(nnk_callback_vtable, params), 24);
}
END_TEST

typedef struct cfg {
    int64_t n;
    double x;
    int flag;
    const char *mode;
    nnk_ints size;
} cfg;

static const char *const modes[] = {"fast", "slow", NULL};
static const nnk_param_spec specs[] = {
    {"units", NNK_PARAM_INT, "3", 1, 100, NULL, "", offsetof(cfg, n)},
    {"rate", NNK_PARAM_FLOAT, "0.5", 0, 1, NULL, "", offsetof(cfg, x)},
    {"flag", NNK_PARAM_BOOL, "false", 0, 0, NULL, "", offsetof(cfg, flag)},
    {"mode", NNK_PARAM_CHOICE, "fast", 0, 0, modes, "", offsetof(cfg, mode)},
    {"size", NNK_PARAM_INTS, "3", -1, 64, NULL, "", offsetof(cfg, size)},
    {NULL, 0, NULL, 0, 0, NULL, NULL, 0}};

START_TEST(params_parse_and_reject)
{
    nnk_err err = {0, ""};
    nnk_params *p = nnk_params_new(specs, sizeof(cfg), "layer 'h1'", &err);
    const cfg *c = nnk_params_config(p);
    ck_assert(c->n == 3 && c->x == 0.5 && c->flag == 0 && !strcmp(c->mode, "fast"));
    ck_assert_int_eq(nnk_params_set(p, "units", "42", NULL, &err), 0);
    ck_assert_int_eq(nnk_params_set(p, "flag", "true", NULL, &err), 0);
    ck_assert_int_eq(nnk_params_set(p, "mode", "slow", NULL, &err), 0);
    ck_assert(c->n == 42 && c->flag == 1 && !strcmp(c->mode, "slow"));
    ck_assert_int_eq(nnk_params_set(p, "units", "101", "a.ini:3", &err), NNK_ECONFIG);
    ck_assert_str_eq(err.msg, "a.ini:3: layer 'h1': parameter 'units' must be an integer in [1, 100], got '101'");
    ck_assert_int_eq(nnk_params_set(p, "rate", "nan", NULL, &err), NNK_ECONFIG);
    ck_assert_str_eq(err.msg, "layer 'h1': parameter 'rate' must be a number in [0, 1], got 'nan'");
    ck_assert_int_eq(nnk_params_set(p, "flag", "maybe", NULL, &err), NNK_ECONFIG);
    ck_assert_str_eq(err.msg, "layer 'h1': parameter 'flag' must be true or false, got 'maybe'");
    ck_assert_int_eq(nnk_params_set(p, "mode", "medium", NULL, &err), NNK_ECONFIG);
    ck_assert_str_eq(err.msg, "layer 'h1': parameter 'mode' must be one of fast, slow, got 'medium'");
    ck_assert_int_eq(nnk_params_set(p, "unit", "4", "a.ini:9", &err), NNK_ECONFIG);
    ck_assert_str_eq(err.msg, "a.ini:9: unknown key 'unit' for layer 'h1' (did you mean 'units'?)");
    ck_assert(c->n == 42); /* failed sets change nothing */
    char buf[64];
    nnk_params_format(p, 1, buf, sizeof buf);
    ck_assert_str_eq(buf, "0.5");
    /* a list of integers: each form reads the same, formats as a,b and
     * parses back; a bad one names the range and changes nothing */
    ck_assert(c->size.n == 1 && c->size.v[0] == 3);
    static const char *const same[] = {"7,-1", " 7, -1 ", "(7, -1)", "[7,-1]"};
    for (int i = 0; i < 4; i++) {
        ck_assert_int_eq(nnk_params_set(p, "size", same[i], NULL, &err), 0);
        ck_assert(c->size.n == 2 && c->size.v[0] == 7 && c->size.v[1] == -1);
        nnk_params_format(p, 4, buf, sizeof buf);
        ck_assert_str_eq(buf, "7,-1");
    }
    ck_assert_int_eq(nnk_params_set(p, "size", "1,2,3,4", NULL, &err), 0);
    ck_assert(c->size.n == 4 && c->size.v[3] == 4);
    static const char *const bad[] = {"", "1,2,3,4,5", "3,", ",3", "(3, 3", "3 3", "3x3", "65", "-2", "(3))", "3.5"};
    for (int i = 0; i < 11; i++) {
        ck_assert_int_eq(nnk_params_set(p, "size", bad[i], NULL, &err), NNK_ECONFIG);
        char want[160];
        snprintf(want, sizeof want, "layer 'h1': parameter 'size' must be 1 to 4 integers in [-1, 64], got '%s'", bad[i]);
        ck_assert_str_eq(err.msg, want);
        ck_assert(c->size.n == 4 && c->size.v[0] == 1);
    }
    nnk_params_free(p);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("loader");
    TCase *tc = tcase_create("all");
    tcase_add_test(tc, status_table);
    tcase_add_test(tc, loader_failures);
    tcase_add_test(tc, builtins_all_present);
    tcase_add_test(tc, abi_layout_pinned);
    tcase_add_test(tc, abi_2_0_plugin_trains);
    tcase_add_test(tc, abi_2_1_plugin_trains);
    tcase_add_test(tc, params_parse_and_reject);
    suite_add_tcase(s, tc);
    return test_run_suite(s);
}
