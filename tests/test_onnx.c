/*
 * test_onnx.c - ONNX in and out. The fixtures in tests/fixtures/onnx/
 * were written by torch.onnx.export (tools/gen_onnx_fixtures.py) with
 * torch's own outputs beside them: each must load and predict what torch
 * predicted, to 1e-5 absolute + 1e-4 relative. Files libmlp cannot run
 * must fail with MLP_ERR_UNSUPPORTED naming the node; broken bytes with
 * MLP_ERR_FORMAT. What libmlp writes must load back with bit-identical
 * predictions; it is also left in $BUILD/onnx-export/ for the ONNX
 * Runtime check (tests/check_onnxrt.sh). Runs from the repository root.
 */
#define _POSIX_C_SOURCE 200809L

#include <sys/stat.h>

#include "testutil.h"

#define FIXTURES "tests/fixtures/onnx/"

static mlp_tensor *load_npy(mlp_ctx *ctx, const char *name, const char *suffix)
{
    char path[256];
    mlp_tensor *t;
    snprintf(path, sizeof path, FIXTURES "%s%s", name, suffix);
    t = mlp_npy_load(ctx, path);
    assert_handle(ctx, t);
    return t;
}

/* The first occurrence of the string s in buf[0..size), or NULL. */
static const void *memmem_(const void *buf, size_t size, const char *s)
{
    size_t n = strlen(s), i;
    const char *b = (const char *)buf;
    for (i = 0; i + n <= size; i++)
        if (memcmp(b + i, s, n) == 0)
            return b + i;
    return NULL;
}

/* Load NAME.onnx, predict NAME.x.npy, compare with NAME.y.npy. */
static void check_fixture(const char *name)
{
    mlp_ctx *ctx = mlp_ctx_new(NULL);
    char path[256];
    mlp_model *m;
    mlp_tensor *x, *y;
    int64_t n, i, k;
    float *out;
    snprintf(path, sizeof path, FIXTURES "%s.onnx", name);
    m = mlp_model_load_onnx(ctx, path);
    if (!m) {
        print_error("%s: %s\n", path, mlp_ctx_errmsg(ctx));
        fail();
    }
    x = load_npy(ctx, name, ".x.npy");
    y = load_npy(ctx, name, ".y.npy");
    n = mlp_tensor_dim(x, 0);
    k = mlp_tensor_numel(y) / n;
    assert_int_equal(mlp_tensor_numel(x) / n, mlp_model_in_features(m));
    assert_int_equal(k, mlp_model_out_features(m));
    out = (float *)malloc((size_t)(n * k) * sizeof(float));
    assert_ok(ctx, mlp_model_predict(m, mlp_tensor_cdata(x), n, out));
    for (i = 0; i < n * k; i++) {
        float want = mlp_tensor_get(y, i);
        if (!(fabsf(out[i] - want) <= 1e-5f + 1e-4f * fabsf(want))) {
            print_error("%s: output %lld is %.9g, torch gave %.9g\n", name, (long long)i,
                        (double)out[i], (double)want);
            fail();
        }
    }
    free(out);
    mlp_tensor_free(x);
    mlp_tensor_free(y);
    mlp_model_free(m);
    mlp_ctx_free(ctx);
}

static void onnx__gemm_relu_opset9_matches_torch(void **state)
{
    (void)state;
    check_fixture("gemm_relu_o9");
}

static void onnx__sigmoid_tanh_without_constant_folding_matches_torch(void **state)
{
    (void)state;
    check_fixture("sigmoid_tanh_o11_nofold");
}

static void onnx__weights_in_float_data_match_torch(void **state)
{
    (void)state;
    check_fixture("float_data_o12");
}

static void onnx__leaky_relu_and_prelu_with_initializers_as_inputs_match_torch(void **state)
{
    (void)state;
    check_fixture("leaky_prelu_inputs_o13");
}

