/*
 * test_data.c - datasets (shuffle, batches, the partial last batch, no
 * allocation after warm-up), the IDX and CSV readers on good and bad
 * input, and the mlp_fit / mlp_evaluate loop.
 */
#include "testutil.h"

#include "data/data.h" /* mlp__count_correct: the accuracy of mlp_fit and mlp_evaluate */

static mlp_tensor *seq(mlp_ctx *ctx, int64_t rows, int64_t cols, float base)
{
    int64_t shape[2];
    mlp_tensor *t;
    int64_t i;
    shape[0] = rows;
    shape[1] = cols;
    t = mlp_tensor_zeros(ctx, cols ? 2 : 1, shape);
    for (i = 0; i < mlp_tensor_numel(t); i++)
        mlp_tensor_data(t)[i] = base + (float)i;
    return t;
}

static void dataset__shuffle_is_pinned_for_a_seed(void **state)
{
    /* order for seed 42 from a Python transcription of xoshiro128** and
       the Fisher-Yates pass with rejection sampling (see src/base/rng.c) */
    static const float expect[10] = {1, 0, 9, 6, 2, 5, 3, 7, 8, 4};
    mlp_ctx *ctx = tu_ctx_of(state);
    mlp_tensor *x = seq(ctx, 10, 2, 0), *y = seq(ctx, 10, 0, 0), *bx, *by;
    mlp_dataset *ds;
    int i;
    mlp_ctx_seed(ctx, 42);
    ds = mlp_dataset_new(x, y);
    assert_handle(ctx, ds);
    mlp_tensor_free(x); /* the dataset keeps the storage */
    mlp_tensor_free(y);
    assert_ok(ctx, mlp_dataset_shuffle(ds));
    assert_ok(ctx, mlp_dataset_batch(ds, 0, 10, &bx, &by));
    for (i = 0; i < 10; i++) {
        assert_true(mlp_tensor_get(by, i) == expect[i]);
        assert_true(mlp_tensor_get(bx, 2 * i) == 2 * expect[i]);
        assert_true(mlp_tensor_get(bx, 2 * i + 1) == 2 * expect[i] + 1);
    }
    mlp_dataset_free(ds);
}

static void dataset__epoch_covers_every_sample_once_with_partial_last_batch(void **state)
{
    mlp_ctx *ctx = tu_ctx_of(state);
    mlp_tensor *x = seq(ctx, 23, 3, 0), *y = seq(ctx, 23, 0, 100), *bx, *by;
    mlp_dataset *ds = mlp_dataset_new(x, y);
    int seen[23] = {0};
    int64_t b, r;
    assert_int_equal(mlp_dataset_size(ds), 23);
    assert_int_equal(mlp_dataset_num_batches(ds, 5), 5);
    assert_ok(ctx, mlp_dataset_shuffle(ds));
    for (b = 0; b < 5; b++) {
        assert_ok(ctx, mlp_dataset_batch(ds, b, 5, &bx, &by));
        assert_int_equal(mlp_tensor_dim(bx, 0), b < 4 ? 5 : 3);
        assert_int_equal(mlp_tensor_dim(bx, 1), 3);
        assert_int_equal(mlp_tensor_numel(by), b < 4 ? 5 : 3);
        for (r = 0; r < mlp_tensor_dim(bx, 0); r++) {
            int i = (int)(mlp_tensor_get(by, r) - 100);
            assert_true(i >= 0 && i < 23);
            seen[i]++;
            assert_true(mlp_tensor_get(bx, 3 * r) == 3.0f * i); /* rows stay paired */
        }
    }
    for (r = 0; r < 23; r++)
        assert_int_equal(seen[r], 1);
    assert_int_equal(mlp_dataset_batch(ds, 5, 5, &bx, &by), MLP_ERR_RANGE);
    assert_int_equal(mlp_dataset_batch(ds, 0, 0, &bx, &by), MLP_ERR_ARG);
    assert_int_equal(mlp_dataset_batch(ds, 0, 5, NULL, &by), MLP_ERR_NULL);
    mlp_dataset_free(ds);
    mlp_tensor_free(x);
    mlp_tensor_free(y);
}

