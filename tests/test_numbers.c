/*
 * test_numbers.c - numbers as text the same in every locale: the
 * library's decimal parser gives the float strtof gives in the C locale,
 * bit for bit, over random strings of the CSV number grammar and over the
 * hard cases (exact midpoints between floats and their neighbours,
 * subnormals, the overflow edge, hundreds of digits); its formatting
 * writes '.' as the decimal point; and after the host program switches to
 * a locale whose decimal point is a comma (de_DE.UTF-8, and any other
 * such locale installed), CSV parsing, the model summary and error
 * messages are unchanged. tools/deps.sh generates de_DE.UTF-8 and
 * fr_FR.UTF-8 when run as root; without them the locale tests skip.
 */
#include <errno.h>
#include <float.h>
#include <locale.h>

#include "testutil.h"

#include "base/num.h"

/* A small generator of our own (splitmix64), so the strings are the same
 * on every run. */
static uint64_t rng_state = 0x9E3779B97F4A7C15u;
static uint64_t next_u64(void)
{
    uint64_t z = (rng_state += 0x9E3779B97F4A7C15u);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9u;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBu;
    return z ^ (z >> 31);
}
static int below(int n)
{
    return (int)(next_u64() % (uint64_t)n);
}

static long compared, mismatches;

/* Parse s both ways and compare: same bits, or both out of range. */
static void compare(const char *s)
{
    float ours = 0.0f, theirs;
    uint32_t a, b;
    char *end;
    mlp__num k = mlp__parse_float(s, s + strlen(s), &ours);
    errno = 0;
    theirs = strtof(s, &end);
    compared++;
    if (*end != '\0') {
        print_error("generator made '%s', which strtof does not read whole\n", s);
        mismatches++;
        return;
    }
    if (isinf(theirs)) {
        if (k != MLP__NUM_RANGE || !isinf(ours) || signbit(ours) != signbit(theirs)) {
            print_error("'%s': strtof overflows, ours gave kind %d, %a\n", s, (int)k, (double)ours);
            mismatches++;
        }
        return;
    }
    memcpy(&a, &ours, 4);
    memcpy(&b, &theirs, 4);
    if (k != MLP__NUM_OK || a != b) {
        if (mismatches < 20)
            print_error("'%s': ours %a (kind %d), strtof %a\n", s, (double)ours, (int)k,
                        (double)theirs);
        mismatches++;
    }
}

/* A random string of the grammar: sign, digits with a point somewhere,
 * an exponent. */
static void random_number(char *buf, size_t cap)
{
    size_t o = 0;
    int nd, i, point;
    if (below(4) == 0)
        buf[o++] = below(2) ? '-' : '+';
    nd = below(8) == 0 ? 1 + below(240) : 1 + below(24);
    point = below(3) == 0 ? -1 : below(nd + 1);
    for (i = 0; i < nd && o + 16 < cap; i++) {
        if (i == point)
            buf[o++] = '.';
        /* runs of zeros and nines make carries and ties likelier */
        buf[o++] = below(4) == 0 ? '0' : below(4) == 0 ? '9' : (char)('0' + below(10));
    }
    if (point == nd)
        buf[o++] = '.';
    if (below(2)) {
        int ex = below(3) == 0 ? below(120) - 60 : below(90) - 45;
        o += (size_t)sprintf(buf + o, "%c%d", below(2) ? 'e' : 'E', ex);
    }
    buf[o] = '\0';
}

static void numbers__parser_matches_strtof_on_random_strings(void **state)
{
    char buf[320];
    int i;
    (void)state;
    compared = mismatches = 0;
    for (i = 0; i < 300000; i++) {
        random_number(buf, sizeof buf);
        compare(buf);
    }
    assert_int_equal(mismatches, 0);
}

/* Exact decimal expansions of float midpoints (a double holds them
 * exactly and glibc prints doubles exactly), then the same cut short,
 * nudged up by a far digit, and neighbours one unit away in the last
 * digit. */
static void near_midpoint(float f)
{
    char buf[300], t[420];
    float g = nextafterf(f, INFINITY);
    double m;
    size_t n;
    if (!isfinite(g))
        return;
    m = ((double)f + (double)g) / 2;
    sprintf(buf, "%.120e", m);
    compare(buf);
    /* one far digit above the midpoint */
    {
        char *e = strchr(buf, 'e');
        memcpy(t, buf, (size_t)(e - buf));
        sprintf(t + (e - buf), "0000000000000000000001%s", e);
        compare(t);
        /* and past the 200 digits the parser keeps: only a sticky bit */
        memcpy(t, buf, (size_t)(e - buf));
        memset(t + (e - buf), '0', 120);
        sprintf(t + (e - buf) + 120, "1%s", e);
        compare(t);
    }
    /* the midpoint cut to 9, 12, 17 significant digits */
    sprintf(buf, "%.8e", m);
    compare(buf);
    sprintf(buf, "%.11e", m);
    compare(buf);
    sprintf(buf, "%.16e", m);
    compare(buf);
    /* f itself, printed shortest-ish and exactly */
    sprintf(buf, "%.9g", (double)f);
    compare(buf);
    sprintf(buf, "%.112e", (double)f);
    n = strlen(buf);
    compare(buf);
    (void)n;
}

