/*
 * bench/peers/ort_bench.c - ONNX Runtime's CPU engine as an inference peer
 * of bench/infer, through its C API (benchmark only: libmlp never links
 * it). Runs one ONNX model (written by bench/compare.py with the same
 * layer sizes) at a given batch and thread count, the same way bench/infer
 * times mlp_model_predict: best of 7 timed loops of about 20 ms, input and
 * output tensors made once, graph optimisations on, sequential execution,
 * intra-op threads = threads.
 *   ort_bench MODEL.onnx NET IN OUT BATCH THREADS
 *   ort_infer net=784-256-10 threads=1 batch=256 us_per_sample=... cpu="..."
 */
#define _POSIX_C_SOURCE 200809L
#include <stdint.h>

#include "../bench.h"
#include "onnxruntime_c_api.h"

static const OrtApi *ort;

static int check(OrtStatus *st, const char *what)
{
    if (!st)
        return 1;
    fprintf(stderr, "ort_bench: %s: %s\n", what, ort->GetErrorMessage(st));
    ort->ReleaseStatus(st);
    return 0;
}

int main(int argc, char **argv)
{
    OrtEnv *env = NULL;
    OrtSessionOptions *so = NULL;
    OrtSession *sess = NULL;
    OrtMemoryInfo *mem = NULL;
    OrtValue *xin = NULL, *yout = NULL;
    const char *in_names[1] = {"x"}, *out_names[1] = {"y"};
    int64_t in, out, batch, xs[2], ys[2], i;
    int threads, r, rc = 1;
    float *x, *y;
    double best = 1e30, sink = 0.0;
    long it, iters = 1;
    if (argc != 7) {
        fprintf(stderr, "usage: ort_bench MODEL.onnx NET IN OUT BATCH THREADS\n");
        return 2;
    }
    in = atoll(argv[3]);
    out = atoll(argv[4]);
    batch = atoll(argv[5]);
    threads = atoi(argv[6]);
    ort = OrtGetApiBase()->GetApi(ORT_API_VERSION);
    if (!ort) {
        fprintf(stderr, "ort_bench: this runtime does not offer C API version %d\n",
                ORT_API_VERSION);
        return 1;
    }
    x = (float *)malloc((size_t)(batch * in) * sizeof(float));
    y = (float *)malloc((size_t)(batch * out) * sizeof(float));
    if (!x || !y)
        return 1;
    for (i = 0; i < batch * in; i++)
        x[i] = (float)(i % 17) / 17.0f;
    xs[0] = ys[0] = batch;
    xs[1] = in;
    ys[1] = out;
    if (!check(ort->CreateEnv(ORT_LOGGING_LEVEL_ERROR, "bench", &env), "CreateEnv")
        || !check(ort->CreateSessionOptions(&so), "CreateSessionOptions")
        || !check(ort->SetIntraOpNumThreads(so, threads), "SetIntraOpNumThreads")
        || !check(ort->SetInterOpNumThreads(so, 1), "SetInterOpNumThreads")
        || !check(ort->SetSessionExecutionMode(so, ORT_SEQUENTIAL), "SetSessionExecutionMode")
        || !check(ort->SetSessionGraphOptimizationLevel(so, ORT_ENABLE_ALL),
                  "SetSessionGraphOptimizationLevel")
        || !check(ort->CreateSession(env, argv[1], so, &sess), "CreateSession")
        || !check(ort->CreateCpuMemoryInfo(OrtArenaAllocator, OrtMemTypeDefault, &mem),
                  "CreateCpuMemoryInfo")
        || !check(ort->CreateTensorWithDataAsOrtValue(mem, x, (size_t)(batch * in) * sizeof(float),
                                                      xs, 2, ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT,
                                                      &xin),
                  "CreateTensorWithDataAsOrtValue")
        || !check(ort->CreateTensorWithDataAsOrtValue(mem, y, (size_t)(batch * out) * sizeof(float),
                                                      ys, 2, ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT,
                                                      &yout),
                  "CreateTensorWithDataAsOrtValue"))
        goto done;
    /* calibrate: iterations for about 20 ms */
    for (;;) {
        double t0 = bench_now();
        for (it = 0; it < iters; it++)
            if (!check(ort->Run(sess, NULL, in_names, (const OrtValue *const *)&xin, 1, out_names,
                                1, &yout),
                       "Run"))
                goto done;
        if (bench_now() - t0 > 0.005 || iters > (1L << 26))
            break;
        iters *= 2;
    }
    iters *= 4;
    for (r = 0; r < 7; r++) {
        double t0 = bench_now(), dt;
        for (it = 0; it < iters; it++) {
            x[0] = (float)(it & 7);
            if (!check(ort->Run(sess, NULL, in_names, (const OrtValue *const *)&xin, 1, out_names,
                                1, &yout),
                       "Run"))
                goto done;
            sink += y[0];
        }
        dt = (bench_now() - t0) / (double)iters;
        if (dt < best)
            best = dt;
    }
    printf("ort_infer net=%s threads=%d batch=%lld us_per_sample=%.4f cpu=\"%s\"\n", argv[2],
           threads, (long long)batch, best * 1e6 / (double)batch, bench_cpu_model());
    if (sink == 12345.678)
        printf("\n");
    rc = 0;
done:
    if (xin)
        ort->ReleaseValue(xin);
    if (yout)
        ort->ReleaseValue(yout);
    if (mem)
        ort->ReleaseMemoryInfo(mem);
    if (sess)
        ort->ReleaseSession(sess);
    if (so)
        ort->ReleaseSessionOptions(so);
    if (env)
        ort->ReleaseEnv(env);
    free(x);
    free(y);
    return rc;
}
