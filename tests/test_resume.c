/*
 * test_resume.c - the fashion_mnist example killed and resumed: on a small
 * made-up data set (IDX files of 8x8 images written here), a run with a
 * checkpoint every step is killed with SIGKILL at random moments and
 * resumed from its checkpoint each time, until it finishes; then stopped
 * with SIGINT and SIGTERM and resumed from the checkpoint it writes. Every
 * progress line and table row any of those runs printed (less the seconds
 * column) must be one the uninterrupted run printed, all of those must be
 * printed, and the final model file must be byte for byte the
 * uninterrupted run's. The kill moments are printed, so a failure can be
 * replayed with MLP_RESUME_SEED. The example comes from $BUILD/examples.
 */
#define _POSIX_C_SOURCE 200809L

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "testutil.h"

#define TRAIN 240
#define TEST 60
#define SIDE 8
#define MAX_OUT (1 << 20)

static char dir[64];
static char example[512];

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static void put_be32(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)(v >> 24);
    p[1] = (unsigned char)(v >> 16);
    p[2] = (unsigned char)(v >> 8);
    p[3] = (unsigned char)v;
}

/* n images whose pixels follow their label (so there is something to
 * learn), with noise from a fixed linear congruential generator. */
static void write_set(const char *set, int n, uint32_t seed)
{
    char path[256];
    unsigned char head[16];
    unsigned char *img = (unsigned char *)malloc((size_t)n * SIDE * SIDE), *lab;
    FILE *f;
    int i, j;
    lab = (unsigned char *)malloc((size_t)n);
    assert_non_null(img);
    assert_non_null(lab);
    for (i = 0; i < n; i++) {
        lab[i] = (unsigned char)(i * 7 % 10);
        for (j = 0; j < SIDE * SIDE; j++) {
            seed = seed * 1103515245u + 12345u;
            img[i * SIDE * SIDE + j] =
                (unsigned char)((j % 10 == lab[i] ? 160 : 0) + ((seed >> 16) & 63));
        }
    }
    snprintf(path, sizeof path, "%s/%s-images-idx3-ubyte", dir, set);
    put_be32(head, 0x803);
    put_be32(head + 4, (uint32_t)n);
    put_be32(head + 8, SIDE);
    put_be32(head + 12, SIDE);
    f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(head, 1, 16, f), 16);
    assert_int_equal(fwrite(img, 1, (size_t)n * SIDE * SIDE, f), (size_t)n * SIDE * SIDE);
    assert_int_equal(fclose(f), 0);
    snprintf(path, sizeof path, "%s/%s-labels-idx1-ubyte", dir, set);
    put_be32(head, 0x801);
    f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(head, 1, 8, f), 8);
    assert_int_equal(fwrite(lab, 1, (size_t)n, f), (size_t)n);
    assert_int_equal(fclose(f), 0);
    free(img);
    free(lab);
}

/* Run the example with `extra` arguments (NULL-terminated), its output
 * into `log`. After `kill_after` seconds (< 0: never) send `sig`.
 * Returns the wait status; *seconds is how long it ran. */
