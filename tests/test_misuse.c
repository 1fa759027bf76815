/*
 * test_misuse.c - the other bad arguments: mismatched shapes in every op
 * (MLP_ERR_SHAPE naming the op and both shapes), overflow in shape
 * products, tensors from another context, backward through a freed graph,
 * NaN/Inf with finite checks on (naming the op), and labels out of range
 * in cross-entropy. NULL arguments are in test_args.c.
 */
#include "argcheck.h"

static void shape__every_op_refuses_mismatched_shapes_naming_both(void **state)
{
    mlp_ctx *ctx = tu_ctx_of(state);
    mlp_tensor *a23 = tu_ones(ctx, 2, 2, 3), *b45 = tu_ones(ctx, 2, 4, 5),
               *b34 = tu_ones(ctx, 2, 3, 4);
    mlp_tensor *v5 = tu_ones(ctx, 1, 5, 0), *v4 = tu_ones(ctx, 1, 4, 0),
               *v2 = tu_ones(ctx, 1, 2, 0), *v3 = tu_ones(ctx, 1, 3, 0);
    mlp_tensor *a32 = tu_ones(ctx, 2, 3, 2);
    int64_t s3d[3] = {2, 3, 1}, s7[1] = {7};
    mlp_tensor *t3d = mlp_tensor_ones(ctx, 3, s3d);
    assert_ok(ctx, mlp_tensor_fill(v2, 0.0f));
    assert_ok(ctx, mlp_tensor_fill(v3, 0.0f));

    EXPECT_SHAPE2(ctx, mlp_matmul(a23, b45), "mlp_matmul", "[2,3]", "[4,5]");
    EXPECT_SHAPE2(ctx, mlp_linear(a23, b45, NULL), "mlp_linear", "[2,3]", "[4,5]");
    EXPECT_SHAPE2(ctx, mlp_linear(a23, b34, v5), "mlp_linear", "[3,4]", "[5]");
    EXPECT_SHAPE2(ctx, mlp_add(a23, b45), "mlp_add", "[2,3]", "[4,5]");
    EXPECT_SHAPE2(ctx, mlp_add(a23, v4), "mlp_add", "[2,3]", "[4]");
    EXPECT_SHAPE2(ctx, mlp_sub(a23, v4), "mlp_sub", "[2,3]", "[4]");
    EXPECT_SHAPE2(ctx, mlp_mul(a23, v4), "mlp_mul", "[2,3]", "[4]");
    EXPECT_SHAPE2(ctx, mlp_prelu(a23, v4), "mlp_prelu", "[2,3]", "[4]");
    EXPECT_SHAPE2(ctx, mlp_mse(a23, b45), "mlp_mse", "[2,3]", "[4,5]");
    EXPECT_SHAPE2(ctx, mlp_bce_with_logits(a23, a32), "mlp_bce_with_logits", "[2,3]", "[3,2]");
    EXPECT_SHAPE2(ctx, mlp_cross_entropy(a23, v3), "mlp_cross_entropy", "[2,3]", "[3]");
    /* one-input ops: the message names the shape */
    EXPECT_NULL_CODE_KEEP(ctx, mlp_reshape(a23, 1, s7), MLP_ERR_SHAPE);
    EXPECT_MSG(ctx, "mlp_reshape");
    EXPECT_MSG(ctx, "[2,3]");
    EXPECT_NULL_CODE_KEEP(ctx, mlp_transpose(t3d), MLP_ERR_SHAPE);
    EXPECT_MSG(ctx, "mlp_transpose");
    EXPECT_MSG(ctx, "[2,3,1]");
    /* cross-entropy wants 2-D logits */
    EXPECT_NULL_CODE_KEEP(ctx, mlp_cross_entropy(v2, v2), MLP_ERR_SHAPE);
    EXPECT_MSG(ctx, "mlp_cross_entropy");
    mlp_ctx_clear_error(ctx);
    /* nothing was recorded and nothing leaked into the step */
    assert_int_equal(mlp_tape_size(ctx), 0);

    mlp_tape_reset(ctx);
    mlp_tensor_free(a23);
    mlp_tensor_free(b45);
    mlp_tensor_free(b34);
    mlp_tensor_free(v5);
    mlp_tensor_free(v4);
    mlp_tensor_free(v2);
    mlp_tensor_free(v3);
    mlp_tensor_free(a32);
    mlp_tensor_free(t3d);
}

