/*
 * test_layers.c - the layer kinds beyond linear/activation/dropout and
 * their settings: linear without bias, leaky ReLU with any slope, pReLU
 * with one or per-feature alphas, softmax and log-softmax heads (predict
 * returns probabilities; cross-entropy training uses the logits before
 * them), per-feature standardisation with fixed statistics. Values by
 * hand (derivations in comments), backward under mlp_gradcheck, widths
 * chained, settings refused, the summary, and
 * the model file: format 2 round trips of every kind bit-identically,
 * hostile format-2 records are refused, and a committed format-1 file
 * still loads and predicts what NumPy computed from it.
 * PyTorch parity of the same layers is in test_parity.c (net cases).
 */
#include "testutil.h"
#include "io/file.h"

static void layers__widths_chain_and_only_learnable_tensors_are_parameters(void **state)
{
    mlp_ctx *ctx = mlp_ctx_new(NULL);
    mlp_model *m = tu_layer_mix(ctx);
    (void)state;
    assert_int_equal(mlp_model_num_layers(m), 6);
    assert_int_equal(mlp_model_layer_kind(m, 0), MLP_LAYER_STANDARDIZE);
    assert_int_equal(mlp_model_layer_kind(m, 1), MLP_LAYER_LINEAR);
    assert_int_equal(mlp_model_layer_kind(m, 2), MLP_LAYER_ACT);
    assert_int_equal(mlp_model_layer_kind(m, 3), MLP_LAYER_ACT);
    assert_int_equal(mlp_model_layer_kind(m, 5), MLP_LAYER_SOFTMAX);
    /* W1 [3,4] (no bias), alpha [4], W2 [4,2], b2 [2]; not mean/std */
    assert_int_equal(mlp_model_num_params(m), 4);
    assert_int_equal(mlp_tensor_numel(mlp_model_param(m, 0)), 12);
    assert_int_equal(mlp_tensor_numel(mlp_model_param(m, 1)), 4);
    assert_close(mlp_tensor_get(mlp_model_param(m, 1), 3), 0.25, 0, 0); /* nn.PReLU's 0.25 */
    assert_int_equal(mlp_model_param_numel(m), 12 + 4 + 8 + 2);
    assert_int_equal(mlp_model_in_features(m), 3);
    assert_int_equal(mlp_model_out_features(m), 2);
    mlp_model_free(m);
    mlp_ctx_free(ctx);
}

static void layers__bad_settings_and_widths_are_refused_and_add_nothing(void **state)
{
    mlp_ctx *ctx = mlp_ctx_new(NULL);
    mlp_model *m = mlp_model_new(ctx);
    static const float mean[2] = {0, NAN}, sd[2] = {1, 0}, ok2[2] = {0, 0}, one2[2] = {1, 1};
    (void)state;
    assert_ok(ctx, mlp_model_add_linear(m, 2, 4));
    assert_int_equal(mlp_model_add_prelu(m, 3), MLP_ERR_SHAPE); /* 4 features, not 3 */
    assert_non_null(strstr(mlp_ctx_errmsg(ctx), "mlp_model_add_prelu"));
    assert_int_equal(mlp_model_add_prelu(m, 0), MLP_ERR_ARG);
    assert_int_equal(mlp_model_add_prelu(m, (int64_t)1 << 40), MLP_ERR_ARG);
    assert_int_equal(mlp_model_add_leaky_relu(m, NAN), MLP_ERR_ARG);
    assert_int_equal(mlp_model_add_leaky_relu(m, INFINITY), MLP_ERR_ARG);
    assert_int_equal(mlp_model_add_standardize(m, 2, NULL, NULL), MLP_ERR_SHAPE);
    assert_int_equal(mlp_model_add_linear_nobias(m, 3, 1, MLP_INIT_DEFAULT), MLP_ERR_SHAPE);
    assert_int_equal(mlp_model_add_linear_nobias(m, 4, 0, MLP_INIT_DEFAULT), MLP_ERR_ARG);
    assert_int_equal(mlp_model_add_linear_nobias(m, 4, 1, (mlp_init)42), MLP_ERR_ARG);
    assert_int_equal(mlp_model_num_layers(m), 1);
    assert_int_equal(mlp_model_num_params(m), 2);
    mlp_model_free(m);

    /* standardisation statistics: finite means, finite positive stds */
    m = mlp_model_new(ctx);
    assert_int_equal(mlp_model_add_standardize(m, 2, mean, one2), MLP_ERR_ARG);
    assert_non_null(strstr(mlp_ctx_errmsg(ctx), "mean[1]"));
    assert_int_equal(mlp_model_add_standardize(m, 2, ok2, sd), MLP_ERR_ARG);
    assert_non_null(strstr(mlp_ctx_errmsg(ctx), "std[1]"));
    assert_int_equal(mlp_model_add_standardize(m, 0, NULL, NULL), MLP_ERR_ARG);
    assert_int_equal(mlp_model_num_layers(m), 0);
    assert_ok(ctx, mlp_model_add_standardize(m, 2, NULL, NULL));
    assert_int_equal(mlp_model_set_standardize(m, 0, ok2, sd), MLP_ERR_ARG);
    assert_int_equal(mlp_model_set_standardize(m, 1, ok2, one2), MLP_ERR_RANGE);
    assert_int_equal(mlp_model_set_standardize(m, -1, ok2, one2), MLP_ERR_RANGE);
    assert_ok(ctx, mlp_model_add_softmax(m));
    assert_int_equal(mlp_model_set_standardize(m, 1, ok2, one2), MLP_ERR_ARG);
    assert_non_null(strstr(mlp_ctx_errmsg(ctx), "softmax"));
    mlp_model_free(m);
    mlp_ctx_free(ctx);
}