static void onnx__gelu_erf_pattern_with_constant_nodes_matches_torch(void **state)
{
    (void)state;
    check_fixture("gelu_nofold_o13");
    check_fixture("gelu_o17");
}

static void onnx__opset20_gelu_matches_torch(void **state)
{
    (void)state;
    check_fixture("gelu_opset20");
}

static void onnx__linear_without_bias_matches_torch(void **state)
{
    (void)state;
    check_fixture("nobias_nofold_o13"); /* Transpose of the weight, then MatMul */
    check_fixture("nobias_o9");         /* the transpose folded into the initializer */
}

static void onnx__matmul_then_add_matches_torch(void **state)
{
    (void)state;
    check_fixture("matmul_add_o14");
}

static void onnx__gemm_alpha_beta_untransposed_matches_torch(void **state)
{
    (void)state;
    check_fixture("gemm_alpha_beta_o10");
}

static void onnx__flatten_of_nchw_matches_torch(void **state)
{
    (void)state;
    check_fixture("flatten_nchw_o11");
}

static void onnx__dropout_in_either_opset_form_is_identity(void **state)
{
    (void)state;
    check_fixture("dropout_train_o10"); /* ratio as an attribute */
    check_fixture("dropout_train_o13"); /* ratio and training_mode as inputs */
}

/* A file libmlp must refuse, with `code` and a message containing `want`. */
static void expect_refused(const char *file, mlp_status code, const char *want)
{
    mlp_ctx *ctx = mlp_ctx_new(NULL);
    char path[256];
    snprintf(path, sizeof path, FIXTURES "%s", file);
    assert_null(mlp_model_load_onnx(ctx, path));
    if (mlp_ctx_errcode(ctx) != code || !strstr(mlp_ctx_errmsg(ctx), want)) {
        print_error("%s: got %s '%s', wanted %s with '%s'\n", file,
                    mlp_status_str(mlp_ctx_errcode(ctx)), mlp_ctx_errmsg(ctx), mlp_status_str(code),
                    want);
        fail();
    }
    mlp_ctx_free(ctx);
}

static void onnx__unknown_op_is_unsupported_naming_node_op_and_position(void **state)
{
    (void)state;
    /* Gemm, Elu, Gemm: the Elu is node 1 */
    expect_refused("unsupported_elu.onnx", MLP_ERR_UNSUPPORTED, "node 1 '/1/Elu' (Elu)");
}

static void onnx__residual_graph_is_not_a_chain(void **state)
{
    (void)state;
    /* Gemm, Relu, Add(input, relu): the Add reads the graph input again */
    expect_refused("unsupported_residual.onnx", MLP_ERR_UNSUPPORTED, "node 2 '/Add' (Add)");
}

static void onnx__malformed_bytes_are_format_errors(void **state)
{
    static const unsigned char junk[] = {0x3a, 0xff, 0xff, 0x01, 0x00};
    static const unsigned char text[] = "not an onnx file";
    mlp_ctx *ctx = mlp_ctx_new(NULL);
    (void)state;
    assert_null(mlp_model_load_onnx_mem(ctx, junk, sizeof junk));
    assert_int_equal(mlp_ctx_errcode(ctx), MLP_ERR_FORMAT);
    assert_null(mlp_model_load_onnx_mem(ctx, text, sizeof text - 1));
    assert_int_equal(mlp_ctx_errcode(ctx), MLP_ERR_FORMAT);
    assert_null(mlp_model_load_onnx_mem(ctx, junk, 0));
    assert_int_equal(mlp_ctx_errcode(ctx), MLP_ERR_FORMAT);
    mlp_ctx_free(ctx);
}

/* Every truncation of a real file fails cleanly (or, for a cut that
 * leaves a well-formed prefix, loads a model): never a crash or a leak. */
