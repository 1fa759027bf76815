/*
 * tsan_shared_model.c - one model, many threads, under ThreadSanitizer
 * (make check-tsan): four threads predict and classify on one shared model
 * at once with varying batch sizes (tests/predict_threads.h), first with a
 * single-threaded context, then with two worker threads in the context
 * (the call that holds them splits its batch; the others run alone). Not
 * named test_*.c: it is not a cmocka test. Prints one line per round;
 * exit status 0 when every call agreed and TSan saw no race.
 */
#include "predict_threads.h"

int main(void)
{
    char err[256];
    int threads, rc = 0;
    for (threads = 1; threads <= 2; threads++) {
        int ok = pt_run(threads, err, sizeof err);
        if (!ok && threads > 1) {
            mlp_ctx *ctx = mlp_ctx_new(NULL);
            int none = ctx && mlp_ctx_set_threads(ctx, 2) == MLP_ERR_UNSUPPORTED;
            mlp_ctx_free(ctx);
            if (none) { /* a build without threads */
                printf("tsan_shared_model: context threads=2: skipped (no thread support)\n");
                continue;
            }
        }
        printf("tsan_shared_model: context threads=%d, %d callers: %s%s%s\n", threads, PT_CALLERS,
               ok ? "all calls agree" : "FAILED", ok ? "" : ": ", ok ? "" : err);
        rc |= !ok;
    }
    return rc;
}
