/*
 * parallel.c - the thread count, a small persistent worker pool per context
 * (POSIX threads; absent with MLP_NO_THREADS), the context's lock and the
 * scratch of tape-free calls. product.c splits matrix products across the
 * pool.
 *
 * The pool: ctx->threads - 1 workers sleep on a condition variable; a job is
 * published under the mutex with a new generation number and cut into at
 * most one part per thread; the caller and the workers claim parts in turn
 * until none is left, then the caller waits for the parts in flight. The
 * caller claims part 0 as it publishes, so in a run of jobs over the same
 * data a core mostly keeps its range and the data stays in its cache:
 * with two parts a thread, claimed in whatever order, a step's passes and
 * weight updates moved data between the cores, 1.6-4.2 % of a 2-thread epoch
 * where a cache line takes 430-470 ns there and back between them.
 *
 * A waiting thread first spins (about 3 ms, as OpenMP runtimes do by
 * default) before it sleeps: jobs come in bursts within a training step
 * or a stream of predict calls, separated by serial work, and waking a
 * sleeping thread costs tens of microseconds on a virtual machine. The
 * price is up to that much CPU time on an idle worker after each job.
 * With GCC or Clang the spin only reads the generation or the count of
 * finished parts atomically, so spinning threads never contend for the
 * mutex; other compilers spin by lock/unlock rounds. A worker the OS is
 * slow to wake costs nothing but its share: the others take its part.
 */
#ifndef MLP_NO_THREADS
#define _POSIX_C_SOURCE 200809L
#include <pthread.h>
#endif
#include <stdarg.h>
#include <stdio.h>
#include <time.h>

#include "core.h"
#include "parallel.h"

/* Rounds a waiting thread spins before it sleeps: with atomics each is a
 * load and a pause (about 100 cycles on Zen 4: about 3 ms in all), else
 * a lock/unlock round. */
#if defined(__GNUC__) && !defined(MLP_NO_THREADS)
#define MLP__SPIN 100000
#define LOAD(x) __atomic_load_n(&(x), __ATOMIC_ACQUIRE)
#define STORE(x, v) __atomic_store_n(&(x), (v), __ATOMIC_RELEASE)
#if defined(__x86_64__) || defined(__i386__)
#define RELAX() __builtin_ia32_pause()
#elif defined(__aarch64__)
#define RELAX() __asm__ __volatile__("yield")
#else
#define RELAX() ((void)0)
#endif
#else
#define MLP__SPIN 10000
#define LOAD(x) (x)
#define STORE(x, v) ((x) = (v))
#endif

#ifndef MLP_NO_THREADS

struct mlp__pool {
    pthread_mutex_t mu;
    pthread_cond_t go;   /* workers wait for a new generation */
    pthread_cond_t done; /* the caller waits for every part to finish */
    pthread_t *tids;
    int nworkers; /* threads - 1 */
    int quit;
    int busy;         /* a job is running (nested calls run inline) */
    uint64_t running; /* workers started (pool_start waits for all) */
    uint64_t gen;
    /* the job: parts are claimed in order under mu by whoever is free, so
     * a worker the OS has not woken yet delays nothing */
    mlp__range_fn fn;
    void *arg;
    int64_t n;
    int parts, next;
    uint64_t finished; /* parts done: read by the spinning caller */
};

typedef struct {
    struct mlp__pool *p;
    int tid;
} mlp__worker_arg;

static void range_of(int64_t n, int parts, int i, int64_t *lo, int64_t *hi)
{
    *lo = n * i / parts;
    *hi = n * (i + 1) / parts;
}

/* Claim and run parts until none is left; called and returns with mu held. */
static void run_parts(struct mlp__pool *p, int tid)
{
    while (p->next < p->parts) {
        int part = p->next++;
        mlp__range_fn fn = p->fn;
        void *arg = p->arg;
        int64_t lo, hi;
        range_of(p->n, p->parts, part, &lo, &hi);
        pthread_mutex_unlock(&p->mu);
        if (hi > lo)
            fn(arg, lo, hi, tid);
        pthread_mutex_lock(&p->mu);
        STORE(p->finished, p->finished + 1);
        if (p->finished == (uint64_t)p->parts)
            pthread_cond_signal(&p->done);
    }
}

