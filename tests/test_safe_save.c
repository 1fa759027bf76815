/*
 * test_safe_save.c - what every save (models, checkpoints, .npy) does with
 * the path it is given (docs/format.md, "Saving"): a path that exists and
 * is not a regular file (a FIFO, a directory, a character device such as
 * /dev/null, made here with mknod when run as root) is refused with
 * MLP_ERR_IO and left as it was; a symbolic link is followed and the file
 * it names is replaced, the link kept; the replaced file's permissions are
 * kept; a stale regular `path`.tmp is replaced, any other kind refused.
 */
#define _XOPEN_SOURCE 700

#include <sys/stat.h>
#include <unistd.h>

#include "testutil.h"

static char dir[64];

static const char *in_dir(const char *name)
{
    static char buf[4][256];
    static int k;
    k = (k + 1) % 4;
    snprintf(buf[k], sizeof buf[k], "%s/%s", dir, name);
    return buf[k];
}

static int setup(void **state)
{
    (void)state;
    strcpy(dir, "/tmp/mlp_safe_save_XXXXXX");
    return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
    char cmd[128];
    (void)state;
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : -1;
}

static mlp_model *tiny(mlp_ctx *ctx, float w)
{
    mlp_model *m = mlp_model_new(ctx);
    assert_ok(ctx, mlp_model_add_linear(m, 1, 1));
    assert_ok(ctx, mlp_tensor_fill(mlp_model_param(m, 0), w));
    return m;
}

static mode_t kind(const char *path)
{
    struct stat st;
    assert_int_equal(lstat(path, &st), 0);
    return st.st_mode & S_IFMT;
}

static int exists(const char *path)
{
    struct stat st;
    return lstat(path, &st) == 0;
}

/* Saving m (and a checkpoint, and a tensor) to path is MLP_ERR_IO with a
 * message containing `says`; path keeps its kind and no .tmp is left. */
static void refused(mlp_ctx *ctx, mlp_model *m, const char *path, const char *says)
{
    mode_t before = kind(path);
    char tmp[300];
    mlp_optim *opt = mlp_sgd_new(m, 0.1f);
    mlp_tensor *x = mlp_tensor_zeros(ctx, 2, (const int64_t[]){2, 1});
    mlp_dataset *ds = mlp_dataset_new(x, x);
    assert_int_equal(mlp_model_save(m, path), MLP_ERR_IO);
    if (!strstr(mlp_ctx_errmsg(ctx), says) || !strstr(mlp_ctx_errmsg(ctx), "mlp_model_save")) {
        print_error("message '%s' lacks '%s'\n", mlp_ctx_errmsg(ctx), says);
        fail();
    }
    assert_int_equal(mlp_checkpoint_save(m, opt, ds, path), MLP_ERR_IO);
    assert_int_equal(mlp_npy_save(x, path), MLP_ERR_IO);
    assert_int_equal(kind(path), before);
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    assert_false(exists(tmp) && kind(tmp) == S_IFREG);
    mlp_dataset_free(ds);
    mlp_tensor_free(x);
    mlp_optim_free(opt);
    mlp_ctx_clear_error(ctx);
}

static void save__special_files_are_refused_and_never_replaced(void **state)
{
    mlp_ctx *ctx = mlp_ctx_new(NULL);
    mlp_model *m = tiny(ctx, 0.5f);
    struct stat null;
    (void)state;
    assert_int_equal(mkfifo(in_dir("fifo"), 0600), 0);
    refused(ctx, m, in_dir("fifo"), "is a FIFO, not a regular file: not replaced");
    assert_int_equal(mkdir(in_dir("empty_dir"), 0700), 0);
    refused(ctx, m, in_dir("empty_dir"), "is a directory");
    /* a device node like /dev/null (root only; elsewhere /dev/null itself,
     * which the refusal leaves alone before anything is written) */
    assert_int_equal(stat("/dev/null", &null), 0);
    if (mknod(in_dir("null"), S_IFCHR | 0666, null.st_rdev) == 0) {
        refused(ctx, m, in_dir("null"), "is a character device");
    } else {
        printf("safe_save: not root, so no device node of our own: checking /dev/null\n");
        assert_int_equal(mlp_model_save(m, "/dev/null"), MLP_ERR_IO);
        assert_int_equal(kind("/dev/null"), S_IFCHR);
    }
    mlp_model_free(m);
    mlp_ctx_free(ctx);
}

