/*
 * test_core.c - the context, errors, the random generator and tensors:
 * constructors, accessors, fill/copy, detach, bad shapes and NULLs, and
 * allocation failure while making tensors.
 */
#include "testutil.h"

static void version__header_and_library_agree(void **state)
{
    (void)state;
    assert_string_equal(mlp_version(), MLP_VERSION);
    assert_int_equal(mlp_version_number(), MLP_VERSION_NUMBER);
    assert_int_equal(MLP_VERSION_NUMBER,
                     MLP_VERSION_MAJOR * 10000 + MLP_VERSION_MINOR * 100 + MLP_VERSION_PATCH);
}

static void status__every_code_has_text(void **state)
{
    int s;
    (void)state;
    for (s = MLP_OK; s <= MLP_ERR_COMM; s++)
        assert_string_not_equal(mlp_status_str((mlp_status)s), "unknown status");
    assert_string_equal(mlp_status_str((mlp_status)999), "unknown status");
    assert_string_equal(mlp_status_str(MLP_ERR_IMPLICIT_GRAD),
                        "grad can be implicitly created only for scalar outputs");
}

static void ctx__incomplete_allocator_is_refused(void **state)
{
    mlp_allocator a;
    (void)state;
    memset(&a, 0, sizeof a);
    a.struct_size = sizeof a;
    assert_null(mlp_ctx_new(&a));
    a.alloc = tu_alloc_fn;
    a.realloc = tu_realloc_fn;
    assert_null(mlp_ctx_new(&a)); /* no free */
}

static void ctx__allocator_struct_size_too_small_is_refused_and_larger_accepted(void **state)
{
    /* a struct from a newer header: this version's members, then one more */
    struct newer_allocator {
        mlp_allocator known;
        void *(*aligned_alloc)(void *user, size_t size, size_t align);
    } newer;
    tu_alloc a;
    mlp_ctx *ctx;
    (void)state;
    memset(&a, 0, sizeof a);
    a.fail_at = -1;
    memset(&newer, 0, sizeof newer);
    newer.known.alloc = tu_alloc_fn;
    newer.known.realloc = tu_realloc_fn;
    newer.known.free = tu_free_fn;
    newer.known.user = &a;
    newer.known.struct_size = 0; /* not set: refused, nothing allocated */
    assert_null(mlp_ctx_new(&newer.known));
    newer.known.struct_size = sizeof(mlp_allocator) - sizeof(void *); /* user missing */
    assert_null(mlp_ctx_new(&newer.known));
    assert_int_equal(a.calls, 0);
    newer.known.struct_size = sizeof newer; /* larger: the extra member is not read */
    ctx = mlp_ctx_new(&newer.known);
    assert_non_null(ctx);
    assert_true(a.calls > 0 && a.live > 0); /* the context came from this allocator */
    mlp_ctx_free(ctx);
    assert_int_equal(a.live, 0);
}

static void ctx__allocator_sees_every_block_and_balance_is_zero(void **state)
{
    tu_alloc a;
    mlp_ctx *ctx = tu_ctx(&a, -1);
    int64_t shape[2] = {3, 4};
    mlp_tensor *t;
    (void)state;
    assert_non_null(ctx);
    t = mlp_tensor_ones(ctx, 2, shape);
    assert_non_null(t);
    assert_true(a.live >= 3); /* ctx, handle, storage (+ data) */
    mlp_tensor_free(t);
    mlp_ctx_free(ctx);
    assert_int_equal(a.live, 0);
}

static void ctx__new_fails_cleanly_without_memory(void **state)
{
    tu_alloc a;
    (void)state;
    assert_null(tu_ctx(&a, 0));
    assert_int_equal(a.live, 0);
}

static void rng__same_seed_same_stream_and_known_values(void **state)
{
    mlp_ctx *c1 = mlp_ctx_new(NULL), *c2 = mlp_ctx_new(NULL);
    uint32_t first[4];
    int i;
    (void)state;
    mlp_ctx_seed(c1, 42);
    mlp_ctx_seed(c2, 42);
    for (i = 0; i < 1000; i++)
        assert_int_equal(mlp_ctx_rand_u32(c1), mlp_ctx_rand_u32(c2));
    /* the stream is pinned: xoshiro128** from splitmix64(42); values
       computed by an independent Python transcription of the reference C */
    mlp_ctx_seed(c1, 42);
    for (i = 0; i < 4; i++)
        first[i] = mlp_ctx_rand_u32(c1);
    assert_int_equal(first[0], 1776835114u);
    assert_int_equal(first[1], 4165204688u);
    assert_int_equal(first[2], 17111135u);
    assert_int_equal(first[3], 2317295270u);
    mlp_ctx_seed(c2, 43);
    assert_int_not_equal(first[0], mlp_ctx_rand_u32(c2));
    mlp_ctx_seed(c1, 42);
    assert_int_equal(first[0], mlp_ctx_rand_u32(c1));
    mlp_ctx_free(c1);
    mlp_ctx_free(c2);
}

