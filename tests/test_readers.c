/*
 * test_readers.c - the data readers on what spreadsheets, other programs
 * and hostile users hand them: CSV with a UTF-8 byte-order mark, CR-only
 * or mixed line ends, NUL bytes, UTF-16 text and numbers of hundreds of
 * digits; NaN, Inf and numbers beyond float's range in CSV, IDX and .npy
 * files, refused with the line or row and column named unless the context
 * allows them (mlp_ctx_set_allow_nonfinite_data).
 */
#include "argcheck.h"

/* CSV from a string literal (its length without the final NUL) */
#define CSV(ctx, lit, skip) mlp_csv_load_mem(ctx, lit, sizeof lit - 1, skip)

static void expect_values(mlp_ctx *ctx, mlp_tensor *t, int64_t rows, int64_t cols,
                          const float *want)
{
    int64_t i;
    assert_handle(ctx, t);
    assert_int_equal(mlp_tensor_dim(t, 0), rows);
    assert_int_equal(mlp_tensor_dim(t, 1), cols);
    for (i = 0; i < rows * cols; i++)
        if (mlp_tensor_get(t, i) != want[i]) {
            print_error("element %lld is %g, expected %g\n", (long long)i,
                        (double)mlp_tensor_get(t, i), (double)want[i]);
            fail();
        }
    mlp_tensor_free(t);
}

static void csv__byte_order_mark_and_every_line_end_are_read(void **state)
{
    static const float want[4] = {1, 2, 3, 4};
    mlp_ctx *ctx = tu_ctx_of(state);
    expect_values(ctx,
                  CSV(ctx,
                      "\xEF\xBB\xBF"
                      "1,2\n3,4\n",
                      0),
                  2, 2, want);
    expect_values(ctx,
                  CSV(ctx,
                      "\xEF\xBB\xBF"
                      "x,y\r\n1,2\r\n3,4\r\n",
                      1),
                  2, 2, want);
    expect_values(ctx, CSV(ctx, "1,2\r3,4\r", 0), 2, 2, want); /* classic Mac */
    expect_values(ctx, CSV(ctx, "1,2\r3,4", 0), 2, 2, want);
    expect_values(ctx, CSV(ctx, "h\r1,2\r\n3,4\n\r\n", 1), 2, 2, want); /* mixed */
    /* a blank line in the middle is still an error, whatever ends it */
    EXPECT_NULL_CODE_KEEP(ctx, CSV(ctx, "1,2\r\r3,4\r", 0), MLP_ERR_FORMAT);
    EXPECT_MSG(ctx, "line 2 is empty");
}

static void csv__nul_bytes_and_utf16_are_refused_naming_the_place(void **state)
{
    /* "1,2\n3,4" in UTF-16LE with and without its byte-order mark */
    static const char u16[] = "1\0,\0"
                              "2\0\n\0"
                              "3\0,\0"
                              "4\0\n\0";
    static const char u16bom[] = "\xFF\xFE"
                                 "1\0,\0"
                                 "2\0\n\0";
    mlp_ctx *ctx = tu_ctx_of(state);
    EXPECT_NULL_CODE_KEEP(ctx, CSV(ctx, "1,\0\n", 0), MLP_ERR_FORMAT);
    EXPECT_MSG(ctx, "line 1, column 2 holds a NUL byte");
    EXPECT_NULL_CODE_KEEP(ctx,
                          CSV(ctx,
                              "7\0"
                              "9,1\n",
                              0),
                          MLP_ERR_FORMAT);
    EXPECT_MSG(ctx, "line 1, column 1 holds a NUL byte");
    EXPECT_NULL_CODE_KEEP(ctx, CSV(ctx, "1,2\n3,4,\0\n", 0), MLP_ERR_FORMAT);
    EXPECT_MSG(ctx, "line 2, column 3 holds a NUL byte");
    /* what is not a number is quoted, unprintable bytes as \xNN */
    EXPECT_NULL_CODE_KEEP(ctx, CSV(ctx, "1,2\n3,4\x01x\n", 0), MLP_ERR_FORMAT);
    EXPECT_MSG(ctx, "line 2, column 2 is not a number: '4\\x01x'");
    EXPECT_NULL_CODE_KEEP(ctx, mlp_csv_load_mem(ctx, u16, sizeof u16 - 1, 0), MLP_ERR_FORMAT);
    EXPECT_MSG(ctx, "line 1, column 1 holds a NUL byte (is the file UTF-16?)");
    EXPECT_NULL_CODE_KEEP(ctx, mlp_csv_load_mem(ctx, u16bom, sizeof u16bom - 1, 0), MLP_ERR_FORMAT);
    EXPECT_MSG(ctx, "UTF-16 byte-order mark");
}

