/*
 * test_threads.c - the context's worker pool: mlp_ctx_set_threads, matrix
 * products (split by rows, by columns, or over K at 2 threads, also with
 * that split's buffer refused) and training steps identical at 1 and 2
 * threads, the internal mlp__parallel_for covering its range, a pool
 * freed with its context, a dataset's batches the same rows at 1, 2 and 3
 * threads, predict/classify called from four threads at once on one
 * model, and the element-wise passes of a step (activations, bias add,
 * bias gradient, softmax cross-entropy) identical at 1, 2 and 3 threads.
 */
#include "testutil.h"
#include "core.h" /* mlp__gemm: the context's product, every transpose */
#include "parallel.h"
#ifndef MLP_NO_THREADS
#include "predict_threads.h"
#endif

/* A build with THREADS=0 has no pool: the tests that need one skip. */
static void need_threads(void)
{
    mlp_ctx *ctx = mlp_ctx_new(NULL);
    mlp_status s = mlp_ctx_set_threads(ctx, 2);
    mlp_ctx_free(ctx);
    if (s == MLP_ERR_UNSUPPORTED)
        skip();
}

static void fill(float *p, int64_t n, uint32_t seed)
{
    int64_t i;
    for (i = 0; i < n; i++) {
        seed = seed * 1664525u + 1013904223u;
        p[i] = (float)((seed >> 8) & 0xffff) / 65536.0f - 0.5f;
    }
}

/* C = A B on an M x K by K x N product at `threads`; copies C into out. */
static void matmul_at(int threads, int64_t M, int64_t K, int64_t N, float *out)
{
    tu_alloc al;
    mlp_ctx *ctx = tu_ctx(&al, -1);
    int64_t sa[2], sb[2];
    float *a = (float *)malloc((size_t)(M * K) * sizeof(float));
    float *b = (float *)malloc((size_t)(K * N) * sizeof(float));
    mlp_tensor *ta, *tb, *c;
    sa[0] = M;
    sa[1] = K;
    sb[0] = K;
    sb[1] = N;
    fill(a, M * K, 1u);
    fill(b, K * N, 2u);
    assert_ok(ctx, mlp_ctx_set_threads(ctx, threads));
    ta = mlp_tensor_from(ctx, 2, sa, a);
    tb = mlp_tensor_from(ctx, 2, sb, b);
    assert_handle(ctx, ta);
    assert_handle(ctx, tb);
    c = mlp_matmul(ta, tb);
    assert_handle(ctx, c);
    memcpy(out, mlp_tensor_data(c), (size_t)(M * N) * sizeof(float));
    mlp_tensor_free(ta);
    mlp_tensor_free(tb);
    mlp_ctx_free(ctx);
    assert_int_equal(al.live, 0);
    free(a);
    free(b);
}

static void threads__matmul_same_bits_at_1_and_2_threads(void **state)
{
    /* tall (rows split) and wide (columns split) products, odd sizes */
    static const int64_t dims[2][3] = {{301, 257, 203}, {67, 190, 515}};
    int d;
    (void)state;
    need_threads();
    for (d = 0; d < 2; d++) {
        int64_t M = dims[d][0], K = dims[d][1], N = dims[d][2], i, j, p;
        float *c1 = (float *)malloc((size_t)(M * N) * sizeof(float));
        float *c2 = (float *)malloc((size_t)(M * N) * sizeof(float));
        float *c3 = (float *)malloc((size_t)(M * N) * sizeof(float));
        float *a = (float *)malloc((size_t)(M * K) * sizeof(float));
        float *b = (float *)malloc((size_t)(K * N) * sizeof(float));
        matmul_at(1, M, K, N, c1);
        matmul_at(2, M, K, N, c2);
        matmul_at(3, M, K, N, c3);
        assert_memory_equal(c1, c2, (size_t)(M * N) * sizeof(float));
        assert_memory_equal(c1, c3, (size_t)(M * N) * sizeof(float));
        /* and the product is right: a double-precision triple loop here */
        fill(a, M * K, 1u);
        fill(b, K * N, 2u);
        for (i = 0; i < M; i += 37)
            for (j = 0; j < N; j += 29) {
                double s = 0.0;
                for (p = 0; p < K; p++)
                    s += (double)a[i * K + p] * (double)b[p * N + j];
                assert_close(c2[i * N + j], s, 1e-4, 1e-4);
            }
        free(a);
        free(b);
        free(c1);
        free(c2);
        free(c3);
    }
}

/* C = op(A) op(B) + C through the context at `threads` (C starts as c0),
 * with A stored transposed when ta, B when tb; with `refuse` the
 * allocator refuses every block after the context's workspace. Returns
 * the allocations refused. */
static long gemm_at(int threads, int refuse, int ta, int tb, int64_t M, int64_t N, int64_t K,
                    const float *a, const float *b, const float *c0, float *c)
{
    tu_alloc al;
    mlp_ctx *ctx = tu_ctx(&al, -1);
    assert_ok(ctx, mlp_ctx_set_threads(ctx, threads));
    assert_ok(ctx, mlp__gemm_ready(ctx, "test"));
    if (refuse)
        al.fail_at = al.calls;
    memcpy(c, c0, (size_t)(M * N) * sizeof(float));
    mlp__gemm(ctx, ta, tb, M, N, K, 1.0f, a, ta ? M : K, b, tb ? K : N, 1.0f, c, N);
    mlp_ctx_free(ctx);
    assert_int_equal(al.live, 0);
    return al.failures;
}

