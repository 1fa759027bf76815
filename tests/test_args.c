/*
 * test_args.c - NULL for every handle and pointer parameter of every public
 * function, one test per module: every MLP_API function of mlp.h is called
 * here by name (tests/check_api_coverage.sh keeps the list complete). The
 * rule: a NULL never crashes; a call that can fail returns MLP_ERR_NULL or
 * NULL (accessors their documented neutral value), and when a context is
 * at hand its code and message name the function and the argument. The
 * other bad arguments (shapes, contexts, graphs, NaN, overflow, labels)
 * are in test_misuse.c.
 */
#include "argcheck.h"

/* ---- NULL for every handle and pointer parameter, module by module ---- */

static void null__version_and_status_functions_never_fail(void **state)
{
    (void)state;
    assert_non_null(mlp_version());
    assert_true(mlp_version_number() > 0);
    assert_non_null(mlp_status_str((mlp_status)-1));
}

static void null__ctx_functions_accept_a_null_context(void **state)
{
    mlp_ctx *ctx = tu_ctx_of(state);
    mlp_allocator none;
    memset(&none, 0, sizeof none);
    none.struct_size = sizeof none;
    assert_null(mlp_ctx_new(&none)); /* an allocator without functions */
    mlp_ctx_free(NULL);
    mlp_ctx_seed(NULL, 1);
    assert_int_equal(mlp_ctx_rand_u32(NULL), 0);
    (void)mlp_ctx_rand_uniform(NULL);
    (void)mlp_ctx_rand_normal(NULL);
    assert_int_equal(mlp_ctx_errcode(NULL), MLP_ERR_NULL);
    assert_non_null(mlp_ctx_errmsg(NULL));
    mlp_ctx_clear_error(NULL);
    assert_int_equal(mlp_ctx_set_threads(NULL, 2), MLP_ERR_NULL);
    assert_int_equal(mlp_ctx_threads(NULL), 0);
    assert_int_equal(mlp_ctx_set_gemm_kernel(NULL, "generic"), MLP_ERR_NULL);
    assert_non_null(mlp_ctx_gemm_kernel(NULL));
    mlp_ctx_set_check_finite(NULL, 1);
    mlp_ctx_set_allow_nonfinite_data(NULL, 1);
    assert_int_equal(mlp_ctx_allow_nonfinite_data(NULL), 0);
    /* NULL name means "the best kernel": not an error */
    assert_ok(ctx, mlp_ctx_set_gemm_kernel(ctx, NULL));
    /* bad values, with the context at hand */
    EXPECT_STATUS(ctx, mlp_ctx_set_threads(ctx, 0), MLP_ERR_ARG);
    EXPECT_STATUS(ctx, mlp_ctx_set_gemm_kernel(ctx, "no-such-kernel"), MLP_ERR_ARG);
}

static void null__tensor_functions_refuse_null_handles_and_pointers(void **state)
{
    mlp_ctx *ctx = tu_ctx_of(state);
    int64_t shape[2] = {2, 3};
    float data[6] = {1, 2, 3, 4, 5, 6};
    mlp_tensor *t;
    t = mlp_tensor_from(ctx, 2, shape, data);
    assert_handle(ctx, t);

    /* a NULL context: NULL, nothing to record on */
    assert_null(mlp_tensor_zeros(NULL, 2, shape));
    assert_null(mlp_tensor_ones(NULL, 2, shape));
    assert_null(mlp_tensor_from(NULL, 2, shape, data));
    assert_null(mlp_tensor_rand_uniform(NULL, 2, shape, 0.0f, 1.0f));
    assert_null(mlp_tensor_rand_normal(NULL, 2, shape, 0.0f, 1.0f));
    /* a NULL shape with dimensions, NULL data with elements */
    EXPECT_NULL_CODE(ctx, mlp_tensor_zeros(ctx, 2, NULL), MLP_ERR_NULL);
    EXPECT_NULL_CODE(ctx, mlp_tensor_ones(ctx, 2, NULL), MLP_ERR_NULL);
    EXPECT_NULL_CODE(ctx, mlp_tensor_from(ctx, 2, NULL, data), MLP_ERR_NULL);
    EXPECT_NULL_CODE(ctx, mlp_tensor_from(ctx, 2, shape, NULL), MLP_ERR_NULL);
    EXPECT_NULL_CODE(ctx, mlp_tensor_rand_uniform(ctx, 2, NULL, 0.0f, 1.0f), MLP_ERR_NULL);
    EXPECT_NULL_CODE(ctx, mlp_tensor_rand_normal(ctx, 2, NULL, 0.0f, 1.0f), MLP_ERR_NULL);

    assert_null(mlp_tensor_clone(NULL));
    assert_null(mlp_tensor_detach(NULL));
    mlp_tensor_free(NULL);
    assert_int_equal(mlp_tensor_fill(NULL, 1.0f), MLP_ERR_NULL);
    assert_int_equal(mlp_tensor_copy(NULL, t), MLP_ERR_NULL);
    EXPECT_STATUS(ctx, mlp_tensor_copy(t, NULL), MLP_ERR_NULL);
    assert_int_equal(mlp_tensor_set_data(NULL, data, 6), MLP_ERR_NULL);
    EXPECT_STATUS(ctx, mlp_tensor_set_data(t, NULL, 6), MLP_ERR_NULL);
    assert_int_equal(mlp_tensor_set_shape(NULL, 2, shape), MLP_ERR_NULL);
    EXPECT_STATUS(ctx, mlp_tensor_set_shape(t, 2, NULL), MLP_ERR_NULL);

    assert_int_equal(mlp_tensor_ndim(NULL), -1);
    assert_int_equal(mlp_tensor_dim(NULL, 0), -1);
    assert_int_equal(mlp_tensor_numel(NULL), 0);
    assert_null(mlp_tensor_data(NULL));
    assert_null(mlp_tensor_cdata(NULL));
    assert_true(isnan(mlp_tensor_get(NULL, 0)));
    assert_true(isnan(mlp_tensor_item(NULL)));
    assert_null(mlp_tensor_ctx(NULL));
    assert_int_equal(mlp_tensor_version(NULL), 0);

    /* the tensor is untouched by all of the above */
    assert_true(mlp_tensor_get(t, 5) == 6.0f);
    assert_int_equal(mlp_tensor_ndim(t), 2);
    mlp_tensor_free(t);
}