static void layers__summary_names_every_kind_and_its_parameters(void **state)
{
    mlp_ctx *ctx = mlp_ctx_new(NULL);
    mlp_model *m = tu_layer_mix(ctx);
    char buf[2048];
    (void)state;
    assert_ok(ctx, mlp_model_add_log_softmax(m));
    mlp_model_summary(m, buf, sizeof buf);
    assert_non_null(strstr(buf, "standardize(3)"));
    assert_non_null(strstr(buf, "linear(3 -> 4)           [n,4]          12\n")); /* no bias */
    assert_non_null(strstr(buf, "prelu(4)                 [n,4]          4\n"));
    assert_non_null(strstr(buf, "leaky_relu(0.2)"));
    assert_non_null(strstr(buf, "softmax                  [n,2]          0\n"));
    assert_non_null(strstr(buf, "log_softmax"));
    assert_non_null(strstr(buf, "total parameters: 26 in 4 tensors"));
    mlp_model_free(m);
    mlp_ctx_free(ctx);
}

static void layers__standardize_and_heads_match_hand_values(void **state)
{
    /* mean [1,-2], std [2,0.5]: x [3,-1] gives z = [(3-1)/2, (-1+2)/0.5]
     * = [1,2]; softmax(z) = [1/(1+e), e/(1+e)] = [0.268941421, 0.731058579];
     * log_softmax(z) = z - log(e + e^2) = [-1.31326169, -0.31326169].
     * The gradient of sum(z * g) for x is g / std = [0.5, 2] for g = 1. */
    static const float mean[2] = {1, -2}, sd[2] = {2, 0.5f}, xv[2] = {3, -1};
    static const double sm[2] = {0.268941421, 0.731058579}, lsm[2] = {-1.31326169, -0.31326169};
    mlp_ctx *ctx = mlp_ctx_new(NULL);
    mlp_model *a = mlp_model_new(ctx), *b = mlp_model_new(ctx), *z = mlp_model_new(ctx);
    mlp_tensor *x = tu_mat(ctx, 1, 2, xv), *y, *ones;
    float out[2];
    int i;
    (void)state;
    assert_ok(ctx, mlp_model_add_standardize(a, 2, mean, sd));
    assert_ok(ctx, mlp_model_add_softmax(a));
    assert_ok(ctx, mlp_model_add_standardize(b, 2, mean, sd));
    assert_ok(ctx, mlp_model_add_log_softmax(b));
    assert_ok(ctx, mlp_model_add_standardize(z, 2, mean, sd));
    assert_int_equal(mlp_model_in_features(a), 2);
    assert_ok(ctx, mlp_model_predict(a, xv, 1, out));
    for (i = 0; i < 2; i++)
        assert_close(out[i], sm[i], 1e-6, 0);
    y = mlp_model_forward(a, x);
    assert_handle(ctx, y);
    for (i = 0; i < 2; i++)
        assert_close(mlp_tensor_get(y, i), sm[i], 1e-6, 0);
    assert_ok(ctx, mlp_model_predict(b, xv, 1, out));
    for (i = 0; i < 2; i++)
        assert_close(out[i], lsm[i], 1e-6, 0);
    /* the logits before the head are the standardised x */
    y = mlp_model_forward_logits(b, x);
    assert_close(mlp_tensor_get(y, 0), 1.0, 0, 0);
    assert_close(mlp_tensor_get(y, 1), 2.0, 0, 0);

    assert_ok(ctx, mlp_tensor_set_requires_grad(x, 1));
    y = mlp_model_forward(z, x);
    ones = mlp_tensor_ones(ctx, 2, (int64_t[2]){1, 2});
    assert_ok(ctx, mlp_backward(y, ones, 0));
    assert_close(mlp_tensor_get(mlp_tensor_grad(x), 0), 0.5, 0, 0);
    assert_close(mlp_tensor_get(mlp_tensor_grad(x), 1), 2.0, 0, 0);
    mlp_tape_reset(ctx);
    mlp_tensor_free(ones);
    mlp_tensor_free(x);
    mlp_model_free(a);
    mlp_model_free(b);
    mlp_model_free(z);
    mlp_ctx_free(ctx);
}

