/*
 * bench/bench.h - what every benchmark program prints beside its figures:
 * a monotonic clock, the CPU's model name, the machine's measured FMA peak
 * of one core, a median, and the time one core takes to read an array
 * (the floor of any product that reads it once); and buffers aligned as
 * libmlp's tensors are. Header-only (static inline), shared by
 * bench/train.c, bench/infer.c, bench/gemm.c and bench/peers/ort_bench.c.
 */
#ifndef MLP_BENCH_H
#define MLP_BENCH_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#if defined(__GNUC__) && defined(__x86_64__)
#include <immintrin.h>
#define BENCH_X86 1
#endif

static inline double bench_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static inline int bench_cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* n zeroed floats, 64-byte aligned as libmlp's tensors are (a product
 * timed on malloc's 16-byte alignment runs up to 8 % slower); free() them.
 * NULL when out of memory. */
static inline float *bench_floats(size_t n)
{
    void *p = NULL;
    if (n > (size_t)-1 / sizeof(float) - 1
        || posix_memalign(&p, 64, (n ? n : 1) * sizeof(float)) != 0)
        return NULL;
    memset(p, 0, n * sizeof(float));
    return (float *)p;
}

/* Median of v[0..n-1] (sorts v). */
static inline double bench_median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof v[0], bench_cmp_double);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

/* The CPU's model name from /proc/cpuinfo ("unknown" elsewhere), with
 * quotes replaced, to print as cpu="...". */
static inline const char *bench_cpu_model(void)
{
    static char name[128];
    char line[512];
    FILE *f;
    if (name[0])
        return name;
    strcpy(name, "unknown");
    f = fopen("/proc/cpuinfo", "r");
    if (!f)
        return name;
    while (fgets(line, sizeof line, f)) {
        char *p = strchr(line, ':');
        size_t i, n;
        if (strncmp(line, "model name", 10) != 0 || !p)
            continue;
        p++;
        while (*p == ' ' || *p == '\t')
            p++;
        n = strcspn(p, "\n");
        if (n >= sizeof name)
            n = sizeof name - 1;
        for (i = 0; i < n; i++)
            name[i] = p[i] == '"' ? '\'' : p[i];
        name[n] = '\0';
        break;
    }
    fclose(f);
    return name;
}

#ifdef BENCH_X86
/* iters x 12 independent vector FMA chains: enough in flight to cover the
 * FMA latency on two pipes. Returns a value that depends on every lane so
 * nothing is optimised away. */
__attribute__((target("avx512f"))) static inline float bench_fma512(long iters)
{
    /* distinct starting values: identical chains would be merged */
    __m512 a0 = _mm512_set1_ps(1.00f), a1 = _mm512_set1_ps(1.01f), a2 = _mm512_set1_ps(1.02f),
           a3 = _mm512_set1_ps(1.03f), a4 = _mm512_set1_ps(1.04f), a5 = _mm512_set1_ps(1.05f),
           a6 = _mm512_set1_ps(1.06f), a7 = _mm512_set1_ps(1.07f), a8 = _mm512_set1_ps(1.08f),
           a9 = _mm512_set1_ps(1.09f), a10 = _mm512_set1_ps(1.10f), a11 = _mm512_set1_ps(1.11f);
    const __m512 m = _mm512_set1_ps(0.999999f), c = _mm512_set1_ps(1e-7f);
    long i;
    for (i = 0; i < iters; i++) {
        a0 = _mm512_fmadd_ps(a0, m, c);
        a1 = _mm512_fmadd_ps(a1, m, c);
        a2 = _mm512_fmadd_ps(a2, m, c);
        a3 = _mm512_fmadd_ps(a3, m, c);
        a4 = _mm512_fmadd_ps(a4, m, c);
        a5 = _mm512_fmadd_ps(a5, m, c);
        a6 = _mm512_fmadd_ps(a6, m, c);
        a7 = _mm512_fmadd_ps(a7, m, c);
        a8 = _mm512_fmadd_ps(a8, m, c);
        a9 = _mm512_fmadd_ps(a9, m, c);
        a10 = _mm512_fmadd_ps(a10, m, c);
        a11 = _mm512_fmadd_ps(a11, m, c);
    }
    a0 = _mm512_add_ps(_mm512_add_ps(_mm512_add_ps(a0, a1), _mm512_add_ps(a2, a3)),
                       _mm512_add_ps(_mm512_add_ps(a4, a5), _mm512_add_ps(a6, a7)));
    a0 = _mm512_add_ps(a0, _mm512_add_ps(_mm512_add_ps(a8, a9), _mm512_add_ps(a10, a11)));
    return _mm512_reduce_add_ps(a0);
}

