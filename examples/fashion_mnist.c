/*
 * fashion_mnist.c - the chapter's experiment: an MLP classifying
 * Fashion-MNIST's 28x28 clothing images into 10 classes. The default is
 * the chapter's recipe exactly: 784-256-10 with ReLU, softmax
 * cross-entropy, SGD with learning rate 0.1, batch 256, 10 epochs.
 * Flags go past it (depth, widths, activation, optimizer, schedule,
 * dropout, threads). Shows a progress bar on a terminal (log lines
 * otherwise), a table of train loss, train accuracy, test accuracy and
 * seconds per epoch, draws the curves as OUT/fashion_curves.svg and saves
 * the model (default out/fashion.mlp) for the `infer` example.
 * The last line printed is "final test accuracy A".
 * With --checkpoint FILE it writes a training checkpoint every
 * --checkpoint-steps N steps (if given) and at each epoch's end;
 * --resume FILE goes on from one, bit-identically to a run never
 * stopped. SIGINT or SIGTERM (Ctrl-C, kill) finishes the step, writes the
 * checkpoint (FILE, or OUT/fashion.ckpt) and prints how to resume.
 * fashion_mnist_mpi.c builds this same program over MPI (docs/distributed.md)
 * by defining the dist_ functions below before including this file.
 *
 * Usage: fashion_mnist [--hidden 256[,128...]] [--act relu|tanh|sigmoid|gelu|leaky_relu|prelu]
 *          [--epochs 10] [--lr 0.1] [--batch 256] [--optim sgd|adam|adamw] [--momentum M]
 *          [--wd WD] [--cosine] [--dropout P] [--threads N] [--seed S]
 *          [--data .cache/fashion-mnist] [--limit N] [--model out/fashion.mlp] [--out out]
 *          [--checkpoint FILE] [--checkpoint-steps N] [--resume FILE]
 */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <mlp.h>

#include "plot.h"

#define MAX_HIDDEN 8

typedef struct options {
    int64_t hidden[MAX_HIDDEN];
    int nhidden;
    mlp_act act;
    int epochs, cosine, threads;
    double lr, momentum, wd, dropout;
    long long batch, limit;
    const char *optim, *data, *model, *out;
    unsigned long long seed;
    int wd_set;
    const char *checkpoint, *resume; /* NULL when not given */
    long long checkpoint_steps;      /* 0: at epoch ends only */
    char default_checkpoint[1024];   /* where a signal's checkpoint goes without --checkpoint */
} options;

/* What the progress callback needs and what the table and curves show. */
typedef struct run {
    int epoch, epochs, first, tty;
    double t0;
    float *loss, *train_acc, *test_acc;
    const options *o;
    mlp_model *net; /* what a checkpoint holds */
    mlp_optim *opt;
    mlp_dataset *train;
    int save_failed;
} run;

/* The signal that asked to stop (SIGINT, SIGTERM), 0 while none did. */
static volatile sig_atomic_t stop_signal;
/* The signal every rank stops for, once they have agreed (dist_agree). */
static int stopped;

static void on_signal(int sig)
{
    stop_signal = sig;
}

static void catch_signals(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
}

