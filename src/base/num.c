/*
 * num.c - decimal text to float and floats to text without the locale.
 *
 * Parsing keeps up to NUM_DIGITS significant digits and a "sticky" flag
 * for any non-zero digit beyond them. That is exact for a float: every
 * midpoint between two adjacent floats has at most 112 significant
 * digits, so a dropped tail can only move the value off a midpoint, never
 * across one. Most numbers take a fast path in double arithmetic whose
 * error is bounded; when the bounds of the value round to two different
 * floats, a big-integer division decides: value = D * 10^E with D the
 * kept digits, scaled by 2^k so that the quotient has 24 bits, and the
 * remainder says which way to round (ties to even).
 *
 * Formatting goes through the C library's snprintf one conversion at a
 * time; the output of %e %f %g %a has its decimal point, whatever the
 * locale made it, replaced by '.'.
 */
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "base/num.h"

#define NUM_DIGITS 200
/* a %s longer than this is cut in the middle, keeping head and tail */
#define NUM_LONG_STRING 200
#define NUM_KEEP_HEAD 80
#define NUM_KEEP_TAIL 100
#define BIG_LIMBS 36 /* 1152 bits: the largest operand below is about 830 */

typedef struct big {
    uint32_t w[BIG_LIMBS]; /* little-endian limbs */
    int n;                 /* limbs in use, no leading zero limb */
} big;

static void big_small(big *a, uint32_t v)
{
    a->w[0] = v;
    a->n = v != 0;
}

static void big_mul_add(big *a, uint32_t m, uint32_t add)
{
    uint64_t carry = add;
    int i;
    for (i = 0; i < a->n; i++) {
        uint64_t t = (uint64_t)a->w[i] * m + carry;
        a->w[i] = (uint32_t)t;
        carry = t >> 32;
    }
    if (carry && a->n < BIG_LIMBS)
        a->w[a->n++] = (uint32_t)carry;
}

static void big_mul_pow10(big *a, int k)
{
    static const uint32_t p10[10] = {1,      10,      100,      1000,      10000,
                                     100000, 1000000, 10000000, 100000000, 1000000000};
    for (; k >= 9; k -= 9)
        big_mul_add(a, p10[9], 0);
    if (k > 0)
        big_mul_add(a, p10[k], 0);
}

static int big_bits(const big *a)
{
    int b = 0;
    uint32_t top;
    if (a->n == 0)
        return 0;
    for (top = a->w[a->n - 1]; top; top >>= 1)
        b++;
    return 32 * (a->n - 1) + b;
}

static void big_shl(big *a, int bits)
{
    int limbs = bits / 32, sh = bits % 32, i;
    if (a->n == 0 || bits <= 0)
        return;
    if (a->n + limbs + 1 > BIG_LIMBS)
        return; /* never: callers stay far below the capacity */
    a->w[a->n + limbs] = 0;
    for (i = a->n - 1; i >= 0; i--) {
        uint32_t v = a->w[i];
        if (sh) {
            a->w[i + limbs + 1] |= v >> (32 - sh);
            a->w[i + limbs] = v << sh;
        } else {
            a->w[i + limbs] = v;
        }
    }
    for (i = 0; i < limbs; i++)
        a->w[i] = 0;
    a->n += limbs + 1;
    while (a->n > 0 && a->w[a->n - 1] == 0)
        a->n--;
}

static int big_cmp(const big *a, const big *b)
{
    int i;
    if (a->n != b->n)
        return a->n < b->n ? -1 : 1;
    for (i = a->n - 1; i >= 0; i--)
        if (a->w[i] != b->w[i])
            return a->w[i] < b->w[i] ? -1 : 1;
    return 0;
}

/* a -= b, a >= b */
static void big_sub(big *a, const big *b)
{
    int64_t borrow = 0;
    int i;
    for (i = 0; i < a->n; i++) {
        int64_t t = (int64_t)a->w[i] - (i < b->n ? (int64_t)b->w[i] : 0) - borrow;
        borrow = t < 0;
        a->w[i] = (uint32_t)(t + (borrow ? ((int64_t)1 << 32) : 0));
    }
    while (a->n > 0 && a->w[a->n - 1] == 0)
        a->n--;
}

/* q = floor(num / den) for a quotient below 2^27; num becomes the remainder. */
static uint32_t big_divmod(big *num, const big *den)
{
    uint32_t q = 0;
    int bit;
    for (bit = 26; bit >= 0; bit--) {
        big t = *den;
        big_shl(&t, bit);
        if (big_cmp(num, &t) >= 0) {
            big_sub(num, &t);
            q |= (uint32_t)1 << bit;
        }
    }
    return q;
}

