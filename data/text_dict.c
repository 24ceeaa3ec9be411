/* Interning texts: each distinct text gets the next index, found again by
 * hashing (FNV-1a, open addressing at most half full). */
#include "data_internal.h"
#include <stdlib.h>
#include <string.h>

static uint64_t hash_text(const char *s)
{
    uint64_t h = 1469598103934665603ull;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return h;
}

static int grow_slots(nnk_text_dict *t)
{
    int64_t n = t->n_slots ? t->n_slots * 2 : 64;
    int64_t *slots = calloc((size_t)n, sizeof(int64_t));
    if (!slots)
        return -1;
    for (int64_t i = 0; i < t->n; i++) {
        uint64_t h = hash_text(t->values[i]) & (uint64_t)(n - 1);
        while (slots[h])
            h = (h + 1) & (uint64_t)(n - 1);
        slots[h] = i + 1;
    }
    free(t->slots);
    t->slots = slots;
    t->n_slots = n;
    return 0;
}

int64_t nnkd__text_dict_intern(nnk_text_dict *t, const char *text)
{
    if (2 * (t->n + 1) > t->n_slots && grow_slots(t))
        return -1;
    uint64_t mask = (uint64_t)(t->n_slots - 1), h = hash_text(text) & mask;
    for (; t->slots[h]; h = (h + 1) & mask)
        if (!strcmp(t->values[t->slots[h] - 1], text))
            return t->slots[h] - 1;
    if (t->n == t->cap) {
        int64_t cap = t->cap ? t->cap * 2 : 16;
        char **v = realloc(t->values, sizeof(char *) * (size_t)cap);
        if (!v)
            return -1;
        t->values = v;
        t->cap = cap;
    }
    if (!(t->values[t->n] = strdup(text)))
        return -1;
    t->slots[h] = t->n + 1;
    return t->n++;
}

void nnkd__text_dict_free(nnk_text_dict *t)
{
    for (int64_t i = 0; i < t->n; i++)
        free(t->values[i]);
    free(t->values);
    free(t->slots);
    memset(t, 0, sizeof *t);
}
