/*
 * plot.h - a small SVG writer for the examples: line plots (axes with
 * numbered ticks, grid, axis labels, title, legend) and region maps (a
 * grid of class or value cells under scattered data points), several
 * panels per picture. Header-only: every function is static inline.
 *
 * Use: plot_begin(f, w, h); then per panel plot_axes a = plot_frame(...),
 * plot_line / plot_points / plot_cells on it, plot_legend; plot_end(f).
 * Coordinates given to the drawing calls are data units.
 * plot_open() makes the output folder (POSIX mkdir: a program including
 * this defines _POSIX_C_SOURCE first) and opens a file in it.
 */
#ifndef MLP_EXAMPLES_PLOT_H
#define MLP_EXAMPLES_PLOT_H

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

/* Opens dir/name for writing into path (size bytes), making dir first
 * when missing. NULL with a message on stderr when it cannot. */
static inline FILE *plot_open(const char *dir, const char *name, char *path, size_t size)
{
    FILE *f;
    if (mkdir(dir, 0777) != 0 && errno != EEXIST) {
        fprintf(stderr, "cannot create folder %s: %s\n", dir, strerror(errno));
        return NULL;
    }
    if ((size_t)snprintf(path, size, "%s/%s", dir, name) >= size) {
        fprintf(stderr, "path too long: %s/%s\n", dir, name);
        return NULL;
    }
    if (!(f = fopen(path, "w")))
        fprintf(stderr, "cannot write %s: %s\n", path, strerror(errno));
    return f;
}

/* A panel: its plotting rectangle in pixels and its data ranges. */
typedef struct plot_axes {
    double px, py, pw, ph;
    double x0, x1, y0, y1;
} plot_axes;

/* Ten distinguishable colours, used in order for series and classes. */
static inline const char *plot_color(int i)
{
    static const char *c[10] = {"#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd",
                                "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"};
    return c[((i % 10) + 10) % 10];
}

/* Writes s with &, < and > escaped. */
static inline void plot_text(FILE *f, const char *s)
{
    for (; s && *s; s++) {
        if (*s == '&')
            fputs("&amp;", f);
        else if (*s == '<')
            fputs("&lt;", f);
        else if (*s == '>')
            fputs("&gt;", f);
        else
            fputc(*s, f);
    }
}

static inline void plot_begin(FILE *f, int width, int height)
{
    fprintf(f,
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" "
            "viewBox=\"0 0 %d %d\" font-family=\"Helvetica, Arial, sans-serif\" "
            "font-size=\"12\">\n"
            "<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n",
            width, height, width, height);
}

static inline void plot_end(FILE *f)
{
    fputs("</svg>\n", f);
}

/* Grows [*lo, *hi] to hold the n values of v (NaN skipped). Start with
 * *lo = HUGE_VAL, *hi = -HUGE_VAL. */
static inline void plot_extend(const float *v, int n, double *lo, double *hi)
{
    int i;
    for (i = 0; i < n; i++) {
        if (v[i] != v[i])
            continue;
        if (v[i] < *lo)
            *lo = v[i];
        if (v[i] > *hi)
            *hi = v[i];
    }
}

/* A "nice" tick step (1, 2 or 5 times a power of ten) giving about
 * `count` ticks over span. */
static inline double plot_step(double span, int count)
{
    double raw = span / (count > 0 ? count : 1), p, m;
    if (!(raw > 0))
        return 1.0;
    p = pow(10.0, floor(log10(raw)));
    m = raw / p;
    return (m < 1.5 ? 1 : m < 3.5 ? 2 : m < 7.5 ? 5 : 10) * p;
}

/* Pads [*lo, *hi] by `frac` of its span and rounds both ends out to the
 * tick step, so the axes start and end on a numbered tick. */
static inline void plot_nice_range(double *lo, double *hi, double frac)
{
    double span, step;
    int k;
    if (!(*hi > *lo)) {
        *lo -= 1;
        *hi += 1;
    }
    span = *hi - *lo;
    *lo -= frac * span;
    *hi += frac * span;
    /* rounding out widens the span, which may coarsen plot_frame's step:
     * round again with the step the frame will use */
    for (k = 0; k < 3; k++) {
        step = plot_step(*hi - *lo, 5);
        *lo = floor(*lo / step + 1e-9) * step;
        *hi = ceil(*hi / step - 1e-9) * step;
    }
}