static int run(const char *name, const char *const *extra, double kill_after, int sig,
               double *seconds)
{
    char log[256], model[256], out[256];
    const char *args[32], *runner = getenv("RUNNER");
    int n = 0, status = 0, fd;
    pid_t pid;
    double t0 = now();
    snprintf(log, sizeof log, "%s/%s.log", dir, name);
    snprintf(model, sizeof model, "%s/%s.mlp", dir, name);
    snprintf(out, sizeof out, "%s/%s", dir, name);
    if (runner && *runner)
        args[n++] = runner; /* a cross build runs the example under qemu-user too */
    args[n++] = example;
    args[n++] = "--data";
    args[n++] = dir;
    args[n++] = "--model";
    args[n++] = model;
    args[n++] = "--out";
    args[n++] = out;
    args[n++] = "--hidden";
    args[n++] = "24";
    args[n++] = "--epochs";
    args[n++] = "3";
    args[n++] = "--batch";
    args[n++] = "8";
    args[n++] = "--optim";
    args[n++] = "adam";
    args[n++] = "--lr";
    args[n++] = "0.01";
    args[n++] = "--dropout";
    args[n++] = "0.2"; /* draws from the generator every step */
    args[n++] = "--seed";
    args[n++] = "5";
    while (*extra)
        args[n++] = *extra++;
    args[n] = NULL;
    fflush(stdout);
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0644);
        if (fd < 0 || dup2(fd, 1) < 0 || dup2(fd, 2) < 0)
            _exit(127);
        execvp(args[0], (char *const *)args);
        _exit(127);
    }
    for (;;) {
        struct timespec ms = {0, 1000000};
        pid_t w = waitpid(pid, &status, WNOHANG);
        assert_true(w >= 0);
        if (w == pid)
            break;
        if (kill_after >= 0 && now() - t0 >= kill_after) {
            kill(pid, sig);
            kill_after = -1;
        }
        if (now() - t0 > 120) { /* a run of well under a second hangs */
            kill(pid, SIGKILL);
            waitpid(pid, &status, 0);
            print_error("%s ran for two minutes: killed\n", name);
            fail();
        }
        nanosleep(&ms, NULL);
    }
    *seconds = now() - t0;
    return status;
}

/* The whole of a file, NUL-terminated (the test's own memory). */
static char *slurp(const char *name, size_t *size)
{
    char path[256];
    char *buf = (char *)malloc(MAX_OUT + 1);
    FILE *f;
    size_t n = 0;
    snprintf(path, sizeof path, "%s/%s", dir, name);
    assert_non_null(buf);
    f = fopen(path, "rb");
    if (f) {
        n = fread(buf, 1, MAX_OUT, f);
        fclose(f);
    }
    buf[n] = '\0';
    if (size)
        *size = n;
    return buf;
}

/* A progress or table line, less its seconds column; NULL for others.
 * Table rows are "    1 |     2.1234 |    0.1234 |   0.1234 |   0.12". */
static int key_line(const char *line, size_t len, char *key, size_t cap)
{
    size_t i, last = len, bars = 0;
    if (len >= cap)
        return 0;
    if (strncmp(line, "  epoch ", 8) != 0 && strncmp(line, "final test accuracy", 19) != 0) {
        for (i = 0; i < len; i++)
            if (line[i] == '|') {
                bars++;
                last = i;
            }
        if (bars != 4 || strncmp(line, "epoch |", 7) == 0)
            return 0;
    }
    memcpy(key, line, last);
    key[last] = '\0';
    return 1;
}

/* Every key line of `text` must be in `ref`; marks found reference lines. */
static void check_lines(const char *text, const char *ref, char *seen, const char *name)
{
    const char *p = text;
    while (*p) {
        const char *end = strchr(p, '\n');
        char key[256];
        if (!end) /* a line cut by the kill */
            break;
        if (key_line(p, (size_t)(end - p), key, sizeof key)) {
            const char *hit = strstr(ref, key);
            if (!hit) {
                print_error("%s printed '%s', which the uninterrupted run did not\n", name, key);
                fail();
            }
            seen[hit - ref] = 1;
        }
        p = end + 1;
    }
}

/* Every key line of ref must have been printed by some run. */
static void check_all_seen(const char *ref, const char *seen)
{
    const char *p = ref;
    while (*p) {
        const char *end = strchr(p, '\n');
        char key[256];
        if (!end)
            break;
        if (key_line(p, (size_t)(end - p), key, sizeof key) && !seen[strstr(ref, key) - ref]) {
            print_error("no resumed run printed '%s'\n", key);
            fail();
        }
        p = end + 1;
    }
}

static void expect_same_model(const char *name)
{
    char a_name[64];
    size_t na, nb;
    char *a, *b;
    snprintf(a_name, sizeof a_name, "%s.mlp", name);
    a = slurp(a_name, &na);
    b = slurp("ref.mlp", &nb);
    assert_true(nb > 0);
    assert_int_equal(na, nb);
    assert_memory_equal(a, b, na);
    free(a);
    free(b);
}