/* c = op(A) op(B) + c0, as gemm_at takes them: every 13th row and 11th
 * column against a double-precision triple loop here. */
static void assert_product(int ta, int tb, int64_t M, int64_t N, int64_t K, const float *a,
                           const float *b, const float *c0, const float *c)
{
    int64_t i, j, p;
    for (i = 0; i < M; i += 13)
        for (j = 0; j < N; j += 11) {
            double s = (double)c0[i * N + j];
            for (p = 0; p < K; p++)
                s += (double)(ta ? a[p * M + i] : a[i * K + p])
                     * (double)(tb ? b[j * K + p] : b[p * N + j]);
            assert_close(c[i * N + j], s, 1e-4, 1e-4);
        }
}

static void threads__products_of_every_transpose_same_bits_at_1_2_3_threads(void **state)
{
    /* tall (rows split across the threads) and wide (columns split),
     * ragged */
    static const int64_t dims[2][3] = {{397, 131, 301}, {75, 611, 233}};
    int d, t;
    (void)state;
    need_threads();
    for (d = 0; d < 2; d++)
        for (t = 0; t < 4; t++) {
            int ta = t & 1, tb = t >> 1;
            int64_t M = dims[d][0], N = dims[d][1], K = dims[d][2];
            size_t cn = (size_t)(M * N) * sizeof(float);
            float *a = (float *)malloc((size_t)(M * K) * sizeof(float));
            float *b = (float *)malloc((size_t)(K * N) * sizeof(float));
            float *c0 = (float *)malloc(cn), *c1 = (float *)malloc(cn);
            float *c2 = (float *)malloc(cn), *c3 = (float *)malloc(cn);
            fill(a, M * K, 3u + (uint32_t)t);
            fill(b, K * N, 4u);
            fill(c0, M * N, 5u);
            gemm_at(1, 0, ta, tb, M, N, K, a, b, c0, c1);
            gemm_at(2, 0, ta, tb, M, N, K, a, b, c0, c2);
            gemm_at(3, 0, ta, tb, M, N, K, a, b, c0, c3);
            assert_memory_equal(c1, c2, cn);
            assert_memory_equal(c1, c3, cn);
            assert_product(ta, tb, M, N, K, a, b, c0, c2);
            free(a);
            free(b);
            free(c0);
            free(c1);
            free(c2);
            free(c3);
        }
}

static void threads__product_split_over_k_same_bits_and_survives_refusal(void **state)
{
    /* K in two of the kernel's blocks, the second shorter, and more than
     * the rows of A (a layer's X W at 2 threads): split over K, and with
     * its buffer refused (the one refusal), by rows or columns; a
     * gradient of such a W, A^T B with more rows than K, split by rows
     * though wider (no buffer, no refusal); and K a little under KC, in
     * two halves (and split over K) where the kernel's table says so;
     * and K just under two KC, split over K into two blocks each a little
     * under KC, each of which must stay one block as at 1 thread (a
     * 1024-wide layer's X W) */
    static const int64_t dims[6][3] = {{37, 131, 0},   {200, 67, 0}, {2, 400, 0},
                                       {333, 700, 80}, {37, 131, 0}, {40, 96, 0}};
    mlp_ctx *probe = mlp_ctx_new(NULL);
    const int64_t K2 = probe->gemm->kc + probe->gemm->kc / 2 + 3, K3 = probe->gemm->kc - 3;
    const int64_t K4 = 2 * probe->gemm->kc - 5;
    const int64_t kb = mlp__gemm_kblock(probe->gemm, 0, 0, K2);
    const int halves = probe->gemm->kc_halves;
    int d;
    (void)state;
    assert_int_equal(mlp__gemm_kblock(probe->gemm, 0, 0, K3) < K3, halves);
    mlp_ctx_free(probe);
    need_threads();
    assert_int_equal((K2 + kb - 1) / kb, 2);
    for (d = 0; d < 6; d++) {
        const int ta = d == 3;
        const int64_t M = dims[d][0], N = dims[d][1],
                      K = ta       ? dims[d][2]
                          : d == 4 ? K3
                          : d == 5 ? K4
                                   : K2;
        size_t cn = (size_t)(M * N) * sizeof(float);
        float *a = (float *)malloc((size_t)(M * K) * sizeof(float));
        float *b = (float *)malloc((size_t)(K * N) * sizeof(float));
        float *c0 = (float *)malloc(5 * cn); /* c0 .. c4, M x N each */
        float *c1 = c0 + M * N, *c2 = c1 + M * N, *c3 = c2 + M * N, *c4 = c3 + M * N;
        fill(a, M * K, 7u + (uint32_t)d);
        fill(b, K * N, 8u);
        fill(c0, M * N, 9u);
        gemm_at(1, 0, ta, 0, M, N, K, a, b, c0, c1);
        gemm_at(2, 0, ta, 0, M, N, K, a, b, c0, c2);
        gemm_at(3, 0, ta, 0, M, N, K, a, b, c0, c3);
        assert_int_equal(gemm_at(2, 1, ta, 0, M, N, K, a, b, c0, c4), ta ? 0 : d == 4 ? halves : 1);
        assert_memory_equal(c1, c2, cn);
        assert_memory_equal(c1, c3, cn);
        assert_memory_equal(c1, c4, cn);
        assert_product(ta, 0, M, N, K, a, b, c0, c2);
        free(a);
        free(b);
        free(c0);
    }
}