static void numbers__parser_matches_strtof_at_midpoints_and_edges(void **state)
{
    static const char *edges[] = {
        "0",
        "-0",
        "0.0e999999999999",
        "1e-46",
        "7.006492321624085354618647916449580656401309709382578858785341419448955413e-46",
        "7.0064923216240853546186479164495806564013097093825788587853414194489554e-46",
        "7.006492321624085354618647916449580656401309709382578858785341419448955414e-46",
        "1.401298464324817e-45",
        "1.1754942106924411e-38",
        "1.1754943508222875e-38",
        "3.4028234663852886e+38",
        "3.4028235677973366e+38", /* just below the rounding edge: FLT_MAX */
        "3.4028235677973367e+38", /* past it: overflow */
        "340282356779733661637539395458142568448",
        "340282356779733661637539395458142568447.999",
        "1e39",
        "1e38",
        "16777217",
        "16777219",
        "33554431",
        "0.1",
        "0.3",
        "123456789012345678901234567890",
        ".5",
        "5.",
        "+.5e+1",
        "1e+0",
        "9999999999999999999999999999999999999999e-40",
        "00000000000000000000000000000000000001.5",
        "0.0000000000000000000000000000000000000000000000000000000000001e60",
    };
    size_t i;
    int k;
    uint32_t bits;
    (void)state;
    compared = mismatches = 0;
    for (i = 0; i < sizeof edges / sizeof edges[0]; i++)
        compare(edges[i]);
    for (k = 0; k < 40000; k++) {
        float f;
        bits = (uint32_t)next_u64() & 0x7FFFFFFFu;
        if (k % 4 == 0)
            bits &= 0x007FFFFFu; /* subnormals */
        memcpy(&f, &bits, 4);
        if (isfinite(f))
            near_midpoint(f);
    }
    assert_int_equal(mismatches, 0);
    assert_true(compared > 200000);
}

static mlp__num parse(const char *s, float *v)
{
    return mlp__parse_float(s, s + strlen(s), v);
}

static void numbers__grammar_refuses_what_is_not_a_number(void **state)
{
    static const char *bad[] = {"",
                                "+",
                                "-",
                                ".",
                                "e5",
                                "1e",
                                "1e+",
                                "1.2.3",
                                "1,5",
                                "0x10",
                                "1f",
                                " 1",
                                "1 ",
                                "--1",
                                "nan(1)",
                                "infinit",
                                "in",
                                "1e5.",
                                "\xD9\xA1\xD9\xA2",
                                "1\xC2\xA0\x30"};
    float v;
    size_t i;
    (void)state;
    for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        if (mlp__parse_float(bad[i], bad[i] + strlen(bad[i]), &v) != MLP__NUM_BAD) {
            print_error("'%s' was read as a number\n", bad[i]);
            fail();
        }
    }
    /* a NUL inside the field is a character like any other, not an end */
    {
        static const char nul[3] = {'7', '\0', '9'};
        assert_int_equal(mlp__parse_float(nul, nul + 3, &v), MLP__NUM_BAD);
    }
    assert_int_equal(parse("INF", &v), MLP__NUM_NONFINITE);
    assert_true(isinf(v) && v > 0);
    assert_int_equal(parse("-Infinity", &v), MLP__NUM_NONFINITE);
    assert_true(isinf(v) && v < 0);
    assert_int_equal(parse("NaN", &v), MLP__NUM_NONFINITE);
    assert_true(isnan(v));
    assert_int_equal(parse("-1e999", &v), MLP__NUM_RANGE);
    assert_true(isinf(v) && v < 0);
    /* 1e-50 is too small for a float: 0, as strtof, not an error */
    assert_int_equal(parse("1e-50", &v), MLP__NUM_OK);
    assert_true(v == 0.0f);
}

static void numbers__formatting_writes_a_point(void **state)
{
    char buf[128];
    int n;
    (void)state;
    n = mlp__snprintf(buf, sizeof buf, "%s(p=%g) %.3f %e %8.2f|%-6g|%lld %zu %u %x %c %% %.2s",
                      "dropout", 0.5, 1.5, 2.5e-7, 3.25, 0.125, (long long)-7, (size_t)9, 10u, 255u,
                      'z', "abc");
    assert_string_equal(buf, "dropout(p=0.5) 1.500 2.500000e-07     3.25|0.125 |-7 9 10 ff z % ab");
    assert_int_equal(n, (int)strlen(buf));
    /* cut short: NUL-terminated, returns the full length like snprintf */
    n = mlp__snprintf(buf, 8, "%g and %s", 0.25, "more");
    assert_string_equal(buf, "0.25 an");
    assert_int_equal(n, 13);
    n = mlp__snprintf(buf, sizeof buf, "%.*s|%*d|%g|%g|%-5s|%4s|", 3, "abcdef", 4, 7, INFINITY,
                      -0.0, "ab", "cd");
    assert_string_equal(buf, "abc|   7|inf|-0|ab   |  cd|");
    (void)n;
}

