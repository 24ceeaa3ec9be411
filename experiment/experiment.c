/* Experiment files: INI parsed by libinih into sections, typed by the
 * components' parameter specs. Every error carries file:line. */
#include <nnkit/experiment.h>
#include <stdint.h>
#include <ctype.h>
#include <ini.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *const section_kinds[] = {"data", "input", "layer", "compile",
                                            "fit", "callback", "run", NULL};

typedef struct parse_ctx {
    nnk_experiment *e;
    FILE *f;
    int line;
    nnk_err *err;
    int failed;
    int current; /* the section of the last header, by index (libinih cuts a long header's name) */
} parse_ctx;

static nnk_ini_section *add_section(nnk_experiment *e, const char *header, int line, nnk_err *err);
static nnk_ini_section *find_header(nnk_experiment *e, const char *header);
static int split_header(const char *header, char *kind, size_t kind_size, char *name, size_t name_size);

/* libinih's reader is called once per line, so counting here gives the
 * line of every key the handler sees (the packaged libinih is built
 * without INI_HANDLER_LINENO). Section headers are registered here too:
 * libinih reports a section only with its first key, and an empty section
 * such as [layer flatten] is a layer all the same. */
static char *count_lines(char *str, int num, void *stream)
{
    parse_ctx *c = stream;
    if (c->failed)
        return NULL;
    /* one line, byte by byte: libinih reads at most num - 1 bytes a line and
     * would take the rest of a longer one as a line of its own (a long
     * comment's tail as a key), and a NUL byte would hide what follows it */
    size_t len = 0;
    int ch = EOF;
    while (len + 1 < (size_t)num && (ch = getc(c->f)) != EOF) {
        if (ch == 0) {
            nnk_err_set(c->err, NNK_ECONFIG, "%s:%d: a NUL byte (binary data is no experiment file)", c->e->path,
                        c->line + 1);
            c->failed = 1;
            return NULL;
        }
        str[len++] = (char)ch;
        if (ch == '\n')
            break;
    }
    str[len] = 0;
    if (!len)
        return NULL;
    char *r = str;
    c->line++;
    if (r[len - 1] != '\n' && ch != EOF && (ch = getc(c->f)) != EOF && ch != '\n') {
        nnk_err_set(c->err, NNK_ECONFIG, "%s:%d: line longer than %d characters", c->e->path, c->line, num - 2);
        c->failed = 1;
        return NULL;
    }
    /* leading blanks carry no meaning here (libinih would take an indented
     * line as the previous value's continuation) */
    size_t lead = 0; /* as libinih's own skip: every isspace byte */
    while (lead < len && isspace((unsigned char)r[lead]) && r[lead] != '\n')
        lead++;
    if (lead)
        memmove(r, r + lead, len - lead + 1);
    const char *end = *r == '[' ? strchr(r, ']') : NULL;
    if (end) {
        char header[256];
        snprintf(header, sizeof header, "%.*s", (int)(end - r - 1), r + 1);
        nnk_ini_section *old = find_header(c->e, header);
        if (old) {
            nnk_err_set(c->err, NNK_ECONFIG, "%s:%d: section [%s] repeats the one at line %d", c->e->path, c->line,
                        header, old->line);
            c->failed = 1;
            return NULL;
        }
        nnk_ini_section *s = add_section(c->e, header, c->line, c->err);
        if (!s) {
            c->failed = 1;
            return NULL;
        }
        c->current = (int)(s - c->e->sections);
    }
    return r;
}

static nnk_ini_section *find_section(nnk_experiment *e, const char *kind,
                                     const char *name)
{
    for (int i = 0; i < e->n; i++) {
        nnk_ini_section *s = &e->sections[i];
        if (!strcmp(s->kind, kind) && ((!name && !s->name) ||
                                       (name && s->name && !strcmp(name, s->name))))
            return s;
    }
    return NULL;
}

/* The section a header names, when the file already has it. */
static nnk_ini_section *find_header(nnk_experiment *e, const char *header)
{
    char kind[128], name[512];
    if (split_header(header, kind, sizeof kind, name, sizeof name))
        return NULL;
    return find_section(e, kind, name[0] ? name : NULL);
}

/* A header's kind (its first word) and name (all the rest, blanks around it
 * dropped), so that [layer a b] has the name 'a b' for the name check to
 * refuse rather than a silent 'a'. Nonzero when the header is empty. */
static int split_header(const char *header, char *kind, size_t kind_size, char *name, size_t name_size)
{
    while (isspace((unsigned char)*header))
        header++;
    size_t k = strcspn(header, " \t\r\n\v\f");
    if (!k)
        return 1;
    snprintf(kind, kind_size, "%.*s", (int)k, header);
    header += k;
    while (isspace((unsigned char)*header))
        header++;
    size_t n = strlen(header);
    while (n && isspace((unsigned char)header[n - 1]))
        n--;
    snprintf(name, name_size, "%.*s", (int)n, header);
    return 0;
}

static nnk_ini_section *add_section(nnk_experiment *e, const char *header, int line,
                                    nnk_err *err)
{
    char kind[128], name[512];
    if (split_header(header, kind, sizeof kind, name, sizeof name)) {
        nnk_err_set(err, NNK_ECONFIG, "%s:%d: empty section name", e->path, line);
        return NULL;
    }
    int ok = 0;
    for (int i = 0; section_kinds[i]; i++)
        ok |= !strcmp(kind, section_kinds[i]);
    if (!ok) {
        const char *hint = nnk_suggest(kind, section_kinds, 7);
        nnk_err_set(err, NNK_ECONFIG, "%s:%d: unknown section '%s'%s%s%s; sections are data, input, layer NAME, compile, fit, callback NAME, run",
                    e->path, line, kind, hint ? " (did you mean '" : "", hint ? hint : "",
                    hint ? "'?)" : "");
        return NULL;
    }
    int named = !strcmp(kind, "layer") || !strcmp(kind, "callback");
    if (named && !name[0]) {
        nnk_err_set(err, NNK_ECONFIG, "%s:%d: section [%s] needs a name, like [%s NAME]",
                    e->path, line, kind, kind);
        return NULL;
    }
    if (!named && name[0] && strcmp(kind, "input")) {
        nnk_err_set(err, NNK_ECONFIG, "%s:%d: section [%s] takes no name", e->path, line, kind);
        return NULL;
    }
    if (name[0] && nnk_name_check(kind, name, err)) {
        char why[NNK_ERR_MAX];
        snprintf(why, sizeof why, "%s", err->msg);
        nnk_err_set(err, NNK_ECONFIG, "%s:%d: %s", e->path, line, why);
        return NULL;
    }
    nnk_ini_section *s = find_section(e, kind, name[0] ? name : NULL);
    if (s)
        return s;
    if (e->n == e->cap) {
        int cap = e->cap ? e->cap * 2 : 16;
        nnk_ini_section *ns = realloc(e->sections, (size_t)cap * sizeof *ns);
        if (!ns)
            return NULL;
        e->sections = ns;
        e->cap = cap;
    }
    s = &e->sections[e->n++];
    memset(s, 0, sizeof *s);
    s->kind = strdup(kind);
    s->name = name[0] ? strdup(name) : NULL;
    s->line = line;
    return s;
}

static int set_entry(nnk_ini_section *s, const char *key, const char *value, int line)
{
    for (int i = 0; i < s->n; i++)
        if (!strcmp(s->entries[i].key, key)) {
            char *v = strdup(value);
            if (!v)
                return -1;
            free(s->entries[i].value);
            s->entries[i].value = v;
            s->entries[i].line = line;
            return 0;
        }
    if (s->n == s->cap) {
        int cap = s->cap ? s->cap * 2 : 8;
        nnk_ini_entry *ne = realloc(s->entries, (size_t)cap * sizeof *ne);
        if (!ne)
            return -1;
        s->entries = ne;
        s->cap = cap;
    }
    nnk_ini_entry *en = &s->entries[s->n++];
    en->key = strdup(key);
    en->value = strdup(value);
    en->line = line;
    return en->key && en->value ? 0 : -1;
}