static inline double plot_sx(const plot_axes *a, double x)
{
    return a->px + (x - a->x0) / (a->x1 - a->x0) * a->pw;
}

static inline double plot_sy(const plot_axes *a, double y)
{
    return a->py + a->ph - (y - a->y0) / (a->y1 - a->y0) * a->ph;
}

/* Writes a tick number without float noise ("0.3", not "0.30000001"). */
static inline void plot_number(FILE *f, double v, double step)
{
    char buf[32];
    if (fabs(v) < step * 1e-6)
        v = 0;
    sprintf(buf, "%.6g", v);
    fputs(buf, f);
}

/* Draws a panel whose plotting area starts at pixel (px, py) and measures
 * pw x ph, with data ranges [x0,x1] x [y0,y1]: light grid, frame, numbered
 * ticks on both axes, the title above, the axis labels below and left
 * (any text may be NULL). Returns the panel for the drawing calls. */
static inline plot_axes plot_frame(FILE *f, double px, double py, double pw, double ph, double x0,
                                   double x1, double y0, double y1, const char *title,
                                   const char *xlabel, const char *ylabel)
{
    plot_axes a;
    double step, v;
    a.px = px;
    a.py = py;
    a.pw = pw;
    a.ph = ph;
    a.x0 = x0;
    a.x1 = x1 > x0 ? x1 : x0 + 1;
    a.y0 = y0;
    a.y1 = y1 > y0 ? y1 : y0 + 1;
    fprintf(f, "<g>\n");
    step = plot_step(a.x1 - a.x0, 5);
    for (v = ceil(a.x0 / step - 1e-9) * step; v <= a.x1 + step * 1e-9; v += step) {
        double sx = plot_sx(&a, v);
        fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#e4e4e4\"/>\n",
                sx, py, sx, py + ph);
        fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"black\"/>\n", sx,
                py + ph, sx, py + ph + 4);
        fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\" font-size=\"11\">", sx,
                py + ph + 16);
        plot_number(f, v, step);
        fputs("</text>\n", f);
    }
    step = plot_step(a.y1 - a.y0, 5);
    for (v = ceil(a.y0 / step - 1e-9) * step; v <= a.y1 + step * 1e-9; v += step) {
        double sy = plot_sy(&a, v);
        fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#e4e4e4\"/>\n",
                px, sy, px + pw, sy);
        fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"black\"/>\n",
                px - 4, sy, px, sy);
        fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\" font-size=\"11\">", px - 6,
                sy + 4);
        plot_number(f, v, step);
        fputs("</text>\n", f);
    }
    fprintf(f,
            "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"none\" "
            "stroke=\"black\"/>\n",
            px, py, pw, ph);
    if (title) {
        fprintf(f,
                "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\" font-size=\"14\" "
                "font-weight=\"bold\">",
                px + pw / 2, py - 10);
        plot_text(f, title);
        fputs("</text>\n", f);
    }
    if (xlabel) {
        fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">", px + pw / 2,
                py + ph + 34);
        plot_text(f, xlabel);
        fputs("</text>\n", f);
    }
    if (ylabel) {
        fprintf(f,
                "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\" "
                "transform=\"rotate(-90 %.1f %.1f)\">",
                px - 42, py + ph / 2, px - 42, py + ph / 2);
        plot_text(f, ylabel);
        fputs("</text>\n", f);
    }
    fprintf(f, "</g>\n");
    return a;
}

/* Clip path id for a panel, so lines leaving the range are cut at the frame. */
static inline void plot_clip(FILE *f, const plot_axes *a, int id)
{
    fprintf(f,
            "<clipPath id=\"clip%d\"><rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" "
            "height=\"%.1f\"/></clipPath>\n",
            id, a->px, a->py, a->pw, a->ph);
}

/* A polyline through (x[i], y[i]), i < n; NaN points break the line.
 * dashed != 0 draws it dashed. clip > 0 names a plot_clip id. */
