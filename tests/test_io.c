/*
 * test_io.c - the model file and .npy: the exact bytes of a tiny model,
 * save/load round trips that predict bit-identically, every truncation
 * and every flipped byte of a saved model refused without a crash or a
 * leak, wrong versions and hostile headers, atomic saves, .npy files
 * written by NumPy, .npy round trips and malformed .npy headers, and the
 * names and files every reader's messages give.
 */
#define _POSIX_C_SOURCE 200809L
#include <sys/stat.h>
#include <unistd.h>

#include "testutil.h"
#include "io/file.h"

static char g_base[512]; /* prefix for this executable's scratch files */

static const char *scratch(const char *name)
{
    static char path[640];
    snprintf(path, sizeof path, "%s.%s", g_base, name);
    return path;
}

/* linear(3->4), tanh, dropout(0.5), linear(4->4), prelu, linear(4->2),
 * leaky relu: every layer kind and every parameter kind. */
static mlp_model *small_model(mlp_ctx *ctx)
{
    mlp_model *m = mlp_model_new(ctx);
    assert_non_null(m);
    assert_ok(ctx, mlp_model_add_linear(m, 3, 4));
    assert_ok(ctx, mlp_model_add_act(m, MLP_ACT_TANH));
    assert_ok(ctx, mlp_model_add_dropout(m, 0.5f));
    assert_ok(ctx, mlp_model_add_linear_init(m, 4, 4, MLP_INIT_XAVIER_NORMAL));
    assert_ok(ctx, mlp_model_add_act(m, MLP_ACT_PRELU));
    assert_ok(ctx, mlp_model_add_linear(m, 4, 2));
    assert_ok(ctx, mlp_model_add_act(m, MLP_ACT_LEAKY_RELU));
    return m;
}

static const float X[5 * 3] = {0.1f, -0.2f, 0.3f, 1.0f,  2.0f, -3.0f, 0.0f, 0.0f,
                               0.0f, -1.f,  0.5f, 0.25f, 4.0f, -4.0f, 0.01f};

static void crc32__matches_zlib(void **state)
{
    (void)state;
    /* zlib.crc32(b'123456789') == 0xcbf43926 */
    assert_int_equal(mlp__crc32(0, "123456789", 9), 0xCBF43926u);
    assert_int_equal(mlp__crc32(mlp__crc32(0, "1234", 4), "56789", 5), 0xCBF43926u);
    assert_int_equal(mlp__crc32(0, "", 0), 0u);
}

static void model_file__bytes_of_a_tiny_model_are_pinned(void **state)
{
    /* Python: b'MLPMODEL' + pack('<III',2,1,2) + pack('<IQQI',0,1,1,1)
       + pack('<IIfQ',1,1,0.0,0) + pack('<ff',0.5,-1.0), then
       pack('<I', zlib.crc32(all of it)) appended */
    static const unsigned char expect[76] = {
        0x4d, 0x4c, 0x50, 0x4d, 0x4f, 0x44, 0x45, 0x4c, 0x02, 0x00, 0x00, 0x00, 0x01,
        0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00,
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x00, 0x00, 0x3f, 0x00, 0x00, 0x80, 0xbf, 0x72, 0x52, 0xde, 0xfe};
    mlp_ctx *ctx = tu_ctx_of(state);
    mlp_model *m = mlp_model_new(ctx), *back;
    void *buf;
    size_t size;
    float y;
    const float x = 3.0f;
    assert_ok(ctx, mlp_model_add_linear_init(m, 1, 1, MLP_INIT_ZEROS));
    assert_ok(ctx, mlp_model_add_act(m, MLP_ACT_RELU));
    mlp_tensor_data(mlp_model_param(m, 0))[0] = 0.5f;
    mlp_tensor_data(mlp_model_param(m, 1))[0] = -1.0f;
    assert_ok(ctx, mlp_model_save_mem(m, &buf, &size));
    assert_int_equal(size, sizeof expect);
    assert_memory_equal(buf, expect, sizeof expect);
    back = mlp_model_load_mem(ctx, expect, sizeof expect);
    assert_handle(ctx, back);
    assert_ok(ctx, mlp_model_predict(back, &x, 1, &y));
    assert_close(y, 0.5, 0, 0); /* relu(0.5 * 3 - 1) */
    mlp_buffer_free(ctx, buf);
    mlp_model_free(back);
    mlp_model_free(m);
}