static int handler(void *user, const char *section, const char *key, const char *value)
{
    parse_ctx *c = user;
    if (c->failed)
        return 0;
    if (!section[0]) {
        nnk_err_set(c->err, NNK_ECONFIG, "%s:%d: key '%s' outside any section", c->e->path,
                    c->line, key);
        c->failed = 1;
        return 0;
    }
    nnk_ini_section *s = c->current >= 0 ? &c->e->sections[c->current] : NULL;
    if (!s) { /* cannot happen: the line reader registers every header */
        nnk_err_set(c->err, NNK_ECONFIG, "%s:%d: key '%s' outside any section", c->e->path, c->line, key);
        c->failed = 1;
        return 0;
    }
    for (int i = 0; i < s->n; i++)
        if (!strcmp(s->entries[i].key, key)) {
            nnk_err_set(c->err, NNK_ECONFIG, "%s:%d: key '%s' repeats the one at line %d in [%s%s%s]", c->e->path,
                        c->line, key, s->entries[i].line, s->kind, s->name ? " " : "", s->name ? s->name : "");
            c->failed = 1;
            return 0;
        }
    if (set_entry(s, key, value, c->line)) {
        nnk_err_set(c->err, NNK_ENOMEM, "out of memory");
        c->failed = 1;
        return 0;
    }
    return 1;
}

void nnk_experiment_free(nnk_experiment *e)
{
    if (!e)
        return;
    for (int i = 0; i < e->n; i++) {
        nnk_ini_section *s = &e->sections[i];
        for (int k = 0; k < s->n; k++) {
            free(s->entries[k].key);
            free(s->entries[k].value);
        }
        free(s->entries);
        free(s->kind);
        free(s->name);
    }
    free(e->sections);
    free(e->path);
    free(e);
}

/* Data files named in the experiment file are relative to the file's own
 * directory (a --set value stays relative to where nnkit runs): each is
 * rewritten as a path from here. fashion-mnist:... and absolute paths
 * stay as they are. */
static int resolve_data_paths(nnk_experiment *e)
{
    const char *slash = strrchr(e->path, '/');
    if (!slash)
        return 0; /* the file is here: its paths are ours */
    int dir_len = (int)(slash - e->path);
    for (int i = 0; i < e->n; i++) {
        nnk_ini_section *s = &e->sections[i];
        if (strcmp(s->kind, "data"))
            continue;
        for (int k = 0; k < s->n; k++) {
            nnk_ini_entry *en = &s->entries[k];
            if ((strcmp(en->key, "train") && strcmp(en->key, "test") && strcmp(en->key, "validation")) ||
                !*en->value || en->value[0] == '/' || strchr(en->value, ':'))
                continue;
            size_t n = (size_t)dir_len + 1 + strlen(en->value) + 1;
            char *v = malloc(n);
            if (!v)
                return -1;
            snprintf(v, n, "%.*s/%s", dir_len, e->path, en->value);
            free(en->value);
            en->value = v;
        }
    }
    return 0;
}

nnk_experiment *nnk_experiment_load(const char *path, nnk_err *err)
{
    nnk_experiment *e = calloc(1, sizeof *e);
    parse_ctx c = {e, NULL, 0, err, 0, -1};
    if (!e || !(e->path = strdup(path))) {
        free(e);
        nnk_err_set(err, NNK_ENOMEM, "out of memory");
        return NULL;
    }
    c.f = nnk_open_input(path, "experiment", err);
    if (!c.f) {
        if (err)
            err->status = NNK_EUSAGE;
        nnk_experiment_free(e);
        return NULL;
    }
    int rc = ini_parse_stream(count_lines, &c, handler, &c);
    fclose(c.f);
    if (c.failed || rc) {
        if (!c.failed)
            nnk_err_set(err, NNK_ECONFIG, "%s:%d: syntax error (expected [section] or key = value)",
                        path, rc > 0 ? rc : c.line);
        nnk_experiment_free(e);
        return NULL;
    }
    if (resolve_data_paths(e)) {
        nnk_err_set(err, NNK_ENOMEM, "out of memory");
        nnk_experiment_free(e);
        return NULL;
    }
    return e;
}

/* The experiment as INI text: every section and key as held now (--set
 * included, data paths resolved, comments gone); the caller frees it. */
char *nnk_experiment_text(const nnk_experiment *e)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (!f)
        return NULL;
    for (int i = 0; i < e->n; i++) {
        const nnk_ini_section *s = &e->sections[i];
        fprintf(f, "%s[%s%s%s]\n", i ? "\n" : "", s->kind, s->name ? " " : "", s->name ? s->name : "");
        for (int k = 0; k < s->n; k++)
            fprintf(f, "%s = %s\n", s->entries[k].key, s->entries[k].value);
    }
    fclose(f);
    return buf;
}

/* The section --set or --unset names: a named section by its name, or an
 * unnamed kind ([fit], [compile], ...; made when the file lacks it). */
static nnk_ini_section *override_section(nnk_experiment *e, const char *sec)
{
    for (int i = 0; i < e->n; i++)
        if (e->sections[i].name && !strcmp(e->sections[i].name, sec))
            return &e->sections[i];
    for (int i = 0; section_kinds[i]; i++)
        if (!strcmp(sec, section_kinds[i]) && strcmp(sec, "layer") && strcmp(sec, "callback")) {
            nnk_ini_section *s = find_section(e, sec, NULL);
            nnk_err tmp;
            return s ? s : add_section(e, sec, 0, &tmp);
        }
    return NULL;
}

static int no_section(const nnk_experiment *e, const char *what, const char *sec, nnk_err *err)
{
    const char *names[128];
    int n = 0;
    for (int i = 0; i < e->n && n < 120; i++)
        names[n++] = e->sections[i].name ? e->sections[i].name : e->sections[i].kind;
    const char *hint = nnk_suggest(sec, names, n);
    return nnk_err_set(err, NNK_EUSAGE, "%s: no section '%s' in '%s'%s%s%s", what, sec, e->path,
                       hint ? " (did you mean '" : "", hint ? hint : "", hint ? "'?)" : "");
}

/* --unset SECTION.KEY removes a key; --unset NAME a [callback NAME]. */
static int unset_entry(nnk_experiment *e, const char *what, const char *sec, const char *key, nnk_err *err)
{
    nnk_ini_section *s = override_section(e, sec);
    if (!s)
        return no_section(e, what, sec, err);
    if (!key) {
        if (strcmp(s->kind, "callback"))
            return nnk_err_set(err, NNK_EUSAGE, "%s: only a callback is removed whole; give SECTION.KEY for a key of [%s%s%s]",
                               what, s->kind, s->name ? " " : "", s->name ? s->name : "");
        for (int k = 0; k < s->n; k++)
            free(s->entries[k].key), free(s->entries[k].value);
        free(s->entries), free(s->kind), free(s->name);
        memmove(s, s + 1, sizeof *s * (size_t)(e->n - (s - e->sections) - 1));
        e->n--;
        return NNK_OK;
    }
    for (int k = 0; k < s->n; k++)
        if (!strcmp(s->entries[k].key, key)) {
            free(s->entries[k].key), free(s->entries[k].value);
            memmove(&s->entries[k], &s->entries[k + 1], sizeof *s->entries * (size_t)(s->n - k - 1));
            s->n--;
            return NNK_OK;
        }
    return nnk_err_set(err, NNK_EUSAGE, "%s: section [%s%s%s] has no key '%s'", what, s->kind, s->name ? " " : "",
                       s->name ? s->name : "", key);
}

