/*
 * test_parity.c - PyTorch parity on cases nobody picked by hand. The
 * fixtures under tests/fixtures/parity/ were made by tools/gen_parity.py
 * (seeded random cases run through PyTorch 1.13, float32; the script's
 * docstring describes cases.txt and the files). Every op forward and
 * backward (random shapes, broadcasting forms, exact zeros, +-50 logits,
 * random output gradients, gradients accumulated over two backward calls),
 * and small random MLPs trained 5 steps with every optimizer setting,
 * parameters and loss compared after each step; models with every other
 * layer kind (linear without bias, leaky ReLU slopes, pReLU with one or
 * per-feature alphas, softmax and log-softmax heads, standardisation)
 * compared on their output, the gradient of x and 5 steps of training,
 * cross-entropy applied to the logits before a head. Also: the calls PyTorch
 * refuses, libmlp refuses with a clear status.
 */
#include "testutil.h"

#define FIXDIR "tests/fixtures/parity/"
#define STEPS 5

/*
 * Tolerances. One op: |got - want| <= 1e-5 + 1e-4 |want|, float32 rounding
 * of a few operations, with the absolute part scaled by sqrt(k) for results
 * that sum k products (matmul, linear, sum) since the order of float
 * additions differs from PyTorch's and the rounding error of a k-term sum
 * grows like sqrt(k) times its terms.
 * Equal values (infinities) and NaN against NaN also match.
 * Models: 5 optimizer steps feed each step's rounding into the next, and
 * Adam divides by sqrt(v) which magnifies differences in small gradients,
 * so parameters and losses get 1e-5 + 1e-4 |want|: ten times the largest
 * difference seen with any of the GEMM kernels (generic, avx2, avx512), and
 * still far below any formula mistake (a wrong bias correction, dampening
 * or decay moves parameters by 1e-3..1e-1 in these cases).
 */
#ifndef OP_ATOL /* overridable with -D to see how close the results are */
#define OP_ATOL 1e-5
#define OP_RTOL 1e-4
#endif
#ifndef MODEL_ATOL
#define MODEL_ATOL 1e-5
#define MODEL_RTOL 1e-4
#endif

typedef struct report {
    int cases;
    int bad; /* mismatching cases */
} report;

static mlp_tensor *load(mlp_ctx *ctx, const char *name, const char *suffix)
{
    char path[512];
    mlp_tensor *t;
    snprintf(path, sizeof path, FIXDIR "%s%s.npy", name, suffix);
    /* some cases feed and expect Inf and NaN on purpose */
    mlp_ctx_set_allow_nonfinite_data(ctx, 1);
    t = mlp_npy_load(ctx, path);
    if (!t)
        print_error("cannot load %s: %s\n", path, mlp_ctx_errmsg(ctx));
    return t;
}

/* Compare got with want (shape and values); prints the first bad element. */
static int compare(const char *cs, const char *what, const mlp_tensor *got, const mlp_tensor *want,
                   double atol, double rtol)
{
    int64_t i, n;
    int d;
    if (!got) {
        print_error("%s: %s missing\n", cs, what);
        return 0;
    }
    if (mlp_tensor_ndim(got) != mlp_tensor_ndim(want)) {
        print_error("%s: %s has %d dimensions, PyTorch %d\n", cs, what, mlp_tensor_ndim(got),
                    mlp_tensor_ndim(want));
        return 0;
    }
    for (d = 0; d < mlp_tensor_ndim(want); d++)
        if (mlp_tensor_dim(got, d) != mlp_tensor_dim(want, d)) {
            print_error("%s: %s dimension %d is %lld, PyTorch %lld\n", cs, what, d,
                        (long long)mlp_tensor_dim(got, d), (long long)mlp_tensor_dim(want, d));
            return 0;
        }
    n = mlp_tensor_numel(want);
    for (i = 0; i < n; i++) {
        double a = mlp_tensor_get(got, i), b = mlp_tensor_get(want, i);
        if (!(fabs(a - b) <= atol + rtol * fabs(b)) && !(a == b) && !(isnan(a) && isnan(b))) {
            print_error("%s: %s[%lld] = %.9g, PyTorch %.9g\n", cs, what, (long long)i, a, b);
            return 0;
        }
    }
    return 1;
}

