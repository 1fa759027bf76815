/*
 * test_step.c - the fast paths of a training step keep their meaning:
 * leaf gradients accumulated straight into a zeroed .grad, a failed
 * backward leaving .grad as it was, the vectorised kernels of the step
 * (SGD update, bias gradient, ReLU forward/backward, fused bias + ReLU),
 * and a steady-state step that calls the allocator not at all.
 * Expected values are worked out by hand in the comments.
 */
#include "testutil.h"

#include "comm.h" /* mlp__zero_grad_backward: mlp_fit's zero_grad and backward */
#include "kern/gemm.h"
#include "kern/vec.h"
#include "kern/vec_fast.h"

/* loss = sum(w * x): d loss / dw = x */
static mlp_tensor *dot_loss(mlp_tensor *w, mlp_tensor *x)
{
    return mlp_sum(mlp_mul(w, x));
}

static void step__leaf_grad_accumulates_over_backwards_and_restarts_after_zero_grad(void **state)
{
    mlp_ctx *ctx = tu_ctx_of(state);
    int64_t n = 3;
    const float wv[3] = {1, 2, 3}, xv[3] = {4, 5, 6};
    mlp_tensor *w = mlp_tensor_from(ctx, 1, &n, wv), *x = mlp_tensor_from(ctx, 1, &n, xv);
    float *g;
    assert_ok(ctx, mlp_tensor_set_requires_grad(w, 1));
    assert_ok(ctx, mlp_backward(dot_loss(w, x), NULL, 0));
    mlp_tape_reset(ctx);
    assert_ok(ctx, mlp_backward(dot_loss(w, x), NULL, 0));
    mlp_tape_reset(ctx);
    g = mlp_tensor_data(mlp_tensor_grad(w));
    /* two backwards: x + x */
    assert_true(g[0] == 8.0f && g[1] == 10.0f && g[2] == 12.0f);
    assert_ok(ctx, mlp_tensor_zero_grad(w));
    assert_ok(ctx, mlp_backward(dot_loss(w, x), NULL, 0));
    mlp_tape_reset(ctx);
    g = mlp_tensor_data(mlp_tensor_grad(w));
    assert_true(g[0] == 4.0f && g[1] == 5.0f && g[2] == 6.0f);
    mlp_tensor_free(w);
    mlp_tensor_free(x);
}

static void step__values_written_into_grad_are_added_to(void **state)
{
    tu_alloc al;
    mlp_ctx *ctx = tu_ctx(&al, -1);
    int64_t n = 3;
    const float wv[3] = {1, 2, 3}, xv[3] = {4, 5, 6};
    mlp_tensor *w = mlp_tensor_from(ctx, 1, &n, wv), *x = mlp_tensor_from(ctx, 1, &n, xv);
    float *g;
    (void)state;
    assert_ok(ctx, mlp_tensor_set_requires_grad(w, 1));
    assert_ok(ctx, mlp_backward(dot_loss(w, x), NULL, 0));
    mlp_tape_reset(ctx);
    assert_ok(ctx, mlp_tensor_zero_grad(w));
    g = mlp_tensor_data(mlp_tensor_grad(w));
    g[1] = 0.5f; /* one non-zero entry: .grad is no longer all zero */
    assert_ok(ctx, mlp_backward(dot_loss(w, x), NULL, 0));
    mlp_tape_reset(ctx);
    /* [0, 0.5, 0] + x */
    assert_true(g[0] == 4.0f && g[1] == 5.5f && g[2] == 6.0f);
    mlp_tensor_free(w);
    mlp_tensor_free(x);
    mlp_ctx_free(ctx);
}

/* loss = sum(w * x) + sum(w * x) with x = 3e38: the forward is finite for a
 * tiny w, the gradient x + x = 6e38 overflows float to inf. */
static mlp_status overflowing_backward(mlp_ctx *ctx, mlp_tensor *w, mlp_tensor *x)
{
    mlp_tensor *a = dot_loss(w, x), *b = dot_loss(w, x), *l = mlp_add(a, b);
    mlp_status s;
    assert_handle(ctx, l);
    s = mlp_backward(l, NULL, 0);
    mlp_tape_reset(ctx);
    return s;
}

