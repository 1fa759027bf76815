/*
 * test_tape.c - the gradient tape's semantics, one test each, as PyTorch
 * has them: requires_grad defaults, recording only when needed, scalar and
 * non-scalar backward, accumulation until zero_grad, retain_graph, detach,
 * grad mode off, non-leaf gradients, in-place modification, lifetimes,
 * the allocation-free steady state and allocation failures, a matrix
 * kernel changed between forward and backward. Expected
 * numbers are worked by hand (d/dx of x*x is 2x, and so on).
 */
#include "testutil.h"

static const float X4[4] = {0, 1, 2, 3}; /* torch.arange(4.0) */

static void tape__data_tensors_do_not_require_grad_by_default(void **state)
{
    mlp_ctx *ctx = tu_ctx_of(state);
    mlp_tensor *x = tu_vec(ctx, 4, X4), *y;
    assert_false(mlp_tensor_requires_grad(x));
    assert_true(mlp_tensor_is_leaf(x));
    assert_null(mlp_tensor_grad(x));
    assert_ok(ctx, mlp_tensor_set_requires_grad(x, 1));
    assert_true(mlp_tensor_requires_grad(x));
    y = mlp_mul(x, x);
    assert_true(mlp_tensor_requires_grad(y));
    assert_false(mlp_tensor_is_leaf(y));
    /* as PyTorch: requires_grad can only be changed on leaves */
    assert_int_equal(mlp_tensor_set_requires_grad(y, 0), MLP_ERR_STATE);
    mlp_tensor_free(x);
}

static void tape__op_records_only_when_an_input_requires_grad(void **state)
{
    mlp_ctx *ctx = tu_ctx_of(state);
    mlp_tensor *a = tu_vec(ctx, 4, X4), *b = tu_vec(ctx, 4, X4), *c;
    c = mlp_add(a, b);
    assert_handle(ctx, c);
    assert_int_equal(mlp_tape_size(ctx), 0);
    assert_false(mlp_tensor_requires_grad(c));
    assert_true(mlp_tensor_is_leaf(c));
    assert_int_equal(mlp_backward(mlp_sum(c), NULL, 0), MLP_ERR_NO_GRAD);
    mlp_tensor_set_requires_grad(b, 1);
    c = mlp_add(a, b);
    assert_int_equal(mlp_tape_size(ctx), 1);
    assert_true(mlp_tensor_requires_grad(c));
    mlp_tensor_free(a);
    mlp_tensor_free(b);
}

static void tape__scalar_backward_with_null_grad_means_one(void **state)
{
    /* y = 2 x.x, dy/dx = 4x */
    mlp_ctx *ctx = tu_ctx_of(state);
    mlp_tensor *x = tu_param(tu_vec(ctx, 4, X4)), *y;
    int i;
    y = mlp_scale(mlp_matmul(x, x), 2.0f);
    assert_close(mlp_tensor_item(y), 28, 0, 0);
    assert_ok(ctx, mlp_backward(y, NULL, 0));
    for (i = 0; i < 4; i++)
        assert_close(mlp_tensor_get(mlp_tensor_grad(x), i), 4.0 * i, 0, 0);
    mlp_tensor_free(x);
}

static void tape__non_scalar_backward_without_grad_fails(void **state)
{
    mlp_ctx *ctx = tu_ctx_of(state);
    mlp_tensor *x = tu_param(tu_vec(ctx, 4, X4)), *y;
    y = mlp_mul(x, x);
    assert_int_equal(mlp_backward(y, NULL, 0), MLP_ERR_IMPLICIT_GRAD);
    assert_non_null(
        strstr(mlp_ctx_errmsg(ctx), "grad can be implicitly created only for scalar outputs"));
    assert_null(mlp_tensor_grad(x));
    mlp_tensor_free(x);
}

