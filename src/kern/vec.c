/*
 * vec.c - element-wise and row-wise kernels on raw float arrays: the
 * activations and their derivatives, the bias add fused with an
 * activation, pReLU, softmax / log-softmax / log-sum-exp, the rows of
 * softmax cross-entropy. Plain loops the compiler vectorises; no handles,
 * no allocation, no errors. Backward kernels accumulate (+=).
 */
#include <math.h>
#include <string.h>

#include "mlp.h"
#include "kern/vec.h"
#include "kern/vec_fast.h"

/* 1/sqrt(2) and 1/sqrt(2 pi), for the exact GELU */
#define MLP__RSQRT2 0.70710678118654752440f
#define MLP__RSQRT2PI 0.39894228040143267794f

float mlp__sigmoid(float x)
{
    if (x >= 0.0f)
        return 1.0f / (1.0f + expf(-x));
    else {
        float e = expf(x);
        return e / (1.0f + e);
    }
}

static float act1(int act, float x, float param)
{
    switch (act) {
    case MLP_ACT_RELU: return x <= 0.0f ? 0.0f : x; /* NaN stays NaN, as PyTorch */
    case MLP_ACT_SIGMOID: return mlp__sigmoid(x);
    case MLP_ACT_TANH: return tanhf(x);
    case MLP_ACT_LEAKY_RELU: return x > 0.0f ? x : param * x;
    case MLP_ACT_GELU: return 0.5f * x * (1.0f + erff(x * MLP__RSQRT2));
    case MLP_ACT_STEP: return x > 0.0f ? 1.0f : 0.0f;
    default: return x;
    }
}

void mlp__act_fwd(int act, float *y, const float *x, int64_t n, float param)
{
    int64_t i;
    switch (act) {
    case MLP_ACT_RELU:
        for (i = 0; i < n; i++) {
            float v = x[i];
            y[i] = v <= 0.0f ? 0.0f : v; /* NaN stays NaN, as PyTorch */
        }
        break;
    case MLP_ACT_LEAKY_RELU:
        for (i = 0; i < n; i++) {
            float v = x[i];
            y[i] = v > 0.0f ? v : param * v;
        }
        break;
    case MLP_ACT_TANH:
        for (i = 0; i < n; i++)
            y[i] = tanhf(x[i]);
        break;
    case MLP_ACT_SIGMOID:
    case MLP_ACT_GELU:
    case MLP_ACT_STEP:
        for (i = 0; i < n; i++)
            y[i] = act1(act, x[i], param);
        break;
    default:
        if (y != x)
            for (i = 0; i < n; i++)
                y[i] = x[i];
        break;
    }
}

/* dx += (v <= 0 ? 0 : dy): every load unconditional, so the select
 * vectorises instead of branching on the sign of each element. A NaN v
 * passes dy through, as PyTorch's threshold_backward does. */
void mlp__act_bwd(int act, int set, float *dx, const float *dy, const float *x, const float *y,
                  int64_t n, float param)
{
    int64_t i;
    if (set && act != MLP_ACT_RELU && n > 0) /* ReLU's is the one that matters */
        memset(dx, 0, (size_t)n * sizeof(float));
    switch (act) {
    case MLP_ACT_RELU: /* f'(0) = 0: the left derivative */
        mlp__relu_bwd(dx, dy, y ? y : x, n, set);
        break;
    case MLP_ACT_SIGMOID: /* f' = f (1 - f) */
        for (i = 0; i < n; i++) {
            float s = y ? y[i] : mlp__sigmoid(x[i]);
            dx[i] += dy[i] * s * (1.0f - s);
        }
        break;
    case MLP_ACT_TANH: /* f' = 1 - f^2 */
        for (i = 0; i < n; i++) {
            float t = y ? y[i] : tanhf(x[i]);
            dx[i] += dy[i] * (1.0f - t * t);
        }
        break;
    case MLP_ACT_LEAKY_RELU:
        if (x)
            for (i = 0; i < n; i++) {
                float g = dy[i];
                dx[i] += x[i] > 0.0f ? g : param * g;
            }
        else /* y > 0 exactly when x > 0, for a slope >= 0 */
            for (i = 0; i < n; i++) {
                float g = dy[i];
                dx[i] += y[i] > 0.0f ? g : param * g;
            }
        break;
    case MLP_ACT_GELU: /* f' = Phi(x) + x phi(x) */
        for (i = 0; i < n; i++) {
            float v = x[i];
            float cdf = 0.5f * (1.0f + erff(v * MLP__RSQRT2));
            float pdf = MLP__RSQRT2PI * expf(-0.5f * v * v);
            dx[i] += dy[i] * (cdf + v * pdf);
        }
        break;
    case MLP_ACT_STEP: /* zero gradient everywhere */ break;
    default:
        for (i = 0; i < n; i++)
            dx[i] += dy[i];
        break;
    }
}