/* The optimizers train_at steps with: plain SGD; SGD with momentum,
 * Nesterov and weight decay; Adam with weight decay; AdamW with amsgrad
 * (every state buffer and branch of the updates). */
#define NUM_OPTIMS 4
static mlp_optim *optim_of(mlp_ctx *ctx, mlp_model *m, int which)
{
    mlp_optim *opt = which < 2    ? mlp_sgd_new(m, 0.1f)
                     : which == 2 ? mlp_adam_new(m, 0.01f)
                                  : mlp_adamw_new(m, 0.01f);
    assert_handle(ctx, opt);
    if (which == 1) {
        assert_ok(ctx, mlp_optim_set(opt, MLP_OPT_MOMENTUM, 0.9));
        assert_ok(ctx, mlp_optim_set(opt, MLP_OPT_NESTEROV, 1));
    }
    if (which == 1 || which == 2)
        assert_ok(ctx, mlp_optim_set(opt, MLP_OPT_WEIGHT_DECAY, 0.01));
    if (which == 3)
        assert_ok(ctx, mlp_optim_set(opt, MLP_OPT_AMSGRAD, 1));
    return opt;
}

/* Two steps of a 784-256-10 ReLU net on a fixed batch of 256 with
 * optim_of(which); copies every parameter into out (param_count floats). */
static void train_at(int threads, int which, float *out, int64_t count)
{
    tu_alloc al;
    mlp_ctx *ctx = tu_ctx(&al, -1);
    int64_t sx[2] = {256, 784}, sy[1] = {256}, i, off = 0;
    float *x = (float *)malloc(256 * 784 * sizeof(float));
    float y[256];
    mlp_model *m;
    mlp_optim *opt;
    mlp_tensor *tx, *ty;
    int step, p;
    fill(x, 256 * 784, 7u);
    for (i = 0; i < 256; i++)
        y[i] = (float)(i % 10);
    mlp_ctx_seed(ctx, 42);
    assert_ok(ctx, mlp_ctx_set_threads(ctx, threads));
    m = tu_mlp(ctx, 784, 256, 10);
    assert_int_equal(mlp_model_param_numel(m), count);
    opt = optim_of(ctx, m, which);
    tx = mlp_tensor_from(ctx, 2, sx, x);
    ty = mlp_tensor_from(ctx, 1, sy, y);
    for (step = 0; step < 2; step++) {
        mlp_tensor *o = mlp_model_forward(m, tx), *loss;
        assert_handle(ctx, o);
        loss = mlp_cross_entropy(o, ty);
        assert_handle(ctx, loss);
        assert_ok(ctx, mlp_optim_zero_grad(opt));
        assert_ok(ctx, mlp_backward(loss, NULL, 0));
        assert_ok(ctx, mlp_optim_step(opt));
        mlp_tape_reset(ctx);
    }
    for (p = 0; p < mlp_model_num_params(m); p++) {
        mlp_tensor *t = mlp_model_param(m, p);
        int64_t n = mlp_tensor_numel(t);
        memcpy(out + off, mlp_tensor_data(t), (size_t)n * sizeof(float));
        off += n;
    }
    assert_int_equal(off, count);
    mlp_tensor_free(tx);
    mlp_tensor_free(ty);
    mlp_optim_free(opt);
    mlp_model_free(m);
    mlp_ctx_free(ctx);
    assert_int_equal(al.live, 0);
    free(x);
}

/* The products, the element-wise passes and the optimizers' updates are
 * split across threads: every optimizer's steps give the same bits. */
static void threads__training_steps_same_bits_at_1_2_3_threads(void **state)
{
    const int64_t count = 784 * 256 + 256 + 256 * 10 + 10;
    float *p1 = (float *)malloc((size_t)count * sizeof(float));
    float *pn = (float *)malloc((size_t)count * sizeof(float));
    int which, threads;
    (void)state;
    need_threads();
    for (which = 0; which < NUM_OPTIMS; which++) {
        train_at(1, which, p1, count);
        for (threads = 2; threads <= 3; threads++) {
            train_at(threads, which, pn, count);
            assert_memory_equal(p1, pn, (size_t)count * sizeof(float));
        }
    }
    free(p1);
    free(pn);
}

/* Every batch of a 700 x 784 dataset at `threads`: batch sizes 64 (one
 * thread copies it), 256 (two full and a partial one) and 700, in order
 * and then shuffled with seed 11; each batch row's x and y checked
 * against the dataset row its y names (y[i] = {i, -i}), the shuffled
 * batches' y copied into out (700 x 2 for each of the three sizes). */
