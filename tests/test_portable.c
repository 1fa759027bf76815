/*
 * test_portable.c - what must be the same on every architecture, checked
 * against files written on another one (tests/fixtures/portable/): a seed
 * gives the same bits (model initialisation, random tensors), a model file
 * written on x86-64 loads with the same outputs and saves back to the same
 * bytes, and .npy and IDX files (little- and big-endian numbers) read the
 * same values. `make check-cross ARCH=s390x` runs it on a big-endian host
 * and ARCH=aarch64 on one whose compiler contracts a*b+c into FMA.
 *
 * The numpy- and hand-written fixtures come from tools/gen_portable.py;
 * the libmlp-written ones (seed3.mlp, seed7_rand.npy, seed3_y.npy) from
 * `build/tests/test_portable --write` run on x86-64 (`make
 * portable-fixtures`): regenerate them there when the model file format
 * changes on purpose.
 */
#include "testutil.h"

#define FIXDIR "tests/fixtures/portable/"

static int g_write;       /* --write: make the libmlp-written fixtures instead */
static const char *g_exe; /* argv[0]: scratch files go beside it */

/* The chapter's exercise net with PyTorch's default initialisation
 * (linear 4->5, PReLU, linear 5->2: from seed 3 its second layer came out
 * one ulp away on s390x before sampling rounded every step), then tanh and
 * a Kaiming normal linear 2->2 (draws through the normal sampler). */
static mlp_model *seed3_model(mlp_ctx *ctx)
{
    mlp_model *m;
    mlp_ctx_seed(ctx, 3);
    m = mlp_model_new(ctx);
    assert_non_null(m);
    assert_ok(ctx, mlp_model_add_linear(m, 4, 5));
    assert_ok(ctx, mlp_model_add_act(m, MLP_ACT_PRELU));
    assert_ok(ctx, mlp_model_add_linear(m, 5, 2));
    assert_ok(ctx, mlp_model_add_act(m, MLP_ACT_TANH));
    assert_ok(ctx, mlp_model_add_linear_init(m, 2, 2, MLP_INIT_KAIMING_NORMAL));
    return m;
}

/* 3 samples of 4 inputs, exact in float */
static const float X3[12] = {1.0f,   -2.0f, 0.5f, 0.25f, -1.5f, 3.0f,
                             -0.75f, 2.0f,  0.0f, 1.0f,  -1.0f, 4.0f};

static void write_file(const char *path, const void *buf, size_t size)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(buf, 1, size, f), size);
    assert_int_equal(fclose(f), 0);
}

/* The bytes of got equal the file at path (or become it, with --write,
 * when libmlp made the file: ours != 0). */
static void assert_same_bytes(const char *path, const void *got, size_t size, int ours)
{
    size_t n = 0, i;
    unsigned char *want;
    if (g_write && ours) {
        write_file(path, got, size);
        return;
    }
    want = tu_slurp(path, &n);
    assert_non_null(want);
    for (i = 0; i < size && i < n; i++)
        if (((const unsigned char *)got)[i] != want[i])
            break;
    if (n != size || i < size) {
        print_error("%s: differs at byte %lu (sizes %lu, %lu); if the format changed on purpose, "
                    "regenerate on x86-64: make portable-fixtures\n",
                    path, (unsigned long)i, (unsigned long)size, (unsigned long)n);
        free(want);
        fail();
    }
    free(want);
}

static void portable__a_seed_gives_the_same_model_bits_everywhere(void **state)
{
    mlp_ctx *ctx = mlp_ctx_new(NULL);
    mlp_model *m = seed3_model(ctx);
    void *buf = NULL;
    size_t size = 0;
    (void)state;
    assert_ok(ctx, mlp_model_save_mem(m, &buf, &size));
    assert_same_bytes(FIXDIR "seed3.mlp", buf, size, 1);
    mlp_buffer_free(ctx, buf);
    mlp_model_free(m);
    mlp_ctx_free(ctx);
}

static void portable__a_seed_gives_the_same_random_tensors_everywhere(void **state)
{
    mlp_ctx *ctx = mlp_ctx_new(NULL);
    const int64_t shape[1] = {64};
    const int64_t both_shape[2] = {2, 64};
    mlp_tensor *u, *n, *both, *back;
    (void)state;
    mlp_ctx_seed(ctx, 7);
    u = mlp_tensor_rand_uniform(ctx, 1, shape, -1.7f, 2.9f); /* inexact span */
    n = mlp_tensor_rand_normal(ctx, 1, shape, 0.3f, 1.9f);
    assert_non_null(u);
    assert_non_null(n);
    both = mlp_tensor_zeros(ctx, 2, both_shape);
    assert_non_null(both);
    memcpy(mlp_tensor_data(both), mlp_tensor_cdata(u), 64 * sizeof(float));
    memcpy(mlp_tensor_data(both) + 64, mlp_tensor_cdata(n), 64 * sizeof(float));
    if (g_write) {
        assert_ok(ctx, mlp_npy_save(both, FIXDIR "seed7_rand.npy"));
    } else {
        back = mlp_npy_load(ctx, FIXDIR "seed7_rand.npy");
        assert_non_null(back);
        assert_int_equal(mlp_tensor_numel(back), 128);
        /* bit for bit, not within a tolerance */
        assert_memory_equal(mlp_tensor_cdata(back), mlp_tensor_cdata(both), 128 * sizeof(float));
        mlp_tensor_free(back);
    }
    mlp_tensor_free(u);
    mlp_tensor_free(n);
    mlp_tensor_free(both);
    mlp_ctx_free(ctx);
}