/* Compare n floats (a row of a fixture) with a tensor's elements. */
static int compare_row(const char *cs, const char *what, const mlp_tensor *got, const float *want,
                       int64_t n, double atol, double rtol)
{
    int64_t i;
    if (mlp_tensor_numel(got) != n) {
        print_error("%s: %s has %lld elements, PyTorch %lld\n", cs, what,
                    (long long)mlp_tensor_numel(got), (long long)n);
        return 0;
    }
    for (i = 0; i < n; i++) {
        double a = mlp_tensor_get(got, i), b = want[i];
        if (!(fabs(a - b) <= atol + rtol * fabs(b))) {
            print_error("%s: %s[%lld] = %.9g, PyTorch %.9g\n", cs, what, (long long)i, a, b);
            return 0;
        }
    }
    return 1;
}

/* ---- single ops ---- */

static mlp_tensor *apply_op(const char *op, mlp_tensor **x, int nin, float param,
                            const mlp_tensor *want, double *kterms)
{
    int64_t shape[MLP_MAX_DIMS];
    int d;
    *kterms = 1.0;
    if (!strcmp(op, "matmul")) {
        *kterms = (double)mlp_tensor_dim(x[0], -1);
        return mlp_matmul(x[0], x[1]);
    }
    if (!strcmp(op, "linear")) {
        *kterms = (double)mlp_tensor_dim(x[0], -1) + 1.0;
        return mlp_linear(x[0], x[1], nin > 2 ? x[2] : NULL);
    }
    if (!strcmp(op, "add"))
        return mlp_add(x[0], x[1]);
    if (!strcmp(op, "sub"))
        return mlp_sub(x[0], x[1]);
    if (!strcmp(op, "mul"))
        return mlp_mul(x[0], x[1]);
    if (!strcmp(op, "scale"))
        return mlp_scale(x[0], param);
    if (!strcmp(op, "sum") || !strcmp(op, "mean")) {
        *kterms = (double)mlp_tensor_numel(x[0]);
        return op[1] == 'u' ? mlp_sum(x[0]) : mlp_mean(x[0]);
    }
    if (!strcmp(op, "reshape")) {
        for (d = 0; d < mlp_tensor_ndim(want); d++)
            shape[d] = mlp_tensor_dim(want, d);
        return mlp_reshape(x[0], mlp_tensor_ndim(want), shape);
    }
    if (!strcmp(op, "transpose"))
        return mlp_transpose(x[0]);
    if (!strcmp(op, "relu"))
        return mlp_relu(x[0]);
    if (!strcmp(op, "sigmoid"))
        return mlp_sigmoid(x[0]);
    if (!strcmp(op, "tanh"))
        return mlp_tanh(x[0]);
    if (!strcmp(op, "gelu"))
        return mlp_gelu(x[0]);
    if (!strcmp(op, "step"))
        return mlp_step(x[0]);
    if (!strcmp(op, "identity"))
        return mlp_activation(x[0], MLP_ACT_IDENTITY);
    if (!strcmp(op, "leaky_relu"))
        return mlp_leaky_relu(x[0], param);
    if (!strcmp(op, "prelu"))
        return mlp_prelu(x[0], x[1]);
    if (!strcmp(op, "softmax"))
        return mlp_softmax(x[0]);
    if (!strcmp(op, "log_softmax"))
        return mlp_log_softmax(x[0]);
    if (!strcmp(op, "mse")) {
        *kterms = (double)mlp_tensor_numel(x[0]);
        return mlp_mse(x[0], x[1]);
    }
    if (!strcmp(op, "cross_entropy")) {
        *kterms = (double)mlp_tensor_dim(x[0], -1);
        return mlp_cross_entropy(x[0], x[1]);
    }
    if (!strcmp(op, "bce_with_logits")) {
        *kterms = (double)mlp_tensor_numel(x[0]);
        return mlp_bce_with_logits(x[0], x[1]);
    }
    if (!strcmp(op, "chain_mlp")) {
        *kterms = (double)mlp_tensor_numel(x[0]);
        return mlp_sum(mlp_tanh(mlp_scale(mlp_relu(mlp_linear(x[0], x[1], x[2])), 0.5f)));
    }
    print_error("unknown op %s in cases.txt\n", op);
    return NULL;
}