static void shape__products_that_overflow_are_refused(void **state)
{
    mlp_ctx *ctx = tu_ctx_of(state);
    /* 2^32 * 2^32 overflows int64; 2^62 elements overflow the byte size */
    int64_t wrap[2] = {(int64_t)1 << 32, (int64_t)1 << 32};
    int64_t big[1] = {(int64_t)1 << 62};
    int64_t four[4] = {65536, 65536, 65536, 65536};
    int64_t neg[2] = {4, -1};
    float one = 1.0f;
    EXPECT_NULL_CODE(ctx, mlp_tensor_zeros(ctx, 2, wrap), MLP_ERR_OVERFLOW);
    EXPECT_NULL_CODE(ctx, mlp_tensor_ones(ctx, 1, big), MLP_ERR_OVERFLOW);
    EXPECT_NULL_CODE(ctx, mlp_tensor_from(ctx, 4, four, &one), MLP_ERR_OVERFLOW);
    EXPECT_NULL_CODE(ctx, mlp_tensor_rand_uniform(ctx, 2, wrap, 0.0f, 1.0f), MLP_ERR_OVERFLOW);
    EXPECT_NULL_CODE(ctx, mlp_tensor_rand_normal(ctx, 4, four, 0.0f, 1.0f), MLP_ERR_OVERFLOW);
    EXPECT_NULL_CODE(ctx, mlp_tensor_zeros(ctx, 2, neg), MLP_ERR_ARG);
    {
        mlp_tensor *a = tu_ones(ctx, 2, 2, 3);
        mlp_tensor *r = mlp_reshape(a, 2, wrap);
        assert_null(r);
        assert_true(mlp_ctx_errcode(ctx) == MLP_ERR_OVERFLOW
                    || mlp_ctx_errcode(ctx) == MLP_ERR_SHAPE);
        mlp_ctx_clear_error(ctx);
        EXPECT_STATUS(ctx, mlp_tensor_set_shape(a, 2, wrap), MLP_ERR_OVERFLOW);
        mlp_tensor_free(a);
    }
    {
        mlp_model *m = mlp_model_new(ctx);
        float x[2] = {0, 0}, out[2];
        assert_ok(ctx, mlp_model_add_linear(m, 2, 2));
        /* n rows * features overflows */
        EXPECT_STATUS(ctx, mlp_model_predict(m, x, INT64_MAX / 2, out), MLP_ERR_OVERFLOW);
        EXPECT_STATUS(ctx, mlp_model_add_linear(m, 2, (int64_t)1 << 40), MLP_ERR_ARG);
        mlp_model_free(m);
    }
}

/* ---- contexts, graphs, non-finite values, labels ---- */