static void layers__per_feature_prelu_and_leaky_slope_match_hand_values(void **state)
{
    /* x [-2, 3, -4], alphas [0.5, 0.1, -0.25] set by hand:
     * prelu = [-1, 3, 1]; then leaky(slope 0.3) = [-0.3, 3, 1] */
    static const float xv[3] = {-2, 3, -4}, al[3] = {0.5f, 0.1f, -0.25f};
    static const float expect[3] = {-0.3f, 3, 1};
    mlp_ctx *ctx = mlp_ctx_new(NULL);
    mlp_model *m = mlp_model_new(ctx);
    float out[3];
    int i;
    (void)state;
    assert_ok(ctx, mlp_model_add_prelu(m, 3));
    assert_ok(ctx, mlp_model_add_leaky_relu(m, 0.3f));
    assert_int_equal(mlp_model_in_features(m), 3); /* per-feature alphas fix the width */
    assert_ok(ctx, mlp_tensor_set_data(mlp_model_param(m, 0), al, 3));
    assert_ok(ctx, mlp_model_predict(m, xv, 1, out));
    for (i = 0; i < 3; i++)
        assert_close(out[i], expect[i], 1e-7, 0);
    mlp_model_free(m);
    mlp_ctx_free(ctx);
}

static void layers__backward_of_every_kind_passes_gradcheck(void **state)
{
    int head;
    (void)state;
    for (head = 0; head < 2; head++) {
        mlp_ctx *ctx = mlp_ctx_new(NULL);
        mlp_model *m;
        mlp_tensor *x;
        mlp_ctx_seed(ctx, 5 + (uint64_t)head);
        m = tu_layer_mix(ctx); /* ends in softmax */
        if (head)
            assert_ok(ctx, mlp_model_add_log_softmax(m));
        x = mlp_tensor_rand_uniform(ctx, 2, (int64_t[2]){4, 3}, -3.0f, 3.0f);
        tu_gradcheck_model(ctx, m, x);
        mlp_tensor_free(x);
        mlp_model_free(m);
        mlp_ctx_free(ctx);
    }
}

static void layers__changed_statistics_between_forward_and_backward_are_refused(void **state)
{
    static const float xv[2] = {1, 2}, mean[2] = {0, 0}, sd[2] = {2, 2};
    mlp_ctx *ctx = mlp_ctx_new(NULL);
    mlp_model *m = mlp_model_new(ctx);
    mlp_tensor *x = tu_mat(ctx, 1, 2, xv), *y;
    (void)state;
    assert_ok(ctx, mlp_model_add_standardize(m, 2, NULL, NULL));
    assert_ok(ctx, mlp_tensor_set_requires_grad(x, 1));
    y = mlp_sum(mlp_model_forward(m, x));
    assert_ok(ctx, mlp_model_set_standardize(m, 0, mean, sd));
    assert_int_equal(mlp_backward(y, NULL, 0), MLP_ERR_MODIFIED);
    mlp_tape_reset(ctx);
    /* and the new statistics are what forward uses now */
    y = mlp_model_forward(m, x);
    assert_close(mlp_tensor_get(y, 1), 1.0, 0, 0);
    mlp_tape_reset(ctx);
    mlp_tensor_free(x);
    mlp_model_free(m);
    mlp_ctx_free(ctx);
}

