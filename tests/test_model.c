/*
 * test_model.c - layers and the sequential model: each layer's forward
 * against hand-computed values and its backward under mlp_gradcheck,
 * initialisations, shape errors, the summary, the parameter list,
 * train/eval mode with dropout, the tape-free predict path (agreement
 * with forward, no allocation after warm-up), and training: XOR with SGD
 * to zero errors, sin(x) on [-pi, pi] to MSE below 1e-3.
 */
#include "testutil.h"
#include "kern/gemm.h" /* MLP__GEMM_NAMES */

static void model__linear_forward_matches_hand_values(void **state)
{
    mlp_ctx *ctx = tu_ctx_of(state);
    mlp_model *m = mlp_model_new(ctx);
    static const float w[6] = {1, 2, 3, 4, 5, 6}, b[3] = {0.5f, -0.5f, 1};
    static const float xv[4] = {1, -1, 0.5f, 2};
    /* by hand: [1,-1]·W = [-3,-3,-3], + b = [-2.5,-3.5,-2];
                [0.5,2]·W = [8.5,11,13.5], + b = [9,10.5,14.5] */
    static const float expect[6] = {-2.5f, -3.5f, -2.0f, 9.0f, 10.5f, 14.5f};
    mlp_tensor *x, *y;
    int i;
    assert_ok(ctx, mlp_model_add_linear_init(m, 2, 3, MLP_INIT_ZEROS));
    assert_ok(ctx, mlp_tensor_set_data(mlp_model_param(m, 0), w, 6));
    assert_ok(ctx, mlp_tensor_set_data(mlp_model_param(m, 1), b, 3));
    x = tu_mat(ctx, 2, 2, xv);
    y = mlp_model_forward(m, x);
    assert_handle(ctx, y);
    assert_int_equal(mlp_tensor_dim(y, 0), 2);
    assert_int_equal(mlp_tensor_dim(y, 1), 3);
    for (i = 0; i < 6; i++)
        assert_close(mlp_tensor_get(y, i), expect[i], 1e-6, 0);
    /* one sample as a vector [in] gives a vector [out] */
    mlp_tensor_free(x);
    {
        int64_t two = 2;
        x = mlp_tensor_from(ctx, 1, &two, xv + 2);
    }
    y = mlp_model_forward(m, x);
    assert_handle(ctx, y);
    assert_int_equal(mlp_tensor_ndim(y), 1);
    assert_int_equal(mlp_tensor_dim(y, 0), 3);
    assert_close(mlp_tensor_get(y, 2), 14.5, 1e-6, 0);
    mlp_tape_reset(ctx);
    mlp_tensor_free(x);
    mlp_model_free(m);
}

static void model__activation_layers_match_hand_values(void **state)
{
    /* x = [-1, 0, 2] through an identity linear layer then the activation;
       sigmoid/tanh/gelu values from torch 1.13 (float32) */
    static const struct {
        mlp_act act;
        float y[3];
    } cases[] = {
        {MLP_ACT_IDENTITY, {-1.0f, 0.0f, 2.0f}},
        {MLP_ACT_RELU, {0.0f, 0.0f, 2.0f}},
        {MLP_ACT_SIGMOID, {0.2689414322376251f, 0.5f, 0.8807970285415649f}},
        {MLP_ACT_TANH, {-0.7615941762924194f, 0.0f, 0.9640275835990906f}},
        {MLP_ACT_LEAKY_RELU, {-0.01f, 0.0f, 2.0f}},
        {MLP_ACT_GELU, {-0.1586552858352661f, 0.0f, 1.9544999599456787f}},
        {MLP_ACT_STEP, {0.0f, 0.0f, 1.0f}},
        {MLP_ACT_PRELU, {-0.25f, 0.0f, 2.0f}}, /* alpha starts at 0.25 */
    };
    static const float eye[9] = {1, 0, 0, 0, 1, 0, 0, 0, 1}, xv[3] = {-1, 0, 2};
    size_t c;
    int i;
    (void)state;
    for (c = 0; c < sizeof cases / sizeof *cases; c++) {
        mlp_ctx *ctx = mlp_ctx_new(NULL);
        mlp_model *m = mlp_model_new(ctx);
        mlp_tensor *x = tu_mat(ctx, 1, 3, xv), *y;
        float out[3];
        assert_ok(ctx, mlp_model_add_linear_init(m, 3, 3, MLP_INIT_ZEROS));
        assert_ok(ctx, mlp_tensor_set_data(mlp_model_param(m, 0), eye, 9));
        assert_ok(ctx, mlp_model_add_act(m, cases[c].act));
        y = mlp_model_forward(m, x);
        assert_handle(ctx, y);
        assert_ok(ctx, mlp_model_predict(m, xv, 1, out));
        for (i = 0; i < 3; i++) {
            assert_close(mlp_tensor_get(y, i), cases[c].y[i], 1e-6, 1e-6);
            assert_close(out[i], cases[c].y[i], 1e-6, 1e-6);
        }
        assert_int_equal(mlp_model_num_params(m), cases[c].act == MLP_ACT_PRELU ? 3 : 2);
        mlp_tape_reset(ctx);
        mlp_tensor_free(x);
        mlp_model_free(m);
        mlp_ctx_free(ctx);
    }
}

static void model__backward_passes_gradcheck_for_every_layer(void **state)
{
    static const mlp_act acts[] = {MLP_ACT_TANH,       MLP_ACT_SIGMOID, MLP_ACT_RELU,
                                   MLP_ACT_LEAKY_RELU, MLP_ACT_GELU,    MLP_ACT_PRELU,
                                   MLP_ACT_IDENTITY};
    size_t a;
    (void)state;
    for (a = 0; a < sizeof acts / sizeof *acts; a++) {
        mlp_ctx *ctx = mlp_ctx_new(NULL);
        mlp_model *m = mlp_model_new(ctx);
        int64_t shape[2] = {4, 3};
        mlp_tensor *x;
        int i;
        mlp_ctx_seed(ctx, 11 + a);
        assert_ok(ctx, mlp_model_add_linear(m, 3, 5));
        assert_ok(ctx, mlp_model_add_act(m, acts[a]));
        assert_ok(ctx, mlp_model_add_dropout(m, 0.0f));
        assert_ok(ctx, mlp_model_add_linear(m, 5, 2));
        x = mlp_tensor_rand_uniform(ctx, 2, shape, -2.0f, 2.0f);
        /* keep ReLU-like kinks away from finite-difference steps */
        for (i = 0; i < 12; i++)
            if (fabsf(mlp_tensor_data(x)[i]) < 0.05f)
                mlp_tensor_data(x)[i] = 0.5f;
        tu_gradcheck_model(ctx, m, x);
        mlp_tensor_free(x);
        mlp_model_free(m);
        mlp_ctx_free(ctx);
    }
}

/* One backward of sum(out * out) from out, the gradients of m's
 * parameters and of x copied into g (x requires grad), out into y. */
