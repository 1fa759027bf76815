/*
 * bench/train.c - training speed through mlp_fit exactly as a user writes
 * it, on four nets (ReLU between linear layers, SGD):
 *   784-256-10, 784-512-256-10   Fashion-MNIST, 60000 images, batch 256,
 *                                softmax cross-entropy, lr 0.1
 *   784-1024-1024-10             the first 10000 images (products dominate)
 *   20-64-64-1                   a synthetic regression, 65536 rows, batch
 *                                32, MSE, lr 0.05 (overhead dominates)
 * One line per net and thread count: the median epoch time of
 * MLP_BENCH_EPOCHS epochs (default 3), the epoch's matrix-product FLOPs,
 * the efficiency (FLOPs / (threads x measured one-core FMA peak x time)),
 * the test figure after the epochs, a cache line's round trip between the
 * threads, the CPU, the kernel and a hash of the trained weights' bits
 * (FNV-1a over every parameter: equal at every thread count, since every
 * result is; bench/compare.py checks it):
 *   train net=784-256-10 batch=256 threads=1 seed=1 epoch_s=... gflop=...
 *         efficiency=... test_acc=... round_trip_ns=... cpu="..." kernel=avx512
 *         weights=0123456789abcdef
 * round_trip_ns is a cache line passed from one of the context's threads
 * to another and back, right after the epochs (mlp__round_trip_ns: the
 * best of up to 16 loops of 100; 0 at one thread): every product or pass
 * split across threads hands its operands over at about this cost a
 * line, and it tells how far apart the cores are (on one chiplet or an
 * Intel die about 60-160 ns, across chiplets or
 * sockets several times that; a VM's host may move its vCPUs between
 * the two from one minute to the next).
 * Then, unless MLP_BENCH_PHASES=0, one more epoch run phase by phase (the
 * calls mlp_fit makes, each timed), with the matrix products' own time
 * within forward and backward (in situ: the context's product hook), and
 * the same epoch's products timed alone, back to back, at the same thread
 * count:
 *   phases net=... threads=... gather_s forward_s loss_s backward_s
 *          (zero_grad with backward, as mlp_fit runs them) step_s reset_s total_s products_fwd_s products_bwd_s
 *          other_fwd_s other_bwd_s alone_fwd_s alone_bwd_s
 *          in_situ_over_alone over_products=total/alone products
 * other_* is a phase less its products in situ (element-wise passes, the
 * loss, the tape, hand-offs; a linear layer's bias and ReLU, which the
 * product's threads apply to the blocks they wrote, count with its
 * product in situ, not alone); in_situ_over_alone > 1 is what the step's
 * other work costs the products (cold caches, a sleeping worker), < 1 what
 * the products skip on real data (zero steps: pixels that are 0) and not
 * on the scratch they are timed alone on. Then each product of that
 * epoch apart, seconds an epoch, in the order a batch runs them:
 *   products net=... threads=... fwd_s=t,t,... bwd_s=t,t,...
 * the forward's layer by layer, the backward's as the tape runs them (a
 * linear layer's dx, then its dw, from the last layer; none for the
 * input's dx): 784-1024-1024-10's fwd_s are x W1, h1 W2, h2 W3 and its
 * bwd_s dh2 dW3 dh1 dW2 dW1.
 * With MLP_BENCH_PAIRS=n (n up to 64; bench/compare.py sets 3), a 2-thread
 * run then trains n more epochs at 1 thread and n at 2, alternated in the
 * same process (1 then 2, then 2 then 1, ...), and prints each count's
 * median epoch and the median of the n pairs' speed-ups:
 *   pairs net=... seed=... pairs=n epoch_1t_s=... epoch_2t_s=... speedup_2t=...
 * Each pair shares the host's moment; the two "train" lines' epochs are
 * separate processes, seconds to minutes apart, on a VM whose other guests
 * and vCPU placement change in between.
 * The first line printed is the machine's peak:
 *   peak cpu="..." kernel=... fma_gflops_per_core=...
 * Usage: train [seed [net|all [threads]]]: threads 0 or absent runs 1 and
 * 2, any other count that one. Data: .cache/fashion-mnist (make data) or
 * MLP_FASHION_DIR.
 */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "bench.h"