static mlp_tensor *fn_sum_of_input(void *user, mlp_tensor *const *in, int n)
{
    (void)user;
    (void)n;
    return mlp_sum(in[0]);
}

static void null__grad_and_tape_functions_refuse_null_handles(void **state)
{
    mlp_ctx *ctx = tu_ctx_of(state);
    mlp_tensor *x = tu_ones(ctx, 1, 3, 0);
    mlp_tensor *ins[1];
    assert_handle(ctx, x);
    assert_int_equal(mlp_tensor_set_requires_grad(NULL, 1), MLP_ERR_NULL);
    assert_int_equal(mlp_tensor_requires_grad(NULL), 0);
    assert_int_equal(mlp_tensor_is_leaf(NULL), 0);
    assert_null(mlp_tensor_grad(NULL));
    assert_int_equal(mlp_tensor_zero_grad(NULL), MLP_ERR_NULL);
    assert_int_equal(mlp_backward(NULL, NULL, 0), MLP_ERR_NULL);
    assert_int_equal(mlp_backward(NULL, x, 1), MLP_ERR_NULL);
    mlp_tape_reset(NULL);
    assert_int_equal(mlp_tape_size(NULL), 0);
    (void)mlp_ctx_set_grad_enabled(NULL, 0);
    assert_int_equal(mlp_ctx_grad_enabled(NULL), 0);

    assert_ok(ctx, mlp_tensor_set_requires_grad(x, 1));
    ins[0] = x;
    (void)ins;
    assert_int_equal(mlp_gradcheck(NULL, fn_sum_of_input, NULL, ins, 1, 1e-3f, 1e-3f, 1e-2f),
                     MLP_ERR_NULL);
    EXPECT_STATUS(ctx, mlp_gradcheck(ctx, NULL, NULL, ins, 1, 1e-3f, 1e-3f, 1e-2f), MLP_ERR_NULL);
    {
        /* a NULL inputs array with n > 0 */
        mlp_status s = mlp_gradcheck(ctx, fn_sum_of_input, NULL, NULL, 1, 1e-3f, 1e-3f, 1e-2f);
        assert_int_equal(s, MLP_ERR_NULL);
        assert_int_equal(mlp_ctx_errcode(ctx), s);
        EXPECT_MSG(ctx, "inputs");
        mlp_ctx_clear_error(ctx);
    }
    ins[0] = NULL;
    EXPECT_STATUS(ctx, mlp_gradcheck(ctx, fn_sum_of_input, NULL, ins, 1, 1e-3f, 1e-3f, 1e-2f),
                  MLP_ERR_NULL);
    mlp_tensor_free(x);
}