/* The float nearest to (D + sticky tail) * 10^E, D the digits dig[0..nd). */
static float slow_path(const char *dig, int nd, int sticky, int E, int *range)
{
    big D, Q, num, den;
    uint32_t q = 0;
    int i, k, tries, c;
    big_small(&D, 0);
    for (i = 0; i < nd; i++)
        big_mul_add(&D, 10, (uint32_t)(dig[i] - '0'));
    big_small(&Q, 1);
    if (E >= 0)
        big_mul_pow10(&D, E);
    else
        big_mul_pow10(&Q, -E);
    /* value * 2^k in [2^23, 2^24); k <= 149 keeps subnormals' spacing 2^-149 */
    k = 24 + big_bits(&Q) - big_bits(&D);
    for (tries = 0; tries < 4; tries++) {
        if (k > 149)
            k = 149;
        num = D;
        den = Q;
        if (k > 0)
            big_shl(&num, k);
        else
            big_shl(&den, -k);
        q = big_divmod(&num, &den);
        if (q >= ((uint32_t)1 << 24))
            k--;
        else if (q < ((uint32_t)1 << 23) && k < 149)
            k++;
        else
            break;
    }
    /* num is the remainder: compare it with half the divisor */
    big_shl(&num, 1);
    c = big_cmp(&num, &den);
    if (c > 0 || (c == 0 && (sticky || (q & 1))))
        q++;
    if (q == ((uint32_t)1 << 24)) {
        q >>= 1;
        k--;
    }
    if (k < -104) {
        *range = 1;
        return INFINITY;
    }
    return ldexpf((float)q, -k);
}

/* Fast path: D < 10^19 exactly, |E| <= 44, at most three roundings in
 * double (relative error below 2^-51). The value lies within p +- delta;
 * when both ends round to the same float, that float is the answer. */
static int fast_path(uint64_t D, int E, float *out)
{
    static const double p10[23] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                                   1e8,  1e9,  1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
                                   1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};
    volatile double p; /* each operation rounded to double, not kept wider */
    double delta;
    float lo, hi;
#if !defined(FLT_EVAL_METHOD) || (FLT_EVAL_METHOD != 0 && FLT_EVAL_METHOD != 1)
    (void)D;
    (void)E;
    (void)out;
    (void)p10;
    return 0;
#else
    if (E > 44 || E < -44)
        return 0;
    p = (double)D;
    if (E > 0) {
        p = p * p10[E > 22 ? 22 : E];
        if (E > 22)
            p = p * p10[E - 22];
    } else if (E < 0) {
        p = p / p10[-E > 22 ? 22 : -E];
        if (-E > 22)
            p = p / p10[-E - 22];
    }
    delta = p * 0x1p-50;
    lo = (float)(p - delta);
    hi = (float)(p + delta);
    if (lo != hi)
        return 0;
    *out = lo;
    return 1;
#endif
}

static int lower(int c)
{
    return c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c;
}

/* [s, e) equals word, ignoring case */
static int word_is(const char *s, const char *e, const char *word)
{
    size_t n = strlen(word), i;
    if ((size_t)(e - s) != n)
        return 0;
    for (i = 0; i < n; i++)
        if (lower((unsigned char)s[i]) != word[i])
            return 0;
    return 1;
}

/* The float nearest 0.dig * 10^p, dig nd digits (a nonzero digit past
 * them when sticky); *range set when it overflows. */
static float digits_to_float(const char *dig, int nd, int sticky, int64_t p, int *range)
{
    uint64_t D = 0;
    float v;
    int i, E;
    while (nd > 0 && dig[nd - 1] == '0')
        nd--;
    if (nd == 0)
        return 0.0f;
    if (p > 40) { /* >= 10^39 > FLT_MAX */
        *range = 1;
        return INFINITY;
    }
    if (p < -46) /* < 10^-46, below half the smallest subnormal */
        return 0.0f;
    E = (int)p - nd;
    for (i = 0; i < nd && i < 19; i++)
        D = D * 10 + (uint64_t)(dig[i] - '0');
    if (nd > 19 || sticky || !fast_path(D, E, &v))
        v = slow_path(dig, nd, sticky, E, range);
    if (isinf(v))
        *range = 1;
    return v;
}