/* y[c] += b[c] for c < n, then ReLU when relu is set. */
static void add_relu(float *restrict y, const float *restrict b, int64_t n, int relu)
{
    int64_t c;
    if (relu)
        for (c = 0; c < n; c++) {
            float v = y[c] + b[c];
            y[c] = v <= 0.0f ? 0.0f : v; /* NaN stays NaN, as PyTorch */
        }
    else
        for (c = 0; c < n; c++)
            y[c] += b[c];
}

/* y[r,c] += b[c], then ReLU when relu is set: one pass over y. Rows of
 * fewer than BIAS_FLAT / 4 columns (a small net's layers) are too short
 * for a vector loop each: the bias is repeated into whole rows at least
 * BIAS_FLAT floats long and y is walked in runs of that many rows, the
 * same sums in the same places. */
#define BIAS_FLAT 64
static void bias_relu(float *restrict y, const float *restrict b, int64_t rows, int64_t cols,
                      int relu)
{
    float pat[2 * BIAS_FLAT];
    int64_t r, c, run, len;
    if (cols >= BIAS_FLAT / 4 || rows < 2) {
        for (r = 0; r < rows; r++)
            add_relu(y + r * cols, b, cols, relu);
        return;
    }
    run = (BIAS_FLAT + cols - 1) / cols; /* rows a run */
    len = run * cols;                    /* < BIAS_FLAT + cols */
    for (r = 0; r < run; r++)
        for (c = 0; c < cols; c++)
            pat[r * cols + c] = b[c];
    for (r = 0; r + run <= rows; r += run)
        add_relu(y + r * cols, pat, len, relu);
    add_relu(y + r * cols, pat, (rows - r) * cols, relu);
}

/* y[r,c] = f(y[r,c] + b[r]) (b may be NULL): mlp__bias_act_fwd with a
 * bias per row, for activations held feature by feature; the same
 * operations on each element. */
void mlp__bias_act_rows(int act, float *y, const float *b, int64_t rows, int64_t cols, float param)
{
    int64_t r, c;
    for (r = 0; r < rows; r++) {
        float *restrict yr = y + r * cols;
        const float v = b ? b[r] : 0.0f;
        if (b && act == MLP_ACT_RELU) {
            for (c = 0; c < cols; c++) {
                const float s = yr[c] + v;
                yr[c] = s <= 0.0f ? 0.0f : s; /* as add_relu */
            }
            continue;
        }
        if (b)
            for (c = 0; c < cols; c++)
                yr[c] += v;
        if (act != MLP_ACT_IDENTITY && act != MLP_ACT_PRELU)
            mlp__act_fwd(act, yr, yr, cols, param);
    }
}

/* dst [cols,rows] = src [rows,cols] transposed, in blocks of 16 x 16 so
 * that both sides stay within a few lines; each column of a block is one
 * contiguous run of dst. */
void mlp__transpose(float *restrict dst, const float *restrict src, int64_t rows, int64_t cols)
{
    int64_t r0, c0, r, c;
    if (rows == 1 || cols == 1) {
        memcpy(dst, src, (size_t)(rows * cols) * sizeof(float));
        return;
    }
    for (r0 = 0; r0 < rows; r0 += 16) {
        const int64_t r1 = rows - r0 < 16 ? rows : r0 + 16;
        for (c0 = 0; c0 < cols; c0 += 16) {
            const int64_t c1 = cols - c0 < 16 ? cols : c0 + 16;
            for (c = c0; c < c1; c++)
                for (r = r0; r < r1; r++)
                    dst[c * rows + r] = src[r * cols + c];
        }
    }
}

void mlp__bias_act_fwd(int act, float *y, const float *b, int64_t rows, int64_t cols, float param)
{
    int64_t r, c;
    if (b && mlp__act_bias_relu(act)) {
        bias_relu(y, b, rows, cols, act == MLP_ACT_RELU);
        return;
    }
    for (r = 0; r < rows; r++) {
        float *row = y + r * cols;
        if (b)
            for (c = 0; c < cols; c++)
                row[c] += b[c];
        if (act != MLP_ACT_IDENTITY && act != MLP_ACT_PRELU)
            mlp__act_fwd(act, row, row, cols, param);
    }
}

void mlp__prelu_fwd(float *y, const float *x, const float *alpha, int64_t nalpha, int64_t rows,
                    int64_t cols)
{
    int64_t r, c;
    for (r = 0; r < rows; r++) {
        const float *xr = x + r * cols;
        float *yr = y + r * cols;
        if (nalpha == 1) {
            float a = alpha[0];
            for (c = 0; c < cols; c++)
                yr[c] = xr[c] > 0.0f ? xr[c] : a * xr[c];
        } else {
            for (c = 0; c < cols; c++)
                yr[c] = xr[c] > 0.0f ? xr[c] : alpha[c] * xr[c];
        }
    }
}