static void batches_at(int threads, float *out)
{
    static const int64_t sizes[3] = {64, 256, 700};
    tu_alloc al;
    mlp_ctx *ctx = tu_ctx(&al, -1);
    int64_t sx[2] = {700, 784}, sy[2] = {700, 2}, i, b, r, off = 0;
    float *x = (float *)malloc(700 * 784 * sizeof(float)), y[1400];
    mlp_tensor *tx, *ty;
    mlp_dataset *ds;
    int pass, k;
    fill(x, 700 * 784, 5u);
    for (i = 0; i < 700; i++) {
        y[2 * i] = (float)i;
        y[2 * i + 1] = (float)-i;
    }
    assert_ok(ctx, mlp_ctx_set_threads(ctx, threads));
    mlp_ctx_seed(ctx, 11);
    tx = mlp_tensor_from(ctx, 2, sx, x);
    ty = mlp_tensor_from(ctx, 2, sy, y);
    ds = mlp_dataset_new(tx, ty);
    assert_handle(ctx, ds);
    for (pass = 0; pass < 2; pass++) {
        if (pass)
            assert_ok(ctx, mlp_dataset_shuffle(ds));
        for (k = 0; k < 3; k++)
            for (b = 0; b < mlp_dataset_num_batches(ds, sizes[k]); b++) {
                mlp_tensor *bx, *by;
                int64_t rows;
                assert_ok(ctx, mlp_dataset_batch(ds, b, sizes[k], &bx, &by));
                rows = mlp_tensor_dim(bx, 0);
                assert_int_equal(rows, b * sizes[k] + sizes[k] <= 700 ? sizes[k] : 700 % sizes[k]);
                for (r = 0; r < rows; r++) {
                    const float *yr = mlp_tensor_data(by) + 2 * r;
                    int64_t src = (int64_t)yr[0];
                    if (!pass)
                        assert_int_equal(src, b * sizes[k] + r);
                    assert_true(src >= 0 && src < 700 && yr[1] == -yr[0]);
                    assert_memory_equal(mlp_tensor_data(bx) + r * 784, x + src * 784,
                                        784 * sizeof(float));
                }
                if (pass) {
                    memcpy(out + off, mlp_tensor_data(by), (size_t)rows * 2 * sizeof(float));
                    off += rows * 2;
                }
            }
    }
    assert_int_equal(off, 3 * 1400);
    mlp_dataset_free(ds);
    mlp_tensor_free(tx);
    mlp_tensor_free(ty);
    mlp_ctx_free(ctx);
    assert_int_equal(al.live, 0);
    free(x);
}

/* A large batch's rows are copied by the context's threads: the same
 * rows, in the same order, at 1, 2 and 3 threads. */
static void threads__dataset_batches_same_at_1_2_3_threads(void **state)
{
    float *o1 = (float *)malloc(3 * 1400 * sizeof(float));
    float *on = (float *)malloc(3 * 1400 * sizeof(float));
    int threads;
    (void)state;
    need_threads();
    batches_at(1, o1);
    for (threads = 2; threads <= 3; threads++) {
        batches_at(threads, on);
        assert_memory_equal(o1, on, 3 * 1400 * sizeof(float));
    }
    free(o1);
    free(on);
}

/* After a first step has sized every buffer, further steps of the same
 * shapes call the allocator zero times, at 1 and at 2 threads. */
static void threads__steady_state_step_allocates_nothing(void **state)
{
    int threads;
    (void)state;
    need_threads();
    for (threads = 1; threads <= 2; threads++) {
        tu_alloc al;
        mlp_ctx *ctx = tu_ctx(&al, -1);
        int64_t sx[2] = {64, 300}, sy[1] = {64}, i;
        float *x = (float *)malloc(64 * 300 * sizeof(float));
        float y[64];
        mlp_model *m;
        mlp_optim *opt;
        mlp_tensor *tx, *ty;
        long before = 0;
        int step;
        fill(x, 64 * 300, 3u);
        for (i = 0; i < 64; i++)
            y[i] = (float)(i % 5);
        assert_ok(ctx, mlp_ctx_set_threads(ctx, threads));
        m = tu_mlp(ctx, 300, 200, 5);
        opt = mlp_sgd_new(m, 0.1f);
        assert_handle(ctx, opt);
        tx = mlp_tensor_from(ctx, 2, sx, x);
        ty = mlp_tensor_from(ctx, 1, sy, y);
        for (step = 0; step < 5; step++) {
            mlp_tensor *o, *loss;
            if (step == 2)
                before = al.calls;
            o = mlp_model_forward(m, tx);
            assert_handle(ctx, o);
            loss = mlp_cross_entropy(o, ty);
            assert_handle(ctx, loss);
            assert_ok(ctx, mlp_optim_zero_grad(opt));
            assert_ok(ctx, mlp_backward(loss, NULL, 0));
            assert_ok(ctx, mlp_optim_step(opt));
            mlp_tape_reset(ctx);
        }
        assert_int_equal(al.calls, before);
        mlp_tensor_free(tx);
        mlp_tensor_free(ty);
        mlp_optim_free(opt);
        mlp_model_free(m);
        mlp_ctx_free(ctx);
        assert_int_equal(al.live, 0);
        free(x);
    }
}