static void grads_of(mlp_ctx *ctx, mlp_model *m, mlp_tensor *x, mlp_tensor *out, float *y, float *g)
{
    int i, n = mlp_model_num_params(m);
    int64_t at = 0;
    assert_non_null(out);
    memcpy(y, mlp_tensor_data(out), (size_t)mlp_tensor_numel(out) * sizeof(float));
    assert_ok(ctx, mlp_backward(mlp_sum(mlp_mul(out, out)), NULL, 0));
    for (i = 0; i <= n; i++) {
        mlp_tensor *p = i < n ? mlp_model_param(m, i) : x;
        mlp_tensor *gr = mlp_tensor_grad(p);
        int64_t k = mlp_tensor_numel(p);
        if (!mlp_tensor_requires_grad(p))
            continue;
        assert_non_null(gr);
        memcpy(g + at, mlp_tensor_data(gr), (size_t)k * sizeof(float));
        at += k;
        assert_ok(ctx, mlp_tensor_zero_grad(p));
    }
    mlp_tape_reset(ctx);
}

/* The model runs a linear layer and the ReLU after it as one op: its
 * output and every gradient have the bits of mlp_linear then mlp_relu,
 * at 1 and 2 threads, with a bias, without one, and with a frozen one. */
static void model__linear_then_relu_gives_the_bits_of_the_two_ops(void **state)
{
    enum { N = 130, IN = 37, H1 = 300, H2 = 70, OUT = 9 };
    int threads, frozen;
    (void)state;
    for (threads = 1; threads <= 2; threads++)
        for (frozen = 0; frozen <= 1; frozen++) {
            mlp_ctx *ctx = mlp_ctx_new(NULL);
            mlp_model *m = mlp_model_new(ctx);
            int64_t shape[2] = {N, IN}, total = N * IN, ny = N * OUT;
            mlp_tensor *x, *h, *w[3], *b[3];
            float *y1, *y2, *g1, *g2;
            int i, zeros = 0;
            assert_ok(ctx, mlp_ctx_set_threads(ctx, threads));
            mlp_ctx_seed(ctx, 5 + threads + frozen);
            assert_ok(ctx, mlp_model_add_linear(m, IN, H1));
            assert_ok(ctx, mlp_model_add_act(m, MLP_ACT_RELU));
            assert_ok(ctx, mlp_model_add_linear_nobias(m, H1, H2, MLP_INIT_DEFAULT));
            assert_ok(ctx, mlp_model_add_act(m, MLP_ACT_RELU));
            assert_ok(ctx, mlp_model_add_linear(m, H2, OUT));
            w[0] = mlp_model_param(m, 0);
            b[0] = mlp_model_param(m, 1);
            w[1] = mlp_model_param(m, 2);
            b[1] = NULL;
            w[2] = mlp_model_param(m, 3);
            b[2] = mlp_model_param(m, 4);
            if (frozen)
                assert_ok(ctx, mlp_tensor_set_requires_grad(b[0], 0));
            total += IN * H1 + H1 * H2 + H2 * OUT + OUT + (frozen ? 0 : H1);
            x = mlp_tensor_rand_uniform(ctx, 2, shape, -2.0f, 2.0f);
            assert_ok(ctx, mlp_tensor_set_requires_grad(x, 1));
            y1 = (float *)malloc((size_t)ny * sizeof(float));
            y2 = (float *)malloc((size_t)ny * sizeof(float));
            g1 = (float *)malloc((size_t)total * sizeof(float));
            g2 = (float *)malloc((size_t)total * sizeof(float));
            assert_true(y1 && y2 && g1 && g2);
            grads_of(ctx, m, x, mlp_model_forward(m, x), y1, g1);
            h = mlp_relu(mlp_linear(x, w[0], b[0]));
            for (i = 0; h && i < N * H1; i++)
                zeros += mlp_tensor_data(h)[i] == 0.0f;
            assert_in_range(zeros, N * H1 / 10, N * H1 - N * H1 / 10); /* both sides of the kink */
            h = mlp_relu(mlp_linear(h, w[1], b[1]));
            grads_of(ctx, m, x, mlp_linear(h, w[2], b[2]), y2, g2);
            assert_memory_equal(y1, y2, (size_t)ny * sizeof(float));
            assert_memory_equal(g1, g2, (size_t)total * sizeof(float));
            free(y1);
            free(y2);
            free(g1);
            free(g2);
            mlp_tensor_free(x);
            mlp_model_free(m);
            mlp_ctx_free(ctx);
        }
}

static void init__default_and_chosen_initialisations_keep_their_bounds(void **state)
{
    mlp_ctx *ctx = tu_ctx_of(state);
    mlp_model *m = mlp_model_new(ctx);
    const float *w, *b;
    double bound, s2;
    int i;
    mlp_ctx_seed(ctx, 3);
    /* nn.Linear(100, 50): W, b ~ U(-1/sqrt(100), 1/sqrt(100)) = U(-0.1, 0.1) */
    assert_ok(ctx, mlp_model_add_linear(m, 100, 50));
    w = mlp_tensor_cdata(mlp_model_param(m, 0));
    b = mlp_tensor_cdata(mlp_model_param(m, 1));
    for (i = 0, s2 = 0; i < 5000; i++) {
        assert_true(fabsf(w[i]) <= 0.1f);
        s2 += (double)w[i] * w[i];
    }
    /* variance of U(-a, a) is a^2/3 = 0.00333 */
    assert_close(s2 / 5000, 0.01 / 3, 0.0005, 0);
    for (i = 0; i < 50; i++)
        assert_true(fabsf(b[i]) <= 0.1f);
    assert_true(fabsf(b[0]) > 0 || fabsf(b[1]) > 0);
    /* Kaiming uniform: a = sqrt(6/50); bias zero */
    assert_ok(ctx, mlp_model_add_linear_init(m, 50, 40, MLP_INIT_KAIMING_UNIFORM));
    w = mlp_tensor_cdata(mlp_model_param(m, 2));
    bound = sqrt(6.0 / 50);
    for (i = 0; i < 2000; i++)
        assert_true(fabs(w[i]) <= bound);
    assert_close(mlp_tensor_get(mlp_model_param(m, 3), 7), 0.0, 0, 0);
    /* Xavier normal: std sqrt(2/(40+60)) */
    assert_ok(ctx, mlp_model_add_linear_init(m, 40, 60, MLP_INIT_XAVIER_NORMAL));
    w = mlp_tensor_cdata(mlp_model_param(m, 4));
    for (i = 0, s2 = 0; i < 2400; i++)
        s2 += (double)w[i] * w[i];
    assert_close(s2 / 2400, 0.02, 0.003, 0);
    /* Xavier uniform a = sqrt(6/(60+10)); Kaiming normal std sqrt(2/10); zeros */
    assert_ok(ctx, mlp_model_add_linear_init(m, 60, 10, MLP_INIT_XAVIER_UNIFORM));
    w = mlp_tensor_cdata(mlp_model_param(m, 6));
    for (i = 0; i < 600; i++)
        assert_true(fabs(w[i]) <= sqrt(6.0 / 70));
    assert_ok(ctx, mlp_model_add_linear_init(m, 10, 1000, MLP_INIT_KAIMING_NORMAL));
    w = mlp_tensor_cdata(mlp_model_param(m, 8));
    for (i = 0, s2 = 0; i < 10000; i++)
        s2 += (double)w[i] * w[i];
    assert_close(s2 / 10000, 0.2, 0.02, 0);
    assert_ok(ctx, mlp_model_add_linear_init(m, 1000, 2, MLP_INIT_ZEROS));
    assert_close(mlp_tensor_get(mlp_model_param(m, 10), 1999), 0.0, 0, 0);
    assert_int_equal(mlp_model_add_linear_init(m, 2, 2, (mlp_init)42), MLP_ERR_ARG);
    mlp_model_free(m);
}

