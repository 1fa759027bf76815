/*
 * fuzz_model.c - libFuzzer target for the model loader (mlp_model_load_mem), then predict, classify and a save/load round trip of what loaded.
 * The body is fuzz_model() in targets.h, shared with the corpus replay test;
 * a broken contract (failure without an error message, a leak, an
 * inconsistent object) aborts so the fuzzer keeps the input.
 * Build and run: make fuzz (see docs/reliability.md).
 */
#include "targets.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (fuzz_model(data, size) != FUZZ_OK)
        abort();
    return 0;
}