static void dataset__no_allocation_after_the_first_batch(void **state)
{
    tu_alloc *a = &tu_fix(state)->alloc;
    mlp_ctx *ctx = tu_ctx_of(state);
    mlp_tensor *x = seq(ctx, 50, 4, 0), *y = seq(ctx, 50, 0, 0), *bx, *by;
    mlp_dataset *ds = mlp_dataset_new(x, y);
    long calls;
    int epoch;
    int64_t b;
    assert_ok(ctx, mlp_dataset_batch(ds, 0, 16, &bx, &by));
    calls = a->calls;
    for (epoch = 0; epoch < 3; epoch++) {
        assert_ok(ctx, mlp_dataset_shuffle(ds));
        for (b = 0; b < mlp_dataset_num_batches(ds, 16); b++)
            assert_ok(ctx, mlp_dataset_batch(ds, b, 16, &bx, &by));
    }
    assert_int_equal(a->calls, calls);
    mlp_dataset_free(ds);
    mlp_tensor_free(x);
    mlp_tensor_free(y);
}

static void dataset__mismatched_samples_and_nulls_are_refused(void **state)
{
    mlp_ctx *ctx = tu_ctx_of(state);
    mlp_tensor *x = seq(ctx, 5, 2, 0), *y = seq(ctx, 4, 0, 0);
    assert_null(mlp_dataset_new(x, y));
    assert_int_equal(mlp_ctx_errcode(ctx), MLP_ERR_SHAPE);
    mlp_ctx_clear_error(ctx); /* else the NULL is reported as a consequence of it */
    assert_null(mlp_dataset_new(x, NULL));
    assert_int_equal(mlp_ctx_errcode(ctx), MLP_ERR_NULL);
    assert_int_equal(mlp_dataset_shuffle(NULL), MLP_ERR_NULL);
    assert_int_equal(mlp_dataset_size(NULL), 0);
    mlp_dataset_free(NULL);
    mlp_tensor_free(x);
    mlp_tensor_free(y);
}

/* ---- IDX ---- */

static void idx__reads_u8_images_and_big_endian_types(void **state)
{
    static const unsigned char u8[] = {0, 0, 0x08, 3, 0, 0, 0, 2,   0,  0,
                                       0, 2, 0,    0, 0, 1, 0, 255, 10, 20};
    /* i16 -2 and 300, f32 1.5 (0x3FC00000), i32 -7 */
    static const unsigned char i16[] = {0, 0, 0x0B, 1, 0, 0, 0, 2, 0xFF, 0xFE, 0x01, 0x2C};
    static const unsigned char f32[] = {0, 0, 0x0D, 1, 0, 0, 0, 1, 0x3F, 0xC0, 0, 0};
    static const unsigned char i32[] = {0, 0, 0x0C, 1, 0, 0, 0, 1, 0xFF, 0xFF, 0xFF, 0xF9};
    mlp_ctx *ctx = tu_ctx_of(state);
    mlp_tensor *t;
    t = mlp_idx_load_mem(ctx, u8, sizeof u8, 0.5f);
    assert_handle(ctx, t);
    assert_int_equal(mlp_tensor_ndim(t), 3);
    assert_int_equal(mlp_tensor_dim(t, 0), 2);
    assert_true(mlp_tensor_get(t, 1) == 127.5f);
    assert_true(mlp_tensor_get(t, 3) == 10.0f);
    mlp_tensor_free(t);
    t = mlp_idx_load_mem(ctx, i16, sizeof i16, 1.0f);
    assert_handle(ctx, t);
    assert_true(mlp_tensor_get(t, 0) == -2.0f && mlp_tensor_get(t, 1) == 300.0f);
    mlp_tensor_free(t);
    t = mlp_idx_load_mem(ctx, f32, sizeof f32, 1.0f);
    assert_handle(ctx, t);
    assert_true(mlp_tensor_get(t, 0) == 1.5f);
    mlp_tensor_free(t);
    t = mlp_idx_load_mem(ctx, i32, sizeof i32, 1.0f);
    assert_handle(ctx, t);
    assert_true(mlp_tensor_get(t, 0) == -7.0f);
    mlp_tensor_free(t);
}

