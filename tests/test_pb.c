/*
 * test_pb.c - the protobuf wire format reader and writer (src/io/pb.c)
 * against bytes worked out by hand from the encoding rules
 * (protobuf.dev/programming-guides/encoding): varints are 7 bits per byte,
 * low group first, top bit set on every byte but the last; a tag is
 * (field number << 3) | wire type.
 */
#include "testutil.h"

#include "io/pb.h"

static void pb__varint_150_is_96_01(void **state)
{
    /* 150 = 0b1_0010110: low 7 bits 0x16 | 0x80 = 0x96, then 0x01 */
    static const unsigned char b[] = {0x96, 0x01};
    const unsigned char *p = b;
    uint64_t v = 0;
    (void)state;
    assert_int_equal(mlp__pb_varint(&p, b + 2, &v), 1);
    assert_int_equal(v, 150);
    assert_ptr_equal(p, b + 2);
}

static void pb__varint_of_ten_bytes_holds_all_64_bits(void **state)
{
    /* 2^64 - 1: nine bytes of 0xff carry 63 bits, the tenth the top bit */
    static const unsigned char max[] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01};
    static const unsigned char too_big[] = {0xff, 0xff, 0xff, 0xff, 0xff,
                                            0xff, 0xff, 0xff, 0xff, 0x02};
    static const unsigned char eleven[] = {0x80, 0x80, 0x80, 0x80, 0x80, 0x80,
                                           0x80, 0x80, 0x80, 0x80, 0x00};
    static const unsigned char cut[] = {0x80, 0x80};
    const unsigned char *p = max;
    uint64_t v = 0;
    (void)state;
    assert_int_equal(mlp__pb_varint(&p, max + 10, &v), 1);
    assert_true(v == UINT64_MAX);
    p = too_big;
    assert_int_equal(mlp__pb_varint(&p, too_big + 10, &v), 0);
    p = eleven;
    assert_int_equal(mlp__pb_varint(&p, eleven + 11, &v), 0);
    p = cut;
    assert_int_equal(mlp__pb_varint(&p, cut + 2, &v), 0);
    assert_ptr_equal(p, cut); /* a failed read does not move */
}

static void pb__reads_the_encoding_guides_examples(void **state)
{
    /* field 1 varint 150: 08 96 01; field 2 string "testing": 12 07 ... */
    static const unsigned char b[] = {0x08, 0x96, 0x01, 0x12, 0x07, 't',
                                      'e',  's',  't',  'i',  'n',  'g'};
    mlp__pb r;
    mlp__pb_field f;
    (void)state;
    mlp__pb_init(&r, b, sizeof b);
    assert_int_equal(mlp__pb_next(&r, &f), 1);
    assert_int_equal(f.num, 1);
    assert_int_equal(f.wire, MLP__PB_VARINT);
    assert_int_equal(f.v, 150);
    assert_int_equal(mlp__pb_next(&r, &f), 1);
    assert_int_equal(f.num, 2);
    assert_int_equal(f.wire, MLP__PB_LEN);
    assert_int_equal(f.len, 7);
    assert_true(mlp__pb_is_str(&f, "testing"));
    assert_false(mlp__pb_is_str(&f, "test"));
    assert_int_equal(mlp__pb_next(&r, &f), 0);
}

static void pb__fixed_values_are_little_endian(void **state)
{
    /* field 4 fixed32 1.0f (0x3f800000), field 5 fixed64 0x0102030405060708 */
    static const unsigned char b[] = {0x25, 0x00, 0x00, 0x80, 0x3f, 0x29, 0x08,
                                      0x07, 0x06, 0x05, 0x04, 0x03, 0x02, 0x01};
    mlp__pb r;
    mlp__pb_field f;
    (void)state;
    mlp__pb_init(&r, b, sizeof b);
    assert_int_equal(mlp__pb_next(&r, &f), 1);
    assert_int_equal(f.num, 4);
    assert_int_equal(f.wire, MLP__PB_FIXED32);
    assert_int_equal(f.v, 0x3f800000u);
    assert_true(mlp__pb_f32(b + 1) == 1.0f);
    assert_int_equal(mlp__pb_next(&r, &f), 1);
    assert_int_equal(f.num, 5);
    assert_true(f.v == 0x0102030405060708ull);
    assert_int_equal(mlp__pb_next(&r, &f), 0);
}

