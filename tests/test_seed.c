/*
 * test_seed.c - the results of the multi-layer-perceptron chapter as
 * tests: XOR is learned by a 2-hidden-unit MLP and by no linear model;
 * affine layers without an activation collapse into one; tanh(x) + 1 =
 * 2 sigmoid(2x); the derivative peaks of sigmoid and tanh; ReLU and pReLU
 * networks are continuous and piecewise linear. Every network here is
 * built from raw ops and trained with a hand-written SGD step.
 */
#include "testutil.h"

static const float XOR_X[8] = {0, 0, 0, 1, 1, 0, 1, 1};
static const float XOR_Y[4] = {0, 1, 1, 0};

static void sgd(mlp_tensor **p, int n, float lr)
{
    int i;
    int64_t j;
    for (i = 0; i < n; i++) {
        const float *g = mlp_tensor_cdata(mlp_tensor_grad(p[i]));
        float *d = mlp_tensor_data(p[i]);
        for (j = 0; j < mlp_tensor_numel(p[i]); j++)
            d[j] -= lr * g[j];
        mlp_tensor_zero_grad(p[i]);
    }
}

static void seed__xor_is_learned_by_a_2_hidden_unit_mlp(void **state)
{
    mlp_ctx *ctx = tu_ctx_of(state);
    int64_t sx[2] = {4, 2}, sy[2] = {4, 1};
    mlp_tensor *x = mlp_tensor_from(ctx, 2, sx, XOR_X), *y = mlp_tensor_from(ctx, 2, sy, XOR_Y);
    mlp_tensor *p[4], *logits = NULL, *loss;
    int step, i;
    float last = 0;
    mlp_ctx_seed(ctx, 1);
    p[0] = tu_param(tu_randn(ctx, 2, 2, 2, 1.0f)); /* W1 [2,2] */
    p[1] = tu_param(tu_randn(ctx, 1, 2, 0, 0.1f)); /* b1 [2]   */
    p[2] = tu_param(tu_randn(ctx, 2, 2, 1, 1.0f)); /* W2 [2,1] */
    p[3] = tu_param(tu_randn(ctx, 1, 1, 0, 0.1f)); /* b2 [1]   */
    for (step = 0; step < 3000; step++) {
        logits = mlp_linear(mlp_tanh(mlp_linear(x, p[0], p[1])), p[2], p[3]);
        loss = mlp_bce_with_logits(logits, y);
        assert_handle(ctx, loss);
        last = mlp_tensor_item(loss);
        assert_ok(ctx, mlp_backward(loss, NULL, 0));
        sgd(p, 4, 0.5f);
        if (step < 2999)
            mlp_tape_reset(ctx);
    }
    assert_true(last < 0.05f);
    for (i = 0; i < 4; i++) /* logit > 0 exactly for the 1s of XOR */
        assert_int_equal(mlp_tensor_get(logits, i) > 0.0f, XOR_Y[i] > 0.5f);
    for (i = 0; i < 4; i++)
        mlp_tensor_free(p[i]);
    mlp_tensor_free(x);
    mlp_tensor_free(y);
}

static void seed__xor_is_learned_by_no_linear_model(void **state)
{
    /* The least-squares line through XOR: X^T X = [[2,1,2],[1,2,2],[2,2,4]]
       and X^T y = [1,1,2] (columns x1, x2, 1) give w = (0, 0), b = 0.5 by
       hand: every point gets 0.5, no threshold separates the classes. The
       tape's gradient descent on the MSE must find exactly that. */
    mlp_ctx *ctx = tu_ctx_of(state);
    int64_t sx[2] = {4, 2}, sy[2] = {4, 1};
    mlp_tensor *x = mlp_tensor_from(ctx, 2, sx, XOR_X), *y = mlp_tensor_from(ctx, 2, sy, XOR_Y);
    mlp_tensor *p[2], *out = NULL, *loss;
    int step, i, j, k, correct;
    mlp_ctx_seed(ctx, 2);
    p[0] = tu_param(tu_randn(ctx, 2, 2, 1, 1.0f));
    p[1] = tu_param(tu_randn(ctx, 1, 1, 0, 1.0f));
    for (step = 0; step < 2000; step++) {
        out = mlp_linear(x, p[0], p[1]);
        loss = mlp_mse(out, y);
        assert_ok(ctx, mlp_backward(loss, NULL, 0));
        sgd(p, 2, 0.5f);
        if (step < 1999)
            mlp_tape_reset(ctx);
    }
    assert_close(mlp_tensor_get(p[0], 0), 0.0, 1e-4, 0);
    assert_close(mlp_tensor_get(p[0], 1), 0.0, 1e-4, 0);
    assert_close(mlp_tensor_get(p[1], 0), 0.5, 1e-4, 0);
    assert_close(mlp_tensor_item(mlp_mse(out, y)), 0.25, 1e-4, 0);
    /* and no line at all classifies the four points: a grid over (w1, w2, b) */
    for (i = -20; i <= 20; i++)
        for (j = -20; j <= 20; j++)
            for (k = -20; k <= 20; k++) {
                float w1 = (float)i / 4, w2 = (float)j / 4, b = (float)k / 8 + 0.01f;
                correct = 0;
                for (step = 0; step < 4; step++) {
                    float v = w1 * XOR_X[2 * step] + w2 * XOR_X[2 * step + 1] + b;
                    correct += (v > 0) == (XOR_Y[step] > 0.5f);
                }
                assert_true(correct <= 3);
            }
    mlp_tensor_free(p[0]);
    mlp_tensor_free(p[1]);
    mlp_tensor_free(x);
    mlp_tensor_free(y);
}

