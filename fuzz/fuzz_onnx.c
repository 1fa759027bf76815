/*
 * fuzz_onnx.c - libFuzzer target for the ONNX reader
 * (mlp_model_load_onnx_mem), with a bound on the memory it may use while
 * reading, then predict and a save/load round trip of what loaded.
 * The body is fuzz_onnx() in targets.h, shared with the corpus replay
 * test; a broken contract aborts so the fuzzer keeps the input.
 * Build and run: make fuzz (see docs/reliability.md).
 */
#include "targets.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (fuzz_onnx(data, size) != FUZZ_OK)
        abort();
    return 0;
}
