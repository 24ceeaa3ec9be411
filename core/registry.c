/* Plugin registry and loader: dlopen, version check, component index. */
#include "internal.h"
#include <dirent.h>
#include <dlfcn.h>
#include <link.h> /* dladdr1 (with -D_GNU_SOURCE): the record's symbol table entry */
#include <stdint.h>
#include <limits.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct loaded_plugin {
    void *handle;
    char *path;
    const nnk_plugin *desc;
} loaded_plugin;

struct nnk_registry {
    int n_plugins, cap_plugins;
    loaded_plugin *plugins;
    int n_comps, cap_comps;
    nnk_component_info **comps; /* individually allocated: pointers stay valid */
    char *searched;
};

static pthread_mutex_t registry_lock = PTHREAD_MUTEX_INITIALIZER;

/* A registered component: what the API shows, and for a plugin built for
 * ABI 2 the ABI 3 copy of its vtable that info.vtable points to. */
typedef struct registered {
    nnk_component_info info; /* first: the registry's pointers are to it */
    void *abi2_copy;
} registered;

static void free_component(nnk_component_info *c)
{
    if (c)
        free(((registered *)(void *)c)->abi2_copy);
    free(c);
}

nnk_registry *nnk_registry_new(void)
{
    return calloc(1, sizeof(nnk_registry));
}

void nnk_registry_free(nnk_registry *reg)
{
    if (!reg)
        return;
    for (int i = 0; i < reg->n_plugins; i++) {
        /* Handles stay open: descriptors may still be referenced by
         * objects the caller has not freed yet, and dlclose of code that
         * is still referenced is undefined. The OS unmaps them at exit. */
        free(reg->plugins[i].path);
    }
    free(reg->plugins);
    for (int i = 0; i < reg->n_comps; i++)
        free_component(reg->comps[i]);
    free(reg->comps);
    free(reg->searched);
    free(reg);
}

const nnk_component_info *nnk_registry_find(const nnk_registry *reg,
                                            nnk_kind kind, const char *name)
{
    for (int i = 0; reg && name && i < reg->n_comps; i++)
        if (reg->comps[i]->kind == kind && !strcmp(reg->comps[i]->name, name))
            return reg->comps[i];
    return NULL;
}

int nnk_registry_count(const nnk_registry *reg) { return reg->n_comps; }
const nnk_component_info *nnk_registry_at(const nnk_registry *reg, int i)
{
    return i >= 0 && i < reg->n_comps ? reg->comps[i] : NULL;
}

void nnk_registry_names(const nnk_registry *reg, nnk_kind kind, char *buf,
                        size_t n)
{
    buf[0] = 0;
    for (int i = 0; i < reg->n_comps; i++) {
        if (reg->comps[i]->kind != kind)
            continue;
        if (buf[0])
            strncat(buf, ", ", n - strlen(buf) - 1);
        strncat(buf, reg->comps[i]->name, n - strlen(buf) - 1);
    }
}

const char *nnk_registry_searched(const nnk_registry *reg)
{
    return reg->searched ? reg->searched : "";
}

/* What each kind's vtable looks like to the loader: the descriptor's array
 * and, for every entry, the common header fields. All vtables begin with
 * struct_size, name, doc, params (pinned by tests/test_loader.c). */
typedef struct vt_head {
    size_t struct_size;
    const char *name;
    const char *doc;
    const nnk_param_spec *params;
} vt_head;

static const void *const *kind_array(const nnk_plugin *p, nnk_kind k)
{
    switch (k) {
    case NNK_KIND_LAYER: return (const void *const *)p->layers;
    case NNK_KIND_ACTIVATION: return (const void *const *)p->activations;
    case NNK_KIND_LOSS: return (const void *const *)p->losses;
    case NNK_KIND_METRIC: return (const void *const *)p->metrics;
    case NNK_KIND_OPTIMIZER: return (const void *const *)p->optimizers;
    case NNK_KIND_CALLBACK: return (const void *const *)p->callbacks;
    default: return NULL;
    }
}