static void context__tensors_from_two_contexts_do_not_mix(void **state)
{
    mlp_ctx *c1 = mlp_ctx_new(NULL), *c2 = mlp_ctx_new(NULL);
    mlp_tensor *a = tu_ones(c1, 2, 2, 2), *b = tu_ones(c2, 2, 2, 2), *lab = tu_ones(c2, 1, 2, 0);
    mlp_model *m = mlp_model_new(c1);
    (void)state;
    assert_ok(c2, mlp_tensor_fill(lab, 0.0f));
    EXPECT_NULL_CODE_KEEP(c1, mlp_matmul(a, b), MLP_ERR_CONTEXT);
    EXPECT_MSG(c1, "mlp_matmul");
    EXPECT_NULL_CODE(c1, mlp_add(a, b), MLP_ERR_CONTEXT);
    EXPECT_NULL_CODE(c1, mlp_linear(a, b, NULL), MLP_ERR_CONTEXT);
    EXPECT_NULL_CODE(c1, mlp_mse(a, b), MLP_ERR_CONTEXT);
    EXPECT_NULL_CODE(c1, mlp_cross_entropy(a, lab), MLP_ERR_CONTEXT);
    EXPECT_NULL_CODE(c1, mlp_prelu(a, lab), MLP_ERR_CONTEXT);
    assert_ok(c1, mlp_model_add_linear(m, 2, 2));
    EXPECT_NULL_CODE(c1, mlp_model_forward(m, b), MLP_ERR_CONTEXT);
    assert_int_equal(mlp_tape_size(c1), 0);
    assert_int_equal(mlp_tape_size(c2), 0);
    {
        /* an output gradient from another context */
        mlp_tensor *y;
        assert_ok(c1, mlp_tensor_set_requires_grad(a, 1));
        y = mlp_scale(a, 2.0f);
        assert_handle(c1, y);
        EXPECT_STATUS(c1, mlp_backward(y, b, 0), MLP_ERR_CONTEXT);
        assert_null(mlp_tensor_grad(a));
        mlp_tape_reset(c1);
    }
    {
        mlp_tensor *ps[2];
        ps[0] = a;
        ps[1] = b;
        assert_ok(c1, mlp_tensor_set_requires_grad(a, 1));
        assert_ok(c2, mlp_tensor_set_requires_grad(b, 1));
        EXPECT_NULL_CODE(c1, mlp_optim_new(c1, MLP_OPTIM_SGD, ps, 2, 0.1f), MLP_ERR_CONTEXT);
    }
    EXPECT_NULL_CODE(c1, mlp_dataset_new(a, lab), MLP_ERR_CONTEXT);
    mlp_model_free(m);
    mlp_tensor_free(a);
    mlp_tensor_free(b);
    mlp_tensor_free(lab);
    mlp_ctx_free(c1);
    mlp_ctx_free(c2);
}

static void graph__second_backward_without_retain_fails_and_changes_nothing(void **state)
{
    mlp_ctx *ctx = tu_ctx_of(state);
    float xd[3] = {1, -2, 3};
    int64_t s3[1] = {3};
    mlp_tensor *x = mlp_tensor_from(ctx, 1, s3, xd), *y;
    assert_ok(ctx, mlp_tensor_set_requires_grad(x, 1));
    y = mlp_sum(mlp_mul(x, x)); /* d/dx = 2x */
    assert_handle(ctx, y);
    assert_ok(ctx, mlp_backward(y, NULL, 0));
    assert_close(mlp_tensor_get(mlp_tensor_grad(x), 1), -4.0, 0, 0);
    EXPECT_STATUS(ctx, mlp_backward(y, NULL, 0), MLP_ERR_GRAPH_FREED);
    EXPECT_STATUS(ctx, mlp_backward(y, NULL, 1), MLP_ERR_GRAPH_FREED);
    assert_close(mlp_tensor_get(mlp_tensor_grad(x), 1), -4.0, 0, 0);
    /* after a reset the tape is empty; a new graph works */
    mlp_tape_reset(ctx);
    y = mlp_sum(x);
    assert_ok(ctx, mlp_backward(y, NULL, 0));
    assert_close(mlp_tensor_get(mlp_tensor_grad(x), 1), -3.0, 0, 0);
    /* a non-scalar output without a gradient, an output needing no grad */
    y = mlp_scale(x, 2.0f);
    EXPECT_STATUS(ctx, mlp_backward(y, NULL, 0), MLP_ERR_IMPLICIT_GRAD);
    mlp_tape_reset(ctx);
    assert_ok(ctx, mlp_tensor_set_requires_grad(x, 0));
    y = mlp_sum(x);
    EXPECT_STATUS(ctx, mlp_backward(y, NULL, 0), MLP_ERR_NO_GRAD);
    mlp_tape_reset(ctx);
    mlp_tensor_free(x);
}