#include "comm.h"     /* mlp__zero_grad_backward: what mlp_fit calls */
#include "core.h"     /* mlp__gemm: the products timed alone */
#include "parallel.h" /* mlp__round_trip_ns */
#include "mlp.h"

typedef struct net_spec {
    const char *name;
    int64_t sizes[5];
    int nsizes;
    int64_t batch;
    int64_t rows; /* training rows used (0: all) */
    int regression;
    float lr;
} net_spec;

static const net_spec nets[] = {
    {"784-256-10", {784, 256, 10}, 3, 256, 0, 0, 0.1f},
    {"784-512-256-10", {784, 512, 256, 10}, 4, 256, 0, 0, 0.1f},
    {"784-1024-1024-10", {784, 1024, 1024, 10}, 4, 256, 10000, 0, 0.1f},
    {"20-64-64-1", {20, 64, 64, 1}, 4, 32, 0, 1, 0.05f},
};
#define NNETS ((int)(sizeof nets / sizeof nets[0]))

/* The synthetic regression: 65536 training and 4096 test rows of 20
 * inputs in [-1,1) from an integer hash (bench/compare.py makes the same
 * numbers), target sin(x0) + x1 x2 - x3^2 / 2 + x4 / 4. */
#define REG_TRAIN 65536
#define REG_TEST 4096
static void regression_rows(float *x, float *y, int64_t first, int64_t n)
{
    int64_t i, j;
    for (i = 0; i < n; i++) {
        float *r = x + i * 20;
        for (j = 0; j < 20; j++) {
            uint32_t h = (uint32_t)((uint64_t)((first + i) * 20 + j) * 2654435761u);
            r[j] = (float)h / 4294967296.0f * 2.0f - 1.0f;
        }
        y[i] = sinf(r[0]) + r[1] * r[2] - 0.5f * r[3] * r[3] + 0.25f * r[4];
    }
}

static mlp_tensor *load(mlp_ctx *ctx, const char *dir, const char *name, float scale)
{
    char path[1024];
    mlp_tensor *t;
    snprintf(path, sizeof path, "%s/%s", dir, name);
    t = mlp_idx_load(ctx, path, scale);
    if (!t)
        fprintf(stderr, "train: %s: %s (run `make data`)\n", path, mlp_ctx_errmsg(ctx));
    return t;
}

/* An image file [n,28,28] read as [min(n, limit),784] floats in [0,1], a
 * chunk of bytes at a time, straight into the tensor (no reshape copy, no
 * whole-file buffer). limit 0: all images. */
static mlp_tensor *load_flat(mlp_ctx *ctx, const char *dir, const char *name, int64_t limit)
{
    char path[1024];
    unsigned char h[16], chunk[65536];
    int64_t shape[2], i, n, done = 0;
    mlp_tensor *t;
    float *d;
    FILE *f;
    snprintf(path, sizeof path, "%s/%s", dir, name);
    f = fopen(path, "rb");
    if (!f || fread(h, 1, 16, f) != 16 || h[2] != 8 || h[3] != 3) {
        fprintf(stderr, "train: cannot read %s (run `make data`)\n", path);
        if (f)
            fclose(f);
        return NULL;
    }
    shape[0] = (int64_t)h[4] << 24 | (int64_t)h[5] << 16 | (int64_t)h[6] << 8 | h[7];
    if (limit > 0 && shape[0] > limit)
        shape[0] = limit;
    shape[1] = 784;
    t = mlp_tensor_zeros(ctx, 2, shape);
    if (!t) {
        fclose(f);
        return NULL;
    }
    d = mlp_tensor_data(t);
    n = shape[0] * 784;
    while (done < n) {
        size_t want = (size_t)(n - done < (int64_t)sizeof chunk ? n - done : (int64_t)sizeof chunk);
        if (fread(chunk, 1, want, f) != want) {
            fprintf(stderr, "train: %s is truncated\n", path);
            mlp_tensor_free(t);
            fclose(f);
            return NULL;
        }
        for (i = 0; i < (int64_t)want; i++)
            d[done + i] = (float)chunk[i] * (1.0f / 255.0f);
        done += (int64_t)want;
    }
    fclose(f);
    return t;
}