static int add_component(nnk_registry *reg, nnk_kind kind, const vt_head *h,
                         const loaded_plugin *lp, nnk_err *err)
{
    int rc = nnk__check_component(kind, h, lp->desc->abi_major, lp->path, err);
    if (rc)
        return rc;
    const nnk_component_info *old = nnk_registry_find(reg, kind, h->name);
    if (old)
        return nnk_err_set(err, NNK_EPLUGIN,
                           "plugin '%s': duplicate %s '%s', already provided by '%s'",
                           lp->path, nnk_kind_name(kind), h->name, old->path);
    if (reg->n_comps == reg->cap_comps) {
        int cap = reg->cap_comps ? reg->cap_comps * 2 : 64;
        nnk_component_info **c = realloc(reg->comps, (size_t)cap * sizeof *c);
        if (!c)
            return nnk_err_set(err, NNK_ENOMEM, "out of memory");
        reg->comps = c;
        reg->cap_comps = cap;
    }
    registered *r = calloc(1, sizeof *r);
    void *abi3 = lp->desc->abi_major == 2 ? nnk__abi2_vtable(kind, h, (unsigned)lp->desc->abi_minor) : NULL;
    if (!r || (lp->desc->abi_major == 2 && !abi3)) {
        free(r);
        free(abi3);
        return nnk_err_set(err, NNK_ENOMEM, "out of memory");
    }
    if (abi3) /* the core reads an ABI 2 component through its ABI 3 copy */
        h = r->abi2_copy = abi3;
    nnk_component_info *c = &r->info;
    reg->comps[reg->n_comps] = c;
    c->kind = kind;
    c->name = h->name;
    c->doc = h->doc ? h->doc : "";
    c->params = h->params;
    c->vtable = h;
    c->plugin_name = lp->desc->name;
    c->plugin_version = lp->desc->version;
    c->path = lp->path;
    reg->n_comps++;
    return NNK_OK;
}

static int plugin_loaded(const nnk_registry *reg, const char *name)
{
    for (int i = 0; i < reg->n_plugins; i++)
        if (!strcmp(reg->plugins[i].desc->name, name))
            return 1;
    return 0;
}

static int register_plugin(nnk_registry *reg, void *handle, const char *path,
                           const nnk_plugin *desc, int skip_known_name,
                           nnk_err *err)
{
    if (skip_known_name && plugin_loaded(reg, desc->name))
        return NNK_OK;
    if (reg->n_plugins == reg->cap_plugins) {
        int cap = reg->cap_plugins ? reg->cap_plugins * 2 : 16;
        loaded_plugin *p = realloc(reg->plugins, (size_t)cap * sizeof *p);
        if (!p)
            return nnk_err_set(err, NNK_ENOMEM, "out of memory");
        reg->plugins = p;
        reg->cap_plugins = cap;
    }
    loaded_plugin *lp = &reg->plugins[reg->n_plugins];
    lp->handle = handle;
    lp->path = strdup(path);
    lp->desc = desc;
    if (!lp->path)
        return nnk_err_set(err, NNK_ENOMEM, "out of memory");
    int first = reg->n_comps;
    for (int k = 0; k < NNK_KIND_COUNT; k++) {
        const void *const *arr = kind_array(desc, (nnk_kind)k);
        for (int i = 0; arr && arr[i]; i++) {
            int rc = add_component(reg, (nnk_kind)k, arr[i], lp, err);
            if (rc) {
                while (reg->n_comps > first) /* all or nothing */
                    free_component(reg->comps[--reg->n_comps]);
                free(lp->path);
                return rc;
            }
        }
    }
    reg->n_plugins++;
    return NNK_OK;
}

/* The exported symbol must be a data object at least as large as the record
 * and aligned for it, as the dynamic symbol table says, before one of its
 * bytes is read: a function or a short array of that name is refused. */
