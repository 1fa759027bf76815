/*
 * seed_checkpoint.c - writes the checkpoint seeds of fuzz/corpus/checkpoint/
 * (run from the repository root):
 *     cc -Iinclude -Ifuzz fuzz/seed_checkpoint.c lib/libmlp.a -lpthread -lm -o build/seed_checkpoint
 *     build/seed_checkpoint
 * Valid checkpoints of the 4-sample, 2-feature dataset fuzz/targets.h
 * loads into (fuzz_ckpt_data): SGD before any step, SGD with Nesterov momentum stopped
 * mid-epoch, Adam with amsgrad on a 2-8-2 pReLU/dropout model at an epoch
 * end, AdamW; then the Adam one cut in half, with a flipped byte and with
 * a bad magic.
 */
#include <stdio.h>

#include "targets.h"

static void put(const char *name, const void *buf, size_t n)
{
    char path[256];
    FILE *f;
    snprintf(path, sizeof path, "fuzz/corpus/checkpoint/%s", name);
    f = fopen(path, "wb");
    if (!f || fwrite(buf, 1, n, f) != n || fclose(f) != 0)
        fprintf(stderr, "seed_checkpoint: cannot write %s\n", path);
}

/* kind 0: SGD, no step; 1: SGD Nesterov, one batch; 2: Adam amsgrad with
 * a deeper model, one epoch; 3: AdamW, one epoch and one batch. */
static void seed(int kind, const char *name)
{
    mlp_ctx *ctx = mlp_ctx_new(NULL);
    mlp_tensor *x, *y;
    mlp_dataset *ds = fuzz_ckpt_data(ctx, &x, &y);
    mlp_model *m = mlp_model_new(ctx);
    mlp_optim *o;
    void *buf;
    size_t n;
    mlp_ctx_seed(ctx, (uint64_t)kind + 1);
    if (kind == 2) {
        mlp_model_add_linear(m, 2, 8);
        mlp_model_add_act(m, MLP_ACT_PRELU);
        mlp_model_add_dropout(m, 0.25f);
        mlp_model_add_linear(m, 8, 2);
    } else {
        mlp_model_add_linear(m, 2, 2);
    }
    o = kind <= 1   ? mlp_sgd_new(m, 0.1f)
        : kind == 2 ? mlp_adam_new(m, 0.01f)
                    : mlp_adamw_new(m, 0.01f);
    if (kind == 1) {
        mlp_optim_set(o, MLP_OPT_MOMENTUM, 0.9);
        mlp_optim_set(o, MLP_OPT_NESTEROV, 1);
        mlp_fit(m, o, ds, MLP_LOSS_CROSS_ENTROPY, 1, 2, fuzz_stop, NULL);
    } else if (kind == 2) {
        mlp_optim_set(o, MLP_OPT_AMSGRAD, 1);
        mlp_fit(m, o, ds, MLP_LOSS_CROSS_ENTROPY, 1, 2, NULL, NULL);
    } else if (kind == 3) {
        mlp_fit(m, o, ds, MLP_LOSS_CROSS_ENTROPY, 1, 2, NULL, NULL);
        mlp_fit(m, o, ds, MLP_LOSS_CROSS_ENTROPY, 1, 2, fuzz_stop, NULL);
    }
    if (mlp_checkpoint_save_mem(m, o, ds, &buf, &n) != MLP_OK) {
        fprintf(stderr, "seed_checkpoint: %s\n", mlp_ctx_errmsg(ctx));
    } else {
        put(name, buf, n);
        if (kind == 2) {
            unsigned char *b = (unsigned char *)buf;
            put("adam_cut_half.ckpt", buf, n / 2);
            b[n / 3] ^= 0x10;
            put("adam_flipped_byte.ckpt", buf, n);
            b[n / 3] ^= 0x10;
            b[0] = 'X';
            put("bad_magic.ckpt", buf, n);
        }
        mlp_buffer_free(ctx, buf);
    }
    mlp_optim_free(o);
    mlp_model_free(m);
    mlp_dataset_free(ds);
    mlp_tensor_free(x);
    mlp_tensor_free(y);
    mlp_ctx_free(ctx);
}

int main(void)
{
    seed(0, "sgd_fresh.ckpt");
    seed(1, "sgd_nesterov_mid_epoch.ckpt");
    seed(2, "adam_amsgrad_epoch_end.ckpt");
    seed(3, "adamw_second_epoch.ckpt");
    return 0;
}