static void seed__two_affine_layers_without_activation_are_one(void **state)
{
    /* H = X W1 + b1, O = H W2 + b2 equals X W + b with W = W1 W2, b = b1 W2 + b2 */
    mlp_ctx *ctx = tu_ctx_of(state);
    int64_t sx[2] = {5, 3};
    mlp_tensor *x, *w1, *b1, *w2, *b2, *two, *w, *b, *one;
    int64_t i;
    mlp_ctx_seed(ctx, 5);
    x = mlp_tensor_rand_normal(ctx, 2, sx, 0, 1);
    w1 = tu_param(tu_randn(ctx, 2, 3, 4, 1)), b1 = tu_param(tu_randn(ctx, 1, 4, 0, 1));
    w2 = tu_param(tu_randn(ctx, 2, 4, 2, 1)), b2 = tu_param(tu_randn(ctx, 1, 2, 0, 1));
    two = mlp_linear(mlp_linear(x, w1, b1), w2, b2);
    w = mlp_matmul(w1, w2);
    b = mlp_add(mlp_matmul(b1, w2), b2);
    one = mlp_linear(x, w, b);
    assert_handle(ctx, one);
    assert_int_equal(mlp_tensor_numel(one), 10);
    for (i = 0; i < 10; i++)
        assert_close(mlp_tensor_get(one, i), mlp_tensor_get(two, i), 1e-5, 1e-5);
    mlp_tensor_free(x);
    mlp_tensor_free(w1);
    mlp_tensor_free(b1);
    mlp_tensor_free(w2);
    mlp_tensor_free(b2);
}

static void seed__tanh_plus_one_is_twice_sigmoid_of_2x(void **state)
{
    mlp_ctx *ctx = tu_ctx_of(state);
    float v[201];
    int64_t n = 201, i;
    mlp_tensor *x, *lhs, *rhs, *one;
    for (i = 0; i < n; i++)
        v[i] = -10.0f + 0.1f * (float)i;
    x = mlp_tensor_from(ctx, 1, &n, v);
    one = mlp_tensor_ones(ctx, 0, NULL);
    lhs = mlp_add(mlp_tanh(x), one);
    rhs = mlp_scale(mlp_sigmoid(mlp_scale(x, 2.0f)), 2.0f);
    assert_handle(ctx, rhs);
    for (i = 0; i < n; i++)
        assert_close(mlp_tensor_get(lhs, i), mlp_tensor_get(rhs, i), 1e-6, 1e-6);
    mlp_tensor_free(x);
    mlp_tensor_free(one);
}

static void seed__sigmoid_derivative_peaks_at_a_quarter_and_tanh_at_one(void **state)
{
    mlp_ctx *ctx = tu_ctx_of(state);
    float v[81];
    int64_t n = 81, i, argmax;
    mlp_tensor *x;
    const float *g;
    for (i = 0; i < n; i++)
        v[i] = -4.0f + 0.1f * (float)i; /* v[40] == 0 */
    v[40] = 0.0f;
    x = mlp_tensor_from(ctx, 1, &n, v);
    mlp_tensor_set_requires_grad(x, 1);
    assert_ok(ctx, mlp_backward(mlp_sum(mlp_sigmoid(x)), NULL, 0));
    g = mlp_tensor_cdata(mlp_tensor_grad(x));
    for (argmax = 0, i = 1; i < n; i++)
        if (g[i] > g[argmax])
            argmax = i;
    assert_int_equal(argmax, 40);
    assert_close(g[40], 0.25, 1e-7, 0);
    assert_close(g[0], 0.017662706213291118, 1e-7, 1e-5); /* s(1-s) at -4, by hand with libm */
    mlp_tensor_zero_grad(x);
    assert_ok(ctx, mlp_backward(mlp_sum(mlp_tanh(x)), NULL, 0));
    for (argmax = 0, i = 1; i < n; i++)
        if (g[i] > g[argmax])
            argmax = i;
    assert_int_equal(argmax, 40);
    assert_close(g[40], 1.0, 1e-7, 0);
    assert_close(g[0], 0.0013409506830258655, 1e-7, 1e-4); /* 1 - tanh(4)^2 */
    mlp_tensor_free(x);
}