/* One model trained with mlp_fit. */
static void fit(mlp_model *m, mlp_ctx *ctx, mlp_loss_kind loss)
{
    static const float xv[12] = {0, 0, 0, 1, 1, 0, 1, 1, 0.5f, 0.2f, -1, 2};
    static const float yv[6] = {0, 1, 2, 1, 0, 2};
    mlp_dataset *ds = tu_dataset(ctx, 6, 2, xv, yv);
    mlp_optim *opt = mlp_sgd_new(m, 0.5f);
    mlp_ctx_seed(ctx, 77); /* the shuffles */
    assert_ok(ctx, mlp_fit(m, opt, ds, loss, 3, 4, NULL, NULL));
    mlp_optim_free(opt);
    mlp_dataset_free(ds);
}

static void layers__cross_entropy_training_uses_the_logits_before_a_head(void **state)
{
    /* The rule (mlp.h, mlp_model_add_softmax): mlp_fit with cross-entropy
     * on a model ending in softmax or log-softmax trains exactly as the
     * same model without the head, so the parameters are bit-identical. */
    int head;
    (void)state;
    for (head = 0; head < 2; head++) {
        mlp_ctx *ctx = mlp_ctx_new(NULL);
        mlp_model *with = mlp_model_new(ctx), *without = mlp_model_new(ctx);
        float lw, lo, aw, ao;
        int i;
        mlp_ctx_seed(ctx, 1);
        assert_ok(ctx, mlp_model_add_linear(with, 2, 3));
        mlp_ctx_seed(ctx, 1);
        assert_ok(ctx, mlp_model_add_linear(without, 2, 3));
        assert_ok(ctx, head ? mlp_model_add_log_softmax(with) : mlp_model_add_softmax(with));
        fit(with, ctx, MLP_LOSS_CROSS_ENTROPY);
        fit(without, ctx, MLP_LOSS_CROSS_ENTROPY);
        for (i = 0; i < 2; i++) {
            mlp_tensor *a = mlp_model_param(with, i), *b = mlp_model_param(without, i);
            assert_memory_equal(mlp_tensor_cdata(a), mlp_tensor_cdata(b),
                                (size_t)mlp_tensor_numel(a) * sizeof(float));
        }
        /* mlp_evaluate too: the same loss and accuracy */
        {
            static const float xv[4] = {0, 1, 1, 0}, yv[2] = {1, 2};
            mlp_dataset *ds = tu_dataset(ctx, 2, 2, xv, yv);
            assert_ok(ctx, mlp_evaluate(with, ds, MLP_LOSS_CROSS_ENTROPY, 2, &lw, &aw));
            assert_ok(ctx, mlp_evaluate(without, ds, MLP_LOSS_CROSS_ENTROPY, 2, &lo, &ao));
            assert_true(lw == lo && aw == ao);
            mlp_dataset_free(ds);
        }
        mlp_model_free(with);
        mlp_model_free(without);
        mlp_ctx_free(ctx);
    }
}

static void layers__mse_on_a_softmax_head_sees_the_probabilities(void **state)
{
    /* With MSE the head stays: the model is zeros then softmax over 2, so
     * the output is [0.5, 0.5] whatever x is, and the loss against
     * targets [1, 0] is ((0.5-1)^2 + 0.5^2) / 2 = 0.25. */
    static const float xv[2] = {3, -7}, tv[2] = {1, 0};
    mlp_ctx *ctx = mlp_ctx_new(NULL);
    mlp_model *m = mlp_model_new(ctx);
    mlp_tensor *x = tu_mat(ctx, 1, 2, xv), *t = tu_mat(ctx, 1, 2, tv);
    mlp_dataset *ds = mlp_dataset_new(x, t);
    float loss;
    (void)state;
    assert_ok(ctx, mlp_model_add_linear_init(m, 2, 2, MLP_INIT_ZEROS));
    assert_ok(ctx, mlp_model_add_softmax(m));
    assert_ok(ctx, mlp_evaluate(m, ds, MLP_LOSS_MSE, 1, &loss, NULL));
    assert_close(loss, 0.25, 1e-7, 0);
    mlp_dataset_free(ds);
    mlp_tensor_free(x);
    mlp_tensor_free(t);
    mlp_model_free(m);
    mlp_ctx_free(ctx);
}

/* ---- the model file ---- */