static void model__bad_layers_and_inputs_are_refused(void **state)
{
    mlp_ctx *ctx = mlp_ctx_new(NULL), *other = mlp_ctx_new(NULL);
    mlp_model *m = mlp_model_new(ctx);
    static const float xv[10] = {0};
    mlp_tensor *x, *xo;
    (void)state;
    x = tu_mat(ctx, 2, 5, xv);
    xo = tu_mat(other, 2, 5, xv);
    assert_null(mlp_model_forward(m, x));
    assert_int_equal(mlp_ctx_errcode(ctx), MLP_ERR_STATE);
    assert_ok(ctx, mlp_model_add_linear(m, 2, 3));
    assert_int_equal(mlp_model_add_linear(m, 4, 1), MLP_ERR_SHAPE);
    assert_non_null(strstr(mlp_ctx_errmsg(ctx), "in = 4"));
    assert_int_equal(mlp_model_add_linear(m, 3, 0), MLP_ERR_ARG);
    assert_int_equal(mlp_model_add_linear(m, -3, 2), MLP_ERR_ARG);
    assert_int_equal(mlp_model_add_act(m, (mlp_act)99), MLP_ERR_ARG);
    assert_int_equal(mlp_model_add_dropout(m, 1.0f), MLP_ERR_ARG);
    assert_int_equal(mlp_model_add_dropout(m, -0.1f), MLP_ERR_ARG);
    assert_int_equal(mlp_model_add_dropout(m, NAN), MLP_ERR_ARG);
    assert_int_equal(mlp_model_num_layers(m), 1); /* failures added nothing */
    assert_int_equal(mlp_model_num_params(m), 2);
    assert_null(mlp_model_forward(m, x));
    assert_int_equal(mlp_ctx_errcode(ctx), MLP_ERR_SHAPE);
    assert_null(mlp_model_forward(m, xo));
    assert_int_equal(mlp_ctx_errcode(ctx), MLP_ERR_CONTEXT);
    mlp_ctx_clear_error(ctx); /* a NULL input keeps an earlier failure as the cause */
    assert_null(mlp_model_forward(m, NULL));
    assert_int_equal(mlp_ctx_errcode(ctx), MLP_ERR_NULL);
    assert_int_equal(mlp_model_add_linear(NULL, 1, 1), MLP_ERR_NULL);
    assert_null(mlp_model_forward(NULL, x));
    assert_int_equal(mlp_model_predict(m, NULL, 1, NULL), MLP_ERR_NULL);
    assert_int_equal(mlp_model_predict(m, xv, -1, (float *)xv), MLP_ERR_ARG);
    assert_int_equal(mlp_model_layer_kind(m, 1), -1);
    assert_null(mlp_model_param(m, 2));
    mlp_model_free(NULL);
    mlp_tensor_free(x);
    mlp_tensor_free(xo);
    mlp_model_free(m);
    mlp_ctx_free(ctx);
    mlp_ctx_free(other);
}

static void model__parameters_are_listed_in_layer_order(void **state)
{
    mlp_ctx *ctx = tu_ctx_of(state);
    mlp_model *m = mlp_model_new(ctx);
    assert_int_equal(mlp_model_in_features(m), 0);
    assert_ok(ctx, mlp_model_add_linear(m, 2, 3));
    assert_ok(ctx, mlp_model_add_act(m, MLP_ACT_PRELU));
    assert_ok(ctx, mlp_model_add_dropout(m, 0.1f));
    assert_ok(ctx, mlp_model_add_linear(m, 3, 1));
    assert_int_equal(mlp_model_num_layers(m), 4);
    assert_int_equal(mlp_model_layer_kind(m, 0), MLP_LAYER_LINEAR);
    assert_int_equal(mlp_model_layer_kind(m, 1), MLP_LAYER_ACT);
    assert_int_equal(mlp_model_layer_kind(m, 2), MLP_LAYER_DROPOUT);
    assert_int_equal(mlp_model_num_params(m), 5); /* W1 b1 alpha W2 b2 */
    assert_int_equal(mlp_tensor_numel(mlp_model_param(m, 0)), 6);
    assert_int_equal(mlp_tensor_dim(mlp_model_param(m, 0), 0), 2); /* W stored [in,out] */
    assert_int_equal(mlp_tensor_numel(mlp_model_param(m, 1)), 3);
    assert_close(mlp_tensor_get(mlp_model_param(m, 2), 0), 0.25, 0, 0);
    assert_int_equal(mlp_tensor_numel(mlp_model_param(m, 3)), 3);
    assert_int_equal(mlp_model_param_numel(m), 6 + 3 + 1 + 3 + 1);
    assert_true(mlp_tensor_requires_grad(mlp_model_param(m, 4)));
    assert_true(mlp_tensor_is_leaf(mlp_model_param(m, 4)));
    assert_int_equal(mlp_model_in_features(m), 2);
    assert_int_equal(mlp_model_out_features(m), 1);
    mlp_model_free(m);
}

static void model__summary_lists_layers_shapes_and_counts(void **state)
{
    mlp_ctx *ctx = mlp_ctx_new(NULL);
    mlp_model *m = mlp_model_new(ctx);
    char buf[1024], small[16];
    size_t n, n2;
    (void)state;
    assert_ok(ctx, mlp_model_add_linear(m, 784, 256));
    assert_ok(ctx, mlp_model_add_act(m, MLP_ACT_RELU));
    assert_ok(ctx, mlp_model_add_dropout(m, 0.5f));
    assert_ok(ctx, mlp_model_add_linear(m, 256, 10));
    n = mlp_model_summary(m, buf, sizeof buf);
    assert_int_equal(n, strlen(buf));
    assert_non_null(strstr(buf, "linear(784 -> 256)"));
    assert_non_null(strstr(buf, "[n,256]"));
    assert_non_null(strstr(buf, "200960")); /* 784*256 + 256 */
    assert_non_null(strstr(buf, "relu"));
    assert_non_null(strstr(buf, "dropout(p=0.5)"));
    assert_non_null(strstr(buf, "2570")); /* 256*10 + 10 */
    assert_non_null(strstr(buf, "total parameters: 203530"));
    /* like snprintf: truncated, terminated, same length returned */
    n2 = mlp_model_summary(m, small, sizeof small);
    assert_int_equal(n2, n);
    assert_int_equal(strlen(small), sizeof small - 1);
    assert_int_equal(mlp_model_summary(m, NULL, 0), n);
    assert_int_equal(mlp_model_summary(NULL, buf, sizeof buf), 0);
    mlp_model_free(m);
    mlp_ctx_free(ctx);
}

