/* Which runs nnkit plot draws and what it calls them: directories only
 * (a sweep's trial-X.log beside its runs is skipped with a note), at most
 * max of them (the best by their last val_loss, or loss, with a note), each
 * named by the settings that tell it from the others (a sweep's trials:
 * "units=30 learning_rate=0.003") or else by its directory. */
#include "runner.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define MAX_KEYS 512

/* A run's config.ini as "section.key=value" entries ([run] left out: it
 * says where the run went, not what it is). */
typedef struct run_config {
    char *entries[MAX_KEYS];
    int n;
} run_config;

static void read_config(const char *dir, run_config *c)
{
    char path[4200], section[160] = "", line[1024];
    snprintf(path, sizeof path, "%s/config.ini", dir);
    FILE *f = fopen(path, "r");
    while (f && c->n < MAX_KEYS && fgets(line, sizeof line, f)) {
        line[strcspn(line, "\r\n")] = 0;
        char kind[64], name[96];
        if (line[0] == '[') {
            int k = sscanf(line, "[%63[^] ] %95[^]]", kind, name);
            snprintf(section, sizeof section, "%s", k == 2 ? name : k == 1 ? kind : "");
            continue;
        }
        char *eq = strstr(line, " = ");
        if (!eq || line[0] == ';' || !section[0] || !strcmp(section, "run"))
            continue;
        char *semi = strstr(eq, " ;"); /* a trailing comment */
        if (semi)
            *semi = 0;
        size_t n = strlen(section) + strlen(line) + 4;
        char *entry = malloc(n);
        if (!entry)
            break;
        snprintf(entry, n, "%s.%.*s=%s", section, (int)(eq - line), line, eq + 3);
        c->entries[c->n++] = entry;
    }
    if (f)
        fclose(f);
}

static const char *value_of(const run_config *c, const char *key, size_t key_len)
{
    for (int i = 0; i < c->n; i++)
        if (!strncmp(c->entries[i], key, key_len) && c->entries[i][key_len] == '=')
            return c->entries[i] + key_len + 1;
    return NULL;
}

/* The last value of the run's val_loss (else loss), for ranking. */
static double last_loss(const char *dir)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/training.csv", dir);
    num_table t;
    nnk_err ignored = {NNK_OK, ""}; /* drawing the run says what is wrong */
    if (num_table_read(path, "history", "epoch", &t, &ignored))
        return INFINITY;
    int col = num_table_column(&t, "val_loss") >= 0 ? num_table_column(&t, "val_loss") : num_table_column(&t, "loss");
    double v = col >= 0 && t.rows ? t.v[(t.rows - 1) * t.n_cols + col] : INFINITY;
    num_table_free(&t);
    return isfinite(v) ? v : INFINITY;
}

static int by_loss(const void *a, const void *b)
{
    double x = ((const plot_run *)a)->last, y = ((const plot_run *)b)->last;
    return (x > y) - (x < y);
}

/* Labels from the settings that differ between the runs. */
static void label_runs(plot_run *runs, int n)
{
    run_config *c = calloc((size_t)n, sizeof *c);
    for (int r = 0; c && r < n; r++)
        read_config(runs[r].dir, &c[r]);
    for (int r = 0; r < n; r++) {
        const char *base = strrchr(runs[r].dir, '/');
        base = base && base[1] ? base + 1 : runs[r].dir;
        size_t at = 0;
        runs[r].label[0] = 0;
        for (int i = 0; c && n > 1 && i < c[r].n && at + 40 < sizeof runs[r].label; i++) {
            const char *entry = c[r].entries[i], *eq = strchr(entry, '=');
            size_t key_len = (size_t)(eq - entry);
            /* a key some run lacks (another optimizer's parameter) follows
             * from a key that differs and that all of them have */
            int differs = 0, everywhere = 1;
            for (int o = 0; o < n; o++) {
                const char *v = value_of(&c[o], entry, key_len);
                everywhere &= v != NULL;
                differs |= v && strcmp(v, eq + 1) != 0;
            }
            if (!differs || !everywhere)
                continue;
            const char *dot = memchr(entry, '.', key_len), *shown = dot ? dot + 1 : entry;
            at += (size_t)snprintf(runs[r].label + at, sizeof runs[r].label - at, "%s%.*s=%.24s", at ? " " : "",
                                   (int)(eq - shown), shown, eq + 1);
        }
        if (!runs[r].label[0])
            snprintf(runs[r].label, sizeof runs[r].label, "%.150s", base);
    }
    for (int r = 0; c && r < n; r++)
        for (int i = 0; i < c[r].n; i++)
            free(c[r].entries[i]);
    free(c);
}

int plot_runs(const char *const *dirs, int n_dirs, plot_run *out, int max, nnk_err *err)
{
    int n = 0;
    for (int i = 0; i < n_dirs; i++) {
        struct stat st;
        if (stat(dirs[i], &st) == 0 && !S_ISDIR(st.st_mode) && n_dirs > 1) {
            fprintf(stderr, "nnkit: note: plot: skipping '%s' (not a run directory)\n", dirs[i]);
            continue;
        }
        if (n == PLOT_MAX_DIRS)
            return nnk_err_set(err, NNK_EUSAGE, "plot: more than %d runs", PLOT_MAX_DIRS);
        out[n].dir = dirs[i];
        out[n].last = last_loss(dirs[i]);
        n++;
    }
    if (n > max) {
        qsort(out, (size_t)n, sizeof *out, by_loss);
        fprintf(stderr, "nnkit: note: plot: %d runs; drawing the %d with the lowest last val_loss (or loss)\n", n, max);
        n = max;
    }
    label_runs(out, n);
    return n;
}