/* Labels [n] (the first `limit` when limit > 0). */
static mlp_tensor *load_labels(mlp_ctx *ctx, const char *dir, const char *name, int64_t limit)
{
    mlp_tensor *t = load(ctx, dir, name, 1.0f), *s;
    int64_t shape[1];
    if (!t || limit <= 0 || mlp_tensor_dim(t, 0) <= limit)
        return t;
    shape[0] = limit;
    s = mlp_tensor_from(ctx, 1, shape, mlp_tensor_cdata(t));
    mlp_tensor_free(t);
    return s;
}

static int make_data(mlp_ctx *ctx, const char *dir, const net_spec *ns, mlp_tensor **xtr,
                     mlp_tensor **ytr, mlp_tensor **xte, mlp_tensor **yte)
{
    if (ns->regression) {
        int64_t s[2] = {REG_TRAIN, 20}, sy[2] = {REG_TRAIN, 1};
        *xtr = mlp_tensor_zeros(ctx, 2, s);
        *ytr = mlp_tensor_zeros(ctx, 2, sy);
        s[0] = sy[0] = REG_TEST;
        *xte = mlp_tensor_zeros(ctx, 2, s);
        *yte = mlp_tensor_zeros(ctx, 2, sy);
        if (!*xtr || !*ytr || !*xte || !*yte)
            return 0;
        regression_rows(mlp_tensor_data(*xtr), mlp_tensor_data(*ytr), 0, REG_TRAIN);
        regression_rows(mlp_tensor_data(*xte), mlp_tensor_data(*yte), REG_TRAIN, REG_TEST);
        return 1;
    }
    *xtr = load_flat(ctx, dir, "train-images-idx3-ubyte", ns->rows);
    *ytr = load_labels(ctx, dir, "train-labels-idx1-ubyte", ns->rows);
    *xte = load_flat(ctx, dir, "t10k-images-idx3-ubyte", 0);
    *yte = load_labels(ctx, dir, "t10k-labels-idx1-ubyte", 0);
    return *xtr && *ytr && *xte && *yte;
}

/* Multiply-adds x 2 of the epoch's matrix products: per layer the forward
 * product and the weight gradient, and the input gradient for every layer
 * but the first (the data needs none). */
static double epoch_flops(const net_spec *ns, int64_t rows)
{
    double f = 0.0;
    int i;
    for (i = 0; i + 1 < ns->nsizes; i++)
        f += 2.0 * (double)ns->sizes[i] * (double)ns->sizes[i + 1] * (i ? 3.0 : 2.0);
    return f * (double)rows;
}

/* Median time of one call of fn over `reps` calls. */
typedef struct gemm_case {
    mlp_ctx *ctx;
    int ta, tb;
    int64_t M, N, K;
    float *A, *B, *C;
    float beta;
} gemm_case;

static double time_gemm(gemm_case *g, int reps)
{
    double t[32];
    int r;
    if (reps > 32)
        reps = 32;
    for (r = 0; r < reps; r++) {
        double t0 = bench_now();
        mlp__gemm(g->ctx, g->ta, g->tb, g->M, g->N, g->K, 1.0f, g->A, g->ta ? g->M : g->K, g->B,
                  g->tb ? g->K : g->N, g->beta, g->C, g->N);
        t[r] = bench_now() - t0;
    }
    return bench_median(t, reps);
}

/* The epoch's products alone, at ctx's thread count: every shape a batch
 * runs, timed on scratch data, times the number of batches. The operands
 * hold no zeros: the products skip zero steps of A, and all-zero scratch
 * would time nothing but that. */
