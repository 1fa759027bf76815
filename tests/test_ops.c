/*
 * test_ops.c - every differentiable op: forward values against numbers
 * from PyTorch (float64, torch 1.13, pasted as literals) or worked by
 * hand, backward against mlp_gradcheck on random shapes, edge values
 * (ReLU at 0, huge logits), shape errors and NULL chains.
 */
#include "testutil.h"
#include "kern/gemm.h"
#include "kern/vec.h"
#include "kern/vec_fast.h"

static void assert_values(const mlp_tensor *t, const double *want, int64_t n, double tol)
{
    int64_t i;
    assert_int_equal(mlp_tensor_numel(t), n);
    for (i = 0; i < n; i++)
        assert_close(mlp_tensor_get(t, i), want[i], tol, tol);
}

/* ---- forward values ---- */

static void ops__matmul_forward_matches_hand_product(void **state)
{
    /* [[1,2,3],[4,5,6]] . [[1,-1],[0,2],[3,1]] worked by hand */
    static const float av[6] = {1, 2, 3, 4, 5, 6}, bv[6] = {1, -1, 0, 2, 3, 1};
    static const double want[4] = {10, 6, 22, 12};
    mlp_ctx *ctx = tu_ctx_of(state);
    mlp_tensor *a = tu_tensor(ctx, 2, 2, 3, av), *b = tu_tensor(ctx, 2, 3, 2, bv), *c;
    c = mlp_matmul(a, b);
    assert_handle(ctx, c);
    assert_int_equal(mlp_tensor_ndim(c), 2);
    assert_int_equal(mlp_tensor_dim(c, 0), 2);
    assert_int_equal(mlp_tensor_dim(c, 1), 2);
    assert_values(c, want, 4, 1e-6);
    assert_false(mlp_tensor_requires_grad(c));
    mlp_tensor_free(a);
    mlp_tensor_free(b);
}

static void ops__matmul_of_two_vectors_is_their_dot_product(void **state)
{
    static const float av[3] = {1, 2, 3}, bv[3] = {4, -5, 6};
    mlp_ctx *ctx = tu_ctx_of(state);
    mlp_tensor *a = tu_tensor(ctx, 1, 3, 0, av), *b = tu_tensor(ctx, 1, 3, 0, bv), *c;
    c = mlp_matmul(a, b);
    assert_handle(ctx, c);
    assert_int_equal(mlp_tensor_ndim(c), 0);
    assert_close(mlp_tensor_item(c), 12.0, 1e-6, 0); /* 4 - 10 + 18 */
    mlp_tensor_free(a);
    mlp_tensor_free(b);
}

static void ops__linear_forward_and_backward_match_torch(void **state)
{
    /* x [2,3] . w [3,2] + b, backward with ones: torch (see file header) */
    static const float xv[6] = {1, 2, 3, 4, 5, 6}, wv[6] = {1, -1, 0, 2, 3, 1},
                       bv[2] = {0.5f, -0.5f};
    static const double out[4] = {10.5, 5.5, 22.5, 11.5}, gx[6] = {0, 2, 4, 0, 2, 4},
                        gw[6] = {5, 5, 7, 7, 9, 9}, gb[2] = {2, 2};
    mlp_ctx *ctx = tu_ctx_of(state);
    mlp_tensor *x = tu_tensor(ctx, 2, 2, 3, xv), *w = tu_tensor(ctx, 2, 3, 2, wv),
               *b = tu_tensor(ctx, 1, 2, 0, bv);
    mlp_tensor *y, *ones;
    int64_t shape[2] = {2, 2};
    mlp_tensor_set_requires_grad(x, 1);
    mlp_tensor_set_requires_grad(w, 1);
    mlp_tensor_set_requires_grad(b, 1);
    y = mlp_linear(x, w, b);
    assert_handle(ctx, y);
    assert_values(y, out, 4, 1e-6);
    ones = mlp_tensor_ones(ctx, 2, shape);
    assert_ok(ctx, mlp_backward(y, ones, 0));
    assert_values(mlp_tensor_grad(x), gx, 6, 1e-6);
    assert_values(mlp_tensor_grad(w), gw, 6, 1e-6);
    assert_values(mlp_tensor_grad(b), gb, 2, 1e-6);
    mlp_tensor_free(ones);
    mlp_tensor_free(x);
    mlp_tensor_free(w);
    mlp_tensor_free(b);
}

static void ops__add_sub_mul_broadcast_a_row_and_a_scalar(void **state)
{
    static const float av[6] = {1, 2, 3, 4, 5, 6}, rv[3] = {10, 20, 30}, sv[1] = {2};
    /* by hand */
    static const double add[6] = {11, 22, 33, 14, 25, 36}, sub[6] = {-1, 0, 1, 2, 3, 4},
                        mul[6] = {10, 40, 90, 40, 100, 180};
    mlp_ctx *ctx = tu_ctx_of(state);
    mlp_tensor *a = tu_tensor(ctx, 2, 2, 3, av), *row = tu_tensor(ctx, 1, 3, 0, rv),
               *row2 = tu_tensor(ctx, 2, 1, 3, rv), *s = tu_tensor(ctx, 1, 1, 0, sv);
    assert_values(mlp_add(a, row), add, 6, 0);
    assert_values(mlp_add(a, row2), add, 6, 0);
    assert_values(mlp_sub(a, s), sub, 6, 0);
    assert_values(mlp_mul(a, row), mul, 6, 0);
    assert_close(mlp_tensor_item(mlp_sum(a)), 21, 0, 0);
    assert_close(mlp_tensor_item(mlp_mean(a)), 3.5, 1e-7, 0);
    assert_close(mlp_tensor_get(mlp_scale(a, -0.5f), 5), -3, 0, 0);
    mlp_tensor_free(a);
    mlp_tensor_free(row);
    mlp_tensor_free(row2);
    mlp_tensor_free(s);
}

static void ops__reshape_and_transpose_move_elements(void **state)
{
    static const float av[6] = {1, 2, 3, 4, 5, 6};
    static const double tr[6] = {1, 4, 2, 5, 3, 6};
    mlp_ctx *ctx = tu_ctx_of(state);
    mlp_tensor *a = tu_tensor(ctx, 2, 2, 3, av), *t, *r;
    int64_t shape[2] = {3, 2};
    t = mlp_transpose(a);
    assert_handle(ctx, t);
    assert_int_equal(mlp_tensor_dim(t, 0), 3);
    assert_values(t, tr, 6, 0);
    r = mlp_reshape(a, 2, shape);
    assert_handle(ctx, r);
    assert_int_equal(mlp_tensor_dim(r, 0), 3);
    assert_close(mlp_tensor_get(r, 4), 5, 0, 0);
    shape[0] = 4;
    assert_null(mlp_reshape(a, 2, shape));
    assert_int_equal(mlp_ctx_errcode(ctx), MLP_ERR_SHAPE);
    mlp_tensor_free(a);
}

static void ops__mean_of_empty_tensor_is_nan(void **state)
{
    mlp_ctx *ctx = tu_ctx_of(state);
    int64_t shape[1] = {0};
    mlp_tensor *e = mlp_tensor_zeros(ctx, 1, shape);
    assert_true(isnan(mlp_tensor_item(mlp_mean(e))));
    assert_close(mlp_tensor_item(mlp_sum(e)), 0, 0, 0);
    mlp_tensor_free(e);
}

