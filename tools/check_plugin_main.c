/* nnkit-check-plugin PLUGIN.so: the checker behind `nnkit check-plugin`.
 * Exit status: 0 all checks pass, 1 a check failed, 2 the plugin does not
 * load (or a usage error). */
#include "checkplugin.h"
#include "exit_codes.h"

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: nnkit-check-plugin PLUGIN.so\n");
        return 2;
    }
    nnk_err err = {NNK_OK, ""};
    int failures = nnk_check_plugin(argv[1], stdout, &err);
    if (failures < 0) {
        fprintf(stderr, "nnkit: error: %s\n", err.msg);
        return exit_code_of(err.status);
    }
    return failures ? 1 : 0;
}