static void tape__ones_gradient_gives_gradient_of_the_sum(void **state)
{
    /* y = x * x; y.backward(ones_like(y)) gives 2x, like y.sum().backward() */
    static const float g[4] = {1, -1, 0.5f, 2};
    mlp_ctx *ctx = tu_ctx_of(state);
    mlp_tensor *x = tu_param(tu_vec(ctx, 4, X4)),
               *ones = tu_vec(ctx, 4, (const float[4]){1, 1, 1, 1});
    mlp_tensor *w = tu_vec(ctx, 4, g), *y;
    int i;
    y = mlp_mul(x, x);
    assert_ok(ctx, mlp_backward(y, ones, 0));
    for (i = 0; i < 4; i++)
        assert_close(mlp_tensor_get(mlp_tensor_grad(x), i), 2.0 * i, 0, 0);
    /* any other grad_out gives the gradient of sum(y * g): 2 x g */
    mlp_tensor_zero_grad(x);
    y = mlp_mul(x, x);
    assert_ok(ctx, mlp_backward(y, w, 0));
    for (i = 0; i < 4; i++)
        assert_close(mlp_tensor_get(mlp_tensor_grad(x), i), 2.0 * i * g[i], 0, 0);
    mlp_tensor_free(x);
    mlp_tensor_free(ones);
    mlp_tensor_free(w);
}

static void tape__gradients_accumulate_until_zero_grad(void **state)
{
    mlp_ctx *ctx = tu_ctx_of(state);
    mlp_tensor *x = tu_param(tu_vec(ctx, 4, X4));
    mlp_tensor *grad;
    int i;
    assert_ok(ctx, mlp_backward(mlp_sum(x), NULL, 0));
    assert_ok(ctx, mlp_backward(mlp_sum(mlp_scale(x, 3.0f)), NULL, 0));
    grad = mlp_tensor_grad(x);
    for (i = 0; i < 4; i++)
        assert_close(mlp_tensor_get(grad, i), 4, 0, 0); /* 1 + 3 */
    assert_ok(ctx, mlp_tensor_zero_grad(x));
    assert_ptr_equal(mlp_tensor_grad(x), grad); /* zeroed in place */
    for (i = 0; i < 4; i++)
        assert_close(mlp_tensor_get(grad, i), 0, 0, 0);
    assert_ok(ctx, mlp_backward(mlp_sum(x), NULL, 0));
    for (i = 0; i < 4; i++)
        assert_close(mlp_tensor_get(grad, i), 1, 0, 0);
    mlp_tensor_free(x);
}

static void tape__second_backward_without_retain_fails(void **state)
{
    mlp_ctx *ctx = tu_ctx_of(state);
    mlp_tensor *x = tu_param(tu_vec(ctx, 4, X4)), *y;
    int i;
    y = mlp_sum(mlp_mul(x, x));
    assert_ok(ctx, mlp_backward(y, NULL, 0));
    assert_int_equal(mlp_backward(y, NULL, 0), MLP_ERR_GRAPH_FREED);
    assert_non_null(strstr(mlp_ctx_errmsg(ctx), "second time"));
    for (i = 0; i < 4; i++) /* unchanged: still 2x */
        assert_close(mlp_tensor_get(mlp_tensor_grad(x), i), 2.0 * i, 0, 0);
    mlp_tensor_free(x);
}

static void tape__retain_graph_lets_backward_run_again_and_adds_up(void **state)
{
    mlp_ctx *ctx = tu_ctx_of(state);
    mlp_tensor *x = tu_param(tu_vec(ctx, 4, X4)), *y;
    int i;
    y = mlp_sum(mlp_sigmoid(mlp_mul(x, x)));
    assert_ok(ctx, mlp_backward(y, NULL, 1));
    assert_ok(ctx, mlp_backward(y, NULL, 1));
    assert_ok(ctx, mlp_backward(y, NULL, 0));
    /* 3 * sigmoid'(x^2) * 2x, sigmoid' = s(1 - s), by hand via libm */
    for (i = 0; i < 4; i++) {
        double s = 1.0 / (1.0 + exp(-(double)(i * i)));
        assert_close(mlp_tensor_get(mlp_tensor_grad(x), i), 3.0 * s * (1 - s) * 2 * i, 1e-6, 1e-5);
    }
    assert_int_equal(mlp_backward(y, NULL, 0), MLP_ERR_GRAPH_FREED);
    mlp_tensor_free(x);
}

