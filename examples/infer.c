/*
 * infer.c - using a trained model: loads a model saved by fashion_mnist,
 * packs its weights once for serving (mlp_model_pack), runs test images
 * through the tape-free predict path (mlp_model_predict, which allocates
 * nothing after its first call), and prints for each image
 * the class it gives with its softmax probability against the truth; the
 * first few images are drawn in ASCII.
 *
 * Usage: infer [--model out/fashion.mlp] [--data .cache/fashion-mnist]
 *              [--count 10] [--start 0] [--show 3]
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mlp.h>

static const char *const class_names[10] = {"T-shirt/top", "Trouser",   "Pullover", "Dress",
                                            "Coat",        "Sandal",    "Shirt",    "Sneaker",
                                            "Bag",         "Ankle boot"};

/* A 28x28 image in [0,1] as 14 lines of 28 characters (two rows each). */
static void ascii(const float *img)
{
    static const char ramp[] = " .:-=+*#%@";
    int r, c;
    for (r = 0; r < 28; r += 2) {
        printf("    |");
        for (c = 0; c < 28; c++) {
            float v = (img[r * 28 + c] + img[(r + 1) * 28 + c]) / 2;
            int k = (int)(v * 9.99f);
            putchar(ramp[k < 0 ? 0 : k > 9 ? 9 : k]);
        }
        printf("|\n");
    }
}

int main(int argc, char **argv)
{
    const char *model_path = "out/fashion.mlp", *data = ".cache/fashion-mnist";
    long count = 10, start = 0, show = 3, i, right = 0;
    char path[1024];
    mlp_ctx *ctx;
    mlp_model *net = NULL;
    mlp_tensor *images = NULL, *labels = NULL;
    float logits[10];
    int rc = 1, a;

    for (a = 1; a < argc; a += 2) { /* flag, value */
        const char *v = a + 1 < argc ? argv[a + 1] : NULL;
        if (!strcmp(argv[a], "--model") && v)
            model_path = v;
        else if (!strcmp(argv[a], "--data") && v)
            data = v;
        else if (!strcmp(argv[a], "--count") && v)
            count = strtol(v, NULL, 10);
        else if (!strcmp(argv[a], "--start") && v)
            start = strtol(v, NULL, 10);
        else if (!strcmp(argv[a], "--show") && v)
            show = strtol(v, NULL, 10);
        else {
            fprintf(stderr, "usage: infer [--model PATH] [--data DIR] [--count N] [--start I] "
                            "[--show K]\n");
            return 2;
        }
    }
    if (!(ctx = mlp_ctx_new(NULL)))
        return 1;
    if (!(net = mlp_model_load(ctx, model_path))) {
        fprintf(stderr, "infer: %s\n(train one first: fashion_mnist --model %s)\n",
                mlp_ctx_errmsg(ctx), model_path);
        goto done;
    }
    sprintf(path, "%.900s/t10k-images-idx3-ubyte", data);
    images = mlp_idx_load(ctx, path, 1.0f / 255.0f); /* [10000,28,28] in [0,1] */
    sprintf(path, "%.900s/t10k-labels-idx1-ubyte", data);
    labels = mlp_idx_load(ctx, path, 1.0f); /* [10000] classes 0..9 */
    if (!images || !labels) {
        fprintf(stderr, "infer: %s\n", mlp_ctx_errmsg(ctx));
        goto done;
    }
    if (mlp_model_in_features(net) != 784 || mlp_model_out_features(net) != 10) {
        fprintf(stderr, "infer: %s is not a 784 -> 10 image classifier\n", model_path);
        goto done;
    }
    if (start < 0 || count < 1 || start + count > mlp_tensor_dim(images, 0)) {
        fprintf(stderr, "infer: --start and --count must pick images within 0..%lld\n",
                (long long)mlp_tensor_dim(images, 0) - 1);
        goto done;
    }
    /* the weights stay as they are from here on: pack them once */
    if (mlp_model_pack(net, 1) != MLP_OK) {
        fprintf(stderr, "infer: %s\n", mlp_ctx_errmsg(ctx));
        goto done;
    }
    printf("model %s: %lld parameters; test images %ld..%ld\n\n", model_path,
           (long long)mlp_model_param_numel(net), start, start + count - 1);
    for (i = start; i < start + count; i++) {
        const float *img = mlp_tensor_cdata(images) + i * 784;
        int truth = (int)mlp_tensor_get(labels, i), best = 0, k;
        double z = 0;
        /* one image through the allocation-free path: 10 logits */
        if (mlp_model_predict(net, img, 1, logits) != MLP_OK) {
            fprintf(stderr, "infer: %s\n", mlp_ctx_errmsg(ctx));
            goto done;
        }
        for (k = 1; k < 10; k++)
            if (logits[k] > logits[best])
                best = k;
        for (k = 0; k < 10; k++)
            z += exp((double)(logits[k] - logits[best]));
        right += best == truth;
        printf("image %5ld: %-11s (p = %.2f)  truth %-11s %s\n", i, class_names[best], 1.0 / z,
               class_names[truth], best == truth ? "right" : "WRONG");
        if (i - start < show)
            ascii(img);
    }
    {
        /* the same images as one batch through mlp_model_classify */
        int32_t *cls = malloc(sizeof(int32_t) * (size_t)count);
        long same = 0;
        if (!cls
            || mlp_model_classify(net, mlp_tensor_cdata(images) + start * 784, count, cls)
                   != MLP_OK) {
            fprintf(stderr, "infer: classify: %s\n", cls ? mlp_ctx_errmsg(ctx) : "out of memory");
            free(cls);
            goto done;
        }
        for (i = 0; i < count; i++)
            same += cls[i] == (int32_t)mlp_tensor_get(labels, start + i);
        free(cls);
        if (same != right) {
            fprintf(stderr, "infer: batch and one-by-one classification disagree\n");
            goto done;
        }
    }
    printf("\n%ld of %ld right (%.1f%%)\n", right, count, 100.0 * (double)right / (double)count);
    rc = 0;
done:
    mlp_tensor_free(images);
    mlp_tensor_free(labels);
    mlp_model_free(net);
    mlp_ctx_free(ctx);
    return rc;
}