/* Called with mu held, returns with it held: spin while *v == seen (the
 * generation a worker has run, or the count of finished parts the caller
 * last saw) and, for a worker, no quit, at most MLP__SPIN rounds. The
 * caller then sleeps on its condition variable if still needed. */
static void spin_while(struct mlp__pool *p, const uint64_t *v, uint64_t seen, int worker)
{
    int spin;
#if defined(__GNUC__)
    pthread_mutex_unlock(&p->mu);
    for (spin = 0; spin < MLP__SPIN && LOAD(*v) == seen && !(worker && LOAD(p->quit)); spin++)
        RELAX();
    pthread_mutex_lock(&p->mu);
#else
    for (spin = 0; spin < MLP__SPIN && *v == seen && !(worker && p->quit); spin++) {
        pthread_mutex_unlock(&p->mu);
        pthread_mutex_lock(&p->mu);
    }
#endif
}

static void *worker_main(void *varg)
{
    mlp__worker_arg *wa = (mlp__worker_arg *)varg;
    struct mlp__pool *p = wa->p;
    uint64_t seen = 0;
    pthread_mutex_lock(&p->mu);
    STORE(p->running, p->running + 1);
    pthread_cond_signal(&p->done);
    for (;;) {
        spin_while(p, &p->gen, seen, 1);
        while (!p->quit && p->gen == seen)
            pthread_cond_wait(&p->go, &p->mu);
        if (p->quit)
            break;
        seen = p->gen;
        run_parts(p, wa->tid);
    }
    pthread_mutex_unlock(&p->mu);
    return NULL;
}

static void pool_stop(mlp_ctx *ctx, struct mlp__pool *p, int started)
{
    int i;
    pthread_mutex_lock(&p->mu);
    STORE(p->quit, 1);
    pthread_cond_broadcast(&p->go);
    pthread_mutex_unlock(&p->mu);
    for (i = 0; i < started; i++)
        pthread_join(p->tids[i], NULL);
    pthread_cond_destroy(&p->done);
    pthread_cond_destroy(&p->go);
    pthread_mutex_destroy(&p->mu);
    mlp__free(ctx, p->tids);
    mlp__free(ctx, p);
}

/* Worker arguments live right after the tids array. */
static mlp_status pool_start(mlp_ctx *ctx, const char *fn, int nworkers, struct mlp__pool **out)
{
    struct mlp__pool *p;
    mlp__worker_arg *args;
    int i;
    *out = NULL;
    p = (struct mlp__pool *)mlp__calloc(ctx, fn, 1, sizeof *p);
    if (!p)
        return ctx->err.code;
    p->tids = (pthread_t *)mlp__calloc(ctx, fn, (size_t)nworkers,
                                       sizeof(pthread_t) + sizeof(mlp__worker_arg));
    if (!p->tids) {
        mlp__free(ctx, p);
        return ctx->err.code;
    }
    if (pthread_mutex_init(&p->mu, NULL) != 0) {
        mlp__free(ctx, p->tids);
        mlp__free(ctx, p);
        return mlp__fail(ctx, MLP_ERR_UNSUPPORTED, "%s: no mutex", fn);
    }
    if (pthread_cond_init(&p->go, NULL) != 0) {
        pthread_mutex_destroy(&p->mu);
        mlp__free(ctx, p->tids);
        mlp__free(ctx, p);
        return mlp__fail(ctx, MLP_ERR_UNSUPPORTED, "%s: no condition variable", fn);
    }
    if (pthread_cond_init(&p->done, NULL) != 0) {
        pthread_cond_destroy(&p->go);
        pthread_mutex_destroy(&p->mu);
        mlp__free(ctx, p->tids);
        mlp__free(ctx, p);
        return mlp__fail(ctx, MLP_ERR_UNSUPPORTED, "%s: no condition variable", fn);
    }
    args = (mlp__worker_arg *)(void *)(p->tids + nworkers);
    for (i = 0; i < nworkers; i++) {
        args[i].p = p;
        args[i].tid = i + 1;
        if (pthread_create(&p->tids[i], NULL, worker_main, &args[i]) != 0) {
            pool_stop(ctx, p, i);
            return mlp__fail(ctx, MLP_ERR_UNSUPPORTED, "%s: could not start thread %d of %d", fn,
                             i + 2, nworkers + 1);
        }
    }
    p->nworkers = nworkers;
    /* every worker running before the first job (mlp__round_trip_ns's
       count needs one to answer the caller), the caller spinning first:
       woken from a sleep, Linux may put it on the core of the worker
       that woke it, where the two then take turns for milliseconds */
    pthread_mutex_lock(&p->mu);
    while (p->running < (uint64_t)nworkers) {
        spin_while(p, &p->running, p->running, 0);
        if (p->running < (uint64_t)nworkers)
            pthread_cond_wait(&p->done, &p->mu);
    }
    pthread_mutex_unlock(&p->mu);
    *out = p;
    return MLP_OK;
}