static void ops__activations_match_torch(void **state)
{
    static const float xv[5] = {-2, -0.5f, 0, 0.5f, 2};
    /* torch.sigmoid / tanh / F.gelu / F.leaky_relu(x, 0.1) in float64 */
    static const double sig[5] = {0.11920292202211755, 0.3775406687981454, 0.5, 0.6224593312018546,
                                  0.8807970779778823};
    static const double th[5] = {-0.9640275800758169, -0.46211715726000974, 0.0,
                                 0.46211715726000974, 0.9640275800758169};
    static const double ge[5] = {-0.04550026389635842, -0.15426876936299344, 0.0,
                                 0.34573123063700656, 1.9544997361036416};
    static const double lk[5] = {-0.2, -0.05, 0.0, 0.5, 2.0};
    static const double re[5] = {0, 0, 0, 0.5, 2}, st[5] = {0, 0, 0, 1, 1};
    mlp_ctx *ctx = tu_ctx_of(state);
    mlp_tensor *x = tu_tensor(ctx, 1, 5, 0, xv);
    assert_values(mlp_sigmoid(x), sig, 5, 1e-6);
    assert_values(mlp_tanh(x), th, 5, 1e-6);
    assert_values(mlp_gelu(x), ge, 5, 1e-6);
    assert_values(mlp_leaky_relu(x, 0.1f), lk, 5, 1e-7);
    assert_values(mlp_relu(x), re, 5, 0);
    assert_values(mlp_step(x), st, 5, 0);
    assert_values(mlp_activation(x, MLP_ACT_TANH), th, 5, 1e-6);
    assert_values(mlp_activation(x, MLP_ACT_IDENTITY), (const double[5]){-2, -0.5, 0, 0.5, 2}, 5,
                  0);
    assert_null(mlp_activation(x, MLP_ACT_PRELU));
    assert_int_equal(mlp_ctx_errcode(ctx), MLP_ERR_ARG);
    assert_string_equal(mlp_act_name(MLP_ACT_GELU), "gelu");
    assert_string_equal(mlp_act_name((mlp_act)99), "unknown");
    mlp_tensor_free(x);
}

static void ops__sigmoid_is_finite_and_saturates_for_huge_inputs(void **state)
{
    static const float xv[4] = {-1000, -90, 90, 1000};
    mlp_ctx *ctx = tu_ctx_of(state);
    mlp_tensor *x = tu_tensor(ctx, 1, 4, 0, xv), *y;
    mlp_ctx_set_check_finite(ctx, 1);
    y = mlp_sigmoid(x);
    assert_handle(ctx, y);
    assert_close(mlp_tensor_get(y, 0), 0, 1e-30, 0);
    assert_close(mlp_tensor_get(y, 3), 1, 0, 0);
    mlp_tensor_free(x);
}

static void ops__prelu_forward_and_derivatives_match_torch(void **state)
{
    /* F.prelu(x, alpha=0.25) and .sum().backward() */
    static const float xv[3] = {-2, 3, -1}, av[1] = {0.25f};
    static const double y[3] = {-0.5, 3, -0.25}, gx[3] = {0.25, 1, 0.25}, ga[1] = {-3};
    mlp_ctx *ctx = tu_ctx_of(state);
    mlp_tensor *x = tu_tensor(ctx, 1, 3, 0, xv), *a = tu_tensor(ctx, 1, 1, 0, av), *out;
    mlp_tensor_set_requires_grad(x, 1);
    mlp_tensor_set_requires_grad(a, 1);
    out = mlp_prelu(x, a);
    assert_values(out, y, 3, 0);
    assert_ok(ctx, mlp_backward(mlp_sum(out), NULL, 0));
    assert_values(mlp_tensor_grad(x), gx, 3, 0);
    assert_values(mlp_tensor_grad(a), ga, 1, 0);
    mlp_tensor_free(x);
    mlp_tensor_free(a);
}

static void ops__relu_at_exactly_zero_has_derivative_zero(void **state)
{
    static const float xv[3] = {-1, 0, 1};
    mlp_ctx *ctx = tu_ctx_of(state);
    mlp_tensor *x = tu_tensor(ctx, 1, 3, 0, xv);
    mlp_tensor_set_requires_grad(x, 1);
    assert_ok(ctx, mlp_backward(mlp_sum(mlp_relu(x)), NULL, 0));
    assert_close(mlp_tensor_get(mlp_tensor_grad(x), 0), 0, 0, 0);
    assert_close(mlp_tensor_get(mlp_tensor_grad(x), 1), 0, 0, 0);
    assert_close(mlp_tensor_get(mlp_tensor_grad(x), 2), 1, 0, 0);
    mlp_tensor_zero_grad(x);
    /* the step's gradient is zero everywhere, 0 included */
    assert_ok(ctx, mlp_backward(mlp_sum(mlp_step(x)), NULL, 0));
    assert_close(mlp_tensor_get(mlp_tensor_grad(x), 1), 0, 0, 0);
    assert_close(mlp_tensor_get(mlp_tensor_grad(x), 2), 0, 0, 0);
    mlp_tensor_free(x);
}

static void ops__softmax_and_log_softmax_match_torch(void **state)
{
    static const float lv[6] = {1, 2, 3, -1, 0, 5};
    /* F.softmax / F.log_softmax(dim=-1), float64 */
    static const double sm[6] = {0.09003057317038045,   0.2447284710547976,   0.6652409557748218,
                                 0.0024561149044509535, 0.006676412513376451, 0.9908674725821726};
    static const double lsm[6] = {-2.4076059644443806, -1.4076059644443804, -0.4076059644443804,
                                  -6.0091744845917345, -5.0091744845917345, -0.009174484591734727};
    mlp_ctx *ctx = tu_ctx_of(state);
    mlp_tensor *l = tu_tensor(ctx, 2, 2, 3, lv);
    assert_values(mlp_softmax(l), sm, 6, 1e-6);
    assert_values(mlp_log_softmax(l), lsm, 6, 1e-6);
    mlp_tensor_free(l);
}

static void ops__losses_match_torch(void **state)
{
    static const float lv[6] = {1, 2, 3, -1, 0, 5}, yv[2] = {2, 0}, tv[6] = {0, 1, 1, 0.5f, 0, 1};
    /* F.cross_entropy(l, [2,0]) and its gradient; F.binary_cross_entropy_with_logits(l, t);
       F.mse_loss(l, t): float64 torch */
    static const double ce_grad[6] = {0.04501528658519022,  0.12236423552739882,
                                      -0.1673795221125891,  -0.4987719425477745,
                                      0.003338206256688226, 0.4954337362910863};
    mlp_ctx *ctx = tu_ctx_of(state);
    mlp_tensor *l = tu_tensor(ctx, 2, 2, 3, lv), *y = tu_tensor(ctx, 1, 2, 0, yv),
               *t = tu_tensor(ctx, 2, 2, 3, tv);
    mlp_tensor *ce;
    mlp_tensor_set_requires_grad(l, 1);
    ce = mlp_cross_entropy(l, y);
    assert_handle(ctx, ce);
    assert_int_equal(mlp_tensor_ndim(ce), 0);
    assert_close(mlp_tensor_item(ce), 3.2083902245180576, 1e-6, 1e-6);
    assert_ok(ctx, mlp_backward(ce, NULL, 0));
    assert_values(mlp_tensor_grad(l), ce_grad, 6, 1e-6);
    assert_close(mlp_tensor_item(mlp_bce_with_logits(l, t)), 0.500316877783704, 1e-6, 1e-6);
    assert_close(mlp_tensor_item(mlp_mse(l, t)), 4.041666666666667, 1e-6, 1e-6);
    mlp_tensor_free(l);
    mlp_tensor_free(y);
    mlp_tensor_free(t);
}