static int time_products(mlp_ctx *ctx, const net_spec *ns, int64_t nbatches, double *fwd,
                         double *bwd)
{
    int64_t maxw = 0, b = ns->batch, rows, j;
    float *A, *B, *C;
    gemm_case g;
    int i;
    *fwd = *bwd = 0.0;
    for (i = 0; i < ns->nsizes; i++)
        if (ns->sizes[i] > maxw)
            maxw = ns->sizes[i];
    rows = maxw > b ? maxw : b; /* of A and C: a layer's width or the batch */
    if (mlp__gemm_ready(ctx, "bench/train") != MLP_OK)
        return 0;
    A = bench_floats((size_t)(maxw * rows));
    B = bench_floats((size_t)(maxw * maxw));
    C = bench_floats((size_t)(maxw * rows));
    if (!A || !B || !C) {
        free(A);
        free(B);
        free(C);
        return 0;
    }
    for (j = 0; j < maxw * rows; j++)
        A[j] = (float)(j % 13 + 1) / 16.0f;
    for (j = 0; j < maxw * maxw; j++)
        B[j] = (float)(j % 11) / 16.0f - 0.3f;
    g.ctx = ctx;
    g.A = A;
    g.B = B;
    g.C = C;
    for (i = 0; i + 1 < ns->nsizes; i++) {
        int64_t in = ns->sizes[i], out = ns->sizes[i + 1];
        /* forward: y [b,out] = x [b,in] w [in,out] */
        g.ta = 0, g.tb = 0, g.M = b, g.N = out, g.K = in, g.beta = 0.0f;
        *fwd += time_gemm(&g, 15) * (double)nbatches;
        /* dw [in,out] += x^T dy */
        g.ta = 1, g.tb = 0, g.M = in, g.N = out, g.K = b, g.beta = 1.0f;
        *bwd += time_gemm(&g, 15) * (double)nbatches;
        if (i) { /* dx [b,in] += dy [b,out] w^T */
            g.ta = 0, g.tb = 1, g.M = b, g.N = in, g.K = out, g.beta = 1.0f;
            *bwd += time_gemm(&g, 15) * (double)nbatches;
        }
    }
    free(A);
    free(B);
    free(C);
    return 1;
}

enum { PH_GATHER, PH_FORWARD, PH_LOSS, PH_BACKWARD, PH_STEP, PH_RESET, PH_N };

/* The products' own time within the phases (the context's product hook):
 * in situ, with the caches as the step leaves them, beside the same
 * products timed alone back to back; and each product of a batch apart
 * (the n-th of the batch's forward or backward, the first MAX_EACH). */
#define MAX_EACH 16
typedef struct insitu {
    double t0, sum, each[MAX_EACH];
    int n, most; /* products so far in this batch, the most in one */
} insitu;

static void insitu_hook(void *user, int end)
{
    insitu *s = (insitu *)user;
    double d;
    if (!end) {
        s->t0 = bench_now();
        return;
    }
    d = bench_now() - s->t0;
    s->sum += d;
    if (s->n < MAX_EACH)
        s->each[s->n] += d;
    if (++s->n > s->most)
        s->most = s->n;
}

/* " key=t0,t1,..." of s's products, seconds an epoch */
static void print_each(const char *key, const insitu *s)
{
    int i, n = s->most < MAX_EACH ? s->most : MAX_EACH;
    printf(" %s=", key);
    for (i = 0; i < n; i++)
        printf("%s%.4f", i ? "," : "", s->each[i]);
}

/* The batches of one epoch through the calls mlp_fit makes, each phase
 * timed, the products within forward and backward too. */
static int phase_batches(mlp_ctx *ctx, mlp_model *m, mlp_optim *opt, mlp_dataset *ds,
                         const net_spec *ns, double *ph, insitu *fwd, insitu *bwd)
{
    int64_t nb = mlp_dataset_num_batches(ds, ns->batch), b;
    int k;
    for (k = 0; k < PH_N; k++)
        ph[k] = 0.0;
    if (mlp_dataset_shuffle(ds) != MLP_OK)
        return 0;
    for (b = 0; b < nb; b++) {
        mlp_tensor *x, *y, *out, *l;
        double t0 = bench_now(), t1, t2, t3, t5, t6, t7;
        if (mlp_dataset_batch(ds, b, ns->batch, &x, &y) != MLP_OK)
            return 0;
        t1 = bench_now();
        fwd->n = bwd->n = 0;
        ctx->gemm_hook_user = fwd;
        out = mlp_model_forward(m, x);
        t2 = bench_now();
        l = ns->regression ? mlp_mse(out, y) : mlp_cross_entropy(out, y);
        if (!l)
            return 0;
        (void)mlp_tensor_item(l);
        t3 = bench_now();
        ctx->gemm_hook_user = bwd;
        if (mlp__zero_grad_backward(opt, l) != MLP_OK)
            return 0;
        t5 = bench_now();
        if (mlp_optim_step(opt) != MLP_OK)
            return 0;
        t6 = bench_now();
        mlp_tape_reset(ctx);
        t7 = bench_now();
        ph[PH_GATHER] += t1 - t0;
        ph[PH_FORWARD] += t2 - t1;
        ph[PH_LOSS] += t3 - t2;
        ph[PH_BACKWARD] += t5 - t3;
        ph[PH_STEP] += t6 - t5;
        ph[PH_RESET] += t7 - t6;
    }
    return 1;
}