static void rng__uniform_and_normal_have_the_right_moments(void **state)
{
    mlp_ctx *ctx = tu_ctx_of(state);
    double su = 0, sn = 0, sn2 = 0;
    int i, n = 200000;
    mlp_ctx_seed(ctx, 7);
    for (i = 0; i < n; i++) {
        float u = mlp_ctx_rand_uniform(ctx), z = mlp_ctx_rand_normal(ctx);
        assert_true(u >= 0.0f && u < 1.0f);
        su += u;
        sn += z;
        sn2 += (double)z * z;
    }
    assert_close(su / n, 0.5, 0.005, 0);
    assert_close(sn / n, 0.0, 0.01, 0);
    assert_close(sn2 / n, 1.0, 0.02, 0);
}

static void tensor__constructors_fill_shape_and_values(void **state)
{
    mlp_ctx *ctx = tu_ctx_of(state);
    int64_t shape[3] = {2, 3, 4};
    float data[6] = {1, 2, 3, 4, 5, 6};
    int64_t s2[2] = {2, 3};
    mlp_tensor *z, *o, *f;
    int64_t i;
    z = mlp_tensor_zeros(ctx, 3, shape);
    o = mlp_tensor_ones(ctx, 3, shape);
    f = mlp_tensor_from(ctx, 2, s2, data);
    assert_non_null(z);
    assert_non_null(o);
    assert_non_null(f);
    assert_int_equal(mlp_tensor_ndim(z), 3);
    assert_int_equal(mlp_tensor_dim(z, 0), 2);
    assert_int_equal(mlp_tensor_dim(z, -1), 4);
    assert_int_equal(mlp_tensor_dim(z, 3), -1);
    assert_int_equal(mlp_tensor_numel(z), 24);
    for (i = 0; i < 24; i++) {
        assert_true(mlp_tensor_get(z, i) == 0.0f);
        assert_true(mlp_tensor_get(o, i) == 1.0f);
    }
    assert_true(isnan(mlp_tensor_get(z, 24)));
    for (i = 0; i < 6; i++)
        assert_true(mlp_tensor_get(f, i) == data[i]);
    assert_int_equal(((uintptr_t)mlp_tensor_data(z)) % 64, 0);
    assert_int_equal(mlp_tensor_requires_grad(f), 0);
    assert_int_equal(mlp_tensor_is_leaf(f), 1);
    assert_ptr_equal(mlp_tensor_ctx(f), ctx);
    mlp_tensor_free(z);
    mlp_tensor_free(o);
    mlp_tensor_free(f);
}

static void tensor__scalar_has_zero_dims_and_one_element(void **state)
{
    mlp_ctx *ctx = tu_ctx_of(state);
    float v = 3.5f;
    mlp_tensor *s = mlp_tensor_from(ctx, 0, NULL, &v);
    assert_non_null(s);
    assert_int_equal(mlp_tensor_ndim(s), 0);
    assert_int_equal(mlp_tensor_numel(s), 1);
    assert_true(mlp_tensor_item(s) == 3.5f);
    mlp_tensor_free(s);
}

static void tensor__empty_dimension_is_allowed(void **state)
{
    mlp_ctx *ctx = tu_ctx_of(state);
    int64_t shape[2] = {0, 5};
    mlp_tensor *t = mlp_tensor_from(ctx, 2, shape, NULL);
    assert_non_null(t);
    assert_int_equal(mlp_tensor_numel(t), 0);
    assert_true(isnan(mlp_tensor_item(t)));
    mlp_tensor_free(t);
}

