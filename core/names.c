/* The rule for the names a model is made of (see nnk_name_valid). */
#include "internal.h"
#include <stdio.h>
#include <string.h>

static int name_char(char c, int first)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || (!first && ((c >= '0' && c <= '9') || c == '-'));
}

int nnk_name_valid(const char *name)
{
    if (!name || !*name)
        return 0;
    size_t n = 0;
    for (const char *p = name; *p; p++, n++)
        if (n == NNK_NAME_MAX || !name_char(*p, p == name))
            return 0;
    return 1;
}

int nnk_name_check(const char *what, const char *name, nnk_err *err)
{
    if (nnk_name_valid(name))
        return NNK_OK;
    char shown[4 * 80 + 8];
    size_t k = 0;
    const char *p = name ? name : "";
    for (int shown_chars = 0; *p && shown_chars < 80; p++, shown_chars++) {
        unsigned char c = (unsigned char)*p;
        if (c >= 0x20 && c < 0x7f && c != '\'' && c != '\\')
            shown[k++] = (char)c;
        else
            k += (size_t)snprintf(shown + k, sizeof shown - k, "\\x%02x", c);
    }
    if (*p)
        k += (size_t)snprintf(shown + k, sizeof shown - k, "...");
    shown[k] = 0;
    return nnk_err_set(err, NNK_ECONFIG, "%s name '%s' must be 1 to %d letters, digits, '_' or '-', starting with a letter or '_'",
                       what, shown, NNK_NAME_MAX);
}