static void model__dropout_acts_only_in_training_mode(void **state)
{
    mlp_ctx *ctx = tu_ctx_of(state);
    mlp_model *m = mlp_model_new(ctx);
    int64_t shape[2] = {50, 4};
    mlp_tensor *x = mlp_tensor_ones(ctx, 2, shape), *y;
    static const float eye[16] = {1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1};
    int i, zeros = 0, twos = 0;
    float out[200];
    assert_ok(ctx, mlp_model_add_linear_init(m, 4, 4, MLP_INIT_ZEROS));
    mlp_tensor_set_data(mlp_model_param(m, 0), eye, 16);
    assert_ok(ctx, mlp_model_add_dropout(m, 0.5f));
    assert_int_equal(mlp_model_is_training(m), 1);
    y = mlp_model_forward(m, x);
    assert_handle(ctx, y);
    for (i = 0; i < 200; i++) {
        float v = mlp_tensor_get(y, i);
        assert_true(v == 0.0f || v == 2.0f); /* kept values scaled by 1/(1-p) */
        zeros += v == 0.0f;
        twos += v == 2.0f;
    }
    assert_true(zeros > 50 && twos > 50);
    assert_ok(ctx, mlp_model_set_training(m, 0));
    assert_int_equal(mlp_model_is_training(m), 0);
    y = mlp_model_forward(m, x);
    for (i = 0; i < 200; i++)
        assert_close(mlp_tensor_get(y, i), 1.0, 0, 0);
    /* predict never drops, whatever the mode */
    assert_ok(ctx, mlp_model_set_training(m, 1));
    assert_ok(ctx, mlp_model_predict(m, mlp_tensor_cdata(x), 50, out));
    for (i = 0; i < 200; i++)
        assert_close(out[i], 1.0, 0, 0);
    mlp_tape_reset(ctx);
    mlp_tensor_free(x);
    mlp_model_free(m);
}

/* every kernel name; a CPU or build has some of them */
static const char *const kernels[MLP__GEMM_NUM_NAMES] = MLP__GEMM_NAMES;

/* predict of x [n,in] row by row (each call one row: the row layout) */
static void predict_alone(mlp_ctx *ctx, mlp_model *m, const float *x, int64_t n, int64_t in,
                          int64_t out, float *y)
{
    int64_t i;
    for (i = 0; i < n; i++)
        assert_ok(ctx, mlp_model_predict(m, x + i * in, 1, y + i * out));
}

/* A net of narrow layers (every width below a vector) runs a batch
 * transposed, feature by feature: the same sums in the same order, so the
 * vector kernels give each row the bits it has alone; the portable kernel
 * (whose compiler may fuse multiply-adds in one loop and not another)
 * agrees to rounding. */
static void predict__narrow_layers_give_each_row_its_bits_alone(void **state)
{
    mlp_ctx *ctx = tu_ctx_of(state);
    static const int64_t ns[] = {1000, 300, 64, 40, 33, 32, 31, 5, 3, 2};
    const int exact = strcmp(mlp_ctx_gemm_kernel(ctx), "generic") != 0;
    int net, k;
    mlp_ctx_seed(ctx, 11);
    for (net = 0; net < 2; net++) {
        mlp_model *m = mlp_model_new(ctx);
        const int64_t in = net ? 3 : 2, out = net ? 2 : 1;
        int64_t shape[2] = {1000, 0}, i;
        mlp_tensor *x;
        float *got = (float *)malloc(1000 * 2 * sizeof(float));
        float *ref = (float *)malloc(1000 * 2 * sizeof(float));
        assert_non_null(got);
        assert_non_null(ref);
        shape[1] = in;
        if (net == 0) { /* 2-3-1, ReLU: narrow for every kernel (4 floats) */
            assert_ok(ctx, mlp_model_add_linear(m, 2, 3));
            assert_ok(ctx, mlp_model_add_act(m, MLP_ACT_RELU));
            assert_ok(ctx, mlp_model_add_linear(m, 3, 1));
        } else { /* 3-7-5-2 (AVX2, AVX-512): leaky ReLU, dropout, no bias,
                    tanh, a pReLU alpha per feature, sigmoid */
            assert_ok(ctx, mlp_model_add_linear(m, 3, 7));
            assert_ok(ctx, mlp_model_add_leaky_relu(m, 0.1f));
            assert_ok(ctx, mlp_model_add_dropout(m, 0.3f));
            assert_ok(ctx, mlp_model_add_linear_nobias(m, 7, 5, MLP_INIT_DEFAULT));
            assert_ok(ctx, mlp_model_add_act(m, MLP_ACT_TANH));
            assert_ok(ctx, mlp_model_add_prelu(m, 5));
            for (i = 0; i < 5; i++) /* parameters: W, b, W, alphas, ... */
                mlp_tensor_data(mlp_model_param(m, 3))[i] = 0.1f * (float)(i + 1);
            assert_ok(ctx, mlp_model_add_linear(m, 5, 2));
            assert_ok(ctx, mlp_model_add_act(m, MLP_ACT_SIGMOID));
        }
        x = mlp_tensor_rand_uniform(ctx, 2, shape, -2.0f, 2.0f);
        assert_handle(ctx, x);
        predict_alone(ctx, m, mlp_tensor_cdata(x), 1000, in, out, ref);
        for (k = 0; k < (int)(sizeof ns / sizeof ns[0]); k++) {
            assert_ok(ctx, mlp_model_predict(m, mlp_tensor_cdata(x), ns[k], got));
            for (i = 0; i < ns[k] * out; i++) {
                if (exact)
                    assert_memory_equal(&got[i], &ref[i], sizeof(float));
                else
                    assert_close(got[i], ref[i], 1e-6, 1e-6);
            }
        }
        /* the rows are not all alike: the net is not constant */
        assert_true(ref[0] != ref[out] || ref[out] != ref[2 * out]);
        mlp_tensor_free(x);
        mlp_model_free(m);
        free(got);
        free(ref);
    }
}

/* One row goes through the row kernel, which adds a linear layer's bias
 * and ReLU before its store (other activations after it): the bits of
 * the same row in a batch, whose products run as tiles with the bias and
 * activation in a pass of their own, for every kernel this CPU has (the
 * portable one, which has no row kernel, to rounding); two or three rows
 * the bits of each alone. Widths leave
 * ragged vectors at every kernel's width; layers with and without bias;
 * a NaN stays NaN through ReLU (and is named under finite checks); a
 * layer wider than a one-row call keeps on the stack (300) agrees too. */
