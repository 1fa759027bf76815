/*
 * fuzz_npy.c - libFuzzer target for the .npy reader (mlp_npy_load_mem).
 * The body is fuzz_npy() in targets.h, shared with the corpus replay test;
 * a broken contract (failure without an error message, a leak, an
 * inconsistent object) aborts so the fuzzer keeps the input.
 * Build and run: make fuzz (see docs/reliability.md).
 */
#include "targets.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (fuzz_npy(data, size) != FUZZ_OK)
        abort();
    return 0;
}