mlp__num mlp__parse_float(const char *s, const char *e, float *out)
{
    char dig[NUM_DIGITS];
    int nd = 0, sticky = 0, neg = 0, seen_digit = 0, seen_point = 0, range = 0;
    int64_t p = 0; /* the value is 0.dig * 10^p */
    float v;
    if (s < e && (*s == '+' || *s == '-'))
        neg = *s++ == '-';
    if (s < e && (lower((unsigned char)*s) == 'i' || lower((unsigned char)*s) == 'n')) {
        if (word_is(s, e, "inf") || word_is(s, e, "infinity")) {
            *out = neg ? -INFINITY : INFINITY;
            return MLP__NUM_NONFINITE;
        }
        if (word_is(s, e, "nan")) {
            *out = neg ? -NAN : NAN;
            return MLP__NUM_NONFINITE;
        }
        return MLP__NUM_BAD;
    }
    for (; s < e; s++) {
        char c = *s;
        if (c >= '0' && c <= '9') {
            seen_digit = 1;
            if (nd == 0 && c == '0') {
                if (seen_point)
                    p--;
                continue;
            }
            if (nd < NUM_DIGITS)
                dig[nd++] = c;
            else if (c != '0')
                sticky = 1;
            if (!seen_point)
                p++;
        } else if (c == '.' && !seen_point) {
            seen_point = 1;
        } else {
            break;
        }
    }
    if (!seen_digit)
        return MLP__NUM_BAD;
    if (s < e && (*s == 'e' || *s == 'E')) {
        int eneg = 0, edigits = 0;
        int64_t ex = 0;
        s++;
        if (s < e && (*s == '+' || *s == '-'))
            eneg = *s++ == '-';
        for (; s < e && *s >= '0' && *s <= '9'; s++, edigits++)
            if (ex < 1000000000)
                ex = ex * 10 + (*s - '0');
        if (!edigits)
            return MLP__NUM_BAD;
        p += eneg ? -ex : ex;
    }
    if (s != e)
        return MLP__NUM_BAD;
    v = digits_to_float(dig, nd, sticky, p, &range);
    *out = neg ? -v : v;
    return range ? MLP__NUM_RANGE : MLP__NUM_OK;
}

/* ---- formatting ---- */

/* Bytes kept as they are in a formatted float: letters, digits, sign and
 * padding; anything else is the locale's decimal point. */
static int float_byte(unsigned char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '+'
           || c == '-' || c == ' ';
}

/* Replace each run of bytes that is not a float_byte (the locale's decimal
 * point, one or more bytes) by '.'. Returns the new length. */
static size_t c_radix(char *s, size_t n)
{
    size_t i, o = 0;
    for (i = 0; i < n;) {
        if (float_byte((unsigned char)s[i])) {
            s[o++] = s[i++];
            continue;
        }
        s[o++] = '.';
        while (i < n && !float_byte((unsigned char)s[i]))
            i++;
    }
    s[o] = '\0';
    return o;
}

/* Append src[0..n) to buf (cap bytes) at *len, counting what does not fit. */
static void append(char *buf, size_t cap, size_t *len, const char *src, size_t n)
{
    if (*len < cap) {
        size_t room = cap - *len - 1, k = n < room ? n : room;
        memcpy(buf + *len, src, k);
        buf[*len + k] = '\0';
    }
    *len += n;
}

/* One conversion of a format: its text ("%-8.3f"), its conversion letter,
 * length modifier and the values of its '*' width and precision. */
typedef struct spec {
    char text[32];
    char conv;
    char len[3];
    int nstar, star[2];
} spec;

/* Parse the conversion at *f (just past its '%'), taking '*' values from
 * ap; advances *f. 0 when the format ends or the spec is too long. */
static int parse_spec(const char **f, const char *start, spec *sp, va_list *ap)
{
    const char *p = *f;
    size_t n;
    memset(sp, 0, sizeof *sp);
    while (*p && strchr("-+ #0", *p))
        p++;
    if (*p == '*') {
        sp->star[sp->nstar++] = va_arg(*ap, int);
        p++;
    }
    while (*p >= '0' && *p <= '9')
        p++;
    if (*p == '.') {
        p++;
        if (*p == '*') {
            sp->star[sp->nstar++] = va_arg(*ap, int);
            p++;
        }
        while (*p >= '0' && *p <= '9')
            p++;
    }
    while (*p && strchr("hljztL", *p) && sp->len[1] == 0) {
        sp->len[sp->len[0] ? 1 : 0] = *p;
        p++;
    }
    if (!*p)
        return 0;
    sp->conv = *p++;
    n = (size_t)(p - start);
    if (n >= sizeof sp->text)
        return 0; /* no such conversion in the library */
    memcpy(sp->text, start, n);
    *f = p;
    return 1;
}

