/*
 * test_hostile.c - calls a careless or hostile user makes: batch sizes near
 * INT64_MAX (no signed overflow, no allocation beyond the dataset), empty
 * datasets in mlp_fit / mlp_evaluate, optimizer settings that overflow
 * float, the same tensor twice in one optimizer, NaN given to the
 * tape-free predict with finite checks on, allocation failures that must
 * name the function, a 5000-character path, and a sweep of failing calls
 * whose returned status must equal mlp_ctx_errcode every time.
 */
#include <errno.h>
#include <float.h>

#include "argcheck.h"

/* x [4,3] = 0..11, labels [4] = 0,1,2,0 */
static mlp_dataset *four_rows(mlp_ctx *ctx)
{
    float xd[12], yd[4] = {0, 1, 2, 0};
    int i;
    for (i = 0; i < 12; i++)
        xd[i] = (float)i / 11;
    return tu_dataset(ctx, 4, 3, xd, yd);
}

static mlp_model *small_model(mlp_ctx *ctx)
{
    mlp_ctx_seed(ctx, 3);
    return tu_mlp(ctx, 3, 4, 3);
}

static void dataset__batch_sizes_near_int64_max_are_one_batch(void **state)
{
    tu_alloc c;
    mlp_ctx *ctx = tu_ctx_capped(&c, (size_t)1 << 23); /* no block over 8 MiB */
    mlp_dataset *ds = four_rows(ctx);
    mlp_model *m = small_model(ctx);
    mlp_optim *opt = mlp_sgd_new(m, 0.1f);
    mlp_tensor *bx, *by;
    float loss = NAN, acc = NAN;
    int64_t sizes[4] = {INT64_MAX, INT64_MAX - 1, (int64_t)1 << 62, (int64_t)1 << 30};
    int i;
    (void)state;
    for (i = 0; i < 4; i++) {
        /* (n + bs - 1) / bs overflowed here and gave 0 batches */
        assert_int_equal(mlp_dataset_num_batches(ds, sizes[i]), 1);
        /* the buffers hold the 4 rows there are, not 2^30 (12.9 GB) */
        assert_ok(ctx, mlp_dataset_batch(ds, 0, sizes[i], &bx, &by));
        assert_int_equal(mlp_tensor_dim(bx, 0), 4);
        {
            /* every row, in whatever order: the values 0/11 .. 11/11 sum to 6 */
            double sum = 0;
            int64_t k;
            for (k = 0; k < 12; k++)
                sum += mlp_tensor_get(bx, k);
            assert_close(sum, 6.0, 1e-5, 0);
        }
        assert_ok(ctx, mlp_fit(m, opt, ds, MLP_LOSS_CROSS_ENTROPY, 1, sizes[i], NULL, NULL));
        assert_ok(ctx, mlp_evaluate(m, ds, MLP_LOSS_CROSS_ENTROPY, sizes[i], &loss, &acc));
        assert_true(isfinite(loss) && loss > 0);
    }
    /* one step per fit: four fits, four steps (none trained on nothing) */
    assert_int_equal(mlp_optim_num_steps(opt), 4);
    assert_int_equal(mlp_dataset_num_batches(ds, 3), 2);
    mlp_optim_free(opt);
    mlp_model_free(m);
    mlp_dataset_free(ds);
    mlp_ctx_free(ctx);
    assert_int_equal(c.live, 0);
}

