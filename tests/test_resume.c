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
 * replayed with MLP_RESUME_SEED. The example comes from $BUILD/examples:
 * fashion_mnist, or the one named by MLP_RESUME_EXAMPLE started through
 * RUNNER (words split at spaces): tests/check_mpi.sh runs
 * fashion_mnist_mpi through "sh tools/mpirun.sh P". SIGKILL goes to the
 * whole tree (the runner, mpirun and every rank), as a power cut would;
 * SIGINT and SIGTERM to mpirun, which passes them on to the ranks.
 */
#define _POSIX_C_SOURCE 200809L

#include <dirent.h>
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
static char runner[512]; /* RUNNER, cut into its words */
static const char *runner_word[8];
static int runner_words;

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

/* The parent of process pid (from /proc), or -1. */
static pid_t parent_of(pid_t pid)
{
    char path[64], buf[512], *p;
    FILE *f;
    size_t n;
    long ppid = -1;
    snprintf(path, sizeof path, "/proc/%ld/stat", (long)pid);
    if (!(f = fopen(path, "r")))
        return -1;
    n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    /* "pid (comm) state ppid ...": comm may hold spaces, not ')' last */
    if ((p = strrchr(buf, ')')) != NULL)
        sscanf(p + 1, " %*c %ld", &ppid);
    return (pid_t)ppid;
}

/* pid and all its descendants, found in /proc; returns how many. */
static int tree_of(pid_t top, pid_t *tree, int cap)
{
    int n = 1, grew = 1, i;
    tree[0] = top;
    while (grew && n < cap) {
        DIR *d = opendir("/proc");
        struct dirent *e;
        grew = 0;
        if (!d)
            break;
        while ((e = readdir(d)) != NULL && n < cap) {
            pid_t pid = (pid_t)atol(e->d_name), pp;
            int known = 0;
            if (pid <= 0)
                continue;
            for (i = 0; i < n; i++)
                known |= tree[i] == pid;
            if (known || (pp = parent_of(pid)) < 0)
                continue;
            for (i = 0; i < n; i++)
                if (tree[i] == pp) {
                    tree[n++] = pid;
                    grew = 1;
                    break;
                }
        }
        closedir(d);
    }
    return n;
}

static int is_leaf(const pid_t *tree, int n, pid_t pid)
{
    int k;
    for (k = 0; k < n; k++)
        if (parent_of(tree[k]) == pid)
            return 0;
    return 1;
}

/* SIGKILL to pid and all its descendants (all found before any dies):
 * first the leaves (the example, or every MPI rank), then, a moment
 * later, the rest (mpirun, which meanwhile passes on what the ranks had
 * printed: lost in its relay, a line would never be printed again, though
 * the checkpoint and the resumed run would be right). */
static void kill_tree(pid_t top)
{
    pid_t tree[256];
    int n = tree_of(top, tree, 256), i, leaves = 0;
    for (i = 0; i < n; i++)
        if (is_leaf(tree, n, tree[i])) {
            kill(tree[i], SIGKILL);
            leaves++;
        }
    if (leaves < n) {
        struct timespec pause = {0, 300000000};
        nanosleep(&pause, NULL);
    }
    for (i = 0; i < n; i++)
        kill(tree[i], SIGKILL);
}

/* 1 when one of process pid's arguments contains text (from /proc). */
static int runs_with(pid_t pid, const char *text)
{
    char path[64], buf[4096];
    FILE *f;
    size_t n, i;
    snprintf(path, sizeof path, "/proc/%ld/cmdline", (long)pid);
    if (!(f = fopen(path, "r")))
        return 0;
    n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    for (i = 0; i < n; i += strlen(buf + i) + 1) /* NUL-separated */
        if (strstr(buf + i, text))
            return 1;
    return 0;
}

/* SIGKILL to every process still running on this test's files, until none
 * is left: a kill in mpirun's first milliseconds can miss a rank it was
 * starting, which then trains on, orphaned, and writes the checkpoint the
 * next run writes (whose rename then finds the file gone). */
static void kill_strays(void)
{
    int round, found = 1;
    for (round = 0; found && round < 500; round++) {
        struct timespec pause = {0, 10000000};
        DIR *d = opendir("/proc");
        struct dirent *e;
        found = 0;
        while (d && (e = readdir(d)) != NULL) {
            pid_t pid = (pid_t)atol(e->d_name);
            if (pid > 0 && pid != getpid() && runs_with(pid, dir)) {
                kill(pid, SIGKILL);
                found = 1;
            }
        }
        if (d)
            closedir(d);
        if (found)
            nanosleep(&pause, NULL);
    }
}