/* Run one "op" line of the manifest; 1 when it matches PyTorch. */
static int run_op_case(const char *line)
{
    char name[128], op[64], rg[8];
    float param;
    int nin, has_gout, accum, i, ok = 1;
    mlp_ctx *ctx;
    mlp_tensor *x[4] = {NULL, NULL, NULL, NULL}, *want, *gout = NULL, *y;
    double k, atol;
    if (sscanf(line, "op %127s %63s %f %d %7s %d %d", name, op, &param, &nin, rg, &has_gout, &accum)
            != 7
        || nin < 1 || nin > 4 || (int)strlen(rg) != nin) {
        print_error("bad manifest line: %s\n", line);
        return 0;
    }
    ctx = mlp_ctx_new(NULL);
    assert_non_null(ctx);
    for (i = 0; i < nin; i++) {
        char suf[24];
        snprintf(suf, sizeof suf, "_x%d", i);
        if (!(x[i] = load(ctx, name, suf)))
            ok = 0;
        else if (rg[i] == '1')
            mlp_tensor_set_requires_grad(x[i], 1);
    }
    want = load(ctx, name, "_y");
    if (has_gout)
        gout = load(ctx, name, "_gout");
    if (!ok || !want || (has_gout && !gout)) {
        ok = 0;
        goto done;
    }
    y = apply_op(op, x, nin, param, want, &k);
    if (!y) {
        print_error("%s: %s failed: %s\n", name, op, mlp_ctx_errmsg(ctx));
        ok = 0;
        goto done;
    }
    atol = OP_ATOL * (k > 1.0 ? sqrt(k) : 1.0);
    ok = compare(name, "forward", y, want, atol, OP_RTOL);
    if (strchr(rg, '1')) {
        mlp_status s = mlp_backward(y, gout, accum);
        if (s == MLP_OK && accum)
            s = mlp_backward(y, gout, 0);
        if (s != MLP_OK) {
            print_error("%s: backward failed: %s\n", name, mlp_ctx_errmsg(ctx));
            ok = 0;
            goto done;
        }
        for (i = 0; i < nin; i++) {
            char suf[24], what[48];
            mlp_tensor *g;
            if (rg[i] != '1')
                continue;
            snprintf(suf, sizeof suf, "_g%d", i);
            snprintf(what, sizeof what, "grad of input %d", i);
            g = load(ctx, name, suf);
            /* backward of a product sums over the other operand's dimension */
            if (!g
                || !compare(name, what, mlp_tensor_grad(x[i]), g,
                            OP_ATOL * sqrt((double)mlp_tensor_numel(y) + k), OP_RTOL))
                ok = 0;
            mlp_tensor_free(g);
        }
    }
done:
    for (i = 0; i < nin; i++)
        mlp_tensor_free(x[i]);
    mlp_tensor_free(want);
    mlp_tensor_free(gout);
    mlp_ctx_free(ctx);
    return ok;
}

/* ---- models trained a few steps ---- */

/* Add the layer a manifest token names (gen_parity.py's docstring). */
static void add_layer(mlp_ctx *ctx, mlp_model *m, const char *name, const char *spec)
{
    long a, b;
    double f;
    if (sscanf(spec, "L:%ld:%ld", &a, &b) == 2)
        assert_ok(ctx, mlp_model_add_linear(m, a, b));
    else if (sscanf(spec, "N:%ld:%ld", &a, &b) == 2)
        assert_ok(ctx, mlp_model_add_linear_nobias(m, a, b, MLP_INIT_DEFAULT));
    else if (sscanf(spec, "A:%ld", &a) == 1)
        assert_ok(ctx, mlp_model_add_act(m, (mlp_act)a));
    else if (sscanf(spec, "K:%lf", &f) == 1)
        assert_ok(ctx, mlp_model_add_leaky_relu(m, (float)f));
    else if (sscanf(spec, "P:%ld", &a) == 1)
        assert_ok(ctx, mlp_model_add_prelu(m, a));
    else if (!strcmp(spec, "S"))
        assert_ok(ctx, mlp_model_add_softmax(m));
    else if (!strcmp(spec, "T"))
        assert_ok(ctx, mlp_model_add_log_softmax(m));
    else if (sscanf(spec, "Z:%ld", &a) == 1) {
        mlp_tensor *mean = load(ctx, name, "_zmean"), *sd = load(ctx, name, "_zstd");
        assert_true(mean && sd && mlp_tensor_numel(mean) == a && mlp_tensor_numel(sd) == a);
        assert_ok(ctx,
                  mlp_model_add_standardize(m, a, mlp_tensor_cdata(mean), mlp_tensor_cdata(sd)));
        mlp_tensor_free(mean);
        mlp_tensor_free(sd);
    } else
        fail_msg("bad layer %s in %s", spec, name);
}