/* every op with one NULL input: NULL back, MLP_ERR_NULL naming the op */
static void null__ops_give_null_and_name_the_op(void **state)
{
    mlp_ctx *ctx = tu_ctx_of(state);
    mlp_tensor *a = tu_ones(ctx, 2, 2, 3), *b = tu_ones(ctx, 2, 3, 2), *v = tu_ones(ctx, 1, 3, 0);
    mlp_tensor *lab = tu_ones(ctx, 1, 2, 0), *alpha = tu_ones(ctx, 1, 1, 0);
    int64_t shape[1] = {6};
    assert_handle(ctx, a);
    assert_ok(ctx, mlp_tensor_fill(lab, 0.0f));

    /* no context at all: nothing to record, just NULL */
    assert_null(mlp_matmul(NULL, NULL));
    assert_null(mlp_relu(NULL));

    EXPECT_NULL_CODE(ctx, mlp_matmul(NULL, b), MLP_ERR_NULL);
    EXPECT_NULL_CODE(ctx, mlp_matmul(a, NULL), MLP_ERR_NULL);
    assert_null(mlp_matmul(a, NULL));
    EXPECT_MSG(ctx, "mlp_matmul");
    mlp_ctx_clear_error(ctx);
    EXPECT_NULL_CODE(ctx, mlp_linear(NULL, b, NULL), MLP_ERR_NULL);
    EXPECT_NULL_CODE(ctx, mlp_linear(a, NULL, NULL), MLP_ERR_NULL);
    EXPECT_NULL_CODE(ctx, mlp_add(NULL, a), MLP_ERR_NULL);
    EXPECT_NULL_CODE(ctx, mlp_add(a, NULL), MLP_ERR_NULL);
    EXPECT_NULL_CODE(ctx, mlp_sub(NULL, a), MLP_ERR_NULL);
    EXPECT_NULL_CODE(ctx, mlp_sub(a, NULL), MLP_ERR_NULL);
    EXPECT_NULL_CODE(ctx, mlp_mul(NULL, a), MLP_ERR_NULL);
    EXPECT_NULL_CODE(ctx, mlp_mul(a, NULL), MLP_ERR_NULL);
    assert_null(mlp_scale(NULL, 2.0f));
    assert_null(mlp_sum(NULL));
    assert_null(mlp_mean(NULL));
    assert_null(mlp_reshape(NULL, 1, shape));
    EXPECT_NULL_CODE(ctx, mlp_reshape(a, 1, NULL), MLP_ERR_NULL);
    assert_null(mlp_transpose(NULL));
    assert_null(mlp_sigmoid(NULL));
    assert_null(mlp_tanh(NULL));
    assert_null(mlp_leaky_relu(NULL, 0.01f));
    EXPECT_NULL_CODE(ctx, mlp_prelu(NULL, alpha), MLP_ERR_NULL);
    EXPECT_NULL_CODE(ctx, mlp_prelu(a, NULL), MLP_ERR_NULL);
    assert_null(mlp_gelu(NULL));
    assert_null(mlp_step(NULL));
    assert_null(mlp_activation(NULL, MLP_ACT_RELU));
    assert_null(mlp_softmax(NULL));
    assert_null(mlp_log_softmax(NULL));
    assert_null(mlp_dropout(NULL, 0.5f));
    EXPECT_NULL_CODE(ctx, mlp_mse(NULL, a), MLP_ERR_NULL);
    EXPECT_NULL_CODE(ctx, mlp_mse(a, NULL), MLP_ERR_NULL);
    EXPECT_NULL_CODE(ctx, mlp_cross_entropy(NULL, lab), MLP_ERR_NULL);
    EXPECT_NULL_CODE(ctx, mlp_cross_entropy(b, NULL), MLP_ERR_NULL);
    EXPECT_NULL_CODE(ctx, mlp_bce_with_logits(NULL, a), MLP_ERR_NULL);
    EXPECT_NULL_CODE(ctx, mlp_bce_with_logits(a, NULL), MLP_ERR_NULL);
    assert_non_null(mlp_act_name((mlp_act)99));
    assert_string_equal(mlp_act_name((mlp_act)99), "unknown");

    /* a failure early in a chain is kept as the cause at its end */
    mlp_ctx_clear_error(ctx);
    assert_null(mlp_relu(mlp_add(mlp_matmul(a, a), v)));
    assert_int_equal(mlp_ctx_errcode(ctx), MLP_ERR_SHAPE);
    EXPECT_MSG(ctx, "mlp_matmul");

    mlp_tape_reset(ctx);
    mlp_tensor_free(a);
    mlp_tensor_free(b);
    mlp_tensor_free(v);
    mlp_tensor_free(lab);
    mlp_tensor_free(alpha);
}