void mlp__pool_destroy(mlp_ctx *ctx)
{
    if (ctx && ctx->pool) {
        pool_stop(ctx, ctx->pool, ctx->pool->nworkers);
        ctx->pool = NULL;
    }
}

mlp_status mlp_ctx_set_threads(mlp_ctx *ctx, int n)
{
    struct mlp__pool *p;
    mlp_status st;
    if (!ctx)
        return MLP_ERR_NULL;
    if (n < 1 || n > MLP__MAX_THREADS)
        return mlp__fail(ctx, MLP_ERR_ARG, "%s: n = %d must be in 1..%d", __func__, n,
                         MLP__MAX_THREADS);
    if (n == ctx->threads && (n == 1 || ctx->pool))
        return MLP_OK;
    if (n == 1) {
        mlp__pool_destroy(ctx);
        ctx->threads = 1;
        ctx->near_cores = 0;
        return MLP_OK;
    }
    st = pool_start(ctx, __func__, n - 1, &p);
    if (st != MLP_OK)
        return st; /* the previous pool and count stay */
    mlp__pool_destroy(ctx);
    ctx->pool = p;
    ctx->threads = n;
    {
        const double ns = mlp__round_trip_ns(ctx, MLP__NEAR_NS);
        ctx->near_cores = ns > 0.0 && ns < MLP__NEAR_NS;
    }
    return MLP_OK;
}

void mlp__parallel_for(mlp_ctx *ctx, int64_t n, int64_t min_per_thread, mlp__range_fn fn, void *arg)
{
    struct mlp__pool *p = ctx->pool;
    int64_t parts;
    if (min_per_thread < 1)
        min_per_thread = 1;
    parts = p ? n / min_per_thread : 1;
    /* one part a thread: the same core tends to get the same range in
       every job over the same data (the caller claims first), and an
       unclaimed part of a late thread is still taken by the others */
    if (p && parts > (int64_t)(p->nworkers + 1))
        parts = (int64_t)(p->nworkers + 1);
    if (!p || parts < 2 || p->busy) {
        if (n > 0)
            fn(arg, 0, n, 0);
        return;
    }
    pthread_mutex_lock(&p->mu);
    p->busy = 1;
    p->fn = fn;
    p->arg = arg;
    p->n = n;
    p->parts = (int)parts;
    p->next = 0;
    STORE(p->finished, 0);
    STORE(p->gen, p->gen + 1);
    pthread_cond_broadcast(&p->go);
    run_parts(p, 0);
    if (p->finished < (uint64_t)p->parts)
        spin_while(p, &p->finished, p->finished, 0);
    while (p->finished < (uint64_t)p->parts)
        pthread_cond_wait(&p->done, &p->mu);
    p->busy = 0;
    pthread_mutex_unlock(&p->mu);
}

#else /* MLP_NO_THREADS */

mlp_status mlp_ctx_set_threads(mlp_ctx *ctx, int n)
{
    if (!ctx)
        return MLP_ERR_NULL;
    if (n < 1 || n > MLP__MAX_THREADS)
        return mlp__fail(ctx, MLP_ERR_ARG, "%s: n = %d must be in 1..%d", __func__, n,
                         MLP__MAX_THREADS);
    if (n > 1)
        return mlp__fail(ctx, MLP_ERR_UNSUPPORTED, "%s: this build has no thread support",
                         __func__);
    ctx->threads = n;
    return MLP_OK;
}

void mlp__pool_destroy(mlp_ctx *ctx)
{
    (void)ctx;
}

