/*
 * csv.c - numeric CSV into a 2-D tensor: comma-separated fields, an
 * optional header line, LF, CRLF or CR line ends, a UTF-8 byte-order mark
 * skipped, blank lines at the end ignored. Every row must have as many
 * fields as the first. Numbers are read by mlp__parse_float, the same in
 * every locale and of any length; a field that is not a number, or (unless
 * the context allows it) NaN, Inf or a number beyond float's range, is an
 * error naming its line and column and quoting it.
 */
#include <stdio.h>
#include <string.h>

#include "core.h"
#include "base/num.h"
#include "io/file.h"

#define CSV_MAX_FILE (((size_t)1) << 32)

typedef struct csv {
    const char *b;
    size_t size;
    size_t pos; /* start of the next line */
} csv;

/* The next line [*s, *e) without its end (LF, CRLF or CR). 0 at the end. */
static int next_line(csv *c, const char **s, const char **e)
{
    size_t p = c->pos;
    if (p >= c->size)
        return 0;
    while (p < c->size && c->b[p] != '\n' && c->b[p] != '\r')
        p++;
    *s = c->b + c->pos;
    *e = c->b + p;
    if (p < c->size && c->b[p++] == '\r' && p < c->size && c->b[p] == '\n')
        p++; /* CRLF */
    c->pos = p;
    return 1;
}

/* 1 if everything from the current position on is line ends. */
static int rest_blank(const csv *c)
{
    size_t k;
    for (k = c->pos; k < c->size; k++)
        if (c->b[k] != '\n' && c->b[k] != '\r')
            return 0;
    return 1;
}

/* The field [s, e) for a message: at most 40 bytes, others as \xNN. */
static const char *quote(const char *s, const char *e, char *buf, size_t cap)
{
    size_t o = 0;
    for (; s < e && o + 5 < cap; s++) {
        unsigned char ch = (unsigned char)*s;
        if (ch >= 0x20 && ch < 0x7f && ch != '\\')
            buf[o++] = (char)ch;
        else
            o += (size_t)snprintf(buf + o, cap - o, "\\x%02X", ch);
    }
    if (s < e && o + 4 <= cap) {
        memcpy(buf + o, "...", 3);
        o += 3;
    }
    buf[o] = '\0';
    return buf;
}

/* A NUL byte anywhere (a UTF-16 file has one in every other byte): an
 * error naming its line and column. */
static mlp_status find_nul(mlp_ctx *ctx, const char *fn, csv c)
{
    const char *z = memchr(c.b + c.pos, '\0', c.size - c.pos), *ls, *le;
    int64_t line = 0;
    if (!z)
        return MLP_OK;
    while (next_line(&c, &ls, &le)) {
        line++;
        if (z < le) {
            int64_t col = 1;
            for (; ls < z; ls++)
                col += *ls == ',';
            return mlp__fail(ctx, MLP_ERR_FORMAT,
                             "%s: line %lld, column %lld holds a NUL byte (is the file UTF-16?)",
                             fn, (long long)line, (long long)col);
        }
    }
    return MLP_OK; /* not reached: z lies on some line */
}

static mlp_status bad_field(mlp_ctx *ctx, const char *fn, mlp__num kind, int64_t line, int64_t col,
                            const char *s, const char *e)
{
    char q[64];
    quote(s, e, q, sizeof q);
    if (kind == MLP__NUM_BAD)
        return mlp__fail(ctx, MLP_ERR_FORMAT, "%s: line %lld, column %lld is not a number: '%s'",
                         fn, (long long)line, (long long)col, q);
    return mlp__fail(ctx, MLP_ERR_NONFINITE,
                     "%s: line %lld, column %lld is '%s', %s (mlp_ctx_set_allow_nonfinite_data "
                     "accepts it)",
                     fn, (long long)line, (long long)col, q,
                     kind == MLP__NUM_RANGE ? "beyond float's range" : "not a finite number");
}

/* One pass over the lines. With out == NULL it checks the structure and
 * counts rows and columns; with out it parses every field into out. */