/* A net case's extra checks before training: the model's output through
 * forward and predict, and the gradient of the first loss for x. */
static int check_output_and_input_grad(mlp_ctx *ctx, mlp_model *m, const char *name, mlp_tensor *x,
                                       mlp_tensor *t, int loss)
{
    mlp_tensor *yw = load(ctx, name, "_y"), *gxw = load(ctx, name, "_gx"), *y, *lv;
    mlp_tensor *pred;
    int ok = 1;
    assert_true(yw && gxw);
    y = mlp_model_forward(m, x);
    ok &= compare(name, "output", y, yw, MODEL_ATOL, MODEL_RTOL);
    pred = mlp_tensor_zeros(ctx, 2, (int64_t[2]){mlp_tensor_dim(yw, 0), mlp_tensor_dim(yw, 1)});
    assert_ok(ctx, mlp_model_predict(m, mlp_tensor_cdata(x), mlp_tensor_dim(x, 0),
                                     mlp_tensor_data(pred)));
    ok &= compare(name, "predict", pred, yw, MODEL_ATOL, MODEL_RTOL);
    assert_ok(ctx, mlp_tensor_set_requires_grad(x, 1));
    lv = loss == MLP_LOSS_CROSS_ENTROPY ? mlp_cross_entropy(mlp_model_forward_logits(m, x), t)
         : loss == MLP_LOSS_MSE         ? mlp_mse(mlp_model_forward(m, x), t)
                                        : mlp_bce_with_logits(mlp_model_forward(m, x), t);
    assert_handle(ctx, lv);
    assert_ok(ctx, mlp_backward(lv, NULL, 0));
    ok &= compare(name, "gradient of x", mlp_tensor_grad(x), gxw, MODEL_ATOL, MODEL_RTOL);
    assert_ok(ctx, mlp_tensor_set_requires_grad(x, 0));
    /* the parameters' gradients are zeroed by the first step's zero_grad */
    mlp_tape_reset(ctx);
    mlp_tensor_free(pred);
    mlp_tensor_free(yw);
    mlp_tensor_free(gxw);
    return ok;
}