static inline void plot_line(FILE *f, const plot_axes *a, const float *x, const float *y, int n,
                             const char *color, int dashed, int clip)
{
    int i, open = 0;
    for (i = 0; i < n; i++) {
        if (x[i] != x[i] || y[i] != y[i]) {
            if (open)
                fputs("\"/>\n", f);
            open = 0;
            continue;
        }
        if (!open) {
            fprintf(f, "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"2\"%s", color,
                    dashed ? " stroke-dasharray=\"6 4\"" : "");
            if (clip > 0)
                fprintf(f, " clip-path=\"url(#clip%d)\"", clip);
            fputs(" points=\"", f);
            open = 1;
        }
        fprintf(f, "%.2f,%.2f ", plot_sx(a, x[i]), plot_sy(a, y[i]));
    }
    if (open)
        fputs("\"/>\n", f);
}

/* Markers at (x[i], y[i]): circles of radius r with a dark outline. */
static inline void plot_points(FILE *f, const plot_axes *a, const float *x, const float *y, int n,
                               const char *color, double r)
{
    int i;
    for (i = 0; i < n; i++)
        fprintf(f,
                "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"%.1f\" fill=\"%s\" stroke=\"black\" "
                "stroke-width=\"0.7\"/>\n",
                plot_sx(a, x[i]), plot_sy(a, y[i]), r, color);
}

/* A legend box in the panel's corner (corner 0 top-left, 1 top-right,
 * 2 bottom-right, 3 bottom-left) listing n labels with their colours. */
static inline void plot_legend(FILE *f, const plot_axes *a, int corner, const char *const *labels,
                               const char *const *colors, const int *dashed, int n)
{
    int i;
    size_t longest = 0;
    double w, h, x, y;
    for (i = 0; i < n; i++)
        if (strlen(labels[i]) > longest)
            longest = strlen(labels[i]);
    w = 40 + 6.6 * (double)longest;
    h = 8 + 18.0 * n;
    x = (corner == 1 || corner == 2) ? a->px + a->pw - w - 8 : a->px + 8;
    y = (corner >= 2) ? a->py + a->ph - h - 8 : a->py + 8;
    fprintf(f,
            "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"white\" "
            "fill-opacity=\"0.9\" stroke=\"#999\"/>\n",
            x, y, w, h);
    for (i = 0; i < n; i++) {
        double ly = y + 13 + 18.0 * i;
        fprintf(f,
                "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"%s\" "
                "stroke-width=\"2.5\"%s/>\n",
                x + 6, ly, x + 30, ly, colors[i],
                dashed && dashed[i] ? " stroke-dasharray=\"6 4\"" : "");
        fprintf(f, "<text x=\"%.1f\" y=\"%.1f\">", x + 36, ly + 4);
        plot_text(f, labels[i]);
        fputs("</text>\n", f);
    }
}

/* Mixes two "#rrggbb" colours: t = 0 gives c0, t = 1 gives c1. */
static inline void plot_mix(char out[8], const char *c0, const char *c1, double t)
{
    unsigned r0, g0, b0, r1, g1, b1;
    if (t < 0)
        t = 0;
    if (t > 1)
        t = 1;
    if (sscanf(c0, "#%2x%2x%2x", &r0, &g0, &b0) != 3)
        r0 = g0 = b0 = 255;
    if (sscanf(c1, "#%2x%2x%2x", &r1, &g1, &b1) != 3)
        r1 = g1 = b1 = 0;
    sprintf(out, "#%02x%02x%02x", (unsigned)(r0 + (r1 - (double)r0) * t + 0.5) & 255u,
            (unsigned)(g0 + (g1 - (double)g0) * t + 0.5) & 255u,
            (unsigned)(b0 + (b1 - (double)b0) * t + 0.5) & 255u);
}

/* A region map over the whole panel: `code` holds nx * ny cells, row 0 at
 * the bottom (y0), column 0 at the left (x0); cell (i, j) is code[j*nx+i].
 * colors[c] fills the cells with code c (negative codes are left empty).
 * Runs of equal cells along a row are merged into one rectangle. */
static inline void plot_cells(FILE *f, const plot_axes *a, const int *code, int nx, int ny,
                              const char *const *colors, double opacity)
{
    int i, j;
    double cw = a->pw / nx, ch = a->ph / ny;
    fprintf(f, "<g fill-opacity=\"%.2f\" shape-rendering=\"crispEdges\">\n", opacity);
    for (j = 0; j < ny; j++) {
        for (i = 0; i < nx;) {
            int c = code[j * nx + i], k = i;
            while (k < nx && code[j * nx + k] == c)
                k++;
            if (c >= 0)
                fprintf(f,
                        "<rect x=\"%.2f\" y=\"%.2f\" width=\"%.2f\" height=\"%.2f\" "
                        "fill=\"%s\"/>\n",
                        a->px + i * cw, a->py + a->ph - (j + 1) * ch, (k - i) * cw + 0.3, ch + 0.3,
                        colors[c]);
            i = k;
        }
    }
    fputs("</g>\n", f);
}

