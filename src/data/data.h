/*
 * data.h - what the fit loops (fit.c, fit_dist.c) share with each other
 * and with the dataset: the dataset's layout, with the cursor where
 * mlp_fit keeps its place in the epochs (so a stopped or resumed fit goes
 * on where it was), which the checkpoint file (io/checkpoint.c) saves and
 * restores with the order.
 */
#ifndef MLP_DATA_H
#define MLP_DATA_H

#include "core.h"

/* mlp_fit's place: `epoch` epochs done; in the current one, batches
 * 0..next-1 of size batch_size have been trained on (next == 0 between
 * epochs) with these sums of loss·rows, rows and correct rows. */
typedef struct mlp__cursor {
    int64_t epoch, next, batch_size;
    double sum_loss;
    int64_t seen, hits;
} mlp__cursor;

struct mlp_dataset {
    mlp_ctx *ctx;
    mlp_tensor *x, *y;   /* detached views sharing the caller's storage */
    int64_t n;           /* samples */
    int64_t xrow, yrow;  /* floats per sample */
    int64_t *order;      /* current permutation of 0..n-1 */
    mlp_tensor *bx, *by; /* batch buffers, capacity cap rows */
    int64_t cap;
    mlp__cursor cur; /* where mlp_fit is in its epochs */
};

/* Rows [start, start+rows) of the current order into the dataset's batch
 * tensors (dataset.c); rows >= 1; failures name fn. */
mlp_status mlp__dataset_rows(mlp_dataset *ds, const char *fn, int64_t start, int64_t rows,
                             mlp_tensor **x, mlp_tensor **y);

/* The model's output a loss of `kind` is computed on (fit.c): the logits
 * for cross-entropy (mlp_model_forward_logits: a softmax or log-softmax
 * head is skipped), the full output for the others. */
mlp_tensor *mlp__loss_input(mlp_model *m, mlp_loss_kind kind, mlp_tensor *x);
/* The loss op of a kind, or NULL (fit.c). */
mlp_tensor *mlp__loss_of(mlp_loss_kind kind, mlp_tensor *out, mlp_tensor *y);
/* Number of rows of logits [b,k] whose arg-max equals the label (fit.c). */
int64_t mlp__count_correct(const mlp_tensor *logits, const mlp_tensor *labels);
/* Checks of mlp_fit's and mlp_evaluate's common arguments (fit.c). */
/* An empty dataset is refused: there would be no loss to report. */
mlp_status mlp__fit_check(mlp_ctx *ctx, const char *fn, const mlp_dataset *ds, mlp_loss_kind loss,
                          int64_t batch_size);
/* Sums over batches [b0, b1) without the tape: loss * rows, correct rows,
 * rows (fit.c). */
mlp_status mlp__evaluate_range(mlp_model *m, mlp_dataset *ds, mlp_loss_kind loss,
                               int64_t batch_size, int64_t b0, int64_t b1, double *sum_loss,
                               int64_t *hits, int64_t *seen);
/* mlp_fit with a communicator on opt (fit_dist.c); fn names mlp_fit. */
mlp_status mlp__fit_dist(const char *fn, mlp_model *m, mlp_optim *opt, mlp_dataset *ds,
                         mlp_loss_kind loss, int epochs, int64_t batch_size,
                         mlp_progress_fn progress, void *user);

#endif