/* SIGINT or SIGTERM as a user sends it: to the example, or to the mpirun
 * of its ranks (the parent of the leaves), not to a wrapper such as
 * timeout(1), which would pass it on twice. */
static void signal_tree(pid_t top, int sig)
{
    pid_t tree[256], target = top;
    int n = tree_of(top, tree, 256), i, k;
    for (i = 0; i < n; i++)
        if (is_leaf(tree, n, tree[i])) {
            target = tree[i];
            for (k = 0; k < n; k++)
                if (tree[k] == parent_of(tree[i]))
                    target = tree[k];
            break;
        }
    kill(target, sig);
}

/* Run the example with `extra` arguments (NULL-terminated), its output
 * into `log`. After `kill_after` seconds (< 0: never) send `sig`, but not
 * before the file `after` exists (when not NULL). Returns the wait
 * status; *seconds is how long it ran. */
static int run(const char *name, const char *const *extra, double kill_after, int sig,
               const char *after, double *seconds)
{
    struct stat st;
    char log[256], model[256], out[256];
    const char *args[48];
    int n = 0, status = 0, fd, k;
    pid_t pid;
    double t0 = now();
    snprintf(log, sizeof log, "%s/%s.log", dir, name);
    snprintf(model, sizeof model, "%s/%s.mlp", dir, name);
    snprintf(out, sizeof out, "%s/%s", dir, name);
    /* a cross build runs the example under qemu-user, MPI under mpirun */
    for (k = 0; k < runner_words; k++)
        args[n++] = runner_word[k];
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
        if (kill_after >= 0 && now() - t0 >= kill_after && (!after || stat(after, &st) == 0)) {
            if (sig == SIGKILL)
                kill_tree(pid);
            else
                signal_tree(pid, sig);
            kill_after = -1;
        }
        if (now() - t0 > 120) { /* a run of a few seconds hangs */
            kill_tree(pid);
            waitpid(pid, &status, 0);
            print_error("%s ran for two minutes: killed\n", name);
            fail();
        }
        nanosleep(&ms, NULL);
    }
    if (sig == SIGKILL)
        kill_strays();
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
    const char *build = getenv("BUILD"), *name = getenv("MLP_RESUME_EXAMPLE"),
               *run_with = getenv("RUNNER");
    struct stat st;
    char *p;
    (void)state;
    snprintf(example, sizeof example, "%s/examples/%s", build ? build : "build",
             name && *name ? name : "fashion_mnist");
    snprintf(runner, sizeof runner, "%s", run_with ? run_with : "");
    for (p = strtok(runner, " "); p && runner_words < 8; p = strtok(NULL, " "))
        runner_word[runner_words++] = p;
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
    if (getenv("MLP_RESUME_KEEP")) { /* to look at the runs' logs */
        printf("resume: the runs are in %s\n", dir);
        return 0;
    }
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
    status = run("ref", none, -1, 0, NULL, &t);
    if (WIFEXITED(status) && WEXITSTATUS(status) == 127) {
        print_message("resume: %s cannot be started here: skipped\n", example);
        skip();
    }
    assert_int_equal(status, 0);
    status = run("ckpt", with_ckpt, -1, 0, NULL, &span);
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
        status = run("k", stat(ckpt, &st) == 0 ? resume : with_ckpt, at, SIGKILL, NULL, &t);
        if (WIFEXITED(status)) /* it finished first */
            break;
        assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
    }
    printf(" s\n");
    status = run("k", stat(ckpt, &st) == 0 ? resume : with_ckpt, -1, 0, NULL, &t);
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
        /* once training has begun (a first checkpoint is there); under
         * mpirun at once, as its start and end take most of the time */
        status = run(name, with_ckpt, runner_words ? 0.0 : span * (0.3 + 0.3 * k), sig, ckpt, &t);
        snprintf(log, sizeof log, "%s.log", name);
        text = slurp(log, NULL);
        /* stopped (mpirun exits 1 once it passed the signal on), or done */
        if (strstr(text, "resume with:")) {
            assert_non_null(strstr(text, "--resume"));
            if (!runner_words)
                assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 128 + sig);
            status = run(name, resume, -1, 0, NULL, &t);
        } else if (runner_words && strstr(text, "final test accuracy")) {
            status = 0; /* the signal came after training: mpirun's status is its own */
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
