/*
 * bench/dist.c - data-parallel training speed over MPI (docs/distributed.md),
 * run by tools/bench_dist.sh (`make bench-dist`) under mpirun with 1 and 2
 * ranks. For each network it trains on synthetic 784-feature inputs with
 * the global batch split across the ranks, through mlp_optim_step as a
 * hand-written loop does, and prints one line per setting:
 *   dist ranks=P net=784-256-10 bucket=262144 samples_per_s=... step_ms=...
 *        step_ms_median=... compute_ms=... compute_cpu_ms=... exchange_ms=...
 *        wait_ms=... in_flight_ms=... overlap=...
 * step_ms is the fastest step and samples_per_s the global batch over it
 * (on a shared machine the fastest step is the one least disturbed; the
 * median is printed beside it). compute_ms is forward + backward (bucket
 * all-reduces start inside it) and compute_cpu_ms the CPU time this rank
 * spent in it; exchange_ms is mlp_optim_step (waiting for the buckets, the
 * failure flags, averaging and the update); wait_ms is the part of it
 * blocked in MPI_Wait, in_flight_ms the time the all-reduces were under way
 * before that wait (mostly during backward), overlap = in_flight /
 * (in_flight + wait). These are rank 0's medians. Then one line per network
 * for the plain all-reduce of the parameters (the cost model's measured
 * point; fastest and median of the repetitions):
 *   allreduce ranks=P floats=N bytes=B ms=... ms_median=... busbw_GBps=... memcpy_GBps=...
 * busbw = 2(P-1)/P * bytes / time, the bytes each rank sends in a ring;
 * memcpy_GBps is one process copying the same bytes, the fastest a link
 * through shared memory could be.
 * Options: --steps N (40) --batch B (256) --threads T (1).
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mlp_mpi.h"

#define MAXSTEPS 1000

static int rank, size;

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, cmp);
    return n ? v[n / 2] : 0.0;
}

static double cpu_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static double fastest(const double *v, int n)
{
    double m = v[0];
    int i;
    for (i = 1; i < n; i++)
        m = v[i] < m ? v[i] : m;
    return m;
}

static mlp_model *build(mlp_ctx *ctx, const int64_t *widths, int n)
{
    mlp_model *m = mlp_model_new(ctx);
    int i;
    for (i = 0; m && i + 1 < n; i++) {
        if (mlp_model_add_linear(m, widths[i], widths[i + 1]) != MLP_OK
            || (i + 2 < n && mlp_model_add_act(m, MLP_ACT_RELU) != MLP_OK)) {
            mlp_model_free(m);
            return NULL;
        }
    }
    return m;
}

static void net_name(const int64_t *w, int n, char *buf)
{
    int i;
    buf[0] = '\0';
    for (i = 0; i < n; i++)
        sprintf(buf + strlen(buf), "%s%lld", i ? "-" : "", (long long)w[i]);
}

/* Train `steps` steps (after 3 unmeasured ones) of a global batch; rank
 * r's rows are [B r/P, B (r+1)/P). */
static int run(const int64_t *widths, int n, int steps, int64_t batch, int threads, double bucket)
{
    mlp_ctx *ctx = mlp_ctx_new(NULL);
    mlp_comm *comm = mlp_mpi_comm_new(ctx, MPI_COMM_WORLD);
    mlp_model *m = build(ctx, widths, n);
    mlp_optim *opt = m ? mlp_sgd_new(m, 0.01f) : NULL;
    int64_t rows = batch * (rank + 1) / size - batch * rank / size, xs[2], ys[1], i;
    mlp_tensor *x, *y;
    double step[MAXSTEPS], comp[MAXSTEPS], cpu[MAXSTEPS], exch[MAXSTEPS], wait[MAXSTEPS],
        fly[MAXSTEPS];
    double w0 = 0, f0 = 0, w1, f1;
    char name[128];
    int s, ok = comm && opt;
    xs[0] = rows;
    xs[1] = widths[0];
    ys[0] = rows;
    mlp_ctx_seed(ctx, 7 + (uint64_t)rank);
    x = mlp_tensor_rand_uniform(ctx, 2, xs, 0.0f, 1.0f);
    y = mlp_tensor_zeros(ctx, 1, ys);
    for (i = 0; y && i < rows; i++)
        mlp_tensor_data(y)[i] = (float)(i % widths[n - 1]);
    if (ok && threads > 1)
        mlp_ctx_set_threads(ctx, threads);
    ok = ok && x && y && mlp_optim_set(opt, MLP_OPT_BUCKET_BYTES, bucket) == MLP_OK
         && mlp_optim_set_comm(opt, comm) == MLP_OK;
    for (s = -3; ok && s < steps; s++) {
        double t0, t1, t2, c0, c1;
        mlp_tensor *loss;
        MPI_Barrier(MPI_COMM_WORLD);
        mlp_mpi_comm_stats(comm, NULL, NULL, &f0, &w0);
        t0 = MPI_Wtime();
        c0 = cpu_now();
        loss = mlp_cross_entropy(mlp_model_forward(m, x), y);
        ok = loss && mlp_optim_zero_grad(opt) == MLP_OK && mlp_backward(loss, NULL, 0) == MLP_OK;
        c1 = cpu_now();
        t1 = MPI_Wtime();
        ok = ok && mlp_optim_step(opt) == MLP_OK;
        t2 = MPI_Wtime();
        mlp_tape_reset(ctx);
        mlp_mpi_comm_stats(comm, NULL, NULL, &f1, &w1);
        if (s >= 0) {
            comp[s] = t1 - t0;
            cpu[s] = c1 - c0;
            exch[s] = t2 - t1;
            step[s] = t2 - t0;
            wait[s] = w1 - w0;
            fly[s] = f1 - f0;
        }
    }
    if (!ok)
        fprintf(stderr, "dist: rank %d: %s\n", rank, mlp_ctx_errmsg(ctx));
    else if (rank == 0) {
        double st = fastest(step, steps), w = median(wait, steps), f = median(fly, steps);
        net_name(widths, n, name);
        printf("dist ranks=%d net=%s batch=%lld bucket=%.0f samples_per_s=%.0f step_ms=%.3f "
               "step_ms_median=%.3f compute_ms=%.3f compute_cpu_ms=%.3f exchange_ms=%.3f "
               "wait_ms=%.3f in_flight_ms=%.3f overlap=%.2f\n",
               size, name, (long long)batch, bucket, (double)batch / st, 1e3 * st,
               1e3 * median(step, steps), 1e3 * median(comp, steps), 1e3 * median(cpu, steps),
               1e3 * median(exch, steps), 1e3 * w, 1e3 * f, f + w > 0 ? f / (f + w) : 0.0);
        fflush(stdout);
    }
    mlp_tensor_free(x);
    mlp_tensor_free(y);
    mlp_optim_free(opt);
    mlp_comm_free(comm);
    mlp_model_free(m);
    mlp_ctx_free(ctx);
    return ok;
}