static void model_file__round_trip_predicts_bit_identically(void **state)
{
    tu_alloc a;
    mlp_ctx *ctx = tu_ctx(&a, -1);
    mlp_model *m;
    (void)state;
    mlp_ctx_seed(ctx, 7);
    m = small_model(ctx);
    assert_ok(ctx, mlp_model_set_training(m, 0)); /* the mode is kept too */
    tu_assert_round_trip(ctx, m, scratch("rt.mlp"), X, 5);
    mlp_model_free(m);
    mlp_ctx_free(ctx);
    assert_int_equal(a.live, 0);
}

static void model_file__every_truncation_and_flipped_byte_is_refused(void **state)
{
    tu_alloc *a = &tu_fix(state)->alloc;
    mlp_ctx *ctx = tu_ctx_of(state);
    mlp_model *m, *bad;
    unsigned char *buf, *copy;
    void *vbuf;
    size_t size, i;
    int f;
    static const unsigned char flips[3] = {0x01, 0x80, 0xff};
    m = small_model(ctx);
    assert_ok(ctx, mlp_model_save_mem(m, &vbuf, &size));
    buf = (unsigned char *)vbuf;
    copy = (unsigned char *)malloc(size);
    assert_non_null(copy);
    for (i = 0; i < size; i++) {
        long before = a->live;
        memcpy(copy, buf, i); /* exactly i bytes: nothing past them to read */
        bad = mlp_model_load_mem(ctx, copy, i);
        assert_null(bad);
        assert_true(mlp_ctx_errcode(ctx) == MLP_ERR_FORMAT
                    || mlp_ctx_errcode(ctx) == MLP_ERR_VERSION);
        assert_int_equal(a->live, before);
    }
    for (i = 0; i < size; i++) {
        for (f = 0; f < 3; f++) {
            long before = a->live;
            memcpy(copy, buf, size);
            copy[i] ^= flips[f];
            bad = mlp_model_load_mem(ctx, copy, size);
            if (bad)
                print_error("byte %zu flipped by %02x loaded\n", i, flips[f]);
            assert_null(bad);
            assert_true(mlp_ctx_errcode(ctx) == MLP_ERR_FORMAT
                        || mlp_ctx_errcode(ctx) == MLP_ERR_VERSION);
            assert_int_equal(a->live, before);
        }
    }
    /* trailing bytes are refused too */
    {
        unsigned char *longer = (unsigned char *)calloc(1, size + 4);
        memcpy(longer, buf, size);
        assert_null(mlp_model_load_mem(ctx, longer, size + 4));
        assert_int_equal(mlp_ctx_errcode(ctx), MLP_ERR_FORMAT);
        free(longer);
    }
    free(copy);
    mlp_buffer_free(ctx, vbuf);
    mlp_model_free(m);
}

/* Fix the CRC after editing a model image. */
static void reseal(unsigned char *b, size_t size)
{
    mlp__put_u32(b + size - 4, mlp__crc32(0, b, size - 4));
}