/* Write the checkpoint to path; 0 (and a message) when that fails. */
static int save_checkpoint(run *r, const char *path)
{
    if (mlp_checkpoint_save(r->net, r->opt, r->train, path) == MLP_OK)
        return 1;
    fprintf(stderr, "fashion_mnist: checkpoint: %s\n",
            mlp_ctx_errmsg(mlp_tensor_ctx(mlp_model_param(r->net, 0))));
    r->save_failed = 1;
    return 0;
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int usage(void)
{
    fprintf(stderr, "usage: fashion_mnist [--hidden 256[,128...]] [--act relu|tanh|sigmoid|gelu|"
                    "leaky_relu|prelu]\n"
                    "         [--epochs 10] [--lr 0.1] [--batch 256] [--optim sgd|adam|adamw]\n"
                    "         [--momentum M] [--wd WD] [--cosine] [--dropout P] [--threads N]\n"
                    "         [--seed S] [--data DIR] [--limit N] [--model PATH] [--out DIR]\n"
                    "         [--checkpoint FILE] [--checkpoint-steps N] [--resume FILE]\n");
    return 2;
}

static int parse_act(const char *s, mlp_act *act)
{
    static const mlp_act all[6] = {MLP_ACT_RELU, MLP_ACT_TANH,       MLP_ACT_SIGMOID,
                                   MLP_ACT_GELU, MLP_ACT_LEAKY_RELU, MLP_ACT_PRELU};
    int i;
    for (i = 0; i < 6; i++)
        if (!strcmp(s, mlp_act_name(all[i]))) {
            *act = all[i];
            return 1;
        }
    return 0;
}

static int parse(int argc, char **argv, options *o)
{
    int i;
    memset(o, 0, sizeof *o);
    o->hidden[0] = 256;
    o->nhidden = 1;
    o->act = MLP_ACT_RELU;
    o->epochs = 10;
    o->lr = 0.1;
    o->batch = 256;
    o->threads = 1;
    o->optim = "sgd";
    o->data = ".cache/fashion-mnist";
    o->model = "out/fashion.mlp";
    o->out = "out";
    o->seed = 42;
    for (i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--cosine")) {
            o->cosine = 1;
            continue;
        }
        if (!v)
            return 0;
        i++;
        if (!strcmp(a, "--hidden")) {
            char *end;
            o->nhidden = 0;
            do {
                long w = strtol(v, &end, 10);
                if (end == v || w < 1 || w > 65536 || o->nhidden == MAX_HIDDEN)
                    return 0;
                o->hidden[o->nhidden++] = w;
                v = end + (*end == ',');
            } while (*end == ',');
            if (*end)
                return 0;
        } else if (!strcmp(a, "--act")) {
            if (!parse_act(v, &o->act))
                return 0;
        } else if (!strcmp(a, "--epochs"))
            o->epochs = atoi(v);
        else if (!strcmp(a, "--lr"))
            o->lr = strtod(v, NULL);
        else if (!strcmp(a, "--batch"))
            o->batch = strtoll(v, NULL, 10);
        else if (!strcmp(a, "--optim"))
            o->optim = v;
        else if (!strcmp(a, "--momentum"))
            o->momentum = strtod(v, NULL);
        else if (!strcmp(a, "--wd")) {
            o->wd = strtod(v, NULL);
            o->wd_set = 1;
        } else if (!strcmp(a, "--dropout"))
            o->dropout = strtod(v, NULL);
        else if (!strcmp(a, "--threads"))
            o->threads = atoi(v);
        else if (!strcmp(a, "--seed"))
            o->seed = strtoull(v, NULL, 10);
        else if (!strcmp(a, "--data"))
            o->data = v;
        else if (!strcmp(a, "--limit"))
            o->limit = strtoll(v, NULL, 10);
        else if (!strcmp(a, "--model"))
            o->model = v;
        else if (!strcmp(a, "--out"))
            o->out = v;
        else if (!strcmp(a, "--checkpoint"))
            o->checkpoint = v;
        else if (!strcmp(a, "--checkpoint-steps"))
            o->checkpoint_steps = strtoll(v, NULL, 10);
        else if (!strcmp(a, "--resume"))
            o->resume = v;
        else
            return 0;
    }
    snprintf(o->default_checkpoint, sizeof o->default_checkpoint, "%.1000s/fashion.ckpt", o->out);
    if (o->checkpoint_steps < 0 || (o->checkpoint_steps > 0 && !o->checkpoint))
        return 0;
    if (o->epochs < 1 || o->epochs > 10000 || o->batch < 1 || !(o->lr > 0) || o->limit < 0
        || o->threads < 1
        || strcmp(o->optim, "sgd") * strcmp(o->optim, "adam") * strcmp(o->optim, "adamw") != 0)
        return 0;
    return 1;
}

/* images [n,28,28] scaled to [0,1] as [n,784] and labels [n], the first
 * `limit` of them when limit > 0. */