static void predict__one_to_three_rows_get_the_bits_of_their_rows_in_a_batch(void **state)
{
    mlp_ctx *ctx = tu_ctx_of(state);
    mlp_model *m[2];
    float x[40 * 30], got[40 * 7], ref[40 * 7];
    int64_t i, r, c;
    int net, kn;
    mlp_ctx_seed(ctx, 23);
    for (net = 0; net < 2; net++)
        m[net] = mlp_model_new(ctx);
    assert_ok(ctx, mlp_model_add_linear(m[0], 30, 37));
    assert_ok(ctx, mlp_model_add_act(m[0], MLP_ACT_RELU));
    assert_ok(ctx, mlp_model_add_linear(m[0], 37, 19));
    assert_ok(ctx, mlp_model_add_leaky_relu(m[0], 0.05f));
    assert_ok(ctx, mlp_model_add_linear_nobias(m[0], 19, 21, MLP_INIT_DEFAULT));
    assert_ok(ctx, mlp_model_add_act(m[0], MLP_ACT_SIGMOID));
    assert_ok(ctx, mlp_model_add_linear(m[0], 21, 17));
    assert_ok(ctx, mlp_model_add_act(m[0], MLP_ACT_GELU));
    assert_ok(ctx, mlp_model_add_linear(m[0], 17, 5));
    assert_ok(ctx, mlp_model_add_prelu(m[0], 5));
    assert_ok(ctx, mlp_model_add_linear_nobias(m[0], 5, 7, MLP_INIT_DEFAULT));
    assert_ok(ctx, mlp_model_add_act(m[0], MLP_ACT_RELU));
    assert_ok(ctx, mlp_model_add_linear(m[1], 30, 300));
    assert_ok(ctx, mlp_model_add_act(m[1], MLP_ACT_RELU));
    assert_ok(ctx, mlp_model_add_linear(m[1], 300, 7));
    assert_ok(ctx, mlp_model_add_act(m[1], MLP_ACT_TANH));
    for (i = 0; i < 40 * 30; i++)
        x[i] = (float)((i * 7919) % 1000) / 250.0f - 2.0f;
    x[3 * 30 + 4] = NAN; /* row 3 */
    for (kn = 0; kn < MLP__GEMM_NUM_NAMES; kn++) {
        int exact;
        if (mlp_ctx_set_gemm_kernel(ctx, kernels[kn]) != MLP_OK)
            continue;
        exact = strcmp(kernels[kn], "generic") != 0;
        for (net = 0; net < 2; net++) {
            assert_ok(ctx, mlp_model_predict(m[net], x, 40, ref));
            predict_alone(ctx, m[net], x, 40, 30, 7, got);
            for (r = 0; r < 40; r++)
                for (c = 0; c < 7; c++) {
                    const float g = got[r * 7 + c], f = ref[r * 7 + c];
                    if (r == 3) {
                        assert_true(isnan(g) && isnan(f));
                    } else if (exact && net == 0) {
                        assert_memory_equal(&g, &f, sizeof g);
                    } else {
                        assert_false(isnan(g));
                        assert_close(g, f, 1e-5, 1e-5);
                    }
                }
            /* two and three rows share the row kernel's loads of W, and
               each row keeps the bits it has alone */
            if (exact) {
                float few[3 * 7];
                for (r = 0; r + 3 <= 40; r += 5) {
                    assert_ok(ctx, mlp_model_predict(m[net], x + r * 30, 2, few));
                    assert_memory_equal(few, got + r * 7, 2 * 7 * sizeof(float));
                    assert_ok(ctx, mlp_model_predict(m[net], x + r * 30, 3, few));
                    assert_memory_equal(few, got + r * 7, 3 * 7 * sizeof(float));
                }
            }
            /* the last ReLU zeroes some outputs and passes others */
            if (net == 0) {
                int zeros = 0, positive = 0;
                for (i = 0; i < 40 * 7; i++) {
                    zeros += ref[i] == 0.0f;
                    positive += ref[i] > 0.0f;
                }
                assert_true(zeros > 0 && positive > 0);
            }
        }
    }
    /* with finite checks on, the row's NaN is named, and out is not
       written */
    mlp_ctx_set_check_finite(ctx, 1);
    for (net = 0; net < 2; net++) {
        got[0] = 42.0f;
        assert_int_equal(mlp_model_predict(m[net], x + 3 * 30, 1, got), MLP_ERR_NONFINITE);
        assert_non_null(strstr(mlp_ctx_errmsg(ctx), "x at row 0, column 4"));
        assert_true(got[0] == 42.0f);
        assert_ok(ctx, mlp_model_predict(m[net], x, 1, got));
    }
    mlp_ctx_set_check_finite(ctx, 0);
    for (net = 0; net < 2; net++)
        mlp_model_free(m[net]);
}

/* Finite checks name the row of a non-finite output in a transposed
 * block as in the row layout. */
static void predict__narrow_layers_name_a_nonfinite_output_row(void **state)
{
    mlp_ctx *ctx = tu_ctx_of(state);
    mlp_model *m = mlp_model_new(ctx);
    float x[100 * 2], y[100];
    int64_t i;
    assert_ok(ctx, mlp_model_add_linear_init(m, 2, 4, MLP_INIT_ZEROS));
    assert_ok(ctx, mlp_model_add_act(m, MLP_ACT_RELU));
    assert_ok(ctx, mlp_model_add_linear_init(m, 4, 1, MLP_INIT_ZEROS));
    for (i = 0; i < 8; i++)
        mlp_tensor_data(mlp_model_param(m, 0))[i] = 1.0f;
    for (i = 0; i < 4; i++)
        mlp_tensor_data(mlp_model_param(m, 2))[i] = 1e30f;
    for (i = 0; i < 200; i++)
        x[i] = 1.0f;
    x[37 * 2] = 1e20f; /* row 37: 4 x 1e20 x 1e30 overflows; the others 8e30 */
    assert_ok(ctx, mlp_model_predict(m, x, 100, y));
    assert_true(isinf(y[37]));
    assert_close(y[36], 8e30f, 0, 1e-6);
    mlp_ctx_set_check_finite(ctx, 1);
    assert_int_equal(mlp_model_predict(m, x, 100, y), MLP_ERR_NONFINITE);
    assert_non_null(strstr(mlp_ctx_errmsg(ctx), "row 37, column 0"));
    mlp_ctx_set_check_finite(ctx, 0);
    mlp_model_free(m);
}

/* Finite checks name the first non-finite output row whichever thread
 * ran it: 240 rows split across 1, 2 and 3 threads, the bad rows (170
 * and 230) in the later parts only, run by a worker when the pool has
 * one. */
static void predict__names_the_first_nonfinite_row_at_any_thread_count(void **state)
{
    mlp_ctx *ctx = tu_ctx_of(state);
    mlp_model *m = mlp_model_new(ctx);
    const int64_t n = 240, in = 64;
    float *x = (float *)malloc((size_t)(n * in) * sizeof(float));
    float *y = (float *)malloc((size_t)(n * 32) * sizeof(float));
    int64_t i;
    int threads;
    assert_non_null(x);
    assert_non_null(y);
    assert_ok(ctx, mlp_model_add_linear_init(m, in, 256, MLP_INIT_ZEROS));
    assert_ok(ctx, mlp_model_add_act(m, MLP_ACT_RELU));
    assert_ok(ctx, mlp_model_add_linear_init(m, 256, 32, MLP_INIT_ZEROS));
    for (i = 0; i < in * 256; i++)
        mlp_tensor_data(mlp_model_param(m, 0))[i] = 1.0f;
    for (i = 0; i < 256 * 32; i++)
        mlp_tensor_data(mlp_model_param(m, 2))[i] = 1e30f;
    for (i = 0; i < n * in; i++)
        x[i] = 1.0f;
    x[170 * in] = x[230 * in] = 1e20f; /* 256 x 1e20 x 1e30 overflows */
    for (threads = 1; threads <= 3; threads++) {
        mlp_status s = mlp_ctx_set_threads(ctx, threads);
        if (s == MLP_ERR_UNSUPPORTED) /* a build without threads */
            break;
        assert_int_equal(s, MLP_OK);
        mlp_ctx_set_check_finite(ctx, 0);
        assert_ok(ctx, mlp_model_predict(m, x, n, y));
        assert_true(isinf(y[170 * 32]) && isinf(y[230 * 32 + 31]));
        assert_close(y[169 * 32], 256.0f * 64.0f * 1e30f, 0, 1e-5);
        mlp_ctx_set_check_finite(ctx, 1);
        assert_int_equal(mlp_model_predict(m, x, n, y), MLP_ERR_NONFINITE);
        assert_non_null(strstr(mlp_ctx_errmsg(ctx), "row 170, column 0"));
    }
    mlp_ctx_set_check_finite(ctx, 0);
    assert_int_equal(mlp_ctx_set_threads(ctx, 1), MLP_OK);
    mlp_model_free(m);
    free(x);
    free(y);
}

