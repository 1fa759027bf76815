/*
 * test_fuzz_replay.c - replays the fuzzers' seed corpus (fuzz/corpus/<t>/)
 * and every input that once broke a reader (fuzz/crashes/<t>/) through
 * the same target bodies the fuzzers run (fuzz/targets.h), so `make check`
 * keeps every finding fixed without needing clang's fuzzer runtime.
 * Runs from the repository root (the paths are relative).
 */
#define _POSIX_C_SOURCE 200809L

#include <dirent.h>

#include "testutil.h"

#include "../fuzz/targets.h"

typedef int (*fuzz_fn)(const uint8_t *data, size_t size);

/* Read a whole file with the C library (the test's own memory). */
static unsigned char *slurp(const char *path, size_t *size)
{
    FILE *f = fopen(path, "rb");
    unsigned char *buf = NULL, *nb;
    size_t cap = 0, len = 0, got;
    if (!f)
        return NULL;
    for (;;) {
        if (len == cap) {
            cap = cap ? cap * 2 : 4096;
            nb = (unsigned char *)realloc(buf, cap);
            if (!nb) {
                free(buf);
                fclose(f);
                return NULL;
            }
            buf = nb;
        }
        got = fread(buf + len, 1, cap - len, f);
        len += got;
        if (got == 0)
            break;
    }
    fclose(f);
    *size = len;
    return buf;
}

/* Replay every regular file of dir through fn; returns how many ran. */
static int replay_dir(const char *dir, fuzz_fn fn)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    int count = 0;
    char path[1024];
    if (!d)
        return 0;
    while ((e = readdir(d)) != NULL) {
        unsigned char *buf;
        size_t size = 0;
        int rc;
        if (e->d_name[0] == '.') /* ., .., .keep */
            continue;
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        buf = slurp(path, &size);
        if (!buf)
            continue; /* a subdirectory or unreadable */
        rc = fn(buf, size);
        free(buf);
        if (rc != FUZZ_OK) {
            closedir(d);
            print_error("%s: broken contract %d (1 no error set, 2 leak, 3 bad object)\n", path,
                        rc);
            fail();
        }
        count++;
    }
    closedir(d);
    return count;
}

static void replay(const char *target, fuzz_fn fn)
{
    char dir[256];
    int seeds;
    snprintf(dir, sizeof dir, "fuzz/corpus/%s", target);
    seeds = replay_dir(dir, fn);
    if (seeds < 3) {
        print_error("%s: %d seed files (run from the repository root)\n", dir, seeds);
        fail();
    }
    snprintf(dir, sizeof dir, "fuzz/crashes/%s", target);
    (void)replay_dir(dir, fn);
}

static void fuzz__model_corpus_and_crashes_replay_cleanly(void **state)
{
    (void)state;
    replay("model", fuzz_model);
}

static void fuzz__npy_corpus_and_crashes_replay_cleanly(void **state)
{
    (void)state;
    replay("npy", fuzz_npy);
}

static void fuzz__idx_corpus_and_crashes_replay_cleanly(void **state)
{
    (void)state;
    replay("idx", fuzz_idx);
}

static void fuzz__checkpoint_corpus_and_crashes_replay_cleanly(void **state)
{
    (void)state;
    replay("checkpoint", fuzz_checkpoint);
}

static void fuzz__csv_corpus_and_crashes_replay_cleanly(void **state)
{
    (void)state;
    replay("csv", fuzz_csv);
}

static void fuzz__onnx_corpus_and_crashes_replay_cleanly(void **state)
{
    (void)state;
    replay("onnx", fuzz_onnx);
}

/* Every prefix of every seed is a truncated file: each must fail cleanly
 * or load, never crash or leak. */
static void truncate_all(const char *target, fuzz_fn fn)
{
    char dir[256], path[1024];
    DIR *d;
    struct dirent *e;
    snprintf(dir, sizeof dir, "fuzz/corpus/%s", target);
    d = opendir(dir);
    assert_non_null(d);
    while ((e = readdir(d)) != NULL) {
        unsigned char *buf;
        size_t size = 0, n, step;
        if (e->d_name[0] == '.')
            continue;
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        buf = slurp(path, &size);
        if (!buf)
            continue;
        step = size > 2048 ? size / 512 : 1; /* keep big seeds quick */
        for (n = 0; n < size; n += step) {
            int rc = fn(buf, n);
            if (rc != FUZZ_OK) {
                print_error("%s cut to %zu bytes: broken contract %d\n", path, n, rc);
                free(buf);
                closedir(d);
                fail();
            }
        }
        free(buf);
    }
    closedir(d);
}

static void fuzz__every_truncation_of_every_seed_fails_cleanly(void **state)
{
    (void)state;
    truncate_all("model", fuzz_model);
    truncate_all("npy", fuzz_npy);
    truncate_all("idx", fuzz_idx);
    truncate_all("csv", fuzz_csv);
    truncate_all("onnx", fuzz_onnx);
    truncate_all("checkpoint", fuzz_checkpoint);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(fuzz__model_corpus_and_crashes_replay_cleanly),
        cmocka_unit_test(fuzz__npy_corpus_and_crashes_replay_cleanly),
        cmocka_unit_test(fuzz__idx_corpus_and_crashes_replay_cleanly),
        cmocka_unit_test(fuzz__csv_corpus_and_crashes_replay_cleanly),
        cmocka_unit_test(fuzz__onnx_corpus_and_crashes_replay_cleanly),
        cmocka_unit_test(fuzz__checkpoint_corpus_and_crashes_replay_cleanly),
        cmocka_unit_test(fuzz__every_truncation_of_every_seed_fails_cleanly),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