static void ops__large_logits_give_finite_loss_and_gradient(void **state)
{
    static const float lv[6] = {1000, 0, -1000, 500, 500, 0}, yv[2] = {1, 0};
    static const float bx[2] = {100, -100}, bt[2] = {0, 1};
    /* F.cross_entropy in float64: loss 500.34657359027995, grad
       [0.5,-0.5,0, -0.25,0.25,~0]; bce_with_logits([100,-100],[0,1]) = 100 */
    static const double grad[6] = {0.5, -0.5, 0, -0.25, 0.25, 0};
    mlp_ctx *ctx = tu_ctx_of(state);
    mlp_tensor *l = tu_tensor(ctx, 2, 2, 3, lv), *y = tu_tensor(ctx, 1, 2, 0, yv);
    mlp_tensor *b = tu_tensor(ctx, 1, 2, 0, bx), *t = tu_tensor(ctx, 1, 2, 0, bt), *ce, *bce;
    mlp_ctx_set_check_finite(ctx, 1);
    mlp_tensor_set_requires_grad(l, 1);
    mlp_tensor_set_requires_grad(b, 1);
    ce = mlp_cross_entropy(l, y);
    assert_handle(ctx, ce);
    assert_close(mlp_tensor_item(ce), 500.34657359027995, 1e-3, 1e-6);
    assert_ok(ctx, mlp_backward(ce, NULL, 0));
    assert_values(mlp_tensor_grad(l), grad, 6, 1e-6);
    bce = mlp_bce_with_logits(b, t);
    assert_handle(ctx, bce);
    assert_close(mlp_tensor_item(bce), 100.0, 1e-4, 0);
    assert_ok(ctx, mlp_backward(bce, NULL, 0));
    /* d/dx = (sigmoid(x) - t) / 2: 0.5 and -0.5 */
    assert_close(mlp_tensor_get(mlp_tensor_grad(b), 0), 0.5, 1e-6, 0);
    assert_close(mlp_tensor_get(mlp_tensor_grad(b), 1), -0.5, 1e-6, 0);
    mlp_tensor_free(l);
    mlp_tensor_free(y);
    mlp_tensor_free(b);
    mlp_tensor_free(t);
}

static void ops__cross_entropy_refuses_bad_labels(void **state)
{
    static const float lv[6] = {1, 2, 3, -1, 0, 5}, bad1[2] = {3, 0}, bad2[2] = {0.5f, 0},
                       bad3[2] = {-1, 0};
    mlp_ctx *ctx = tu_ctx_of(state);
    mlp_tensor *l = tu_tensor(ctx, 2, 2, 3, lv), *y1 = tu_tensor(ctx, 1, 2, 0, bad1),
               *y2 = tu_tensor(ctx, 1, 2, 0, bad2), *y3 = tu_tensor(ctx, 1, 2, 0, bad3),
               *y4 = tu_tensor(ctx, 1, 1, 0, bad1);
    assert_null(mlp_cross_entropy(l, y1));
    assert_int_equal(mlp_ctx_errcode(ctx), MLP_ERR_RANGE);
    assert_non_null(strstr(mlp_ctx_errmsg(ctx), "labels[0]"));
    assert_null(mlp_cross_entropy(l, y2));
    assert_int_equal(mlp_ctx_errcode(ctx), MLP_ERR_RANGE);
    assert_null(mlp_cross_entropy(l, y3));
    assert_int_equal(mlp_ctx_errcode(ctx), MLP_ERR_RANGE);
    assert_null(mlp_cross_entropy(l, y4));
    assert_int_equal(mlp_ctx_errcode(ctx), MLP_ERR_SHAPE);
    mlp_tensor_free(l);
    mlp_tensor_free(y1);
    mlp_tensor_free(y2);
    mlp_tensor_free(y3);
    mlp_tensor_free(y4);
}

static void ops__dropout_zeroes_about_p_and_scales_the_rest(void **state)
{
    mlp_ctx *ctx = tu_ctx_of(state);
    int64_t n = 1000, i, zeros = 0;
    mlp_tensor *x = mlp_tensor_ones(ctx, 1, &n), *y;
    mlp_ctx_seed(ctx, 9);
    mlp_tensor_set_requires_grad(x, 1);
    y = mlp_dropout(x, 0.5f);
    assert_handle(ctx, y);
    for (i = 0; i < n; i++) {
        float v = mlp_tensor_get(y, i);
        assert_true(v == 0.0f || v == 2.0f); /* kept ones scaled by 1/(1-p) */
        zeros += v == 0.0f;
    }
    assert_true(zeros > 420 && zeros < 580); /* binomial(1000, 0.5): 5 sigma */
    /* the gradient is the saved mask: d(sum y)/dx = y here */
    assert_ok(ctx, mlp_backward(mlp_sum(y), NULL, 0));
    for (i = 0; i < n; i++)
        assert_true(mlp_tensor_get(mlp_tensor_grad(x), i) == mlp_tensor_get(y, i));
    assert_null(mlp_dropout(x, 1.0f));
    assert_int_equal(mlp_ctx_errcode(ctx), MLP_ERR_ARG);
    assert_close(mlp_tensor_get(mlp_dropout(x, 0.0f), 7), 1, 0, 0);
    mlp_tensor_free(x);
}

/* ---- errors ---- */

static void ops__shape_error_names_both_shapes(void **state)
{
    mlp_ctx *ctx = tu_ctx_of(state);
    int64_t s1[2] = {2, 3}, s2[2] = {4, 5};
    mlp_tensor *a = mlp_tensor_zeros(ctx, 2, s1), *b = mlp_tensor_zeros(ctx, 2, s2);
    assert_null(mlp_matmul(a, b));
    assert_int_equal(mlp_ctx_errcode(ctx), MLP_ERR_SHAPE);
    assert_non_null(strstr(mlp_ctx_errmsg(ctx), "mlp_matmul"));
    assert_non_null(strstr(mlp_ctx_errmsg(ctx), "[2,3]"));
    assert_non_null(strstr(mlp_ctx_errmsg(ctx), "[4,5]"));
    assert_null(mlp_add(a, b));
    assert_int_equal(mlp_ctx_errcode(ctx), MLP_ERR_SHAPE);
    assert_null(mlp_mse(a, b));
    assert_null(mlp_bce_with_logits(a, b));
    assert_null(mlp_transpose(mlp_sum(a)));
    assert_int_equal(mlp_ctx_errcode(ctx), MLP_ERR_SHAPE);
    mlp_tensor_free(a);
    mlp_tensor_free(b);
}

