/*
 * train.c - `mlp train DATA -o MODEL`: read a table, guess or take the
 * task, build the layers asked for, train with mlp_fit one epoch at a
 * time (a progress bar on a terminal, one line per epoch otherwise, the
 * held-out share evaluated after each epoch) and save the model.
 */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"

typedef struct train_opts {
    data_opts data;
    const char *output, *task, *act, *optim, *checkpoint, *resume;
    long long checkpoint_steps;
    int64_t hidden[CLI_MAX_HIDDEN];
    int nhidden, standardize, quiet;
    double dropout, lr, val_split;
    long long epochs, batch, threads, seed;
} train_opts;

/* What the progress callback shows. */
typedef struct progress {
    const train_opts *o;
    mlp_model *m;
    mlp_optim *opt;
    mlp_dataset *ds;
    int tty, quiet, failed;
    long long epoch, epochs;
    int64_t rows, batch;
    double t0, epoch_t0;
    double loss_sum;
    int64_t loss_rows;
} progress;

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* SIGINT and SIGTERM end the step in progress, then the run stops with a
 * checkpoint written (--checkpoint FILE, or MODEL.ckpt). */
static volatile sig_atomic_t stop_signal;

static void on_signal(int sig)
{
    stop_signal = sig;
}

/* Where an interrupted run leaves its checkpoint: --checkpoint or MODEL.ckpt. */
static const char *checkpoint_path(const train_opts *o, char *buf, size_t size)
{
    if (o->checkpoint)
        return o->checkpoint;
    snprintf(buf, size, "%s.ckpt", o->output);
    return buf;
}

static int save_checkpoint(progress *p, const char *path)
{
    if (mlp_checkpoint_save(p->m, p->opt, p->ds, path) == MLP_OK)
        return 0;
    fprintf(stderr, "mlp: %s: %s\n", path,
            mlp_ctx_errmsg(mlp_tensor_ctx(mlp_model_param(p->m, 0))));
    p->failed = 1;
    return 1;
}

static int on_batch(void *user, int epoch, int64_t batch, int64_t nbatches, float loss, float acc)
{
    progress *p = user;
    double t, done, rate, left;
    int width = 24, fill, i;
    (void)epoch;
    (void)acc;
    if (batch >= nbatches)
        return 0;
    if (stop_signal) {
        char buf[4096];
        return save_checkpoint(p, checkpoint_path(p->o, buf, sizeof buf)), 1;
    }
    if (p->o->checkpoint && p->o->checkpoint_steps > 0
        && mlp_optim_num_steps(p->opt) % p->o->checkpoint_steps == 0
        && save_checkpoint(p, p->o->checkpoint))
        return 1;
    if (!p->tty || p->quiet)
        return 0;
    p->loss_sum += (double)loss;
    p->loss_rows++;
    if (batch % 8 != 0 && batch + 1 != nbatches)
        return 0;
    t = now();
    done = (double)p->epoch * (double)nbatches + (double)(batch + 1);
    rate = (double)(batch + 1) * (double)p->batch / (t - p->epoch_t0 + 1e-9);
    left = (t - p->t0) / done * ((double)p->epochs * (double)nbatches - done);
    fill = (int)((batch + 1) * width / nbatches);
    fprintf(stderr, "\repoch %lld/%lld [", p->epoch + 1, p->epochs);
    for (i = 0; i < width; i++)
        fputc(i < fill ? '#' : '.', stderr);
    fprintf(stderr, "] loss %.4f  %.0f samples/s  %.0fs left   ",
            p->loss_sum / (double)p->loss_rows, rate > (double)p->rows ? (double)p->rows : rate,
            left);
    fflush(stderr);
    return 0;
}

static int parse_act(const char *s, mlp_act *act)
{
    static const mlp_act all[] = {MLP_ACT_RELU, MLP_ACT_TANH,       MLP_ACT_SIGMOID,
                                  MLP_ACT_GELU, MLP_ACT_LEAKY_RELU, MLP_ACT_PRELU};
    size_t i;
    for (i = 0; i < sizeof all / sizeof all[0]; i++)
        if (!strcmp(s, mlp_act_name(all[i]))) {
            *act = all[i];
            return 1;
        }
    fprintf(stderr, "mlp train: --act %s: one of relu, tanh, sigmoid, gelu, leaky_relu, prelu\n",
            s);
    return 0;
}

/* Mean and deviation (population, as scikit-learn's StandardScaler) of
 * every column of t's inputs; a constant column gets deviation 1. */