static void onnx__every_truncation_fails_cleanly(void **state)
{
    tu_alloc a;
    mlp_ctx *ctx = tu_ctx(&a, -1);
    FILE *f = fopen(FIXTURES "gelu_nofold_o13.onnx", "rb");
    unsigned char buf[4096];
    size_t size, n;
    (void)state;
    assert_non_null(f);
    size = fread(buf, 1, sizeof buf, f);
    fclose(f);
    for (n = 0; n < size; n++) {
        mlp_model *m = mlp_model_load_onnx_mem(ctx, buf, n);
        if (!m)
            assert_true(mlp_ctx_errcode(ctx) == MLP_ERR_FORMAT
                        || mlp_ctx_errcode(ctx) == MLP_ERR_UNSUPPORTED);
        mlp_model_free(m);
    }
    mlp_ctx_free(ctx);
    assert_int_equal(a.live, 0);
}

/* ---- export ---- */

/* x [n, in] of values in [-3, 3), from the model's context. */
static mlp_tensor *inputs(mlp_ctx *ctx, int64_t n, int64_t in)
{
    int64_t shape[2];
    shape[0] = n;
    shape[1] = in;
    return mlp_tensor_rand_uniform(ctx, 2, shape, -3.0f, 3.0f);
}

/* Where exports go for the ONNX Runtime check: $BUILD/onnx-export. */
static void export_dir(char *dir, size_t cap)
{
    const char *build = getenv("BUILD");
    snprintf(dir, cap, "%s/onnx-export", build && *build ? build : "build");
    mkdir(dir, 0777);
}

/* Save m as ONNX, load it back: the same predictions to the bit. Leaves
 * NAME.onnx, NAME.x.npy and libmlp's NAME.y.npy for ONNX Runtime. */
static void round_trip(mlp_model *m, const char *name)
{
    mlp_ctx *ctx = mlp_tensor_ctx(mlp_model_param(m, 0));
    int64_t n = 7, in = mlp_model_in_features(m), out = mlp_model_out_features(m), yshape[2];
    mlp_tensor *x = inputs(ctx, n, in), *y;
    float *a = (float *)malloc((size_t)(n * out) * sizeof(float));
    float *b = (float *)malloc((size_t)(n * out) * sizeof(float));
    void *buf = NULL;
    size_t size = 0;
    char dir[200], path[300];
    mlp_model *back;

    assert_ok(ctx, mlp_model_predict(m, mlp_tensor_cdata(x), n, a));
    assert_ok(ctx, mlp_model_save_onnx_mem(m, &buf, &size));
    back = mlp_model_load_onnx_mem(ctx, buf, size);
    assert_handle(ctx, back);
    assert_int_equal(mlp_model_in_features(back), in);
    assert_int_equal(mlp_model_out_features(back), out);
    assert_ok(ctx, mlp_model_predict(back, mlp_tensor_cdata(x), n, b));
    assert_memory_equal(a, b, (size_t)(n * out) * sizeof(float));
    mlp_model_free(back);
    mlp_buffer_free(ctx, buf);

    export_dir(dir, sizeof dir);
    snprintf(path, sizeof path, "%s/%s.onnx", dir, name);
    assert_ok(ctx, mlp_model_save_onnx(m, path));
    back = mlp_model_load_onnx(ctx, path);
    assert_handle(ctx, back);
    assert_ok(ctx, mlp_model_predict(back, mlp_tensor_cdata(x), n, b));
    assert_memory_equal(a, b, (size_t)(n * out) * sizeof(float));
    mlp_model_free(back);
    snprintf(path, sizeof path, "%s/%s.x.npy", dir, name);
    assert_ok(ctx, mlp_npy_save(x, path));
    yshape[0] = n;
    yshape[1] = out;
    y = mlp_tensor_from(ctx, 2, yshape, a);
    snprintf(path, sizeof path, "%s/%s.y.npy", dir, name);
    assert_ok(ctx, mlp_npy_save(y, path));
    mlp_tensor_free(y);
    mlp_tensor_free(x);
    free(a);
    free(b);
}

