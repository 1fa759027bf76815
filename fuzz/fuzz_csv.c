/*
 * fuzz_csv.c - libFuzzer target for the CSV reader (mlp_csv_load_mem), with and without a header line.
 * The body is fuzz_csv() in targets.h, shared with the corpus replay test;
 * a broken contract (failure without an error message, a leak, an
 * inconsistent object) aborts so the fuzzer keeps the input.
 * Build and run: make fuzz (see docs/reliability.md).
 */
#include "targets.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (fuzz_csv(data, size) != FUZZ_OK)
        abort();
    return 0;
}