static void model_file__wrong_version_and_hostile_headers_are_refused(void **state)
{
    tu_alloc *a = &tu_fix(state)->alloc;
    mlp_ctx *ctx = tu_ctx_of(state);
    mlp_model *m;
    unsigned char *b, *c;
    void *vbuf;
    size_t size;
    long calls;
    m = small_model(ctx);
    assert_ok(ctx, mlp_model_save_mem(m, &vbuf, &size));
    b = (unsigned char *)vbuf;
    c = (unsigned char *)malloc(size);

    /* version 3, and version 0, with a valid checksum */
    memcpy(c, b, size);
    mlp__put_u32(c + 8, 3);
    reseal(c, size);
    assert_null(mlp_model_load_mem(ctx, c, size));
    assert_int_equal(mlp_ctx_errcode(ctx), MLP_ERR_VERSION);
    assert_non_null(strstr(mlp_ctx_errmsg(ctx), "version 3"));
    mlp__put_u32(c + 8, 0);
    reseal(c, size);
    assert_null(mlp_model_load_mem(ctx, c, size));
    assert_int_equal(mlp_ctx_errcode(ctx), MLP_ERR_VERSION);

    /* 4 billion layers: refused without allocating */
    memcpy(c, b, size);
    mlp__put_u32(c + 16, 0xffffffffu);
    reseal(c, size);
    calls = a->calls;
    assert_null(mlp_model_load_mem(ctx, c, size));
    assert_int_equal(mlp_ctx_errcode(ctx), MLP_ERR_FORMAT);
    assert_int_equal(a->calls, calls);

    /* a first linear layer of 2^31 x 2^31 */
    memcpy(c, b, size);
    mlp__put_u64(c + 24, (uint64_t)1 << 31);
    mlp__put_u64(c + 32, (uint64_t)1 << 31);
    reseal(c, size);
    calls = a->calls;
    assert_null(mlp_model_load_mem(ctx, c, size));
    assert_int_equal(mlp_ctx_errcode(ctx), MLP_ERR_FORMAT);
    assert_int_equal(a->calls, calls);

    /* sizes past the limit and zero sizes */
    memcpy(c, b, size);
    mlp__put_u64(c + 24, ~(uint64_t)0);
    reseal(c, size);
    assert_null(mlp_model_load_mem(ctx, c, size));
    assert_int_equal(mlp_ctx_errcode(ctx), MLP_ERR_FORMAT);
    memcpy(c, b, size);
    mlp__put_u64(c + 32, 0);
    reseal(c, size);
    assert_null(mlp_model_load_mem(ctx, c, size));
    assert_int_equal(mlp_ctx_errcode(ctx), MLP_ERR_FORMAT);

    /* layers that do not chain: first linear gives 5, next takes 4 */
    memcpy(c, b, size);
    mlp__put_u64(c + 32, 5);
    reseal(c, size);
    assert_null(mlp_model_load_mem(ctx, c, size));
    assert_int_equal(mlp_ctx_errcode(ctx), MLP_ERR_FORMAT);

    /* unknown layer kind, unknown activation, dropout p = 1, unknown flag */
    memcpy(c, b, size);
    mlp__put_u32(c + 20, 9);
    reseal(c, size);
    assert_null(mlp_model_load_mem(ctx, c, size));
    assert_int_equal(mlp_ctx_errcode(ctx), MLP_ERR_FORMAT);
    memcpy(c, b, size);
    mlp__put_u32(c + 48, 99); /* layer 1 (act) at offset 44: kind, act, param, n */
    reseal(c, size);
    assert_null(mlp_model_load_mem(ctx, c, size));
    assert_int_equal(mlp_ctx_errcode(ctx), MLP_ERR_FORMAT);
    memcpy(c, b, size);
    mlp__put_f32(c + 68, 1.0f); /* layer 2 (dropout) at offset 64: kind, p */
    reseal(c, size);
    assert_null(mlp_model_load_mem(ctx, c, size));
    assert_int_equal(mlp_ctx_errcode(ctx), MLP_ERR_FORMAT);
    memcpy(c, b, size);
    mlp__put_u32(c + 12, 6);
    reseal(c, size);
    assert_null(mlp_model_load_mem(ctx, c, size));
    assert_int_equal(mlp_ctx_errcode(ctx), MLP_ERR_FORMAT);

    /* not a model at all; NULL buffer; missing file */
    assert_null(mlp_model_load_mem(ctx, "hello", 5));
    assert_int_equal(mlp_ctx_errcode(ctx), MLP_ERR_FORMAT);
    assert_null(mlp_model_load_mem(ctx, NULL, 5));
    assert_int_equal(mlp_ctx_errcode(ctx), MLP_ERR_NULL);
    assert_null(mlp_model_load(ctx, scratch("does-not-exist.mlp")));
    assert_int_equal(mlp_ctx_errcode(ctx), MLP_ERR_IO);
    assert_non_null(strstr(mlp_ctx_errmsg(ctx), "does-not-exist.mlp"));

    free(c);
    mlp_buffer_free(ctx, vbuf);
    mlp_model_free(m);
}