static void tensor__bad_shapes_give_clear_errors(void **state)
{
    mlp_ctx *ctx = tu_ctx_of(state);
    int64_t neg[2] = {2, -3};
    int64_t huge[2] = {INT64_MAX / 2, 4};
    int64_t big4[4] = {1 << 20, 1 << 20, 1 << 20, 1 << 20};
    int64_t ok[5] = {1, 1, 1, 1, 1};
    assert_null(mlp_tensor_zeros(ctx, 2, neg));
    assert_int_equal(mlp_ctx_errcode(ctx), MLP_ERR_ARG);
    assert_non_null(strstr(mlp_ctx_errmsg(ctx), "shape[1] = -3"));
    assert_null(mlp_tensor_zeros(ctx, 2, huge));
    assert_int_equal(mlp_ctx_errcode(ctx), MLP_ERR_OVERFLOW);
    assert_null(mlp_tensor_ones(ctx, 4, big4));
    assert_int_equal(mlp_ctx_errcode(ctx), MLP_ERR_OVERFLOW);
    assert_null(mlp_tensor_zeros(ctx, 5, ok));
    assert_int_equal(mlp_ctx_errcode(ctx), MLP_ERR_ARG);
    assert_null(mlp_tensor_zeros(ctx, -1, ok));
    assert_int_equal(mlp_ctx_errcode(ctx), MLP_ERR_ARG);
    assert_null(mlp_tensor_zeros(ctx, 2, NULL));
    assert_int_equal(mlp_ctx_errcode(ctx), MLP_ERR_NULL);
    assert_null(mlp_tensor_from(ctx, 1, ok, NULL));
    assert_int_equal(mlp_ctx_errcode(ctx), MLP_ERR_NULL);
    assert_non_null(strstr(mlp_ctx_errmsg(ctx), "mlp_tensor_from"));
    mlp_ctx_clear_error(ctx);
    assert_int_equal(mlp_ctx_errcode(ctx), MLP_OK);
    assert_string_equal(mlp_ctx_errmsg(ctx), "");
}

static void tensor__null_handles_never_crash(void **state)
{
    (void)state;
    assert_null(mlp_tensor_zeros(NULL, 0, NULL));
    assert_null(mlp_tensor_clone(NULL));
    assert_null(mlp_tensor_detach(NULL));
    mlp_tensor_free(NULL);
    mlp_ctx_free(NULL);
    mlp_ctx_seed(NULL, 1);
    assert_int_equal(mlp_tensor_fill(NULL, 1.0f), MLP_ERR_NULL);
    assert_int_equal(mlp_tensor_copy(NULL, NULL), MLP_ERR_NULL);
    assert_int_equal(mlp_tensor_ndim(NULL), -1);
    assert_int_equal(mlp_tensor_numel(NULL), 0);
    assert_null(mlp_tensor_data(NULL));
    assert_null(mlp_tensor_grad(NULL));
    assert_int_equal(mlp_ctx_errcode(NULL), MLP_ERR_NULL);
    assert_non_null(mlp_ctx_errmsg(NULL));
    assert_int_equal(mlp_backward(NULL, NULL, 0), MLP_ERR_NULL);
    mlp_tape_reset(NULL);
}

static void tensor__random_constructors_follow_the_seed(void **state)
{
    mlp_ctx *ctx = tu_ctx_of(state);
    int64_t shape[1] = {1000};
    mlp_tensor *u1, *u2, *n1;
    int64_t i;
    double mean = 0;
    mlp_ctx_seed(ctx, 5);
    u1 = mlp_tensor_rand_uniform(ctx, 1, shape, -2.0f, 3.0f);
    mlp_ctx_seed(ctx, 5);
    u2 = mlp_tensor_rand_uniform(ctx, 1, shape, -2.0f, 3.0f);
    n1 = mlp_tensor_rand_normal(ctx, 1, shape, 10.0f, 0.5f);
    for (i = 0; i < 1000; i++) {
        assert_true(mlp_tensor_get(u1, i) == mlp_tensor_get(u2, i));
        assert_true(mlp_tensor_get(u1, i) >= -2.0f && mlp_tensor_get(u1, i) < 3.0f);
        mean += mlp_tensor_get(n1, i);
    }
    assert_close(mean / 1000, 10.0, 0.1, 0);
    assert_null(mlp_tensor_rand_uniform(ctx, 1, shape, 1.0f, 0.0f));
    assert_int_equal(mlp_ctx_errcode(ctx), MLP_ERR_ARG);
    assert_null(mlp_tensor_rand_normal(ctx, 1, shape, 0.0f, -1.0f));
    assert_null(mlp_tensor_rand_normal(ctx, 1, shape, NAN, 1.0f));
    mlp_tensor_free(u1);
    mlp_tensor_free(u2);
    mlp_tensor_free(n1);
}