static void null__model_functions_refuse_null_handles(void **state)
{
    mlp_ctx *ctx = tu_ctx_of(state);
    mlp_model *m = mlp_model_new(ctx);
    float x[4] = {0}, out[6];
    int32_t cls[2];
    char buf[64];
    assert_handle(ctx, m);
    assert_ok(ctx, mlp_model_add_linear(m, 2, 3));

    assert_null(mlp_model_new(NULL));
    mlp_model_free(NULL);
    assert_int_equal(mlp_model_add_linear(NULL, 2, 3), MLP_ERR_NULL);
    assert_int_equal(mlp_model_add_linear_init(NULL, 2, 3, MLP_INIT_ZEROS), MLP_ERR_NULL);
    assert_int_equal(mlp_model_add_act(NULL, MLP_ACT_RELU), MLP_ERR_NULL);
    assert_int_equal(mlp_model_add_dropout(NULL, 0.5f), MLP_ERR_NULL);
    assert_int_equal(mlp_model_add_linear_nobias(NULL, 2, 3, MLP_INIT_DEFAULT), MLP_ERR_NULL);
    assert_int_equal(mlp_model_add_leaky_relu(NULL, 0.2f), MLP_ERR_NULL);
    assert_int_equal(mlp_model_add_prelu(NULL, 1), MLP_ERR_NULL);
    assert_int_equal(mlp_model_add_softmax(NULL), MLP_ERR_NULL);
    assert_int_equal(mlp_model_add_log_softmax(NULL), MLP_ERR_NULL);
    assert_int_equal(mlp_model_add_standardize(NULL, 2, NULL, NULL), MLP_ERR_NULL);
    assert_int_equal(mlp_model_set_standardize(NULL, 0, NULL, NULL), MLP_ERR_NULL);
    EXPECT_STATUS(ctx, mlp_model_set_standardize(m, 0, NULL, NULL),
                  MLP_ERR_ARG); /* a linear layer */
    assert_null(mlp_model_forward(NULL, NULL));
    EXPECT_NULL_CODE(ctx, mlp_model_forward(m, NULL), MLP_ERR_NULL);
    assert_null(mlp_model_forward_logits(NULL, NULL));
    EXPECT_NULL_CODE(ctx, mlp_model_forward_logits(m, NULL), MLP_ERR_NULL);
    assert_int_equal(mlp_model_set_training(NULL, 0), MLP_ERR_NULL);
    assert_int_equal(mlp_model_is_training(NULL), 0);
    assert_int_equal(mlp_model_num_layers(NULL), 0);
    assert_int_equal(mlp_model_layer_kind(NULL, 0), -1);
    assert_int_equal(mlp_model_num_params(NULL), 0);
    assert_null(mlp_model_param(NULL, 0));
    assert_int_equal(mlp_model_param_numel(NULL), 0);
    assert_int_equal(mlp_model_in_features(NULL), 0);
    assert_int_equal(mlp_model_out_features(NULL), 0);
    assert_int_equal(mlp_model_summary(NULL, buf, sizeof buf), 0);
    assert_true(mlp_model_summary(m, NULL, 0) > 0); /* snprintf-like size query */
    assert_int_equal(mlp_model_predict(NULL, x, 2, out), MLP_ERR_NULL);
    EXPECT_STATUS(ctx, mlp_model_predict(m, NULL, 2, out), MLP_ERR_NULL);
    EXPECT_STATUS(ctx, mlp_model_predict(m, x, 2, NULL), MLP_ERR_NULL);
    assert_int_equal(mlp_model_classify(NULL, x, 2, cls), MLP_ERR_NULL);
    assert_int_equal(mlp_model_pack(NULL, 1), MLP_ERR_NULL);
    EXPECT_STATUS(ctx, mlp_model_classify(m, NULL, 2, cls), MLP_ERR_NULL);
    EXPECT_STATUS(ctx, mlp_model_classify(m, x, 2, NULL), MLP_ERR_NULL);
    /* the model still works */
    assert_ok(ctx, mlp_model_predict(m, x, 2, out));
    mlp_model_free(m);
}

static void null__model_file_functions_refuse_null_handles(void **state)
{
    mlp_ctx *ctx = tu_ctx_of(state);
    mlp_model *m = mlp_model_new(ctx);
    void *buf = NULL;
    size_t size = 0;
    assert_ok(ctx, mlp_model_add_linear(m, 2, 3));
    assert_int_equal(mlp_model_save(NULL, "x.mlp"), MLP_ERR_NULL);
    EXPECT_STATUS(ctx, mlp_model_save(m, NULL), MLP_ERR_NULL);
    assert_null(mlp_model_load(NULL, "x.mlp"));
    EXPECT_NULL_CODE(ctx, mlp_model_load(ctx, NULL), MLP_ERR_NULL);
    assert_int_equal(mlp_model_save_mem(NULL, &buf, &size), MLP_ERR_NULL);
    EXPECT_STATUS(ctx, mlp_model_save_mem(m, NULL, &size), MLP_ERR_NULL);
    EXPECT_STATUS(ctx, mlp_model_save_mem(m, &buf, NULL), MLP_ERR_NULL);
    assert_null(buf);
    assert_null(mlp_model_load_mem(NULL, "abc", 3));
    EXPECT_NULL_CODE(ctx, mlp_model_load_mem(ctx, NULL, 16), MLP_ERR_NULL);
    mlp_buffer_free(NULL, NULL);
    mlp_buffer_free(ctx, NULL);
    mlp_model_free(m);
}

