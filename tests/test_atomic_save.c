/*
 * test_atomic_save.c - a save interrupted at any point never damages the
 * file it replaces. mlp_model_save and mlp_npy_save write `path`.tmp and
 * rename it over `path`; here every way that can fail is made to happen
 * with a good previous file in place:
 *  - the device "fills up" after k bytes, for every k short of the whole
 *    file (RLIMIT_FSIZE with SIGXFSZ ignored: write() fails with EFBIG);
 *  - the temporary file cannot be created (its name is a directory);
 *  - the rename fails (the target is a directory);
 *  - the directory does not exist;
 *  - every allocation the save makes fails in turn.
 * After each failure: the status is MLP_ERR_IO (or NOMEM), the previous
 * file has exactly its old bytes, and no temporary file is left behind.
 */
#define _XOPEN_SOURCE 700

#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "testutil.h"

static char dir[128];

static void path_in_dir(char *out, size_t cap, const char *name)
{
    snprintf(out, cap, "%s/%s", dir, name);
}

static int setup(void **state)
{
    (void)state;
    snprintf(dir, sizeof dir, "/tmp/mlp_test_atomic_%ld", (long)getpid());
    return mkdir(dir, 0700);
}

static int teardown(void **state)
{
    char p[256];
    (void)state;
    path_in_dir(p, sizeof p, "m.mlp");
    remove(p);
    path_in_dir(p, sizeof p, "m.mlp.tmp");
    remove(p);
    path_in_dir(p, sizeof p, "t.npy");
    remove(p);
    path_in_dir(p, sizeof p, "t.npy.tmp");
    remove(p);
    return rmdir(dir);
}

static int exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

/* The file holds exactly old[0..n) and no .tmp is left beside it. */
static void unchanged(const char *path, const unsigned char *old, size_t n)
{
    size_t size = 0;
    unsigned char *now = tu_slurp(path, &size);
    char tmp[256];
    assert_non_null(now);
    assert_int_equal(size, n);
    assert_memory_equal(now, old, n);
    free(now);
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    assert_false(exists(tmp));
}

static mlp_model *small_model(mlp_ctx *ctx, uint64_t seed)
{
    mlp_ctx_seed(ctx, seed);
    return tu_mlp_act(ctx, 3, 5, 2, MLP_ACT_TANH);
}

typedef mlp_status (*save_fn)(void *obj, const char *path);

static mlp_status save_model(void *obj, const char *path)
{
    return mlp_model_save((const mlp_model *)obj, path);
}

static mlp_status save_npy(void *obj, const char *path)
{
    return mlp_npy_save((const mlp_tensor *)obj, path);
}

/* Save `newer` over the file holding `old` with the file size limited to
 * k bytes, for every k from 0 to the new file's size - 1. */
static void disk_full_at_every_byte(mlp_ctx *ctx, save_fn save, void *newer, const char *path,
                                    const unsigned char *old, size_t old_n, size_t new_n)
{
    struct rlimit keep, lim;
    void (*prev)(int);
    size_t k;
    assert_int_equal(getrlimit(RLIMIT_FSIZE, &keep), 0);
    prev = signal(SIGXFSZ, SIG_IGN);
    for (k = 0; k < new_n; k++) {
        mlp_status s;
        lim = keep;
        lim.rlim_cur = (rlim_t)k;
        assert_int_equal(setrlimit(RLIMIT_FSIZE, &lim), 0);
        s = save(newer, path);
        assert_int_equal(setrlimit(RLIMIT_FSIZE, &keep), 0);
        if (s != MLP_ERR_IO) {
            print_error("file size limit %zu: save gave %s (%s), expected an I/O error\n", k,
                        mlp_status_str(s), mlp_ctx_errmsg(ctx));
            fail();
        }
        assert_int_equal(mlp_ctx_errcode(ctx), MLP_ERR_IO);
        mlp_ctx_clear_error(ctx);
        unchanged(path, old, old_n);
    }
    signal(SIGXFSZ, prev);
}

/* The other ways a save can fail, each with the old file in place. */
static void every_other_failure(mlp_ctx *ctx, save_fn save, void *newer, const char *path,
                                const unsigned char *old, size_t old_n)
{
    char tmp[256], missing[256];
    /* the temporary file cannot be created */
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    assert_int_equal(mkdir(tmp, 0700), 0);
    assert_int_equal(save(newer, path), MLP_ERR_IO);
    assert_non_null(strstr(mlp_ctx_errmsg(ctx), ".tmp"));
    assert_int_equal(rmdir(tmp), 0);
    mlp_ctx_clear_error(ctx);
    unchanged(path, old, old_n);
    /* the directory does not exist */
    snprintf(missing, sizeof missing, "%s/no/such/dir/x", dir);
    assert_int_equal(save(newer, missing), MLP_ERR_IO);
    mlp_ctx_clear_error(ctx);
    unchanged(path, old, old_n);
}

