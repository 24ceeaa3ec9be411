/* Per-thread scratch buffers, kept between calls: the convolution's
 * per-slice gradients, its im2col columns and oneDNN's scratchpads are
 * allocated once per thread and size, not once per step. A thread's
 * buffers are freed when it exits. */
#include "compute.h"
#include <pthread.h>
#include <stdlib.h>

#define SLOTS 4

typedef struct workspace {
    float *buf[SLOTS];
    int64_t cap[SLOTS];
} workspace;

static pthread_key_t key;
static pthread_once_t key_once = PTHREAD_ONCE_INIT;

static void workspace_free(void *p)
{
    workspace *w = p;
    for (int i = 0; i < SLOTS; i++)
        free(w->buf[i]);
    free(w);
}

static void make_key(void) { (void)pthread_key_create(&key, workspace_free); }

float *nnk__thread_workspace(int slot, int64_t n)
{
    if (slot < 0 || slot >= SLOTS || n < 0)
        return NULL;
    pthread_once(&key_once, make_key);
    workspace *w = pthread_getspecific(key);
    if (!w) {
        if (!(w = calloc(1, sizeof *w)) || pthread_setspecific(key, w)) {
            free(w);
            return NULL;
        }
    }
    if (w->cap[slot] < n || !w->buf[slot]) {
        float *p = nnk__floats_aligned(n, 0);
        if (!p)
            return NULL;
        free(w->buf[slot]);
        w->buf[slot] = p;
        w->cap[slot] = n;
    }
    return w->buf[slot];
}