static int load(mlp_ctx *ctx, const char *dir, const char *set, long long limit, mlp_tensor **x,
                mlp_tensor **y)
{
    char path[1024];
    int64_t shape[2];
    mlp_tensor *xi, *yi;
    sprintf(path, "%.900s/%s-images-idx3-ubyte", dir, set);
    xi = mlp_idx_load(ctx, path, 1.0f / 255.0f);
    sprintf(path, "%.900s/%s-labels-idx1-ubyte", dir, set);
    yi = mlp_idx_load(ctx, path, 1.0f);
    if (!xi || !yi) {
        fprintf(stderr, "fashion_mnist: %s\n(the data set is unpacked by `make data`)\n",
                mlp_ctx_errmsg(ctx));
        mlp_tensor_free(xi);
        mlp_tensor_free(yi);
        return 0;
    }
    shape[0] = mlp_tensor_dim(xi, 0);
    shape[1] = mlp_tensor_numel(xi) / (shape[0] > 0 ? shape[0] : 1);
    if (limit > 0 && limit < shape[0]) {
        shape[0] = limit;
        *x = mlp_tensor_from(ctx, 2, shape, mlp_tensor_cdata(xi));
        *y = mlp_tensor_from(ctx, 1, shape, mlp_tensor_cdata(yi));
        mlp_tensor_free(xi);
        mlp_tensor_free(yi);
        if (!*x || !*y) {
            fprintf(stderr, "fashion_mnist: %s\n", mlp_ctx_errmsg(ctx));
            return 0;
        }
        return 1;
    }
    if (mlp_tensor_set_shape(xi, 2, shape) != MLP_OK) {
        fprintf(stderr, "fashion_mnist: %s\n", mlp_ctx_errmsg(ctx));
        mlp_tensor_free(xi);
        mlp_tensor_free(yi);
        return 0;
    }
    *x = xi;
    *y = yi;
    return 1;
}

static mlp_model *build(mlp_ctx *ctx, const options *o, int64_t in)
{
    mlp_model *m = mlp_model_new(ctx);
    int i, ok = m != NULL;
    int64_t prev = in;
    for (i = 0; ok && i < o->nhidden; i++) {
        ok = mlp_model_add_linear(m, prev, o->hidden[i]) == MLP_OK
             && mlp_model_add_act(m, o->act) == MLP_OK
             && (o->dropout <= 0 || mlp_model_add_dropout(m, (float)o->dropout) == MLP_OK);
        prev = o->hidden[i];
    }
    if (ok)
        ok = mlp_model_add_linear(m, prev, 10) == MLP_OK;
    if (!ok) {
        fprintf(stderr, "fashion_mnist: building the model: %s\n", mlp_ctx_errmsg(ctx));
        mlp_model_free(m);
        return NULL;
    }
    return m;
}

static mlp_optim *make_optim(mlp_model *m, const options *o)
{
    mlp_optim *opt;
    mlp_ctx *ctx = mlp_tensor_ctx(mlp_model_param(m, 0));
    if (!strcmp(o->optim, "sgd"))
        opt = mlp_sgd_new(m, (float)o->lr);
    else if (!strcmp(o->optim, "adam"))
        opt = mlp_adam_new(m, (float)o->lr);
    else
        opt = mlp_adamw_new(m, (float)o->lr);
    if (opt && o->momentum != 0 && mlp_optim_set(opt, MLP_OPT_MOMENTUM, o->momentum) != MLP_OK) {
        mlp_optim_free(opt);
        opt = NULL;
    }
    if (opt && o->wd_set && mlp_optim_set(opt, MLP_OPT_WEIGHT_DECAY, o->wd) != MLP_OK) {
        mlp_optim_free(opt);
        opt = NULL;
    }
    if (!opt)
        fprintf(stderr, "fashion_mnist: optimizer: %s\n", mlp_ctx_errmsg(ctx));
    return opt;
}

#ifndef FASHION_MNIST_DIST
/* One process: no communicator, rank 0 of 1. */
static mlp_comm *dist_comm;
static void dist_begin(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
}
static int dist_attach(mlp_ctx *ctx, mlp_optim *opt)
{
    (void)ctx;
    (void)opt;
    return 1;
}
static int dist_finish(int rc)
{
    return rc;
}
static int dist_agree(int sig)
{
    return sig;
}
static const char *dist_launcher(void)
{
    return "";
}
static int dist_tty(void)
{
    return isatty(STDOUT_FILENO);
}
#endif

/* Only rank 0 prints (the others' stdout is closed) and writes files. */
static int dist_root(void)
{
    return mlp_comm_rank(dist_comm) <= 0;
}

/* A bar redrawn in place on a terminal, a log line at every quarter of
 * the epoch otherwise. */