static void null__onnx_functions_refuse_null_handles(void **state)
{
    mlp_ctx *ctx = mlp_ctx_new(NULL);
    mlp_model *m = mlp_model_new(ctx);
    void *buf = NULL;
    size_t size = 0;
    (void)state;
    EXPECT_STATUS(ctx, mlp_model_save_onnx_mem(m, &buf, &size), MLP_ERR_STATE); /* no layers */
    assert_null(buf);
    assert_ok(ctx, mlp_model_add_linear(m, 2, 3));
    assert_int_equal(mlp_model_save_onnx(NULL, "x.onnx"), MLP_ERR_NULL);
    EXPECT_STATUS(ctx, mlp_model_save_onnx(m, NULL), MLP_ERR_NULL);
    assert_null(mlp_model_load_onnx(NULL, "x.onnx"));
    EXPECT_NULL_CODE(ctx, mlp_model_load_onnx(ctx, NULL), MLP_ERR_NULL);
    assert_int_equal(mlp_model_save_onnx_mem(NULL, &buf, &size), MLP_ERR_NULL);
    EXPECT_STATUS(ctx, mlp_model_save_onnx_mem(m, NULL, &size), MLP_ERR_NULL);
    EXPECT_STATUS(ctx, mlp_model_save_onnx_mem(m, &buf, NULL), MLP_ERR_NULL);
    assert_null(buf);
    assert_null(mlp_model_load_onnx_mem(NULL, "abc", 3));
    EXPECT_NULL_CODE(ctx, mlp_model_load_onnx_mem(ctx, NULL, 16), MLP_ERR_NULL);
    mlp_model_free(m);
    mlp_ctx_free(ctx);
}

static void null__npy_idx_csv_functions_refuse_null_handles(void **state)
{
    mlp_ctx *ctx = tu_ctx_of(state);
    mlp_tensor *t = tu_ones(ctx, 1, 3, 0);
    assert_null(mlp_npy_load(NULL, "x.npy"));
    EXPECT_NULL_CODE(ctx, mlp_npy_load(ctx, NULL), MLP_ERR_NULL);
    assert_null(mlp_npy_load_mem(NULL, "abc", 3));
    EXPECT_NULL_CODE(ctx, mlp_npy_load_mem(ctx, NULL, 16), MLP_ERR_NULL);
    assert_int_equal(mlp_npy_save(NULL, "x.npy"), MLP_ERR_NULL);
    EXPECT_STATUS(ctx, mlp_npy_save(t, NULL), MLP_ERR_NULL);
    assert_null(mlp_idx_load(NULL, "x.idx", 1.0f));
    EXPECT_NULL_CODE(ctx, mlp_idx_load(ctx, NULL, 1.0f), MLP_ERR_NULL);
    assert_null(mlp_idx_load_mem(NULL, "abc", 3, 1.0f));
    EXPECT_NULL_CODE(ctx, mlp_idx_load_mem(ctx, NULL, 16, 1.0f), MLP_ERR_NULL);
    assert_null(mlp_csv_load(NULL, "x.csv", 0));
    EXPECT_NULL_CODE(ctx, mlp_csv_load(ctx, NULL, 0), MLP_ERR_NULL);
    assert_null(mlp_csv_load_mem(NULL, "1,2\n", 4, 0));
    EXPECT_NULL_CODE(ctx, mlp_csv_load_mem(ctx, NULL, 16, 0), MLP_ERR_NULL);
    mlp_tensor_free(t);
}