static void step__failed_backward_leaves_grad_unchanged(void **state)
{
    mlp_ctx *ctx = tu_ctx_of(state);
    int64_t n = 2;
    const float wv[2] = {1e-10f, 2e-10f}, xv[2] = {3e38f, 3e38f}, ones[2] = {1, 1};
    mlp_tensor *w = mlp_tensor_from(ctx, 1, &n, wv), *x = mlp_tensor_from(ctx, 1, &n, xv);
    mlp_tensor *small = mlp_tensor_from(ctx, 1, &n, ones);
    float *g;
    mlp_ctx_set_check_finite(ctx, 1);
    assert_ok(ctx, mlp_tensor_set_requires_grad(w, 1));
    /* first backward ever: .grad is made by it and goes away again */
    assert_int_equal(overflowing_backward(ctx, w, x), MLP_ERR_NONFINITE);
    assert_null(mlp_tensor_grad(w));
    /* a zeroed .grad stays zero */
    assert_ok(ctx, mlp_backward(dot_loss(w, small), NULL, 0));
    mlp_tape_reset(ctx);
    assert_ok(ctx, mlp_tensor_zero_grad(w));
    assert_int_equal(overflowing_backward(ctx, w, x), MLP_ERR_NONFINITE);
    g = mlp_tensor_data(mlp_tensor_grad(w));
    assert_true(g[0] == 0.0f && g[1] == 0.0f);
    /* a non-zero .grad keeps its values */
    assert_ok(ctx, mlp_backward(dot_loss(w, small), NULL, 0));
    mlp_tape_reset(ctx);
    assert_int_equal(overflowing_backward(ctx, w, x), MLP_ERR_NONFINITE);
    g = mlp_tensor_data(mlp_tensor_grad(w));
    assert_true(g[0] == 1.0f && g[1] == 1.0f);
    mlp_tensor_free(w);
    mlp_tensor_free(x);
    mlp_tensor_free(small);
}

static void step__grad_used_as_an_input_is_not_written_during_backward(void **state)
{
    tu_alloc al;
    mlp_ctx *ctx = tu_ctx(&al, -1);
    int64_t n = 2;
    const float wv[2] = {1, 2}, xv[2] = {3, 4};
    mlp_tensor *w = mlp_tensor_from(ctx, 1, &n, wv), *x = mlp_tensor_from(ctx, 1, &n, xv), *g;
    mlp_tensor *first, *second;
    (void)state;
    assert_ok(ctx, mlp_tensor_set_requires_grad(w, 1));
    assert_ok(ctx, mlp_backward(dot_loss(w, x), NULL, 0));
    mlp_tape_reset(ctx);
    assert_ok(ctx, mlp_tensor_zero_grad(w));
    g = mlp_tensor_grad(w);
    /* loss = sum(w * w.grad) + sum(w * x), w.grad = [0,0] while the graph
     * is built: d/dw = w.grad + x = [3,4]. Backward reaches w * x first; had
     * it accumulated into w.grad, w * w.grad would then read [3,4]. */
    first = dot_loss(w, g); /* recorded first, so reached last */
    second = dot_loss(w, x);
    assert_ok(ctx, mlp_backward(mlp_add(first, second), NULL, 0));
    mlp_tape_reset(ctx);
    assert_true(mlp_tensor_data(g)[0] == 3.0f && mlp_tensor_data(g)[1] == 4.0f);
    mlp_tensor_free(w);
    mlp_tensor_free(x);
    mlp_ctx_free(ctx);
}

static void step__sgd_update_kernel_subtracts_scaled_gradient(void **state)
{
    float p[19], g[19];
    int i;
    (void)state;
    for (i = 0; i < 19; i++) {
        p[i] = (float)i;
        g[i] = (float)(2 * i) - 5.0f;
    }
    mlp__vec_sub_scaled(p, 0.5f, g, 19);
    /* p - 0.5 (2i - 5) = 2.5 for every i: exact in float */
    for (i = 0; i < 19; i++)
        assert_true(p[i] == 2.5f);
    mlp__vec_acc(p, g, 19);
    for (i = 0; i < 19; i++)
        assert_true(p[i] == 2.5f + (float)(2 * i) - 5.0f);
}

/* ---- every copy of the streaming passes gives the base copy's bits ---- */