static int check_record_symbol(const void *record, const char *path, nnk_err *err)
{
    Dl_info info;
    const ElfW(Sym) *sym = NULL;
    if (!dladdr1(record, &info, (void **)&sym, RTLD_DL_SYMENT) || !sym)
        return nnk_err_set(err, NNK_EPLUGIN, "plugin '%s': not an nnkit plugin (%s has no symbol table entry)", path,
                           NNK_PLUGIN_SYMBOL_NAME);
    if (ELF64_ST_TYPE(sym->st_info) != STT_OBJECT)
        return nnk_err_set(err, NNK_EPLUGIN, "plugin '%s': not an nnkit plugin (%s is not a data record)", path,
                           NNK_PLUGIN_SYMBOL_NAME);
    if (sym->st_size < sizeof(nnk_plugin_record))
        return nnk_err_set(err, NNK_EPLUGIN, "plugin '%s': not an nnkit plugin (%s is %zu bytes, the record %zu)", path,
                           NNK_PLUGIN_SYMBOL_NAME, (size_t)sym->st_size, sizeof(nnk_plugin_record));
    if ((uintptr_t)record % _Alignof(nnk_plugin_record))
        return nnk_err_set(err, NNK_EPLUGIN, "plugin '%s': not an nnkit plugin (%s is not aligned to %zu bytes)", path,
                           NNK_PLUGIN_SYMBOL_NAME, _Alignof(nnk_plugin_record));
    return NNK_OK;
}

static int load_file(nnk_registry *reg, const char *path, int skip_known,
                     nnk_err *err)
{
    void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (!h) {
        const char *why = dlerror();
        return nnk_err_set(err, NNK_EPLUGIN, "plugin '%s': cannot open: %s",
                           path, why ? why : "unknown reason");
    }
    /* the record first: no plugin code runs before it checks out */
    const nnk_plugin_record *record = dlsym(h, NNK_PLUGIN_SYMBOL_NAME);
    if (!record) {
        dlclose(h);
        return nnk_err_set(err, NNK_EPLUGIN, "plugin '%s': not an nnkit plugin (no %s record)", path,
                           NNK_PLUGIN_SYMBOL_NAME);
    }
    int rc = check_record_symbol(record, path, err);
    if (!rc)
        rc = nnk__check_plugin_record(record, path, err);
    if (rc) {
        dlclose(h);
        return rc;
    }
    nnk_err perr = {NNK_OK, ""};
    pthread_mutex_lock(&registry_lock);
    const nnk_plugin *desc = record->init(record->abi_major == 2 ? nnk__abi2_host() : &nnk__host_table, &perr);
    pthread_mutex_unlock(&registry_lock);
    if (!desc) {
        dlclose(h);
        return nnk_err_set(err, NNK_EPLUGIN, "plugin '%s': init failed: %s",
                           path, perr.msg[0] ? perr.msg : "no reason given");
    }
    if ((rc = nnk__check_plugin_descriptor(desc, record, path, err))) {
        dlclose(h);
        return rc;
    }
    rc = register_plugin(reg, h, path, desc, skip_known, err);
    if (rc)
        dlclose(h);
    return rc;
}

int nnk_registry_load_file(nnk_registry *reg, const char *path, nnk_err *err)
{
    return load_file(reg, path, 0, err);
}

static int has_so_suffix(const char *n)
{
    size_t l = strlen(n);
    return l > 3 && !strcmp(n + l - 3, ".so");
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int load_dir(nnk_registry *reg, const char *dir, int skip_known,
                    nnk_err *err)
{
    DIR *d = opendir(dir);
    if (!d)
        return nnk_err_set(err, NNK_EPLUGIN,
                           "plugin directory '%s': cannot open", dir);
    char **names = NULL;
    int n = 0, cap = 0, rc = NNK_OK;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (!has_so_suffix(e->d_name))
            continue;
        if (n == cap) {
            cap = cap ? cap * 2 : 16;
            char **nn = realloc(names, (size_t)cap * sizeof *nn);
            if (!nn) {
                rc = nnk_err_set(err, NNK_ENOMEM, "out of memory");
                break;
            }
            names = nn;
        }
        names[n++] = strdup(e->d_name);
    }
    closedir(d);
    if (!rc)
        qsort(names, (size_t)n, sizeof *names, cmp_str);
    for (int i = 0; i < n && !rc; i++) {
        char path[PATH_MAX];
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        rc = load_file(reg, path, skip_known, err);
    }
    for (int i = 0; i < n; i++)
        free(names[i]);
    free(names);
    return rc;
}