static void fit__an_empty_dataset_is_refused(void **state)
{
    mlp_ctx *ctx = mlp_ctx_new(NULL);
    int64_t xs[2] = {0, 3}, ys[1] = {0};
    mlp_tensor *x = mlp_tensor_zeros(ctx, 2, xs), *y = mlp_tensor_zeros(ctx, 1, ys);
    mlp_dataset *ds = mlp_dataset_new(x, y);
    mlp_model *m = small_model(ctx);
    mlp_optim *opt = mlp_sgd_new(m, 0.1f);
    float loss = 7, acc = 7;
    (void)state;
    assert_handle(ctx, ds);
    assert_int_equal(mlp_dataset_num_batches(ds, 8), 0);
    EXPECT_STATUS(ctx, mlp_fit(m, opt, ds, MLP_LOSS_CROSS_ENTROPY, 1, 8, NULL, NULL), MLP_ERR_ARG);
    assert_int_equal(mlp_optim_num_steps(opt), 0);
    mlp_ctx_clear_error(ctx);
    assert_int_equal(mlp_evaluate(m, ds, MLP_LOSS_MSE, 8, &loss, &acc), MLP_ERR_ARG);
    EXPECT_MSG(ctx, "mlp_evaluate: the dataset has no samples");
    assert_true(loss == 7 && acc == 7); /* outputs untouched */
    mlp_optim_free(opt);
    mlp_model_free(m);
    mlp_dataset_free(ds);
    mlp_tensor_free(x);
    mlp_tensor_free(y);
    mlp_ctx_free(ctx);
}

static void optim__settings_beyond_float_are_refused(void **state)
{
    mlp_ctx *ctx = mlp_ctx_new(NULL);
    mlp_model *m = small_model(ctx);
    mlp_optim *sgd = mlp_sgd_new(m, 0.1f), *adamw = mlp_adamw_new(m, 0.1f);
    (void)state;
    EXPECT_STATUS(ctx, mlp_optim_set(sgd, MLP_OPT_LR, 1e300), MLP_ERR_ARG);
    EXPECT_STATUS(ctx, mlp_optim_set(sgd, MLP_OPT_WEIGHT_DECAY, 1e300), MLP_ERR_ARG);
    EXPECT_STATUS(ctx, mlp_optim_set(sgd, MLP_OPT_MOMENTUM, 1e39), MLP_ERR_ARG);
    EXPECT_STATUS(ctx, mlp_optim_set(adamw, MLP_OPT_EPS, 3.5e38), MLP_ERR_ARG);
    assert_int_equal(mlp_optim_set(adamw, MLP_OPT_WEIGHT_DECAY, -1e300), MLP_ERR_ARG);
    EXPECT_MSG(ctx, "beyond float's range");
    mlp_ctx_clear_error(ctx);
    /* refused values change nothing; FLT_MAX itself fits */
    assert_true(mlp_optim_get(sgd, MLP_OPT_LR) == (double)(float)0.1f);
    assert_ok(ctx, mlp_optim_set(sgd, MLP_OPT_WEIGHT_DECAY, FLT_MAX));
    mlp_optim_free(sgd);
    mlp_optim_free(adamw);
    mlp_model_free(m);
    mlp_ctx_free(ctx);
}

static void optim__a_tensor_listed_twice_is_refused(void **state)
{
    mlp_ctx *ctx = mlp_ctx_new(NULL);
    mlp_tensor *w = tu_ones(ctx, 2, 2, 2), *b = tu_ones(ctx, 1, 2, 1), *view, *ps[3];
    mlp_optim *o;
    (void)state;
    assert_ok(ctx, mlp_tensor_set_requires_grad(w, 1));
    assert_ok(ctx, mlp_tensor_set_requires_grad(b, 1));
    ps[0] = w;
    ps[1] = b;
    ps[2] = w;
    EXPECT_NULL_CODE_KEEP(ctx, mlp_optim_new(ctx, MLP_OPTIM_ADAM, ps, 3, 0.1f), MLP_ERR_ARG);
    EXPECT_MSG(ctx, "params[0] and params[2] are the same tensor");
    /* a detached view shares w's storage: updated twice all the same */
    view = mlp_tensor_detach(w);
    assert_ok(ctx, mlp_tensor_set_requires_grad(view, 1));
    ps[2] = view;
    EXPECT_NULL_CODE_KEEP(ctx, mlp_optim_new(ctx, MLP_OPTIM_SGD, ps, 3, 0.1f), MLP_ERR_ARG);
    EXPECT_MSG(ctx, "params[0] and params[2] share their storage");
    mlp_ctx_clear_error(ctx);
    o = mlp_optim_new(ctx, MLP_OPTIM_SGD, ps, 2, 0.1f);
    assert_handle(ctx, o);
    mlp_optim_free(o);
    mlp_tensor_free(view);
    mlp_tensor_free(w);
    mlp_tensor_free(b);
    mlp_ctx_free(ctx);
}

