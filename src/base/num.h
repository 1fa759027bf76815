/*
 * num.h - numbers as text, the same in every locale: a decimal-to-float
 * parser correctly rounded to nearest-even (what strtof gives in the C
 * locale) that never reads the locale and needs no NUL terminator, and
 * printf-style formatting whose floating-point conversions always use '.'
 * as the decimal point. The library calls neither setlocale nor
 * localeconv.
 */
#ifndef MLP_BASE_NUM_H
#define MLP_BASE_NUM_H

#include <stdarg.h>
#include <stddef.h>

#include "base/base.h"

/* What mlp__parse_float found in [s, e). */
typedef enum mlp__num {
    MLP__NUM_OK = 0,        /* a finite number, *out is it correctly rounded */
    MLP__NUM_BAD = 1,       /* not a number of the grammar below */
    MLP__NUM_NONFINITE = 2, /* "nan" or "inf"/"infinity": *out is NaN or +-Inf */
    MLP__NUM_RANGE = 3      /* a finite number beyond float's range: *out is +-Inf */
} mlp__num;

/* Parse all of [s, e) as a float. The grammar (no surrounding spaces):
 *   [+-] ( digits [ "." [digits] ] | "." digits ) [ (e|E) [+-] digits ]
 *   [+-] ( "inf" | "infinity" | "nan" )   (letters in any case)
 * Any number of digits is read and rounded once to the nearest float,
 * ties to even. Numbers too small for a float become 0 or subnormal, as
 * with strtof; hexadecimal floats are not accepted. */
mlp__num mlp__parse_float(const char *s, const char *e, float *out);

/* vsnprintf / snprintf whose %e %f %g %a conversions write '.' as the
 * decimal point whatever the locale (integers and strings are not locale
 * dependent without the ' flag, which the library does not use). A %s
 * without a precision longer than 200 bytes (a path) is written as its
 * first 80 bytes, "..." and its last 100, so the rest of a message (the
 * system's reason) is never cut off. */
int mlp__vsnprintf(char *buf, size_t cap, const char *fmt, va_list ap);
int mlp__snprintf(char *buf, size_t cap, const char *fmt, ...) MLP__PRINTF(3, 4);

#endif
