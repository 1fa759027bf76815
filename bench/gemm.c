/*
 * bench/gemm.c - single-thread sgemm throughput of libmlp's kernel against
 * the naive triple loop and (built with -DMLP_HAVE_OPENBLAS, linked with
 * -lopenblas) OpenBLAS cblas_sgemm, on the shapes an MLP 784-256-10 at
 * batch 256 uses plus square and single-row ones. One line per shape:
 *   gemm M=.. N=.. K=.. op=NN kernel=avx512 mlp_gflops=.. naive_gflops=..
 *        openblas_gflops=.. ratio_openblas=.. openblas_core=SkylakeX
 * Each figure is the median of >= 5 samples and >= 0.2 s, mlp and OpenBLAS
 * samples interleaved. Usage: gemm [all] [M N K OP]
 *   all          every kernel this CPU supports, not only the chosen one
 *   M N K OP     one shape (OP in NN NT TN TT)
 * Environment: MLP_GEMM_KERNEL forces a kernel; MLP_GEMM_MC / _KC / _NC
 * override its cache blocks (for tuning); OPENBLAS_CORETYPE names
 * OpenBLAS's kernel (by default the one OpenBLAS picks, unless it takes
 * the CPU for a Prescott: see main).
 */
#define _POSIX_C_SOURCE 200809L

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"
#include "kern/gemm.h"

#ifdef MLP_HAVE_OPENBLAS
#include <cblas.h>
#endif

typedef struct shape {
    int64_t M, N, K;
    int ta, tb;
} shape;