static int column_stats(const table *t, float **mean, float **dev)
{
    const float *x = mlp_tensor_cdata(t->x);
    double *sum = calloc((size_t)t->d, sizeof *sum), *sq = calloc((size_t)t->d, sizeof *sq);
    int64_t r, c;
    *mean = malloc((size_t)t->d * sizeof **mean);
    *dev = malloc((size_t)t->d * sizeof **dev);
    if (!sum || !sq || !*mean || !*dev) {
        free(sum);
        free(sq);
        free(*mean);
        free(*dev);
        fprintf(stderr, "mlp: out of memory for the statistics of %lld columns\n", (long long)t->d);
        return 1;
    }
    for (r = 0; r < t->n; r++)
        for (c = 0; c < t->d; c++)
            sum[c] += (double)x[r * t->d + c];
    for (c = 0; c < t->d; c++)
        sum[c] /= (double)t->n;
    for (r = 0; r < t->n; r++)
        for (c = 0; c < t->d; c++) {
            double e = (double)x[r * t->d + c] - sum[c];
            sq[c] += e * e;
        }
    for (c = 0; c < t->d; c++) {
        double sd = sqrt(sq[c] / (double)t->n);
        (*mean)[c] = (float)sum[c];
        (*dev)[c] = sd > 0 && (float)sd > 0 ? (float)sd : 1.0f;
    }
    free(sum);
    free(sq);
    return 0;
}

/* The standardise layer of --standardize, from the training rows. */
static int add_standardize(mlp_ctx *ctx, mlp_model *m, const table *t)
{
    float *mean, *dev;
    mlp_status s;
    if (column_stats(t, &mean, &dev))
        return 0;
    s = mlp_model_add_standardize(m, t->d, mean, dev);
    free(mean);
    free(dev);
    return s == MLP_OK || (cli_fail(ctx, "--standardize"), 0);
}

static mlp_model *build(mlp_ctx *ctx, const train_opts *o, mlp_act act, const table *t, int64_t out)
{
    mlp_model *m = mlp_model_new(ctx);
    int64_t prev = t->d;
    int i, ok = m != NULL && (!o->standardize || add_standardize(ctx, m, t));
    for (i = 0; ok && i < o->nhidden; i++) {
        ok = mlp_model_add_linear(m, prev, o->hidden[i]) == MLP_OK
             && mlp_model_add_act(m, act) == MLP_OK
             && (o->dropout <= 0 || mlp_model_add_dropout(m, (float)o->dropout) == MLP_OK);
        prev = o->hidden[i];
    }
    if (ok && mlp_model_add_linear(m, prev, out) == MLP_OK)
        return m;
    cli_fail(ctx, "building the model");
    mlp_model_free(m);
    return NULL;
}

static mlp_optim *make_optim(mlp_ctx *ctx, mlp_model *m, const train_opts *o)
{
    mlp_optim *opt;
    double lr = o->lr;
    if (!strcmp(o->optim, "sgd"))
        opt = mlp_sgd_new(m, (float)(lr > 0 ? lr : 0.1));
    else if (!strcmp(o->optim, "adam"))
        opt = mlp_adam_new(m, (float)(lr > 0 ? lr : 1e-3));
    else if (!strcmp(o->optim, "adamw"))
        opt = mlp_adamw_new(m, (float)(lr > 0 ? lr : 1e-3));
    else {
        fprintf(stderr, "mlp train: --optim %s: one of sgd, adam, adamw\n", o->optim);
        return NULL;
    }
    if (!opt)
        cli_fail(ctx, "making the optimizer");
    return opt;
}

/* Decide classify or regress; prints the choice. 0 on success. */
static int choose_task(const train_opts *o, const table *t, int64_t *k)
{
    int classes = cli_looks_like_classes(t, k);
    if (!strcmp(o->task, "auto")) {
        if (o->quiet)
            ;
        else if (classes)
            printf("task: classify (targets are whole numbers 0..%lld: %lld classes; --task "
                   "regress to fit them as numbers)\n",
                   (long long)*k - 1, (long long)*k);
        else
            printf("task: regress (targets are not all small whole numbers; --task classify to "
                   "treat them as classes)\n");
        if (!classes)
            *k = 1;
        return 0;
    }
    if (!strcmp(o->task, "regress")) {
        *k = 1;
        return 0;
    }
    if (strcmp(o->task, "classify") != 0) {
        fprintf(stderr, "mlp train: --task %s: one of classify, regress\n", o->task);
        return 1;
    }
    if (!classes) {
        if (cli_check_labels(t, 100))
            return 1;
        fprintf(stderr, "mlp train: --task classify needs at least two classes\n");
        return 1;
    }
    return 0;
}