static void layers__every_kind_round_trips_through_the_file_bit_identically(void **state)
{
    static const float X[4 * 3] = {0.1f, -0.2f, 3.0f, 1, 2, -3, 0, 0, 0, -7, 0.5f, 0.25f};
    static const float mean[3] = {0.5f, 0.25f, -1}, sd[3] = {3, 0.125f, 1.5f};
    int head;
    (void)state;
    for (head = 0; head < 2; head++) {
        tu_alloc a;
        mlp_ctx *ctx = tu_ctx(&a, -1);
        mlp_model *m = tu_layer_mix(ctx);
        void *buf;
        size_t size;
        const char *path = "/tmp/mlp_test_layers_rt.mlp";
        if (head) { /* the other head, dropout and gelu, a second standardisation */
            mlp_model_free(m);
            m = mlp_model_new(ctx);
            assert_ok(ctx, mlp_model_add_standardize(m, 3, mean, sd));
            assert_ok(ctx, mlp_model_add_dropout(m, 0.25f));
            assert_ok(ctx, mlp_model_add_linear(m, 3, 2));
            assert_ok(ctx, mlp_model_add_act(m, MLP_ACT_GELU));
            assert_ok(ctx, mlp_model_add_standardize(m, 2, mean, sd));
            assert_ok(ctx, mlp_model_add_prelu(m, 1));
            assert_ok(ctx, mlp_model_add_log_softmax(m));
        }
        tu_assert_round_trip(ctx, m, path, X, 4);
        assert_ok(ctx, mlp_model_save_mem(m, &buf, &size));
        assert_int_equal(((unsigned char *)buf)[8], 2); /* format version 2 */
        mlp_buffer_free(ctx, buf);
        mlp_model_free(m);
        mlp_ctx_free(ctx);
        assert_int_equal(a.live, 0);
    }
}

static void reseal(unsigned char *b, size_t size)
{
    mlp__put_u32(b + size - 4, mlp__crc32(0, b, size - 4));
}

/* Load c (size bytes, resealed first): NULL and MLP_ERR_FORMAT, with
 * `word` in the message when not NULL. */
static void refused(mlp_ctx *ctx, unsigned char *c, size_t size, const char *word)
{
    reseal(c, size);
    assert_null(mlp_model_load_mem(ctx, c, size));
    assert_int_equal(mlp_ctx_errcode(ctx), MLP_ERR_FORMAT);
    if (word && !strstr(mlp_ctx_errmsg(ctx), word))
        fail_msg("'%s' not in '%s'", word, mlp_ctx_errmsg(ctx));
}

static void layers__hostile_format_2_records_are_refused(void **state)
{
    /* tu_layer_mix's file: header 20 bytes; standardize at 20 (kind, u64 n);
     * linear at 32 (kind, in, out, has_bias); prelu at 56 (kind, act,
     * param, u64 n); leaky at 76; linear at 96; softmax at 120 (kind only);
     * then the tensors from 124: mean [3], std [3] at 136, W1 ... */
    tu_alloc a;
    mlp_ctx *ctx = tu_ctx(&a, -1);
    mlp_model *m = tu_layer_mix(ctx);
    unsigned char *b, *c;
    void *vbuf;
    size_t size;
    (void)state;
    assert_ok(ctx, mlp_model_save_mem(m, &vbuf, &size));
    b = (unsigned char *)vbuf;
    c = (unsigned char *)malloc(size);
    assert_int_equal(mlp__get_u32(b + 120), MLP_LAYER_SOFTMAX);
    assert_close(mlp__get_f32(b + 136), 2.0, 0, 0); /* std[0] */

    memcpy(c, b, size);
    mlp__put_u64(c + 24, 0); /* standardisation of no features */
    refused(ctx, c, size, "layer 0");
    memcpy(c, b, size);
    mlp__put_u64(c + 68, 5); /* 5 alphas after a layer giving 4 */
    refused(ctx, c, size, "layer 2");
    memcpy(c, b, size);
    mlp__put_u64(c + 68, 0); /* a pReLU without alphas */
    refused(ctx, c, size, "alphas");
    memcpy(c, b, size);
    mlp__put_u64(c + 88, 1); /* alphas on a leaky ReLU */
    refused(ctx, c, size, "layer 3");
    memcpy(c, b, size);
    mlp__put_f32(c + 136, 0.0f); /* std 0 */
    refused(ctx, c, size, "std[0]");
    memcpy(c, b, size);
    mlp__put_f32(c + 128, NAN); /* mean[1] */
    refused(ctx, c, size, "mean[1]");
    memcpy(c, b, size);
    mlp__put_u32(c + 120, 6); /* a kind this library does not know */
    refused(ctx, c, size, "unknown kind");
    /* the format-2 kinds do not exist in a format-1 file */
    memcpy(c, b, size);
    mlp__put_u32(c + 8, 1);
    refused(ctx, c, size, "unknown kind 5");
    free(c);
    mlp_buffer_free(ctx, vbuf);
    mlp_model_free(m);
    mlp_ctx_free(ctx);
    assert_int_equal(a.live, 0);
}