static void expect_weight(mlp_ctx *ctx, const char *path, float w)
{
    mlp_model *m = mlp_model_load(ctx, path);
    assert_handle(ctx, m);
    assert_true(mlp_tensor_get(mlp_model_param(m, 0), 0) == w);
    mlp_model_free(m);
}

static void save__through_a_symlink_replaces_the_file_it_names(void **state)
{
    mlp_ctx *ctx = mlp_ctx_new(NULL);
    mlp_model *old = tiny(ctx, 1.0f), *newer = tiny(ctx, 2.0f);
    (void)state;
    /* a relative link in another folder: resolved from the link's folder */
    assert_int_equal(mkdir(in_dir("models"), 0700), 0);
    assert_int_equal(mkdir(in_dir("links"), 0700), 0);
    assert_ok(ctx, mlp_model_save(old, in_dir("models/a.mlp")));
    assert_int_equal(symlink("../models/a.mlp", in_dir("links/latest.mlp")), 0);
    assert_ok(ctx, mlp_model_save(newer, in_dir("links/latest.mlp")));
    assert_int_equal(kind(in_dir("links/latest.mlp")), S_IFLNK);
    expect_weight(ctx, in_dir("models/a.mlp"), 2.0f);
    assert_false(exists(in_dir("links/latest.mlp.tmp")));
    /* a link to a link, absolute: the same */
    assert_int_equal(symlink(in_dir("links/latest.mlp"), in_dir("again.mlp")), 0);
    assert_ok(ctx, mlp_model_save(old, in_dir("again.mlp")));
    expect_weight(ctx, in_dir("models/a.mlp"), 1.0f);
    assert_int_equal(kind(in_dir("again.mlp")), S_IFLNK);
    /* a dangling link: the file it names is made */
    assert_int_equal(symlink("models/b.mlp", in_dir("dangling.mlp")), 0);
    assert_ok(ctx, mlp_model_save(newer, in_dir("dangling.mlp")));
    expect_weight(ctx, in_dir("models/b.mlp"), 2.0f);
    /* a link to a FIFO is refused like the FIFO; a loop of links fails */
    assert_int_equal(mkfifo(in_dir("f2"), 0600), 0);
    assert_int_equal(symlink("f2", in_dir("to_fifo")), 0);
    refused(ctx, newer, in_dir("to_fifo"), "links to");
    assert_int_equal(symlink("loop_b", in_dir("loop_a")), 0);
    assert_int_equal(symlink("loop_a", in_dir("loop_b")), 0);
    assert_int_equal(mlp_model_save(newer, in_dir("loop_a")), MLP_ERR_IO);
    assert_non_null(strstr(mlp_ctx_errmsg(ctx), "symbolic links"));
    mlp_model_free(old);
    mlp_model_free(newer);
    mlp_ctx_free(ctx);
}

static void save__keeps_permissions_and_replaces_a_stale_tmp(void **state)
{
    mlp_ctx *ctx = mlp_ctx_new(NULL);
    mlp_model *m = tiny(ctx, 3.0f);
    struct stat st;
    FILE *f;
    (void)state;
    assert_ok(ctx, mlp_model_save(m, in_dir("p.mlp")));
    assert_int_equal(chmod(in_dir("p.mlp"), 0640), 0);
    /* a crash left a half-written p.mlp.tmp */
    f = fopen(in_dir("p.mlp.tmp"), "wb");
    assert_non_null(f);
    fputs("half", f);
    fclose(f);
    assert_ok(ctx, mlp_model_save(m, in_dir("p.mlp")));
    assert_int_equal(stat(in_dir("p.mlp"), &st), 0);
    assert_int_equal(st.st_mode & 07777, 0640);
    assert_false(exists(in_dir("p.mlp.tmp")));
    expect_weight(ctx, in_dir("p.mlp"), 3.0f);
    /* a FIFO named p.mlp.tmp would block an open: refused, left alone */
    assert_int_equal(mkfifo(in_dir("p.mlp.tmp"), 0600), 0);
    assert_int_equal(mlp_model_save(m, in_dir("p.mlp")), MLP_ERR_IO);
    assert_non_null(strstr(mlp_ctx_errmsg(ctx), "a FIFO"));
    assert_int_equal(kind(in_dir("p.mlp.tmp")), S_IFIFO);
    expect_weight(ctx, in_dir("p.mlp"), 3.0f);
    mlp_model_free(m);
    mlp_ctx_free(ctx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(save__special_files_are_refused_and_never_replaced),
        cmocka_unit_test(save__through_a_symlink_replaces_the_file_it_names),
        cmocka_unit_test(save__keeps_permissions_and_replaces_a_stale_tmp),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