static void ops__null_input_keeps_the_first_failure_as_cause(void **state)
{
    mlp_ctx *ctx = tu_ctx_of(state);
    int64_t s1[2] = {2, 3}, s2[2] = {4, 5};
    mlp_tensor *a = mlp_tensor_zeros(ctx, 2, s1), *b = mlp_tensor_zeros(ctx, 2, s2), *out;
    out = mlp_mean(mlp_relu(mlp_add(mlp_matmul(a, b), a)));
    assert_null(out);
    assert_int_equal(mlp_ctx_errcode(ctx), MLP_ERR_SHAPE);
    assert_non_null(strstr(mlp_ctx_errmsg(ctx), "mlp_matmul"));
    /* the first op to see NULL with a context names itself, the cause follows */
    assert_non_null(strstr(mlp_ctx_errmsg(ctx), "mlp_add: a is NULL"));
    mlp_ctx_clear_error(ctx);
    assert_null(mlp_sigmoid(NULL));
    assert_null(mlp_linear(NULL, NULL, NULL));
    mlp_tensor_free(a);
    mlp_tensor_free(b);
}

static void ops__mixing_contexts_is_refused(void **state)
{
    mlp_ctx *c1 = mlp_ctx_new(NULL), *c2 = mlp_ctx_new(NULL);
    int64_t s[2] = {2, 2};
    mlp_tensor *a = mlp_tensor_ones(c1, 2, s), *b = mlp_tensor_ones(c2, 2, s);
    (void)state;
    assert_null(mlp_matmul(a, b));
    assert_int_equal(mlp_ctx_errcode(c1), MLP_ERR_CONTEXT);
    assert_null(mlp_linear(a, a, b));
    assert_int_equal(mlp_ctx_errcode(c1), MLP_ERR_CONTEXT);
    mlp_tensor_free(a);
    mlp_tensor_free(b);
    mlp_ctx_free(c1);
    mlp_ctx_free(c2);
}

static void ops__check_finite_names_the_op(void **state)
{
    static const float xv[2] = {1, 0};
    mlp_ctx *ctx = tu_ctx_of(state);
    mlp_tensor *x = tu_tensor(ctx, 1, 2, 0, xv);
    mlp_ctx_set_check_finite(ctx, 1);
    assert_null(mlp_scale(x, INFINITY));
    assert_int_equal(mlp_ctx_errcode(ctx), MLP_ERR_NONFINITE);
    assert_non_null(strstr(mlp_ctx_errmsg(ctx), "mlp_scale"));
    mlp_tensor_free(x);
}

/* ---- gradient checks on random shapes ---- */

typedef struct gc_case {
    const char *name;
    int nin;
    mlp_fn fn;
} gc_case;

static float gc_param = 0.1f;

static mlp_tensor *f_matmul(void *u, mlp_tensor *const *in, int n)
{
    (void)u;
    (void)n;
    return mlp_matmul(in[0], in[1]);
}
static mlp_tensor *f_linear(void *u, mlp_tensor *const *in, int n)
{
    (void)u;
    return mlp_linear(in[0], in[1], n > 2 ? in[2] : NULL);
}
static mlp_tensor *f_add(void *u, mlp_tensor *const *in, int n)
{
    (void)u;
    (void)n;
    return mlp_add(in[0], in[1]);
}
static mlp_tensor *f_sub(void *u, mlp_tensor *const *in, int n)
{
    (void)u;
    (void)n;
    return mlp_sub(in[0], in[1]);
}
static mlp_tensor *f_mul(void *u, mlp_tensor *const *in, int n)
{
    (void)u;
    (void)n;
    return mlp_mul(in[0], in[1]);
}
static mlp_tensor *f_scale(void *u, mlp_tensor *const *in, int n)
{
    (void)u;
    (void)n;
    return mlp_scale(in[0], -1.5f);
}
static mlp_tensor *f_sum(void *u, mlp_tensor *const *in, int n)
{
    (void)u;
    (void)n;
    return mlp_sum(in[0]);
}
static mlp_tensor *f_mean(void *u, mlp_tensor *const *in, int n)
{
    (void)u;
    (void)n;
    return mlp_mean(in[0]);
}
static mlp_tensor *f_transpose(void *u, mlp_tensor *const *in, int n)
{
    (void)u;
    (void)n;
    return mlp_transpose(in[0]);
}
static mlp_tensor *f_reshape(void *u, mlp_tensor *const *in, int n)
{
    int64_t s[1];
    (void)u;
    (void)n;
    s[0] = mlp_tensor_numel(in[0]);
    return mlp_reshape(in[0], 1, s);
}
static mlp_tensor *f_relu(void *u, mlp_tensor *const *in, int n)
{
    (void)u;
    (void)n;
    return mlp_relu(in[0]);
}
static mlp_tensor *f_sigmoid(void *u, mlp_tensor *const *in, int n)
{
    (void)u;
    (void)n;
    return mlp_sigmoid(in[0]);
}
static mlp_tensor *f_tanh(void *u, mlp_tensor *const *in, int n)
{
    (void)u;
    (void)n;
    return mlp_tanh(in[0]);
}
static mlp_tensor *f_leaky(void *u, mlp_tensor *const *in, int n)
{
    (void)u;
    (void)n;
    return mlp_leaky_relu(in[0], gc_param);
}
static mlp_tensor *f_gelu(void *u, mlp_tensor *const *in, int n)
{
    (void)u;
    (void)n;
    return mlp_gelu(in[0]);
}
static mlp_tensor *f_step(void *u, mlp_tensor *const *in, int n)
{
    (void)u;
    (void)n;
    return mlp_step(in[0]);
}
static mlp_tensor *f_identity(void *u, mlp_tensor *const *in, int n)
{
    (void)u;
    (void)n;
    return mlp_activation(in[0], MLP_ACT_IDENTITY);
}
static mlp_tensor *f_prelu(void *u, mlp_tensor *const *in, int n)
{
    (void)u;
    (void)n;
    return mlp_prelu(in[0], in[1]);
}
static mlp_tensor *f_softmax(void *u, mlp_tensor *const *in, int n)
{
    (void)u;
    (void)n;
    return mlp_softmax(in[0]);
}
static mlp_tensor *f_log_softmax(void *u, mlp_tensor *const *in, int n)
{
    (void)u;
    (void)n;
    return mlp_log_softmax(in[0]);
}
static mlp_tensor *f_mse(void *u, mlp_tensor *const *in, int n)
{
    (void)u;
    (void)n;
    return mlp_mse(in[0], in[1]);
}
static mlp_tensor *f_bce(void *u, mlp_tensor *const *in, int n)
{
    (void)u;
    (void)n;
    return mlp_bce_with_logits(in[0], in[1]);
}
static mlp_tensor *f_ce(void *u, mlp_tensor *const *in, int n)
{
    (void)u;
    (void)n;
    return mlp_cross_entropy(in[0], in[1]);
}

/* a random tensor with |values| in [0.1, 1.1): away from the kinks at 0 */
static mlp_tensor *gradcheck_input(mlp_ctx *ctx, int ndim, int64_t d0, int64_t d1)
{
    int64_t shape[2], i;
    mlp_tensor *t;
    shape[0] = d0;
    shape[1] = d1;
    t = mlp_tensor_zeros(ctx, ndim, shape);
    for (i = 0; i < mlp_tensor_numel(t); i++) {
        float v = 0.1f + mlp_ctx_rand_uniform(ctx);
        mlp_tensor_data(t)[i] = mlp_ctx_rand_u32(ctx) & 1u ? v : -v;
    }
    mlp_tensor_set_requires_grad(t, 1);
    return t;
}