static void predict__agrees_with_forward_and_allocates_nothing_after_warmup(void **state)
{
    tu_alloc a;
    mlp_ctx *ctx = tu_ctx(&a, -1);
    mlp_model *m = mlp_model_new(ctx);
    int64_t shape[2] = {64, 20};
    mlp_tensor *x, *y;
    float *out = (float *)malloc(64 * 3 * sizeof(float));
    int32_t cls[64];
    long calls;
    int i, j;
    (void)state;
    mlp_ctx_seed(ctx, 5);
    assert_ok(ctx, mlp_model_add_linear(m, 20, 50));
    assert_ok(ctx, mlp_model_add_act(m, MLP_ACT_TANH));
    assert_ok(ctx, mlp_model_add_dropout(m, 0.3f));
    assert_ok(ctx, mlp_model_add_act(m, MLP_ACT_SIGMOID));
    assert_ok(ctx, mlp_model_add_linear(m, 50, 30));
    assert_ok(ctx, mlp_model_add_act(m, MLP_ACT_PRELU));
    assert_ok(ctx, mlp_model_add_linear(m, 30, 40));
    assert_ok(ctx, mlp_model_add_act(m, MLP_ACT_GELU));
    assert_ok(ctx, mlp_model_add_linear(m, 40, 3));
    x = mlp_tensor_rand_uniform(ctx, 2, shape, -3.0f, 3.0f);
    assert_ok(ctx, mlp_model_set_training(m, 0));
    y = mlp_model_forward(m, x);
    assert_handle(ctx, y);
    assert_ok(ctx, mlp_model_predict(m, mlp_tensor_cdata(x), 64, out));
    for (i = 0; i < 64 * 3; i++)
        assert_close(out[i], mlp_tensor_get(y, i), 1e-5, 1e-5);
    assert_ok(ctx, mlp_model_classify(m, mlp_tensor_cdata(x), 64, cls));
    for (i = 0; i < 64; i++) {
        int best = 0;
        for (j = 1; j < 3; j++)
            if (out[i * 3 + j] > out[i * 3 + best])
                best = j;
        assert_int_equal(cls[i], best);
    }
    mlp_tape_reset(ctx);
    /* warm: the same or a smaller n calls the allocator not once */
    calls = a.calls;
    assert_ok(ctx, mlp_model_predict(m, mlp_tensor_cdata(x), 64, out));
    assert_ok(ctx, mlp_model_predict(m, mlp_tensor_cdata(x), 17, out));
    assert_ok(ctx, mlp_model_predict(m, mlp_tensor_cdata(x), 1, out));
    assert_ok(ctx, mlp_model_classify(m, mlp_tensor_cdata(x), 64, cls));
    assert_int_equal(a.calls, calls);
    /* row i of a smaller batch equals row i of the full one */
    y = mlp_model_forward(m, x);
    for (i = 0; i < 3; i++)
        assert_close(out[i], mlp_tensor_get(y, i), 1e-5, 1e-5);
    mlp_tape_reset(ctx);
    mlp_tensor_free(x);
    mlp_model_free(m);
    mlp_ctx_free(ctx);
    assert_int_equal(a.live, 0);
    free(out);
}

/* One row through a small net allocates nothing, even on the model's
 * first call (mlp.h): with every allocation failing from then on, at 1
 * and 2 threads and with every kernel this CPU has, the portable one
 * too, predict and classify still give the net's values. */
static void predict__one_row_of_a_small_net_needs_no_allocation(void **state)
{
    tu_alloc a;
    mlp_ctx *ctx = tu_ctx(&a, -1);
    mlp_model *m = mlp_model_new(ctx);
    const float x[3] = {0.5f, -1.25f, 2.0f};
    const float *W1, *b1, *W2, *b2;
    float y[2];
    double h[40], want[2];
    int32_t cls;
    int kt, i, j;
    mlp_status s;
    (void)state;
    mlp_ctx_seed(ctx, 3);
    assert_ok(ctx, mlp_model_add_linear(m, 3, 40));
    assert_ok(ctx, mlp_model_add_act(m, MLP_ACT_RELU));
    assert_ok(ctx, mlp_model_add_linear(m, 40, 2));
    W1 = mlp_tensor_cdata(mlp_model_param(m, 0));
    b1 = mlp_tensor_cdata(mlp_model_param(m, 1));
    W2 = mlp_tensor_cdata(mlp_model_param(m, 2));
    b2 = mlp_tensor_cdata(mlp_model_param(m, 3));
    for (j = 0; j < 40; j++) {
        h[j] = b1[j];
        for (i = 0; i < 3; i++)
            h[j] += (double)x[i] * W1[i * 40 + j];
        h[j] = h[j] > 0.0 ? h[j] : 0.0;
    }
    for (j = 0; j < 2; j++) {
        want[j] = b2[j];
        for (i = 0; i < 40; i++)
            want[j] += h[i] * W2[i * 2 + j];
    }
    for (kt = 0; kt < 2 * MLP__GEMM_NUM_NAMES; kt++) { /* kernel kt / 2, kt % 2 + 1 threads */
        if (mlp_ctx_set_gemm_kernel(ctx, kernels[kt / 2]) != MLP_OK)
            continue;
        s = mlp_ctx_set_threads(ctx, kt % 2 + 1);
        if (s == MLP_ERR_UNSUPPORTED) /* a build without threads */
            continue;
        assert_ok(ctx, s);
        a.fail_at = a.calls; /* every allocation from here fails */
        assert_ok(ctx, mlp_model_predict(m, x, 1, y));
        assert_ok(ctx, mlp_model_classify(m, x, 1, &cls));
        assert_int_equal(a.failures, 0);
        for (j = 0; j < 2; j++)
            assert_close(y[j], want[j], 1e-5, 1e-5);
        assert_int_equal(cls, y[1] > y[0] ? 1 : 0);
        a.fail_at = -1;
    }
    assert_true(want[0] != want[1]);
    mlp_model_free(m);
    mlp_ctx_free(ctx);
    assert_int_equal(a.live, 0);
}

/* predict of x [n,784] through m at `threads` into out */
static void predict_at(mlp_model *m, int threads, const float *x, int64_t n, float *out)
{
    mlp_ctx *ctx = mlp_tensor_ctx(mlp_model_param(m, 0));
    mlp_status s = mlp_ctx_set_threads(ctx, threads);
    if (s == MLP_ERR_UNSUPPORTED) /* a build without threads: one */
        s = mlp_ctx_set_threads(ctx, 1);
    assert_ok(ctx, s);
    assert_ok(ctx, mlp_model_predict(m, x, n, out));
}