static int run_model_case(const char *line)
{
    char name[128], spec[64];
    int loss, kind, nest, ams, nlayers, i, l, step, ok = 1, np = 0, off = 0, used;
    double lr, mom, damp, wd, b1, b2, eps;
    mlp_ctx *ctx = NULL;
    mlp_model *m = NULL;
    mlp_optim *opt = NULL;
    mlp_tensor *x = NULL, *t = NULL, *lossw = NULL, *hist[32], *params[32];
    if (sscanf(line, "%*s %127s %d %d %lf %lf %lf %d %lf %lf %lf %lf %d %d%n", name, &loss, &kind,
               &lr, &mom, &damp, &nest, &wd, &b1, &b2, &eps, &ams, &nlayers, &off)
        != 13) {
        print_error("bad manifest line: %s\n", line);
        return 0;
    }
    ctx = mlp_ctx_new(NULL);
    m = mlp_model_new(ctx);
    assert_non_null(m);
    for (l = 0; l < nlayers; l++) {
        if (sscanf(line + off, " %63s%n", spec, &used) != 1)
            break;
        off += used;
        add_layer(ctx, m, name, spec);
    }
    np = mlp_model_num_params(m);
    assert_true(np <= 32);
    x = load(ctx, name, "_x");
    t = load(ctx, name, "_t");
    lossw = load(ctx, name, "_loss");
    for (i = 0; i < np; i++) {
        char suf[16];
        snprintf(suf, sizeof suf, "_p%d", i);
        hist[i] = load(ctx, name, suf);
        params[i] = mlp_model_param(m, i);
        assert_non_null(hist[i]);
        assert_int_equal(mlp_tensor_dim(hist[i], 0), STEPS + 1);
        /* row 0: PyTorch's initial values, already in libmlp's layout */
        assert_ok(ctx, mlp_tensor_set_data(params[i], mlp_tensor_cdata(hist[i]),
                                           mlp_tensor_dim(hist[i], 1)));
    }
    assert_true(x && t && lossw);
    opt = mlp_optim_new(ctx, (mlp_optim_kind)kind, params, np, (float)lr);
    assert_handle(ctx, opt);
    assert_ok(ctx, mlp_optim_set(opt, MLP_OPT_WEIGHT_DECAY, wd));
    if (kind == MLP_OPTIM_SGD) {
        assert_ok(ctx, mlp_optim_set(opt, MLP_OPT_MOMENTUM, mom));
        assert_ok(ctx, mlp_optim_set(opt, MLP_OPT_DAMPENING, damp));
        assert_ok(ctx, mlp_optim_set(opt, MLP_OPT_NESTEROV, nest));
    } else {
        assert_ok(ctx, mlp_optim_set(opt, MLP_OPT_BETA1, b1));
        assert_ok(ctx, mlp_optim_set(opt, MLP_OPT_BETA2, b2));
        assert_ok(ctx, mlp_optim_set(opt, MLP_OPT_EPS, eps));
        assert_ok(ctx, mlp_optim_set(opt, MLP_OPT_AMSGRAD, ams));
    }
    if (line[0] == 'n')
        ok = check_output_and_input_grad(ctx, m, name, x, t, loss);
    for (step = 0; step < STEPS && ok; step++) {
        mlp_tensor *out, *lv;
        char what[64];
        /* cross-entropy on the logits, before a softmax or log-softmax head */
        out = loss == MLP_LOSS_CROSS_ENTROPY ? mlp_model_forward_logits(m, x)
                                             : mlp_model_forward(m, x);
        lv = loss == MLP_LOSS_CROSS_ENTROPY ? mlp_cross_entropy(out, t)
             : loss == MLP_LOSS_MSE         ? mlp_mse(out, t)
                                            : mlp_bce_with_logits(out, t);
        assert_handle(ctx, lv);
        snprintf(what, sizeof what, "loss before step %d", step + 1);
        if (!compare_row(name, what, lv, mlp_tensor_cdata(lossw) + step, 1, MODEL_ATOL, MODEL_RTOL))
            ok = 0;
        assert_ok(ctx, mlp_optim_zero_grad(opt));
        assert_ok(ctx, mlp_backward(lv, NULL, 0));
        assert_ok(ctx, mlp_optim_step(opt));
        for (i = 0; i < np; i++) {
            int64_t n = mlp_tensor_dim(hist[i], 1);
            snprintf(what, sizeof what, "param %d after step %d", i, step + 1);
            if (!compare_row(name, what, params[i], mlp_tensor_cdata(hist[i]) + (step + 1) * n, n,
                             MODEL_ATOL, MODEL_RTOL))
                ok = 0;
        }
        mlp_tape_reset(ctx);
    }
    for (i = 0; i < np; i++)
        mlp_tensor_free(hist[i]);
    mlp_tensor_free(x);
    mlp_tensor_free(t);
    mlp_tensor_free(lossw);
    mlp_optim_free(opt);
    mlp_model_free(m);
    mlp_ctx_free(ctx);
    return ok;
}

/* ---- the manifest ---- */

/* Run every manifest line of `kind` ("op"/"model"/"net") whose op name, or model
 * optimizer, is in `only` (NULL-terminated; NULL: all); dry: only count. */