static void csv__numbers_of_any_length_are_read_exactly(void **state)
{
    /* 0.1 with 300 digits after the point (all zeros after the 1, then a
       final 7 that cannot move the float), and 2^-149 written out */
    char text[1024];
    size_t o = 0;
    int i;
    mlp_ctx *ctx = tu_ctx_of(state);
    mlp_tensor *t;
    o += (size_t)sprintf(text + o, "0.1");
    for (i = 0; i < 298; i++)
        text[o++] = '0';
    o += (size_t)sprintf(text + o, "7,1");
    for (i = 0; i < 130; i++)
        text[o++] = '0';
    o += (size_t)sprintf(text + o, "e-175\n");
    t = mlp_csv_load_mem(ctx, text, o, 0);
    assert_handle(ctx, t);
    assert_true(mlp_tensor_get(t, 0) == (float)0.1f);
    assert_true(mlp_tensor_get(t, 1) == (float)1e-45f); /* 1e-45 rounds to 2^-149 */
    mlp_tensor_free(t);
}

static void csv__nonfinite_and_out_of_range_name_line_and_column(void **state)
{
    static const struct {
        const char *text, *msg;
    } cases[] = {
        {"1,2\n3,nan\n", "line 2, column 2 is 'nan', not a finite number"},
        {"1,2\n-inf,4\n", "line 2, column 1 is '-inf', not a finite number"},
        {"h\n1,Infinity\n", "line 2, column 2 is 'Infinity'"},
        {"1e999,1\n", "line 1, column 1 is '1e999', beyond float's range"},
        {"1,2\n3,-4e38\n", "line 2, column 2 is '-4e38', beyond float's range"},
    };
    mlp_ctx *ctx = tu_ctx_of(state);
    mlp_tensor *t;
    size_t i;
    assert_int_equal(mlp_ctx_allow_nonfinite_data(ctx), 0);
    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        EXPECT_NULL_CODE_KEEP(ctx,
                              mlp_csv_load_mem(ctx, cases[i].text, strlen(cases[i].text), i == 2),
                              MLP_ERR_NONFINITE);
        EXPECT_MSG(ctx, cases[i].msg);
        EXPECT_MSG(ctx, "mlp_ctx_set_allow_nonfinite_data");
    }
    /* allowed: NaN and Inf kept, 1e999 becomes Inf, 1e-50 is 0 either way */
    mlp_ctx_set_allow_nonfinite_data(ctx, 1);
    assert_int_equal(mlp_ctx_allow_nonfinite_data(ctx), 1);
    t = CSV(ctx, "nan,-inf\n1e999,1e-50\n", 0);
    assert_handle(ctx, t);
    assert_true(isnan(mlp_tensor_get(t, 0)));
    assert_true(isinf(mlp_tensor_get(t, 1)) && mlp_tensor_get(t, 1) < 0);
    assert_true(isinf(mlp_tensor_get(t, 2)) && mlp_tensor_get(t, 2) > 0);
    assert_true(mlp_tensor_get(t, 3) == 0.0f);
    mlp_tensor_free(t);
}

/* an IDX file of one element type: magic, dims, payload */
static size_t idx_file(unsigned char *b, unsigned code, uint32_t rows, uint32_t cols,
                       const unsigned char *payload, size_t n)
{
    b[0] = 0;
    b[1] = 0;
    b[2] = (unsigned char)code;
    b[3] = 2;
    b[4] = (unsigned char)(rows >> 24);
    b[5] = (unsigned char)(rows >> 16);
    b[6] = (unsigned char)(rows >> 8);
    b[7] = (unsigned char)rows;
    b[8] = (unsigned char)(cols >> 24);
    b[9] = (unsigned char)(cols >> 16);
    b[10] = (unsigned char)(cols >> 8);
    b[11] = (unsigned char)cols;
    memcpy(b + 12, payload, n);
    return 12 + n;
}

static void idx__nonfinite_and_out_of_range_name_row_and_column(void **state)
{
    /* 2x2 float64, big-endian: 1, 2, 3, 1e300 (0x7E37E43C8800759C) */
    static const unsigned char f64[32] = {
        0x3F, 0xF0, 0, 0, 0, 0, 0, 0, 0x40, 0x00, 0,    0,    0,    0,    0,    0,
        0x40, 0x08, 0, 0, 0, 0, 0, 0, 0x7E, 0x37, 0xE4, 0x3C, 0x88, 0x00, 0x75, 0x9C};
    /* 2x2 float32: 1, NaN (0x7FC00000), 2, 3 */
    static const unsigned char f32[16] = {0x3F, 0x80, 0, 0, 0x7F, 0xC0, 0, 0,
                                          0x40, 0x00, 0, 0, 0x40, 0x40, 0, 0};
    static const unsigned char u8[4] = {0, 1, 2, 255};
    unsigned char b[64];
    size_t n;
    mlp_ctx *ctx = tu_ctx_of(state);
    mlp_tensor *t;
    n = idx_file(b, 0x0E, 2, 2, f64, sizeof f64);
    EXPECT_NULL_CODE_KEEP(ctx, mlp_idx_load_mem(ctx, b, n, 1.0f), MLP_ERR_NONFINITE);
    EXPECT_MSG(ctx, "row 1, column 1 (counting from 0) is 1e+300, beyond float's range");
    n = idx_file(b, 0x0D, 2, 2, f32, sizeof f32);
    EXPECT_NULL_CODE_KEEP(ctx, mlp_idx_load_mem(ctx, b, n, 1.0f), MLP_ERR_NONFINITE);
    EXPECT_MSG(ctx, "row 0, column 1 (counting from 0) is nan, not a finite number");
    /* u8 255 times 1e37 is past float's range once scaled */
    n = idx_file(b, 0x08, 2, 2, u8, sizeof u8);
    EXPECT_NULL_CODE_KEEP(ctx, mlp_idx_load_mem(ctx, b, n, 1e37f), MLP_ERR_NONFINITE);
    EXPECT_MSG(ctx, "is 255, beyond float's range once scaled");
    EXPECT_NULL_CODE_KEEP(ctx, mlp_idx_load_mem(ctx, b, n, NAN), MLP_ERR_ARG);
    EXPECT_MSG(ctx, "scale");
    mlp_ctx_set_allow_nonfinite_data(ctx, 1);
    n = idx_file(b, 0x0E, 2, 2, f64, sizeof f64);
    t = mlp_idx_load_mem(ctx, b, n, 1.0f);
    assert_handle(ctx, t);
    assert_true(mlp_tensor_get(t, 2) == 3.0f && isinf(mlp_tensor_get(t, 3)));
    mlp_tensor_free(t);
}