static void model_file__failed_save_leaves_the_previous_file_intact(void **state)
{
    tu_alloc a;
    mlp_ctx *ctx = tu_ctx(&a, -1);
    mlp_model *m1, *m2, *back;
    char tmp[700];
    float y1[10], y2[10];
    const char *path = scratch("atomic.mlp");
    (void)state;
    mlp_ctx_seed(ctx, 1);
    m1 = small_model(ctx);
    mlp_ctx_seed(ctx, 2);
    m2 = small_model(ctx);
    assert_ok(ctx, mlp_model_save(m1, path));

    /* the temporary file cannot be made: path.tmp is a directory */
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    rmdir(tmp);
    assert_int_equal(mkdir(tmp, 0700), 0);
    assert_int_equal(mlp_model_save(m2, path), MLP_ERR_IO);
    assert_non_null(strstr(mlp_ctx_errmsg(ctx), "atomic.mlp.tmp"));
    assert_int_equal(rmdir(tmp), 0);

    /* out of memory while serialising */
    a.fail_at = a.calls;
    assert_int_equal(mlp_model_save(m2, path), MLP_ERR_NOMEM);
    a.fail_at = -1;

    /* a directory that does not exist */
    assert_int_equal(mlp_model_save(m2, "/nonexistent-dir-of-libmlp/x.mlp"), MLP_ERR_IO);

    back = mlp_model_load(ctx, path);
    assert_handle(ctx, back);
    assert_ok(ctx, mlp_model_predict(m1, X, 5, y1));
    assert_ok(ctx, mlp_model_predict(back, X, 5, y2));
    assert_memory_equal(y1, y2, sizeof y1);
    /* and a successful save replaces it */
    assert_ok(ctx, mlp_model_save(m2, path));
    mlp_model_free(back);
    back = mlp_model_load(ctx, path);
    assert_ok(ctx, mlp_model_predict(m2, X, 5, y1));
    assert_ok(ctx, mlp_model_predict(back, X, 5, y2));
    assert_memory_equal(y1, y2, sizeof y1);
    assert_int_equal(access(tmp, F_OK), -1); /* no temporary left behind */

    mlp_model_free(back);
    mlp_model_free(m1);
    mlp_model_free(m2);
    mlp_ctx_free(ctx);
    assert_int_equal(a.live, 0);
    remove(path);
}

static void model_file__load_without_memory_fails_cleanly(void **state)
{
    tu_alloc *a = &tu_fix(state)->alloc;
    mlp_ctx *ctx = tu_ctx_of(state);
    mlp_model *m, *back;
    void *buf;
    size_t size;
    long n;
    int ok = 0;
    m = small_model(ctx);
    assert_ok(ctx, mlp_model_save_mem(m, &buf, &size));
    for (n = 0; !ok && n < 200; n++) {
        long live = a->live;
        a->fail_at = a->calls + n;
        back = mlp_model_load_mem(ctx, buf, size);
        a->fail_at = -1;
        if (back) {
            ok = 1;
            mlp_model_free(back);
        } else {
            assert_int_equal(mlp_ctx_errcode(ctx), MLP_ERR_NOMEM);
        }
        assert_int_equal(a->live, live);
    }
    assert_true(ok);
    mlp_buffer_free(ctx, buf);
    mlp_model_free(m);
}

/* ---- .npy ---- */