static void predict__finite_checks_cover_predict_and_classify(void **state)
{
    mlp_ctx *ctx = mlp_ctx_new(NULL);
    mlp_model *m = small_model(ctx);
    float x[6] = {0.5f, 1, -1, NAN, 0, 0}, out[6], big[3] = {1e30f, 1e30f, 1e30f};
    int32_t cls[2];
    (void)state;
    /* off (the default): NaN goes through as before */
    assert_ok(ctx, mlp_model_predict(m, x, 2, out));
    mlp_ctx_set_check_finite(ctx, 1);
    EXPECT_STATUS(ctx, mlp_model_predict(m, x, 2, out), MLP_ERR_NONFINITE);
    assert_int_equal(mlp_model_classify(m, x, 2, cls), MLP_ERR_NONFINITE);
    EXPECT_MSG(ctx, "mlp_model_classify: x at row 1, column 0 is nan");
    mlp_ctx_clear_error(ctx);
    assert_ok(ctx, mlp_model_predict(m, x, 1, out)); /* the first row is fine */
    /* finite input whose output overflows: weights of 1e30 times 1e30 */
    assert_ok(ctx, mlp_tensor_fill(mlp_model_param(m, 0), 1e30f));
    assert_int_equal(mlp_model_predict(m, big, 1, out), MLP_ERR_NONFINITE);
    EXPECT_MSG(ctx, "the output at row 0");
    mlp_model_free(m);
    mlp_ctx_free(ctx);
}

static void oom__allocation_failures_name_the_function(void **state)
{
    tu_alloc c;
    mlp_ctx *ctx = tu_ctx_capped(&c, (size_t)1 << 24);
    mlp_model *m = mlp_model_new(ctx);
    float x[2] = {0, 0}, out[2];
    (void)state;
    EXPECT_STATUS(ctx, mlp_model_add_linear(m, 1 << 20, 1 << 20), MLP_ERR_NOMEM);
    assert_int_equal(mlp_model_add_linear(m, 1 << 20, 1 << 20), MLP_ERR_NOMEM);
    EXPECT_MSG(ctx, "mlp_model_add_linear: out of memory allocating ");
    assert_ok(ctx, mlp_model_add_linear(m, 2, 2));
    /* predict's workspace is a block of up to 516 rows of the widest
       layer, 2 x 516 x 8192 floats here: more than the 16 MiB cap. It
       fails before reading x or writing out. */
    assert_ok(ctx, mlp_model_add_linear(m, 2, 8192));
    assert_int_equal(mlp_model_predict(m, x, 600, out), MLP_ERR_NOMEM);
    EXPECT_MSG(ctx, "mlp_model_predict: out of memory allocating ");
    assert_null(mlp_tensor_zeros(ctx, 1, (int64_t[]){(int64_t)1 << 30}));
    EXPECT_MSG(ctx, "mlp_tensor_zeros: out of memory allocating ");
    mlp_model_free(m);
    mlp_ctx_free(ctx);
    assert_int_equal(c.live, 0);
}