int nnk_experiment_override(nnk_experiment *e, const char *assignment, nnk_err *err)
{
    const char *eq = strchr(assignment, '='), *dot = strchr(assignment, '.');
    char sec[128], key[128], what[300];
    if (!eq) { /* a removal */
        snprintf(what, sizeof what, "--unset '%.200s'", assignment);
        if (!*assignment || dot == assignment || (dot && !dot[1]))
            return nnk_err_set(err, NNK_EUSAGE, "%s: expected section.key, or the name of a callback", what);
        snprintf(sec, sizeof sec, "%.*s", dot ? (int)(dot - assignment) : (int)strlen(assignment), assignment);
        return unset_entry(e, what, sec, dot ? dot + 1 : NULL, err);
    }
    if (!dot || dot > eq || dot == assignment || dot + 1 == eq)
        return nnk_err_set(err, NNK_EUSAGE, "--set '%s': expected section.key=value", assignment);
    snprintf(sec, sizeof sec, "%.*s", (int)(dot - assignment), assignment);
    snprintf(key, sizeof key, "%.*s", (int)(eq - dot - 1), dot + 1);
    nnk_ini_section *s = override_section(e, sec);
    int is_kind = 0;
    for (int i = 0; section_kinds[i]; i++)
        is_kind |= !strcmp(sec, section_kinds[i]);
    if (!s && !is_kind && !strcmp(key, "type")) { /* NAME.type=T adds [callback NAME] of type T */
        nnk_err why = {NNK_OK, ""};
        if (nnk_name_check("callback", sec, &why))
            return nnk_err_set(err, NNK_EUSAGE, "--set '%s': %s", assignment, why.msg);
        char header[300];
        snprintf(header, sizeof header, "callback %s", sec);
        if (!(s = add_section(e, header, 0, &why)))
            return nnk_err_set(err, NNK_ENOMEM, "out of memory");
    }
    if (!s) {
        snprintf(what, sizeof what, "--set '%.200s'", assignment);
        return no_section(e, what, sec, err);
    }
    if (set_entry(s, key, eq + 1, 0))
        return nnk_err_set(err, NNK_ENOMEM, "out of memory");
    return NNK_OK;
}

const char *nnk_experiment_get(const nnk_experiment *e, const char *kind, const char *key)
{
    for (int i = 0; i < e->n; i++)
        if (!strcmp(e->sections[i].kind, kind))
            for (int k = 0; k < e->sections[i].n; k++)
                if (!strcmp(e->sections[i].entries[k].key, key))
                    return e->sections[i].entries[k].value;
    return NULL;
}

static void where_text(const nnk_experiment *e, const nnk_ini_entry *en, char *buf, size_t n)
{
    if (en->line > 0)
        snprintf(buf, n, "%s:%d", e->path, en->line);
    else
        snprintf(buf, n, "--set");
}

/* ---- [data], [fit], [run] ------------------------------------------------ */

#define RC(f) offsetof(nnk_run_config, f)
static const char *const missing_choices[] = {"error", "mean", "median", "zero", NULL};
static const char *const unknown_choices[] = {"error", "ignore", NULL};
static const char *const check_weights_choices[] = {"epoch", "step", NULL};
static const nnk_param_spec data_specs[] = {
    {"train", NNK_PARAM_STRING, NULL, 0, 0, NULL, "training data: fashion-mnist:train, a .csv or an IDX file", RC(train)},
    {"test", NNK_PARAM_STRING, "", 0, 0, NULL, "test data, evaluated after training", RC(test)},
    {"validation", NNK_PARAM_STRING, "", 0, 0, NULL, "separate validation data", RC(validation)},
    {"label", NNK_PARAM_STRING, "", 0, 0, NULL, "CSV label column(s), comma separated", RC(label)},
    {"features", NNK_PARAM_STRING, "", 0, 0, NULL, "CSV feature columns (default: all but the labels)", RC(features)},
    {"validation_split", NNK_PARAM_FLOAT, "0", 0, 0.99, NULL, "last fraction of the training data kept for validation (before shuffling)", RC(validation_split)},
    {"test_split", NNK_PARAM_FLOAT, "0", 0, 0.99, NULL, "last fraction of the training file held out as test data (when no test file)", RC(test_split)},
    {"scale", NNK_PARAM_FLOAT, "1", 1e-30, 1e30, NULL, "inputs are multiplied by this (1/255 for pixels)", RC(scale)},
    {"standardize", NNK_PARAM_BOOL, "false", 0, 0, NULL, "standardise each feature with mean/std of the training split (saved with the model)", RC(standardize)},
    {"missing", NNK_PARAM_CHOICE, "error", 0, 0, missing_choices, "missing cells (empty, NA, nan): an error naming the first, or filled with the training split's mean, median or zero (saved with the model)", RC(missing)},
    {"unknown_category", NNK_PARAM_CHOICE, "error", 0, 0, unknown_choices, "a text the training split did not have, in a one-hot encoded column: an error naming its line, or ignore (all zeros)", RC(unknown_category)},
    {"shard", NNK_PARAM_BOOL, "false", 0, 0, NULL, "under mpirun: each process loads only its part of the training data and shuffles its own rows (validation and test come from files)", RC(shard)},
    {"class_names", NNK_PARAM_STRING, "", 0, 0, NULL, "names of the classes by index, comma separated (default: the data's own, e.g. Fashion-MNIST's)", RC(class_names)},
    {"shuffle_split", NNK_PARAM_BOOL, "false", 0, 0, NULL, "shuffle the rows (seeded by fit.seed) before test_split and validation_split take the last ones (default: Keras's last rows)", RC(shuffle_split)},
    {NULL, 0, NULL, 0, 0, NULL, NULL, 0}};
static const nnk_param_spec fit_specs[] = {
    {"epochs", NNK_PARAM_INT, "1", 0, 1000000, NULL, "passes over the training data", RC(epochs)},
    {"check_weights", NNK_PARAM_CHOICE, "epoch", 0, 0, check_weights_choices, "under mpirun: compare every process's weights with rank 0's after every epoch, or after every step (a debug aid)", RC(check_weights)},
    {"gradient_buckets", NNK_PARAM_BOOL, "false", 0, 0, NULL, "under mpirun: sum the gradients in buckets while backward runs (DDP's overlap), for links slower than the compute", RC(gradient_buckets)},
    {"threads", NNK_PARAM_INT, "0", 0, 1024, NULL, "BLAS threads (0: OPENBLAS_NUM_THREADS when set, else every core); results are bit-identical for the same count", RC(threads)},
    {"initial_epoch", NNK_PARAM_INT, "0", 0, 1000000, NULL, "the epoch to start at (continued training: numbering, schedules and logged steps go on from it)", RC(initial_epoch)},
    {"batch_size", NNK_PARAM_INT, "32", 1, 1000000, NULL, "samples per gradient step", RC(batch_size)},
    {"shuffle", NNK_PARAM_BOOL, "true", 0, 0, NULL, "reshuffle the training data every epoch", RC(shuffle)},
    {"seed", NNK_PARAM_INT, "42", 0, 9007199254740991.0, NULL, "seed of every random stream (weights, shuffling)", RC(seed)},
    {"verbose", NNK_PARAM_INT, "1", 0, 2, NULL, "0 silent, 1 progress (bar on a terminal), 2 one line per epoch", RC(verbose)},
    {NULL, 0, NULL, 0, 0, NULL, NULL, 0}};
static const nnk_param_spec run_specs[] = {
    {"dir", NNK_PARAM_STRING, "runs", 0, 0, NULL, "directory holding the runs", RC(run_dir)},
    {"name", NNK_PARAM_STRING, "", 0, 0, NULL, "run name (default: experiment name and time)", RC(run_name)},
    {NULL, 0, NULL, 0, 0, NULL, NULL, 0}};

static const char *const compile_keys[] = {"loss", "optimizer", "learning_rate", "metrics", "outputs", "loss_weights",
                                           "clipnorm", "clipvalue", "global_clipnorm", NULL};

static int spec_has(const nnk_param_spec *specs, const char *key)
{
    for (int i = 0; specs[i].name; i++)
        if (!strcmp(specs[i].name, key))
            return 1;
    return 0;
}

/* The section other than `kind` where key belongs, or NULL: an error for a
 * key in the wrong section names the right one. */
static const char *home_of(const char *kind, const char *key)
{
    static const struct {
        const char *kind;
        const nnk_param_spec *specs;
    } homes[] = {{"data", data_specs}, {"fit", fit_specs}, {"run", run_specs}};
    for (size_t i = 0; i < sizeof homes / sizeof homes[0]; i++)
        if (strcmp(kind, homes[i].kind) && spec_has(homes[i].specs, key))
            return homes[i].kind;
    for (int i = 0; compile_keys[i]; i++)
        if (strcmp(kind, "compile") && !strcmp(key, compile_keys[i]))
            return "compile";
    return NULL;
}