int nnk_registry_load_dir(nnk_registry *reg, const char *dir, nnk_err *err)
{
    return load_dir(reg, dir, 0, err);
}

static void add_searched(nnk_registry *reg, const char *dir)
{
    size_t old = reg->searched ? strlen(reg->searched) : 0;
    char *s = realloc(reg->searched, old + strlen(dir) + 3);
    if (!s)
        return;
    if (old)
        strcpy(s + old, ", ");
    else
        s[0] = 0;
    strcat(s, dir);
    reg->searched = s;
}

static int dir_exists(const char *dir)
{
    DIR *d = opendir(dir);
    if (d)
        closedir(d);
    return d != NULL;
}

/* True when this process runs from the build tree (tests, ./build/nnkit). */
static int running_from_build_tree(void)
{
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n <= 0)
        return 0;
    exe[n] = 0;
    size_t l = strlen(NNK_BUILD_ROOT);
    return !strncmp(exe, NNK_BUILD_ROOT, l) && exe[l] == '/';
}

int nnk_registry_load_default(nnk_registry *reg, const char *plugin_dir,
                              nnk_err *err)
{
    int rc;
    if (plugin_dir && *plugin_dir) {
        add_searched(reg, plugin_dir);
        if ((rc = load_dir(reg, plugin_dir, 1, err)))
            return rc;
    }
    const char *env = getenv("NNKIT_PLUGIN_PATH");
    if (env && *env) {
        char *copy = strdup(env), *save = NULL;
        for (char *dir = strtok_r(copy, ":", &save); dir;
             dir = strtok_r(NULL, ":", &save)) {
            add_searched(reg, dir);
            if (!dir_exists(dir))
                continue;
            if ((rc = load_dir(reg, dir, 1, err))) {
                free(copy);
                return rc;
            }
        }
        free(copy);
    }
    const char *std_dir = running_from_build_tree() ? NNK_BUILD_PLUGIN_DIR
                                                    : NNK_INSTALL_PLUGIN_DIR;
    add_searched(reg, std_dir);
    if (dir_exists(std_dir) && (rc = load_dir(reg, std_dir, 1, err)))
        return rc;
    return NNK_OK;
}

int nnk__unknown_component(const nnk_registry *reg, nnk_kind kind,
                             const char *name, const char *owner,
                             nnk_err *err)
{
    char list[1100], names[1024];
    nnk_registry_names(reg, kind, names, sizeof names);
    const char *cands[257];
    int n = 0;
    /* "accuracy" (and "acc") is compile's own name for the accuracy the loss implies */
    int metric = kind == NNK_KIND_METRIC;
    snprintf(list, sizeof list, "%s%s", metric ? "accuracy (the one the loss implies), " : "", names);
    if (metric)
        cands[n++] = "accuracy";
    for (int i = 0; i < nnk_registry_count(reg) && n < 257; i++) {
        const nnk_component_info *c = nnk_registry_at(reg, i);
        if (c->kind == kind)
            cands[n++] = c->name;
    }
    const char *hint = nnk_suggest(name, cands, n);
    char hint_text[128] = "";
    if (hint)
        snprintf(hint_text, sizeof hint_text, " (did you mean '%s'?)", hint);
    return nnk_err_set(err, NNK_ECONFIG, "%s: unknown %s '%s'%s; available: %s",
                       owner, nnk_kind_name(kind), name, hint_text,
                       names[0] ? list : "none (no plugins loaded)");
}