/* np.save(b, np.array([[1,2,3],[4,5,6.5]], dtype='<f4')), numpy 1.24 */
static const unsigned char npy_f4_2x3[152] = {
    0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 0x01, 0x00, 0x76, 0x00, 0x7b, 0x27, 0x64, 0x65, 0x73, 0x63,
    0x72, 0x27, 0x3a, 0x20, 0x27, 0x3c, 0x66, 0x34, 0x27, 0x2c, 0x20, 0x27, 0x66, 0x6f, 0x72, 0x74,
    0x72, 0x61, 0x6e, 0x5f, 0x6f, 0x72, 0x64, 0x65, 0x72, 0x27, 0x3a, 0x20, 0x46, 0x61, 0x6c, 0x73,
    0x65, 0x2c, 0x20, 0x27, 0x73, 0x68, 0x61, 0x70, 0x65, 0x27, 0x3a, 0x20, 0x28, 0x32, 0x2c, 0x20,
    0x33, 0x29, 0x2c, 0x20, 0x7d, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20,
    0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20,
    0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20,
    0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x0a,
    0x00, 0x00, 0x80, 0x3f, 0x00, 0x00, 0x00, 0x40, 0x00, 0x00, 0x40, 0x40, 0x00, 0x00, 0x80, 0x40,
    0x00, 0x00, 0xa0, 0x40, 0x00, 0x00, 0xd0, 0x40,
};
/* np.save(b, np.array([0.1,-2,1e10], dtype='<f8')) */
static const unsigned char npy_f8_3[152] = {
    0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 0x01, 0x00, 0x76, 0x00, 0x7b, 0x27, 0x64, 0x65, 0x73, 0x63,
    0x72, 0x27, 0x3a, 0x20, 0x27, 0x3c, 0x66, 0x38, 0x27, 0x2c, 0x20, 0x27, 0x66, 0x6f, 0x72, 0x74,
    0x72, 0x61, 0x6e, 0x5f, 0x6f, 0x72, 0x64, 0x65, 0x72, 0x27, 0x3a, 0x20, 0x46, 0x61, 0x6c, 0x73,
    0x65, 0x2c, 0x20, 0x27, 0x73, 0x68, 0x61, 0x70, 0x65, 0x27, 0x3a, 0x20, 0x28, 0x33, 0x2c, 0x29,
    0x2c, 0x20, 0x7d, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20,
    0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20,
    0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20,
    0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x0a,
    0x9a, 0x99, 0x99, 0x99, 0x99, 0x99, 0xb9, 0x3f, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xc0,
    0x00, 0x00, 0x00, 0x20, 0x5f, 0xa0, 0x02, 0x42,
};
/* np.save(b, np.array([1.5,-0.25], dtype='>f4')) */
static const unsigned char npy_be_2[136] = {
    0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 0x01, 0x00, 0x76, 0x00, 0x7b, 0x27, 0x64, 0x65, 0x73, 0x63,
    0x72, 0x27, 0x3a, 0x20, 0x27, 0x3e, 0x66, 0x34, 0x27, 0x2c, 0x20, 0x27, 0x66, 0x6f, 0x72, 0x74,
    0x72, 0x61, 0x6e, 0x5f, 0x6f, 0x72, 0x64, 0x65, 0x72, 0x27, 0x3a, 0x20, 0x46, 0x61, 0x6c, 0x73,
    0x65, 0x2c, 0x20, 0x27, 0x73, 0x68, 0x61, 0x70, 0x65, 0x27, 0x3a, 0x20, 0x28, 0x32, 0x2c, 0x29,
    0x2c, 0x20, 0x7d, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20,
    0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20,
    0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20,
    0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x0a,
    0x3f, 0xc0, 0x00, 0x00, 0xbe, 0x80, 0x00, 0x00,
};
/* np.save(b, np.array(3.25, dtype='<f4')): a 0-d array */
static const unsigned char npy_scalar[132] = {
    0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 0x01, 0x00, 0x76, 0x00, 0x7b, 0x27, 0x64, 0x65, 0x73,
    0x63, 0x72, 0x27, 0x3a, 0x20, 0x27, 0x3c, 0x66, 0x34, 0x27, 0x2c, 0x20, 0x27, 0x66, 0x6f,
    0x72, 0x74, 0x72, 0x61, 0x6e, 0x5f, 0x6f, 0x72, 0x64, 0x65, 0x72, 0x27, 0x3a, 0x20, 0x46,
    0x61, 0x6c, 0x73, 0x65, 0x2c, 0x20, 0x27, 0x73, 0x68, 0x61, 0x70, 0x65, 0x27, 0x3a, 0x20,
    0x28, 0x29, 0x2c, 0x20, 0x7d, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20,
    0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20,
    0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20,
    0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20,
    0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x0a, 0x00, 0x00, 0x50, 0x40,
};