static int wrong_section(const char *where, const char *kind, const char *key, const char *home, nnk_err *err)
{
    return nnk_err_set(err, NNK_ECONFIG, "%s: unknown key '%s' for section [%s]; it belongs in [%s]", where, key, kind,
                       home);
}

static nnk_params *section_params(const nnk_experiment *e, const char *kind,
                                  const nnk_param_spec *specs, nnk_err *err)
{
    char owner[64];
    snprintf(owner, sizeof owner, "section [%s]", kind);
    nnk_params *p = nnk_params_new(specs, sizeof(nnk_run_config), owner, err);
    if (!p)
        return NULL;
    for (int i = 0; i < e->n; i++) {
        const nnk_ini_section *s = &e->sections[i];
        if (strcmp(s->kind, kind))
            continue;
        for (int k = 0; k < s->n; k++) {
            char where[600];
            where_text(e, &s->entries[k], where, sizeof where);
            const char *home = spec_has(specs, s->entries[k].key) ? NULL : home_of(kind, s->entries[k].key);
            if (home) {
                wrong_section(where, kind, s->entries[k].key, home, err);
                nnk_params_free(p);
                return NULL;
            }
            if (nnk_params_set(p, s->entries[k].key, s->entries[k].value, where, err)) {
                nnk_params_free(p);
                return NULL;
            }
        }
    }
    if (nnk_params_check_required(p, err)) {
        nnk_params_free(p);
        return NULL;
    }
    return p;
}

/* With [input NAME] columns = ..., the data's features are every input's
 * columns in input order (a column may feed several inputs). */
static int join_input_columns(const nnk_experiment *e, nnk_experiment_parts *parts, nnk_err *err)
{
    int with = 0, without = 0;
    size_t len = 1;
    for (int i = 0; i < e->n; i++) {
        if (strcmp(e->sections[i].kind, "input"))
            continue;
        const char *cols = NULL;
        for (int k = 0; k < e->sections[i].n; k++)
            if (!strcmp(e->sections[i].entries[k].key, "columns"))
                cols = e->sections[i].entries[k].value;
        with += cols != NULL;
        without += cols == NULL;
        len += cols ? strlen(cols) + 2 : 0;
    }
    if (!with)
        return NNK_OK;
    if (without)
        return nnk_err_set(err, NNK_ECONFIG, "%s: some [input] sections name their columns and some do not; name them in every input",
                           e->path);
    if (*parts->cfg.features)
        return nnk_err_set(err, NNK_ECONFIG, "%s: [data] features and [input] columns both given; keep one",
                           e->path);
    char *joined = calloc(len, 1);
    if (!joined)
        return nnk_err_set(err, NNK_ENOMEM, "out of memory");
    for (int i = 0; i < e->n; i++) {
        if (strcmp(e->sections[i].kind, "input"))
            continue;
        for (int k = 0; k < e->sections[i].n; k++)
            if (!strcmp(e->sections[i].entries[k].key, "columns")) {
                if (*joined)
                    strcat(joined, ", ");
                strcat(joined, e->sections[i].entries[k].value);
            }
    }
    parts->joined_features = joined;
    parts->cfg.features = joined;
    return NNK_OK;
}

void nnk_experiment_parts_clear(nnk_experiment_parts *parts)
{
    free(parts->joined_features);
    nnk_params_free(parts->data);
    nnk_params_free(parts->fit);
    nnk_params_free(parts->run);
    memset(parts, 0, sizeof *parts);
}

int nnk_experiment_settings(const nnk_experiment *e, nnk_experiment_parts *parts,
                            nnk_err *err)
{
    memset(parts, 0, sizeof *parts);
    parts->data = section_params(e, "data", data_specs, err);
    if (parts->data)
        parts->fit = section_params(e, "fit", fit_specs, err);
    if (parts->fit)
        parts->run = section_params(e, "run", run_specs, err);
    if (!parts->run) {
        nnk_experiment_parts_clear(parts);
        return err ? err->status : NNK_ECONFIG;
    }
    const nnk_run_config *d = nnk_params_config(parts->data);
    const nnk_run_config *f = nnk_params_config(parts->fit);
    const nnk_run_config *r = nnk_params_config(parts->run);
    nnk_run_config *c = &parts->cfg;
    c->train = d->train; c->test = d->test; c->validation = d->validation;
    c->label = d->label; c->features = d->features;
    c->validation_split = d->validation_split; c->test_split = d->test_split;
    c->scale = d->scale; c->standardize = d->standardize; c->shuffle_split = d->shuffle_split;
    c->class_names = d->class_names;
    c->missing = d->missing;
    c->unknown_category = d->unknown_category;
    c->shard = d->shard;
    c->epochs = f->epochs; c->batch_size = f->batch_size; c->shuffle = f->shuffle;
    c->initial_epoch = f->initial_epoch;
    c->threads = f->threads;
    c->check_weights = f->check_weights;
    c->gradient_buckets = f->gradient_buckets;
    c->seed = f->seed; c->verbose = f->verbose;
    c->run_dir = r->run_dir; c->run_name = r->run_name;
    /* an empty directory would put runs at the file system's root */
    if (!*c->run_dir || strchr(c->run_name, '/') || !strcmp(c->run_name, ".") || !strcmp(c->run_name, "..")) {
        int rc = !*c->run_dir
                     ? nnk_err_set(err, NNK_ECONFIG, "section [run]: parameter 'dir' must name a directory, got ''")
                     : nnk_err_set(err, NNK_ECONFIG, "section [run]: parameter 'name' must be one path component, got '%s'",
                                   r->run_name);
        nnk_experiment_parts_clear(parts);
        return rc;
    }
    int rc = join_input_columns(e, parts, err);
    if (rc)
        nnk_experiment_parts_clear(parts);
    return rc;
}

/* ---- model and callbacks ------------------------------------------------ */

static int parse_shape(const char *text, nnk_shape *s)
{
    memset(s, 0, sizeof *s);
    const char *p = text;
    while (*p) {
        char *end;
        long long v = strtoll(p, &end, 10);
        if (end == p || v < 1 || s->ndim == NNK_MAX_DIMS - 1)
            return -1;
        s->dim[s->ndim++] = v;
        p = end;
        while (*p == ' ' || *p == ',')
            p++;
    }
    return s->ndim ? 0 : -1;
}

static int split_list(const char *text, char **copy, const char **out, int cap);

/* How many names a comma- or blank-separated list holds. */
static int count_list(const char *text)
{
    int n = 0;
    for (const char *p = text; *p;) {
        p += strspn(p, ", ");
        if (!*p)
            break;
        n++;
        p += strcspn(p, ", ");
    }
    return n;
}

