/* Status table, error formatting, and the names and texts messages use
 * (component kinds, shapes): a leaf every other module may call. */
#include "internal.h"
#include <stdarg.h>
#include <stdio.h>

static const char *const status_texts[] = {
#define NNK_STATUS_ROW(name, text) text,
    NNK_STATUS_MAP(NNK_STATUS_ROW)
#undef NNK_STATUS_ROW
};

const char *nnk_status_text(nnk_status s)
{
    if ((int)s < 0 || s >= NNK_STATUS_COUNT)
        return "unknown status";
    return status_texts[s];
}

int nnk_err_set(nnk_err *err, nnk_status status, const char *fmt, ...)
{
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        char raw[NNK_ERR_MAX];
        vsnprintf(raw, sizeof raw, fmt, ap);
        va_end(ap);
        /* one printable line, whatever bytes the input quoted: control
         * characters become \xNN */
        size_t o = 0;
        for (const unsigned char *p = (const unsigned char *)raw; *p && o + 5 < sizeof err->msg; p++) {
            if (*p < 0x20 || *p == 0x7f)
                o += (size_t)snprintf(err->msg + o, sizeof err->msg - o, "\\x%02x", *p);
            else
                err->msg[o++] = (char)*p;
        }
        err->msg[o] = 0;
        err->status = status;
    }
    return status;
}

/* ---- names and texts for messages ---- */

static const char *const kind_names[NNK_KIND_COUNT] = {
    "layer", "activation", "loss", "metric", "optimizer", "callback"};

const char *nnk_kind_name(nnk_kind k)
{
    return (unsigned)k < NNK_KIND_COUNT ? kind_names[k] : "?";
}

void nnk__shape_text(const nnk_shape *s, char *buf, size_t n)
{
    int o = snprintf(buf, n, "(None");
    for (int d = 0; d < s->ndim && o < (int)n; d++)
        o += snprintf(buf + o, n - (size_t)o, ", %lld", (long long)s->dim[d]);
    if (o < (int)n)
        snprintf(buf + o, n - (size_t)o, ")");
}
