/* nnkit's status table, error buffer and checked size arithmetic: what
 * every nnkit library and every plugin shares (plugin.h and nnkit.h include
 * it). Errors cross every boundary as a caller-owned nnk_err: a status and
 * one line of text. */
#ifndef NNKIT_STATUS_H
#define NNKIT_STATUS_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define NNK_ERR_MAX 512

#define NNK_EXPORT __attribute__((visibility("default")))
/* Marks the public API of nnkit's libraries; everything else is hidden. */
#define NNK_API __attribute__((visibility("default")))

/* One status table for the whole project (libuv style): every kind of
 * failure and its text. What a program does with each (the runner's exit
 * status) is the program's policy. */
#define NNK_STATUS_MAP(X)                  \
    X(OK, "ok")                            \
    X(EUSAGE, "usage error")               \
    X(ECONFIG, "configuration error")      \
    X(ESHAPE, "shape mismatch")            \
    X(EPLUGIN, "plugin error")             \
    X(EDATA, "data error")                 \
    X(EIO, "i/o error")                    \
    X(ENOMEM, "out of memory")             \
    X(EMODEL, "model file error")          \
    X(ERUNTIME, "runtime error")

typedef enum nnk_status {
#define NNK_STATUS_ENUM(name, text) NNK_##name,
    NNK_STATUS_MAP(NNK_STATUS_ENUM)
#undef NNK_STATUS_ENUM
    NNK_STATUS_COUNT
} nnk_status;

/* Caller-owned error buffer. msg is one line, lower case, no trailing
 * newline; status says which kind of failure it was. */
typedef struct nnk_err {
    nnk_status status;
    char msg[NNK_ERR_MAX];
} nnk_err;

/* ---- checked size arithmetic ------------------------------------------
 * Every product of sizes (shapes, rows x columns, counts x element sizes)
 * goes through these, so a hostile shape is refused instead of wrapping to
 * a small allocation. A tensor holds at most NNK_MAX_ELEMENTS values. */

#define NNK_MAX_ELEMENTS ((int64_t)1 << 40)

/* *out = a * b. Returns 0, or -1 (and *out = -1) when a or b is negative
 * or the product passes NNK_MAX_ELEMENTS. */
static inline int nnk_size_mul(int64_t a, int64_t b, int64_t *out)
{
    int64_t p;
    if (a < 0 || b < 0 || __builtin_mul_overflow(a, b, &p) || p > NNK_MAX_ELEMENTS) {
        *out = -1;
        return -1;
    }
    *out = p;
    return 0;
}

#ifdef __cplusplus
}
#endif
#endif