/* One epoch line: the training loss (and accuracy), the held-out figures. */
static int report_epoch(mlp_ctx *ctx, mlp_model *m, const progress *p, mlp_dataset *val,
                        mlp_loss_kind loss, float tl, float ta, double secs)
{
    if (p->quiet)
        return 0;
    if (p->tty)
        fputs("\r\033[K", stderr); /* erase the bar */
    printf("epoch %lld/%lld loss=%.4f", p->epoch + 1, p->epochs, (double)tl);
    if (loss == MLP_LOSS_CROSS_ENTROPY)
        printf(" accuracy=%.4f", (double)ta);
    if (val) {
        float vl, va;
        if (mlp_evaluate(m, val, loss, 1024, &vl, &va) != MLP_OK)
            return cli_fail(ctx, "evaluating the held-out rows");
        printf(" val_loss=%.4f", (double)vl);
        if (loss == MLP_LOSS_CROSS_ENTROPY)
            printf(" val_accuracy=%.4f", (double)va);
    }
    printf(" time=%.2fs\n", secs);
    fflush(stdout);
    return 0;
}

typedef struct epoch_result {
    float loss, acc;
} epoch_result;

static int on_progress(void *user, int epoch, int64_t batch, int64_t nbatches, float loss,
                       float acc)
{
    void **u = user;
    if (batch >= nbatches) {
        epoch_result *r = u[1];
        r->loss = loss;
        r->acc = acc;
        return 0;
    }
    return on_batch(u[0], epoch, batch, nbatches, loss, acc);
}

/* Train until ds has seen o->epochs epochs. 0 when done, 1 on an error, 128
 * + the signal's number when a signal stopped it (checkpoint written). */
static int fit(mlp_ctx *ctx, progress *p, mlp_dataset *val, mlp_loss_kind loss)
{
    const train_opts *o = p->o;
    epoch_result r;
    void *u[2];
    char buf[4096];
    u[0] = p;
    u[1] = &r;
    p->tty = isatty(fileno(stderr));
    p->quiet = o->quiet;
    p->epochs = o->epochs;
    p->rows = mlp_dataset_size(p->ds);
    p->batch = o->batch;
    p->t0 = now();
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    while ((p->epoch = mlp_dataset_epoch(p->ds)) < o->epochs) {
        p->epoch_t0 = now();
        p->loss_sum = 0;
        p->loss_rows = 0;
        if (mlp_fit(p->m, p->opt, p->ds, loss, 1, o->batch, on_progress, u) != MLP_OK)
            return cli_fail(ctx, "training");
        if (p->failed)
            return 1;
        if (stop_signal) {
            if (p->tty)
                fputs("\r\033[K", stderr);
            fprintf(stderr,
                    "mlp: stopped by signal %d after %lld steps; checkpoint in %s\n"
                    "resume with the same command and --resume %s\n",
                    (int)stop_signal, (long long)mlp_optim_num_steps(p->opt),
                    checkpoint_path(o, buf, sizeof buf), checkpoint_path(o, buf, sizeof buf));
            return 128 + (int)stop_signal;
        }
        if (report_epoch(ctx, p->m, p, val, loss, r.loss, r.acc, now() - p->epoch_t0))
            return 1;
        if (o->checkpoint && save_checkpoint(p, o->checkpoint))
            return 1;
    }
    return 0;
}

/* The model and optimizer: from --resume's checkpoint (which also puts
 * ds's order and place and the generator back), or new. */
static int start(mlp_ctx *ctx, progress *p, mlp_act act, const table *t, int64_t k)
{
    const train_opts *o = p->o;
    if (!o->resume)
        return !(p->m = build(ctx, o, act, t, k)) || !(p->opt = make_optim(ctx, p->m, o));
    if (mlp_checkpoint_load(ctx, o->resume, p->ds, &p->m, &p->opt) != MLP_OK) {
        fprintf(stderr, "mlp: %s: %s\n", o->resume, mlp_ctx_errmsg(ctx));
        return 1;
    }
    if (mlp_model_out_features(p->m) != k || mlp_model_in_features(p->m) != t->d) {
        fprintf(stderr,
                "mlp: %s: a model of %lld inputs and %lld outputs, but the data has %lld "
                "inputs and %lld output%s\n",
                o->resume, (long long)mlp_model_in_features(p->m),
                (long long)mlp_model_out_features(p->m), (long long)t->d, (long long)k,
                k == 1 ? "" : "s");
        return 1;
    }
    if (o->quiet)
        return 0;
    if (mlp_dataset_epoch(p->ds) >= o->epochs)
        printf("resumed from %s: all %lld epochs were done\n", o->resume, o->epochs);
    else
        printf("resumed from %s: epoch %lld with %lld batches done, %lld steps in all\n", o->resume,
               (long long)mlp_dataset_epoch(p->ds) + 1, (long long)mlp_dataset_next_batch(p->ds),
               (long long)mlp_optim_num_steps(p->opt));
    return 0;
}