static void null__optim_functions_refuse_null_handles(void **state)
{
    mlp_ctx *ctx = tu_ctx_of(state);
    mlp_tensor *p = tu_ones(ctx, 1, 3, 0);
    mlp_tensor *ps[2];
    mlp_optim *opt;
    assert_ok(ctx, mlp_tensor_set_requires_grad(p, 1));
    ps[0] = p;
    ps[1] = NULL;
    assert_null(mlp_optim_new(NULL, MLP_OPTIM_SGD, ps, 1, 0.1f));
    EXPECT_NULL_CODE(ctx, mlp_optim_new(ctx, MLP_OPTIM_SGD, NULL, 1, 0.1f), MLP_ERR_NULL);
    EXPECT_NULL_CODE(ctx, mlp_optim_new(ctx, MLP_OPTIM_ADAM, ps, 2, 0.1f), MLP_ERR_NULL);
    assert_null(mlp_sgd_new(NULL, 0.1f));
    assert_null(mlp_adam_new(NULL, 0.1f));
    assert_null(mlp_adamw_new(NULL, 0.1f));
    mlp_optim_free(NULL);
    assert_int_equal(mlp_optim_set(NULL, MLP_OPT_LR, 0.1), MLP_ERR_NULL);
    assert_true(isnan(mlp_optim_get(NULL, MLP_OPT_LR)));
    assert_int_equal(mlp_optim_zero_grad(NULL), MLP_ERR_NULL);
    assert_int_equal(mlp_optim_step(NULL), MLP_ERR_NULL);
    assert_true(mlp_optim_num_steps(NULL) <= 0);
    /* the schedules take no pointers; values worked out by hand */
    assert_close(mlp_lr_step(0.1f, 5, 2, 0.5f), 0.025, 1e-7, 0);
    assert_close(mlp_lr_cosine(0.1f, 0.0f, 5, 10), 0.05, 1e-7, 0);

    opt = mlp_optim_new(ctx, MLP_OPTIM_SGD, ps, 1, 0.1f);
    assert_handle(ctx, opt);
    EXPECT_STATUS(ctx, mlp_optim_set(opt, MLP_OPT_BETA1, 0.9), MLP_ERR_ARG);
    EXPECT_STATUS(ctx, mlp_optim_set(opt, (mlp_optim_opt)99, 0.9), MLP_ERR_ARG);
    EXPECT_STATUS(ctx, mlp_optim_set(opt, MLP_OPT_LR, -1.0), MLP_ERR_ARG);
    assert_ok(ctx, mlp_optim_step(opt)); /* no gradient yet: nothing to do */
    mlp_optim_free(opt);
    mlp_tensor_free(p);
}

static void null__checkpoint_functions_refuse_null_handles(void **state)
{
    mlp_ctx *ctx = mlp_ctx_new(NULL);
    mlp_tensor *x = tu_ones(ctx, 2, 4, 2), *y = tu_ones(ctx, 1, 4, 0);
    mlp_model *m = mlp_model_new(ctx), *got = NULL;
    mlp_optim *opt, *gopt = NULL;
    mlp_dataset *ds;
    void *buf = NULL;
    size_t size = 0;
    (void)state;
    assert_ok(ctx, mlp_model_add_linear(m, 2, 2));
    opt = mlp_sgd_new(m, 0.1f);
    ds = mlp_dataset_new(x, y);
    assert_handle(ctx, ds);

    assert_int_equal(mlp_checkpoint_save(NULL, opt, ds, "x.ckpt"), MLP_ERR_NULL);
    EXPECT_STATUS(ctx, mlp_checkpoint_save(m, NULL, ds, "x.ckpt"), MLP_ERR_NULL);
    EXPECT_STATUS(ctx, mlp_checkpoint_save(m, opt, NULL, "x.ckpt"), MLP_ERR_NULL);
    EXPECT_STATUS(ctx, mlp_checkpoint_save(m, opt, ds, NULL), MLP_ERR_NULL);
    assert_int_equal(mlp_checkpoint_save_mem(NULL, opt, ds, &buf, &size), MLP_ERR_NULL);
    EXPECT_STATUS(ctx, mlp_checkpoint_save_mem(m, NULL, ds, &buf, &size), MLP_ERR_NULL);
    EXPECT_STATUS(ctx, mlp_checkpoint_save_mem(m, opt, NULL, &buf, &size), MLP_ERR_NULL);
    EXPECT_STATUS(ctx, mlp_checkpoint_save_mem(m, opt, ds, NULL, &size), MLP_ERR_NULL);
    EXPECT_STATUS(ctx, mlp_checkpoint_save_mem(m, opt, ds, &buf, NULL), MLP_ERR_NULL);

    assert_int_equal(mlp_checkpoint_load(NULL, "x.ckpt", ds, &got, &gopt), MLP_ERR_NULL);
    EXPECT_STATUS(ctx, mlp_checkpoint_load(ctx, NULL, ds, &got, &gopt), MLP_ERR_NULL);
    EXPECT_STATUS(ctx, mlp_checkpoint_load(ctx, "x.ckpt", ds, NULL, &gopt), MLP_ERR_NULL);
    assert_int_equal(mlp_checkpoint_load_mem(NULL, "abc", 3, ds, &got, &gopt), MLP_ERR_NULL);
    EXPECT_STATUS(ctx, mlp_checkpoint_load_mem(ctx, NULL, 3, ds, &got, &gopt), MLP_ERR_NULL);
    EXPECT_STATUS(ctx, mlp_checkpoint_load_mem(ctx, "abc", 3, ds, NULL, &gopt), MLP_ERR_NULL);
    assert_null(got);
    assert_null(gopt);
    /* ds and out_opt may be NULL: only the model is taken out */
    assert_ok(ctx, mlp_checkpoint_save_mem(m, opt, ds, &buf, &size));
    assert_ok(ctx, mlp_checkpoint_load_mem(ctx, buf, size, NULL, &got, NULL));
    assert_int_equal(mlp_model_num_params(got), 2);

    mlp_buffer_free(ctx, buf);
    mlp_model_free(got);
    mlp_dataset_free(ds);
    mlp_optim_free(opt);
    mlp_model_free(m);
    mlp_tensor_free(x);
    mlp_tensor_free(y);
    mlp_ctx_free(ctx);
}