static int setup(void **state)
{
    const char *build = getenv("BUILD");
    struct stat st;
    (void)state;
    snprintf(example, sizeof example, "%s/examples/fashion_mnist", build ? build : "build");
    if (stat(example, &st) != 0) {
        print_error("%s is missing (make examples)\n", example);
        return -1;
    }
    strcpy(dir, "/tmp/mlp_resume_XXXXXX");
    if (!mkdtemp(dir))
        return -1;
    write_set("train", TRAIN, 1u);
    write_set("t10k", TEST, 2u);
    return 0;
}

static int teardown(void **state)
{
    char cmd[128];
    (void)state;
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : -1;
}

static void resume__killed_anywhere_and_resumed_ends_bit_identical(void **state)
{
    const char *none[] = {NULL};
    char ckpt[256], path[256];
    const char *with_ckpt[] = {"--checkpoint", ckpt, "--checkpoint-steps", "1", NULL};
    const char *resume[] = {"--checkpoint", ckpt, "--checkpoint-steps", "1", "--resume",
                            ckpt,           NULL};
    const char *env = getenv("MLP_RESUME_SEED");
    unsigned seed = env ? (unsigned)strtoul(env, NULL, 10) : (unsigned)time(NULL);
    double t, span;
    char *ref, *seen, *text;
    size_t nref;
    int k, status;
    struct stat st;
    (void)state;
    snprintf(ckpt, sizeof ckpt, "%s/k.ckpt", dir);
    /* the reference, and the same with checkpoints written: same model */
    status = run("ref", none, -1, 0, &t);
    if (WIFEXITED(status) && WEXITSTATUS(status) == 127) {
        print_message("resume: %s cannot be started here: skipped\n", example);
        skip();
    }
    assert_int_equal(status, 0);
    status = run("ckpt", with_ckpt, -1, 0, &span);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    expect_same_model("ckpt");
    ref = slurp("ref.log", &nref);
    seen = (char *)calloc(nref + 1, 1);
    assert_non_null(seen);
    remove(ckpt);
    srand(seed);
    printf("resume: one run takes %.2f s; kill moments from MLP_RESUME_SEED=%u:", span, seed);
    for (k = 0; k < 6; k++) { /* SIGKILL at a random moment, then resume */
        double at = span * (double)rand() / (double)RAND_MAX;
        printf(" %.3f", at);
        status = run("k", stat(ckpt, &st) == 0 ? resume : with_ckpt, at, SIGKILL, &t);
        if (WIFEXITED(status)) /* it finished first */
            break;
        assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
    }
    printf(" s\n");
    status = run("k", stat(ckpt, &st) == 0 ? resume : with_ckpt, -1, 0, &t);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    text = slurp("k.log", NULL);
    check_lines(text, ref, seen, "a killed or resumed run");
    check_all_seen(ref, seen);
    expect_same_model("k");
    free(text);
    /* SIGINT and SIGTERM: a checkpoint and a message, then resume */
    for (k = 0; k < 2; k++) {
        int sig = k ? SIGTERM : SIGINT;
        const char *name = k ? "term" : "int";
        char log[64];
        snprintf(ckpt, sizeof ckpt, "%s/%s.ckpt", dir, name);
        status = run(name, with_ckpt, span * (0.3 + 0.3 * k), sig, &t);
        snprintf(log, sizeof log, "%s.log", name);
        text = slurp(log, NULL);
        if (WIFEXITED(status) && WEXITSTATUS(status) == 128 + sig) {
            assert_non_null(strstr(text, "resume with:"));
            assert_non_null(strstr(text, "--resume"));
            status = run(name, resume, -1, 0, &t);
        }
        assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
        free(text);
        text = slurp(log, NULL);
        memset(seen, 0, nref + 1);
        check_lines(text, ref, seen, name);
        check_all_seen(ref, seen);
        snprintf(path, sizeof path, "%s", name);
        expect_same_model(path);
        free(text);
    }
    free(seen);
    free(ref);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(resume__killed_anywhere_and_resumed_ends_bit_identical),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