/* One epoch phase by phase; fwd / bwd: the products' time in situ. */
static int phase_epoch(mlp_ctx *ctx, mlp_model *m, mlp_optim *opt, mlp_dataset *ds,
                       const net_spec *ns, double *ph, insitu *fwd, insitu *bwd)
{
    int ok;
    memset(fwd, 0, sizeof *fwd);
    memset(bwd, 0, sizeof *bwd);
    ctx->gemm_hook = insitu_hook;
    ok = phase_batches(ctx, m, opt, ds, ns, ph, fwd, bwd);
    ctx->gemm_hook = NULL;
    return ok;
}

/* FNV-1a, 64 bits, over the bytes of every parameter of m */
static unsigned long long weights_hash(const mlp_model *m)
{
    unsigned long long h = 14695981039346656037ull;
    int i, n = mlp_model_num_params(m);
    for (i = 0; i < n; i++) {
        const mlp_tensor *t = mlp_model_param(m, i);
        const unsigned char *b = (const unsigned char *)mlp_tensor_cdata(t);
        size_t k, bytes = (size_t)mlp_tensor_numel(t) * sizeof(float);
        for (k = 0; k < bytes; k++)
            h = (h ^ b[k]) * 1099511628211ull;
    }
    return h;
}

/* The epoch once more, phase by phase, beside its products timed alone
 * (the "phases" and "products" lines). */
static int print_phases(mlp_ctx *ctx, mlp_model *m, mlp_optim *opt, mlp_dataset *train,
                        const net_spec *ns, int threads)
{
    double ph[PH_N], pf, pb, inf, inb, total = 0.0;
    int64_t nb = mlp_dataset_num_batches(train, ns->batch);
    insitu fwd, bwd;
    int i;
    if (!phase_epoch(ctx, m, opt, train, ns, ph, &fwd, &bwd)
        || !time_products(ctx, ns, nb, &pf, &pb))
        return 0;
    inf = fwd.sum;
    inb = bwd.sum;
    for (i = 0; i < PH_N; i++)
        total += ph[i];
    printf("phases net=%s threads=%d gather_s=%.4f forward_s=%.4f loss_s=%.4f "
           "backward_s=%.4f step_s=%.4f reset_s=%.4f total_s=%.4f "
           "products_fwd_s=%.4f products_bwd_s=%.4f other_fwd_s=%.4f other_bwd_s=%.4f "
           "alone_fwd_s=%.4f alone_bwd_s=%.4f in_situ_over_alone=%.3f "
           "over_products=%.3f cpu=\"%s\" kernel=%s\n",
           ns->name, threads, ph[PH_GATHER], ph[PH_FORWARD], ph[PH_LOSS], ph[PH_BACKWARD],
           ph[PH_STEP], ph[PH_RESET], total, inf, inb, ph[PH_FORWARD] - inf, ph[PH_BACKWARD] - inb,
           pf, pb, (inf + inb) / (pf + pb), total / (pf + pb), bench_cpu_model(),
           mlp_ctx_gemm_kernel(ctx));
    printf("products net=%s threads=%d", ns->name, threads);
    print_each("fwd_s", &fwd);
    print_each("bwd_s", &bwd);
    printf(" cpu=\"%s\" kernel=%s\n", bench_cpu_model(), mlp_ctx_gemm_kernel(ctx));
    fflush(stdout);
    return 1;
}