static void layers__format_1_files_still_load(void **state)
{
    /* tests/fixtures/model_v1/small.mlp: written by the format-1 writer;
     * small_y.npy: its outputs on small_x.npy computed by NumPy from the
     * file's bytes (tools/gen_model_v1.py). And the 68-byte tiny model of
     * docs/format.md's version-1 example: linear 1->1 (W 0.5, b -1), relu. */
    static const unsigned char tiny_v1[68] = {
        0x4d, 0x4c, 0x50, 0x4d, 0x4f, 0x44, 0x45, 0x4c, 0x01, 0x00, 0x00, 0x00, 0x01, 0x00,
        0x00, 0x00, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00,
        0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x3f, 0x00, 0x00, 0x80, 0xbf, 0x9a, 0xe4, 0x8c, 0x62};
    mlp_ctx *ctx = mlp_ctx_new(NULL);
    mlp_model *m, *again;
    mlp_tensor *x, *yw;
    float y[5 * 2], y2[5 * 2], one;
    const float three = 3.0f;
    void *buf;
    size_t size;
    int i;
    (void)state;
    m = mlp_model_load_mem(ctx, tiny_v1, sizeof tiny_v1);
    assert_handle(ctx, m);
    assert_ok(ctx, mlp_model_predict(m, &three, 1, &one));
    assert_close(one, 0.5, 0, 0); /* relu(0.5 * 3 - 1) */
    mlp_model_free(m);

    m = mlp_model_load(ctx, "tests/fixtures/model_v1/small.mlp");
    assert_handle(ctx, m);
    x = mlp_npy_load(ctx, "tests/fixtures/model_v1/small_x.npy");
    yw = mlp_npy_load(ctx, "tests/fixtures/model_v1/small_y.npy");
    assert_true(x && yw);
    assert_int_equal(mlp_model_num_layers(m), 7);
    assert_int_equal(mlp_model_is_training(m), 1);
    assert_int_equal(mlp_model_layer_kind(m, 4), MLP_LAYER_ACT);
    assert_close(mlp_tensor_get(mlp_model_param(m, 4), 0), 0.3, 1e-7, 0); /* the alpha */
    assert_ok(ctx, mlp_model_predict(m, mlp_tensor_cdata(x), 5, y));
    for (i = 0; i < 10; i++)
        assert_close(y[i], mlp_tensor_get(yw, i), 1e-6, 1e-5);
    /* saved again it is a format-2 file of the same model */
    assert_ok(ctx, mlp_model_save_mem(m, &buf, &size));
    assert_int_equal(((unsigned char *)buf)[8], 2);
    again = mlp_model_load_mem(ctx, buf, size);
    assert_handle(ctx, again);
    assert_ok(ctx, mlp_model_predict(again, mlp_tensor_cdata(x), 5, y2));
    assert_memory_equal(y, y2, sizeof y);
    mlp_buffer_free(ctx, buf);
    mlp_model_free(again);
    mlp_tensor_free(x);
    mlp_tensor_free(yw);
    mlp_model_free(m);
    mlp_ctx_free(ctx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(layers__widths_chain_and_only_learnable_tensors_are_parameters),
        cmocka_unit_test(layers__bad_settings_and_widths_are_refused_and_add_nothing),
        cmocka_unit_test(layers__summary_names_every_kind_and_its_parameters),
        cmocka_unit_test(layers__standardize_and_heads_match_hand_values),
        cmocka_unit_test(layers__per_feature_prelu_and_leaky_slope_match_hand_values),
        cmocka_unit_test(layers__backward_of_every_kind_passes_gradcheck),
        cmocka_unit_test(layers__changed_statistics_between_forward_and_backward_are_refused),
        cmocka_unit_test(layers__cross_entropy_training_uses_the_logits_before_a_head),
        cmocka_unit_test(layers__mse_on_a_softmax_head_sees_the_probabilities),
        cmocka_unit_test(layers__every_kind_round_trips_through_the_file_bit_identically),
        cmocka_unit_test(layers__hostile_format_2_records_are_refused),
        cmocka_unit_test(layers__format_1_files_still_load),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
