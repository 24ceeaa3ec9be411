/* nnkit: the experiment runner; each command is its own file (cli.h).
 * Exit status: 0 success, 1 runtime or data failure, 2 usage or
 * configuration error. */
#include "cli.h"
#include <signal.h>
#include <stdio.h>
#include <string.h>

int main(int argc, char **argv)
{
    /* past a file-size limit (ulimit -f) writes fail with EFBIG, reported
     * like a full disk, instead of SIGXFSZ killing the run mid-file */
    signal(SIGXFSZ, SIG_IGN);
    if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") ||
        !strcmp(argv[1], "help")) {
        print_help(argc > 2 ? argv[2] : NULL);
        return argc < 2 ? 2 : 0;
    }
    if (!strcmp(argv[1], "--version")) {
        printf("nnkit %s (plugin ABI %d.%d; compute: %s, %d thread%s)\n", NNK_VERSION, NNK_ABI_MAJOR, NNK_ABI_MINOR,
               nnk_compute_backend(), nnk_set_threads(0), nnk_thread_count() == 1 ? "" : "s");
        return 0;
    }
    static const struct {
        const char *name;
        int (*fn)(const options *);
    } cmds[] = {{"train", cmd_train}, {"evaluate", cmd_evaluate}, {"predict", cmd_predict},
                {"summary", cmd_summary}, {"plugins", cmd_plugins}, {"events", cmd_events},
                {"check-plugin", cmd_check_plugin}, {"lr-find", cmd_lr_find},
                {"sweep", cmd_sweep}, {"weights", cmd_weights}, {"plot", cmd_plot}, {"export", cmd_export}};
    for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++) {
        if (strcmp(argv[1], cmds[i].name))
            continue;
        options o;
        int rc = parse_options(cmds[i].name, argc - 2, argv + 2, &o);
        if (rc)
            return rc;
        if (o.help) {
            print_help(cmds[i].name);
            return 0;
        }
        return cmds[i].fn(&o);
    }
    fprintf(stderr, "nnkit: unknown command '%s' (commands: train, evaluate, predict, summary, plugins, weights, plot, events, export, check-plugin, lr-find, sweep)\n",
            argv[1]);
    return 2;
}

