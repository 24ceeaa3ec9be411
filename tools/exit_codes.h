/* The runner's exit statuses, its policy for each kind of failure: 0
 * success, 2 a usage or configuration error (the command or the experiment
 * must change), 1 a runtime or data failure. Documented in every command's
 * --help and checked by tests/test_bad_input.sh. */
#ifndef NNKIT_EXIT_CODES_H
#define NNKIT_EXIT_CODES_H
#include <nnkit/status.h>

static inline int exit_code_of(nnk_status s)
{
    switch (s) {
    case NNK_OK: return 0;
    case NNK_EUSAGE:
    case NNK_ECONFIG:
    case NNK_ESHAPE:
    case NNK_EPLUGIN: return 2;
    default: return 1;
    }
}
#endif