/* f along x(t) = p + t d for a 2-16-16-1 network with act between layers */
static void piecewise_linear_along_a_line(int use_prelu)
{
    enum { T = 2001 };
    mlp_ctx *ctx = mlp_ctx_new(NULL);
    int64_t sx[2] = {T, 2}, i;
    mlp_tensor *x, *w1, *b1, *w2, *b2, *w3, *b3, *alpha, *h, *f;
    float *xd;
    double step = 6.0 / (T - 1), maxjump = 0;
    int kinks = 0;
    const float av[1] = {0.25f};
    int64_t one = 1;
    mlp_ctx_seed(ctx, use_prelu ? 17 : 13);
    x = mlp_tensor_zeros(ctx, 2, sx);
    xd = mlp_tensor_data(x);
    for (i = 0; i < T; i++) { /* p = (0.3, -0.2), d = (0.8, 0.6) */
        double t = -3.0 + step * (double)i;
        xd[2 * i] = (float)(0.3 + 0.8 * t);
        xd[2 * i + 1] = (float)(-0.2 + 0.6 * t);
    }
    w1 = tu_param(tu_randn(ctx, 2, 2, 16, 1)), b1 = tu_param(tu_randn(ctx, 1, 16, 0, 1));
    w2 = tu_param(tu_randn(ctx, 2, 16, 16, 0.5f)), b2 = tu_param(tu_randn(ctx, 1, 16, 0, 1));
    w3 = tu_param(tu_randn(ctx, 2, 16, 1, 0.5f)), b3 = tu_param(tu_randn(ctx, 1, 1, 0, 1));
    alpha = mlp_tensor_from(ctx, 1, &one, av);
    mlp_ctx_set_grad_enabled(ctx, 0);
    h = mlp_linear(x, w1, b1);
    h = use_prelu ? mlp_prelu(h, alpha) : mlp_relu(h);
    h = mlp_linear(h, w2, b2);
    h = use_prelu ? mlp_prelu(h, alpha) : mlp_relu(h);
    f = mlp_linear(h, w3, b3);
    assert_handle(ctx, f);
    for (i = 1; i < T; i++) {
        double jump = fabs((double)mlp_tensor_get(f, i) - mlp_tensor_get(f, i - 1));
        maxjump = jump > maxjump ? jump : maxjump;
    }
    for (i = 1; i + 1 < T; i++) {
        double d2 = (double)mlp_tensor_get(f, i + 1) - 2.0 * mlp_tensor_get(f, i)
                    + mlp_tensor_get(f, i - 1);
        if (fabs(d2) > 1e-4)
            kinks++;
    }
    /* continuous: steps of 0.003 in t move f by little; piecewise linear:
       second differences vanish except near a few kinks, and there is one */
    assert_true(maxjump < 0.1);
    assert_true(kinks >= 1);
    assert_true(kinks <= 80);
    mlp_tensor_free(x);
    mlp_tensor_free(w1);
    mlp_tensor_free(b1);
    mlp_tensor_free(w2);
    mlp_tensor_free(b2);
    mlp_tensor_free(w3);
    mlp_tensor_free(b3);
    mlp_tensor_free(alpha);
    mlp_ctx_free(ctx);
}

static void seed__relu_mlp_is_continuous_and_piecewise_linear(void **state)
{
    (void)state;
    piecewise_linear_along_a_line(0);
}

static void seed__prelu_mlp_is_continuous_and_piecewise_linear(void **state)
{
    (void)state;
    piecewise_linear_along_a_line(1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        TU_TEST(seed__xor_is_learned_by_a_2_hidden_unit_mlp),
        TU_TEST(seed__xor_is_learned_by_no_linear_model),
        TU_TEST(seed__two_affine_layers_without_activation_are_one),
        TU_TEST(seed__tanh_plus_one_is_twice_sigmoid_of_2x),
        TU_TEST(seed__sigmoid_derivative_peaks_at_a_quarter_and_tanh_at_one),
        cmocka_unit_test(seed__relu_mlp_is_continuous_and_piecewise_linear),
        cmocka_unit_test(seed__prelu_mlp_is_continuous_and_piecewise_linear),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
