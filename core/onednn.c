/* oneDNN's engine, the calling thread's stream and a cache of primitives
 * by key, shared by the host's convolution and pooling (compute.h). A
 * primitive is made once per key (shape, pass, slice of the batch, team
 * size) and kept for the life of the process: the first CACHE_SIZE keys;
 * any other key gets a primitive made for its call and dropped after,
 * which oneDNN's own primitive cache makes cheap. */
#include "compute.h"
#include <pthread.h>
#include <string.h>

#define CACHE_SIZE 256

static struct {
    pthread_mutex_t lock;
    dnnl_engine_t engine;
    int engine_failed;
    nnk_onednn_entry entries[CACHE_SIZE];
    int used; /* entries filled; never emptied, so no primitive goes while in use */
} cache = {.lock = PTHREAD_MUTEX_INITIALIZER};

dnnl_engine_t nnk__onednn_engine(void) { return cache.engine; }

const nnk_onednn_entry *nnk__onednn_entry(const void *key, size_t size, nnk_onednn_fill fill, nnk_onednn_entry *own,
                                          int *temporary)
{
    unsigned char padded[NNK_ONEDNN_KEY_BYTES] = {0};
    if (size > sizeof padded)
        return NULL;
    memcpy(padded, key, size);
    *temporary = 0;
    pthread_mutex_lock(&cache.lock);
    const nnk_onednn_entry *found = NULL;
    for (int i = 0; i < cache.used && !found; i++)
        if (!memcmp(cache.entries[i].key, padded, sizeof padded))
            found = &cache.entries[i];
    if (!found && !cache.engine && !cache.engine_failed)
        cache.engine_failed = dnnl_engine_create(&cache.engine, dnnl_cpu, 0) != dnnl_success;
    if (!found && !cache.engine_failed) {
        nnk_onednn_entry *e = cache.used < CACHE_SIZE ? &cache.entries[cache.used++] : own;
        memset(e, 0, sizeof *e);
        memcpy(e->key, padded, sizeof padded);
        fill(e, key, cache.engine);
        *temporary = e == own;
        found = e;
    }
    pthread_mutex_unlock(&cache.lock);
    return found;
}

void nnk__onednn_drop(nnk_onednn_entry *own, int temporary)
{
    if (!temporary)
        return;
    if (own->primitive)
        dnnl_primitive_destroy(own->primitive);
    if (own->aux)
        dnnl_primitive_destroy(own->aux);
}

void nnk__onednn_scratchpad(nnk_onednn_entry *e, const_dnnl_primitive_desc_t pd)
{
    const dnnl_memory_desc_t *scratch = dnnl_primitive_desc_query_md(pd, dnnl_query_scratchpad_md, 0);
    e->scratch_floats = scratch ? (int64_t)((dnnl_memory_desc_get_size(scratch) + 3) / 4) : 0;
    if (scratch)
        e->scratch_md = *scratch;
}

/* The calling thread's stream on the engine, made on its first call. */
static pthread_key_t stream_key;
static pthread_once_t stream_once = PTHREAD_ONCE_INIT;
static void stream_free(void *s) { dnnl_stream_destroy(s); }
static void make_stream_key(void) { (void)pthread_key_create(&stream_key, stream_free); }

dnnl_stream_t nnk__onednn_stream(void)
{
    pthread_once(&stream_once, make_stream_key);
    dnnl_stream_t s = pthread_getspecific(stream_key);
    if (!s && cache.engine &&
        (dnnl_stream_create(&s, cache.engine, dnnl_stream_default_flags) || pthread_setspecific(stream_key, s))) {
        if (s)
            dnnl_stream_destroy(s);
        return NULL;
    }
    return s;
}

int nnk__onednn_run(dnnl_primitive_t p, dnnl_stream_t stream, int n, const dnnl_exec_arg_t *args)
{
    return dnnl_primitive_execute(p, stream, n, args) || dnnl_stream_wait(stream) ? -1 : 0;
}