static void threads__set_threads_rejects_bad_counts(void **state)
{
    mlp_ctx *ctx = tu_ctx_of(state);
    assert_int_equal(mlp_ctx_set_threads(NULL, 2), MLP_ERR_NULL);
    assert_int_equal(mlp_ctx_set_threads(ctx, 0), MLP_ERR_ARG);
    assert_non_null(strstr(mlp_ctx_errmsg(ctx), "mlp_ctx_set_threads"));
    assert_int_equal(mlp_ctx_set_threads(ctx, -3), MLP_ERR_ARG);
    assert_int_equal(mlp_ctx_set_threads(ctx, 100000), MLP_ERR_ARG);
    assert_int_equal(mlp_ctx_threads(ctx), 1);
    assert_int_equal(mlp_ctx_threads(NULL), 0);
}

static void threads__many_changes_keep_count_and_leak_nothing(void **state)
{
    static const int seq[] = {2, 2, 3, 1, 4, 1, 1, 2, 8, 2};
    tu_alloc al;
    mlp_ctx *ctx = tu_ctx(&al, -1);
    size_t i;
    (void)state;
    need_threads();
    for (i = 0; i < sizeof seq / sizeof seq[0]; i++) {
        assert_ok(ctx, mlp_ctx_set_threads(ctx, seq[i]));
        assert_int_equal(mlp_ctx_threads(ctx), seq[i]);
    }
    mlp_ctx_free(ctx); /* a live pool of 2 goes with it */
    assert_int_equal(al.live, 0);
}

/* mlp_ctx_set_threads times a cache line between two of the pool's
 * threads: none with one thread; with two, a time a line can take (a few
 * ns at least, at most 10 us), or 0 where the threads did not run side by
 * side (a machine too busy, or valgrind). */
static void threads__round_trip_measured_with_a_pool_only(void **state)
{
    tu_alloc al;
    mlp_ctx *ctx = tu_ctx(&al, -1);
    double ns;
    (void)state;
    need_threads();
    assert_true(mlp__round_trip_ns(ctx, 0.0) == 0.0);
    assert_int_equal(ctx->near_cores, 0);
    assert_ok(ctx, mlp_ctx_set_threads(ctx, 2));
    ns = mlp__round_trip_ns(ctx, 0.0);
    assert_true(ns == 0.0 || (ns > 5.0 && ns <= 10000.0));
    assert_ok(ctx, mlp_ctx_set_threads(ctx, 1));
    assert_true(mlp__round_trip_ns(ctx, 0.0) == 0.0);
    assert_int_equal(ctx->near_cores, 0);
    mlp_ctx_free(ctx);
    assert_int_equal(al.live, 0);
}

static void threads__failed_pool_allocation_keeps_previous_count(void **state)
{
    tu_alloc *al = &tu_fix(state)->alloc;
    mlp_ctx *ctx = tu_ctx_of(state);
    need_threads();
    assert_ok(ctx, mlp_ctx_set_threads(ctx, 2));
    al->fail_at = al->calls; /* the next allocation fails */
    assert_int_equal(mlp_ctx_set_threads(ctx, 3), MLP_ERR_NOMEM);
    assert_int_equal(mlp_ctx_threads(ctx), 2);
    al->fail_at = -1;
    assert_ok(ctx, mlp_ctx_set_threads(ctx, 3));
}

typedef struct {
    int hits[1000];
    int tid[1000];
    int starts[1000]; /* 1 where a range began */
} cover;

static void mark(void *arg, int64_t lo, int64_t hi, int tid)
{
    cover *c = (cover *)arg;
    int64_t i;
    c->starts[lo] = 1;
    for (i = lo; i < hi; i++) { /* disjoint ranges: no two threads touch one index */
        c->hits[i]++;
        c->tid[i] = tid;
    }
}

static void threads__parallel_for_covers_range_once(void **state)
{
    mlp_ctx *ctx = tu_ctx_of(state);
    cover c;
    int i, rep;
    need_threads();
    assert_ok(ctx, mlp_ctx_set_threads(ctx, 3));
    for (rep = 0; rep < 200; rep++) {
        memset(&c, 0, sizeof c);
        mlp__parallel_for(ctx, 1000, 1, mark, &c);
        for (i = 0; i < 1000; i++)
            assert_int_equal(c.hits[i], 1);
        for (i = 0; i < 1000; i++) /* the caller or one of the 2 workers */
            assert_in_range(c.tid[i], 0, 2);
        /* one range a thread, the same ones every time: n * i / 3 */
        for (i = 0; i < 1000; i++)
            assert_int_equal(c.starts[i], i == 0 || i == 333 || i == 666);
    }
    /* too small to split: one call on the caller */
    memset(&c, 0, sizeof c);
    mlp__parallel_for(ctx, 10, 8, mark, &c);
    for (i = 0; i < 10; i++) {
        assert_int_equal(c.hits[i], 1);
        assert_int_equal(c.tid[i], 0);
    }
}

/* A few rows through wide layers: predict splits each large product by
 * columns across the pool. Same bits at 1, 2 and 3 threads, and right
 * against a double-precision forward pass here (hidden width 700: not a
 * multiple of any register tile). */
/* near: the pool's cores taken as near (1) or far (0), whatever
 * mlp_ctx_set_threads measured: a row of 300 x 700 (210000 multiply-adds)
 * is split by columns between near cores only */