static const shape shapes[] = {
    {256, 256, 784, 0, 0}, /* forward layer 1: X W1 */
    {256, 10, 256, 0, 0},  /* forward layer 2: H W2 */
    {256, 10, 256, 1, 0},  /* dW2 = H^T dY */
    {256, 256, 10, 0, 1},  /* dH = dY W2^T */
    {784, 256, 256, 1, 0}, /* dW1 = X^T dH */
    {256, 784, 256, 0, 1}, /* dX = dH W1^T */
    {64, 64, 64, 0, 0},       {256, 256, 256, 0, 0},
    {1024, 1024, 1024, 0, 0}, {1, 256, 784, 0, 0}, /* one sample through layer 1 */
};

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b)
{
    const double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

typedef struct job {
    const mlp__gemm_kernel *k;
    shape s;
    const float *A, *B;
    float *C;
    int64_t lda, ldb;
    float *work;
} job;

static void run_mlp(const job *j)
{
    mlp__sgemm(j->k, j->s.ta, j->s.tb, j->s.M, j->s.N, j->s.K, 1.0f, j->A, j->lda, j->B, j->ldb,
               0.0f, j->C, j->s.N, j->work);
}

static void run_naive(const job *j)
{
    mlp__sgemm_naive(j->s.ta, j->s.tb, j->s.M, j->s.N, j->s.K, 1.0f, j->A, j->lda, j->B, j->ldb,
                     0.0f, j->C, j->s.N);
}

#ifdef MLP_HAVE_OPENBLAS
static void run_openblas(const job *j)
{
    cblas_sgemm(CblasRowMajor, j->s.ta ? CblasTrans : CblasNoTrans,
                j->s.tb ? CblasTrans : CblasNoTrans, (int)j->s.M, (int)j->s.N, (int)j->s.K, 1.0f,
                j->A, (int)j->lda, j->B, (int)j->ldb, 0.0f, j->C, (int)j->s.N);
}
#endif

typedef void (*run_fn)(const job *);

/* Seconds per call of f: calls batched so one sample lasts ~2 ms. */
static double sample(run_fn f, const job *j, int64_t batch)
{
    int64_t i;
    const double t0 = now();
    for (i = 0; i < batch; i++)
        f(j);
    return (now() - t0) / (double)batch;
}

static int64_t batch_for(run_fn f, const job *j)
{
    double t;
    f(j); /* warm up */
    t = sample(f, j, 1);
    if (t <= 0.0)
        t = 1e-9;
    return t >= 2e-3 ? 1 : (int64_t)(2e-3 / t) + 1;
}

#define MAX_SAMPLES 4096

/* Medians (seconds per call) of f and g measured alternately. g may be NULL. */
static void measure(run_fn f, run_fn g, const job *j, double min_total, int min_reps, double *tf,
                    double *tg)
{
    static double sf[MAX_SAMPLES], sg[MAX_SAMPLES];
    const int64_t bf = batch_for(f, j), bg = g ? batch_for(g, j) : 0;
    double total = 0.0;
    int n = 0;
    while (n < MAX_SAMPLES && (n < min_reps || total < min_total)) {
        const double t0 = now();
        sf[n] = sample(f, j, bf);
        if (g)
            sg[n] = sample(g, j, bg);
        total += now() - t0;
        n++;
    }
    qsort(sf, (size_t)n, sizeof(double), cmp_double);
    *tf = sf[n / 2];
    if (g) {
        qsort(sg, (size_t)n, sizeof(double), cmp_double);
        *tg = sg[n / 2];
    }
}

static float *alloc_floats(size_t n)
{
    float *p = bench_floats(n);
    if (!p) {
        fprintf(stderr, "out of memory\n");
        exit(1);
    }
    return p;
}

static void bench_shape(const mlp__gemm_kernel *k, shape s)
{
    const double flops = 2.0 * (double)s.M * (double)s.N * (double)s.K;
    const char *ops[4] = {"NN", "TN", "NT", "TT"};
    job j;
    float *A, *B, *C;
    double t_mlp, t_naive, t_ob = 0.0;
    size_t i;
    j.k = k;
    j.s = s;
    j.lda = s.ta ? s.M : s.K;
    j.ldb = s.tb ? s.K : s.N;
    A = alloc_floats((size_t)(s.M * s.K));
    B = alloc_floats((size_t)(s.K * s.N));
    C = alloc_floats((size_t)(s.M * s.N));
    for (i = 0; i < (size_t)(s.M * s.K); i++)
        A[i] = (float)((i * 7919u) % 1000u) * 1e-3f - 0.5f;
    for (i = 0; i < (size_t)(s.K * s.N); i++)
        B[i] = (float)((i * 104729u) % 1000u) * 1e-3f - 0.5f;
    j.A = A;
    j.B = B;
    j.C = C;
    j.work = alloc_floats(mlp__gemm_workspace_floats(k));

#ifdef MLP_HAVE_OPENBLAS
    measure(run_mlp, run_openblas, &j, 0.2, 5, &t_mlp, &t_ob);
#else
    measure(run_mlp, NULL, &j, 0.2, 5, &t_mlp, &t_ob);
#endif
    if (flops > 1e9) {
        const double t0 = now();
        run_naive(&j); /* slow: once */
        t_naive = now() - t0;
    } else {
        measure(run_naive, NULL, &j, 0.05, 3, &t_naive, NULL);
    }
    printf("gemm M=%lld N=%lld K=%lld op=%s kernel=%s mlp_gflops=%.1f naive_gflops=%.2f",
           (long long)s.M, (long long)s.N, (long long)s.K, ops[s.ta + 2 * s.tb], mlp__gemm_name(k),
           flops / t_mlp * 1e-9, flops / t_naive * 1e-9);
#ifdef MLP_HAVE_OPENBLAS
    printf(" openblas_gflops=%.1f ratio_openblas=%.2f openblas_core=%s", flops / t_ob * 1e-9,
           t_ob / t_mlp, openblas_get_corename());
#endif
    printf("\n");
    fflush(stdout);
    free(j.work);
    free(A);
    free(B);
    free(C);
}

static int64_t env_int(const char *name, int64_t dflt)
{
    const char *v = getenv(name);
    return v && *v ? (int64_t)strtoll(v, NULL, 10) : dflt;
}

int main(int argc, char **argv)
{
    static const char *const names[MLP__GEMM_NUM_NAMES] = MLP__GEMM_NAMES;
    const mlp__gemm_kernel *list[MLP__GEMM_NUM_NAMES];
    mlp__gemm_kernel tuned[MLP__GEMM_NUM_NAMES];
    const char *force = getenv("MLP_GEMM_KERNEL");
    int nk = 0, all = 0, a = 1, i;
    size_t si;
    shape one;
    int have_one = 0;

#ifdef MLP_HAVE_OPENBLAS
    /* OpenBLAS starts its worker threads before main; idle ones spin and
     * steal the core from a short run. Restart once with them disabled. */
    if (!getenv("OPENBLAS_NUM_THREADS")) {
        setenv("OPENBLAS_NUM_THREADS", "1", 1);
        execv("/proc/self/exe", argv);
    }
    openblas_set_num_threads(1);
    /* An OpenBLAS older than the CPU (Debian 12's 0.3.21 on Intel family 6
     * model 207) takes it for a Prescott and runs its SSE3 kernel, at a
     * fifth of the speed it has here: name the core it knows with the same
     * vector width, once (OPENBLAS_CORETYPE set by hand is kept). */
    if (!getenv("OPENBLAS_CORETYPE") && strcmp(openblas_get_corename(), "Prescott") == 0) {
        const char *core = mlp__gemm_find("avx512") ? "SkylakeX"
                           : mlp__gemm_find("avx2") ? "Haswell"
                                                    : NULL;
        if (core) {
            setenv("OPENBLAS_CORETYPE", core, 1);
            execv("/proc/self/exe", argv);
        }
    }
#endif
    if (a < argc && strcmp(argv[a], "all") == 0) {
        all = 1;
        a++;
    }
    if (argc - a >= 4) {
        one.M = strtoll(argv[a], NULL, 10);
        one.N = strtoll(argv[a + 1], NULL, 10);
        one.K = strtoll(argv[a + 2], NULL, 10);
        one.ta = argv[a + 3][0] == 'T';
        one.tb = argv[a + 3][0] != '\0' && argv[a + 3][1] == 'T';
        have_one = 1;
    }
    if (all) {
        for (i = 0; i < MLP__GEMM_NUM_NAMES; i++)
            if (mlp__gemm_find(names[i]))
                list[nk++] = mlp__gemm_find(names[i]);
    } else if (force && *force) {
        list[0] = mlp__gemm_find(force);
        if (!list[0]) {
            fprintf(stderr, "gemm: kernel '%s' unknown or unsupported here\n", force);
            return 1;
        }
        nk = 1;
    } else {
        list[0] = mlp__gemm_best();
        nk = 1;
    }
    for (i = 0; i < nk; i++) {
        const mlp__gemm_kernel *k;
        tuned[i] = *list[i];
        tuned[i].mc = env_int("MLP_GEMM_MC", tuned[i].mc);
        tuned[i].kc = env_int("MLP_GEMM_KC", tuned[i].kc);
        tuned[i].nc = env_int("MLP_GEMM_NC", tuned[i].nc);
        k = &tuned[i];
        if (have_one)
            bench_shape(k, one);
        else
            for (si = 0; si < sizeof shapes / sizeof shapes[0]; si++)
                bench_shape(k, shapes[si]);
    }
    return 0;
}