static void tensor__clone_copies_and_fill_copy_bump_version(void **state)
{
    mlp_ctx *ctx = tu_ctx_of(state);
    int64_t shape[2] = {2, 2}, s4[1] = {4}, s3[1] = {3};
    float d[4] = {1, 2, 3, 4};
    mlp_tensor *a = mlp_tensor_from(ctx, 2, shape, d), *c, *b, *w;
    uint64_t v;
    c = mlp_tensor_clone(a);
    assert_non_null(c);
    assert_ptr_not_equal(mlp_tensor_data(a), mlp_tensor_data(c));
    v = mlp_tensor_version(a);
    assert_ok(ctx, mlp_tensor_fill(a, 7.0f));
    assert_true(mlp_tensor_version(a) > v);
    assert_true(mlp_tensor_get(a, 3) == 7.0f);
    assert_true(mlp_tensor_get(c, 3) == 4.0f);
    b = mlp_tensor_zeros(ctx, 1, s4);
    assert_ok(ctx, mlp_tensor_copy(b, c)); /* same count, other shape */
    assert_true(mlp_tensor_get(b, 2) == 3.0f);
    w = mlp_tensor_zeros(ctx, 1, s3);
    assert_int_equal(mlp_tensor_copy(w, c), MLP_ERR_SHAPE);
    assert_int_equal(mlp_tensor_set_data(w, d, 4), MLP_ERR_SHAPE);
    assert_ok(ctx, mlp_tensor_set_data(w, d, 3));
    assert_true(mlp_tensor_get(w, 2) == 3.0f);
    assert_ok(ctx, mlp_tensor_set_shape(b, 2, shape));
    assert_int_equal(mlp_tensor_dim(b, 1), 2);
    assert_int_equal(mlp_tensor_set_shape(b, 1, s3), MLP_ERR_SHAPE);
    mlp_tensor_free(a);
    mlp_tensor_free(b);
    mlp_tensor_free(c);
    mlp_tensor_free(w);
}

static void tensor__detach_shares_storage_and_outlives_the_original(void **state)
{
    mlp_ctx *ctx = tu_ctx_of(state);
    int64_t shape[1] = {3};
    mlp_tensor *x = mlp_tensor_ones(ctx, 1, shape), *d;
    assert_ok(ctx, mlp_tensor_set_requires_grad(x, 1));
    d = mlp_tensor_detach(x);
    assert_non_null(d);
    assert_int_equal(mlp_tensor_requires_grad(d), 0);
    assert_int_equal(mlp_tensor_is_leaf(d), 1);
    mlp_tensor_data(d)[1] = 5.0f;
    assert_true(mlp_tensor_get(x, 1) == 5.0f);
    assert_ok(ctx, mlp_tensor_fill(x, 2.0f));
    assert_true(mlp_tensor_get(d, 0) == 2.0f);
    mlp_tensor_free(x);
    assert_true(mlp_tensor_get(d, 2) == 2.0f); /* storage still alive */
    mlp_tensor_free(d);
}

static void tensor__every_allocation_failure_is_survived(void **state)
{
    tu_alloc a;
    long n;
    int64_t shape[2] = {3, 5};
    (void)state;
    for (n = 0; n < 30; n++) {
        mlp_ctx *ctx = tu_ctx(&a, -1);
        mlp_tensor *t, *c, *d;
        assert_non_null(ctx);
        a.fail_at = a.calls + n;
        t = mlp_tensor_rand_normal(ctx, 2, shape, 0.0f, 1.0f);
        c = mlp_tensor_clone(t);
        d = mlp_tensor_detach(c);
        if (!t || !c || !d)
            assert_int_equal(mlp_ctx_errcode(ctx), t ? MLP_ERR_NOMEM : MLP_ERR_NOMEM);
        a.fail_at = -1;
        mlp_tensor_free(t);
        mlp_tensor_free(c);
        mlp_tensor_free(d);
        mlp_ctx_free(ctx);
        assert_int_equal(a.live, 0);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(version__header_and_library_agree),
        cmocka_unit_test(status__every_code_has_text),
        cmocka_unit_test(ctx__incomplete_allocator_is_refused),
        cmocka_unit_test(ctx__allocator_struct_size_too_small_is_refused_and_larger_accepted),
        cmocka_unit_test(ctx__allocator_sees_every_block_and_balance_is_zero),
        cmocka_unit_test(ctx__new_fails_cleanly_without_memory),
        cmocka_unit_test(rng__same_seed_same_stream_and_known_values),
        TU_TEST(rng__uniform_and_normal_have_the_right_moments),
        TU_TEST(tensor__constructors_fill_shape_and_values),
        TU_TEST(tensor__scalar_has_zero_dims_and_one_element),
        TU_TEST(tensor__empty_dimension_is_allowed),
        TU_TEST(tensor__bad_shapes_give_clear_errors),
        cmocka_unit_test(tensor__null_handles_never_crash),
        TU_TEST(tensor__random_constructors_follow_the_seed),
        TU_TEST(tensor__clone_copies_and_fill_copy_bump_version),
        TU_TEST(tensor__detach_shares_storage_and_outlives_the_original),
        cmocka_unit_test(tensor__every_allocation_failure_is_survived),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