/* The all-reduce of the parameters alone, blocking, median of `reps`. */
static void allreduce(const int64_t *widths, int n, int reps)
{
    mlp_ctx *ctx = mlp_ctx_new(NULL);
    mlp_comm *comm = mlp_mpi_comm_new(ctx, MPI_COMM_WORLD);
    int64_t floats = 0;
    double t[MAXSTEPS], ms, bytes;
    double copy = 1e30;
    float *buf, *other;
    int i;
    for (i = 0; i + 1 < n; i++)
        floats += widths[i] * widths[i + 1] + widths[i + 1];
    buf = calloc((size_t)floats, sizeof *buf);
    other = calloc((size_t)floats, sizeof *other);
    for (i = 0; buf && other && i < reps; i++) {
        double t0 = MPI_Wtime(), t1;
        memcpy(other, buf, (size_t)floats * sizeof *buf);
        t1 = MPI_Wtime() - t0;
        copy = t1 < copy ? t1 : copy;
    }
    for (i = -2; buf && comm && i < reps; i++) {
        double t0;
        MPI_Barrier(MPI_COMM_WORLD);
        t0 = MPI_Wtime();
        mlp_comm_allreduce(comm, buf, floats);
        if (i >= 0)
            t[i] = MPI_Wtime() - t0;
    }
    if (buf && comm && rank == 0) {
        ms = 1e3 * fastest(t, reps);
        bytes = 4.0 * (double)floats;
        printf("allreduce ranks=%d floats=%lld bytes=%.0f ms=%.3f ms_median=%.3f busbw_GBps=%.3f "
               "memcpy_GBps=%.2f\n",
               size, (long long)floats, bytes, ms, 1e3 * median(t, reps),
               2.0 * (size - 1) / size * bytes / ms / 1e6, bytes / copy / 1e9);
    }
    free(buf);
    free(other);
    mlp_comm_free(comm);
    mlp_ctx_free(ctx);
}

int main(int argc, char **argv)
{
    static const int64_t small[3] = {784, 256, 10}, big[4] = {784, 1024, 1024, 10};
    int steps = 40, threads = 1, i, ok = 1;
    int64_t batch = 256;
    MPI_Init(&argc, &argv);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    for (i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--steps"))
            steps = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--batch"))
            batch = atoll(argv[i + 1]);
        else if (!strcmp(argv[i], "--threads"))
            threads = atoi(argv[i + 1]);
    }
    if (steps < 1 || steps > MAXSTEPS || batch < size || threads < 1) {
        if (rank == 0)
            fprintf(stderr, "usage: dist [--steps 1..%d] [--batch B >= ranks] [--threads T]\n",
                    MAXSTEPS);
        MPI_Finalize();
        return 2;
    }
    /* default buckets, then one bucket sent only after backward: no overlap */
    ok = run(small, 3, steps, batch, threads, 262144) && run(small, 3, steps, batch, threads, 1e12)
         && run(big, 4, steps, batch, threads, 262144) && run(big, 4, steps, batch, threads, 1e12);
    allreduce(small, 3, steps);
    allreduce(big, 4, steps);
    MPI_Finalize();
    return ok ? 0 : 1;
}