__attribute__((target("avx2,fma"))) static inline float bench_fma256(long iters)
{
    __m256 a0 = _mm256_set1_ps(1.00f), a1 = _mm256_set1_ps(1.01f), a2 = _mm256_set1_ps(1.02f),
           a3 = _mm256_set1_ps(1.03f), a4 = _mm256_set1_ps(1.04f), a5 = _mm256_set1_ps(1.05f),
           a6 = _mm256_set1_ps(1.06f), a7 = _mm256_set1_ps(1.07f), a8 = _mm256_set1_ps(1.08f),
           a9 = _mm256_set1_ps(1.09f), a10 = _mm256_set1_ps(1.10f), a11 = _mm256_set1_ps(1.11f);
    const __m256 m = _mm256_set1_ps(0.999999f), c = _mm256_set1_ps(1e-7f);
    float out[8];
    long i;
    for (i = 0; i < iters; i++) {
        a0 = _mm256_fmadd_ps(a0, m, c);
        a1 = _mm256_fmadd_ps(a1, m, c);
        a2 = _mm256_fmadd_ps(a2, m, c);
        a3 = _mm256_fmadd_ps(a3, m, c);
        a4 = _mm256_fmadd_ps(a4, m, c);
        a5 = _mm256_fmadd_ps(a5, m, c);
        a6 = _mm256_fmadd_ps(a6, m, c);
        a7 = _mm256_fmadd_ps(a7, m, c);
        a8 = _mm256_fmadd_ps(a8, m, c);
        a9 = _mm256_fmadd_ps(a9, m, c);
        a10 = _mm256_fmadd_ps(a10, m, c);
        a11 = _mm256_fmadd_ps(a11, m, c);
    }
    a0 = _mm256_add_ps(_mm256_add_ps(_mm256_add_ps(a0, a1), _mm256_add_ps(a2, a3)),
                       _mm256_add_ps(_mm256_add_ps(a4, a5), _mm256_add_ps(a6, a7)));
    a0 = _mm256_add_ps(a0, _mm256_add_ps(_mm256_add_ps(a8, a9), _mm256_add_ps(a10, a11)));
    _mm256_storeu_ps(out, a0);
    return out[0] + out[7];
}
#endif

/* Scalar fallback: 8 independent chains of a*b+c the compiler may fuse. */
static inline float bench_fma_scalar(long iters)
{
    float a[8] = {1.00f, 1.01f, 1.02f, 1.03f, 1.04f, 1.05f, 1.06f, 1.07f};
    long i;
    int k;
    for (i = 0; i < iters; i++)
        for (k = 0; k < 8; k++)
            a[k] = a[k] * 0.999999f + 1e-7f;
    return a[0] + a[7];
}

#ifdef BENCH_X86
/* 1 if this CPU has AVX-512 (the widest loops below are for it). */
static inline int bench_avx512(void)
{
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f");
}

/* Sum of w[0 .. n-1] (n a multiple of 128) in 8 vector chains: the loads
 * are all the loop waits for. */