static void predict__packed_weights_give_the_same_bits_until_the_weights_change(void **state)
{
    /* batches through every path: one row (the row kernel), a few rows
     * (in place; split by columns at 2 threads), blocks of rows, rows
     * split across threads */
    static const int64_t ns[6] = {1, 5, 13, 47, 256, 700};
    tu_alloc a;
    mlp_ctx *ctx = tu_ctx(&a, -1);
    mlp_model *m = tu_mlp(ctx, 784, 256, 10);
    mlp_optim *o = mlp_sgd_new(m, 1e-4f);
    int64_t xs[2] = {700, 784}, i;
    mlp_tensor *x = mlp_tensor_rand_uniform(ctx, 2, xs, 0.0f, 1.0f), *y;
    float *ref = (float *)malloc(700 * 10 * sizeof(float));
    float *got = (float *)malloc(700 * 10 * sizeof(float));
    int k, t, kn;
    (void)state;
    assert_non_null(ref);
    assert_non_null(got);
    /* every kernel this CPU has (the best last, for what follows) */
    for (kn = 0; kn < MLP__GEMM_NUM_NAMES; kn++) {
        if (mlp_ctx_set_gemm_kernel(ctx, kernels[kn]) != MLP_OK)
            continue;
        for (k = 0; k < 6; k++)
            for (t = 1; t <= 2; t++) {
                const size_t bytes = (size_t)ns[k] * 10 * sizeof(float);
                assert_ok(ctx, mlp_model_pack(m, 0));
                predict_at(m, t, mlp_tensor_cdata(x), ns[k], ref);
                assert_ok(ctx, mlp_model_pack(m, 1));
                predict_at(m, t, mlp_tensor_cdata(x), ns[k], got);
                assert_memory_equal(ref, got, bytes);
            }
    }
    /* and right: the tape's forward */
    y = mlp_model_forward(m, x);
    for (i = 0; i < 700 * 10; i += 7)
        assert_close(got[i], mlp_tensor_get(y, i), 1e-5, 1e-5);
    /* an optimizer step changes the weights: predict reads them again */
    assert_ok(ctx, mlp_backward(mlp_sum(y), NULL, 0));
    assert_ok(ctx, mlp_optim_step(o));
    mlp_tape_reset(ctx);
    predict_at(m, 1, mlp_tensor_cdata(x), 256, got);
    assert_ok(ctx, mlp_model_pack(m, 0));
    predict_at(m, 1, mlp_tensor_cdata(x), 256, ref);
    assert_memory_equal(ref, got, 256 * 10 * sizeof(float));
    /* a write through the data pointer, then pack again: seen */
    assert_ok(ctx, mlp_model_pack(m, 1));
    mlp_tensor_data(mlp_model_param(m, 3))[4] += 1.0f; /* output 4's bias */
    assert_ok(ctx, mlp_model_pack(m, 1));
    predict_at(m, 1, mlp_tensor_cdata(x), 3, got);
    for (i = 0; i < 3 * 10; i++)
        assert_close(got[i], (double)ref[i] + (i % 10 == 4 ? 1.0 : 0.0), 1e-5, 1e-5);
    mlp_tensor_data(mlp_model_param(m, 0))[0] += 1.0f; /* W[0][0]: row 0 column 0 */
    assert_ok(ctx, mlp_model_pack(m, 1));
    predict_at(m, 1, mlp_tensor_cdata(x), 64, got);
    assert_ok(ctx, mlp_model_pack(m, 0));
    predict_at(m, 1, mlp_tensor_cdata(x), 64, ref);
    assert_memory_equal(ref, got, 64 * 10 * sizeof(float));
    /* another kernel reads another layout: a copy packed for the first
     * is not read */
    assert_ok(ctx, mlp_model_pack(m, 1));
    assert_ok(ctx, mlp_ctx_set_gemm_kernel(ctx, "generic"));
    predict_at(m, 1, mlp_tensor_cdata(x), 64, got);
    assert_ok(ctx, mlp_model_pack(m, 0));
    predict_at(m, 1, mlp_tensor_cdata(x), 64, ref);
    assert_memory_equal(ref, got, 64 * 10 * sizeof(float));
    /* freed with the model, nothing leaks */
    assert_ok(ctx, mlp_model_pack(m, 1));
    assert_int_equal(mlp_model_pack(NULL, 1), MLP_ERR_NULL);
    mlp_optim_free(o);
    mlp_model_free(m);
    mlp_tensor_free(x);
    mlp_ctx_free(ctx);
    assert_int_equal(a.live, 0);
    free(ref);
    free(got);
}

static void predict__packing_without_memory_fails_cleanly_and_predict_still_works(void **state)
{
    tu_alloc a;
    long n;
    int ok = 0;
    float xv[2 * 40], ref[2 * 3], got[2 * 3];
    (void)state;
    for (n = 0; n < 2 * 40; n++)
        xv[n] = (float)(n % 9) / 9.0f;
    for (n = 0; !ok && n < 50; n++) {
        mlp_ctx *ctx = tu_ctx(&a, -1);
        mlp_model *m = tu_mlp(ctx, 40, 70, 3);
        mlp_status s;
        assert_ok(ctx, mlp_model_predict(m, xv, 2, ref));
        a.fail_at = a.calls + n;
        s = mlp_model_pack(m, 1);
        a.fail_at = -1;
        if (s == MLP_OK)
            ok = 1;
        else
            assert_int_equal(s, MLP_ERR_NOMEM);
        assert_ok(ctx, mlp_model_predict(m, xv, 2, got));
        assert_memory_equal(ref, got, sizeof ref);
        mlp_model_free(m);
        mlp_ctx_free(ctx);
        assert_int_equal(a.live, 0);
    }
    assert_true(ok);
}

static void model__building_without_memory_fails_cleanly(void **state)
{
    tu_alloc a;
    long n;
    int ok = 0;
    (void)state;
    for (n = 0; !ok && n < 300; n++) {
        mlp_ctx *ctx = tu_ctx(&a, -1);
        mlp_model *m;
        long base = a.calls;
        a.fail_at = base + n;
        m = mlp_model_new(ctx);
        /* the mix of kinds, then those it lacks: dropout, a one-alpha
         * pReLU, a log-softmax head */
        if (m && tu_add_layer_mix(m) == MLP_OK && mlp_model_add_dropout(m, 0.2f) == MLP_OK
            && mlp_model_add_act(m, MLP_ACT_PRELU) == MLP_OK
            && mlp_model_add_log_softmax(m) == MLP_OK) {
            ok = 1;
        } else {
            assert_int_equal(mlp_ctx_errcode(ctx), MLP_ERR_NOMEM);
        }
        a.fail_at = -1;
        mlp_model_free(m);
        mlp_ctx_free(ctx);
        assert_int_equal(a.live, 0);
    }
    assert_true(ok);
}