/* a .npy file: version 1.0 header padded to 64 bytes, then data */
static size_t npy_file(unsigned char *b, const char *descr, const char *shape,
                       const unsigned char *data, size_t n)
{
    char h[128];
    size_t len =
        (size_t)sprintf(h, "{'descr': '%s', 'fortran_order': False, 'shape': %s, }", descr, shape);
    while ((10 + len + 1) % 64)
        h[len++] = ' ';
    h[len++] = '\n';
    memcpy(b, "\x93NUMPY\x01\x00", 8);
    b[8] = (unsigned char)len;
    b[9] = 0;
    memcpy(b + 10, h, len);
    memcpy(b + 10 + len, data, n);
    return 10 + len + n;
}

static void npy__nonfinite_and_out_of_range_name_row_and_column(void **state)
{
    /* '<f8' [3]: 0.5, -1e300 (0xFE37E43C8800759C), 2 */
    static const unsigned char f8[24] = {0,    0,    0,    0,    0,    0,    0xE0, 0x3F,
                                         0x9C, 0x75, 0x00, 0x88, 0x3C, 0xE4, 0x37, 0xFE,
                                         0,    0,    0,    0,    0,    0,    0x00, 0x40};
    /* '<f4' [2,2]: 1, 2, 3, +Inf (0x7F800000) */
    static const unsigned char f4[16] = {0, 0, 0x80, 0x3F, 0, 0, 0x00, 0x40,
                                         0, 0, 0x40, 0x40, 0, 0, 0x80, 0x7F};
    /* '>f4' [1,2]: NaN, 1 */
    static const unsigned char bf4[8] = {0x7F, 0xC0, 0, 0, 0x3F, 0x80, 0, 0};
    unsigned char b[256];
    size_t n;
    mlp_ctx *ctx = tu_ctx_of(state);
    mlp_tensor *t;
    n = npy_file(b, "<f8", "(3,)", f8, sizeof f8);
    EXPECT_NULL_CODE_KEEP(ctx, mlp_npy_load_mem(ctx, b, n), MLP_ERR_NONFINITE);
    EXPECT_MSG(ctx, "element 1 (counting from 0) is -1e+300, beyond float's range");
    n = npy_file(b, "<f4", "(2, 2)", f4, sizeof f4);
    EXPECT_NULL_CODE_KEEP(ctx, mlp_npy_load_mem(ctx, b, n), MLP_ERR_NONFINITE);
    EXPECT_MSG(ctx, "row 1, column 1 (counting from 0) is inf, not a finite number");
    n = npy_file(b, ">f4", "(1, 2)", bf4, sizeof bf4);
    EXPECT_NULL_CODE_KEEP(ctx, mlp_npy_load_mem(ctx, b, n), MLP_ERR_NONFINITE);
    EXPECT_MSG(ctx, "row 0, column 0");
    mlp_ctx_set_allow_nonfinite_data(ctx, 1);
    n = npy_file(b, "<f8", "(3,)", f8, sizeof f8);
    t = mlp_npy_load_mem(ctx, b, n);
    assert_handle(ctx, t);
    assert_true(mlp_tensor_get(t, 0) == 0.5f && isinf(mlp_tensor_get(t, 1))
                && mlp_tensor_get(t, 1) < 0);
    mlp_tensor_free(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        TU_TEST(csv__byte_order_mark_and_every_line_end_are_read),
        TU_TEST(csv__nul_bytes_and_utf16_are_refused_naming_the_place),
        TU_TEST(csv__numbers_of_any_length_are_read_exactly),
        TU_TEST(csv__nonfinite_and_out_of_range_name_line_and_column),
        TU_TEST(idx__nonfinite_and_out_of_range_name_row_and_column),
        TU_TEST(npy__nonfinite_and_out_of_range_name_row_and_column),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