static void tape__detach_shares_storage_and_stops_gradients(void **state)
{
    /* y = x * x; u = y.detach(); z = u * x; z.sum().backward() gives x.grad == u */
    mlp_ctx *ctx = tu_ctx_of(state);
    mlp_tensor *x = tu_param(tu_vec(ctx, 4, X4)), *y, *u, *z;
    int i;
    y = mlp_mul(x, x);
    u = mlp_tensor_detach(y);
    assert_handle(ctx, u);
    assert_false(mlp_tensor_requires_grad(u));
    assert_true(mlp_tensor_is_leaf(u));
    assert_ptr_equal(mlp_tensor_data(u), mlp_tensor_data(y));
    z = mlp_mul(u, x);
    assert_ok(ctx, mlp_backward(mlp_sum(z), NULL, 0));
    for (i = 0; i < 4; i++)
        assert_close(mlp_tensor_get(mlp_tensor_grad(x), i), (double)(i * i), 0, 0);
    /* writes through one are seen through the other */
    mlp_tensor_data(u)[1] = 42.0f;
    assert_close(mlp_tensor_get(y, 1), 42, 0, 0);
    /* the detached tensor outlives the step */
    mlp_tape_reset(ctx);
    assert_close(mlp_tensor_get(u, 3), 9, 0, 0);
    mlp_tensor_free(u);
    mlp_tensor_free(x);
}

static void tape__grad_mode_off_records_nothing(void **state)
{
    mlp_ctx *ctx = tu_ctx_of(state);
    mlp_tensor *x = tu_param(tu_vec(ctx, 4, X4)), *y;
    assert_true(mlp_ctx_grad_enabled(ctx));
    assert_int_equal(mlp_ctx_set_grad_enabled(ctx, 0), 1);
    assert_false(mlp_ctx_grad_enabled(ctx));
    y = mlp_sum(mlp_tanh(mlp_mul(x, x)));
    assert_handle(ctx, y);
    assert_int_equal(mlp_tape_size(ctx), 0);
    assert_false(mlp_tensor_requires_grad(y));
    assert_int_equal(mlp_backward(y, NULL, 0), MLP_ERR_NO_GRAD);
    assert_int_equal(mlp_ctx_set_grad_enabled(ctx, 1), 0);
    mlp_tape_reset(ctx);
    mlp_tensor_free(x);
}

static void tape__only_leaves_keep_a_gradient(void **state)
{
    mlp_ctx *ctx = tu_ctx_of(state);
    mlp_tensor *x = tu_param(tu_vec(ctx, 4, X4)), *h, *y;
    h = mlp_mul(x, x);
    y = mlp_sum(h);
    assert_ok(ctx, mlp_backward(y, NULL, 0));
    assert_null(mlp_tensor_grad(h));
    assert_null(mlp_tensor_grad(y));
    assert_non_null(mlp_tensor_grad(x));
    mlp_tensor_free(x);
}

static void tape__backward_refuses_a_tensor_modified_after_use(void **state)
{
    mlp_ctx *ctx = tu_ctx_of(state);
    mlp_tensor *x = tu_param(tu_vec(ctx, 4, X4)), *w = tu_param(tu_vec(ctx, 4, X4)), *y;
    y = mlp_sum(mlp_mul(x, w)); /* mul saves both inputs */
    assert_ok(ctx, mlp_tensor_fill(w, 1.0f));
    assert_int_equal(mlp_backward(y, NULL, 0), MLP_ERR_MODIFIED);
    assert_non_null(strstr(mlp_ctx_errmsg(ctx), "mlp_mul"));
    assert_null(mlp_tensor_grad(x));
    assert_null(mlp_tensor_grad(w));
    /* add saves nothing, so changing its inputs does not matter */
    y = mlp_sum(mlp_add(x, w));
    assert_ok(ctx, mlp_tensor_fill(w, 2.0f));
    assert_ok(ctx, mlp_backward(y, NULL, 0));
    mlp_tensor_free(x);
    mlp_tensor_free(w);
}