#define NUM_EMIT(T)                                                                                \
    do {                                                                                           \
        T v_ = va_arg(*ap, T);                                                                     \
        n = sp->nstar == 0   ? snprintf(dst, room, sp->text, v_)                                   \
            : sp->nstar == 1 ? snprintf(dst, room, sp->text, sp->star[0], v_)                      \
                             : snprintf(dst, room, sp->text, sp->star[0], sp->star[1], v_);        \
    } while (0)

/* snprintf of one argument of the type sp names. -2 for an unknown
 * conversion. */
static int emit(char *dst, size_t room, const spec *sp, va_list *ap)
{
    int n = -2, ll = sp->len[0] == 'l' && sp->len[1] == 'l';
    char l = sp->len[0];
    switch (sp->conv) {
    case 'd':
    case 'i':
        if (ll)
            NUM_EMIT(long long);
        else if (l == 'l')
            NUM_EMIT(long);
        else if (l == 'z')
            NUM_EMIT(size_t);
        else if (l == 'j')
            NUM_EMIT(intmax_t);
        else if (l == 't')
            NUM_EMIT(ptrdiff_t);
        else
            NUM_EMIT(int);
        break;
    case 'u':
    case 'o':
    case 'x':
    case 'X':
        if (ll)
            NUM_EMIT(unsigned long long);
        else if (l == 'l')
            NUM_EMIT(unsigned long);
        else if (l == 'z')
            NUM_EMIT(size_t);
        else if (l == 'j')
            NUM_EMIT(uintmax_t);
        else if (l == 't')
            NUM_EMIT(ptrdiff_t);
        else
            NUM_EMIT(unsigned);
        break;
    case 'c': NUM_EMIT(int); break;
    case 's': NUM_EMIT(const char *); break;
    case 'p': NUM_EMIT(void *); break;
    case 'e':
    case 'E':
    case 'f':
    case 'F':
    case 'g':
    case 'G':
    case 'a':
    case 'A':
        if (l == 'L')
            NUM_EMIT(long double);
        else
            NUM_EMIT(double);
        break;
    }
    return n;
}

int mlp__vsnprintf(char *buf, size_t cap, const char *fmt, va_list ap)
{
    size_t len = 0;
    const char *f = fmt;
    va_list args;
    int n = 0;
    if (cap)
        buf[0] = '\0';
    va_copy(args, ap);
    while (*f) {
        const char *start = f;
        char tmp[512];
        spec sp;
        if (*f != '%') {
            while (*f && *f != '%')
                f++;
            append(buf, cap, &len, start, (size_t)(f - start));
            continue;
        }
        if (f[1] == '%') {
            append(buf, cap, &len, "%", 1);
            f += 2;
            continue;
        }
        f++;
        if (!parse_spec(&f, start, &sp, &args))
            break;
        if (sp.conv == 's' && !strchr(sp.text, '.') && !strchr(sp.text, '*')) {
            /* a long string (a path) keeps its start and its end, so what
               follows it in the message (the reason) still fits */
            const char *v = va_arg(args, const char *);
            size_t vl = strlen(v);
            if (vl > NUM_LONG_STRING) {
                append(buf, cap, &len, v, NUM_KEEP_HEAD);
                append(buf, cap, &len, "...", 3);
                append(buf, cap, &len, v + vl - NUM_KEEP_TAIL, NUM_KEEP_TAIL);
                continue;
            }
            n = snprintf(len < cap ? buf + len : NULL, len < cap ? cap - len : 0, sp.text, v);
        } else if (strchr("eEfFgGaA", sp.conv)) {
            /* floats go through tmp to fix the decimal point */
            if ((n = emit(tmp, sizeof tmp, &sp, &args)) < 0)
                break;
            append(buf, cap, &len, tmp,
                   c_radix(tmp, (size_t)n < sizeof tmp ? (size_t)n : sizeof tmp - 1));
            continue;
        } else {
            n = emit(len < cap ? buf + len : NULL, len < cap ? cap - len : 0, &sp, &args);
        }
        if (n < 0)
            break;
        if (len < cap && (size_t)n >= cap - len)
            buf[cap - 1] = '\0';
        len += (size_t)n;
    }
    va_end(args);
    return n == -1 ? -1 : (int)len;
}

int mlp__snprintf(char *buf, size_t cap, const char *fmt, ...)
{
    va_list ap;
    int n;
    va_start(ap, fmt);
    n = mlp__vsnprintf(buf, cap, fmt, ap);
    va_end(ap);
    return n;
}