static int64_t rdim(mlp_ctx *ctx)
{
    return 1 + (int64_t)(mlp_ctx_rand_u32(ctx) % 5u);
}

static void check(mlp_ctx *ctx, const char *what, mlp_fn fn, mlp_tensor **in, int n)
{
    mlp_status s = mlp_gradcheck(ctx, fn, NULL, in, n, 1e-2f, 2e-3f, 1e-2f);
    int i;
    if (s != MLP_OK) {
        print_error("gradcheck %s: %s\n", what, mlp_ctx_errmsg(ctx));
        fail();
    }
    for (i = 0; i < n; i++) {
        mlp_tensor_free(in[i]);
        in[i] = NULL;
    }
}

/* An intermediate h read by three nodes that each write its gradient
 * buffer whole when they are the first to reach it (the tape leaves that
 * buffer unzeroed for them): relu(h) + tanh(h) + h . c, h = 2 a (at least
 * 0.2 from ReLU's kink, where finite differences are wrong). */
static mlp_tensor *f_shared_intermediate(void *u, mlp_tensor *const *in, int n)
{
    mlp_tensor *h = mlp_scale(in[0], 2.0f);
    mlp_tensor *s = mlp_add(mlp_relu(h), mlp_tanh(h));
    (void)u;
    (void)n;
    return mlp_add(mlp_sum(s), mlp_sum(mlp_matmul(h, in[1])));
}

/* One intermediate as both inputs of a product: its buffer must be
 * zeroed, since the second input's gradient is added to the first's. */
static mlp_tensor *f_square_of_intermediate(void *u, mlp_tensor *const *in, int n)
{
    mlp_tensor *h = mlp_matmul(in[0], in[1]);
    (void)u;
    (void)n;
    return mlp_sum(mlp_matmul(h, h));
}

static void
ops__gradient_buffers_written_first_or_shared_agree_with_finite_differences(void **state)
{
    mlp_ctx *ctx = tu_ctx_of(state);
    mlp_tensor *in[3];
    int rep;
    mlp_ctx_seed(ctx, 11);
    for (rep = 0; rep < 4; rep++) {
        int64_t m = rdim(ctx), k = rdim(ctx), nn = rdim(ctx);
        in[0] = gradcheck_input(ctx, 2, m, k), in[1] = gradcheck_input(ctx, 2, k, nn);
        check(ctx, "relu(h) + tanh(h) + h c", f_shared_intermediate, in, 2);
        in[0] = gradcheck_input(ctx, 2, k, m), in[1] = gradcheck_input(ctx, 2, m, k);
        check(ctx, "h h", f_square_of_intermediate, in, 2);
    }
}

static void ops__every_backward_agrees_with_finite_differences(void **state)
{
    mlp_ctx *ctx = tu_ctx_of(state);
    mlp_tensor *in[3];
    int rep;
    mlp_ctx_seed(ctx, 7);
    for (rep = 0; rep < 4; rep++) {
        int64_t m = rdim(ctx), k = rdim(ctx), nn = rdim(ctx), i;
        in[0] = gradcheck_input(ctx, 2, m, k), in[1] = gradcheck_input(ctx, 2, k, nn);
        check(ctx, "matmul", f_matmul, in, 2);
        in[0] = gradcheck_input(ctx, 1, k, 0), in[1] = gradcheck_input(ctx, 2, k, nn);
        check(ctx, "matmul vector.matrix", f_matmul, in, 2);
        in[0] = gradcheck_input(ctx, 2, m, k), in[1] = gradcheck_input(ctx, 1, k, 0);
        check(ctx, "matmul matrix.vector", f_matmul, in, 2);
        in[0] = gradcheck_input(ctx, 2, m, k), in[1] = gradcheck_input(ctx, 2, k, nn),
        in[2] = gradcheck_input(ctx, 1, nn, 0);
        check(ctx, "linear", f_linear, in, 3);
        in[0] = gradcheck_input(ctx, 1, k, 0), in[1] = gradcheck_input(ctx, 2, k, nn), in[2] = NULL;
        check(ctx, "linear of one sample, no bias", f_linear, in, 2);
        in[0] = gradcheck_input(ctx, 2, m, k), in[1] = gradcheck_input(ctx, 2, m, k);
        check(ctx, "add same shape", f_add, in, 2);
        in[0] = gradcheck_input(ctx, 2, m, k), in[1] = gradcheck_input(ctx, 1, k, 0);
        check(ctx, "add row", f_add, in, 2);
        in[0] = gradcheck_input(ctx, 2, m, k), in[1] = gradcheck_input(ctx, 2, 1, k);
        check(ctx, "sub row [1,n]", f_sub, in, 2);
        in[0] = gradcheck_input(ctx, 2, m, k), in[1] = gradcheck_input(ctx, 0, 0, 0);
        check(ctx, "sub scalar", f_sub, in, 2);
        in[0] = gradcheck_input(ctx, 2, m, k), in[1] = gradcheck_input(ctx, 1, k, 0);
        check(ctx, "mul row", f_mul, in, 2);
        in[0] = gradcheck_input(ctx, 2, m, k), in[1] = gradcheck_input(ctx, 2, m, k);
        check(ctx, "mul same shape", f_mul, in, 2);
        in[0] = gradcheck_input(ctx, 2, m, k);
        check(ctx, "scale", f_scale, in, 1);
        in[0] = gradcheck_input(ctx, 2, m, k);
        check(ctx, "sum", f_sum, in, 1);
        in[0] = gradcheck_input(ctx, 2, m, k);
        check(ctx, "mean", f_mean, in, 1);
        in[0] = gradcheck_input(ctx, 2, m, k);
        check(ctx, "transpose", f_transpose, in, 1);
        in[0] = gradcheck_input(ctx, 2, m, k);
        check(ctx, "reshape", f_reshape, in, 1);
        in[0] = gradcheck_input(ctx, 2, m, k);
        check(ctx, "relu", f_relu, in, 1);
        in[0] = gradcheck_input(ctx, 2, m, k);
        check(ctx, "sigmoid", f_sigmoid, in, 1);
        in[0] = gradcheck_input(ctx, 2, m, k);
        check(ctx, "tanh", f_tanh, in, 1);
        in[0] = gradcheck_input(ctx, 2, m, k);
        check(ctx, "leaky_relu", f_leaky, in, 1);
        in[0] = gradcheck_input(ctx, 2, m, k);
        check(ctx, "gelu", f_gelu, in, 1);
        in[0] = gradcheck_input(ctx, 2, m, k);
        check(ctx, "step", f_step, in, 1);
        in[0] = gradcheck_input(ctx, 2, m, k);
        check(ctx, "identity", f_identity, in, 1);
        in[0] = gradcheck_input(ctx, 2, m, k), in[1] = gradcheck_input(ctx, 1, 1, 0);
        check(ctx, "prelu one alpha", f_prelu, in, 2);
        in[0] = gradcheck_input(ctx, 2, m, k), in[1] = gradcheck_input(ctx, 1, k, 0);
        check(ctx, "prelu alpha per column", f_prelu, in, 2);
        in[0] = gradcheck_input(ctx, 2, m, k);
        check(ctx, "softmax", f_softmax, in, 1);
        in[0] = gradcheck_input(ctx, 2, m, k);
        check(ctx, "log_softmax", f_log_softmax, in, 1);
        in[0] = gradcheck_input(ctx, 2, m, k), in[1] = gradcheck_input(ctx, 2, m, k);
        check(ctx, "mse", f_mse, in, 2);
        in[0] = gradcheck_input(ctx, 2, m, k), in[1] = gradcheck_input(ctx, 2, m, k);
        for (i = 0; i < m * k; i++) /* targets in [0, 1] */
            mlp_tensor_data(in[1])[i] = fabsf(mlp_tensor_data(in[1])[i]) / 1.1f;
        check(ctx, "bce_with_logits", f_bce, in, 2);
        in[0] = gradcheck_input(ctx, 2, m, k), in[1] = mlp_tensor_zeros(ctx, 1, &m);
        for (i = 0; i < m; i++)
            mlp_tensor_data(in[1])[i] = (float)(mlp_ctx_rand_u32(ctx) % (uint32_t)k);
        check(ctx, "cross_entropy", f_ce, in, 2);
    }
    assert_int_equal(mlp_tape_size(ctx), 0);
}