static void expect_malformed(const unsigned char *b, size_t n)
{
    mlp__pb r;
    mlp__pb_field f;
    int rc;
    mlp__pb_init(&r, b, n);
    while ((rc = mlp__pb_next(&r, &f)) == 1)
        ;
    assert_int_equal(rc, -1);
    assert_int_equal(mlp__pb_next(&r, &f), 0); /* stays at the end */
}

static void pb__bad_fields_are_malformed(void **state)
{
    static const unsigned char len_past_end[] = {0x12, 0x05, 'a', 'b'};
    static const unsigned char huge_len[] = {0x12, 0xff, 0xff, 0xff, 0xff, 0x0f, 'a'};
    static const unsigned char field_zero[] = {0x00, 0x01};
    static const unsigned char group[] = {0x0b, 0x0c};
    static const unsigned char wire6[] = {0x0e, 0x00};
    static const unsigned char cut_fixed32[] = {0x25, 0x00, 0x00};
    static const unsigned char cut_fixed64[] = {0x29, 0x00, 0x00, 0x00, 0x00};
    static const unsigned char cut_tag[] = {0x08, 0x01, 0x80};
    static const unsigned char tag_above_32_bits[] = {0x80, 0x80, 0x80, 0x80, 0x80, 0x01, 0x00};
    (void)state;
    expect_malformed(len_past_end, sizeof len_past_end);
    expect_malformed(huge_len, sizeof huge_len);
    expect_malformed(field_zero, sizeof field_zero);
    expect_malformed(group, sizeof group);
    expect_malformed(wire6, sizeof wire6);
    expect_malformed(cut_fixed32, sizeof cut_fixed32);
    expect_malformed(cut_fixed64, sizeof cut_fixed64);
    expect_malformed(cut_tag, sizeof cut_tag);
    expect_malformed(tag_above_32_bits, sizeof tag_above_32_bits);
}

static void pb__nested_message_reads_inside_its_bytes_only(void **state)
{
    /* field 3 { field 1 = 1 } then field 1 = 2: the inner reader ends at
     * the inner message's end and never sees the outer field */
    static const unsigned char b[] = {0x1a, 0x02, 0x08, 0x01, 0x08, 0x02};
    mlp__pb r, in;
    mlp__pb_field f, g;
    (void)state;
    mlp__pb_init(&r, b, sizeof b);
    assert_int_equal(mlp__pb_next(&r, &f), 1);
    mlp__pb_init(&in, f.data, f.len);
    assert_int_equal(mlp__pb_next(&in, &g), 1);
    assert_int_equal(g.v, 1);
    assert_int_equal(mlp__pb_next(&in, &g), 0);
    assert_int_equal(mlp__pb_next(&r, &f), 1);
    assert_int_equal(f.v, 2);
}

static void pb__writer_makes_the_guides_bytes(void **state)
{
    static const unsigned char want[] = {0x08, 0x96, 0x01, 0x12, 0x07, 't',  'e',  's',
                                         't',  'i',  'n',  'g',  0x25, 0x00, 0x00, 0x80,
                                         0x3f, 0x1a, 0x02, 0x08, 0x01, 0x20, 0xff, 0xff,
                                         0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01};
    mlp_ctx *ctx = mlp_ctx_new(NULL);
    mlp__pbw w;
    size_t mark;
    (void)state;
    mlp__pbw_init(&w, ctx, "test");
    mlp__pbw_varint(&w, 1, 150);
    mlp__pbw_str(&w, 2, "testing");
    mlp__pbw_float(&w, 4, 1.0f);
    mark = mlp__pbw_begin(&w, 3);
    mlp__pbw_varint(&w, 1, 1);
    mlp__pbw_end(&w, mark);
    mlp__pbw_int64(&w, 4, -1); /* int64 -1: ten bytes, two's complement */
    assert_int_equal(w.status, MLP_OK);
    assert_int_equal(w.len, sizeof want);
    assert_memory_equal(w.buf, want, sizeof want);
    mlp__pbw_free(&w);
    mlp_ctx_free(ctx);
}