#define PASS_MAX 300 /* floats an array: n up to 257 at offsets 0 .. 3 */

/* A value of every kind: ordinary ones of both signs and many sizes, then
 * now and again +-0, a subnormal, +-inf or NaN. */
static float pass_value(unsigned *s, int specials)
{
    static const float odd[8] = {0.0f, -0.0f, 1e-40f, -3e-39f, INFINITY, -INFINITY, NAN, 1e30f};
    float v;
    *s = *s * 1664525u + 1013904223u;
    if (specials && (*s >> 24) < 20)
        return odd[(*s >> 8) & 7];
    v = (float)((*s >> 8) & 0xFFFF) / 65536.0f - 0.5f;
    return v * (float)(1 << ((*s >> 4) & 15)) / 64.0f;
}

static void pass_fill(float *a, unsigned *s, int specials, int positive)
{
    int i;
    for (i = 0; i < PASS_MAX; i++) {
        a[i] = pass_value(s, specials);
        if (positive)
            a[i] = fabsf(a[i]);
    }
}

/* Runs pass `which` of table t on copies of in[0..4] at offset off, n
 * floats, and leaves its outputs in out[0..4] (the all-zero test's
 * answer in out[4][0]). */
static void pass_run(const mlp__vec_passes *t, int which, int variant, float in[5][PASS_MAX],
                     float out[5][PASS_MAX], int off, int64_t n)
{
    mlp__sgd_k sk;
    mlp__adam_k ak;
    int i;
    for (i = 0; i < 5; i++)
        memcpy(out[i], in[i], sizeof in[i]);
    memset(&sk, 0, sizeof sk);
    memset(&ak, 0, sizeof ak);
    switch (which) {
    case 0: t->sub_scaled(out[0] + off, 0.37f, out[1] + off, n); break;
    case 1: t->acc(out[0] + off, out[1] + off, n); break;
    case 2: /* n columns of 3 rows, rows n + 1 apart when they fit */
        t->col_sums_acc(out[0] + off, out[1] + off, n < 95 ? 3 : 1, n, n + 1);
        break;
    case 3:
        sk.lr = 0.05f;
        sk.wd = variant & 1 ? 1e-2f : 0.0f;
        sk.mu = variant & 2 ? 0.9f : 0.0f;
        sk.damp = variant & 4 ? 0.75f : 1.0f;
        sk.nesterov = (variant & 8) != 0;
        sk.first = (variant & 16) != 0;
        t->sgd(out[0] + off, out[1] + off, out[2] + off, n, &sk);
        break;
    case 4:
        ak.decoupled = variant & 1;
        ak.amsgrad = (variant & 2) != 0;
        ak.wd = variant & 4 ? 1e-2f : 0.0f;
        ak.decay = 1.0f - 1e-3f * 1e-2f;
        ak.b1 = 0.9f;
        ak.omb1 = 0.1f;
        ak.b2 = 0.999f;
        ak.omb2 = 1.0f - 0.999f;
        ak.bc2_sqrt = sqrtf(1.0f - 0.999f * 0.999f * 0.999f);
        ak.eps = 1e-8f;
        ak.step_size = 1e-3f / (1.0f - 0.9f * 0.9f * 0.9f);
        t->adam(out[0] + off, out[1] + off, out[2] + off, out[3] + off, out[4] + off, n, &ak);
        break;
    case 5: out[4][0] = (float)t->all_zero(out[0] + off, n); break;
    case 6: t->relu_bwd(out[0] + off, out[1] + off, out[2] + off, n, variant & 1); break;
    default: t->relu_mask(out[0] + off, out[1] + off, n); break;
    }
}