static void optim__step_makes_a_stale_graph_refuse_backward(void **state)
{
    static const float xv[4] = {1, 2, 3, 4}, tv[2] = {0.5f, -0.5f};
    mlp_ctx *ctx = tu_ctx_of(state);
    mlp_model *m = tu_mlp_act(ctx, 2, 3, 1, MLP_ACT_TANH);
    mlp_tensor *x = tu_mat(ctx, 2, 2, xv), *t = tu_mat(ctx, 2, 1, tv), *l;
    mlp_optim *opt;
    float w0;
    opt = mlp_sgd_new(m, 0.1f);
    l = mlp_mse(mlp_model_forward(m, x), t);
    assert_handle(ctx, l);
    assert_ok(ctx, mlp_backward(l, NULL, 1));
    w0 = mlp_tensor_get(mlp_model_param(m, 0), 0);
    assert_ok(ctx, mlp_optim_step(opt));
    /* p -= lr * grad */
    assert_close(mlp_tensor_get(mlp_model_param(m, 0), 0),
                 w0 - 0.1f * mlp_tensor_get(mlp_tensor_grad(mlp_model_param(m, 0)), 0), 1e-7, 0);
    /* the graph saved the old weights: backward through it is refused */
    assert_int_equal(mlp_backward(l, NULL, 1), MLP_ERR_MODIFIED);
    mlp_tape_reset(ctx);
    mlp_optim_free(opt);
    mlp_tensor_free(x);
    mlp_tensor_free(t);
    mlp_model_free(m);
}

static void model__learns_xor_with_sgd_to_zero_errors(void **state)
{
    /* the seed's XOR: 4 points, labels 0 1 1 0; a linear model cannot */
    static const float xv[8] = {0, 0, 0, 1, 1, 0, 1, 1};
    static const float lv[4] = {0, 1, 1, 0};
    mlp_ctx *ctx = tu_ctx_of(state);
    mlp_model *m;
    mlp_tensor *x = tu_mat(ctx, 4, 2, xv), *labels;
    mlp_optim *opt;
    int64_t four = 4;
    int32_t cls[4];
    int step, i;
    float loss = 0;
    labels = mlp_tensor_from(ctx, 1, &four, lv);
    mlp_ctx_seed(ctx, 42);
    m = tu_mlp_act(ctx, 2, 8, 2, MLP_ACT_TANH);
    opt = mlp_sgd_new(m, 0.1f);
    assert_handle(ctx, opt);
    assert_ok(ctx, mlp_optim_set(opt, MLP_OPT_MOMENTUM, 0.9));
    for (step = 0; step < 500; step++) {
        mlp_tensor *l = mlp_cross_entropy(mlp_model_forward(m, x), labels);
        assert_handle(ctx, l);
        loss = mlp_tensor_item(l);
        assert_ok(ctx, mlp_optim_zero_grad(opt));
        assert_ok(ctx, mlp_backward(l, NULL, 0));
        assert_ok(ctx, mlp_optim_step(opt));
        mlp_tape_reset(ctx);
    }
    assert_true(loss < 0.05f);
    assert_ok(ctx, mlp_model_classify(m, xv, 4, cls));
    for (i = 0; i < 4; i++)
        assert_int_equal(cls[i], (int)lv[i]);
    mlp_optim_free(opt);
    mlp_tensor_free(labels);
    mlp_tensor_free(x);
    mlp_model_free(m);
}

static void model__fits_sin_on_minus_pi_to_pi(void **state)
{
    /* universal approximation: 1-32-32-1 tanh MLP, Adam, full batch */
    enum { N = 64 };
    mlp_ctx *ctx = tu_ctx_of(state);
    mlp_model *m = mlp_model_new(ctx);
    float xv[N], yv[N], pred[N];
    mlp_tensor *x, *y;
    mlp_optim *opt;
    double mse = 0;
    int i, step;
    const double pi = 3.14159265358979323846;
    for (i = 0; i < N; i++) {
        xv[i] = (float)(-pi + 2 * pi * i / (N - 1));
        yv[i] = (float)sin(xv[i]);
    }
    x = tu_mat(ctx, N, 1, xv);
    y = tu_mat(ctx, N, 1, yv);
    mlp_ctx_seed(ctx, 1);
    assert_ok(ctx, mlp_model_add_linear(m, 1, 32));
    assert_ok(ctx, mlp_model_add_act(m, MLP_ACT_TANH));
    assert_ok(ctx, mlp_model_add_linear(m, 32, 32));
    assert_ok(ctx, mlp_model_add_act(m, MLP_ACT_TANH));
    assert_ok(ctx, mlp_model_add_linear(m, 32, 1));
    opt = mlp_adam_new(m, 0.01f);
    assert_handle(ctx, opt);
    for (step = 0; step < 1500; step++) {
        mlp_tensor *l = mlp_mse(mlp_model_forward(m, x), y);
        assert_handle(ctx, l);
        mlp_optim_zero_grad(opt);
        assert_ok(ctx, mlp_backward(l, NULL, 0));
        mlp_optim_step(opt);
        mlp_optim_set(opt, MLP_OPT_LR, mlp_lr_cosine(0.01f, 0.001f, step, 1500));
        mlp_tape_reset(ctx);
    }
    assert_ok(ctx, mlp_model_predict(m, xv, N, pred));
    for (i = 0; i < N; i++)
        mse += ((double)pred[i] - sin(xv[i])) * ((double)pred[i] - sin(xv[i]));
    mse /= N;
    if (!(mse < 1e-3))
        print_error("mse = %g\n", mse);
    assert_true(mse < 1e-3);
    mlp_optim_free(opt);
    mlp_tensor_free(x);
    mlp_tensor_free(y);
    mlp_model_free(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        TU_TEST(model__linear_forward_matches_hand_values),
        cmocka_unit_test(model__activation_layers_match_hand_values),
        cmocka_unit_test(model__backward_passes_gradcheck_for_every_layer),
        cmocka_unit_test(model__linear_then_relu_gives_the_bits_of_the_two_ops),
        TU_TEST(init__default_and_chosen_initialisations_keep_their_bounds),
        cmocka_unit_test(model__bad_layers_and_inputs_are_refused),
        TU_TEST(model__parameters_are_listed_in_layer_order),
        cmocka_unit_test(model__summary_lists_layers_shapes_and_counts),
        TU_TEST(model__dropout_acts_only_in_training_mode),
        cmocka_unit_test(predict__agrees_with_forward_and_allocates_nothing_after_warmup),
        TU_TEST(predict__narrow_layers_give_each_row_its_bits_alone),
        TU_TEST(predict__one_to_three_rows_get_the_bits_of_their_rows_in_a_batch),
        TU_TEST(predict__narrow_layers_name_a_nonfinite_output_row),
        TU_TEST(predict__names_the_first_nonfinite_row_at_any_thread_count),
        cmocka_unit_test(predict__one_row_of_a_small_net_needs_no_allocation),
        cmocka_unit_test(predict__packed_weights_give_the_same_bits_until_the_weights_change),
        cmocka_unit_test(predict__packing_without_memory_fails_cleanly_and_predict_still_works),
        cmocka_unit_test(model__building_without_memory_fails_cleanly),
        TU_TEST(optim__step_makes_a_stale_graph_refuse_backward),
        TU_TEST(model__learns_xor_with_sgd_to_zero_errors),
        TU_TEST(model__fits_sin_on_minus_pi_to_pi),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