static report run_manifest(const char *kind, const char *const *only, int dry)
{
    FILE *f = fopen(FIXDIR "cases.txt", "r");
    char line[1024];
    report r = {0, 0};
    size_t kl = strlen(kind);
    if (!f)
        fail_msg("cannot open " FIXDIR "cases.txt (run the tests from the repository root; "
                 "regenerate with python3 tools/gen_parity.py)");
    while (fgets(line, sizeof line, f)) {
        char w1[128], w2[64];
        line[strcspn(line, "\n")] = '\0';
        if (strncmp(line, kind, kl) != 0 || line[kl] != ' ')
            continue;
        if (sscanf(line + kl, " %127s %63s", w1, w2) != 2)
            continue;
        if (only) {
            const char *const *o;
            const char *key = kind[0] == 'o' ? w2 : strchr(w1, '_') + 1;
            for (o = only; *o; o++)
                if (!strcmp(*o, key))
                    break;
            if (!*o)
                continue;
        }
        r.cases++;
        if (dry)
            continue;
        if (!(kind[0] == 'o' ? run_op_case(line) : run_model_case(line)))
            r.bad++;
    }
    fclose(f);
    return r;
}

static void expect_all_match(const char *kind, const char *const *only)
{
    report r = run_manifest(kind, only, 0);
    print_message("%d cases, %d differ from PyTorch\n", r.cases, r.bad);
    assert_true(r.cases > 0);
    assert_int_equal(r.bad, 0);
}

static void parity__matmul_and_linear_match_torch_forward_and_backward(void **state)
{
    static const char *const ops[] = {"matmul", "linear", "chain_mlp", NULL};
    (void)state;
    expect_all_match("op", ops);
}

static void parity__add_sub_mul_broadcasting_match_torch(void **state)
{
    static const char *const ops[] = {"add", "sub", "mul", "scale", NULL};
    (void)state;
    expect_all_match("op", ops);
}

static void parity__sum_mean_reshape_transpose_match_torch(void **state)
{
    static const char *const ops[] = {"sum", "mean", "reshape", "transpose", NULL};
    (void)state;
    expect_all_match("op", ops);
}

static void parity__activations_with_zeros_and_large_inputs_match_torch(void **state)
{
    static const char *const ops[] = {"relu",     "sigmoid",    "tanh",  "gelu", "step",
                                      "identity", "leaky_relu", "prelu", NULL};
    (void)state;
    expect_all_match("op", ops);
}

static void parity__softmax_and_log_softmax_match_torch(void **state)
{
    static const char *const ops[] = {"softmax", "log_softmax", NULL};
    (void)state;
    expect_all_match("op", ops);
}

static void parity__losses_match_torch_reduction_mean(void **state)
{
    static const char *const ops[] = {"mse", "cross_entropy", "bce_with_logits", NULL};
    (void)state;
    expect_all_match("op", ops);
}

static void parity__every_op_case_in_the_manifest_is_known(void **state)
{
    static const char *const ops[] = {
        "matmul",  "linear",  "chain_mlp",   "add",     "sub",           "mul",
        "scale",   "sum",     "mean",        "reshape", "transpose",     "relu",
        "sigmoid", "tanh",    "gelu",        "step",    "identity",      "leaky_relu",
        "prelu",   "softmax", "log_softmax", "mse",     "cross_entropy", "bce_with_logits",
        NULL};
    report all = run_manifest("op", NULL, 1), known;
    (void)state;
    known = run_manifest("op", ops, 1);
    assert_int_equal(all.cases, known.cases);
}

static void parity__sgd_plain_momentum_nesterov_weight_decay_5_steps_match_torch(void **state)
{
    static const char *const o[] = {"sgd", "sgd_mom_damp", "sgd_nesterov", "sgd_wd", NULL};
    (void)state;
    expect_all_match("model", o);
}

static void parity__every_layer_kind_matches_torch_output_input_grad_and_training(void **state)
{
    (void)state;
    expect_all_match("net", NULL);
}

static void parity__adam_and_adamw_variants_5_steps_match_torch(void **state)
{
    static const char *const o[] = {"adam",  "adam_wd",       "adam_amsgrad",
                                    "adamw", "adamw_amsgrad", NULL};
    (void)state;
    expect_all_match("model", o);
}

/* ---- where PyTorch raises, libmlp returns a status ---- */