static void tape__op_results_stay_readable_after_backward_until_reset(void **state)
{
    mlp_ctx *ctx = tu_ctx_of(state);
    mlp_tensor *x = tu_param(tu_vec(ctx, 4, X4)), *h, *y;
    h = mlp_relu(mlp_scale(x, -1.0f));
    y = mlp_sum(mlp_mul(x, x));
    assert_ok(ctx, mlp_backward(y, NULL, 0));
    assert_close(mlp_tensor_item(y), 14, 0, 0);
    assert_close(mlp_tensor_get(h, 3), 0, 0, 0);
    mlp_tensor_free(y); /* freeing an op result is a harmless no-op */
    assert_close(mlp_tensor_item(y), 14, 0, 0);
    assert_true(mlp_tape_size(ctx) > 0);
    mlp_tape_reset(ctx);
    assert_int_equal(mlp_tape_size(ctx), 0);
    /* the parameter and its gradient are the caller's and survive */
    assert_close(mlp_tensor_get(mlp_tensor_grad(x), 3), 6, 0, 0);
    mlp_tensor_free(x);
}

static void tape__a_freed_input_lives_on_inside_the_graph(void **state)
{
    mlp_ctx *ctx = tu_ctx_of(state);
    mlp_tensor *x = tu_param(tu_vec(ctx, 4, X4)), *c = tu_vec(ctx, 4, X4), *y;
    y = mlp_sum(mlp_mul(x, c));
    mlp_tensor_free(c);
    assert_ok(ctx, mlp_backward(y, NULL, 0));
    assert_close(mlp_tensor_get(mlp_tensor_grad(x), 2), 2, 0, 0);
    mlp_tape_reset(ctx);
    mlp_tensor_free(x);
}

/* one training step of a small MLP with manual SGD */
static mlp_status train_step(mlp_ctx *ctx, mlp_tensor *x, mlp_tensor *labels, mlp_tensor **p)
{
    mlp_tensor *h, *loss;
    mlp_status s;
    int i;
    int64_t j;
    h = mlp_relu(mlp_linear(x, p[0], p[1]));
    h = mlp_dropout(h, 0.25f);
    loss = mlp_cross_entropy(mlp_linear(h, p[2], p[3]), labels);
    if (!loss)
        return mlp_ctx_errcode(ctx);
    for (i = 0; i < 4; i++)
        if ((s = mlp_tensor_zero_grad(p[i])) != MLP_OK)
            return s;
    if ((s = mlp_backward(loss, NULL, 0)) != MLP_OK)
        return s;
    for (i = 0; i < 4; i++) {
        const float *g = mlp_tensor_cdata(mlp_tensor_grad(p[i]));
        for (j = 0; j < mlp_tensor_numel(p[i]); j++)
            mlp_tensor_data(p[i])[j] -= 0.1f * g[j];
    }
    mlp_tape_reset(ctx);
    return MLP_OK;
}

static int make_net(mlp_ctx *ctx, mlp_tensor **x, mlp_tensor **labels, mlp_tensor **p)
{
    int64_t sx[2] = {8, 5}, s0[2] = {5, 7}, s1[1] = {7}, s2[2] = {7, 3}, s3[1] = {3}, n = 8, i;
    int k;
    *x = mlp_tensor_rand_normal(ctx, 2, sx, 0, 1);
    *labels = mlp_tensor_zeros(ctx, 1, &n);
    p[0] = mlp_tensor_rand_normal(ctx, 2, s0, 0, 0.5f);
    p[1] = mlp_tensor_zeros(ctx, 1, s1);
    p[2] = mlp_tensor_rand_normal(ctx, 2, s2, 0, 0.5f);
    p[3] = mlp_tensor_zeros(ctx, 1, s3);
    if (!*x || !*labels)
        return 0;
    for (k = 0; k < 4; k++)
        if (!p[k] || mlp_tensor_set_requires_grad(p[k], 1) != MLP_OK)
            return 0;
    for (i = 0; i < n; i++)
        mlp_tensor_data(*labels)[i] = (float)(i % 3);
    return 1;
}

static void free_net(mlp_tensor *x, mlp_tensor *labels, mlp_tensor **p)
{
    int k;
    mlp_tensor_free(x);
    mlp_tensor_free(labels);
    for (k = 0; k < 4; k++)
        mlp_tensor_free(p[k]);
}