static void npy__files_written_by_numpy_load(void **state)
{
    mlp_ctx *ctx = tu_ctx_of(state);
    mlp_tensor *t;
    t = mlp_npy_load_mem(ctx, npy_f4_2x3, sizeof npy_f4_2x3);
    assert_handle(ctx, t);
    assert_int_equal(mlp_tensor_ndim(t), 2);
    assert_int_equal(mlp_tensor_dim(t, 0), 2);
    assert_int_equal(mlp_tensor_dim(t, 1), 3);
    assert_close(mlp_tensor_get(t, 0), 1.0, 0, 0);
    assert_close(mlp_tensor_get(t, 5), 6.5, 0, 0);
    mlp_tensor_free(t);

    t = mlp_npy_load_mem(ctx, npy_f8_3, sizeof npy_f8_3);
    assert_handle(ctx, t);
    assert_int_equal(mlp_tensor_ndim(t), 1);
    assert_int_equal(mlp_tensor_dim(t, 0), 3);
    assert_true(mlp_tensor_get(t, 0) == (float)0.1f); /* float64 0.1 rounded to float32 */
    assert_close(mlp_tensor_get(t, 1), -2.0, 0, 0);
    assert_close(mlp_tensor_get(t, 2), 1e10, 0, 1e-7);
    mlp_tensor_free(t);

    t = mlp_npy_load_mem(ctx, npy_be_2, sizeof npy_be_2);
    assert_handle(ctx, t);
    assert_close(mlp_tensor_get(t, 0), 1.5, 0, 0);
    assert_close(mlp_tensor_get(t, 1), -0.25, 0, 0);
    mlp_tensor_free(t);

    t = mlp_npy_load_mem(ctx, npy_scalar, sizeof npy_scalar);
    assert_handle(ctx, t);
    assert_int_equal(mlp_tensor_ndim(t), 0);
    assert_close(mlp_tensor_item(t), 3.25, 0, 0);
    mlp_tensor_free(t);
}

static void npy__save_writes_what_numpy_writes_and_round_trips(void **state)
{
    mlp_ctx *ctx = mlp_ctx_new(NULL);
    static const float v[6] = {1, 2, 3, 4, 5, 6.5f};
    int64_t shape[2] = {2, 3}, s4[4] = {2, 1, 3, 2};
    mlp_tensor *t = mlp_tensor_from(ctx, 2, shape, v), *back, *big;
    FILE *f;
    unsigned char file[256];
    size_t n;
    int i;
    const char *path = scratch("t.npy");
    (void)state;
    assert_ok(ctx, mlp_npy_save(t, path));
    f = fopen(path, "rb");
    assert_non_null(f);
    n = fread(file, 1, sizeof file, f);
    fclose(f);
    /* byte for byte what numpy 1.24's np.save writes */
    assert_int_equal(n, sizeof npy_f4_2x3);
    assert_memory_equal(file, npy_f4_2x3, n);

    big = mlp_tensor_rand_normal(ctx, 4, s4, 0.0f, 1.0f);
    assert_ok(ctx, mlp_npy_save(big, path));
    back = mlp_npy_load(ctx, path);
    assert_handle(ctx, back);
    assert_int_equal(mlp_tensor_ndim(back), 4);
    for (i = 0; i < 4; i++)
        assert_int_equal(mlp_tensor_dim(back, i), s4[i]);
    assert_memory_equal(mlp_tensor_cdata(back), mlp_tensor_cdata(big), 12 * sizeof(float));
    mlp_tensor_free(back);

    /* a 0-d tensor writes shape () as numpy does */
    mlp_tensor_free(big);
    big = mlp_tensor_from(ctx, 0, NULL, &v[5]);
    assert_ok(ctx, mlp_npy_save(big, path));
    f = fopen(path, "rb");
    n = fread(file, 1, sizeof file, f);
    fclose(f);
    assert_true(n >= 4 && (n - 4) % 64 == 0);
    back = mlp_npy_load(ctx, path);
    assert_handle(ctx, back);
    assert_int_equal(mlp_tensor_ndim(back), 0);
    assert_close(mlp_tensor_item(back), 6.5, 0, 0);

    mlp_tensor_free(back);
    mlp_tensor_free(big);
    mlp_tensor_free(t);
    mlp_ctx_free(ctx);
    remove(path);
}

/* A version 1.0 file with the given header text (padded) and data bytes. */
static size_t make_npy(unsigned char *out, const char *header, size_t data_bytes)
{
    size_t len = strlen(header), hlen = ((10 + len + 1 + 63) / 64) * 64 - 10;
    memcpy(out, "\x93NUMPY\x01\x00", 8);
    out[8] = (unsigned char)(hlen & 0xff);
    out[9] = (unsigned char)(hlen >> 8);
    memcpy(out + 10, header, len);
    memset(out + 10 + len, ' ', hlen - len - 1);
    out[10 + hlen - 1] = '\n';
    memset(out + 10 + hlen, 0, data_bytes);
    return 10 + hlen + data_bytes;
}