/* torch: a @ b with [2,3] and [4,5] raises "mat1 and mat2 shapes cannot be
 * multiplied"; a + b with [2,3] and [4] raises "The size of tensor a (3)
 * must match the size of tensor b (4)" */
static void errors__shape_mismatch_in_matmul_and_add_is_err_shape(void **state)
{
    mlp_ctx *ctx = tu_ctx_of(state);
    mlp_tensor *a = tu_param(tu_randn(ctx, 2, 2, 3, 1.0f)),
               *b = tu_param(tu_randn(ctx, 2, 4, 5, 1.0f)), *c = tu_randn(ctx, 1, 4, 0, 1.0f);
    assert_null(mlp_matmul(a, b));
    assert_int_equal(mlp_ctx_errcode(ctx), MLP_ERR_SHAPE);
    assert_non_null(strstr(mlp_ctx_errmsg(ctx), "mlp_matmul"));
    assert_non_null(strstr(mlp_ctx_errmsg(ctx), "[2,3]"));
    mlp_ctx_clear_error(ctx);
    assert_null(mlp_add(a, c));
    assert_int_equal(mlp_ctx_errcode(ctx), MLP_ERR_SHAPE);
    assert_non_null(strstr(mlp_ctx_errmsg(ctx), "mlp_add"));
    mlp_ctx_clear_error(ctx);
    assert_null(mlp_mul(a, b));
    assert_int_equal(mlp_ctx_errcode(ctx), MLP_ERR_SHAPE);
    assert_int_equal(mlp_tape_size(ctx), 0);
    mlp_tensor_free(a);
    mlp_tensor_free(b);
    mlp_tensor_free(c);
}

/* torch: F.cross_entropy with a target of 3 for 3 classes raises "Target 3
 * is out of bounds"; -1 is its ignore_index, which libmlp does not have */
static void errors__cross_entropy_label_out_of_range_is_err_range(void **state)
{
    static const float bad[3] = {3.0f, -1.0f, 1.5f};
    mlp_ctx *ctx = tu_ctx_of(state);
    mlp_tensor *logits = tu_param(tu_randn(ctx, 2, 2, 3, 1.0f));
    int64_t two = 2;
    int i;
    for (i = 0; i < 3; i++) {
        float lab[2];
        mlp_tensor *y;
        lab[0] = 0.0f;
        lab[1] = bad[i];
        y = mlp_tensor_from(ctx, 1, &two, lab);
        mlp_ctx_clear_error(ctx);
        assert_null(mlp_cross_entropy(logits, y));
        assert_int_equal(mlp_ctx_errcode(ctx), MLP_ERR_RANGE);
        assert_non_null(strstr(mlp_ctx_errmsg(ctx), "labels[1]"));
        mlp_tensor_free(y);
    }
    mlp_tensor_free(logits);
}

/* torch: a second y.backward() raises "Trying to backward through the
 * graph a second time"; the gradient stays as after the first */
static void errors__second_backward_without_retain_graph_fails_and_keeps_grads(void **state)
{
    mlp_ctx *ctx = tu_ctx_of(state);
    mlp_tensor *a = tu_param(tu_randn(ctx, 2, 2, 3, 1.0f)), *y, *g;
    float before[6];
    int i;
    y = mlp_sum(mlp_mul(a, a));
    assert_ok(ctx, mlp_backward(y, NULL, 0));
    g = mlp_tensor_grad(a);
    assert_non_null(g);
    memcpy(before, mlp_tensor_cdata(g), sizeof before);
    assert_int_equal(mlp_backward(y, NULL, 0), MLP_ERR_GRAPH_FREED);
    assert_int_equal(mlp_ctx_errcode(ctx), MLP_ERR_GRAPH_FREED);
    for (i = 0; i < 6; i++) /* d sum(a^2) / da = 2a, unchanged */
        assert_close(mlp_tensor_get(g, i), before[i], 0.0, 0.0);
    for (i = 0; i < 6; i++)
        assert_close(before[i], 2.0f * mlp_tensor_get(a, i), 1e-6, 1e-6);
    mlp_tensor_free(a);
}

/* torch: (a * 2).backward() raises "grad can be implicitly created only for
 * scalar outputs"; backward of a tensor without grad raises "element 0 of
 * tensors does not require grad" */