static void paths__a_long_path_keeps_the_reason_in_the_message(void **state)
{
    char path[5001], want[64];
    mlp_ctx *ctx = mlp_ctx_new(NULL);
    mlp_model *m = small_model(ctx);
    const char *msg;
    (void)state;
    memset(path, 'a', sizeof path - 1);
    memcpy(path + sizeof path - 9, "/end.mlp", 8);
    path[sizeof path - 1] = '\0';
    snprintf(want, sizeof want, ": %s", strerror(ENAMETOOLONG));
    EXPECT_NULL_CODE_KEEP(ctx, mlp_model_load(ctx, path), MLP_ERR_IO);
    msg = mlp_ctx_errmsg(ctx);
    EXPECT_MSG(ctx, "mlp_model_load: cannot open 'aaaa");
    EXPECT_MSG(ctx, "aaa...aaa"); /* shortened in the middle */
    EXPECT_MSG(ctx, "/end.mlp'");
    EXPECT_MSG(ctx, want);
    assert_true(strlen(msg) < 300);
    assert_int_equal(mlp_model_save(m, path), MLP_ERR_IO);
    EXPECT_MSG(ctx, "/end.mlp.tmp'");
    EXPECT_MSG(ctx, want);
    mlp_model_free(m);
    mlp_ctx_free(ctx);
}

/* ---- stale handles ---- */

static void stale__an_op_result_used_after_reset_is_reported(void **state)
{
    mlp_ctx *ctx = mlp_ctx_new(NULL);
    float xd[3] = {1, 2, 3};
    int64_t s3[1] = {3};
    mlp_tensor *x = mlp_tensor_from(ctx, 1, s3, xd), *y, *z, *w;
    (void)state;
    assert_ok(ctx, mlp_tensor_set_requires_grad(x, 1));
    y = mlp_scale(x, 2.0f);
    assert_handle(ctx, y);
    assert_true(mlp_tensor_get(y, 2) == 6.0f);
    mlp_tape_reset(ctx);
    /* the next step's result must not be y's handle, or y would read z */
    z = mlp_scale(x, 3.0f);
    assert_handle(ctx, z);
    assert_true(z != y);
    assert_true(mlp_tensor_get(z, 2) == 9.0f);
    /* every use of y is MLP_ERR_STATE saying its step was reset */
    mlp_ctx_clear_error(ctx);
    assert_true(isnan(mlp_tensor_get(y, 0)));
    assert_int_equal(mlp_ctx_errcode(ctx), MLP_ERR_STATE);
    EXPECT_MSG(ctx, "mlp_tensor_get: t is an op result of a step that was reset");
    mlp_ctx_clear_error(ctx);
    assert_null(mlp_tensor_data(y));
    assert_int_equal(mlp_ctx_errcode(ctx), MLP_ERR_STATE);
    mlp_ctx_clear_error(ctx);
    assert_int_equal(mlp_tensor_numel(y), 0);
    assert_int_equal(mlp_tensor_ndim(y), -1);
    assert_true(isnan(mlp_tensor_item(mlp_sum(y))));
    EXPECT_NULL_CODE_KEEP(ctx, mlp_relu(y), MLP_ERR_STATE);
    EXPECT_MSG(ctx, "mlp_relu: x is an op result of a step that was reset");
    EXPECT_NULL_CODE_KEEP(ctx, mlp_add(z, y), MLP_ERR_STATE);
    EXPECT_MSG(ctx, "mlp_add: b is an op result");
    EXPECT_STATUS(ctx, mlp_backward(y, NULL, 0), MLP_ERR_STATE);
    EXPECT_STATUS(ctx, mlp_backward(z, y, 0), MLP_ERR_STATE);
    EXPECT_STATUS(ctx, mlp_tensor_copy(x, y), MLP_ERR_STATE);
    EXPECT_STATUS(ctx, mlp_tensor_fill(y, 0.0f), MLP_ERR_STATE);
    EXPECT_NULL_CODE(ctx, mlp_tensor_clone(y), MLP_ERR_STATE);
    EXPECT_NULL_CODE(ctx, mlp_tensor_detach(y), MLP_ERR_STATE);
    mlp_tensor_free(y); /* still a harmless no-op */
    assert_true(mlp_tensor_ctx(y) == ctx);
    /* z is untouched by all this, and a detached copy outlives resets */
    assert_true(mlp_tensor_get(z, 0) == 3.0f);
    w = mlp_tensor_detach(z);
    assert_handle(ctx, w);
    mlp_tape_reset(ctx);
    assert_true(mlp_tensor_get(w, 1) == 6.0f);
    mlp_ctx_clear_error(ctx);
    assert_true(isnan(mlp_tensor_get(z, 1)));
    assert_int_equal(mlp_ctx_errcode(ctx), MLP_ERR_STATE);
    mlp_tensor_free(w);
    mlp_tensor_free(x);
    mlp_ctx_free(ctx);
}