static void npy__version_2_and_key_order_are_accepted(void **state)
{
    mlp_ctx *ctx = tu_ctx_of(state);
    unsigned char buf[512];
    const char *h = "{'shape': (2, 2), 'fortran_order': False, 'descr': '<f4'}";
    size_t len = strlen(h), hlen = ((12 + len + 1 + 63) / 64) * 64 - 12, n;
    mlp_tensor *t;
    memcpy(buf, "\x93NUMPY\x02\x00", 8);
    mlp__put_u32(buf + 8, (uint32_t)hlen);
    memcpy(buf + 12, h, len);
    memset(buf + 12 + len, ' ', hlen - len - 1);
    buf[12 + hlen - 1] = '\n';
    mlp__put_f32(buf + 12 + hlen, 1.0f);
    mlp__put_f32(buf + 16 + hlen, 2.0f);
    mlp__put_f32(buf + 20 + hlen, 3.0f);
    mlp__put_f32(buf + 24 + hlen, 4.0f);
    n = 28 + hlen;
    t = mlp_npy_load_mem(ctx, buf, n);
    assert_handle(ctx, t);
    assert_int_equal(mlp_tensor_dim(t, 0), 2);
    assert_close(mlp_tensor_get(t, 3), 4.0, 0, 0);
    mlp_tensor_free(t);
}

static void npy__malformed_headers_are_refused(void **state)
{
    static const char *bad[] = {
        "{'descr': '<i4', 'fortran_order': False, 'shape': (2,), }",
        "{'descr': '<f2', 'fortran_order': False, 'shape': (2,), }",
        "{'descr': '<f4', 'fortran_order': True, 'shape': (2,), }",
        "{'descr': '<f4', 'shape': (2,), }",
        "{'descr': '<f4', 'fortran_order': False, }",
        "{'descr': '<f4', 'fortran_order': False, 'shape': (2), }",
        "{'descr': '<f4', 'fortran_order': False, 'shape': (1, 1, 1, 1, 2), }",
        "{'descr': '<f4', 'fortran_order': False, 'shape': (-2,), }",
        "{'descr': '<f4', 'fortran_order': False, 'shape': (2,), 'extra': 1, }",
        "{'descr': '<f4', 'descr': '<f4', 'fortran_order': False, 'shape': (2,), }",
        "{'descr': '<f4', 'fortran_order': False, 'shape': (2,) ",
        "['descr', '<f4']",
        "{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999999999999,), }",
    };
    tu_alloc a;
    mlp_ctx *ctx = tu_ctx(&a, -1);
    unsigned char buf[512];
    size_t n, i;
    mlp_tensor *t;
    (void)state;
    for (i = 0; i < sizeof bad / sizeof *bad; i++) {
        n = make_npy(buf, bad[i], 8);
        t = mlp_npy_load_mem(ctx, buf, n);
        if (t)
            print_error("header accepted: %s\n", bad[i]);
        assert_null(t);
        assert_int_equal(mlp_ctx_errcode(ctx), MLP_ERR_FORMAT);
    }
    /* data shorter or longer than the shape says */
    n = make_npy(buf, "{'descr': '<f4', 'fortran_order': False, 'shape': (3,), }", 8);
    assert_null(mlp_npy_load_mem(ctx, buf, n));
    assert_int_equal(mlp_ctx_errcode(ctx), MLP_ERR_FORMAT);
    n = make_npy(buf, "{'descr': '<f4', 'fortran_order': False, 'shape': (1,), }", 8);
    assert_null(mlp_npy_load_mem(ctx, buf, n));
    assert_int_equal(mlp_ctx_errcode(ctx), MLP_ERR_FORMAT);
    /* a good one for contrast */
    n = make_npy(buf, "{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }", 8);
    t = mlp_npy_load_mem(ctx, buf, n);
    assert_handle(ctx, t);
    mlp_tensor_free(t);
    /* bad magic, unknown version, header length past the end */
    n = make_npy(buf, "{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }", 8);
    buf[1] = 'X';
    assert_null(mlp_npy_load_mem(ctx, buf, n));
    assert_int_equal(mlp_ctx_errcode(ctx), MLP_ERR_FORMAT);
    buf[1] = 'N';
    buf[6] = 3;
    assert_null(mlp_npy_load_mem(ctx, buf, n));
    assert_int_equal(mlp_ctx_errcode(ctx), MLP_ERR_FORMAT);
    buf[6] = 1;
    buf[9] = 0x7f;
    assert_null(mlp_npy_load_mem(ctx, buf, n));
    assert_int_equal(mlp_ctx_errcode(ctx), MLP_ERR_FORMAT);
    /* every truncation of a numpy file */
    for (i = 0; i < sizeof npy_f4_2x3; i++) {
        assert_null(mlp_npy_load_mem(ctx, npy_f4_2x3, i));
        assert_int_equal(mlp_ctx_errcode(ctx), MLP_ERR_FORMAT);
    }
    assert_null(mlp_npy_load(ctx, scratch("missing.npy")));
    assert_int_equal(mlp_ctx_errcode(ctx), MLP_ERR_IO);
    mlp_ctx_free(ctx);
    assert_int_equal(a.live, 0);
}