/* The net's loss: MSE for the regression, else softmax cross-entropy. */
static mlp_loss_kind net_loss(const net_spec *ns)
{
    return ns->regression ? MLP_LOSS_MSE : MLP_LOSS_CROSS_ENTROPY;
}

/* One epoch through mlp_fit at `threads`; its time in *t. */
static int timed_epoch(mlp_ctx *ctx, mlp_model *m, mlp_optim *opt, mlp_dataset *train,
                       const net_spec *ns, int threads, double *t)
{
    double t0;
    if (mlp_ctx_set_threads(ctx, threads) != MLP_OK)
        return 0;
    t0 = bench_now();
    if (mlp_fit(m, opt, train, net_loss(ns), 1, ns->batch, NULL, NULL) != MLP_OK)
        return 0;
    *t = bench_now() - t0;
    return 1;
}

/* `pairs` epochs at 1 thread and as many at 2, alternated in this process
 * (1 then 2, then 2 then 1, ...), so that each pair shares the host's
 * moment: separate processes minutes apart also measure the host's other
 * guests. The "pairs" line: each count's median epoch and the median of
 * the pairs' speed-ups. */
static int print_pairs(mlp_ctx *ctx, mlp_model *m, mlp_optim *opt, mlp_dataset *train,
                       const net_spec *ns, int pairs, uint64_t seed)
{
    double t1[64], t2[64], up[64];
    int p;
    for (p = 0; p < pairs; p++) {
        const int first = p % 2 ? 2 : 1;
        double *tf = first == 1 ? t1 : t2, *ts = first == 1 ? t2 : t1;
        if (!timed_epoch(ctx, m, opt, train, ns, first, &tf[p])
            || !timed_epoch(ctx, m, opt, train, ns, 3 - first, &ts[p]))
            return 0;
        up[p] = t1[p] / t2[p];
    }
    printf("pairs net=%s seed=%llu pairs=%d epoch_1t_s=%.4f epoch_2t_s=%.4f speedup_2t=%.3f "
           "cpu=\"%s\" kernel=%s\n",
           ns->name, (unsigned long long)seed, pairs, bench_median(t1, pairs),
           bench_median(t2, pairs), bench_median(up, pairs), bench_cpu_model(),
           mlp_ctx_gemm_kernel(ctx));
    fflush(stdout);
    return 1;
}

/* The model: the net's linear layers with ReLU between them. */
static mlp_model *make_model(mlp_ctx *ctx, const net_spec *ns)
{
    mlp_model *m = mlp_model_new(ctx);
    int i;
    for (i = 0; m && i + 1 < ns->nsizes; i++)
        if (mlp_model_add_linear(m, ns->sizes[i], ns->sizes[i + 1]) != MLP_OK
            || (i + 2 < ns->nsizes && mlp_model_add_act(m, MLP_ACT_RELU) != MLP_OK)) {
            mlp_model_free(m);
            return NULL;
        }
    return m;
}

/* The timed epochs at `threads`, the "train" line; then the phases and
 * (at 2 threads) the pairs when asked. */