static void null__dataset_and_fit_functions_refuse_null_handles(void **state)
{
    mlp_ctx *ctx = tu_ctx_of(state);
    mlp_tensor *x = tu_ones(ctx, 2, 4, 2), *y = tu_ones(ctx, 1, 4, 0), *bx = NULL, *by = NULL;
    mlp_model *m = mlp_model_new(ctx);
    mlp_dataset *ds;
    mlp_optim *opt;
    float loss, acc;
    assert_ok(ctx, mlp_tensor_fill(y, 1.0f));
    assert_ok(ctx, mlp_model_add_linear(m, 2, 2));
    opt = mlp_sgd_new(m, 0.1f);
    assert_handle(ctx, opt);

    assert_null(mlp_dataset_new(NULL, NULL));
    EXPECT_NULL_CODE(ctx, mlp_dataset_new(x, NULL), MLP_ERR_NULL);
    EXPECT_NULL_CODE(ctx, mlp_dataset_new(NULL, y), MLP_ERR_NULL);
    mlp_dataset_free(NULL);
    assert_true(mlp_dataset_size(NULL) <= 0);
    assert_int_equal(mlp_dataset_shuffle(NULL), MLP_ERR_NULL);
    assert_true(mlp_dataset_num_batches(NULL, 2) <= 0);
    assert_int_equal(mlp_dataset_batch(NULL, 0, 2, &bx, &by), MLP_ERR_NULL);
    assert_true(mlp_dataset_epoch(NULL) == 0);
    assert_true(mlp_dataset_next_batch(NULL) == 0);

    ds = mlp_dataset_new(x, y);
    assert_handle(ctx, ds);
    EXPECT_STATUS(ctx, mlp_dataset_batch(ds, 0, 2, NULL, &by), MLP_ERR_NULL);
    EXPECT_STATUS(ctx, mlp_dataset_batch(ds, 0, 2, &bx, NULL), MLP_ERR_NULL);
    EXPECT_STATUS(ctx, mlp_dataset_batch(ds, 2, 2, &bx, &by), MLP_ERR_RANGE);

    assert_int_equal(mlp_fit(NULL, opt, ds, MLP_LOSS_CROSS_ENTROPY, 1, 2, NULL, NULL),
                     MLP_ERR_NULL);
    /* recorded on m's context: the message is what a caller of mlp_fit prints */
    EXPECT_STATUS(ctx, mlp_fit(m, NULL, ds, MLP_LOSS_CROSS_ENTROPY, 1, 2, NULL, NULL),
                  MLP_ERR_NULL);
    EXPECT_STATUS(ctx, mlp_fit(m, opt, NULL, MLP_LOSS_CROSS_ENTROPY, 1, 2, NULL, NULL),
                  MLP_ERR_NULL);
    assert_int_equal(mlp_evaluate(NULL, ds, MLP_LOSS_CROSS_ENTROPY, 2, &loss, &acc), MLP_ERR_NULL);
    EXPECT_STATUS(ctx, mlp_evaluate(m, NULL, MLP_LOSS_CROSS_ENTROPY, 2, &loss, &acc), MLP_ERR_NULL);
    mlp_ctx_clear_error(ctx);
    /* NULL outputs and a NULL progress callback are allowed */
    assert_ok(ctx, mlp_evaluate(m, ds, MLP_LOSS_CROSS_ENTROPY, 2, NULL, NULL));
    assert_ok(ctx, mlp_fit(m, opt, ds, MLP_LOSS_CROSS_ENTROPY, 1, 2, NULL, NULL));

    mlp_dataset_free(ds);
    mlp_optim_free(opt);
    mlp_model_free(m);
    mlp_tensor_free(x);
    mlp_tensor_free(y);
}

static int one_rank(void *user)
{
    (void)user;
    return 0;
}
static int one_size(void *user)
{
    (void)user;
    return 1;
}
static int no_broadcast(void *user, float *buf, int64_t n, int root)
{
    (void)user, (void)buf, (void)n, (void)root;
    return 0;
}
static int no_start(void *user, float *buf, int64_t n, void **req)
{
    (void)user, (void)buf, (void)n;
    *req = NULL;
    return 0;
}
static int no_wait(void *user, void *req)
{
    (void)user, (void)req;
    return 0;
}