/* The level-`level` contour of a value grid v (layout as plot_cells, values
 * at cell centres) by marching squares, as line segments. */
static inline void plot_contour(FILE *f, const plot_axes *a, const float *v, int nx, int ny,
                                float level, const char *color)
{
    int i, j, e;
    double cw = a->pw / nx, ch = a->ph / ny;
    fprintf(f, "<g stroke=\"%s\" stroke-width=\"2.5\" fill=\"none\">\n", color);
    for (j = 0; j + 1 < ny; j++)
        for (i = 0; i + 1 < nx; i++) {
            /* corners in order: (i,j) (i+1,j) (i+1,j+1) (i,j+1) */
            const int ci[4] = {i, i + 1, i + 1, i}, cj[4] = {j, j, j + 1, j + 1};
            double px[4], py[4];
            int m = 0;
            for (e = 0; e < 4 && m < 4; e++) {
                int p = e, q = (e + 1) % 4;
                double va = v[cj[p] * nx + ci[p]] - level, vb = v[cj[q] * nx + ci[q]] - level;
                if ((va < 0) != (vb < 0)) {
                    double t = va / (va - vb);
                    double gx = ci[p] + (ci[q] - ci[p]) * t, gy = cj[p] + (cj[q] - cj[p]) * t;
                    px[m] = a->px + (gx + 0.5) * cw;
                    py[m] = a->py + a->ph - (gy + 0.5) * ch;
                    m++;
                }
            }
            if (m >= 2)
                fprintf(f, "<line x1=\"%.2f\" y1=\"%.2f\" x2=\"%.2f\" y2=\"%.2f\"/>\n", px[0],
                        py[0], px[1], py[1]);
            if (m == 4)
                fprintf(f, "<line x1=\"%.2f\" y1=\"%.2f\" x2=\"%.2f\" y2=\"%.2f\"/>\n", px[2],
                        py[2], px[3], py[3]);
        }
    fputs("</g>\n", f);
}

/* The colour at t in [0,1] of a scale from c0 through mid (may be NULL)
 * to c1. */
static inline void plot_scale(char out[8], const char *c0, const char *mid, const char *c1,
                              double t)
{
    if (!mid)
        plot_mix(out, c0, c1, t);
    else if (t < 0.5)
        plot_mix(out, c0, mid, t * 2);
    else
        plot_mix(out, mid, c1, t * 2 - 1);
}

/* A vertical colour bar right of the panel for values lo..hi on the scale
 * c0 - mid - c1 (see plot_scale), with numbered ends and middle. */
static inline void plot_colorbar(FILE *f, const plot_axes *a, const char *c0, const char *mid,
                                 const char *c1, double lo, double hi, const char *label)
{
    int k;
    double x = a->px + a->pw + 14, h = a->ph / 20;
    char col[8];
    for (k = 0; k < 20; k++) {
        plot_scale(col, c0, mid, c1, (k + 0.5) / 20);
        fprintf(f,
                "<rect x=\"%.1f\" y=\"%.1f\" width=\"14\" height=\"%.2f\" fill=\"%s\" "
                "shape-rendering=\"crispEdges\"/>\n",
                x, a->py + a->ph - (k + 1) * h, h + 0.3, col);
    }
    fprintf(f,
            "<rect x=\"%.1f\" y=\"%.1f\" width=\"14\" height=\"%.1f\" fill=\"none\" "
            "stroke=\"black\"/>\n",
            x, a->py, a->ph);
    for (k = 0; k <= 2; k++) {
        double val = lo + (hi - lo) * k / 2.0;
        fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" font-size=\"11\">%.6g</text>\n", x + 18,
                a->py + a->ph - a->ph * k / 2.0 + 4, val);
    }
    if (label) {
        fprintf(f,
                "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\" "
                "transform=\"rotate(90 %.1f %.1f)\">",
                x + 56, a->py + a->ph / 2, x + 56, a->py + a->ph / 2);
        plot_text(f, label);
        fputs("</text>\n", f);
    }
}

#endif /* MLP_EXAMPLES_PLOT_H */