void mlp__parallel_for(mlp_ctx *ctx, int64_t n, int64_t min_per_thread, mlp__range_fn fn, void *arg)
{
    (void)ctx;
    (void)min_per_thread;
    if (n > 0)
        fn(arg, 0, n, 0);
}

#endif

/* ---- how far apart the pool's cores are ----
 * Part 0 runs on the caller (it claims first, and stays in part 0 until
 * part 1 has run), part 1 on a worker; they pass a count back and forth.
 * A part that waits PING_PATIENCE spins (about 0.3 ms) for an answer
 * stops both. Short runs warm up until one has rounds under PING_SLOW_NS,
 * for at most PING_SETTLE_S: a new thread often starts on its creator's
 * core, where the two take turns until the OS moves one (a few ms). If
 * none does (an overloaded machine, or a checker such as valgrind that
 * runs one thread at a time), nothing is measured. */
#if defined(__GNUC__) && !defined(MLP_NO_THREADS)
#define PING_ROUNDS 100
#define PING_WARM 8
#define PING_SETTLE_S 0.01
#define PING_RUNS 16
#define PING_PATIENCE 20000
#define PING_SLOW_NS 10000.0

typedef struct {
    uint64_t count;
    int64_t rounds;
    int quit;
} ping_job;

static void ping_part(void *arg, int64_t lo, int64_t hi, int tid)
{
    ping_job *j = (ping_job *)arg;
    int64_t i, spins;
    (void)hi;
    (void)tid;
    for (i = 0; i < j->rounds; i++) {
        const uint64_t want = (uint64_t)(2 * i + lo);
        for (spins = 0; LOAD(j->count) != want; spins++) {
            if (LOAD(j->quit) || spins > PING_PATIENCE) {
                STORE(j->quit, 1);
                return;
            }
            RELAX();
        }
        STORE(j->count, want + 1);
    }
}

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

/* ns a round of `rounds` passes took, or 0 if the passing stopped or a
 * round took more than PING_SLOW_NS */
static double ping(mlp_ctx *ctx, int64_t rounds)
{
    ping_job j;
    double t0, ns;
    j.count = 0;
    j.rounds = rounds;
    j.quit = 0;
    t0 = now_s();
    mlp__parallel_for(ctx, 2, 1, ping_part, &j);
    ns = (now_s() - t0) / (double)rounds * 1e9;
    return j.quit || ns > PING_SLOW_NS ? 0.0 : ns;
}

double mlp__round_trip_ns(mlp_ctx *ctx, double enough)
{
    double best, dt, t_end;
    int r;
    if (!ctx->pool)
        return 0.0;
    t_end = now_s() + PING_SETTLE_S;
    do {
        best = ping(ctx, PING_WARM);
    } while (best == 0.0 && now_s() < t_end);
    for (r = 0; best > 0.0 && r < PING_RUNS && best >= enough; r++) {
        dt = ping(ctx, PING_ROUNDS);
        if (dt == 0.0)
            break;
        if (dt < best)
            best = dt;
    }
    return best;
}
#else
double mlp__round_trip_ns(mlp_ctx *ctx, double enough)
{
    (void)ctx;
    (void)enough;
    return 0.0; /* no threads, or no atomics to pass the count with */
}
#endif

/* ---- the context's lock and scratch for calls that may run at once ---- */

#ifndef MLP_NO_THREADS
size_t mlp__lock_bytes(void)
{
    return sizeof(pthread_mutex_t);
}
int mlp__lock_init(void *lock)
{
    return pthread_mutex_init((pthread_mutex_t *)lock, NULL) == 0;
}
void mlp__lock_destroy(void *lock)
{
    pthread_mutex_destroy((pthread_mutex_t *)lock);
}
static void lock_ctx(mlp_ctx *ctx)
{
    pthread_mutex_lock((pthread_mutex_t *)ctx->lock);
}
static void unlock_ctx(mlp_ctx *ctx)
{
    pthread_mutex_unlock((pthread_mutex_t *)ctx->lock);
}
#else
size_t mlp__lock_bytes(void)
{
    return 1;
}
int mlp__lock_init(void *lock)
{
    (void)lock;
    return 1;
}
void mlp__lock_destroy(void *lock)
{
    (void)lock;
}
static void lock_ctx(mlp_ctx *ctx)
{
    (void)ctx;
}
static void unlock_ctx(mlp_ctx *ctx)
{
    (void)ctx;
}
#endif