static void null__comm_functions_refuse_null_handles(void **state)
{
    mlp_ctx *ctx = mlp_ctx_new(NULL), *other = mlp_ctx_new(NULL);
    mlp_tensor *x = tu_ones(ctx, 2, 4, 2), *y = tu_ones(ctx, 1, 4, 0);
    mlp_model *m = mlp_model_new(ctx);
    mlp_dataset *ds;
    mlp_optim *opt;
    mlp_comm_ops ops;
    mlp_comm *c, *elsewhere;
    float buf[2] = {1, 2}, loss, acc;
    (void)state;
    assert_ok(ctx, mlp_model_add_linear(m, 2, 2));
    opt = mlp_sgd_new(m, 0.1f);
    ds = mlp_dataset_new(x, y);
    memset(&ops, 0, sizeof ops);
    ops.struct_size = sizeof ops;
    ops.rank = one_rank;
    ops.size = one_size;
    ops.broadcast = no_broadcast;
    ops.allreduce_start = no_start;
    ops.wait = no_wait;

    assert_null(mlp_comm_new(NULL, &ops));
    EXPECT_NULL_CODE(ctx, mlp_comm_new(ctx, NULL), MLP_ERR_NULL);
    mlp_comm_free(NULL);
    assert_int_equal(mlp_comm_rank(NULL), -1);
    assert_int_equal(mlp_comm_size(NULL), 0);
    assert_null(mlp_comm_user(NULL));
    assert_int_equal(mlp_comm_allreduce(NULL, buf, 2), MLP_ERR_NULL);
    assert_int_equal(mlp_comm_broadcast(NULL, buf, 2, 0), MLP_ERR_NULL);
    assert_int_equal(mlp_optim_set_comm(NULL, NULL), MLP_ERR_NULL);
    assert_null(mlp_optim_comm(NULL));
    assert_int_equal(mlp_optim_skip_step(NULL), MLP_ERR_NULL);

    c = mlp_comm_new(ctx, &ops);
    elsewhere = mlp_comm_new(other, &ops);
    assert_handle(ctx, c);
    EXPECT_STATUS(ctx, mlp_comm_allreduce(c, NULL, 2), MLP_ERR_NULL);
    EXPECT_STATUS(ctx, mlp_comm_broadcast(c, NULL, 2, 0), MLP_ERR_NULL);
    EXPECT_STATUS(ctx, mlp_optim_set_comm(opt, elsewhere), MLP_ERR_CONTEXT);
    EXPECT_STATUS(ctx, mlp_optim_skip_step(opt), MLP_ERR_STATE);
    assert_int_equal(mlp_evaluate_comm(NULL, ds, c, MLP_LOSS_CROSS_ENTROPY, 2, &loss, &acc),
                     MLP_ERR_NULL);
    EXPECT_STATUS(ctx, mlp_evaluate_comm(m, NULL, c, MLP_LOSS_CROSS_ENTROPY, 2, &loss, &acc),
                  MLP_ERR_NULL);
    EXPECT_STATUS(ctx, mlp_evaluate_comm(m, ds, elsewhere, MLP_LOSS_CROSS_ENTROPY, 2, &loss, &acc),
                  MLP_ERR_CONTEXT);
    assert_ok(ctx, mlp_optim_set_comm(opt, c));
    assert_ok(ctx, mlp_evaluate_comm(m, ds, c, MLP_LOSS_CROSS_ENTROPY, 2, NULL, NULL));
    assert_ok(ctx, mlp_fit(m, opt, ds, MLP_LOSS_CROSS_ENTROPY, 1, 2, NULL, NULL));

    mlp_optim_free(opt);
    mlp_comm_free(c);
    mlp_comm_free(elsewhere);
    mlp_dataset_free(ds);
    mlp_model_free(m);
    mlp_tensor_free(x);
    mlp_tensor_free(y);
    mlp_ctx_free(ctx);
    mlp_ctx_free(other);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(null__version_and_status_functions_never_fail),
        TU_TEST(null__ctx_functions_accept_a_null_context),
        TU_TEST(null__tensor_functions_refuse_null_handles_and_pointers),
        TU_TEST(null__grad_and_tape_functions_refuse_null_handles),
        TU_TEST(null__ops_give_null_and_name_the_op),
        TU_TEST(null__model_functions_refuse_null_handles),
        TU_TEST(null__model_file_functions_refuse_null_handles),
        TU_TEST(null__onnx_functions_refuse_null_handles),
        TU_TEST(null__npy_idx_csv_functions_refuse_null_handles),
        TU_TEST(null__optim_functions_refuse_null_handles),
        TU_TEST(null__dataset_and_fit_functions_refuse_null_handles),
        cmocka_unit_test(null__comm_functions_refuse_null_handles),
        cmocka_unit_test(null__checkpoint_functions_refuse_null_handles),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