static void errors__non_scalar_backward_without_gradient_is_err_implicit_grad(void **state)
{
    mlp_ctx *ctx = tu_ctx_of(state);
    mlp_tensor *a = tu_param(tu_randn(ctx, 2, 2, 3, 1.0f)), *b = tu_randn(ctx, 2, 2, 3, 1.0f), *y;
    y = mlp_scale(a, 2.0f);
    assert_int_equal(mlp_backward(y, NULL, 0), MLP_ERR_IMPLICIT_GRAD);
    assert_string_equal(mlp_status_str(MLP_ERR_IMPLICIT_GRAD),
                        "grad can be implicitly created only for scalar outputs");
    assert_null(mlp_tensor_grad(a));
    assert_int_equal(mlp_backward(mlp_sum(b), NULL, 0), MLP_ERR_NO_GRAD);
    /* torch: y.requires_grad_(False) on a non-leaf raises */
    assert_int_equal(mlp_tensor_set_requires_grad(y, 0), MLP_ERR_STATE);
    mlp_tensor_free(a);
    mlp_tensor_free(b);
}

/* torch: SGD(momentum=0, nesterov=True) and SGD(momentum=0.9, dampening=0.1,
 * nesterov=True) raise "Nesterov momentum requires a momentum and zero
 * dampening" */
static void errors__nesterov_without_momentum_or_with_dampening_is_err_arg(void **state)
{
    mlp_ctx *ctx = tu_ctx_of(state);
    mlp_tensor *a = tu_param(tu_randn(ctx, 2, 2, 3, 1.0f));
    mlp_optim *o = mlp_optim_new(ctx, MLP_OPTIM_SGD, &a, 1, 0.1f);
    assert_non_null(o);
    assert_int_equal(mlp_optim_set(o, MLP_OPT_NESTEROV, 1), MLP_ERR_ARG);
    assert_non_null(strstr(mlp_ctx_errmsg(ctx), "Nesterov"));
    assert_ok(ctx, mlp_optim_set(o, MLP_OPT_MOMENTUM, 0.9));
    assert_ok(ctx, mlp_optim_set(o, MLP_OPT_DAMPENING, 0.1));
    assert_int_equal(mlp_optim_set(o, MLP_OPT_NESTEROV, 1), MLP_ERR_ARG);
    assert_ok(ctx, mlp_optim_set(o, MLP_OPT_DAMPENING, 0.0));
    assert_ok(ctx, mlp_optim_set(o, MLP_OPT_NESTEROV, 1));
    assert_int_equal(mlp_optim_set(o, MLP_OPT_MOMENTUM, 0.0), MLP_ERR_ARG);
    assert_close(mlp_optim_get(o, MLP_OPT_MOMENTUM), 0.9, 1e-12, 0.0);
    mlp_optim_free(o);
    mlp_tensor_free(a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(parity__every_op_case_in_the_manifest_is_known),
        cmocka_unit_test(parity__matmul_and_linear_match_torch_forward_and_backward),
        cmocka_unit_test(parity__add_sub_mul_broadcasting_match_torch),
        cmocka_unit_test(parity__sum_mean_reshape_transpose_match_torch),
        cmocka_unit_test(parity__activations_with_zeros_and_large_inputs_match_torch),
        cmocka_unit_test(parity__softmax_and_log_softmax_match_torch),
        cmocka_unit_test(parity__losses_match_torch_reduction_mean),
        cmocka_unit_test(parity__sgd_plain_momentum_nesterov_weight_decay_5_steps_match_torch),
        cmocka_unit_test(parity__adam_and_adamw_variants_5_steps_match_torch),
        cmocka_unit_test(parity__every_layer_kind_matches_torch_output_input_grad_and_training),
        TU_TEST(errors__shape_mismatch_in_matmul_and_add_is_err_shape),
        TU_TEST(errors__cross_entropy_label_out_of_range_is_err_range),
        TU_TEST(errors__second_backward_without_retain_graph_fails_and_keeps_grads),
        TU_TEST(errors__non_scalar_backward_without_gradient_is_err_implicit_grad),
        TU_TEST(errors__nesterov_without_momentum_or_with_dampening_is_err_arg),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
