/* The number of threads nnkit's BLAS (and any threads of its own) use. */
#include "internal.h"
#include <cblas.h>
#include <stdlib.h>
#include <unistd.h>

int nnk_set_threads(int n)
{
    if (n <= 0 && getenv("OPENBLAS_NUM_THREADS")) /* the environment's choice, read by OpenBLAS itself */
        return openblas_get_num_threads();
    if (n <= 0) {
        long cores = sysconf(_SC_NPROCESSORS_ONLN);
        n = cores > 0 ? (int)cores : 1;
    }
    openblas_set_num_threads(n);
    return openblas_get_num_threads();
}

int nnk_thread_count(void) { return openblas_get_num_threads(); }