static int train(mlp_ctx *ctx, const train_opts *o, const char *data, const char *labels)
{
    table t, v;
    mlp_dataset *val = NULL;
    progress p;
    mlp_act act;
    int64_t k;
    int rc = 1;
    memset(&v, 0, sizeof v);
    memset(&p, 0, sizeof p);
    p.o = o;
    if (!parse_act(o->act, &act) || cli_load(ctx, data, labels, &o->data, -1, 1, &t))
        return 1;
    if (choose_task(o, &t, &k) || (k > 1 && cli_check_labels(&t, k)))
        goto out;
    if (o->val_split > 0 && cli_split(ctx, &t, o->val_split, &v))
        goto out;
    if (!(p.ds = mlp_dataset_new(t.x, t.y)) || (v.x && !(val = mlp_dataset_new(v.x, v.y)))) {
        rc = cli_fail(ctx, "making the dataset");
        goto out;
    }
    if (start(ctx, &p, act, &t, k))
        goto out;
    if ((rc = fit(ctx, &p, val, k > 1 ? MLP_LOSS_CROSS_ENTROPY : MLP_LOSS_MSE)) != 0)
        goto out;
    rc = 1;
    if (cli_model_save(ctx, p.m, o->output))
        goto out;
    if (!o->quiet)
        printf("saved %s (%lld parameters)\n", o->output, (long long)mlp_model_param_numel(p.m));
    rc = 0;
out:
    mlp_dataset_free(p.ds);
    mlp_dataset_free(val);
    mlp_optim_free(p.opt);
    mlp_model_free(p.m);
    cli_table_free(&t);
    cli_table_free(&v);
    return rc;
}

int cli_train(int argc, char **argv)
{
    train_opts o;
    const char *pos[CLI_MAX_POS];
    int npos, rc;
    mlp_ctx *ctx;
    const opt opts[] = {
        {"output", OPT_STR, &o.output, 0, 0, 0, NULL},
        {"header", OPT_FLAG, &o.data.header, 0, 0, 0, NULL},
        {"target", OPT_INT, &o.data.target, 1, 1e9, 0, NULL},
        {"scale", OPT_REAL, &o.data.scale, -1e30, 1e30, 0, NULL},
        {"task", OPT_STR, &o.task, 0, 0, 0, NULL},
        {"hidden", OPT_LIST, o.hidden, 1, 65536, CLI_MAX_HIDDEN, &o.nhidden},
        {"act", OPT_STR, &o.act, 0, 0, 0, NULL},
        {"dropout", OPT_REAL, &o.dropout, 0, 0.99, 0, NULL},
        {"optim", OPT_STR, &o.optim, 0, 0, 0, NULL},
        {"lr", OPT_REAL, &o.lr, 1e-12, 1e3, 0, NULL},
        {"epochs", OPT_INT, &o.epochs, 1, 1e6, 0, NULL},
        {"batch", OPT_INT, &o.batch, 1, 1e9, 0, NULL},
        {"threads", OPT_INT, &o.threads, 1, 256, 0, NULL},
        {"seed", OPT_INT, &o.seed, 0, 9.2e18, 0, NULL},
        {"val-split", OPT_REAL, &o.val_split, 0, 0.9, 0, NULL},
        {"standardize", OPT_FLAG, &o.standardize, 0, 0, 0, NULL},
        {"quiet", OPT_FLAG, &o.quiet, 0, 0, 0, NULL},
        {"checkpoint", OPT_STR, &o.checkpoint, 0, 0, 0, NULL},
        {"checkpoint-steps", OPT_INT, &o.checkpoint_steps, 1, 1e15, 0, NULL},
        {"resume", OPT_STR, &o.resume, 0, 0, 0, NULL},
    };
    memset(&o, 0, sizeof o);
    o.task = "auto";
    o.act = "relu";
    o.optim = "adam";
    o.hidden[0] = 64;
    o.nhidden = 1;
    o.epochs = 20;
    o.batch = 32;
    o.threads = 1;
    o.seed = 42;
    if (cli_parse("train", argc, argv, 2, opts, (int)(sizeof opts / sizeof opts[0]), pos, &npos))
        return 2;
    if (npos < 1 || npos > 2 || !o.output) {
        fprintf(stderr, "usage: mlp train DATA [LABELS] -o MODEL [options]  (see mlp help)\n");
        return 2;
    }
    if (!(ctx = mlp_ctx_new(NULL))) {
        fprintf(stderr, "mlp: out of memory\n");
        return 1;
    }
    mlp_ctx_seed(ctx, (uint64_t)o.seed);
    if (mlp_ctx_set_threads(ctx, (int)o.threads) != MLP_OK)
        rc = cli_fail(ctx, "--threads");
    else
        rc = train(ctx, &o, pos[0], npos > 1 ? pos[1] : NULL);
    mlp_ctx_free(ctx);
    return rc;
}