static void finite__check_finite_stops_at_the_first_nan_naming_the_op(void **state)
{
    mlp_ctx *ctx = tu_ctx_of(state);
    float xd[3] = {1.0f, 0.0f, 2.0f}, big[2] = {3e38f, 3e38f};
    int64_t s3[1] = {3}, s2[1] = {2};
    mlp_tensor *x = mlp_tensor_from(ctx, 1, s3, xd), *b = mlp_tensor_from(ctx, 1, s2, big);
    mlp_tensor *nan_in, *y;
    float nd[3] = {1.0f, NAN, 2.0f};
    /* off (the default): NaN flows through */
    nan_in = mlp_tensor_from(ctx, 1, s3, nd);
    y = mlp_relu(nan_in);
    assert_handle(ctx, y);
    mlp_ctx_set_check_finite(ctx, 1);
    /* an op whose result is NaN: fails naming the op */
    EXPECT_NULL_CODE_KEEP(ctx, mlp_scale(nan_in, 2.0f), MLP_ERR_NONFINITE);
    EXPECT_MSG(ctx, "mlp_scale");
    /* overflow to Inf inside an op */
    EXPECT_NULL_CODE_KEEP(ctx, mlp_add(b, b), MLP_ERR_NONFINITE);
    EXPECT_MSG(ctx, "mlp_add");
    EXPECT_NULL_CODE_KEEP(ctx, mlp_sum(b), MLP_ERR_NONFINITE);
    EXPECT_MSG(ctx, "mlp_sum");
    mlp_ctx_clear_error(ctx);
    /* a gradient that becomes non-finite only in backward: y = 1e38 x is
       finite, but its gradient 1e38 * 10 for an output gradient of 10 is not */
    assert_ok(ctx, mlp_tensor_set_requires_grad(x, 1));
    y = mlp_scale(x, 3e38f); /* 3e38, 0, 6e38: Inf already in forward */
    assert_null(y);
    assert_int_equal(mlp_ctx_errcode(ctx), MLP_ERR_NONFINITE);
    mlp_ctx_clear_error(ctx);
    y = mlp_scale(x, 1e38f); /* 1e38, 0, 2e38: finite */
    assert_handle(ctx, y);
    {
        float gd[3] = {10.0f, 10.0f, 10.0f}; /* gradient 1e39: Inf */
        mlp_tensor *g = mlp_tensor_from(ctx, 1, s3, gd);
        mlp_ctx_clear_error(ctx);
        assert_int_equal(mlp_backward(y, g, 0), MLP_ERR_NONFINITE);
        assert_int_equal(mlp_ctx_errcode(ctx), MLP_ERR_NONFINITE);
        EXPECT_MSG(ctx, "mlp_scale");
        mlp_ctx_clear_error(ctx);
        assert_null(mlp_tensor_grad(x)); /* no gradient changed */
        mlp_tensor_free(g);
    }
    mlp_ctx_set_check_finite(ctx, 0);
    mlp_tape_reset(ctx);
    mlp_tensor_free(x);
    mlp_tensor_free(b);
    mlp_tensor_free(nan_in);
}

static void labels__cross_entropy_refuses_labels_out_of_range(void **state)
{
    mlp_ctx *ctx = tu_ctx_of(state);
    mlp_tensor *logits = tu_ones(ctx, 2, 2, 3), *lab = tu_ones(ctx, 1, 2, 0);
    float bad[][2] = {{0, 3}, {-1, 0}, {0.5f, 1}, {NAN, 0}, {1, INFINITY}, {1e20f, 0}};
    size_t i;
    for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_ok(ctx, mlp_tensor_set_data(lab, bad[i], 2));
        EXPECT_NULL_CODE_KEEP(ctx, mlp_cross_entropy(logits, lab), MLP_ERR_RANGE);
        EXPECT_MSG(ctx, "mlp_cross_entropy");
        mlp_ctx_clear_error(ctx);
    }
    {
        float good[2] = {2, 0};
        mlp_tensor *l;
        assert_ok(ctx, mlp_tensor_set_data(lab, good, 2));
        l = mlp_cross_entropy(logits, lab);
        assert_handle(ctx, l);
        /* uniform logits: loss = log(3) (by hand) */
        assert_close(mlp_tensor_item(l), 1.0986123, 1e-6, 0);
    }
    mlp_tape_reset(ctx);
    mlp_tensor_free(logits);
    mlp_tensor_free(lab);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        TU_TEST(shape__every_op_refuses_mismatched_shapes_naming_both),
        TU_TEST(shape__products_that_overflow_are_refused),
        cmocka_unit_test(context__tensors_from_two_contexts_do_not_mix),
        TU_TEST(graph__second_backward_without_retain_fails_and_changes_nothing),
        TU_TEST(finite__check_finite_stops_at_the_first_nan_naming_the_op),
        TU_TEST(labels__cross_entropy_refuses_labels_out_of_range),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