static void show_progress(const run *r, int64_t batch, int64_t nbatches, float loss)
{
    if (r->tty) {
        int width = 30, fill = (int)((batch + 1) * width / nbatches), i;
        if (batch % 4 != 0 && batch + 1 != nbatches)
            return;
        printf("\repoch %2d/%d [", r->epoch + 1, r->epochs);
        for (i = 0; i < width; i++)
            putchar(i < fill ? '#' : '.');
        printf("] %4lld/%lld  loss %.4f  %5.1fs", (long long)(batch + 1), (long long)nbatches,
               (double)loss, now() - r->t0);
        fflush(stdout);
    } else if ((batch + 1) % ((nbatches + 3) / 4) == 0 || batch + 1 == nbatches) {
        printf("  epoch %d batch %lld/%lld loss %.4f\n", r->epoch + 1, (long long)(batch + 1),
               (long long)nbatches, (double)loss);
        fflush(stdout);
    }
}

/* mlp_fit's callback: progress shown, a checkpoint every
 * --checkpoint-steps steps, and a stop once a signal came (on every rank
 * at the same step). */
static int on_progress(void *user, int epoch, int64_t batch, int64_t nbatches, float loss,
                       float acc)
{
    run *r = user;
    (void)epoch; /* mlp_fit runs one epoch per call here: r->epoch counts them */
    if (batch >= nbatches) {
        /* end of the epoch: means over its batches, as the chapter reports */
        r->loss[r->epoch] = loss;
        r->train_acc[r->epoch] = acc;
        return 0;
    }
    show_progress(r, batch, nbatches, loss);
    /* the cursor is past this batch: a checkpoint here resumes after it */
    if (r->o->checkpoint_steps > 0 && mlp_optim_num_steps(r->opt) % r->o->checkpoint_steps == 0
        && dist_root())
        save_checkpoint(r, r->o->checkpoint);
    return (stopped = dist_agree(stop_signal)) != 0; /* finish this step, then stop */
}

static int curves(const run *r, const char *dir)
{
    const char *ll[1] = {"train loss"}, *al[2] = {"train accuracy", "test accuracy"};
    const char *lc[1] = {"#1f77b4"}, *ac[2] = {"#1f77b4", "#d62728"};
    const int ad[2] = {0, 1};
    float ep[10000];
    double lo = HUGE_VAL, hi = -HUGE_VAL, zero = 0;
    char path[1024];
    plot_axes a;
    FILE *f;
    int i, n = r->epochs - r->first; /* a resumed run knows its own epochs only */
    const float *loss = r->loss + r->first, *tra = r->train_acc + r->first,
                *tea = r->test_acc + r->first;
    if (n < 1) /* resumed after the last epoch: nothing of its own to draw */
        return 1;
    for (i = 0; i < n; i++)
        ep[i] = (float)(r->first + i + 1);
    if (!(f = plot_open(dir, "fashion_curves.svg", path, sizeof path)))
        return 0;
    plot_begin(f, 940, 440);
    plot_extend(loss, n, &zero, &hi);
    plot_nice_range(&zero, &hi, 0.0);
    a = plot_frame(f, 70, 40, 360, 340, 1, r->epochs > 1 ? r->epochs : 2, 0, hi,
                   "Fashion-MNIST: training loss", "epoch", "cross-entropy");
    plot_line(f, &a, ep, loss, n, lc[0], 0, 0);
    plot_points(f, &a, ep, loss, n, lc[0], 3);
    plot_legend(f, &a, 1, ll, lc, NULL, 1);
    hi = -HUGE_VAL;
    plot_extend(tra, n, &lo, &hi);
    plot_extend(tea, n, &lo, &hi);
    plot_nice_range(&lo, &hi, 0.05);
    if (hi > 1)
        hi = 1;
    a = plot_frame(f, 540, 40, 360, 340, 1, r->epochs > 1 ? r->epochs : 2, lo, hi,
                   "Fashion-MNIST: accuracy", "epoch", "accuracy");
    plot_line(f, &a, ep, tra, n, ac[0], 0, 0);
    plot_points(f, &a, ep, tra, n, ac[0], 3);
    plot_line(f, &a, ep, tea, n, ac[1], 1, 0);
    plot_points(f, &a, ep, tea, n, ac[1], 3);
    plot_legend(f, &a, 2, al, ac, ad, 2);
    plot_end(f);
    if (fclose(f) != 0) {
        fprintf(stderr, "fashion_mnist: cannot write %s\n", path);
        return 0;
    }
    printf("wrote %s\n", path);
    return 1;
}