static mlp_status scan(mlp_ctx *ctx, const char *fn, const char *buf, size_t size, int skip_header,
                       int64_t *rows, int64_t *cols, float *out)
{
    csv c;
    const char *ls, *le;
    int64_t line = 0, r = 0, ncols = out ? *cols : -1;
    c.b = buf;
    c.size = size;
    c.pos = size >= 3 && memcmp(buf, "\xEF\xBB\xBF", 3) == 0 ? 3 : 0; /* UTF-8 BOM */
    if (size >= 2 && ((unsigned char)buf[0] == 0xFF || (unsigned char)buf[0] == 0xFE)
        && ((unsigned char)buf[1] ^ (unsigned char)buf[0]) == 0x01)
        return mlp__fail(ctx, MLP_ERR_FORMAT,
                         "%s: the file starts with a UTF-16 byte-order mark; save it as UTF-8", fn);
    if (!out && find_nul(ctx, fn, c) != MLP_OK)
        return ctx->err.code;
    while (next_line(&c, &ls, &le)) {
        int64_t col = 0;
        const char *f = ls;
        line++;
        if (line == 1 && skip_header)
            continue;
        if (le == ls) {
            /* blank: allowed only when everything after it is blank too */
            if (!rest_blank(&c))
                return mlp__fail(ctx, MLP_ERR_FORMAT, "%s: line %lld is empty", fn,
                                 (long long)line);
            break;
        }
        for (;;) {
            const char *fe = memchr(f, ',', (size_t)(le - f));
            if (!fe)
                fe = le;
            if (out) {
                const char *s = f, *e = fe;
                float v;
                mlp__num k;
                while (s < e && (*s == ' ' || *s == '\t'))
                    s++;
                while (e > s && (e[-1] == ' ' || e[-1] == '\t'))
                    e--;
                if (col >= ncols)
                    return mlp__fail(ctx, MLP_ERR_FORMAT, "%s: line %lld has too many fields", fn,
                                     (long long)line);
                k = mlp__parse_float(s, e, &v);
                if (k == MLP__NUM_BAD || (k != MLP__NUM_OK && !ctx->allow_nonfinite_data))
                    return bad_field(ctx, fn, k, line, col + 1, s, e);
                out[r * ncols + col] = v;
            }
            col++;
            if (fe >= le)
                break;
            f = fe + 1;
        }
        if (!out) {
            if (ncols < 0)
                ncols = col;
            else if (col != ncols)
                return mlp__fail(ctx, MLP_ERR_FORMAT,
                                 "%s: line %lld has %lld fields, the first row has %lld", fn,
                                 (long long)line, (long long)col, (long long)ncols);
        }
        r++;
    }
    if (!out) {
        if (r == 0)
            return mlp__fail(ctx, MLP_ERR_FORMAT, "%s: no data rows", fn);
        *rows = r;
        *cols = ncols;
    }
    return MLP_OK;
}

static void *parse(mlp_ctx *ctx, const char *fn, const unsigned char *b, size_t size,
                   const void *opt)
{
    const char *buf = (const char *)b;
    int skip_header = *(const int *)opt;
    int64_t shape[2], r, c;
    mlp_tensor *t;
    if (scan(ctx, fn, buf, size, skip_header, &shape[0], &shape[1], NULL) != MLP_OK)
        return NULL;
    if (!(t = mlp__tensor_new(ctx, fn, 2, shape)))
        return NULL;
    /* second pass fills the tensor (the shape tells it the column count) */
    r = shape[0];
    c = shape[1];
    if (scan(ctx, fn, buf, size, skip_header, &r, &c, t->data) != MLP_OK) {
        mlp_tensor_free(t);
        return NULL;
    }
    return t;
}

mlp_tensor *mlp_csv_load_mem(mlp_ctx *ctx, const void *buf, size_t size, int skip_header)
{
    return (mlp_tensor *)mlp__load_mem(ctx, __func__, buf, size, parse, &skip_header);
}

mlp_tensor *mlp_csv_load(mlp_ctx *ctx, const char *path, int skip_header)
{
    return (mlp_tensor *)mlp__load_path(ctx, __func__, path, CSV_MAX_FILE, parse, &skip_header);
}