static void onnx__every_activation_round_trips_bit_identically(void **state)
{
    static const mlp_act acts[] = {MLP_ACT_RELU,       MLP_ACT_SIGMOID, MLP_ACT_TANH,
                                   MLP_ACT_LEAKY_RELU, MLP_ACT_GELU,    MLP_ACT_PRELU,
                                   MLP_ACT_IDENTITY,   MLP_ACT_STEP};
    mlp_ctx *ctx = mlp_ctx_new(NULL);
    mlp_model *m = mlp_model_new(ctx);
    size_t i;
    (void)state;
    mlp_ctx_seed(ctx, 12);
    assert_ok(ctx, mlp_model_add_linear(m, 5, 8));
    for (i = 0; i < sizeof acts / sizeof acts[0]; i++) {
        assert_ok(ctx, mlp_model_add_act(m, acts[i]));
        if (acts[i] == MLP_ACT_PRELU) /* a slope that is not the default */
            mlp_tensor_data(mlp_model_param(m, mlp_model_num_params(m) - 1))[0] = -0.3f;
        assert_ok(ctx, mlp_model_add_dropout(m, 0.25f));
        assert_ok(ctx, mlp_model_add_linear(m, 8, i + 1 < sizeof acts / sizeof acts[0] ? 8 : 3));
    }
    round_trip(m, "every_activation");
    mlp_model_free(m);
    mlp_ctx_free(ctx);
}

static void onnx__export_names_producer_input_and_output(void **state)
{
    mlp_ctx *ctx = mlp_ctx_new(NULL);
    mlp_model *m = mlp_model_new(ctx);
    void *buf = NULL;
    size_t size = 0;
    char version[32];
    (void)state;
    assert_ok(ctx, mlp_model_add_linear(m, 3, 4));
    assert_ok(ctx, mlp_model_add_act(m, MLP_ACT_RELU));
    assert_ok(ctx, mlp_model_add_linear(m, 4, 2));
    assert_ok(ctx, mlp_model_add_dropout(m, 0.5f)); /* left out: the output stays the logits */
    assert_ok(ctx, mlp_model_save_onnx_mem(m, &buf, &size));
    /* ModelProto fields: ir_version 7 (08 07), producer_name "libmlp"
     * (12 06 ...), producer_version (1a len "0.1.0") */
    assert_true(size > 20);
    assert_memory_equal(buf, "\x08\x07\x12\x06libmlp\x1a", 11);
    snprintf(version, sizeof version, "%c%s", (char)strlen(mlp_version()), mlp_version());
    assert_memory_equal((char *)buf + 11, version, strlen(version));
    assert_non_null(memmem_(buf, size, "features"));
    assert_non_null(memmem_(buf, size, "logits"));
    assert_non_null(memmem_(buf, size, "batch"));
    assert_null(memmem_(buf, size, "Dropout"));
    mlp_buffer_free(ctx, buf);
    mlp_model_free(m);
    mlp_ctx_free(ctx);
}

static void onnx__per_feature_prelu_matches_torch(void **state)
{
    (void)state;
    check_fixture("prelu_features_o17");
}

static void onnx__softmax_and_log_softmax_heads_match_torch(void **state)
{
    (void)state;
    check_fixture("softmax_head_o9");      /* axis 1, opset 9 */
    check_fixture("log_softmax_head_o17"); /* axis -1, initializers as inputs, no folding */
}

static void onnx__standardisation_matches_torch(void **state)
{
    (void)state;
    check_fixture("standardise_o13"); /* (x - mean) / std: Sub then Div */
}