static void tape__steady_state_training_loop_makes_no_allocator_calls(void **state)
{
    tu_alloc *a = &tu_fix(state)->alloc;
    mlp_ctx *ctx = tu_ctx_of(state);
    mlp_tensor *x, *labels, *p[4];
    long calls;
    int step;
    mlp_ctx_seed(ctx, 3);
    assert_true(make_net(ctx, &x, &labels, p));
    for (step = 0; step < 3; step++)
        assert_ok(ctx, train_step(ctx, x, labels, p));
    calls = a->calls;
    for (step = 0; step < 20; step++)
        assert_ok(ctx, train_step(ctx, x, labels, p));
    assert_int_equal(a->calls, calls);
    free_net(x, labels, p);
}

static void tape__training_step_fails_cleanly_under_every_allocation_failure(void **state)
{
    long n;
    int succeeded = 0;
    (void)state;
    for (n = 0; !succeeded && n < 1000; n++) {
        tu_alloc a;
        mlp_ctx *ctx = tu_ctx(&a, -1);
        mlp_tensor *x, *labels, *p[4];
        mlp_status s;
        int k;
        assert_non_null(ctx);
        mlp_ctx_seed(ctx, 3);
        assert_true(make_net(ctx, &x, &labels, p));
        a.fail_at = a.calls + n;
        s = train_step(ctx, x, labels, p);
        if (s == MLP_OK) {
            succeeded = a.failures == 0;
        } else {
            assert_int_equal(s, MLP_ERR_NOMEM);
            assert_int_equal(mlp_ctx_errcode(ctx), MLP_ERR_NOMEM);
            for (k = 0; k < 4; k++) /* no gradient appeared half-made */
                if (mlp_tensor_grad(p[k]))
                    assert_true(mlp_tensor_get(mlp_tensor_grad(p[k]), 0) == 0.0f);
        }
        a.fail_at = -1;
        mlp_tape_reset(ctx);
        free_net(x, labels, p);
        mlp_ctx_free(ctx);
        assert_int_equal(a.live, 0);
    }
    assert_true(succeeded);
    assert_true(n > 5);
}

/* every op in one graph, for the allocation-failure sweep */
static mlp_status every_op_step(mlp_ctx *ctx, mlp_tensor *x, mlp_tensor *w, mlp_tensor *alpha,
                                mlp_tensor *labels)
{
    int64_t s2[2] = {4, 3};
    mlp_tensor *h, *a, *b, *loss;
    h = mlp_linear(x, w, NULL); /* [3,4] */
    a = mlp_add(mlp_matmul(x, w), mlp_scale(mlp_sigmoid(h), 0.5f));
    a = mlp_sub(mlp_mul(a, mlp_tanh(h)), mlp_gelu(h));
    a = mlp_prelu(mlp_leaky_relu(a, 0.1f), alpha);
    b = mlp_transpose(mlp_reshape(mlp_relu(a), 2, s2)); /* [3,4] */
    b = mlp_add(mlp_softmax(b), mlp_step(a));
    loss = mlp_add(mlp_cross_entropy(mlp_log_softmax(b), labels), mlp_mean(mlp_dropout(b, 0.5f)));
    loss = mlp_add(loss, mlp_mse(a, b));
    loss = mlp_add(loss, mlp_bce_with_logits(a, mlp_sigmoid(b)));
    loss = mlp_add(loss, mlp_sum(a));
    if (!loss)
        return mlp_ctx_errcode(ctx);
    return mlp_backward(loss, NULL, 0);
}

