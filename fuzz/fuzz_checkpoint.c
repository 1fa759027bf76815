/*
 * fuzz_checkpoint.c - libFuzzer target for the checkpoint loader
 * (mlp_checkpoint_load_mem into a 4-sample dataset), then a little
 * training and a save/load round trip of what loaded. The body is
 * fuzz_checkpoint() in targets.h, shared with the corpus replay test;
 * a broken contract aborts so the fuzzer keeps the input.
 * Build and run: make fuzz (see docs/reliability.md).
 */
#include "targets.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (fuzz_checkpoint(data, size) != FUZZ_OK)
        abort();
    return 0;
}