static int add_inputs(const nnk_experiment *e, nnk_model *m, nnk_err *err)
{
    for (int i = 0; i < e->n; i++) {
        const nnk_ini_section *s = &e->sections[i];
        if (strcmp(s->kind, "input"))
            continue;
        nnk_shape shape;
        const char *text = NULL, *columns = NULL;
        for (int k = 0; k < s->n; k++) {
            char where[600];
            where_text(e, &s->entries[k], where, sizeof where);
            static const char *const input_keys[] = {"shape", "columns"};
            const char *hint = nnk_suggest(s->entries[k].key, input_keys, 2);
            if (!strcmp(s->entries[k].key, "shape"))
                text = s->entries[k].value;
            else if (!strcmp(s->entries[k].key, "columns"))
                columns = s->entries[k].value;
            else
                return nnk_err_set(err, NNK_ECONFIG, "%s: unknown key '%s' for section [input]%s%s%s",
                                   where, s->entries[k].key, hint ? " (did you mean '" : "",
                                   hint ? hint : "", hint ? "'?)" : "");
        }
        int n_cols = columns ? count_list(columns) : 0; /* the CSV columns this input takes */
        char cols_text[32];
        if (!text && n_cols) {
            snprintf(cols_text, sizeof cols_text, "%d", n_cols);
            text = cols_text;
        }
        if (!text || parse_shape(text, &shape))
            return nnk_err_set(err, NNK_ECONFIG,
                               "%s:%d: section [input%s%s] needs shape = D1[, D2...] with positive sizes, got '%s'",
                               e->path, s->line, s->name ? " " : "", s->name ? s->name : "",
                               text ? text : "");
        int64_t size = nnk_shape_elements(&shape);
        if (size < 0)
            return nnk_err_set(err, NNK_ECONFIG, "%s:%d: input '%s': shape %s has too many values (at most %lld)",
                               e->path, s->line, s->name ? s->name : "input", text, (long long)NNK_MAX_ELEMENTS);
        if (n_cols && size != n_cols)
            return nnk_err_set(err, NNK_ECONFIG, "%s:%d: input '%s' has shape %s but %d columns",
                               e->path, s->line, s->name ? s->name : "input", text, n_cols);
        int rc = nnk_model_add_input(m, s->name ? s->name : "input", &shape, err);
        if (rc)
            return rc;
    }
    if (nnk_model_inputs(m, NULL, NULL, 0) == 0)
        return nnk_err_set(err, NNK_ECONFIG, "%s: no [input] section (give the shape of one sample)",
                           e->path);
    return NNK_OK;
}

const char *nnk_ini_section_value(const nnk_ini_section *s, const char *key)
{
    for (int k = 0; k < s->n; k++)
        if (!strcmp(s->entries[k].key, key))
            return s->entries[k].value;
    return NULL;
}

const char *nnk_ini_section_type(const nnk_ini_section *s)
{
    const char *type = nnk_ini_section_value(s, "type");
    return type ? type : s->name;
}

/* A [layer NAME] section: its type, inputs, trainable and repeat, and its
 * other keys (the layer's parameters) with where each was written. */
typedef struct layer_section {
    const char *type, *keys[64], *values[64], *where[64], *inputs[NNK_MAX_INPUTS];
    char wbuf[64][600], alias[NNK_MAX_INPUTS][300];
    char *inputs_copy;
    int n, n_in, trainable;
    long long repeat; /* 0: one layer under its own name */
} layer_section;

/* One key of the section into ls. */
static int layer_key(const nnk_experiment *e, const nnk_ini_section *s, const nnk_ini_entry *en, layer_section *ls,
                     nnk_err *err)
{
    char w[600];
    if (!strcmp(en->key, "type")) {
        ls->type = en->value;
    } else if (!strcmp(en->key, "trainable")) { /* Keras's layer.trainable, for every layer */
        const char *v = en->value;
        ls->trainable = !strcmp(v, "true") || !strcmp(v, "1") ? 1 : !strcmp(v, "false") || !strcmp(v, "0") ? 0 : -1;
        if (ls->trainable < 0) {
            where_text(e, en, w, sizeof w);
            return nnk_err_set(err, NNK_ECONFIG, "%s: layer '%s': parameter 'trainable' must be true or false, got '%s'", w,
                               s->name, v);
        }
    } else if (!strcmp(en->key, "repeat")) { /* N chained copies: NAME_1 ... NAME_N */
        char *end;
        ls->repeat = strtoll(en->value, &end, 10);
        if (!*en->value || *end || ls->repeat < 1 || ls->repeat > 1000) {
            where_text(e, en, w, sizeof w);
            return nnk_err_set(err, NNK_ECONFIG, "%s: layer '%s': parameter 'repeat' must be an integer in [1, 1000], got '%s'",
                               w, s->name, en->value);
        }
    } else if (!strcmp(en->key, "inputs")) {
        free(ls->inputs_copy);
        ls->inputs_copy = strdup(en->value);
        char *save = NULL;
        ls->n_in = 0;
        for (char *t = strtok_r(ls->inputs_copy, ", ", &save); t && ls->n_in < NNK_MAX_INPUTS; t = strtok_r(NULL, ", ", &save))
            ls->inputs[ls->n_in++] = t;
    } else {
        where_text(e, en, ls->wbuf[ls->n], sizeof ls->wbuf[ls->n]);
        ls->where[ls->n] = ls->wbuf[ls->n];
        ls->keys[ls->n] = en->key;
        ls->values[ls->n++] = en->value;
    }
    return NNK_OK;
}

/* An input naming a repeated layer means its last copy. */
static void resolve_repeated_inputs(const nnk_experiment *e, layer_section *ls)
{
    for (int k = 0; k < ls->n_in; k++)
        for (int j = 0; j < e->n; j++) {
            const nnk_ini_section *o = &e->sections[j];
            const char *r = o->name && !strcmp(o->kind, "layer") && !strcmp(o->name, ls->inputs[k])
                                ? nnk_ini_section_value(o, "repeat")
                                : NULL;
            if (r) {
                snprintf(ls->alias[k], sizeof ls->alias[k], "%s_%s", ls->inputs[k], r);
                ls->inputs[k] = ls->alias[k];
            }
        }
}

/* The layer section s into m (its copies, when repeated). */
static int add_layer_section(const nnk_experiment *e, const nnk_ini_section *s, nnk_model *m, layer_section *ls,
                             nnk_err *err)
{
    if (s->n > 64)
        return nnk_err_set(err, NNK_ECONFIG, "%s:%d: layer '%s' has %d keys, at most 64", e->path, s->line, s->name, s->n);
    for (int k = 0; k < s->n && ls->n < 64; k++)
        if (layer_key(e, s, &s->entries[k], ls, err))
            return err->status;
    if (!ls->type) /* [layer flatten] with no type: the name is the type */
        ls->type = nnk_registry_find(nnk_model_registry(m), NNK_KIND_LAYER, s->name) ? s->name : NULL;
    if (!ls->type)
        return nnk_err_set(err, NNK_ECONFIG, "%s:%d: layer '%s' has no 'type'", e->path, s->line, s->name);
    resolve_repeated_inputs(e, ls);
    int rc = NNK_OK;
    for (long long copy = 1; !rc && copy <= (ls->repeat ? ls->repeat : 1); copy++) {
        char name[300], prev[300];
        const char *in1[1] = {prev};
        snprintf(name, sizeof name, ls->repeat ? "%s_%lld" : "%s", s->name, copy);
        snprintf(prev, sizeof prev, "%s_%lld", s->name, copy - 1);
        rc = copy == 1 ? nnk_model_add_layer(m, name, ls->type, ls->inputs, ls->n_in, ls->keys, ls->values, ls->where,
                                             ls->n, err)
                       : nnk_model_add_layer(m, name, ls->type, in1, 1, ls->keys, ls->values, ls->where, ls->n, err);
        if (!rc && !ls->trainable)
            rc = nnk_model_set_trainable(m, name, 0, err);
    }
    return rc;
}

static int add_layers(const nnk_experiment *e, nnk_model *m, nnk_err *err)
{
    layer_section *ls = malloc(sizeof *ls);
    int rc = ls ? NNK_OK : nnk_err_set(err, NNK_ENOMEM, "out of memory");
    for (int i = 0; !rc && i < e->n; i++) {
        if (strcmp(e->sections[i].kind, "layer"))
            continue;
        memset(ls, 0, sizeof *ls);
        ls->trainable = 1;
        rc = add_layer_section(e, &e->sections[i], m, ls, err);
        free(ls->inputs_copy);
    }
    free(ls);
    return rc;
}

/* Splits "a, b" into at most cap pieces in copy (which the caller frees). */
static int split_list(const char *text, char **copy, const char **out, int cap)
{
    *copy = strdup(text ? text : "");
    int n = 0;
    char *save = NULL;
    for (char *t = strtok_r(*copy, ", ", &save); t && n < cap; t = strtok_r(NULL, ", ", &save))
        out[n++] = t;
    return n;
}

/* Whether the comma or blank separated list holds word. */
static int list_has(const char *list, const char *word)
{
    size_t n = strlen(word);
    for (const char *p = list ? list : ""; *p;) {
        p += strspn(p, ", ");
        size_t k = strcspn(p, ", ");
        if (k == n && !strncmp(p, word, n))
            return 1;
        p += k;
    }
    return 0;
}