/* A three-layer network and its loss, checked as one function. */
static mlp_tensor *f_net(void *u, mlp_tensor *const *in, int n)
{
    mlp_tensor *h;
    (void)u;
    (void)n;
    h = mlp_tanh(mlp_linear(in[0], in[1], in[2]));
    h = mlp_prelu(mlp_linear(h, in[3], in[4]), in[7]);
    h = mlp_add(mlp_matmul(h, in[5]), in[6]);
    return mlp_cross_entropy(h, in[8]);
}

static void ops__randomized_network_gradients_match_finite_differences(void **state)
{
    mlp_ctx *ctx = tu_ctx_of(state);
    mlp_tensor *in[9];
    int64_t nb = 5, d = 4, h1 = 6, h2 = 5, k = 3, i;
    int j;
    mlp_ctx_seed(ctx, 11);
    in[0] = gradcheck_input(ctx, 2, nb, d);
    mlp_tensor_set_requires_grad(in[0], 0);
    in[1] = gradcheck_input(ctx, 2, d, h1), in[2] = gradcheck_input(ctx, 1, h1, 0);
    in[3] = gradcheck_input(ctx, 2, h1, h2), in[4] = gradcheck_input(ctx, 1, h2, 0);
    in[5] = gradcheck_input(ctx, 2, h2, k), in[6] = gradcheck_input(ctx, 1, k, 0);
    in[7] = gradcheck_input(ctx, 1, 1, 0);
    in[8] = mlp_tensor_zeros(ctx, 1, &nb);
    for (i = 0; i < nb; i++)
        mlp_tensor_data(in[8])[i] = (float)(i % k);
    assert_ok(ctx, mlp_gradcheck(ctx, f_net, NULL, in, 9, 1e-2f, 1e-3f, 2e-2f));
    for (j = 0; j < 9; j++)
        mlp_tensor_free(in[j]);
}

static void gradcheck__finds_a_wrong_gradient_and_restores_inputs(void **state)
{
    /* step(x) near 0: backward says 0, finite differences see the jump */
    static const float xv[2] = {0.001f, 2.0f};
    mlp_ctx *ctx = tu_ctx_of(state);
    mlp_tensor *x = tu_tensor(ctx, 1, 2, 0, xv);
    mlp_tensor_set_requires_grad(x, 1);
    assert_ok(ctx, mlp_backward(mlp_sum(mlp_relu(x)), NULL, 0)); /* grad = [1, 1] */
    assert_int_equal(mlp_gradcheck(ctx, f_step, NULL, &x, 1, 1e-2f, 1e-3f, 1e-2f), MLP_ERR_ARG);
    assert_non_null(strstr(mlp_ctx_errmsg(ctx), "inputs[0] element 0"));
    assert_close(mlp_tensor_get(x, 0), (float)0.001f, 0, 0);
    assert_close(mlp_tensor_get(mlp_tensor_grad(x), 0), 1, 0, 0);
    assert_close(mlp_tensor_get(mlp_tensor_grad(x), 1), 1, 0, 0);
    assert_int_equal(mlp_gradcheck(ctx, f_step, NULL, &x, 1, 0.0f, 1e-3f, 1e-2f), MLP_ERR_ARG);
    {
        /* the caller's step is untouched: its ops stay on the tape and usable */
        mlp_tensor *y = mlp_sum(mlp_scale(x, 3.0f));
        size_t before = mlp_tape_size(ctx);
        assert_ok(ctx, mlp_gradcheck(ctx, f_tanh, NULL, &x, 1, 1e-3f, 1e-3f, 1e-2f));
        assert_int_equal(mlp_tape_size(ctx), before);
        assert_close(mlp_tensor_item(y), 3 * (0.001 + 2.0), 1e-6, 0);
        assert_ok(ctx, mlp_backward(y, NULL, 0));
        assert_close(mlp_tensor_get(mlp_tensor_grad(x), 0), 4, 0, 0); /* 1 + 3 */
    }
    assert_int_equal(mlp_gradcheck(ctx, NULL, NULL, &x, 1, 1e-2f, 1e-3f, 1e-2f), MLP_ERR_NULL);
    mlp_tensor_free(x);
}

/* ---- kernels (white-box: src/kern/vec.h) ---- */

/* An optimizer kernel's n results against the formula's: the same bits
 * where the kernels are built without FMA (x86-64's baseline), else within
 * abs_tol and a relative 1e-5 (the kernel build contracts to FMA). */
static void expect_kernel_result(const float *got, const float *want, int n, double abs_tol)
{
#if defined(__x86_64__)
    (void)abs_tol;
    assert_memory_equal(got, want, (size_t)n * sizeof(float));
#else
    int i;
    for (i = 0; i < n; i++)
        assert_close(got[i], want[i], abs_tol, 1e-5);
#endif
}

/* PyTorch's SGD, one element as the update in optim.c wrote it before it
 * became a kernel. */
static void sgd_ref(float *p, float g, float *buf, const mlp__sgd_k *k)
{
    float d = g;
    if (k->wd != 0.0f)
        d += k->wd * *p;
    if (k->mu != 0.0f) {
        float b = k->first ? d : k->mu * *buf + k->damp * d;
        *buf = b;
        d = k->nesterov ? d + k->mu * b : b;
    }
    *p -= k->lr * d;
}