/* every layer kind at once, ending in a softmax or a log-softmax head */
static mlp_model *every_kind(mlp_ctx *ctx, int log_head)
{
    static const float mean[5] = {0.5f, -1.0f, 2.0f, 0.0f, 3.0f};
    static const float std[5] = {1.0f, 2.0f, 0.5f, 4.0f, 1.5f};
    mlp_model *m = mlp_model_new(ctx);
    mlp_tensor *alpha;
    int i;
    assert_ok(ctx, mlp_model_add_standardize(m, 5, mean, std));
    assert_ok(ctx, mlp_model_add_linear_nobias(m, 5, 8, MLP_INIT_DEFAULT));
    assert_ok(ctx, mlp_model_add_leaky_relu(m, 0.2f));
    assert_ok(ctx, mlp_model_add_linear(m, 8, 8));
    assert_ok(ctx, mlp_model_add_prelu(m, 8));
    alpha = mlp_model_param(m, mlp_model_num_params(m) - 1);
    for (i = 0; i < 8; i++) /* slopes that are not the default, some negative */
        mlp_tensor_data(alpha)[i] = -0.4f + 0.1f * (float)i;
    assert_ok(ctx, mlp_model_add_dropout(m, 0.1f));
    assert_ok(ctx, mlp_model_add_linear(m, 8, 4));
    assert_ok(ctx, log_head ? mlp_model_add_log_softmax(m) : mlp_model_add_softmax(m));
    return m;
}

static void onnx__every_layer_kind_round_trips_bit_identically(void **state)
{
    mlp_ctx *ctx = mlp_ctx_new(NULL);
    mlp_model *m;
    void *buf = NULL;
    size_t size = 0;
    (void)state;
    mlp_ctx_seed(ctx, 3);
    m = every_kind(ctx, 0);
    round_trip(m, "every_kind_softmax");
    assert_ok(ctx, mlp_model_save_onnx_mem(m, &buf, &size));
    assert_non_null(memmem_(buf, size, "probabilities"));
    mlp_buffer_free(ctx, buf);
    mlp_model_free(m);
    m = every_kind(ctx, 1);
    round_trip(m, "every_kind_log_softmax");
    assert_ok(ctx, mlp_model_save_onnx_mem(m, &buf, &size));
    assert_non_null(memmem_(buf, size, "log_probabilities"));
    mlp_buffer_free(ctx, buf);
    mlp_model_free(m);
    mlp_ctx_free(ctx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(onnx__gemm_relu_opset9_matches_torch),
        cmocka_unit_test(onnx__sigmoid_tanh_without_constant_folding_matches_torch),
        cmocka_unit_test(onnx__weights_in_float_data_match_torch),
        cmocka_unit_test(onnx__leaky_relu_and_prelu_with_initializers_as_inputs_match_torch),
        cmocka_unit_test(onnx__gelu_erf_pattern_with_constant_nodes_matches_torch),
        cmocka_unit_test(onnx__opset20_gelu_matches_torch),
        cmocka_unit_test(onnx__linear_without_bias_matches_torch),
        cmocka_unit_test(onnx__matmul_then_add_matches_torch),
        cmocka_unit_test(onnx__gemm_alpha_beta_untransposed_matches_torch),
        cmocka_unit_test(onnx__flatten_of_nchw_matches_torch),
        cmocka_unit_test(onnx__dropout_in_either_opset_form_is_identity),
        cmocka_unit_test(onnx__unknown_op_is_unsupported_naming_node_op_and_position),
        cmocka_unit_test(onnx__residual_graph_is_not_a_chain),
        cmocka_unit_test(onnx__malformed_bytes_are_format_errors),
        cmocka_unit_test(onnx__every_truncation_fails_cleanly),
        cmocka_unit_test(onnx__every_activation_round_trips_bit_identically),
        cmocka_unit_test(onnx__export_names_producer_input_and_output),
        cmocka_unit_test(onnx__per_feature_prelu_matches_torch),
        cmocka_unit_test(onnx__softmax_and_log_softmax_heads_match_torch),
        cmocka_unit_test(onnx__standardisation_matches_torch),
        cmocka_unit_test(onnx__every_layer_kind_round_trips_bit_identically),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