static void few_rows_at(int threads, int near, int64_t n, const float *x, float *out, float *params)
{
    tu_alloc al;
    mlp_ctx *ctx = tu_ctx(&al, -1);
    mlp_model *m;
    int p;
    int64_t off = 0;
    mlp_ctx_seed(ctx, 7);
    assert_ok(ctx, mlp_ctx_set_threads(ctx, threads));
    ctx->near_cores = near;
    m = tu_mlp(ctx, 300, 700, 9);
    assert_ok(ctx, mlp_model_predict(m, x, n, out));
    for (p = 0; params && p < mlp_model_num_params(m); p++) {
        mlp_tensor *t = mlp_model_param(m, p);
        memcpy(params + off, mlp_tensor_data(t), (size_t)mlp_tensor_numel(t) * sizeof(float));
        off += mlp_tensor_numel(t);
    }
    mlp_model_free(m);
    mlp_ctx_free(ctx);
    assert_int_equal(al.live, 0);
}

static void threads__predict_few_rows_same_bits_at_1_2_3_threads(void **state)
{
    static const int64_t ns[] = {1, 2, 3, 5, 13, 47};
    const int64_t IN = 300, H = 700, OUT = 9;
    float *x = (float *)malloc((size_t)(47 * IN) * sizeof(float));
    float *w = (float *)malloc((size_t)(IN * H + H + H * OUT + OUT) * sizeof(float));
    float o1[47 * 9], o2[47 * 9], o3[47 * 9];
    double *h = (double *)malloc((size_t)H * sizeof(double));
    size_t t;
    int64_t r, i, j;
    (void)state;
    need_threads();
    fill(x, 47 * IN, 3u);
    for (t = 0; t < sizeof ns / sizeof ns[0]; t++) {
        const int64_t n = ns[t];
        const float *W1 = w, *b1 = w + IN * H, *W2 = b1 + H, *b2 = W2 + H * OUT;
        few_rows_at(1, 0, n, x, o1, w);
        few_rows_at(2, 0, n, x, o2, NULL);
        few_rows_at(3, 0, n, x, o3, NULL);
        assert_memory_equal(o1, o2, (size_t)(n * OUT) * sizeof(float));
        assert_memory_equal(o1, o3, (size_t)(n * OUT) * sizeof(float));
        few_rows_at(2, 1, n, x, o2, NULL);
        few_rows_at(3, 1, n, x, o3, NULL);
        assert_memory_equal(o1, o2, (size_t)(n * OUT) * sizeof(float));
        assert_memory_equal(o1, o3, (size_t)(n * OUT) * sizeof(float));
        for (r = 0; r < n; r++) {
            for (j = 0; j < H; j++) {
                double s = b1[j];
                for (i = 0; i < IN; i++)
                    s += (double)x[r * IN + i] * (double)W1[i * H + j];
                h[j] = s > 0.0 ? s : 0.0;
            }
            for (j = 0; j < OUT; j++) {
                double s = b2[j];
                for (i = 0; i < H; i++)
                    s += h[i] * (double)W2[i * OUT + j];
                assert_close(o2[r * OUT + j], s, 1e-4, 1e-4);
            }
        }
    }
    free(h);
    free(w);
    free(x);
}

/* End a helper's context: its results, the n tensors it made, then the
 * context itself, which leaves nothing allocated. */
static void release(mlp_ctx *ctx, tu_alloc *al, mlp_tensor **ts, int n)
{
    int i;
    mlp_tape_reset(ctx);
    for (i = 0; i < n; i++)
        mlp_tensor_free(ts[i]);
    mlp_ctx_free(ctx);
    assert_int_equal(al->live, 0);
}

/* The element-wise passes of a step at `threads`: y = f(z) and, after two
 * backward passes from g (retained graph), z's gradient after the first
 * and after the second (the second adds into the first); then
 * lin = x w + b [rows,cols] (x [rows,16]) and, after a backward from g,
 * b's gradient (the column sums of g). out holds y, dz1, dz2, lin (rows *
 * cols each) then db (cols). */
#define EW_IN 16
static void elementwise_at(int threads, int act, int64_t rows, int64_t cols, const float *z,
                           const float *g, const float *x, const float *w, const float *b,
                           float *out)
{
    tu_alloc al;
    mlp_ctx *ctx = tu_ctx(&al, -1);
    int64_t n = rows * cols, sz[2], sx[2], sw[2], sb[1];
    mlp_tensor *tz, *tg, *ty, *tx, *tw, *tb, *lin;
    size_t bytes = (size_t)n * sizeof(float);
    sz[0] = sx[0] = rows;
    sz[1] = sw[1] = sb[0] = cols;
    sx[1] = sw[0] = EW_IN;
    assert_ok(ctx, mlp_ctx_set_threads(ctx, threads));
    tz = mlp_tensor_from(ctx, 2, sz, z);
    tg = mlp_tensor_from(ctx, 2, sz, g);
    tx = mlp_tensor_from(ctx, 2, sx, x);
    tw = mlp_tensor_from(ctx, 2, sw, w);
    tb = mlp_tensor_from(ctx, 1, sb, b);
    assert_handle(ctx, tz);
    assert_handle(ctx, tg);
    assert_handle(ctx, tx);
    assert_handle(ctx, tw);
    assert_handle(ctx, tb);
    assert_ok(ctx, mlp_tensor_set_requires_grad(tz, 1));
    assert_ok(ctx, mlp_tensor_set_requires_grad(tb, 1));
    ty = act == MLP_ACT_LEAKY_RELU ? mlp_leaky_relu(tz, 0.01f) : mlp_activation(tz, (mlp_act)act);
    assert_handle(ctx, ty);
    memcpy(out, mlp_tensor_data(ty), bytes);
    assert_ok(ctx, mlp_backward(ty, tg, 1));
    memcpy(out + n, mlp_tensor_data(mlp_tensor_grad(tz)), bytes);
    assert_ok(ctx, mlp_backward(ty, tg, 0));
    memcpy(out + 2 * n, mlp_tensor_data(mlp_tensor_grad(tz)), bytes);
    lin = mlp_linear(tx, tw, tb);
    assert_handle(ctx, lin);
    memcpy(out + 3 * n, mlp_tensor_data(lin), bytes);
    assert_ok(ctx, mlp_backward(lin, tg, 0));
    memcpy(out + 4 * n, mlp_tensor_data(mlp_tensor_grad(tb)), (size_t)cols * sizeof(float));
    {
        mlp_tensor *own[5] = {tz, tg, tx, tw, tb};
        release(ctx, &al, own, 5);
    }
}