static void kern__sgd_is_the_formula_element_by_element(void **state)
{
    /* weight decay, momentum (first step or not, Nesterov, dampening):
     * every combination, 37 elements */
    enum { N = 37 };
    float p[N], g[N], buf[N], rp[N], rbuf[N];
    mlp__sgd_k k;
    int variant, i;
    (void)state;
    for (variant = 0; variant < 32; variant++) {
        k.lr = 0.05f;
        k.wd = variant & 1 ? 0.01f : 0.0f;
        k.mu = variant & 2 ? 0.9f : 0.0f;
        k.first = (variant >> 2) & 1;
        k.nesterov = (variant >> 3) & 1;
        k.damp = variant & 16 ? 0.9f : 1.0f;
        for (i = 0; i < N; i++) {
            rp[i] = p[i] = 0.1f * (float)(i % 11) - 0.5f;
            g[i] = 0.07f * (float)((i * 5) % 13) - 0.4f;
            rbuf[i] = buf[i] = 0.02f * (float)(i % 7) - 0.05f;
        }
        mlp__sgd(p, g, k.mu != 0.0f ? buf : NULL, N, &k);
        for (i = 0; i < N; i++)
            sgd_ref(&rp[i], g[i], &rbuf[i], &k);
        expect_kernel_result(p, rp, N, 1e-6);
        expect_kernel_result(buf, rbuf, N, 1e-7);
    }
}

/* PyTorch's Adam, one element as the update in optim.c wrote it before it
 * became a kernel. */
static void adam_ref(float *p, float g, float *m1, float *m2, float *vmax, const mlp__adam_k *k)
{
    float d = g, m, v;
    if (k->decoupled)
        *p *= k->decay;
    else if (k->wd != 0.0f)
        d += k->wd * *p;
    m = *m1 = k->b1 * *m1 + (1.0f - k->b1) * d;
    v = *m2 = k->b2 * *m2 + (1.0f - k->b2) * d * d;
    if (k->amsgrad) {
        if (v > *vmax)
            *vmax = v;
        v = *vmax;
    }
    *p -= k->step_size * (m / (sqrtf(v) / k->bc2_sqrt + k->eps));
}

static void kern__adam_is_the_formula_element_by_element(void **state)
{
    /* 37 elements: whole vectors and a tail; AdamW and Adam, with and
     * without weight decay and amsgrad (without FMA in the kernels, as on
     * x86-64's baseline, the same bits; else within a few rounding steps) */
    enum { N = 37 };
    float p[N], g[N], m1[N], m2[N], vm[N], rp[N], rm1[N], rm2[N], rvm[N];
    mlp__adam_k k;
    int variant, i;
    (void)state;
    for (variant = 0; variant < 8; variant++) {
        k.decoupled = variant & 1;
        k.amsgrad = (variant >> 1) & 1;
        k.wd = variant & 4 ? 0.01f : 0.0f;
        k.decay = 1.0f - 0.003f * k.wd;
        k.b1 = 0.9f;
        k.omb1 = 1.0f - k.b1;
        k.b2 = 0.999f;
        k.omb2 = 1.0f - k.b2;
        k.bc2_sqrt = 0.0632f;
        k.eps = 1e-8f;
        k.step_size = 0.03f;
        for (i = 0; i < N; i++) {
            rp[i] = p[i] = 0.1f * (float)(i % 11) - 0.5f;
            g[i] = 0.07f * (float)((i * 5) % 13) - 0.4f;
            rm1[i] = m1[i] = 0.01f * (float)(i % 7) - 0.03f;
            rm2[i] = m2[i] = 0.001f * (float)(i % 5);
            rvm[i] = vm[i] = i % 2 ? 0.0f : 0.004f; /* larger than some m2 */
        }
        mlp__adam(p, g, m1, m2, k.amsgrad ? vm : NULL, N, &k);
        for (i = 0; i < N; i++)
            adam_ref(&rp[i], g[i], &rm1[i], &rm2[i], &rvm[i], &k);
        expect_kernel_result(p, rp, N, 1e-6);
        expect_kernel_result(m1, rm1, N, 1e-7);
        expect_kernel_result(m2, rm2, N, 1e-9);
        expect_kernel_result(vm, rvm, N, 1e-9);
    }
}

static void kern__bias_relu_is_exact_at_every_width_and_row_count(void **state)
{
    /* narrow rows are walked flat with the bias repeated: every width
     * around that switch, row counts that end a run part way */
    static const int64_t nrows[5] = {1, 2, 17, 100, 257};
    float *y = (float *)malloc(257 * 20 * sizeof(float)),
          *ref = (float *)malloc(257 * 20 * sizeof(float));
    float b[20];
    int64_t cols, ri, i;
    int relu;
    (void)state;
    assert_non_null(y);
    assert_non_null(ref);
    for (i = 0; i < 20; i++)
        b[i] = 0.3f * (float)i - 2.0f;
    for (relu = 0; relu < 2; relu++)
        for (cols = 1; cols <= 20; cols++)
            for (ri = 0; ri < 5; ri++) {
                const int64_t n = nrows[ri] * cols;
                for (i = 0; i < n; i++) {
                    y[i] = (float)((i * 7919) % 61) * 0.1f - 3.0f;
                    ref[i] = y[i] + b[i % cols];
                    if (relu)
                        ref[i] = ref[i] <= 0.0f ? 0.0f : ref[i];
                }
                y[n - 1] = NAN; /* stays NaN, as PyTorch */
                mlp__bias_act_fwd(relu ? MLP_ACT_RELU : MLP_ACT_IDENTITY, y, b, nrows[ri], cols,
                                  0.0f);
                assert_true(isnan(y[n - 1]));
                assert_memory_equal(y, ref, (size_t)(n - 1) * sizeof(float));
            }
    free(y);
    free(ref);
}

static void kern__fused_bias_activation_equals_add_then_activation(void **state)
{
    static const int acts[7] = {MLP_ACT_IDENTITY,   MLP_ACT_RELU, MLP_ACT_SIGMOID, MLP_ACT_TANH,
                                MLP_ACT_LEAKY_RELU, MLP_ACT_GELU, MLP_ACT_STEP};
    float x[12], fused[12], sep[12], b[4], dx1[12], dx2[12], dx3[12], dy[12];
    int a, i;
    (void)state;
    for (i = 0; i < 12; i++) {
        x[i] = (float)(i - 6) * 0.37f;
        dy[i] = 1.0f + 0.1f * (float)i;
    }
    for (i = 0; i < 4; i++)
        b[i] = 0.25f * (float)i - 0.3f;
    for (a = 0; a < 7; a++) {
        memcpy(fused, x, sizeof x);
        mlp__bias_act_fwd(acts[a], fused, b, 3, 4, 0.05f);
        for (i = 0; i < 12; i++)
            sep[i] = x[i] + b[i % 4];
        mlp__act_fwd(acts[a], sep, sep, 12, 0.05f);
        for (i = 0; i < 12; i++)
            assert_close(fused[i], sep[i], 1e-7, 1e-6);
        /* backward from x alone equals backward given y (where both are allowed) */
        memset(dx1, 0, sizeof dx1);
        memset(dx2, 0, sizeof dx2);
        mlp__act_fwd(acts[a], sep, x, 12, 0.05f);
        mlp__act_bwd(acts[a], 0, dx1, dy, x, NULL, 12, 0.05f);
        mlp__act_bwd(acts[a], 0, dx2, dy, x, sep, 12, 0.05f);
        for (i = 0; i < 12; i++)
            assert_close(dx1[i], dx2[i], 1e-7, 1e-6);
        /* into a fresh buffer (set): whatever it held, the same bits as
           adding into zeros */
        for (i = 0; i < 12; i++)
            dx3[i] = i % 2 ? NAN : 1e30f;
        mlp__act_bwd(acts[a], 1, dx3, dy, x, sep, 12, 0.05f);
        assert_memory_equal(dx3, dx2, sizeof dx2);
    }
}