static void step__every_copy_of_the_streaming_passes_gives_the_base_bits(void **state)
{
    static float in[5][PASS_MAX], want[5][PASS_MAX], got[5][PASS_MAX];
    static const int64_t lens[] = {0, 1, 3, 7, 8, 15, 16, 17, 31, 33, 47, 64, 100, 129, 257};
    static const int variants[8] = {1, 1, 1, 32, 8, 2, 2, 1};
    /* the copies to compare with the base one (filled below on x86) */
    const mlp__vec_passes *tables[2] = {&mlp__vec_passes_base, &mlp__vec_passes_base};
    unsigned seed = 12345u;
    int nt = 0, k, which, variant, off, l, i, compared = 0;
    (void)state;
#if defined(MLP__GEMM_X86)
    if (mlp__cpu_avx2())
        tables[nt++] = &mlp__vec_passes_avx2;
    if (mlp__cpu_avx512())
        tables[nt++] = &mlp__vec_passes_avx512;
    /* the widest copy this CPU runs is the one the passes call */
    assert_ptr_equal(mlp__vec_passes_best(), nt ? tables[nt - 1] : &mlp__vec_passes_base);
#else
    assert_ptr_equal(mlp__vec_passes_best(), &mlp__vec_passes_base);
#endif
    if (nt == 0) {
        print_message("streaming passes: no copy but the base one on this CPU\n");
        skip();
    }
    for (which = 0; which < 8; which++)
        for (variant = 0; variant < variants[which]; variant++)
            for (l = 0; l < (int)(sizeof lens / sizeof lens[0]); l++)
                for (off = 0; off < 4; off++) {
                    /* moments of Adam (in[2], in[3], in[4]) are >= 0 and
                       finite; the all-zero test gets zeros but for one */
                    for (i = 0; i < 5; i++)
                        pass_fill(in[i], &seed, which != 4 || i < 2, which == 4 && i >= 2);
                    if (which == 5) {
                        memset(in[0], 0, sizeof in[0]);
                        if (lens[l] > 0 && (seed & 1))
                            in[0][off + (int)(seed >> 3) % (int)lens[l]] = 1e-40f;
                    }
                    pass_run(&mlp__vec_passes_base, which, variant, in, want, off, lens[l]);
                    for (k = 0; k < nt; k++) {
                        pass_run(tables[k], which, variant, in, got, off, lens[l]);
                        for (i = 0; i < 5; i++)
                            if (memcmp(got[i], want[i], sizeof got[i]) != 0)
                                fail_msg("pass %d variant %d, copy %s, n %d at offset %d: "
                                         "array %d differs from the base copy",
                                         which, variant, tables[k]->name, (int)lens[l], off, i);
                        compared++;
                    }
                }
    assert_true(compared > 0);
    print_message("streaming passes: %d runs of %s compared with the base copy's\n", compared,
                  nt == 2 ? "avx2 and avx512" : tables[0]->name);
}

static void step__all_zero_sees_one_non_zero_anywhere(void **state)
{
    static float z[10000];
    int at[4] = {0, 4095, 4096, 9999}, k;
    (void)state;
    memset(z, 0, sizeof z);
    assert_true(mlp__vec_all_zero(z, 10000));
    assert_true(mlp__vec_all_zero(z, 0));
    z[17] = -0.0f; /* negative zero is zero */
    assert_true(mlp__vec_all_zero(z, 10000));
    for (k = 0; k < 4; k++) {
        z[at[k]] = 1e-40f; /* a subnormal is not zero */
        assert_false(mlp__vec_all_zero(z, 10000));
        z[at[k]] = NAN;
        assert_false(mlp__vec_all_zero(z, 10000));
        z[at[k]] = 0.0f;
    }
}

static void step__bias_gradient_is_column_sums(void **state)
{
    /* g [3,5] = r*5 + c; column sums 0+5+10+c*3 = 15 + 3c, plus db = 1 */
    float g[15], db[5] = {1, 1, 1, 1, 1};
    int i;
    (void)state;
    for (i = 0; i < 15; i++)
        g[i] = (float)i;
    mlp__col_sums_acc(db, g, 3, 5, 5);
    for (i = 0; i < 5; i++)
        assert_true(db[i] == 16.0f + 3.0f * (float)i);
}