static void idx__every_bad_variant_is_an_error(void **state)
{
    static const unsigned char good[] = {0, 0, 0x08, 2, 0, 0, 0, 2, 0, 0, 0, 2, 1, 2, 3, 4};
    unsigned char bad[sizeof good];
    mlp_ctx *ctx = tu_ctx_of(state);
    size_t n;
    /* every truncation */
    for (n = 0; n < sizeof good; n++) {
        assert_null(mlp_idx_load_mem(ctx, good, n, 1.0f));
        assert_int_equal(mlp_ctx_errcode(ctx), MLP_ERR_FORMAT);
    }
    memcpy(bad, good, sizeof good);
    bad[0] = 1; /* magic */
    assert_null(mlp_idx_load_mem(ctx, bad, sizeof bad, 1.0f));
    memcpy(bad, good, sizeof good);
    bad[2] = 0x07; /* unknown type */
    assert_null(mlp_idx_load_mem(ctx, bad, sizeof bad, 1.0f));
    assert_non_null(strstr(mlp_ctx_errmsg(ctx), "0x07"));
    memcpy(bad, good, sizeof good);
    bad[3] = 0; /* ndim 0 */
    assert_null(mlp_idx_load_mem(ctx, bad, sizeof bad, 1.0f));
    bad[3] = 5; /* ndim 5 */
    assert_null(mlp_idx_load_mem(ctx, bad, sizeof bad, 1.0f));
    memcpy(bad, good, sizeof good);
    bad[4] = 0x7F; /* a dimension far larger than the file */
    assert_null(mlp_idx_load_mem(ctx, bad, sizeof bad, 1.0f));
    assert_int_equal(mlp_ctx_errcode(ctx), MLP_ERR_FORMAT);
    assert_null(mlp_idx_load(ctx, "/nonexistent/file.idx", 1.0f));
    assert_int_equal(mlp_ctx_errcode(ctx), MLP_ERR_IO);
    assert_non_null(strstr(mlp_ctx_errmsg(ctx), "/nonexistent/file.idx"));
}

/* ---- CSV ---- */

static void csv__reads_numbers_header_crlf_and_trailing_blank(void **state)
{
    static const char text[] = "a,b,c\r\n1,2.5,-3\r\n4, 5e1 ,6\r\n\r\n";
    mlp_ctx *ctx = tu_ctx_of(state);
    mlp_tensor *t = mlp_csv_load_mem(ctx, text, strlen(text), 1);
    assert_handle(ctx, t);
    assert_int_equal(mlp_tensor_dim(t, 0), 2);
    assert_int_equal(mlp_tensor_dim(t, 1), 3);
    assert_true(mlp_tensor_get(t, 1) == 2.5f);
    assert_true(mlp_tensor_get(t, 2) == -3.0f);
    assert_true(mlp_tensor_get(t, 4) == 50.0f);
    mlp_tensor_free(t);
    t = mlp_csv_load_mem(ctx, "7\n8", 3, 0); /* no final newline */
    assert_handle(ctx, t);
    assert_int_equal(mlp_tensor_dim(t, 0), 2);
    assert_true(mlp_tensor_get(t, 1) == 8.0f);
    mlp_tensor_free(t);
}