static int run(const char *dir, const net_spec *ns, int threads, int epochs, int phases, int pairs,
               uint64_t seed)
{
    mlp_ctx *ctx = mlp_ctx_new(NULL);
    mlp_tensor *xtr = NULL, *ytr = NULL, *xte = NULL, *yte = NULL;
    mlp_dataset *train = NULL, *test = NULL;
    mlp_model *m = NULL;
    mlp_optim *opt = NULL;
    double times[64], epoch, flops, peak = bench_fma_peak();
    float acc = 0.0f, tloss = 0.0f;
    int e, rc = 1;
    if (!ctx)
        return 1;
    mlp_ctx_seed(ctx, seed);
    if (mlp_ctx_set_threads(ctx, threads) != MLP_OK) {
        fprintf(stderr, "train: threads=%d: %s\n", threads, mlp_ctx_errmsg(ctx));
        mlp_ctx_free(ctx);
        return 1;
    }
    if (!make_data(ctx, dir, ns, &xtr, &ytr, &xte, &yte))
        goto out;
    train = mlp_dataset_new(xtr, ytr);
    test = mlp_dataset_new(xte, yte);
    m = make_model(ctx, ns);
    if (!train || !test || !m || !(opt = mlp_sgd_new(m, ns->lr)))
        goto out;
    for (e = 0; e < epochs; e++)
        if (!timed_epoch(ctx, m, opt, train, ns, threads, &times[e]))
            goto out;
    if (mlp_evaluate(m, test, net_loss(ns), 1000, &tloss, &acc) != MLP_OK)
        goto out;
    epoch = bench_median(times, epochs);
    flops = epoch_flops(ns, mlp_dataset_size(train));
    printf("train net=%s batch=%lld threads=%d seed=%llu epoch_s=%.4f samples_per_s=%.0f "
           "gflop=%.2f efficiency=%.3f %s=%.4f round_trip_ns=%.0f cpu=\"%s\" kernel=%s "
           "weights=%016llx\n",
           ns->name, (long long)ns->batch, threads, (unsigned long long)seed, epoch,
           (double)mlp_dataset_size(train) / epoch, flops * 1e-9,
           flops * 1e-9 / ((double)threads * peak * epoch),
           ns->regression ? "test_mse" : "test_acc", ns->regression ? (double)tloss : (double)acc,
           mlp__round_trip_ns(ctx, 0.0), bench_cpu_model(), mlp_ctx_gemm_kernel(ctx),
           weights_hash(m));
    fflush(stdout);
    if ((phases && !print_phases(ctx, m, opt, train, ns, threads))
        || (pairs > 0 && threads == 2 && !print_pairs(ctx, m, opt, train, ns, pairs, seed)))
        goto out;
    rc = 0;
out:
    if (rc)
        fprintf(stderr, "train: %s\n", mlp_ctx_errmsg(ctx));
    mlp_optim_free(opt);
    mlp_model_free(m);
    mlp_dataset_free(train);
    mlp_dataset_free(test);
    mlp_tensor_free(xtr);
    mlp_tensor_free(ytr);
    mlp_tensor_free(xte);
    mlp_tensor_free(yte);
    mlp_ctx_free(ctx);
    return rc;
}

int main(int argc, char **argv)
{
    const char *dir = getenv("MLP_FASHION_DIR");
    const char *ep = getenv("MLP_BENCH_EPOCHS");
    const char *ph = getenv("MLP_BENCH_PHASES");
    const char *pr = getenv("MLP_BENCH_PAIRS");
    const char *which = argc > 2 ? argv[2] : "all";
    int epochs = ep ? atoi(ep) : 3, phases = !ph || atoi(ph) != 0, t, n, rc = 0, found = 0;
    int pairs = pr ? atoi(pr) : 0;
    int tonly = argc > 3 ? atoi(argv[3]) : 0;
    const int t_lo = tonly ? tonly : 1, t_hi = tonly ? tonly : 2; /* 0: 1 and 2 */
    uint64_t seed = argc > 1 ? strtoull(argv[1], NULL, 10) : 1;
    mlp_ctx *probe;
    if (tonly < 0) {
        fprintf(stderr, "train: threads = %d must be 0 (1 and 2) or a count\n", tonly);
        return 2;
    }
    probe = mlp_ctx_new(NULL);
    if (!dir)
        dir = ".cache/fashion-mnist";
    if (epochs < 1 || epochs > 64)
        epochs = 3;
    if (pairs < 0 || pairs > 64)
        pairs = 0;
    printf("peak cpu=\"%s\" kernel=%s fma_gflops_per_core=%.1f\n", bench_cpu_model(),
           probe ? mlp_ctx_gemm_kernel(probe) : "none", bench_fma_peak());
    fflush(stdout);
    mlp_ctx_free(probe);
    for (n = 0; n < NNETS; n++) {
        if (strcmp(which, "all") != 0 && strcmp(which, nets[n].name) != 0)
            continue;
        found = 1;
        for (t = t_lo; t <= t_hi; t++)
            rc |= run(dir, &nets[n], t, epochs, phases, pairs, seed);
    }
    if (!found) {
        fprintf(stderr, "train: unknown net %s\n", which);
        return 2;
    }
    return rc;
}