/* [compile]'s own numbers, checked by parameter specs like every other key
 * (one rule, one message, a non-finite value refused). */
typedef struct compile_numbers {
    double learning_rate, clipnorm, clipvalue, global_clipnorm;
} compile_numbers;
#define CN(f) offsetof(compile_numbers, f)
static const nnk_param_spec compile_specs[] = {
    {"learning_rate", NNK_PARAM_FLOAT, "0.01", 1e-30, 1e30, NULL, "the optimizer's step size (default: the optimizer's)", CN(learning_rate)},
    {"clipnorm", NNK_PARAM_FLOAT, "1", 1e-30, 1e30, NULL, "clip each weight's gradient to this norm", CN(clipnorm)},
    {"clipvalue", NNK_PARAM_FLOAT, "1", 1e-30, 1e30, NULL, "clip every gradient value to [-v, v]", CN(clipvalue)},
    {"global_clipnorm", NNK_PARAM_FLOAT, "1", 1e-30, 1e30, NULL, "clip all gradients together to this norm", CN(global_clipnorm)},
    {NULL, 0, NULL, 0, 0, NULL, NULL, 0}};

static int compile_number(const char *key, const char *value, const char *where, double *out, nnk_err *err)
{
    nnk_params *p = nnk_params_new(compile_specs, sizeof(compile_numbers), "compile", err);
    int rc = p ? nnk_params_set(p, key, value, where, err) : NNK_ENOMEM;
    for (int i = 0; !rc && compile_specs[i].name; i++)
        if (!strcmp(compile_specs[i].name, key))
            *out = *(const double *)((const char *)nnk_params_config(p) + compile_specs[i].offset);
    nnk_params_free(p);
    return rc;
}

/* What [compile] says: the keys compile knows by name, and the rest
 * (optimizer and loss parameters) with where each was written. */
typedef struct compile_section {
    nnk_compile_options co;
    const char *loss, *outputs, *weights, *keys[64], *values[64], *where[64];
    char wbuf[64][600], wloss[600], wweights[600];
    int n;
} compile_section;

/* One [compile] key into ck. */
static int compile_key(const nnk_experiment *e, const nnk_ini_entry *en, compile_section *ck, nnk_err *err)
{
    char w[600];
    where_text(e, en, w, sizeof w);
    if (!strcmp(en->key, "loss")) {
        ck->loss = en->value;
        snprintf(ck->wloss, sizeof ck->wloss, "%s", w);
    } else if (!strcmp(en->key, "optimizer")) {
        ck->co.optimizer = en->value;
    } else if (!strcmp(en->key, "metrics")) {
        ck->co.metrics = en->value;
    } else if (!strcmp(en->key, "outputs")) {
        ck->outputs = en->value;
    } else if (!strcmp(en->key, "loss_weights")) {
        ck->weights = en->value;
        snprintf(ck->wweights, sizeof ck->wweights, "%s", w);
    } else if (!strcmp(en->key, "learning_rate") || !strcmp(en->key, "clipnorm") || !strcmp(en->key, "clipvalue") ||
               !strcmp(en->key, "global_clipnorm")) {
        double v = 0;
        if (compile_number(en->key, en->value, w, &v, err))
            return err->status;
        *(!strcmp(en->key, "learning_rate") ? &ck->co.learning_rate
          : !strcmp(en->key, "clipnorm")    ? &ck->co.clipnorm
          : !strcmp(en->key, "clipvalue")   ? &ck->co.clipvalue
                                            : &ck->co.global_clipnorm) = v;
    } else if (home_of("compile", en->key)) {
        return wrong_section(w, "compile", en->key, home_of("compile", en->key), err);
    } else {
        snprintf(ck->wbuf[ck->n], sizeof ck->wbuf[ck->n], "%s", w);
        ck->where[ck->n] = ck->wbuf[ck->n];
        ck->keys[ck->n] = en->key;
        ck->values[ck->n++] = en->value;
    }
    return NNK_OK;
}

static int read_compile(const nnk_experiment *e, compile_section *ck, nnk_err *err)
{
    int found = 0;
    for (int i = 0; i < e->n; i++) {
        const nnk_ini_section *s = &e->sections[i];
        if (strcmp(s->kind, "compile"))
            continue;
        found = 1;
        if (s->n > 64)
            return nnk_err_set(err, NNK_ECONFIG, "%s:%d: section [compile] has %d keys, at most 64", e->path, s->line, s->n);
        for (int k = 0; k < s->n && ck->n < 64; k++)
            if (compile_key(e, &s->entries[k], ck, err))
                return err->status;
    }
    if (!found || !ck->loss)
        return nnk_err_set(err, NNK_ECONFIG, "%s: section [compile] needs a 'loss'", e->path);
    return NNK_OK;
}

/* OPTIMIZER.key, LOSS.key and METRIC.key apply only when that optimizer,
 * loss or metric is compiled, so a sweep can switch them (sgd.momentum =
 * 0.9 with adam, huber.delta = 1 with mse): the others are dropped, the
 * scope cut off (but a metric's, which compile reads). */
static int scope_keys(const nnk_model *m, compile_section *ck, nnk_err *err)
{
    const char *opt = ck->co.optimizer ? ck->co.optimizer : "sgd";
    int kept = 0;
    for (int i = 0; i < ck->n; i++) {
        const char *dot = strchr(ck->keys[i], '.');
        if (dot) {
            char scope[128];
            snprintf(scope, sizeof scope, "%.*s", (int)(dot - ck->keys[i]), ck->keys[i]);
            const nnk_registry *reg = nnk_model_registry(m);
            int is_opt = nnk_registry_find(reg, NNK_KIND_OPTIMIZER, scope) != NULL;
            int is_metric = !is_opt && (nnk_registry_find(reg, NNK_KIND_METRIC, scope) || !strcmp(scope, "accuracy"));
            if (!is_opt && !is_metric && !nnk_registry_find(reg, NNK_KIND_LOSS, scope))
                return nnk_err_set(err, NNK_ECONFIG, "%s: compile: '%s' names no optimizer, loss or metric ('%s')",
                                   ck->where[i], ck->keys[i], scope);
            if (is_opt ? strcmp(scope, opt) : !list_has(is_metric ? ck->co.metrics : ck->loss, scope))
                continue; /* for another optimizer, loss or metric */
            if (!is_metric) /* a metric's key keeps its scope: compile gives it to that metric */
                ck->keys[i] = dot + 1;
        }
        ck->keys[kept] = ck->keys[i];
        ck->values[kept] = ck->values[i];
        ck->where[kept++] = ck->where[i];
    }
    ck->n = kept;
    return NNK_OK;
}

/* The outputs, their losses and loss weights, then compile. */
static int compile_outputs(const nnk_experiment *e, compile_section *ck, nnk_model *m, nnk_err *err)
{
    nnk_compile_options *co = &ck->co;
    char *out_copy, *loss_copy, *w_copy;
    const char *out_names[NNK_MAX_OUTPUTS + 1], *losses[NNK_MAX_OUTPUTS + 1], *wtext[NNK_MAX_OUTPUTS + 1];
    double w[NNK_MAX_OUTPUTS + 1];
    co->n_outputs = split_list(ck->outputs, &out_copy, out_names, NNK_MAX_OUTPUTS + 1);
    co->n_losses = split_list(ck->loss, &loss_copy, losses, NNK_MAX_OUTPUTS + 1);
    int n_w = split_list(ck->weights, &w_copy, wtext, NNK_MAX_OUTPUTS + 1);
    int rc = NNK_OK, n_out = co->n_outputs ? co->n_outputs : 1;
    if (co->n_outputs > NNK_MAX_OUTPUTS)
        rc = nnk_err_set(err, NNK_ECONFIG, "%s: compile: at most %d outputs", e->path, NNK_MAX_OUTPUTS);
    else if (co->n_losses != 1 && co->n_losses != n_out)
        rc = nnk_err_set(err, NNK_ECONFIG, "%s: compile: %d losses for %d outputs (give one for all, or one per output)",
                         ck->wloss, co->n_losses, n_out);
    else if (ck->weights && n_w != n_out)
        rc = nnk_err_set(err, NNK_ECONFIG, "%s: compile: %d loss_weights for %d outputs", ck->wweights, n_w, n_out);
    for (int k = 0; !rc && ck->weights && k < n_w; k++) {
        char *end;
        w[k] = strtod(wtext[k], &end);
        if (*end || !(w[k] >= 0))
            rc = nnk_err_set(err, NNK_ECONFIG, "%s: compile: loss weight '%s' must be a number >= 0", ck->wweights,
                             wtext[k]);
    }
    if (!rc) {
        co->outputs = out_names;
        co->losses = losses;
        co->loss_weights = ck->weights ? w : NULL;
        co->keys = ck->keys;
        co->values = ck->values;
        co->where = ck->where;
        co->n_params = ck->n;
        rc = nnk_model_compile_with(m, co, err);
    }
    free(out_copy);
    free(loss_copy);
    free(w_copy);
    return rc;
}