static void csv__bad_files_name_line_and_column(void **state)
{
    mlp_ctx *ctx = tu_ctx_of(state);
    assert_null(mlp_csv_load_mem(ctx, "1,2\n3\n", 6, 0));
    assert_int_equal(mlp_ctx_errcode(ctx), MLP_ERR_FORMAT);
    assert_non_null(strstr(mlp_ctx_errmsg(ctx), "line 2"));
    assert_null(mlp_csv_load_mem(ctx, "1,2\n3,x\n", 8, 0));
    assert_non_null(strstr(mlp_ctx_errmsg(ctx), "line 2, column 2"));
    assert_null(mlp_csv_load_mem(ctx, "1,2\n3,4,5\n", 10, 0));
    assert_int_equal(mlp_ctx_errcode(ctx), MLP_ERR_FORMAT);
    assert_null(mlp_csv_load_mem(ctx, "", 0, 0));
    assert_int_equal(mlp_ctx_errcode(ctx), MLP_ERR_FORMAT);
    assert_null(mlp_csv_load_mem(ctx, "h\n", 2, 1));
    assert_null(mlp_csv_load_mem(ctx, "1,,2\n", 5, 0));
    assert_null(mlp_csv_load_mem(ctx, "1\n\n2\n", 5, 0));
    assert_non_null(strstr(mlp_ctx_errmsg(ctx), "empty"));
    assert_null(mlp_csv_load(ctx, NULL, 0));
    assert_int_equal(mlp_ctx_errcode(ctx), MLP_ERR_NULL);
}

/* ---- fit ---- */

typedef struct {
    int batches, epochs;
    float first, last, acc;
} progress_log;

static int on_progress(void *user, int epoch, int64_t batch, int64_t nbatches, float loss,
                       float acc)
{
    progress_log *p = (progress_log *)user;
    (void)epoch;
    if (batch == nbatches) {
        if (p->epochs == 0)
            p->first = loss;
        p->last = loss;
        p->acc = acc;
        p->epochs++;
    } else {
        assert_true(isnan(acc));
        p->batches++;
    }
    return 0;
}

static void fit__lowers_the_loss_and_reports_every_batch(void **state)
{
    /* two Gaussian blobs, labels 0/1, a 2-8-2 classifier */
    mlp_ctx *ctx = tu_ctx_of(state);
    int64_t xs[2] = {64, 2}, ys[1] = {64};
    mlp_tensor *x, *y;
    mlp_model *m;
    mlp_optim *o;
    mlp_dataset *ds;
    progress_log log;
    float loss, acc;
    int i;
    mlp_ctx_seed(ctx, 3);
    x = mlp_tensor_rand_normal(ctx, 2, xs, 0.0f, 0.5f);
    y = mlp_tensor_zeros(ctx, 1, ys);
    for (i = 0; i < 64; i++) {
        float c = (float)(i % 2);
        mlp_tensor_data(y)[i] = c;
        mlp_tensor_data(x)[2 * i] += c ? 2.0f : -2.0f;
    }
    ds = mlp_dataset_new(x, y);
    m = tu_mlp(ctx, 2, 8, 2);
    o = mlp_sgd_new(m, 0.1f);
    memset(&log, 0, sizeof log);
    assert_ok(ctx, mlp_fit(m, o, ds, MLP_LOSS_CROSS_ENTROPY, 20, 10, on_progress, &log));
    assert_int_equal(log.epochs, 20);
    assert_int_equal(log.batches, 20 * 7); /* 64 samples in batches of 10 */
    assert_true(log.last < log.first);
    assert_ok(ctx, mlp_evaluate(m, ds, MLP_LOSS_CROSS_ENTROPY, 16, &loss, &acc));
    assert_true(acc >= 0.95f);
    assert_true(loss < log.first);
    assert_int_equal(mlp_tape_size(ctx), 0);
    assert_int_equal(mlp_ctx_grad_enabled(ctx), 1);
    assert_int_equal(mlp_model_is_training(m), 1);
    assert_int_equal(mlp_fit(m, o, ds, (mlp_loss_kind)9, 1, 10, NULL, NULL), MLP_ERR_ARG);
    assert_int_equal(mlp_fit(m, o, ds, MLP_LOSS_MSE, 1, 10, NULL, NULL) != MLP_OK, 1);
    mlp_tape_reset(ctx);
    assert_int_equal(mlp_fit(NULL, o, ds, MLP_LOSS_MSE, 1, 10, NULL, NULL), MLP_ERR_NULL);
    mlp_optim_free(o);
    mlp_model_free(m);
    mlp_dataset_free(ds);
    mlp_tensor_free(x);
    mlp_tensor_free(y);
}