/* Makes the folder part of path (one level) so the model can be saved. */
static void make_parent(const char *path)
{
    char dir[1024];
    const char *slash = strrchr(path, '/');
    size_t n = slash ? (size_t)(slash - path) : 0;
    if (n == 0 || n >= sizeof dir)
        return;
    memcpy(dir, path, n);
    dir[n] = '\0';
    mkdir(dir, 0777);
}

/* The model and optimizer: built from the flags, or as a checkpoint saved
 * them (which also puts train's order and place and ctx's generator back). */
static int begin_training(mlp_ctx *ctx, const options *o, run *r, int64_t in)
{
    if (!o->resume)
        return (r->net = build(ctx, o, in)) && (r->opt = make_optim(r->net, o));
    if (mlp_checkpoint_load(ctx, o->resume, r->train, &r->net, &r->opt) != MLP_OK) {
        fprintf(stderr, "fashion_mnist: resuming: %s\n", mlp_ctx_errmsg(ctx));
        return 0;
    }
    printf("resumed from %s: epoch %lld, batch %lld, step %lld\n", o->resume,
           (long long)mlp_dataset_epoch(r->train) + 1,
           (long long)mlp_dataset_next_batch(r->train) + 1, (long long)mlp_optim_num_steps(r->opt));
    return 1;
}

/* After a signal: the checkpoint (rank 0 writes it: every rank holds the
 * same), and the command that goes on from it. */
static int interrupted(run *r, int argc, char **argv)
{
    const char *path = r->o->checkpoint ? r->o->checkpoint : r->o->default_checkpoint;
    int i;
    if (dist_root() && !save_checkpoint(r, path))
        return 1;
    printf("\n%s: stopped at epoch %d, batch %lld; checkpoint written to %s\nresume with:%s",
           stopped == SIGINT ? "SIGINT" : "SIGTERM", (int)mlp_dataset_epoch(r->train) + 1,
           (long long)mlp_dataset_next_batch(r->train), path, dist_launcher());
    for (i = 0; i < argc; i++) {
        if (!strcmp(argv[i], "--resume") && i + 1 < argc) {
            i++;
            continue;
        }
        printf(" %s", argv[i]);
    }
    printf(" --resume %s\n", path);
    fflush(stdout);
    return 128 + stopped;
}