mlp_status mlp__fail_shared(mlp_ctx *ctx, mlp_status code, const char *fmt, ...)
{
    va_list ap;
    lock_ctx(ctx);
    ctx->err.code = code;
    va_start(ap, fmt);
    vsnprintf(ctx->err.msg, sizeof ctx->err.msg, fmt, ap);
    va_end(ap);
    unlock_ctx(ctx);
    return code;
}

/* Room in s for nt packing workspaces and nt * per_thread floats; called
 * with the lock held. */
static mlp_status scratch_fit(mlp_ctx *ctx, const char *fn, mlp__scratch *s, int nt,
                              size_t per_thread)
{
    size_t floats, bytes;
    /* sized again only for another kernel or more threads (the size
       computed on every call was a few percent of a one-row predict) */
    if (!s->work || s->work_for != ctx->gemm || s->work_threads < nt) {
        const size_t per = mlp__gemm_workspace_floats(ctx->gemm);
        mlp__free_aligned(ctx, s->work);
        s->work_floats = 0;
        s->work_threads = 0;
        s->work_for = NULL;
        if (!mlp__mul_size(per * sizeof(float), (size_t)nt, &bytes))
            return MLP_ERR_OVERFLOW;
        s->work = (float *)mlp__alloc_aligned(ctx, fn, bytes);
        if (!s->work)
            return MLP_ERR_NOMEM;
        s->work_floats = per;
        s->work_threads = nt;
        s->work_for = ctx->gemm;
    }
    if (!mlp__mul_size(per_thread, (size_t)nt, &floats)
        || !mlp__mul_size(floats, sizeof(float), &bytes))
        return MLP_ERR_OVERFLOW;
    if (!s->buf || s->buf_floats < floats) {
        float *buf = (float *)mlp__alloc_aligned(ctx, fn, bytes);
        if (!buf)
            return MLP_ERR_NOMEM;
        mlp__free_aligned(ctx, s->buf);
        s->buf = buf;
        s->buf_floats = floats;
    }
    return MLP_OK;
}

mlp_status mlp__scratch_take(mlp_ctx *ctx, const char *fn, int want_pool, size_t per_thread,
                             mlp__scratch **out)
{
    mlp__scratch *s;
    mlp_status st;
    *out = NULL;
    lock_ctx(ctx);
    for (s = ctx->scratch; s && s->busy; s = s->next)
        ;
    if (!s) {
        s = (mlp__scratch *)mlp__calloc(ctx, fn, 1, sizeof *s);
        if (!s) {
            unlock_ctx(ctx);
            return MLP_ERR_NOMEM;
        }
        s->next = ctx->scratch;
        ctx->scratch = s;
    }
    s->pool = want_pool && ctx->pool && ctx->threads > 1 && !ctx->pool_taken;
    st = scratch_fit(ctx, fn, s, s->pool ? ctx->threads : 1, per_thread);
    if (st != MLP_OK) {
        if (st == MLP_ERR_OVERFLOW) /* out of memory is recorded by the allocation */
            mlp__fail(ctx, st, "%s: workspace of %llu floats a thread is too large", fn,
                      (unsigned long long)per_thread);
        s->pool = 0;
        unlock_ctx(ctx);
        return st;
    }
    s->busy = 1;
    if (s->pool)
        ctx->pool_taken = 1;
    unlock_ctx(ctx);
    *out = s;
    return MLP_OK;
}

void mlp__scratch_give(mlp_ctx *ctx, mlp__scratch *s)
{
    lock_ctx(ctx);
    if (s->pool)
        ctx->pool_taken = 0;
    s->pool = 0;
    s->busy = 0;
    unlock_ctx(ctx);
}

void mlp__scratch_destroy(mlp_ctx *ctx)
{
    while (ctx->scratch) {
        mlp__scratch *s = ctx->scratch;
        ctx->scratch = s->next;
        mlp__free_aligned(ctx, s->work);
        mlp__free_aligned(ctx, s->buf);
        mlp__free(ctx, s);
    }
}