/* y = f(z) and dz = g f'(z) against double precision here: ReLU and leaky
 * ReLU exactly (one float multiply at most), sigmoid s = 1 / (1 + e^-z),
 * s' = s (1 - s), to float rounding. */
static void check_act(int act, float z, float g, float y, float dz)
{
    double s = 1.0 / (1.0 + exp(-(double)z));
    switch (act) {
    case MLP_ACT_RELU:
        assert_true(y == (z > 0.0f ? z : 0.0f));
        assert_true(dz == (z > 0.0f ? g : 0.0f));
        break;
    case MLP_ACT_LEAKY_RELU:
        assert_true(y == (z > 0.0f ? z : (float)((double)(float)0.01f * (double)z)));
        assert_true(dz == (z > 0.0f ? g : (float)((double)(float)0.01f * (double)g)));
        break;
    default:
        assert_close(y, s, 1e-7, 1e-6);
        assert_close(dz, (double)g * s * (1.0 - s), 1e-7, 1e-5);
        break;
    }
}

static void threads__elementwise_passes_same_bits_at_1_2_3_threads(void **state)
{
    /* a training step's hidden layer, and ragged sizes: 257 x 203 is no
       multiple of the vector width, a 64-element block or a part */
    static const int64_t dims[2][2] = {{256, 512}, {257, 203}};
    static const int acts[3] = {MLP_ACT_RELU, MLP_ACT_SIGMOID, MLP_ACT_LEAKY_RELU};
    int d, a, t;
    (void)state;
    need_threads();
    for (d = 0; d < 2; d++) {
        int64_t rows = dims[d][0], cols = dims[d][1], n = rows * cols, i, r, c, k;
        size_t total = (size_t)(4 * n + cols);
        float *z = (float *)malloc((size_t)n * sizeof(float));
        float *g = (float *)malloc((size_t)n * sizeof(float));
        float *x = (float *)malloc((size_t)(rows * EW_IN) * sizeof(float));
        float *w = (float *)malloc((size_t)(EW_IN * cols) * sizeof(float));
        float *b = (float *)malloc((size_t)cols * sizeof(float));
        float *o[3];
        fill(z, n, 11u);
        fill(g, n, 12u);
        fill(x, rows * EW_IN, 13u);
        fill(w, EW_IN * cols, 14u);
        fill(b, cols, 15u);
        for (i = 0; i < n; i += 5) /* some exact zeros: ReLU'(0) = 0 */
            z[i] = 0.0f;
        for (t = 0; t < 3; t++)
            o[t] = (float *)malloc(total * sizeof(float));
        for (a = 0; a < 3; a++) {
            const float *y, *dz1, *dz2, *lin, *db;
            for (t = 0; t < 3; t++)
                elementwise_at(t + 1, acts[a], rows, cols, z, g, x, w, b, o[t]);
            assert_memory_equal(o[0], o[1], total * sizeof(float));
            assert_memory_equal(o[0], o[2], total * sizeof(float));
            y = o[1];
            dz1 = y + n;
            dz2 = dz1 + n;
            lin = dz2 + n;
            db = lin + n;
            for (i = 0; i < n; i += 97) { /* every part has some */
                check_act(acts[a], z[i], g[i], y[i], dz1[i]);
                assert_true(dz2[i] == dz1[i] + dz1[i]); /* the second pass added */
            }
            check_act(acts[a], z[n - 1], g[n - 1], y[n - 1], dz1[n - 1]);
            for (r = 0; r < rows; r += 31)
                for (c = 0; c < cols; c += 7) {
                    double s = b[c];
                    for (k = 0; k < EW_IN; k++)
                        s += (double)x[r * EW_IN + k] * (double)w[k * cols + c];
                    assert_close(lin[r * cols + c], s, 1e-6, 1e-5);
                }
            for (c = 0; c < cols; c++) { /* db = column sums of g */
                double s = 0.0;
                for (r = 0; r < rows; r++)
                    s += g[r * cols + c];
                assert_close(db[c], s, 1e-5, 1e-5);
            }
        }
        for (t = 0; t < 3; t++)
            free(o[t]);
        free(z);
        free(g);
        free(x);
        free(w);
        free(b);
    }
}