int main(int argc, char **argv)
{
    options o;
    run r;
    mlp_ctx *ctx;
    mlp_tensor *xtr = NULL, *ytr = NULL, *xte = NULL, *yte = NULL;
    mlp_dataset *train = NULL, *test = NULL;
    mlp_model *net = NULL;
    mlp_optim *opt = NULL;
    char summary[2048];
    int rc = 1, e;
    double start;

    dist_begin(&argc, &argv);
    if (!parse(argc, argv, &o))
        return usage();
    memset(&r, 0, sizeof r);
    r.o = &o;
    catch_signals();
    if (!(ctx = mlp_ctx_new(NULL)))
        return 1;
    mlp_ctx_seed(ctx, o.seed);
    if (o.threads > 1 && mlp_ctx_set_threads(ctx, o.threads) != MLP_OK) {
        printf("threads: %s; going on with 1\n", mlp_ctx_errmsg(ctx));
        mlp_ctx_clear_error(ctx);
    }
    if (!load(ctx, o.data, "train", o.limit, &xtr, &ytr)
        || !load(ctx, o.data, "t10k", o.limit, &xte, &yte))
        goto done;
    train = mlp_dataset_new(xtr, ytr);
    test = mlp_dataset_new(xte, yte);
    if (!train || !test) {
        fprintf(stderr, "fashion_mnist: %s\n", mlp_ctx_errmsg(ctx));
        goto done;
    }
    r.train = train;
    if (!begin_training(ctx, &o, &r, mlp_tensor_dim(xtr, 1)) || !dist_attach(ctx, r.opt))
        goto done;
    net = r.net;
    opt = r.opt;
    r.first = (int)mlp_dataset_epoch(train);
    mlp_model_summary(net, summary, sizeof summary);
    printf("%lld training and %lld test images; %s, lr %g, batch %lld, %d epochs%s, "
           "%d thread(s), kernel %s\n%s",
           (long long)mlp_dataset_size(train), (long long)mlp_dataset_size(test), o.optim, o.lr,
           o.batch, o.epochs, o.cosine ? " (cosine schedule)" : "", mlp_ctx_threads(ctx),
           mlp_ctx_gemm_kernel(ctx), summary);

    r.epochs = o.epochs;
    r.tty = dist_tty();
    r.loss = calloc((size_t)o.epochs, sizeof(float));
    r.train_acc = calloc((size_t)o.epochs, sizeof(float));
    r.test_acc = calloc((size_t)o.epochs, sizeof(float));
    if (!r.loss || !r.train_acc || !r.test_acc) {
        fprintf(stderr, "fashion_mnist: out of memory\n");
        goto done;
    }
    printf("\nepoch | train loss | train acc | test acc | seconds\n"
           "------+------------+-----------+----------+--------\n");
    start = now();
    for (e = r.first; e < o.epochs && !(stopped = dist_agree(stop_signal)); e++) {
        float ta = 0;
        r.epoch = e;
        r.t0 = now();
        if (o.cosine
            && mlp_optim_set(opt, MLP_OPT_LR, mlp_lr_cosine((float)o.lr, 0, e, o.epochs)) != MLP_OK)
            break;
        /* one epoch: shuffle, then per batch forward, loss, backward, step */
        if (mlp_fit(net, opt, train, MLP_LOSS_CROSS_ENTROPY, 1, o.batch, on_progress, &r) != MLP_OK)
            break;
        if (mlp_dataset_next_batch(train) != 0) /* stopped by a signal within the epoch */
            break;
        if (mlp_evaluate_comm(net, test, dist_comm, MLP_LOSS_CROSS_ENTROPY, 1000, NULL, &ta)
            != MLP_OK)
            break;
        r.test_acc[e] = ta;
        if (r.tty)
            printf("\r%*s\r", 79, "");
        printf("%5d | %10.4f | %9.4f | %8.4f | %6.2f\n", e + 1, (double)r.loss[e],
               (double)r.train_acc[e], (double)ta, now() - r.t0);
        fflush(stdout);
        if (o.checkpoint && dist_root() && !save_checkpoint(&r, o.checkpoint))
            goto done;
    }
    if (stopped && e < o.epochs) {
        rc = interrupted(&r, argc, argv);
        goto done;
    }
    if (e < o.epochs || r.save_failed) {
        fprintf(stderr, "fashion_mnist: training: %s\n", mlp_ctx_errmsg(ctx));
        goto done;
    }
    printf("%d epochs in %.1f s\n", o.epochs, now() - start);
    if (dist_root()) {
        if (!curves(&r, o.out))
            goto done;
        make_parent(o.model);
        if (mlp_model_save(net, o.model) != MLP_OK) {
            fprintf(stderr, "fashion_mnist: %s\n", mlp_ctx_errmsg(ctx));
            goto done;
        }
        printf("saved the model to %s\n", o.model);
    }
    if (r.first == o.epochs /* resumed with no epoch left: measure it again */
        && mlp_evaluate_comm(net, test, dist_comm, MLP_LOSS_CROSS_ENTROPY, 1000, NULL,
                             &r.test_acc[o.epochs - 1])
               != MLP_OK) {
        fprintf(stderr, "fashion_mnist: %s\n", mlp_ctx_errmsg(ctx));
        goto done;
    }
    printf("final test accuracy %.4f\n", (double)r.test_acc[o.epochs - 1]);
    rc = 0;
done:
    free(r.loss);
    free(r.train_acc);
    free(r.test_acc);
    mlp_optim_free(opt);
    mlp_comm_free(dist_comm);
    mlp_model_free(net);
    mlp_dataset_free(train);
    mlp_dataset_free(test);
    mlp_tensor_free(xtr);
    mlp_tensor_free(ytr);
    mlp_tensor_free(xte);
    mlp_tensor_free(yte);
    mlp_ctx_free(ctx);
    return dist_finish(rc);
}