static int compile_model(const nnk_experiment *e, nnk_model *m, nnk_err *err)
{
    compile_section *ck = calloc(1, sizeof *ck);
    if (!ck)
        return nnk_err_set(err, NNK_ENOMEM, "out of memory");
    nnk_compile_options_init(&ck->co);
    int rc = read_compile(e, ck, err);
    if (!rc)
        rc = scope_keys(m, ck, err);
    if (!rc)
        rc = compile_outputs(e, ck, m, err);
    free(ck);
    return rc;
}

nnk_model *nnk_experiment_model(const nnk_experiment *e, nnk_registry *reg, nnk_err *err)
{
    nnk_model *m = nnk_model_new(reg);
    if (!m) {
        nnk_err_set(err, NNK_ENOMEM, "out of memory");
        return NULL;
    }
    int rc = add_inputs(e, m, err);
    if (!rc)
        rc = add_layers(e, m, err);
    if (!rc && nnk_model_layer_count(m) == 0)
        rc = nnk_err_set(err, NNK_ECONFIG, "%s: no [layer NAME] sections", e->path);
    if (!rc)
        rc = compile_model(e, m, err);
    if (rc) {
        nnk_model_free(m);
        return NULL;
    }
    return m;
}

nnk_callback **nnk_experiment_callbacks(const nnk_experiment *e, nnk_registry *reg, int *n_out,
                                        nnk_err *err)
{
    nnk_callback **cbs = calloc((size_t)e->n + 2, sizeof *cbs);
    int n = 0;
    if (!cbs) {
        nnk_err_set(err, NNK_ENOMEM, "out of memory");
        return NULL;
    }
    for (int i = 0; i < e->n; i++) {
        const nnk_ini_section *s = &e->sections[i];
        if (strcmp(s->kind, "callback"))
            continue;
        const char *type = s->name, *keys[64], *values[64];
        char wbuf[64][600];
        const char *where[64];
        int np = 0;
        for (int k = 0; k < s->n && np < 64; k++) {
            if (!strcmp(s->entries[k].key, "type")) {
                type = s->entries[k].value;
                continue;
            }
            where_text(e, &s->entries[k], wbuf[np], sizeof wbuf[np]);
            where[np] = wbuf[np];
            keys[np] = s->entries[k].key;
            values[np++] = s->entries[k].value;
        }
        nnk_callback *cb = nnk_callback_new(reg, type, s->name, keys, values, where, np, err);
        if (!cb) {
            for (int k = 0; k < n; k++)
                nnk_callback_free(cbs[k]);
            free(cbs);
            return NULL;
        }
        cbs[n++] = cb;
    }
    *n_out = n;
    return cbs;
}

/* A data file's path from anywhere: absolute (fashion-mnist:... and
 * absolute paths as they are), so a config.ini or best.ini reads the same
 * data wherever it is run from. Caller frees. */
char *nnk_experiment_data_path(const char *value)
{
    if (!*value || value[0] == '/' || strchr(value, ':'))
        return strdup(value);
    char real[PATH_MAX];
    if (realpath(value, real))
        return strdup(real);
    char cwd[PATH_MAX];
    size_t n = strlen(value) + PATH_MAX + 2;
    char *out = malloc(n);
    if (out)
        snprintf(out, n, "%s/%s", getcwd(cwd, sizeof cwd) ? cwd : ".", value);
    return out;
}

static int is_data_path(const char *key)
{
    return !strcmp(key, "train") || !strcmp(key, "test") || !strcmp(key, "validation");
}

static void write_params(FILE *f, const nnk_params *p)
{
    for (int i = 0; p && i < nnk_params_count(p); i++) {
        char buf[1024];
        nnk_params_format(p, i, buf, sizeof buf);
        const char *name = nnk_params_spec(p, i)->name;
        char *path = is_data_path(name) ? nnk_experiment_data_path(buf) : NULL;
        fprintf(f, "%s = %s\n", name, path ? path : buf);
        free(path);
    }
}

static void write_changed_params(FILE *f, const char *scope, const nnk_params *p)
{
    for (int i = 0; p && i < nnk_params_count(p); i++) {
        char buf[1024];
        nnk_params_format(p, i, buf, sizeof buf);
        const nnk_param_spec *spec = nnk_params_spec(p, i);
        if (strcmp(buf, spec->default_value ? spec->default_value : ""))
            fprintf(f, "%s.%s = %s\n", scope, spec->name, buf);
    }
}

/* Input i's name and shape. */
static void input_at(const nnk_model *m, int i, const char **name, nnk_shape *shape)
{
    const char *names[NNK_MAX_INPUTS];
    nnk_shape shapes[NNK_MAX_INPUTS];
    nnk_model_inputs(m, names, shapes, NNK_MAX_INPUTS);
    *name = names[i];
    *shape = shapes[i];
}

/* A [callback NAME] section with every parameter, defaults included, as
 * the component's specs type them. */
static void write_callback(FILE *f, nnk_registry *reg, const nnk_ini_section *s)
{
    const char *type = nnk_ini_section_type(s);
    fprintf(f, "\n[callback %s]\ntype = %s\n", s->name, type);
    const nnk_component_info *c = nnk_registry_find(reg, NNK_KIND_CALLBACK, type);
    const nnk_callback_vtable *vt = c ? c->vtable : NULL;
    nnk_params *p = vt ? nnk_params_new(vt->params, vt->config_size, s->name, NULL) : NULL;
    int ok = p != NULL;
    for (int k = 0; ok && k < s->n; k++)
        ok = !strcmp(s->entries[k].key, "type") || !nnk_params_set(p, s->entries[k].key, s->entries[k].value, NULL, NULL);
    if (ok) {
        write_params(f, p);
    } else { /* not a valid section (it would have failed before): as written */
        for (int k = 0; k < s->n; k++)
            if (strcmp(s->entries[k].key, "type"))
                fprintf(f, "%s = %s\n", s->entries[k].key, s->entries[k].value);
    }
    nnk_params_free(p);
}

/* The columns = of the experiment's [input NAME] section, or NULL. */
static const char *input_columns(const nnk_experiment *e, const char *name)
{
    for (int i = 0; i < e->n; i++) {
        const nnk_ini_section *s = &e->sections[i];
        if (!strcmp(s->kind, "input") && !strcmp(s->name ? s->name : "input", name))
            return nnk_ini_section_value(s, "columns");
    }
    return NULL;
}

/* With one-hot encoded text columns: which column of input i is which. */
static void write_encoded_columns(FILE *f, const nnk_model *m, int i)
{
    if (!nnk_model_encoded_feature_count(m))
        return;
    int64_t start = 0;
    for (int k = 0; k < i; k++) {
        const char *name;
        nnk_shape shape;
        input_at(m, k, &name, &shape);
        start += nnk_shape_elements(&shape);
    }
    const char *name;
    nnk_shape shape;
    input_at(m, i, &name, &shape);
    fprintf(f, "; its columns, text columns one-hot encoded:");
    for (int64_t c = start; c < start + nnk_shape_elements(&shape); c++) {
        const char *col = nnk_model_encoded_feature_name(m, c);
        fprintf(f, "%s %s", c > start ? "," : "", col ? col : "?");
    }
    fprintf(f, "\n");
}