/* Every reader's buffer form reports its own name; its path form reports
 * its name and the file. The bytes are a valid file of none of the four
 * formats (no IDX zero bytes, no .npy or model magic, not numbers). */
static void readers__mem_forms_name_themselves_and_file_errors_name_the_file(void **state)
{
    static const char junk[] = "junk, not a file\n";
    mlp_ctx *ctx = tu_ctx_of(state);
    const char *path = scratch("junk.bin");
    char want[2048];
    FILE *f;
    int i;
    f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(junk, 1, sizeof junk - 1, f), sizeof junk - 1);
    assert_int_equal(fclose(f), 0);
    for (i = 0; i < 4; i++) {
        static const char *const names[4] = {"mlp_csv_load", "mlp_idx_load", "mlp_npy_load",
                                             "mlp_model_load"};
        void *mem = NULL, *file = NULL;
        char mem_msg[600];
        switch (i) {
        case 0: mem = mlp_csv_load_mem(ctx, junk, sizeof junk - 1, 0); break;
        case 1: mem = mlp_idx_load_mem(ctx, junk, sizeof junk - 1, 1.0f); break;
        case 2: mem = mlp_npy_load_mem(ctx, junk, sizeof junk - 1); break;
        default: mem = mlp_model_load_mem(ctx, junk, sizeof junk - 1); break;
        }
        assert_null(mem);
        assert_int_equal(mlp_ctx_errcode(ctx), MLP_ERR_FORMAT);
        snprintf(want, sizeof want, "%s_mem: ", names[i]);
        assert_memory_equal(mlp_ctx_errmsg(ctx), want, strlen(want));
        snprintf(mem_msg, sizeof mem_msg, "%s", mlp_ctx_errmsg(ctx) + strlen(want));
        switch (i) {
        case 0: file = mlp_csv_load(ctx, path, 0); break;
        case 1: file = mlp_idx_load(ctx, path, 1.0f); break;
        case 2: file = mlp_npy_load(ctx, path); break;
        default: file = mlp_model_load(ctx, path); break;
        }
        assert_null(file);
        assert_int_equal(mlp_ctx_errcode(ctx), MLP_ERR_FORMAT);
        /* the same reason, after the name and the file */
        snprintf(want, sizeof want, "%s: '%s': %s", names[i], path, mem_msg);
        assert_string_equal(mlp_ctx_errmsg(ctx), want);
    }
    assert_null(mlp_idx_load_mem(ctx, NULL, 0, 1.0f));
    assert_string_equal(mlp_ctx_errmsg(ctx), "mlp_idx_load_mem: buf is NULL");
    remove(path);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(crc32__matches_zlib),
        TU_TEST(model_file__bytes_of_a_tiny_model_are_pinned),
        cmocka_unit_test(model_file__round_trip_predicts_bit_identically),
        TU_TEST(model_file__every_truncation_and_flipped_byte_is_refused),
        TU_TEST(model_file__wrong_version_and_hostile_headers_are_refused),
        cmocka_unit_test(model_file__failed_save_leaves_the_previous_file_intact),
        TU_TEST(model_file__load_without_memory_fails_cleanly),
        TU_TEST(npy__files_written_by_numpy_load),
        cmocka_unit_test(npy__save_writes_what_numpy_writes_and_round_trips),
        TU_TEST(npy__version_2_and_key_order_are_accepted),
        cmocka_unit_test(npy__malformed_headers_are_refused),
        TU_TEST(readers__mem_forms_name_themselves_and_file_errors_name_the_file),
    };
    snprintf(g_base, sizeof g_base, "%s", argc > 0 ? argv[0] : "test_io");
    return cmocka_run_group_tests(tests, NULL, NULL);
}
