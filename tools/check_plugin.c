/* nnkit check-plugin: runs the checker program. */
#include "cli.h"
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* The checker is its own program (it needs the engine's internals): beside
 * this one in a build tree, in NNK_LIBEXEC_DIR when installed. */
int cmd_check_plugin(const options *o)
{
    if (!o->positional)
        return usage_error("check-plugin", "%s", "missing PLUGIN.so");
    char self[PATH_MAX], helper[PATH_MAX + 32];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    self[n > 0 ? n : 0] = 0;
    char *slash = strrchr(self, '/');
    if (slash)
        *slash = 0;
    snprintf(helper, sizeof helper, "%s/nnkit-check-plugin", self);
    if (access(helper, X_OK))
        snprintf(helper, sizeof helper, "%s/nnkit-check-plugin", NNK_LIBEXEC_DIR);
    fflush(stdout);
    char *argv[] = {helper, (char *)o->positional, NULL};
    execv(helper, argv);
    fprintf(stderr, "nnkit: error: check-plugin: cannot run '%s': %s\n", helper, strerror(errno));
    return 1;
}