/* The resolved [input] and [layer] sections. */
static void write_graph(FILE *f, const nnk_experiment *e, const nnk_model *m)
{
    int n_in = nnk_model_inputs(m, NULL, NULL, 0);
    for (int i = 0; i < n_in; i++) {
        const char *name;
        nnk_shape shape;
        input_at(m, i, &name, &shape);
        int named = strcmp(name, "input") != 0;
        const char *columns = input_columns(e, name);
        fprintf(f, "\n[input%s%s]\n", named ? " " : "", named ? name : "");
        if (columns) { /* the CSV columns it takes give its shape (and keep config.ini trainable) */
            fprintf(f, "columns = %s\n", columns);
        } else {
            fprintf(f, "shape = ");
            for (int d = 0; d < shape.ndim; d++)
                fprintf(f, "%s%lld", d ? "," : "", (long long)shape.dim[d]);
            fprintf(f, "\n");
        }
        write_encoded_columns(f, m, i);
    }
    for (int i = 0; i < nnk_model_layer_count(m); i++) {
        nnk_layer_info li;
        nnk_model_layer(m, i, &li);
        fprintf(f, "\n[layer %s]\ntype = %s\ninputs = ", li.name, li.type);
        for (int k = 0; k < li.n_inputs; k++)
            fprintf(f, "%s%s", k ? ", " : "", li.inputs[k]);
        fprintf(f, "\ntrainable = %s\n", nnk_model_layer_trainable(m, i) ? "true" : "false");
        write_params(f, nnk_model_layer_params(m, i));
    }
}

/* The resolved [compile] section. */
static void write_compile(FILE *f, const nnk_model *m)
{
    int n_out = nnk_model_outputs(m, NULL, NULL, 0);
    nnk_output_info oi[16];
    for (int k = 0; k < n_out && k < 16; k++)
        nnk_model_output_info(m, k, &oi[k]);
    fprintf(f, "\n[compile]\noutputs = ");
    for (int k = 0; k < n_out; k++)
        fprintf(f, "%s%s", k ? ", " : "", oi[k].name);
    fprintf(f, "\nloss = ");
    for (int k = 0; k < n_out; k++)
        fprintf(f, "%s%s", k ? ", " : "", oi[k].loss);
    char num[64];
    fprintf(f, "\nloss_weights = ");
    for (int k = 0; k < n_out; k++) {
        nnk_format_double(oi[k].loss_weight, num, sizeof num);
        fprintf(f, "%s%s", k ? ", " : "", num);
    }
    const nnk_params *opt_params;
    const char *opt = nnk_model_optimizer(m, &opt_params);
    nnk_format_double(nnk_model_learning_rate(m), num, sizeof num);
    fprintf(f, "\noptimizer = %s\nlearning_rate = %s\n", opt ? opt : "", num);
    const char *clip_names[3] = {"clipnorm", "clipvalue", "global_clipnorm"};
    double clips[3];
    nnk_model_clipping(m, &clips[0], &clips[1], &clips[2]);
    for (int k = 0; k < 3; k++)
        if (clips[k] > 0) {
            nnk_format_double(clips[k], num, sizeof num);
            fprintf(f, "%s = %s\n", clip_names[k], num);
        }
    fprintf(f, "metrics = ");
    for (int i = 0; n_out && i < oi[0].n_metrics; i++)
        fprintf(f, "%s%s", i ? ", " : "", nnk_model_output_metric(m, 0, i));
    fprintf(f, "\n");
    write_params(f, opt_params);
    if (n_out)
        write_params(f, oi[0].loss_params);
    for (int i = 0; n_out && i < oi[0].n_metrics; i++) /* METRIC.key where it is not the default */
        write_changed_params(f, nnk_model_output_metric(m, 0, i), nnk_model_output_metric_params(m, 0, i));
}

char *nnk_experiment_resolved_text(const nnk_experiment *e, const nnk_model *m,
                                   const nnk_experiment_parts *parts)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (!f)
        return NULL;
    fprintf(f, "; %s, fully resolved (defaults and --set included)\n\n[data]\n", e->path);
    write_params(f, parts->data);
    write_graph(f, e, m);
    write_compile(f, m);
    fprintf(f, "\n[fit]\n");
    write_params(f, parts->fit);
    for (int i = 0; i < e->n; i++) {
        const nnk_ini_section *s = &e->sections[i];
        if (!strcmp(s->kind, "callback"))
            write_callback(f, nnk_model_registry(m), s);
    }
    fprintf(f, "\n[run]\n");
    write_params(f, parts->run);
    fclose(f);
    return buf;
}

static int push_hparam(char ***names, char ***values, int *n, const char *name,
                       const char *value)
{
    for (int i = 0; i < *n; i++)
        if (!strcmp((*names)[i], name))
            return 0; /* already there: the experiment's own value wins */
    char **nn = realloc(*names, sizeof(char *) * (size_t)(*n + 1));
    if (!nn)
        return -1;
    *names = nn;
    char **vv = realloc(*values, sizeof(char *) * (size_t)(*n + 1));
    if (!vv)
        return -1;
    *values = vv;
    (*names)[*n] = strdup(name);
    (*values)[*n] = strdup(value);
    (*n)++;
    return 0;
}

int nnk_experiment_hparams(const nnk_experiment *e, const nnk_experiment_parts *parts,
                           const nnk_model *m, char ***names, char ***values, int *n)
{
    /* where the data is, how much is printed, how many threads and where
     * files go are settings of the machine and the run, not of the model */
    static const char *const not_hparams[] = {"train", "test", "validation", "label", "features", "verbose",
                                              "threads", "log_dir", "filepath", "filename", "backup_dir", NULL};
    *names = NULL;
    *values = NULL;
    *n = 0;
    char key[300], buf[64];
    const char *opt = nnk_model_optimizer(m, NULL);
    for (int i = 0; i < e->n; i++) {
        const nnk_ini_section *s = &e->sections[i];
        int named = !strcmp(s->kind, "layer") || !strcmp(s->kind, "callback");
        if (!named && strcmp(s->kind, "data") && strcmp(s->kind, "compile") && strcmp(s->kind, "fit"))
            continue;
        for (int k = 0; k < s->n; k++) {
            const char *name = s->entries[k].key, *dot = strchr(name, '.');
            int skip = !strcmp(s->kind, "layer") && !strcmp(name, "inputs");
            skip |= named && !strcmp(name, "type");
            for (int j = 0; not_hparams[j]; j++)
                skip |= !strcmp(s->kind, "layer") ? 0 : !strcmp(name, not_hparams[j]);
            /* OPTIMIZER.key in [compile] applies only with that optimizer */
            skip |= !strcmp(s->kind, "compile") && dot && (!opt || strncmp(name, opt, (size_t)(dot - name)) ||
                                                           opt[dot - name]);
            if (skip)
                continue;
            snprintf(key, sizeof key, "%s.%s", named ? s->name : s->kind, name);
            if (push_hparam(names, values, n, key, s->entries[k].value))
                return NNK_ENOMEM;
        }
    }
    const nnk_run_config *c = &parts->cfg;
    nnk_format_double(nnk_model_learning_rate(m), buf, sizeof buf);
    int rc = push_hparam(names, values, n, "compile.optimizer", opt ? opt : "") ||
             push_hparam(names, values, n, "compile.learning_rate", buf);
    snprintf(buf, sizeof buf, "%lld", (long long)c->batch_size);
    rc = rc || push_hparam(names, values, n, "fit.batch_size", buf);
    snprintf(buf, sizeof buf, "%lld", (long long)c->epochs);
    rc = rc || push_hparam(names, values, n, "fit.epochs", buf);
    return rc ? NNK_ENOMEM : NNK_OK;
}

void nnk_experiment_hparams_free(char **names, char **values, int n)
{
    for (int i = 0; i < n; i++) {
        free(names[i]);
        free(values[i]);
    }
    free(names);
    free(values);
}