static void portable__x86_model_file_predicts_the_same_and_saves_back_identically(void **state)
{
    mlp_ctx *ctx = mlp_ctx_new(NULL);
    mlp_model *m = g_write ? seed3_model(ctx) : mlp_model_load(ctx, FIXDIR "seed3.mlp");
    const int64_t yshape[2] = {3, 2};
    float y[6];
    void *buf = NULL;
    size_t size = 0;
    int i;
    (void)state;
    assert_non_null(m);
    assert_ok(ctx, mlp_model_predict(m, X3, 3, y));
    if (g_write) {
        mlp_tensor *t = mlp_tensor_from(ctx, 2, yshape, y);
        assert_ok(ctx, mlp_npy_save(t, FIXDIR "seed3_y.npy"));
        mlp_tensor_free(t);
    } else {
        mlp_tensor *want = mlp_npy_load(ctx, FIXDIR "seed3_y.npy");
        assert_non_null(want);
        assert_int_equal(mlp_tensor_numel(want), 6);
        /* sums of 4 and 5 products: the matrix-product kernels differ in
         * their order of additions and in FMA, by a few float ulps */
        for (i = 0; i < 6; i++)
            assert_close(y[i], mlp_tensor_cdata(want)[i], 1e-6, 1e-6);
        mlp_tensor_free(want);
        assert_ok(ctx, mlp_model_save_mem(m, &buf, &size));
        assert_same_bytes(FIXDIR "seed3.mlp", buf, size, 1);
        mlp_buffer_free(ctx, buf);
    }
    mlp_model_free(m);
    mlp_ctx_free(ctx);
}

static void portable__npy_written_by_numpy_reads_its_values_and_saves_back_identically(void **state)
{
    mlp_ctx *ctx = mlp_ctx_new(NULL);
    mlp_tensor *t = mlp_npy_load(ctx, FIXDIR "numpy_f32.npy");
    char path[600];
    size_t n = 0;
    unsigned char *bytes;
    int i;
    (void)state;
    assert_non_null(t);
    assert_int_equal(mlp_tensor_ndim(t), 2);
    assert_int_equal(mlp_tensor_dim(t, 0), 3);
    assert_int_equal(mlp_tensor_dim(t, 1), 4);
    for (i = 0; i < 12; i++) /* numpy wrote i * 0.25 - 1, exact */
        assert_true(mlp_tensor_cdata(t)[i] == (float)i * 0.25f - 1.0f);
    snprintf(path, sizeof path, "%.500s.scratch.npy", g_exe);
    assert_ok(ctx, mlp_npy_save(t, path));
    bytes = tu_slurp(path, &n);
    remove(path);
    assert_non_null(bytes);
    assert_same_bytes(FIXDIR "numpy_f32.npy", bytes, n, 0);
    free(bytes);
    mlp_tensor_free(t);
    mlp_ctx_free(ctx);
}

static void portable__big_endian_idx_numbers_read_the_same(void **state)
{
    mlp_ctx *ctx = mlp_ctx_new(NULL);
    mlp_tensor *f = mlp_idx_load(ctx, FIXDIR "idx_f32.idx", 1.0f);
    mlp_tensor *s = mlp_idx_load(ctx, FIXDIR "idx_i16.idx", 1.0f);
    mlp_tensor *l = mlp_idx_load(ctx, FIXDIR "idx_i32.idx", 1.0f);
    const float want_s[5] = {-300.0f, -1.0f, 0.0f, 7.0f, 32767.0f};
    const float want_l[3] = {-70000.0f, 1.0f, 2147483647.0f};
    int i;
    (void)state;
    assert_non_null(f);
    assert_non_null(s);
    assert_non_null(l);
    assert_int_equal(mlp_tensor_dim(f, 0), 2);
    assert_int_equal(mlp_tensor_dim(f, 1), 3);
    for (i = 0; i < 6; i++) /* gen_portable.py: (i - 2) * 1.5 */
        assert_true(mlp_tensor_cdata(f)[i] == (float)(i - 2) * 1.5f);
    assert_int_equal(mlp_tensor_numel(s), 5);
    assert_memory_equal(mlp_tensor_cdata(s), want_s, sizeof want_s);
    assert_int_equal(mlp_tensor_numel(l), 3);
    assert_memory_equal(mlp_tensor_cdata(l), want_l, sizeof want_l);
    mlp_tensor_free(f);
    mlp_tensor_free(s);
    mlp_tensor_free(l);
    mlp_ctx_free(ctx);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(portable__a_seed_gives_the_same_model_bits_everywhere),
        cmocka_unit_test(portable__a_seed_gives_the_same_random_tensors_everywhere),
        cmocka_unit_test(portable__x86_model_file_predicts_the_same_and_saves_back_identically),
        cmocka_unit_test(
            portable__npy_written_by_numpy_reads_its_values_and_saves_back_identically),
        cmocka_unit_test(portable__big_endian_idx_numbers_read_the_same),
    };
    const unsigned one = 1;
    g_exe = argv[0];
    g_write = argc > 1 && strcmp(argv[1], "--write") == 0;
    print_message("portable: %s-endian host%s\n", *(const unsigned char *)&one ? "little" : "big",
                  g_write ? "; writing the libmlp fixtures" : "");
    return cmocka_run_group_tests(tests, NULL, NULL);
}