static void atomic__model_save_interrupted_anywhere_keeps_the_old_file(void **state)
{
    mlp_ctx *ctx = mlp_ctx_new(NULL);
    mlp_model *m1 = small_model(ctx, 1), *m2 = small_model(ctx, 2), *back;
    char path[256];
    unsigned char *old, *newer;
    size_t old_n = 0, new_n = 0;
    float x[3] = {0.5f, -1.0f, 2.0f}, y1[2], y2[2];
    (void)state;
    path_in_dir(path, sizeof path, "m.mlp");
    assert_ok(ctx, mlp_model_save(m1, path));
    old = tu_slurp(path, &old_n);
    assert_non_null(old);
    assert_true(old_n > 0);
    /* the size of what m2 would write */
    {
        void *buf;
        assert_ok(ctx, mlp_model_save_mem(m2, &buf, &new_n));
        newer = (unsigned char *)malloc(new_n);
        memcpy(newer, buf, new_n);
        mlp_buffer_free(ctx, buf);
    }

    disk_full_at_every_byte(ctx, save_model, m2, path, old, old_n, new_n);
    every_other_failure(ctx, save_model, m2, path, old, old_n);

    /* what is left on disk is still a loadable m1 */
    back = mlp_model_load(ctx, path);
    assert_handle(ctx, back);
    assert_ok(ctx, mlp_model_predict(back, x, 1, y1));
    assert_ok(ctx, mlp_model_predict(m1, x, 1, y2));
    assert_memory_equal(y1, y2, sizeof y1);
    mlp_model_free(back);

    /* and once nothing fails, the save replaces it with m2's bytes */
    assert_ok(ctx, mlp_model_save(m2, path));
    unchanged(path, newer, new_n);

    free(old);
    free(newer);
    mlp_model_free(m1);
    mlp_model_free(m2);
    mlp_ctx_free(ctx);
}

static void atomic__rename_over_a_directory_fails_and_leaves_no_tmp(void **state)
{
    mlp_ctx *ctx = mlp_ctx_new(NULL);
    mlp_model *m = small_model(ctx, 3);
    char path[256], tmp[300];
    (void)state;
    path_in_dir(path, sizeof path, "adir");
    assert_int_equal(mkdir(path, 0700), 0);
    snprintf(tmp, sizeof tmp, "%s/keep", path);
    {
        FILE *f = fopen(tmp, "wb"); /* a non-empty directory cannot be replaced */
        assert_non_null(f);
        fclose(f);
    }
    assert_int_equal(mlp_model_save(m, path), MLP_ERR_IO);
    assert_int_equal(mlp_ctx_errcode(ctx), MLP_ERR_IO);
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    assert_false(exists(tmp));
    snprintf(tmp, sizeof tmp, "%s/keep", path);
    assert_true(exists(tmp));
    remove(tmp);
    rmdir(path);
    mlp_model_free(m);
    mlp_ctx_free(ctx);
}

static void atomic__allocation_failure_during_save_keeps_the_old_file(void **state)
{
    tu_alloc *a = &tu_fix(state)->alloc;
    mlp_ctx *ctx = tu_ctx_of(state);
    mlp_model *m1, *m2;
    char path[256];
    unsigned char *old;
    size_t old_n = 0;
    long n;
    assert_non_null(ctx);
    m1 = small_model(ctx, 1);
    m2 = small_model(ctx, 2);
    path_in_dir(path, sizeof path, "m.mlp");
    assert_ok(ctx, mlp_model_save(m1, path));
    old = tu_slurp(path, &old_n);
    for (n = 0;; n++) {
        mlp_status s;
        a->fail_at = a->calls + n;
        a->failures = 0;
        s = mlp_model_save(m2, path);
        a->fail_at = -1;
        if (a->failures == 0) {
            assert_ok(ctx, s);
            break;
        }
        assert_int_equal(s, MLP_ERR_NOMEM);
        assert_int_equal(mlp_ctx_errcode(ctx), MLP_ERR_NOMEM);
        mlp_ctx_clear_error(ctx);
        unchanged(path, old, old_n);
        assert_true(n < 1000);
    }
    free(old);
    mlp_model_free(m1);
    mlp_model_free(m2);
}

static void atomic__npy_save_interrupted_anywhere_keeps_the_old_file(void **state)
{
    mlp_ctx *ctx = mlp_ctx_new(NULL);
    int64_t s1[1] = {3}, s2[2] = {4, 5};
    float d1[3] = {1, 2, 3};
    mlp_tensor *t1 = mlp_tensor_from(ctx, 1, s1, d1), *t2 = mlp_tensor_ones(ctx, 2, s2);
    char path[256];
    unsigned char *old, *newer;
    size_t old_n = 0, new_n = 0;
    (void)state;
    path_in_dir(path, sizeof path, "t.npy");
    /* the size t2 takes, from a save elsewhere */
    assert_ok(ctx, mlp_npy_save(t2, path));
    newer = tu_slurp(path, &new_n);
    assert_ok(ctx, mlp_npy_save(t1, path));
    old = tu_slurp(path, &old_n);
    assert_non_null(old);
    disk_full_at_every_byte(ctx, save_npy, t2, path, old, old_n, new_n);
    every_other_failure(ctx, save_npy, t2, path, old, old_n);
    assert_ok(ctx, mlp_npy_save(t2, path));
    unchanged(path, newer, new_n);
    free(old);
    free(newer);
    mlp_tensor_free(t1);
    mlp_tensor_free(t2);
    mlp_ctx_free(ctx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(atomic__model_save_interrupted_anywhere_keeps_the_old_file),
        cmocka_unit_test(atomic__rename_over_a_directory_fails_and_leaves_no_tmp),
        TU_TEST(atomic__allocation_failure_during_save_keeps_the_old_file),
        cmocka_unit_test(atomic__npy_save_interrupted_anywhere_keeps_the_old_file),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