/* ---- the returned status and mlp_ctx_errcode agree ---- */

static long swept;

/* call fails, and returns what ctx then records */
#define AGREE(ctx, call)                                                                           \
    do {                                                                                           \
        mlp_status s_;                                                                             \
        mlp_ctx_clear_error(ctx);                                                                  \
        s_ = (call);                                                                               \
        swept++;                                                                                   \
        if (s_ == MLP_OK || s_ != mlp_ctx_errcode(ctx)) {                                          \
            print_error("%s: returned %s, mlp_ctx_errcode %s (%s)\n", #call, mlp_status_str(s_),   \
                        mlp_status_str(mlp_ctx_errcode(ctx)), mlp_ctx_errmsg(ctx));                \
            fail();                                                                                \
        }                                                                                          \
    } while (0)

static int stop_at_once(void *user, int epoch, int64_t b, int64_t nb, float loss, float acc)
{
    (void)user, (void)epoch, (void)b, (void)nb, (void)loss, (void)acc;
    return 1;
}

static void sweep__every_failing_call_returns_the_code_it_records(void **state)
{
    tu_alloc c;
    mlp_ctx *ctx = tu_ctx_capped(&c, (size_t)1 << 26), *other = mlp_ctx_new(NULL);
    mlp_tensor *a23 = tu_ones(ctx, 2, 2, 3), *a32 = tu_ones(ctx, 2, 3, 2),
               *v3 = tu_ones(ctx, 1, 3, 1), *y, *bx, *by;
    mlp_tensor *foreign = tu_ones(other, 2, 2, 3), *ps[2];
    mlp_model *m = small_model(ctx), *empty = mlp_model_new(ctx);
    mlp_optim *sgd = mlp_sgd_new(m, 0.1f), *adam = mlp_adam_new(m, 0.1f);
    mlp_dataset *ds = four_rows(ctx);
    float x[6] = {0}, out[6], buf[3] = {0};
    int32_t cls[2];
    void *mem;
    size_t size;
    int64_t s2[2] = {3, 3}, s5[5] = {1, 1, 1, 1, 1}, huge[2] = {(int64_t)1 << 40, 1 << 20};
    (void)state;
    swept = 0;
    /* context */
    AGREE(ctx, mlp_ctx_set_threads(ctx, 0));
    AGREE(ctx, mlp_ctx_set_threads(ctx, -5));
    AGREE(ctx, mlp_ctx_set_gemm_kernel(ctx, "no-such-kernel"));
    AGREE(ctx, mlp_ctx_set_gemm_kernel(ctx, ""));
    /* tensors */
    AGREE(ctx, mlp_tensor_copy(a23, v3));
    AGREE(ctx, mlp_tensor_copy(a23, NULL));
    AGREE(ctx, mlp_tensor_set_data(a23, buf, 3));
    AGREE(ctx, mlp_tensor_set_data(a23, NULL, 6));
    AGREE(ctx, mlp_tensor_set_shape(a23, 2, s2));
    AGREE(ctx, mlp_tensor_set_shape(a23, 5, s5));
    AGREE(ctx, mlp_tensor_set_shape(a23, -1, s2));
    AGREE(ctx, mlp_tensor_set_shape(a23, 2, huge));
    AGREE(ctx, mlp_tensor_set_shape(a23, 2, NULL));
    assert_ok(ctx, mlp_tensor_set_requires_grad(a23, 1));
    y = mlp_scale(a23, 2.0f);
    assert_handle(ctx, y);
    AGREE(ctx, mlp_tensor_set_requires_grad(y, 0));
    AGREE(ctx, mlp_tensor_set_shape(y, 2, s2));
    /* backward */
    AGREE(ctx, mlp_backward(y, NULL, 0));
    AGREE(ctx, mlp_backward(y, v3, 0));
    AGREE(ctx, mlp_backward(y, foreign, 0));
    AGREE(ctx, mlp_backward(v3, NULL, 0));
    assert_ok(ctx, mlp_backward(mlp_sum(y), NULL, 0));
    AGREE(ctx, mlp_backward(mlp_sum(y), NULL, 0) == MLP_OK ? mlp_backward(y, a32, 0)
                                                           : mlp_ctx_errcode(ctx));
    mlp_tape_reset(ctx);
    AGREE(ctx, mlp_gradcheck(ctx, NULL, NULL, &a23, 1, 1e-3f, 1e-3f, 1e-2f));
    /* models */
    AGREE(ctx, mlp_model_add_linear(m, 5, 2));
    AGREE(ctx, mlp_model_add_linear(m, 3, 0));
    AGREE(ctx, mlp_model_add_linear(m, 3, -1));
    AGREE(ctx, mlp_model_add_linear(m, 3, (int64_t)1 << 40));
    AGREE(ctx, mlp_model_add_linear(m, 3, 1 << 30)); /* the capped allocator refuses */
    AGREE(ctx, mlp_model_add_linear_init(m, 3, 2, (mlp_init)99));
    AGREE(ctx, mlp_model_add_act(m, (mlp_act)99));
    AGREE(ctx, mlp_model_add_dropout(m, 1.0f));
    AGREE(ctx, mlp_model_add_dropout(m, -0.5f));
    AGREE(ctx, mlp_model_add_dropout(m, NAN));
    AGREE(ctx, mlp_model_predict(empty, x, 1, out));
    AGREE(ctx, mlp_model_predict(m, x, -1, out));
    AGREE(ctx, mlp_model_predict(m, NULL, 2, out));
    AGREE(ctx, mlp_model_predict(m, x, 2, NULL));
    AGREE(ctx, mlp_model_predict(m, x, INT64_MAX / 2, out));
    AGREE(ctx, mlp_model_classify(m, x, -1, cls));
    AGREE(ctx, mlp_model_classify(m, NULL, 2, cls));
    AGREE(ctx, mlp_model_classify(empty, x, 2, cls));
    AGREE(ctx, mlp_model_save(m, NULL));
    AGREE(ctx, mlp_model_save(m, ""));
    AGREE(ctx, mlp_model_save(m, "/no/such/directory/m.mlp"));
    AGREE(ctx, mlp_model_save_mem(m, NULL, &size));
    AGREE(ctx, mlp_model_save_mem(m, &mem, NULL));
    /* optimizers */
    AGREE(ctx, mlp_optim_set(sgd, MLP_OPT_BETA1, 0.5));
    AGREE(ctx, mlp_optim_set(adam, MLP_OPT_MOMENTUM, 0.5));
    AGREE(ctx, mlp_optim_set(sgd, (mlp_optim_opt)99, 0.5));
    AGREE(ctx, mlp_optim_set(sgd, MLP_OPT_LR, -1));
    AGREE(ctx, mlp_optim_set(sgd, MLP_OPT_LR, NAN));
    AGREE(ctx, mlp_optim_set(sgd, MLP_OPT_LR, 1e300));
    AGREE(ctx, mlp_optim_set(sgd, MLP_OPT_NESTEROV, 1));
    AGREE(ctx, mlp_optim_set(sgd, MLP_OPT_NESTEROV, 0.5));
    AGREE(ctx, mlp_optim_set(adam, MLP_OPT_BETA2, 1));
    AGREE(ctx, mlp_optim_set(adam, MLP_OPT_EPS, -1));
    AGREE(ctx, mlp_optim_set(adam, MLP_OPT_AMSGRAD, 2));
    AGREE(ctx, mlp_optim_set(adam, MLP_OPT_WEIGHT_DECAY, INFINITY));
    /* files */
    AGREE(ctx, mlp_npy_save(a23, NULL));
    AGREE(ctx, mlp_npy_save(a23, "/no/such/directory/t.npy"));
    /* datasets and training */
    AGREE(ctx, mlp_dataset_batch(ds, 0, 0, &bx, &by));
    AGREE(ctx, mlp_dataset_batch(ds, -1, 2, &bx, &by));
    AGREE(ctx, mlp_dataset_batch(ds, 2, 2, &bx, &by));
    AGREE(ctx, mlp_dataset_batch(ds, 5, (int64_t)1 << 62, &bx, &by));
    AGREE(ctx, mlp_dataset_batch(ds, 0, 2, NULL, &by));
    AGREE(ctx, mlp_dataset_batch(ds, 0, 2, &bx, NULL));
    AGREE(ctx, mlp_fit(m, sgd, ds, (mlp_loss_kind)9, 1, 2, NULL, NULL));
    AGREE(ctx, mlp_fit(m, sgd, ds, MLP_LOSS_CROSS_ENTROPY, -1, 2, NULL, NULL));
    AGREE(ctx, mlp_fit(m, sgd, ds, MLP_LOSS_CROSS_ENTROPY, 1, 0, NULL, NULL));
    AGREE(ctx, mlp_fit(m, sgd, NULL, MLP_LOSS_CROSS_ENTROPY, 1, 2, NULL, NULL));
    AGREE(ctx, mlp_fit(m, NULL, ds, MLP_LOSS_CROSS_ENTROPY, 1, 2, NULL, NULL));
    AGREE(ctx, mlp_fit(m, sgd, ds, MLP_LOSS_MSE, 1, 2, stop_at_once, NULL)); /* [b,3] vs [b] */
    AGREE(ctx, mlp_evaluate(m, ds, (mlp_loss_kind)9, 2, NULL, NULL));
    AGREE(ctx, mlp_evaluate(m, ds, MLP_LOSS_CROSS_ENTROPY, -2, NULL, NULL));
    AGREE(ctx, mlp_evaluate(m, NULL, MLP_LOSS_CROSS_ENTROPY, 2, NULL, NULL));
    AGREE(ctx, mlp_evaluate(m, ds, MLP_LOSS_BCE_WITH_LOGITS, 2, NULL, NULL));
    ps[0] = a23;
    ps[1] = a23;
    AGREE(ctx, mlp_optim_new(ctx, MLP_OPTIM_SGD, ps, 2, 0.1f) ? MLP_OK : mlp_ctx_errcode(ctx));
    AGREE(ctx, mlp_model_forward(m, foreign) ? MLP_OK : mlp_ctx_errcode(ctx));
    AGREE(ctx, mlp_csv_load_mem(ctx, "1,x\n", 4, 0) ? MLP_OK : mlp_ctx_errcode(ctx));
    printf("%ld failing calls swept\n", swept);
    assert_true(swept >= 75);
    mlp_tape_reset(ctx);
    mlp_optim_free(sgd);
    mlp_optim_free(adam);
    mlp_model_free(m);
    mlp_model_free(empty);
    mlp_dataset_free(ds);
    mlp_tensor_free(a23);
    mlp_tensor_free(a32);
    mlp_tensor_free(v3);
    mlp_tensor_free(foreign);
    mlp_ctx_free(ctx);
    mlp_ctx_free(other);
    assert_int_equal(c.live, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(dataset__batch_sizes_near_int64_max_are_one_batch),
        cmocka_unit_test(fit__an_empty_dataset_is_refused),
        cmocka_unit_test(optim__settings_beyond_float_are_refused),
        cmocka_unit_test(optim__a_tensor_listed_twice_is_refused),
        cmocka_unit_test(predict__finite_checks_cover_predict_and_classify),
        cmocka_unit_test(oom__allocation_failures_name_the_function),
        cmocka_unit_test(paths__a_long_path_keeps_the_reason_in_the_message),
        cmocka_unit_test(stale__an_op_result_used_after_reset_is_reported),
        cmocka_unit_test(sweep__every_failing_call_returns_the_code_it_records),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