static void kern__logsumexp_and_softmax_survive_huge_values(void **state)
{
    static const float x[3] = {1000.0f, 1000.0f, -1000.0f};
    float y[3];
    (void)state;
    /* log(e^1000 + e^1000) = 1000 + log 2, by hand */
    assert_close(mlp__logsumexp(x, 3), 1000.0 + 0.6931471805599453, 1e-3, 0);
    mlp__softmax_rows(y, x, 1, 3);
    assert_close(y[0], 0.5, 1e-7, 0);
    assert_close(y[2], 0.0, 1e-30, 0);
    mlp__log_softmax_rows(y, x, 1, 3);
    assert_close(y[1], -0.6931471805599453, 1e-5, 0);
    assert_close(y[2], -2000.6931471805599453, 1e-2, 0);
}

/* One call of mlp__ce_rows over rows x k random logits (a NaN in row 1
 * when there are rows enough) against the formula in double, then the
 * same rows in two calls split at `cut` and without a gradient: the same
 * bits (the threads' parts, the forward without a tape). */
static void ce_rows_case(const mlp__gemm_kernel *kern, int64_t rows, int64_t k, int64_t cut)
{
    float *x = (float *)malloc(sizeof(float) * (size_t)(rows * k));
    float *lab = (float *)malloc(sizeof(float) * (size_t)rows);
    float *g = (float *)malloc(sizeof(float) * (size_t)(rows * k));
    float *g2 = (float *)malloc(sizeof(float) * (size_t)(rows * k));
    float *ml = (float *)malloc(sizeof(float) * (size_t)(2 * rows));
    float *ml2 = (float *)malloc(sizeof(float) * (size_t)(2 * rows));
    const float inv = 1.0f / (float)rows;
    uint32_t h = 12345u;
    int64_t r, c;
    assert_true(x && lab && g && g2 && ml && ml2);
    for (r = 0; r < rows * k; r++) {
        h = h * 1664525u + 1013904223u;
        x[r] = (float)(h >> 8) / 16777216.0f * 16.0f - 8.0f; /* [-8, 8) */
    }
    for (r = 0; r < rows; r++)
        lab[r] = (float)(r * 7 % k);
    if (rows > 2)
        x[k + k / 2] = NAN;
    mlp__ce_rows(kern->vexp, ml, g, x, lab, rows, k, inv);
    for (r = 0; r < rows; r++) {
        const float *xr = x + r * k;
        double m = xr[0], s = 0.0, lse;
        int nan = 0;
        for (c = 0; c < k; c++) {
            nan |= isnan(xr[c]);
            m = xr[c] > m ? xr[c] : m;
        }
        if (nan) {
            assert_true(isnan(ml[2 * r + 1]));
            for (c = 0; c < k; c++)
                assert_true(isnan(g[r * k + c]));
            continue;
        }
        for (c = 0; c < k; c++)
            s += exp((double)xr[c] - m);
        lse = log(s);
        assert_true(ml[2 * r] == (float)m);
        assert_close(ml[2 * r + 1], lse, 2e-5, 1e-6);
        for (c = 0; c < k; c++) {
            const double want = (exp((double)xr[c] - m - lse) - (c == (int64_t)lab[r])) * inv;
            assert_close(g[r * k + c], want, 1e-6 * inv, 1e-5);
        }
    }
    mlp__ce_rows(kern->vexp, ml2, g2, x, lab, cut, k, inv);
    mlp__ce_rows(kern->vexp, ml2 + 2 * cut, g2 + cut * k, x + cut * k, lab + cut, rows - cut, k,
                 inv);
    assert_memory_equal(ml2, ml, sizeof(float) * (size_t)(2 * rows));
    assert_memory_equal(g2, g, sizeof(float) * (size_t)(rows * k));
    mlp__ce_rows(kern->vexp, ml2, NULL, x, lab, rows, k, inv);
    assert_memory_equal(ml2, ml, sizeof(float) * (size_t)(2 * rows));
    free(x);
    free(lab);
    free(g);
    free(g2);
    free(ml);
    free(ml2);
}

static void kern__ce_rows_are_the_formula_for_short_and_long_rows(void **state)
{
    /* rows shorter than, as long as and longer than the 1024-float
     * buffer, groups of rows that fill it or not, a NaN row */
    static const int64_t ks[] = {1, 3, 10, 1023, 1024, 1025, 2500};
    static const int64_t rows[] = {1, 7, 300};
    const mlp__gemm_kernel *kern[2];
    size_t a, b;
    int i;
    (void)state;
    kern[0] = mlp__gemm_find("generic");
    kern[1] = mlp__gemm_best();
    for (i = 0; i < 2; i++)
        for (a = 0; a < sizeof ks / sizeof ks[0]; a++)
            for (b = 0; b < sizeof rows / sizeof rows[0]; b++)
                if (ks[a] * rows[b] <= 100000)
                    ce_rows_case(kern[i], rows[b], ks[a], rows[b] / 3);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        TU_TEST(ops__matmul_forward_matches_hand_product),
        TU_TEST(ops__matmul_of_two_vectors_is_their_dot_product),
        TU_TEST(ops__linear_forward_and_backward_match_torch),
        TU_TEST(ops__add_sub_mul_broadcast_a_row_and_a_scalar),
        TU_TEST(ops__reshape_and_transpose_move_elements),
        TU_TEST(ops__mean_of_empty_tensor_is_nan),
        TU_TEST(ops__activations_match_torch),
        TU_TEST(ops__sigmoid_is_finite_and_saturates_for_huge_inputs),
        TU_TEST(ops__prelu_forward_and_derivatives_match_torch),
        TU_TEST(ops__relu_at_exactly_zero_has_derivative_zero),
        TU_TEST(ops__softmax_and_log_softmax_match_torch),
        TU_TEST(ops__losses_match_torch),
        TU_TEST(ops__large_logits_give_finite_loss_and_gradient),
        TU_TEST(ops__cross_entropy_refuses_bad_labels),
        TU_TEST(ops__dropout_zeroes_about_p_and_scales_the_rest),
        TU_TEST(ops__shape_error_names_both_shapes),
        TU_TEST(ops__null_input_keeps_the_first_failure_as_cause),
        cmocka_unit_test(ops__mixing_contexts_is_refused),
        TU_TEST(ops__check_finite_names_the_op),
        TU_TEST(ops__every_backward_agrees_with_finite_differences),
        TU_TEST(ops__gradient_buffers_written_first_or_shared_agree_with_finite_differences),
        TU_TEST(ops__randomized_network_gradients_match_finite_differences),
        TU_TEST(gradcheck__finds_a_wrong_gradient_and_restores_inputs),
        cmocka_unit_test(kern__fused_bias_activation_equals_add_then_activation),
        cmocka_unit_test(kern__bias_relu_is_exact_at_every_width_and_row_count),
        cmocka_unit_test(kern__adam_is_the_formula_element_by_element),
        cmocka_unit_test(kern__sgd_is_the_formula_element_by_element),
        cmocka_unit_test(kern__logsumexp_and_softmax_survive_huge_values),
        cmocka_unit_test(kern__ce_rows_are_the_formula_for_short_and_long_rows),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