__attribute__((target("avx512f"))) static inline float bench_read512(const float *w, long n)
{
    __m512 a0 = _mm512_setzero_ps(), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0, a7 = a0;
    long i;
    for (i = 0; i < n; i += 128) {
        a0 = _mm512_add_ps(a0, _mm512_loadu_ps(w + i));
        a1 = _mm512_add_ps(a1, _mm512_loadu_ps(w + i + 16));
        a2 = _mm512_add_ps(a2, _mm512_loadu_ps(w + i + 32));
        a3 = _mm512_add_ps(a3, _mm512_loadu_ps(w + i + 48));
        a4 = _mm512_add_ps(a4, _mm512_loadu_ps(w + i + 64));
        a5 = _mm512_add_ps(a5, _mm512_loadu_ps(w + i + 80));
        a6 = _mm512_add_ps(a6, _mm512_loadu_ps(w + i + 96));
        a7 = _mm512_add_ps(a7, _mm512_loadu_ps(w + i + 112));
    }
    a0 = _mm512_add_ps(_mm512_add_ps(_mm512_add_ps(a0, a1), _mm512_add_ps(a2, a3)),
                       _mm512_add_ps(_mm512_add_ps(a4, a5), _mm512_add_ps(a6, a7)));
    return _mm512_reduce_add_ps(a0);
}
#endif

/* Scalar fallback: 32 independent chains (vectorised where the compiler
 * can). */
static inline float bench_read_scalar(const float *w, long n)
{
    float a[32] = {0.0f};
    long i;
    int k;
    for (i = 0; i < n; i += 128)
        for (k = 0; k < 128; k++)
            a[k % 32] += w[i + k];
    return a[0] + a[31];
}

/* Seconds one core takes to read n floats that are in cache (the pass
 * before warms it), the widest loads the CPU has: the best of 15 timings
 * (each of enough passes to read at least 4 MB).
 * A product whose operands are that size cannot take less. */
static inline double bench_read_floor(long n)
{
    const long m = (n + 127) / 128 * 128, passes = m < (1L << 20) ? (1L << 20) / m : 1;
    float *w = (float *)malloc((size_t)m * sizeof(float)), sink = 0.0f;
    double best = 1e30;
    long i, p;
    int r, wide = 0;
    if (!w)
        return -1.0;
    for (i = 0; i < m; i++)
        w[i] = (float)(i % 13);
#ifdef BENCH_X86
    wide = bench_avx512();
#endif
    for (r = 0; r < 16; r++) {
        double t0 = bench_now(), dt;
        for (p = 0; p < passes; p++)
#ifdef BENCH_X86
            if (wide)
                sink += bench_read512(w, m);
            else
#endif
                sink += bench_read_scalar(w, m);
        dt = (bench_now() - t0) / (double)passes;
        if (r > 0 && dt < best)
            best = dt;
    }
    (void)wide;
    free(w);
    if (sink == 1.2345f) /* keeps the sums live */
        best += 1e-12;
    return best;
}

/* One core's single-precision FMA peak in GFLOP/s, measured: the best of
 * 25 timed loops of independent vector FMAs at the widest vector width
 * the CPU has (AVX-512, AVX2+FMA, else scalar); the best, because other
 * processes on the machine only ever lower it. About 0.2 s.
 * MLP_BENCH_PEAK_GFLOPS=X uses X instead (for runs under valgrind, or a
 * figure measured on a quiet machine). */
static inline double bench_fma_peak(void)
{
    static double peak;
    float sink = 0.0f;
    double flops_per_iter = 2.0 * 8, best = 0.0;
    long iters = 2000000;
    int r, kind = 0;
    const char *env = getenv("MLP_BENCH_PEAK_GFLOPS");
    if (peak > 0.0)
        return peak;
    if (env && atof(env) > 0.0)
        return peak = atof(env);
#ifdef BENCH_X86
    if (bench_avx512())
        kind = 2;
    else if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
        kind = 1;
#endif
    for (r = 0; r < 25; r++) {
        double t0 = bench_now(), dt, g;
#ifdef BENCH_X86
        if (kind == 2) {
            sink += bench_fma512(iters);
            flops_per_iter = 2.0 * 16 * 12;
        } else if (kind == 1) {
            sink += bench_fma256(iters);
            flops_per_iter = 2.0 * 8 * 12;
        } else
#endif
            sink += bench_fma_scalar(iters);
        dt = bench_now() - t0;
        g = flops_per_iter * (double)iters / dt * 1e-9;
        if (g > best)
            best = g;
    }
    (void)kind;
    if (sink == 1.2345f) /* keeps the loops' results live */
        best += 1e-9;
    peak = best;
    return peak;
}

#endif