void mlp__prelu_bwd(float *dx, float *dalpha, const float *dy, const float *x, const float *alpha,
                    int64_t nalpha, int64_t rows, int64_t cols)
{
    int64_t r, c;
    for (r = 0; r < rows; r++) {
        const float *xr = x + r * cols, *dyr = dy + r * cols;
        if (dx) {
            float *dxr = dx + r * cols;
            for (c = 0; c < cols; c++)
                dxr[c] += xr[c] > 0.0f ? dyr[c] : (nalpha == 1 ? alpha[0] : alpha[c]) * dyr[c];
        }
        if (dalpha) {
            if (nalpha == 1) {
                float s = 0.0f;
                for (c = 0; c < cols; c++)
                    s += xr[c] > 0.0f ? 0.0f : xr[c] * dyr[c];
                dalpha[0] += s;
            } else {
                for (c = 0; c < cols; c++)
                    dalpha[c] += xr[c] > 0.0f ? 0.0f : xr[c] * dyr[c];
            }
        }
    }
}

static float row_max(const float *x, int64_t n)
{
    float m = -INFINITY;
    int64_t i;
    for (i = 0; i < n; i++)
        m = x[i] > m ? x[i] : m;
    return m;
}

float mlp__logsumexp(const float *x, int64_t n)
{
    float m = row_max(x, n), s = 0.0f;
    int64_t i;
    if (n == 0)
        return -INFINITY;
    if (isinf(m))
        return m; /* all -inf, or a +inf present */
    for (i = 0; i < n; i++)
        s += expf(x[i] - m);
    return m + logf(s);
}

/* Floats of mlp__ce_rows' stack buffer: the exps of whole rows (or of
 * pieces of one long row) go to vexp together, not ten at a time. */
#define CE_BUF 1024

void mlp__ce_rows(mlp__vexp_fn vexp, float *ml, float *g, const float *x, const float *labels,
                  int64_t rows, int64_t k, float inv)
{
    float e[CE_BUF];
    const int64_t kp = k < CE_BUF ? k : CE_BUF;     /* columns a piece */
    const int64_t rp = k < CE_BUF ? CE_BUF / k : 1; /* rows a group */
    int64_t r, r0, c, c0, i, nr, nc;
    for (r = 0; r < rows; r++) {
        const float *xr = x + r * k;
        float m = xr[0];
        for (c = 1; c < k; c++) /* from x[r,0]: a NaN there is the max */
            m = xr[c] > m ? xr[c] : m;
        ml[2 * r] = m;
        ml[2 * r + 1] = 0.0f;
    }
    /* each row's sum in column order, whatever the pieces */
    for (r0 = 0; r0 < rows; r0 += rp) {
        nr = rows - r0 < rp ? rows - r0 : rp;
        for (c0 = 0; c0 < k; c0 += kp) {
            nc = k - c0 < kp ? k - c0 : kp;
            for (r = 0; r < nr; r++)
                for (c = 0; c < nc; c++)
                    e[r * nc + c] = x[(r0 + r) * k + c0 + c] - ml[2 * (r0 + r)];
            vexp(e, e, nr * nc);
            for (r = 0; r < nr; r++)
                for (c = 0; c < nc; c++)
                    ml[2 * (r0 + r) + 1] += e[r * nc + c];
        }
    }
    for (r = 0; r < rows; r++)
        ml[2 * r + 1] = logf(ml[2 * r + 1]);
    if (!g)
        return;
    for (r = 0; r < rows; r++)
        for (c = 0; c < k; c++)
            g[r * k + c] = (x[r * k + c] - ml[2 * r]) - ml[2 * r + 1];
    vexp(g, g, rows * k);
    for (i = 0; i < rows * k; i++)
        g[i] *= inv;
    for (r = 0; r < rows; r++)
        g[r * k + (int64_t)labels[r]] -= inv;
}

void mlp__softmax_rows(float *y, const float *x, int64_t rows, int64_t cols)
{
    int64_t r, c;
    for (r = 0; r < rows; r++) {
        const float *xr = x + r * cols;
        float *yr = y + r * cols;
        float m = row_max(xr, cols), s = 0.0f, inv;
        for (c = 0; c < cols; c++) {
            yr[c] = expf(xr[c] - m);
            s += yr[c];
        }
        inv = 1.0f / s;
        for (c = 0; c < cols; c++)
            yr[c] *= inv;
    }
}

void mlp__log_softmax_rows(float *y, const float *x, int64_t rows, int64_t cols)
{
    int64_t r, c;
    for (r = 0; r < rows; r++) {
        const float *xr = x + r * cols;
        float *yr = y + r * cols;
        float m = row_max(xr, cols), s = 0.0f, ls;
        if (isinf(m)) { /* all -inf, or a +inf present: no finite shift */
            for (c = 0; c < cols; c++)
                yr[c] = xr[c] - m;
            continue;
        }
        for (c = 0; c < cols; c++)
            s += expf(xr[c] - m);
        ls = logf(s);
        /* (x - max) - log(sum): exact for the largest entry even when max is huge */
        for (c = 0; c < cols; c++)
            yr[c] = (xr[c] - m) - ls;
    }
}
