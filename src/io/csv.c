/*
 * csv.c - numeric CSV into a 2-D tensor: comma-separated fields, an
 * optional header line, LF or CRLF line ends, blank lines at the end
 * ignored. Every row must have as many fields as the first; a field that
 * is not a number is an error naming its line and column.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core.h"
#include "io/file.h"

#define CSV_MAX_FILE (((size_t)1) << 32)
#define CSV_FIELD_CAP 128

/* Parse one field [s, e) as a float. 0 on success. */
static int parse_field(const char *s, const char *e, float *out)
{
    char tmp[CSV_FIELD_CAP];
    char *end;
    double v;
    size_t n;
    while (s < e && (*s == ' ' || *s == '\t'))
        s++;
    while (e > s && (e[-1] == ' ' || e[-1] == '\t'))
        e--;
    n = (size_t)(e - s);
    if (n == 0 || n >= sizeof tmp)
        return -1;
    memcpy(tmp, s, n);
    tmp[n] = '\0';
    v = strtod(tmp, &end);
    if (*end != '\0')
        return -1;
    *out = (float)v;
    return 0;
}

/* One pass over the lines; with out == NULL only counts rows and columns. */
static mlp_status scan(mlp_ctx *ctx, const char *fn, const char *buf, size_t size, int skip_header,
                       int64_t *rows, int64_t *cols, float *out)
{
    size_t pos = 0;
    int64_t line = 0, r = 0, ncols = out ? *cols : -1;
    while (pos < size) {
        size_t start = pos, end;
        int64_t c = 0;
        const char *f;
        while (pos < size && buf[pos] != '\n')
            pos++;
        end = pos;
        if (pos < size)
            pos++; /* the '\n' */
        line++;
        if (end > start && buf[end - 1] == '\r')
            end--;
        if (line == 1 && skip_header)
            continue;
        if (end == start) {
            /* blank: allowed only when everything after it is blank too */
            size_t k;
            for (k = pos; k < size; k++)
                if (buf[k] != '\n' && buf[k] != '\r')
                    return mlp__fail(ctx, MLP_ERR_FORMAT, "%s: line %lld is empty", fn,
                                     (long long)line);
            break;
        }
        f = buf + start;
        for (;;) {
            const char *fe = f;
            float v;
            while (fe < buf + end && *fe != ',')
                fe++;
            if (parse_field(f, fe, &v) != 0)
                return mlp__fail(ctx, MLP_ERR_FORMAT, "%s: line %lld, column %lld is not a number",
                                 fn, (long long)line, (long long)c + 1);
            if (out) {
                if (c >= ncols)
                    return mlp__fail(ctx, MLP_ERR_FORMAT, "%s: line %lld has too many fields", fn,
                                     (long long)line);
                out[r * ncols + c] = v;
            }
            c++;
            if (fe >= buf + end)
                break;
            f = fe + 1;
        }
        if (!out) {
            if (ncols < 0)
                ncols = c;
            else if (c != ncols)
                return mlp__fail(ctx, MLP_ERR_FORMAT,
                                 "%s: line %lld has %lld fields, the first row has %lld", fn,
                                 (long long)line, (long long)c, (long long)ncols);
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