static void step__relu_kernels_select_by_sign(void **state)
{
    const float x[9] = {-2, -0.0f, 0, 0.5f, 3, -1e-30f, 7, -7, 1e-30f};
    const float dy[9] = {1, 2, 3, 4, 5, 6, 7, 8, 9};
    float y[9], dx[9], z[9];
    const float b[3] = {1, -1, 0};
    int i;
    (void)state;
    mlp__act_fwd(MLP_ACT_RELU, y, x, 9, 0.0f);
    for (i = 0; i < 9; i++) {
        assert_true(y[i] == (x[i] > 0.0f ? x[i] : 0.0f));
        dx[i] = 10.0f;
    }
    /* f'(x) = 1 for x > 0, else 0 (also at 0) */
    mlp__act_bwd(MLP_ACT_RELU, 0, dx, dy, NULL, y, 9, 0.0f);
    for (i = 0; i < 9; i++)
        assert_true(dx[i] == 10.0f + (x[i] > 0.0f ? dy[i] : 0.0f));
    /* into a fresh buffer: written, not added to */
    mlp__act_bwd(MLP_ACT_RELU, 1, dx, dy, NULL, y, 9, 0.0f);
    for (i = 0; i < 9; i++)
        assert_true(dx[i] == (x[i] > 0.0f ? dy[i] : 0.0f));
    /* fused: z [3,3] = relu(x + b) per row */
    memcpy(z, x, sizeof z);
    mlp__bias_act_fwd(MLP_ACT_RELU, z, b, 3, 3, 0.0f);
    for (i = 0; i < 9; i++) {
        float v = x[i] + b[i % 3];
        assert_true(z[i] == (v > 0.0f ? v : 0.0f));
    }
    memcpy(z, x, sizeof z);
    mlp__bias_act_fwd(MLP_ACT_IDENTITY, z, b, 3, 3, 0.0f);
    for (i = 0; i < 9; i++)
        assert_true(z[i] == x[i] + b[i % 3]);
}

/* One step of the fit loop on a 6-8-3 net, batch 4. */
static void train_step(mlp_ctx *ctx, mlp_model *m, mlp_optim *o, mlp_tensor *x, mlp_tensor *y)
{
    mlp_tensor *l = mlp_cross_entropy(mlp_model_forward(m, x), y);
    assert_handle(ctx, l);
    assert_ok(ctx, mlp_optim_zero_grad(o));
    assert_ok(ctx, mlp_backward(l, NULL, 0));
    assert_ok(ctx, mlp_optim_step(o));
    mlp_tape_reset(ctx);
}

static void step__steady_state_training_step_calls_no_allocator(void **state)
{
    tu_alloc *al = &tu_fix(state)->alloc;
    mlp_ctx *ctx = tu_ctx_of(state);
    mlp_model *m = mlp_model_new(ctx);
    mlp_optim *o;
    int64_t xs[2] = {4, 6}, ys = 4;
    const float labels[4] = {0, 2, 1, 2};
    mlp_tensor *x, *y;
    long calls;
    int i;
    mlp_ctx_seed(ctx, 7);
    assert_ok(ctx, mlp_model_add_linear(m, 6, 8));
    assert_ok(ctx, mlp_model_add_act(m, MLP_ACT_RELU));
    assert_ok(ctx, mlp_model_add_linear(m, 8, 3));
    o = mlp_sgd_new(m, 0.1f);
    x = mlp_tensor_rand_uniform(ctx, 2, xs, -1.0f, 1.0f);
    y = mlp_tensor_from(ctx, 1, &ys, labels);
    assert_handle(ctx, o);
    assert_handle(ctx, x);
    for (i = 0; i < 2; i++)
        train_step(ctx, m, o, x, y);
    calls = al->calls;
    for (i = 0; i < 5; i++)
        train_step(ctx, m, o, x, y);
    assert_int_equal(al->calls, calls);
    mlp_tensor_free(x);
    mlp_tensor_free(y);
    mlp_optim_free(o);
    mlp_model_free(m);
}

/* loss = sum(x w + b), and twice that when twice: a linear 2 -> 1 layer on
 * x = [[1, 2], [3, 4]] (or x of 3e38s). */
static mlp_tensor *linear_sum_loss(mlp_model *m, mlp_tensor *x, int twice)
{
    mlp_tensor *l = mlp_sum(mlp_model_forward(m, x));
    return twice ? mlp_add(l, mlp_sum(mlp_model_forward(m, x))) : l;
}

/* Every element of p's gradient is v. */
static void assert_grad_all(mlp_tensor *p, float v)
{
    const float *g = mlp_tensor_cdata(mlp_tensor_grad(p));
    int64_t i;
    for (i = 0; i < mlp_tensor_numel(p); i++)
        assert_true(g[i] == v);
}

