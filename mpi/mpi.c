/* nnkit's reducer over MPI (see nnkit/mpi.h). */
#include <nnkit/mpi.h>
#include <limits.h>
#include <mpi.h>
#include <stdlib.h>

typedef struct mpi_ctx {
    MPI_Comm comm;
    int local_size;
} mpi_ctx;

int nnk_mpi_launched(void)
{
    return getenv("OMPI_COMM_WORLD_SIZE") || getenv("PMI_SIZE") || getenv("PMIX_RANK") || getenv("SLURM_PROCID");
}

static int check(int rc, const char *what, nnk_err *err)
{
    if (rc == MPI_SUCCESS)
        return NNK_OK;
    char text[MPI_MAX_ERROR_STRING];
    int len = 0;
    MPI_Error_string(rc, text, &len);
    return nnk_err_set(err, NNK_EIO, "MPI %s: %.*s", what, len, text);
}

/* MPI counts are ints: large buffers go in pieces. */
static int allreduce(void *ctx, void *values, int64_t n, MPI_Datatype type, size_t size, nnk_err *err)
{
    mpi_ctx *c = ctx;
    for (int64_t done = 0; done < n;) {
        int part = n - done > INT_MAX ? INT_MAX : (int)(n - done);
        int rc = check(MPI_Allreduce(MPI_IN_PLACE, (char *)values + done * (int64_t)size, part, type, MPI_SUM, c->comm),
                       "allreduce", err);
        if (rc)
            return rc;
        done += part;
    }
    return NNK_OK;
}

static int sum_floats(void *ctx, float *values, int64_t n, nnk_err *err)
{
    return allreduce(ctx, values, n, MPI_FLOAT, sizeof(float), err);
}

static int sum_doubles(void *ctx, double *values, int64_t n, nnk_err *err)
{
    return allreduce(ctx, values, n, MPI_DOUBLE, sizeof(double), err);
}

/* A bucket's sum in flight (one MPI_Iallreduce; buckets stay far below
 * MPI's int count). The oldest pending one is tested by progress. */
typedef struct pending {
    MPI_Request req;
    struct pending *next;
} pending;

static pending *in_flight;

static int start_sum_floats(void *ctx, float *values, int64_t n, void **handle, nnk_err *err)
{
    mpi_ctx *c = ctx;
    if (n > INT_MAX)
        return nnk_err_set(err, NNK_EUSAGE, "MPI iallreduce: %lld values in one bucket", (long long)n);
    pending *p = calloc(1, sizeof *p);
    if (!p)
        return nnk_err_set(err, NNK_ENOMEM, "out of memory");
    int rc = check(MPI_Iallreduce(MPI_IN_PLACE, values, (int)n, MPI_FLOAT, MPI_SUM, c->comm, &p->req), "iallreduce", err);
    if (rc) {
        free(p);
        return rc;
    }
    pending **tail = &in_flight;
    while (*tail)
        tail = &(*tail)->next;
    *tail = p;
    *handle = p;
    return NNK_OK;
}

static int wait_sum(void *ctx, void *handle, nnk_err *err)
{
    (void)ctx;
    pending *p = handle;
    int rc = check(MPI_Wait(&p->req, MPI_STATUS_IGNORE), "wait", err);
    for (pending **q = &in_flight; *q; q = &(*q)->next)
        if (*q == p) {
            *q = p->next;
            break;
        }
    free(p);
    return rc;
}

/* MPI advances non-blocking collectives only inside MPI calls: a test
 * between layers' backward lets the started sums move. */
static void progress(void *ctx)
{
    (void)ctx;
    int done;
    if (in_flight)
        MPI_Test(&in_flight->req, &done, MPI_STATUS_IGNORE);
}

static int broadcast(void *ctx, void *bytes, int64_t n, int root, nnk_err *err)
{
    mpi_ctx *c = ctx;
    for (int64_t done = 0; done < n;) {
        int part = n - done > INT_MAX ? INT_MAX : (int)(n - done);
        int rc = check(MPI_Bcast((char *)bytes + done, part, MPI_BYTE, root, c->comm), "broadcast", err);
        if (rc)
            return rc;
        done += part;
    }
    return NNK_OK;
}

nnk_reducer *nnk_mpi_join(nnk_err *err)
{
    int provided, started = 0;
    MPI_Initialized(&started);
    if (!started && check(MPI_Init_thread(NULL, NULL, MPI_THREAD_FUNNELED, &provided), "init", err))
        return NULL;
    nnk_reducer *r = calloc(1, sizeof *r);
    mpi_ctx *c = calloc(1, sizeof *c);
    if (!r || !c) {
        free(r);
        free(c);
        nnk_err_set(err, NNK_ENOMEM, "out of memory");
        return NULL;
    }
    c->comm = MPI_COMM_WORLD;
    MPI_Comm_rank(c->comm, &r->rank);
    MPI_Comm_size(c->comm, &r->size);
    MPI_Comm local;
    c->local_size = 1;
    if (MPI_Comm_split_type(c->comm, MPI_COMM_TYPE_SHARED, r->rank, MPI_INFO_NULL, &local) == MPI_SUCCESS) {
        MPI_Comm_size(local, &c->local_size);
        MPI_Comm_free(&local);
    }
    r->ctx = c;
    r->sum_floats = sum_floats;
    r->sum_doubles = sum_doubles;
    r->broadcast = broadcast;
    r->start_sum_floats = start_sum_floats;
    r->wait_sum = wait_sum;
    r->progress = progress;
    return r;
}

int nnk_mpi_local_size(const nnk_reducer *r) { return r ? ((const mpi_ctx *)r->ctx)->local_size : 1; }

void nnk_mpi_leave(nnk_reducer *r)
{
    if (!r)
        return;
    MPI_Barrier(((mpi_ctx *)r->ctx)->comm);
    free(r->ctx);
    free(r);
    MPI_Finalize();
}