/* A row's predicted class as mlp_fit and mlp_evaluate count it: the
 * first of equal maxima; a NaN never compares greater, so one in column 0
 * keeps that column and one elsewhere is passed over (PyTorch's argmax
 * would take the NaN's column: a row with NaN has no right answer). */
static int64_t first_max(const float *row, int64_t k)
{
    int64_t c, best = 0;
    for (c = 1; c < k; c++)
        if (row[c] > row[best])
            best = c;
    return best;
}

static void fit__accuracy_counts_a_row_whose_first_maximum_is_its_label(void **state)
{
    /* rows with ties, NaN, infinities and signed zeros, then 2000 rows of
       small integers (ties in most rows) against first_max */
    static const float rows[9][4] = {{1, 3, 2, 0},
                                     {5, 5, 1, 0},
                                     {5, 5, 1, 0},
                                     {NAN, 1, 2, 0},
                                     {1, NAN, 2, 0},
                                     {1, NAN, 2, 0},
                                     {-INFINITY, -INFINITY, -INFINITY, -INFINITY},
                                     {-0.0f, 0.0f, -1, -2},
                                     {0, 0, 0, 7}};
    static const float labels[9] = {1, 1, 0, 0, 2, 1, 0, 0, 2};
    mlp_ctx *ctx = tu_ctx_of(state);
    int64_t shape[2] = {9, 4}, r, c, expect = 0;
    mlp_tensor *x = mlp_tensor_from(ctx, 2, shape, &rows[0][0]), *y;
    shape[0] = 9;
    y = mlp_tensor_from(ctx, 1, shape, labels);
    assert_non_null(x);
    assert_non_null(y);
    assert_int_equal(mlp__count_correct(x, y), 6); /* rows 0, 2, 3, 4, 6, 7 */
    mlp_tensor_free(x);
    mlp_tensor_free(y);
    shape[0] = 2000;
    shape[1] = 10;
    x = mlp_tensor_zeros(ctx, 2, shape);
    y = mlp_tensor_zeros(ctx, 1, shape);
    for (r = 0; r < 2000; r++) {
        float *row = mlp_tensor_data(x) + r * 10;
        for (c = 0; c < 10; c++)
            row[c] = (float)(rand() % 4);
        mlp_tensor_data(y)[r] = (float)(rand() % 10);
        expect += (float)first_max(row, 10) == mlp_tensor_data(y)[r];
    }
    assert_true(expect > 100 && expect < 1000);
    assert_int_equal(mlp__count_correct(x, y), expect);
    mlp_tensor_free(x);
    mlp_tensor_free(y);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        TU_TEST(dataset__shuffle_is_pinned_for_a_seed),
        TU_TEST(dataset__epoch_covers_every_sample_once_with_partial_last_batch),
        TU_TEST(dataset__no_allocation_after_the_first_batch),
        TU_TEST(dataset__mismatched_samples_and_nulls_are_refused),
        TU_TEST(idx__reads_u8_images_and_big_endian_types),
        TU_TEST(idx__every_bad_variant_is_an_error),
        TU_TEST(csv__reads_numbers_header_crlf_and_trailing_blank),
        TU_TEST(csv__bad_files_name_line_and_column),
        TU_TEST(fit__lowers_the_loss_and_reports_every_batch),
        TU_TEST(fit__accuracy_counts_a_row_whose_first_maximum_is_its_label),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
