/* libnnkit-mpi: nnkit's reducer (nnkit.h, nnk_reducer) over MPI, for
 * data-parallel training across processes started by mpirun, on one host
 * or many. Built only where Open MPI is found (meson option mpi). */
#ifndef NNKIT_MPI_H
#define NNKIT_MPI_H

#include <nnkit/nnkit.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Whether this process was started by an MPI launcher (mpirun, srun):
 * the launcher's environment says so; nothing is initialised. */
NNK_API int nnk_mpi_launched(void);
/* Joins the MPI job (MPI_Init) and returns a reducer over its processes
 * (MPI_COMM_WORLD): sums with MPI_Allreduce, broadcast with MPI_Bcast. A
 * process that dies ends the job through mpirun's own handling. Call
 * nnk_mpi_leave once at the end. NULL with err set when MPI cannot start. */
NNK_API nnk_reducer *nnk_mpi_join(nnk_err *err);
/* The processes on this host (for dividing its cores among them). */
NNK_API int nnk_mpi_local_size(const nnk_reducer *r);
/* Waits for every process, then finalizes MPI and frees r. */
NNK_API void nnk_mpi_leave(nnk_reducer *r);

#ifdef __cplusplus
}
#endif
#endif