/* Softmax cross-entropy of logits [rows,k] at `threads`: out = the loss,
 * then the gradient of the logits (rows * k). */
static void cross_entropy_at(int threads, int64_t rows, int64_t k, const float *x,
                             const float *labels, float *out)
{
    tu_alloc al;
    mlp_ctx *ctx = tu_ctx(&al, -1);
    int64_t sx[2], sy[1];
    mlp_tensor *tx, *ty, *loss;
    sx[0] = sy[0] = rows;
    sx[1] = k;
    assert_ok(ctx, mlp_ctx_set_threads(ctx, threads));
    tx = mlp_tensor_from(ctx, 2, sx, x);
    ty = mlp_tensor_from(ctx, 1, sy, labels);
    assert_handle(ctx, tx);
    assert_handle(ctx, ty);
    assert_ok(ctx, mlp_tensor_set_requires_grad(tx, 1));
    loss = mlp_cross_entropy(tx, ty);
    assert_handle(ctx, loss);
    out[0] = mlp_tensor_item(loss);
    assert_ok(ctx, mlp_backward(loss, NULL, 0));
    memcpy(out + 1, mlp_tensor_data(mlp_tensor_grad(tx)), (size_t)(rows * k) * sizeof(float));
    {
        mlp_tensor *own[2] = {tx, ty};
        release(ctx, &al, own, 2);
    }
}

static void threads__cross_entropy_same_bits_at_1_2_3_threads(void **state)
{
    /* a training batch, more rows than one hand-off takes (512), and a
       ragged one */
    static const int64_t dims[3][2] = {{256, 10}, {1100, 10}, {257, 37}};
    int d, t;
    (void)state;
    need_threads();
    for (d = 0; d < 3; d++) {
        int64_t rows = dims[d][0], k = dims[d][1], n = rows * k, r, c;
        float *x = (float *)malloc((size_t)n * sizeof(float));
        float *y = (float *)malloc((size_t)rows * sizeof(float));
        float *o[3];
        double loss = 0.0;
        fill(x, n, 21u);
        for (r = 0; r < n; r++)
            x[r] *= 8.0f;
        for (r = 0; r < rows; r++)
            y[r] = (float)((r * 7) % k);
        for (t = 0; t < 3; t++) {
            o[t] = (float *)malloc((size_t)(n + 1) * sizeof(float));
            cross_entropy_at(t + 1, rows, k, x, y, o[t]);
        }
        assert_memory_equal(o[0], o[1], (size_t)(n + 1) * sizeof(float));
        assert_memory_equal(o[0], o[2], (size_t)(n + 1) * sizeof(float));
        /* loss = mean over rows of log(sum_c e^x[r,c]) - x[r,y]; gradient
           (softmax - onehot) / rows, in double here */
        for (r = 0; r < rows; r++) {
            const float *xr = x + r * k;
            double z = 0.0;
            for (c = 0; c < k; c++)
                z += exp((double)xr[c]);
            loss += log(z) - (double)xr[(int64_t)y[r]];
            for (c = 0; c < k; c += 3) {
                double p = exp((double)xr[c]) / z - (c == (int64_t)y[r] ? 1.0 : 0.0);
                assert_close(o[1][1 + r * k + c], p / (double)rows, 1e-9, 1e-5);
            }
        }
        assert_close(o[1][0], loss / (double)rows, 1e-6, 1e-6);
        for (t = 0; t < 3; t++)
            free(o[t]);
        free(x);
        free(y);
    }
}

/* Four threads predicting and classifying on one model at once, with a
 * single-threaded context and with two workers in it: every result equals
 * the same call made alone (tests/predict_threads.h). */
static void threads__predict_from_four_threads_on_one_model_matches_alone(void **state)
{
#ifndef MLP_NO_THREADS
    char err[256];
    (void)state;
    need_threads();
    if (!pt_run(1, err, sizeof err))
        fail_msg("context threads=1: %s", err);
    if (!pt_run(2, err, sizeof err))
        fail_msg("context threads=2: %s", err);
#else
    (void)state;
    skip();
#endif
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(threads__matmul_same_bits_at_1_and_2_threads),
        cmocka_unit_test(threads__products_of_every_transpose_same_bits_at_1_2_3_threads),
        cmocka_unit_test(threads__product_split_over_k_same_bits_and_survives_refusal),
        cmocka_unit_test(threads__training_steps_same_bits_at_1_2_3_threads),
        cmocka_unit_test(threads__dataset_batches_same_at_1_2_3_threads),
        cmocka_unit_test(threads__steady_state_step_allocates_nothing),
        TU_TEST(threads__set_threads_rejects_bad_counts),
        cmocka_unit_test(threads__many_changes_keep_count_and_leak_nothing),
        cmocka_unit_test(threads__round_trip_measured_with_a_pool_only),
        TU_TEST(threads__failed_pool_allocation_keeps_previous_count),
        TU_TEST(threads__parallel_for_covers_range_once),
        TU_TEST(threads__predict_from_four_threads_on_one_model_matches_alone),
        cmocka_unit_test(threads__predict_few_rows_same_bits_at_1_2_3_threads),
        cmocka_unit_test(threads__elementwise_passes_same_bits_at_1_2_3_threads),
        cmocka_unit_test(threads__cross_entropy_same_bits_at_1_2_3_threads),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