static void pb__long_nested_message_gets_a_two_byte_length(void **state)
{
    /* 200 bytes of payload inside field 7: tag 0x3a, length 200 =
     * 0xc8 0x01, then the inner field 1 (tag 0x0a, length 197 = 0xc5 0x01) */
    mlp_ctx *ctx = mlp_ctx_new(NULL);
    mlp__pbw w;
    mlp__pb r, in;
    mlp__pb_field f, g;
    unsigned char payload[197];
    size_t mark;
    (void)state;
    memset(payload, 'x', sizeof payload);
    mlp__pbw_init(&w, ctx, "test");
    mark = mlp__pbw_begin(&w, 7);
    mlp__pbw_bytes(&w, 1, payload, sizeof payload);
    mlp__pbw_end(&w, mark);
    mlp__pbw_varint(&w, 2, 5);
    assert_int_equal(w.status, MLP_OK);
    assert_int_equal(w.len, 1 + 2 + 200 + 2);
    assert_int_equal(w.buf[0], 0x3a);
    assert_int_equal(w.buf[1], 0xc8);
    assert_int_equal(w.buf[2], 0x01);
    mlp__pb_init(&r, w.buf, w.len);
    assert_int_equal(mlp__pb_next(&r, &f), 1);
    assert_int_equal(f.len, 200);
    mlp__pb_init(&in, f.data, f.len);
    assert_int_equal(mlp__pb_next(&in, &g), 1);
    assert_int_equal(g.len, 197);
    assert_memory_equal(g.data, payload, 197);
    assert_int_equal(mlp__pb_next(&r, &f), 1);
    assert_int_equal(f.v, 5);
    mlp__pbw_free(&w);
    mlp_ctx_free(ctx);
}

static void pb__raw_floats_round_trip(void **state)
{
    static const float v[] = {1.0f, -2.5f, 3.25e-7f, 65504.0f};
    mlp_ctx *ctx = mlp_ctx_new(NULL);
    mlp__pbw w;
    mlp__pb r;
    mlp__pb_field f;
    int i;
    (void)state;
    mlp__pbw_init(&w, ctx, "test");
    mlp__pbw_floats_raw(&w, 9, v, 4);
    mlp__pb_init(&r, w.buf, w.len);
    assert_int_equal(mlp__pb_next(&r, &f), 1);
    assert_int_equal(f.num, 9);
    assert_int_equal(f.len, 16);
    assert_int_equal(f.data[0], 0x00); /* 1.0f = 0x3f800000, little-endian */
    assert_int_equal(f.data[3], 0x3f);
    for (i = 0; i < 4; i++)
        assert_true(mlp__pb_f32(f.data + 4 * i) == v[i]);
    mlp__pbw_free(&w);
    mlp_ctx_free(ctx);
}

static void pb__writer_out_of_memory_fails_once_and_leaks_nothing(void **state)
{
    tu_alloc a;
    long n;
    (void)state;
    for (n = 0;; n++) {
        mlp_ctx *ctx = tu_ctx(&a, -1);
        mlp__pbw w;
        size_t mark;
        unsigned char big[1000];
        memset(big, 1, sizeof big);
        a.fail_at = a.calls + n;
        mlp__pbw_init(&w, ctx, "test");
        mark = mlp__pbw_begin(&w, 1);
        mlp__pbw_bytes(&w, 2, big, sizeof big);
        mlp__pbw_end(&w, mark);
        mlp__pbw_bytes(&w, 3, big, sizeof big);
        if (w.status == MLP_OK) {
            assert_int_equal(w.len, 3 + 3 + 1000 + 3 + 1000);
            mlp__pbw_free(&w);
            mlp_ctx_free(ctx);
            assert_int_equal(a.live, 0);
            break;
        }
        assert_int_equal(w.status, MLP_ERR_NOMEM);
        assert_int_equal(mlp_ctx_errcode(ctx), MLP_ERR_NOMEM);
        mlp__pbw_free(&w);
        mlp_ctx_free(ctx);
        assert_int_equal(a.live, 0);
    }
    assert_true(n > 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(pb__varint_150_is_96_01),
        cmocka_unit_test(pb__varint_of_ten_bytes_holds_all_64_bits),
        cmocka_unit_test(pb__reads_the_encoding_guides_examples),
        cmocka_unit_test(pb__fixed_values_are_little_endian),
        cmocka_unit_test(pb__bad_fields_are_malformed),
        cmocka_unit_test(pb__nested_message_reads_inside_its_bytes_only),
        cmocka_unit_test(pb__writer_makes_the_guides_bytes),
        cmocka_unit_test(pb__long_nested_message_gets_a_two_byte_length),
        cmocka_unit_test(pb__raw_floats_round_trip),
        cmocka_unit_test(pb__writer_out_of_memory_fails_once_and_leaks_nothing),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
