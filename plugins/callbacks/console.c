/* console: Keras's progress logger. A live bar with ETA when stdout is a
 * terminal, one plain line per epoch when it is not. */
#include "callbacks.h"
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

typedef struct console_config {
    const char *mode;
} console_config;

static const char *const modes[] = {"auto", "bar", "lines", "silent", NULL};

static const nnk_param_spec console_params[] = {
    {"mode", NNK_PARAM_CHOICE, "auto", 0, 0, modes,
     "auto: a bar on a terminal, lines otherwise", offsetof(console_config, mode)},
    {NULL, 0, NULL, 0, 0, NULL, NULL, 0}};

typedef struct console_state {
    int bar, silent;
    double epoch_start, last_draw;
} console_state;

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int console_create(const void *config, void **state, nnk_err *err)
{
    const console_config *c = config;
    console_state *s = callbacks_host->alloc_zeroed(1, sizeof *s);
    if (!s)
        return callbacks_host->err_set(err, NNK_ENOMEM, "out of memory");
    s->silent = !strcmp(c->mode, "silent");
    s->bar = !strcmp(c->mode, "bar") || (!strcmp(c->mode, "auto") && isatty(STDOUT_FILENO));
    *state = s;
    return NNK_OK;
}

static void print_logs(const nnk_train_info *info)
{
    for (int i = 0; i < info->n_logs; i++)
        printf(" - %s: %.4f", info->log_names[i], info->log_values[i]);
}

static void format_time(double sec, char *buf, size_t n)
{
    if (sec >= 3600)
        snprintf(buf, n, "%d:%02d:%02d", (int)sec / 3600, ((int)sec / 60) % 60, (int)sec % 60);
    else if (sec >= 60)
        snprintf(buf, n, "%d:%02d", (int)sec / 60, (int)sec % 60);
    else
        snprintf(buf, n, "%ds", (int)(sec + 0.5));
}

static void draw_bar(console_state *s, const nnk_train_info *info, int64_t done, int final)
{
    const int width = 30;
    int64_t steps = info->steps > 0 ? info->steps : 1;
    int filled = (int)(width * done / steps);
    char bar[64];
    for (int i = 0; i < width; i++)
        bar[i] = i < filled ? '=' : '.';
    if (filled > 0 && filled < width)
        bar[filled - 1] = '>';
    bar[width] = 0;
    double el = now() - s->epoch_start;
    char t[32];
    if (final) {
        format_time(el, t, sizeof t);
        printf("\r%lld/%lld [%s] - %s %.0fms/step", (long long)done, (long long)steps, bar, t,
               1000 * el / (double)steps);
    } else {
        format_time(done ? el / (double)done * (double)(steps - done) : 0, t, sizeof t);
        printf("\r%lld/%lld [%s] - ETA: %s", (long long)done, (long long)steps, bar, t);
    }
    print_logs(info);
    printf("\033[K");
    fflush(stdout);
}

static int console_event(void *state, nnk_event ev, const nnk_train_info *info, nnk_err *err)
{
    if (!cb_writes_files(info)) /* another rank writes */
        return NNK_OK;
    console_state *s = state;
    (void)err;
    if (s->silent)
        return NNK_OK;
    switch (ev) {
    case NNK_EPOCH_BEGIN:
        printf("Epoch %lld/%lld\n", (long long)info->epoch + 1, (long long)info->epochs);
        fflush(stdout);
        s->epoch_start = s->last_draw = now();
        break;
    case NNK_BATCH_END:
        if (s->bar && (now() - s->last_draw > 0.1 || info->batch + 1 == info->steps)) {
            draw_bar(s, info, info->batch + 1, 0);
            s->last_draw = now();
        }
        break;
    case NNK_EPOCH_END:
        if (s->bar) {
            draw_bar(s, info, info->steps, 1);
            printf("\n");
        } else {
            double sec = info->epoch_seconds;
            printf("%lld/%lld - %.0fs - %.0fms/step", (long long)info->steps,
                   (long long)info->steps, sec, 1000 * sec / (double)(info->steps ? info->steps : 1));
            print_logs(info);
            printf("\n");
        }
        fflush(stdout);
        break;
    default:
        break;
    }
    return NNK_OK;
}

static void console_destroy(void *state) { callbacks_host->free(state); }

const nnk_callback_vtable console_callback = {
    .struct_size = sizeof(nnk_callback_vtable),
    .name = "console",
    .doc = "progress per epoch on stdout, like Keras's ProgbarLogger (added by the runner when fit.verbose > 0)",
    .params = console_params,
    .config_size = sizeof(console_config),
    .create = console_create,
    .on_event = console_event,
    .destroy = console_destroy,
};