static void tape__every_op_fails_cleanly_under_every_allocation_failure(void **state)
{
    long n;
    int succeeded = 0;
    (void)state;
    for (n = 0; !succeeded && n < 2000; n++) {
        tu_alloc a;
        mlp_ctx *ctx = tu_ctx(&a, -1);
        int64_t sx[2] = {3, 5}, sw[2] = {5, 4}, three = 3;
        const float lab[3] = {0, 3, 1};
        mlp_tensor *x = mlp_tensor_rand_normal(ctx, 2, sx, 0, 1);
        mlp_tensor *w = mlp_tensor_rand_normal(ctx, 2, sw, 0, 1);
        mlp_tensor *alpha = mlp_tensor_ones(ctx, 0, NULL);
        mlp_tensor *labels = mlp_tensor_from(ctx, 1, &three, lab);
        mlp_status s;
        assert_non_null(labels);
        mlp_tensor_set_requires_grad(x, 1);
        mlp_tensor_set_requires_grad(w, 1);
        mlp_tensor_set_requires_grad(alpha, 1);
        a.fail_at = a.calls + n;
        s = every_op_step(ctx, x, w, alpha, labels);
        if (s == MLP_OK) {
            succeeded = a.failures == 0;
            assert_non_null(mlp_tensor_grad(w));
        } else {
            assert_int_equal(s, MLP_ERR_NOMEM);
            assert_null(mlp_tensor_grad(x)); /* no gradient half-made */
            assert_null(mlp_tensor_grad(w));
        }
        a.fail_at = -1;
        mlp_tape_reset(ctx);
        mlp_tensor_free(x);
        mlp_tensor_free(w);
        mlp_tensor_free(alpha);
        mlp_tensor_free(labels);
        mlp_ctx_free(ctx);
        assert_int_equal(a.live, 0);
    }
    assert_true(succeeded);
    assert_true(n > 20);
}

static void tape__changing_a_saved_output_is_refused(void **state)
{
    mlp_ctx *ctx = tu_ctx_of(state);
    mlp_tensor *x = tu_param(tu_vec(ctx, 4, X4)), *h, *y;
    h = mlp_sigmoid(x); /* backward reads sigmoid's output */
    y = mlp_sum(h);
    assert_ok(ctx, mlp_tensor_fill(h, 0.5f));
    assert_int_equal(mlp_backward(y, NULL, 0), MLP_ERR_MODIFIED);
    assert_non_null(strstr(mlp_ctx_errmsg(ctx), "mlp_sigmoid"));
    assert_null(mlp_tensor_grad(x));
    mlp_tensor_free(x);
}

/* loss = sum(a b) with a [M,K], b [K,N]: d loss / d a[i][k] = sum_j b[k][j]
 * and d loss / d b[k][j] = sum_i a[i][k] (the product rule per term). */
#define KM 40
#define KK 300
#define KN 30
static void check_matmul_grads(mlp_tensor *a, mlp_tensor *b)
{
    const float *av = mlp_tensor_data(a), *bv = mlp_tensor_data(b);
    const float *ga = mlp_tensor_data(mlp_tensor_grad(a)),
                *gb = mlp_tensor_data(mlp_tensor_grad(b));
    int i, j, k;
    for (i = 0; i < KM; i++)
        for (k = 0; k < KK; k++) {
            double s = 0.0;
            for (j = 0; j < KN; j++)
                s += bv[k * KN + j];
            assert_close(ga[i * KK + k], s, 1e-4, 1e-4);
        }
    for (k = 0; k < KK; k++)
        for (j = 0; j < KN; j++) {
            double s = 0.0;
            for (i = 0; i < KM; i++)
                s += av[i * KK + k];
            assert_close(gb[k * KN + j], s, 1e-4, 1e-4);
        }
}

static void tape__matrix_kernel_changed_between_forward_and_backward_is_used(void **state)
{
    static const char *const names[3] = {"generic", "avx2", "avx512"};
    mlp_ctx *ctx = tu_ctx_of(state);
    int64_t sa[2] = {KM, KK}, sb[2] = {KK, KN};
    mlp_tensor *a = mlp_tensor_rand_uniform(ctx, 2, sa, -1.0f, 1.0f);
    mlp_tensor *b = mlp_tensor_rand_uniform(ctx, 2, sb, -1.0f, 1.0f), *loss;
    int from, to;
    mlp_tensor_set_requires_grad(a, 1);
    mlp_tensor_set_requires_grad(b, 1);
    for (from = 0; from < 3; from++)
        for (to = 0; to < 3; to++) {
            if (mlp_ctx_set_gemm_kernel(ctx, names[from]) != MLP_OK
                || mlp_ctx_set_gemm_kernel(ctx, names[to]) != MLP_OK)
                continue; /* this CPU lacks one of them */
            assert_ok(ctx, mlp_ctx_set_gemm_kernel(ctx, names[from]));
            mlp_tensor_zero_grad(a);
            mlp_tensor_zero_grad(b);
            loss = mlp_sum(mlp_matmul(a, b));
            assert_handle(ctx, loss);
            /* the workspace made for `from` must serve `to` in backward */
            assert_ok(ctx, mlp_ctx_set_gemm_kernel(ctx, names[to]));
            assert_string_equal(mlp_ctx_gemm_kernel(ctx), names[to]);
            assert_ok(ctx, mlp_backward(loss, NULL, 0));
            check_matmul_grads(a, b);
            mlp_tape_reset(ctx);
        }
    mlp_tensor_free(a);
    mlp_tensor_free(b);
}