static void step__fit_zero_grad_backward_overwrites_stale_grads_and_zeroes_the_rest(void **state)
{
    mlp_ctx *ctx = tu_ctx_of(state);
    int64_t xs[2] = {2, 2};
    const float xv[4] = {1, 2, 3, 4}, big[4] = {3e38f, 3e38f, 3e38f, 3e38f};
    mlp_tensor *x = mlp_tensor_from(ctx, 2, xs, xv), *xbig = mlp_tensor_from(ctx, 2, xs, big);
    mlp_model *m = mlp_model_new(ctx);
    mlp_optim *o;
    mlp_tensor *w, *b;
    const float *g;
    assert_ok(ctx, mlp_model_add_linear(m, 2, 1));
    o = mlp_sgd_new(m, 0.1f);
    w = mlp_model_param(m, 0);
    b = mlp_model_param(m, 1);
    /* stale gradients from two backwards without zero_grad */
    assert_ok(ctx, mlp_backward(linear_sum_loss(m, x, 1), NULL, 0));
    mlp_tape_reset(ctx);
    g = mlp_tensor_cdata(mlp_tensor_grad(w));
    assert_true(g[0] == 8.0f && g[1] == 12.0f);
    /* dL/dw = x^T 1 = [1 + 3, 2 + 4]; dL/db = 2 (rows): the same as
     * zero_grad and backward, whatever .grad held */
    assert_ok(ctx, mlp__zero_grad_backward(o, linear_sum_loss(m, x, 0)));
    mlp_tape_reset(ctx);
    g = mlp_tensor_cdata(mlp_tensor_grad(w));
    assert_true(g[0] == 4.0f && g[1] == 6.0f);
    assert_grad_all(b, 2.0f);
    /* a parameter backward does not reach is zeroed */
    assert_ok(ctx, mlp_tensor_set_requires_grad(b, 0));
    assert_ok(ctx, mlp__zero_grad_backward(o, linear_sum_loss(m, x, 0)));
    mlp_tape_reset(ctx);
    assert_true(g[0] == 4.0f && g[1] == 6.0f);
    assert_grad_all(b, 0.0f);
    assert_ok(ctx, mlp_tensor_set_requires_grad(b, 1));
    /* no loss: zero_grad alone */
    assert_ok(ctx, mlp__zero_grad_backward(o, NULL));
    assert_grad_all(w, 0.0f);
    /* a failed backward (dL/dw = 2 * 2 * 3e38 overflows; w's first writer
     * had overwritten .grad with inf) leaves every gradient zero, as
     * zero_grad before a failed backward does */
    mlp_ctx_set_check_finite(ctx, 1);
    mlp_tensor_data(w)[0] = mlp_tensor_data(w)[1] = 1e-30f;
    assert_ok(ctx, mlp_backward(linear_sum_loss(m, x, 0), NULL, 0));
    mlp_tape_reset(ctx);
    assert_int_equal(mlp__zero_grad_backward(o, linear_sum_loss(m, xbig, 1)), MLP_ERR_NONFINITE);
    mlp_tape_reset(ctx);
    assert_grad_all(w, 0.0f);
    assert_grad_all(b, 0.0f);
    mlp_optim_free(o);
    mlp_model_free(m);
    mlp_tensor_free(x);
    mlp_tensor_free(xbig);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        TU_TEST(step__leaf_grad_accumulates_over_backwards_and_restarts_after_zero_grad),
        cmocka_unit_test(step__values_written_into_grad_are_added_to),
        TU_TEST(step__failed_backward_leaves_grad_unchanged),
        TU_TEST(step__fit_zero_grad_backward_overwrites_stale_grads_and_zeroes_the_rest),
        cmocka_unit_test(step__grad_used_as_an_input_is_not_written_during_backward),
        cmocka_unit_test(step__sgd_update_kernel_subtracts_scaled_gradient),
        cmocka_unit_test(step__all_zero_sees_one_non_zero_anywhere),
        cmocka_unit_test(step__every_copy_of_the_streaming_passes_gives_the_base_bits),
        cmocka_unit_test(step__bias_gradient_is_column_sums),
        cmocka_unit_test(step__relu_kernels_select_by_sign),
        TU_TEST(step__steady_state_training_step_calls_no_allocator),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