/* ---- locales ---- */

/* Switch to `name` (or its ".utf8" spelling). 0 if it is not installed or
 * its decimal point is not a comma. */
static int use_comma_locale(const char *name)
{
    char alt[64];
    const char *dot = strchr(name, '.');
    if (!setlocale(LC_ALL, name)) {
        if (!dot)
            return 0;
        snprintf(alt, sizeof alt, "%.*s.utf8", (int)(dot - name), name);
        if (!setlocale(LC_ALL, alt))
            return 0;
    }
    if (strcmp(localeconv()->decimal_point, ",") != 0) {
        setlocale(LC_ALL, "C");
        return 0;
    }
    return 1;
}

/* What a comma locale must not change, checked with that locale active. */
static void same_in_this_locale(void)
{
    static const char csv[] = "a,b\n1.5,-2.25e1\n0.125,3\n";
    mlp_ctx *ctx = mlp_ctx_new(NULL);
    mlp_tensor *t;
    mlp_model *m;
    char sum[512];
    float v;
    char *end;
    /* the locale really is active: strtod stops at the '.' */
    assert_true(strtod("1.5", &end) == 1.0 && *end == '.');
    t = mlp_csv_load_mem(ctx, csv, sizeof csv - 1, 1);
    assert_handle(ctx, t);
    assert_true(mlp_tensor_get(t, 0) == 1.5f);
    assert_true(mlp_tensor_get(t, 1) == -22.5f);
    assert_true(mlp_tensor_get(t, 2) == 0.125f);
    mlp_tensor_free(t);
    /* "1,5" is two fields, never one and a half */
    t = mlp_csv_load_mem(ctx, "1,5\n", 4, 0);
    assert_handle(ctx, t);
    assert_int_equal(mlp_tensor_numel(t), 2);
    mlp_tensor_free(t);
    assert_int_equal(parse("0.1", &v), MLP__NUM_OK);
    assert_true(v == 0.1f);
    /* the summary prints dropout(p=0.5) and leaky_relu(0.01) */
    m = mlp_model_new(ctx);
    assert_ok(ctx, mlp_model_add_linear(m, 2, 3));
    assert_ok(ctx, mlp_model_add_act(m, MLP_ACT_LEAKY_RELU));
    assert_ok(ctx, mlp_model_add_dropout(m, 0.5f));
    mlp_model_summary(m, sum, sizeof sum);
    if (!strstr(sum, "dropout(p=0.5)") || !strstr(sum, "leaky_relu(0.01)")) {
        print_error("summary in this locale:\n%s", sum);
        fail();
    }
    mlp_model_free(m);
    /* an error message with a float in it */
    assert_null(mlp_tensor_rand_uniform(ctx, 0, NULL, 2.5f, 0.5f));
    if (!strstr(mlp_ctx_errmsg(ctx), "2.5") || strstr(mlp_ctx_errmsg(ctx), "2,5")) {
        print_error("message: %s\n", mlp_ctx_errmsg(ctx));
        fail();
    }
    mlp_ctx_free(ctx);
}

static void locale__de_DE_changes_no_number_read_or_written(void **state)
{
    (void)state;
    if (!use_comma_locale("de_DE.UTF-8")) {
        printf("skipped: the de_DE.UTF-8 locale is not installed (tools/deps.sh locales, as "
               "root, makes it)\n");
        skip();
    }
    same_in_this_locale();
    setlocale(LC_ALL, "C");
}

static void locale__another_comma_locale_changes_nothing_either(void **state)
{
    static const char *names[] = {"fr_FR.UTF-8", "ru_RU.UTF-8", "es_ES.UTF-8", "it_IT.UTF-8",
                                  "nl_NL.UTF-8", "pt_BR.UTF-8", "pl_PL.UTF-8", "sv_SE.UTF-8"};
    size_t i;
    (void)state;
    for (i = 0; i < sizeof names / sizeof names[0]; i++)
        if (use_comma_locale(names[i]))
            break;
    if (i == sizeof names / sizeof names[0]) {
        printf("skipped: no comma-decimal locale besides de_DE is installed (tools/deps.sh "
               "locales, as root, makes fr_FR.UTF-8)\n");
        skip();
    }
    same_in_this_locale();
    setlocale(LC_ALL, "C");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(numbers__parser_matches_strtof_on_random_strings),
        cmocka_unit_test(numbers__parser_matches_strtof_at_midpoints_and_edges),
        cmocka_unit_test(numbers__grammar_refuses_what_is_not_a_number),
        cmocka_unit_test(numbers__formatting_writes_a_point),
        cmocka_unit_test(locale__de_DE_changes_no_number_read_or_written),
        cmocka_unit_test(locale__another_comma_locale_changes_nothing_either),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