/* A kernel needing a larger workspace than the one made gets it at once;
 * without memory the call fails and the previous kernel stays. */
static void tape__kernel_change_without_memory_keeps_the_previous_kernel(void **state)
{
    tu_alloc al;
    mlp_ctx *ctx = tu_ctx(&al, -1);
    int64_t sa[2] = {KM, KK}, sb[2] = {KK, KN};
    mlp_tensor *a = mlp_tensor_rand_uniform(ctx, 2, sa, -1.0f, 1.0f);
    mlp_tensor *b = mlp_tensor_rand_uniform(ctx, 2, sb, -1.0f, 1.0f), *loss;
    (void)state;
    if (mlp_ctx_set_gemm_kernel(ctx, "avx512") != MLP_OK) {
        mlp_tensor_free(a);
        mlp_tensor_free(b);
        mlp_ctx_free(ctx);
        skip(); /* generic's workspace is the smaller one: only avx512 grows it */
    }
    assert_ok(ctx, mlp_ctx_set_gemm_kernel(ctx, "generic"));
    mlp_tensor_set_requires_grad(a, 1);
    mlp_tensor_set_requires_grad(b, 1);
    loss = mlp_sum(mlp_matmul(a, b));
    assert_handle(ctx, loss);
    al.fail_at = al.calls; /* every allocation from here fails */
    assert_int_equal(mlp_ctx_set_gemm_kernel(ctx, "avx512"), MLP_ERR_NOMEM);
    assert_string_equal(mlp_ctx_gemm_kernel(ctx), "generic");
    al.fail_at = -1;
    assert_ok(ctx, mlp_ctx_set_gemm_kernel(ctx, "avx512"));
    assert_ok(ctx, mlp_backward(loss, NULL, 0));
    check_matmul_grads(a, b);
    mlp_tensor_free(a);
    mlp_tensor_free(b);
    mlp_ctx_free(ctx);
    assert_int_equal(al.live, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        TU_TEST(tape__data_tensors_do_not_require_grad_by_default),
        TU_TEST(tape__op_records_only_when_an_input_requires_grad),
        TU_TEST(tape__scalar_backward_with_null_grad_means_one),
        TU_TEST(tape__non_scalar_backward_without_grad_fails),
        TU_TEST(tape__ones_gradient_gives_gradient_of_the_sum),
        TU_TEST(tape__gradients_accumulate_until_zero_grad),
        TU_TEST(tape__second_backward_without_retain_fails),
        TU_TEST(tape__retain_graph_lets_backward_run_again_and_adds_up),
        TU_TEST(tape__detach_shares_storage_and_stops_gradients),
        TU_TEST(tape__grad_mode_off_records_nothing),
        TU_TEST(tape__only_leaves_keep_a_gradient),
        TU_TEST(tape__backward_refuses_a_tensor_modified_after_use),
        TU_TEST(tape__op_results_stay_readable_after_backward_until_reset),
        TU_TEST(tape__a_freed_input_lives_on_inside_the_graph),
        TU_TEST(tape__steady_state_training_loop_makes_no_allocator_calls),
        cmocka_unit_test(tape__training_step_fails_cleanly_under_every_allocation_failure),
        cmocka_unit_test(tape__every_op_fails_cleanly_under_every_allocation_failure),
        TU_TEST(tape__changing_a_saved_output_is_refused),
        TU_TEST(tape__matrix_kernel_changed_between_forward_and_backward_is_used),
        cmocka_unit_test(tape__kernel_change_without_memory_keeps_the_previous_kernel),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
