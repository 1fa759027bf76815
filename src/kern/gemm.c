/*
 * gemm.c - the sgemm driver: kernel choice from cpuid, the five Goto/BLIS
 * loops around the micro-kernel (jc over NC columns of C, pc over KC of the
 * inner dimension with B packed, ic over MC rows with A packed, then the
 * macro-kernel's jr / ir over NR x MR tiles), and the naive oracle.
 *
 * Packing only pays when the packed panel is reused: a packed A block is
 * read once per NR-panel of B, a packed B block once per MR-panel of A. So
 * A is used in place when N <= 2*NR (one or two B panels: measured faster
 * at 64^3 and N = 10), B in place when M <= MR and B is not transposed (the
 * micro-kernels read both through strides). A not transposed is also read
 * in place, by rows, whenever its rows do not share cache sets
 * (rows_apart) and N is below the kernel's rows_n: on the Intel Xeon a
 * tile's MR broadcasts from MR rows run as fast as from a packed panel
 * (97-98 % of the FMA peak from the L2 either way), and the pass that
 * packs them cost more than it saved: 256 x 256 x 784 (a 784-wide
 * input's layer) 7 % faster in place, and the zero steps a packed panel
 * lists saved less on images. AVX2's 6-row tile on Zen 3 gained from
 * the packing and its zero steps at 512 columns and more (gemm_avx2.c).
 * The tiles then pack B as they go, as they do beside a packed A, in a
 * kernel with a tile that packs B (ukr_pack; AVX2 has none). (Here
 * N is the columns of the call, a thread's share when a product is
 * split by columns.) A transposed stays packed: its packing is a copy,
 * and dW = x^T dy skips x's zero steps. When B was
 * packed beforehand (a packed model's predict), K keeps the blocks of
 * packing, so that a packed model predicts the bits of an unpacked one
 * (784 in one block was 2-3 % faster still); there each tile runs
 * through all its K blocks before the next (tiles_beside).
 * A single row of A with B not transposed is a vector-matrix product: the
 * kernel's row function streams B once, in place.
 */
#include "kern/gemm.h"

#include <string.h>

#if defined(MLP__GEMM_X86)
int mlp__cpu_avx512(void)
{
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq")
           && __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")
           && __builtin_cpu_supports("popcnt");
}

/* The AVX-512 table for this CPU's maker (the same code, tuned apart). */
static const mlp__gemm_kernel *avx512_table(void)
{
    return __builtin_cpu_is("intel") ? &mlp__gemm_kernel_avx512_intel : &mlp__gemm_kernel_avx512;
}

int mlp__cpu_avx2(void)
{
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
}
#endif

const mlp__gemm_kernel *mlp__gemm_best(void)
{
#if defined(MLP__GEMM_X86)
    if (mlp__cpu_avx512())
        return avx512_table();
    if (mlp__cpu_avx2())
        return &mlp__gemm_kernel_avx2;
#elif defined(MLP__GEMM_NEON)
    return &mlp__gemm_kernel_neon; /* every AArch64 CPU has NEON */
#endif
    return &mlp__gemm_kernel_generic;
}

const mlp__gemm_kernel *mlp__gemm_find(const char *name)
{
    if (!name)
        return NULL;
    if (strcmp(name, "generic") == 0)
        return &mlp__gemm_kernel_generic;
#if defined(MLP__GEMM_X86)
    if (strcmp(name, "avx2") == 0)
        return mlp__cpu_avx2() ? &mlp__gemm_kernel_avx2 : NULL;
    if (strcmp(name, "avx512") == 0)
        return mlp__cpu_avx512() ? avx512_table() : NULL;
#elif defined(MLP__GEMM_NEON)
    if (strcmp(name, "neon") == 0)
        return &mlp__gemm_kernel_neon;
#endif
    return NULL;
}

int mlp__gemm_known(const char *name)
{
    static const char *const names[MLP__GEMM_NUM_NAMES] = MLP__GEMM_NAMES;
    int i;
    for (i = 0; name && i < MLP__GEMM_NUM_NAMES; i++)
        if (strcmp(name, names[i]) == 0)
            return 1;
    return 0;
}

const char *mlp__gemm_name(const mlp__gemm_kernel *k)
{
    return k ? k->name : "none";
}

static int64_t round_up(int64_t x, int64_t unit)
{
    return (x + unit - 1) / unit * unit;
}

/* Floats before the zero-step lists: the packed A and B blocks. */
static int64_t steps_offset(const mlp__gemm_kernel *k)
{
    return round_up(k->mc * k->kc, 16) + round_up(k->kc * k->nc, 16);
}

/* Zero-step groups in an A panel. */
static int64_t skip_groups(const mlp__gemm_kernel *k)
{
    return k->mr / k->skip_rows;
}

/* Ints of the zero-step plan: each group's count and list of steps. */
static int64_t plan_ints(const mlp__gemm_kernel *k)
{
    return round_up(k->mc / k->mr * skip_groups(k) * (k->kc + 1), 16);
}

size_t mlp__gemm_workspace_floats(const mlp__gemm_kernel *k)
{
    /* packed A block, packed B block, then (kernels that skip zero steps)
     * the plan and one flag per B panel, 64-byte aligned */
    const int64_t lists = k->ukr_skip ? plan_ints(k) + round_up(k->nc / k->nr, 16) : 0;
    return (size_t)(steps_offset(k) + lists);
}

/* Block size <= maxblk (a multiple of unit) splitting total into equal
 * parts rounded up to unit: 784 with KC 512 gives 2 x 392, not 512 + 272. */
static int64_t even_block(int64_t total, int64_t maxblk, int64_t unit)
{
    int64_t nb = (total + maxblk - 1) / maxblk;
    int64_t b = round_up((total + nb - 1) / nb, unit);
    return b < maxblk ? b : maxblk;
}

int64_t mlp__gemm_kblock(const mlp__gemm_kernel *k, int ta, int tb, int64_t K)
{
    /* a layer's X W with K a little under kc, such as 512 on AVX-512, in
       two halves like 784 and 1024 (see kc_halves) */
    if (k->kc_halves && !ta && !tb && K > k->kc / 8 * 7 && K <= k->kc)
        return round_up((K + 1) / 2, 8);
    return even_block(K, k->kc, 8);
}

static void scale_c(int64_t M, int64_t N, float beta, float *C, int64_t ldc)
{
    int64_t i, j;
    if (beta == 1.0f)
        return;
    for (i = 0; i < M; i++) {
        float *c = C + i * ldc;
        if (beta == 0.0f)
            for (j = 0; j < N; j++)
                c[j] = 0.0f;
        else
            for (j = 0; j < N; j++)
                c[j] *= beta;
    }
}

/* A panel is summed over its nonzero steps only when at least this many
 * eighths of its steps are zeros (below, the list costs what it saves). */
#define SKIP_EIGHTHS 1

/* List l's steps in a plan of nl lists (layout: the nl counts, then nl
 * lists of kc steps each; group g of panel q is list q * groups + g, so a
 * panel's lists are kc apart). */
static int32_t *step_list(int32_t *plan, int64_t nl, int64_t kc, int64_t l)
{
    return plan + nl + l * kc;
}

/* Listing a panel's steps costs about a compare a step, and on dense
 * input nothing comes of it. So every SAMPLE-th step is looked at first
 * (by the kernel's own test, into the groups' lists as scratch): a panel
 * where no group has half the zero steps that pay among those is run
 * whole without lists (zero steps come in runs, as image borders do). The
 * samples were tested in C, a branch on each one's first value: on image
 * data that branch is as good as random, and the 66 panels of
 * 784-256-10's dW took 10.4-10.7 us a step on the Intel Xeon, against
 * 2.4 now (dense panels: 2.0 before, 2.5 now). */
#define SAMPLE 8

/* The most zero-step groups in a panel (a kernel's mr / skip_rows). */
#define MAX_GROUPS 16

/* For each group l of each full MR-row panel of the packed A block (mc x
 * kc), plan[l] = the number of its steps that are not all zeros, listed
 * at step_list(plan, nl, kc, l), or -1 to run all its steps. Returns 1 if
 * some group has a list. */
static int plan_steps(const mlp__gemm_kernel *k, int64_t mc, int64_t kc, const float *ablk,
                      int32_t *plan)
{
    const int64_t mr = k->mr, ng = skip_groups(k), nl = mc / mr * ng;
    const int64_t seen = (kc + SAMPLE - 1) / SAMPLE;
    int64_t q, g, kept[MAX_GROUPS];
    int any = 0;
    for (q = 0; q < mc / mr; q++) {
        const float *panel = ablk + q * mr * kc;
        int32_t *lists = step_list(plan, nl, kc, q * ng);
        int sparse = 0;
        k->steps(kc, panel, SAMPLE, lists, kc, kept);
        for (g = 0; g < ng; g++)
            sparse |= (seen - kept[g]) * 16 >= seen * SKIP_EIGHTHS;
        if (sparse)
            k->steps(kc, panel, 1, lists, kc, kept);
        for (g = 0; g < ng; g++) {
            const int64_t l = q * ng + g;
            plan[l] = !sparse || (kc - kept[g]) * 8 < kc * SKIP_EIGHTHS ? -1 : (int32_t)kept[g];
            any |= plan[l] >= 0;
        }
    }
    return any;
}

/* One packed A block by one B block: the tiles of C and how to run them. */
typedef struct tiles {
    int64_t mc, kc, nc;
    const float *a; /* the A block: panels astep apart, rsa / csa as ukr's */
    int64_t rsa, csa, astep;
    const float *b; /* the B block: panels bstep apart, rows rsb apart */
    int64_t rsb, bstep;
    mlp__gemm_ukr_fn ukr; /* k->ukr, or k->ukr_bp when B is packed */
    const float *bsrc;    /* non-NULL: B in place (rows ldb apart), packed to */
    float *bdst;          /* bdst (laid out as b) by the first row of tiles */
    int64_t ldb;
    int32_t *plan; /* zero steps of the A panels; NULL: none skipped */
    int32_t *bfin; /* per B panel: 1 finite, 0 not, -1 not looked at */
    float *c;
    int64_t ldc;
    float alpha, beta;
    /* applied by each tile as it writes its last sums (bias at the
     * block's first column, or NULL) when ep is set */
    const float *bias;
    int relu, ep;
} tiles;

/* t's tile of mb x nb at row ir, column jr of its block, its sums done */
static void tile_ep(const mlp__gemm_kernel *k, const tiles *t, int64_t ir, int64_t jr, int64_t mb,
                    int64_t nb)
{
    if (t->ep)
        k->bias_relu(t->c + ir * t->ldc + jr, t->ldc, mb, nb, t->bias ? t->bias + jr : NULL,
                     t->relu);
}

/* In a fused block whose B rows are a page or more apart (FETCH_LD
 * floats), tile q > 0 of a column of tiles (of nq) fetches its share of
 * the rows of the B panel at column j0 (nr wide or to the block's edge),
 * in place, toward the L2: the tile that packs that panel then finds them
 * there. Its own fetches run 32 rows ahead, too late for rows in the L3
 * (a weight after the update): 784-1024-1024-10 1-4 % faster at 1
 * thread, 1-3 % at 2.
 * Rows closer together gained at 2 threads (4-5 % on 784-256-10) but
 * lost 1-2 % at 1 thread and on operands already in the caches. */
#define FETCH_LD 1024
static void fetch_next_panel(const tiles *t, int64_t nr, int64_t j0, int64_t q, int64_t nq)
{
#if defined(__GNUC__)
    const int64_t j1 = t->nc - j0 < nr ? t->nc : j0 + nr, p1 = q * t->kc / (nq - 1);
    int64_t p;
    for (p = (q - 1) * t->kc / (nq - 1); p < p1; p++) {
        __builtin_prefetch(t->bsrc + p * t->ldb + j0, 0, 2);
        __builtin_prefetch(t->bsrc + p * t->ldb + j1 - 1, 0, 2);
    }
#else
    (void)t, (void)nr, (void)j0, (void)q, (void)nq;
#endif
}

/* 1 if a group of panel q has a list of steps */
static int listed(const mlp__gemm_kernel *k, const int32_t *plan, int64_t q)
{
    const int64_t ng = skip_groups(k);
    int64_t g;
    for (g = 0; g < ng; g++)
        if (plan[q * ng + g] >= 0)
            return 1;
    return 0;
}

/* Panel q's full tile (B panel bp finite) group by group, each over its
 * list of steps or every step */
static void skip_tile(const mlp__gemm_kernel *k, const tiles *t, int64_t q, int64_t nfull,
                      const float *ap, const float *bp, float *ct, int64_t nb)
{
    const int64_t sr = k->skip_rows, ng = skip_groups(k), nl = nfull * ng;
    int64_t g;
    for (g = 0; g < ng; g++) {
        const int64_t l = q * ng + g;
        const int32_t n = t->plan[l];
        k->ukr_skip(n >= 0 ? n : t->kc, ap + g * sr,
                    n >= 0 ? step_list(t->plan, nl, t->kc, l) : NULL, bp, ct + g * sr * t->ldc,
                    t->ldc, nb, t->alpha, t->beta);
    }
}

/* One tile of the macro-kernel: rows ir, columns jr (the B panel j) of
 * t's block, mb x nb. It skips the zero steps of its A panel only when
 * its B panel is finite (0 * inf is NaN); the first row of tiles of a
 * fused block reads B in place and packs it, so it runs every step. */
static void run_tile(const mlp__gemm_kernel *k, const tiles *t, int64_t q, int64_t j, int64_t nq,
                     int64_t nfull, int64_t mb, int64_t nb)
{
    const int64_t mr = k->mr, nr = k->nr, ir = q * mr, jr = j * nr;
    const float *ap = t->a + q * t->astep, *bp = t->b + j * t->bstep;
    float *ct = t->c + ir * t->ldc + jr;
    if (t->bsrc && ir == 0) {
        k->ukr_pack(t->kc, ap, t->rsa, t->csa, t->bsrc + jr, t->ldb, t->bdst + j * t->bstep, ct,
                    t->ldc, nb, t->alpha, t->beta);
        return;
    }
    if (t->bsrc && t->ldb >= FETCH_LD && jr + nb < t->nc)
        fetch_next_panel(t, nr, jr + nb, q, nq);
    if (t->plan && mb == mr && listed(k, t->plan, q)) {
        if (t->bfin[j] < 0)
            t->bfin[j] = k->finite(bp, t->kc * nr);
        if (t->bfin[j]) {
            skip_tile(k, t, q, nfull, ap, bp, ct, nb);
            return;
        }
    }
    t->ukr(t->kc, ap, t->rsa, t->csa, bp, t->rsb, ct, t->ldc, mb, nb, t->alpha, t->beta);
}

/* The macro-kernel: the B micro-panel stays in L1 across ir; each tile
 * applies the epilogue (if any) while it is in L1. Tiles are counted, not
 * found by dividing (mr and nr are the kernel's, not constants): with
 * three divisions a tile this loop took 0.8-1.1 % of the tiles' own time
 * in a 784-256-10 epoch (perf), 0.6-0.7 % without. */
static void run_tiles(const mlp__gemm_kernel *k, const tiles *t)
{
    const int64_t mr = k->mr, nr = k->nr, nq = (t->mc + mr - 1) / mr, nfull = t->mc / mr;
    int64_t jr, ir, j, q;
    for (jr = 0, j = 0; jr < t->nc; jr += nr, j++) {
        const int64_t nb = t->nc - jr < nr ? t->nc - jr : nr;
        for (ir = 0, q = 0; ir < t->mc; ir += mr, q++) {
            const int64_t mb = t->mc - ir < mr ? t->mc - ir : mr;
            run_tile(k, t, q, j, nq, nfull, mb, nb);
            tile_ep(k, t, ir, jr, mb, nb);
        }
    }
}

/* A (not transposed, rows lda apart) read in place beside a B packed
 * beforehand (a packed model's predict): each tile runs its K blocks one
 * after the other, storing between them as the block-by-block order
 * does (the first block with beta, the others adding to C), so every
 * element gets the same operations in the same order, and the same
 * bits; but the tile's rows of A are read once, start to end, and its C
 * stays in L1 (784-256-10 at batch 256: 1-3 % faster). t holds A (at
 * row 0, as run_tiles reads it in place), the packed B panels of this
 * block of columns (all K rows) and C at its first column; MC blocks of
 * rows keep A's rows within the L2. */
static void tiles_beside(const mlp__gemm_kernel *k, const tiles *t, int64_t M, int64_t MC,
                         int64_t K, int64_t KC, float beta)
{
    const int64_t mr = k->mr, nr = k->nr;
    int64_t ic, jr, ir, pc, q0, j, q;
    /* MC is a multiple of mr: block ic starts at panel q0 */
    for (ic = 0, q0 = 0; ic < M; ic += MC, q0 += MC / mr) {
        const int64_t mc = M - ic < MC ? M - ic : MC;
        for (jr = 0, j = 0; jr < t->nc; jr += nr, j++) {
            const int64_t nb = t->nc - jr < nr ? t->nc - jr : nr;
            const float *bp = t->b + j * t->bstep;
            for (ir = 0, q = q0; ir < mc; ir += mr, q++) {
                const int64_t mb = mc - ir < mr ? mc - ir : mr;
                const float *ap = t->a + q * t->astep;
                float *ct = t->c + (ic + ir) * t->ldc + jr;
                for (pc = 0; pc < K; pc += KC)
                    t->ukr(K - pc < KC ? K - pc : KC, ap + pc * t->csa, t->rsa, t->csa,
                           bp + pc * t->rsb, t->rsb, ct, t->ldc, mb, nb, t->alpha,
                           pc == 0 ? beta : 1.0f);
                tile_ep(k, t, ic + ir, jr, mb, nb);
            }
        }
    }
}

/* 1 if the MR rows of an A panel read in place fall in different sets of
 * a 4 KiB cache way (an L1 indexed by the page offset): no two of them a
 * multiple of 4 KiB apart, give or take a line. Rows 1, 2 or 4 KiB apart
 * (a 256-, 512- or 1024-wide input) would evict each other and the B
 * panel: 256 x 256 x 1024 read in place took 1.22x its packed time.
 * Transposed, a step's values lie side by side. */
static int rows_apart(int64_t mr, int ta, int64_t lda)
{
    int64_t d;
    if (ta)
        return 1;
    for (d = 1; d < mr; d++) {
        const int64_t off = d * lda * (int64_t)sizeof(float) % 4096;
        if (off < 64 || off > 4096 - 64)
            return 0;
    }
    return 1;
}

/* The operands of one product and how its blocks read them. */
typedef struct operands {
    int ta, tb;
    const float *A, *apre, *B, *bpre;
    int64_t lda, ldb, K;
    int pack_a, pack_b, fuse;
} operands;

/* t's A block: op(A)'s rows ic .. ic + t->mc, K from pc (t->kc): panels
 * packed beforehand, packed here into abuf, or A read in place. */
static void block_a(const mlp__gemm_kernel *k, const operands *o, tiles *t, int64_t ic, int64_t pc,
                    float *abuf)
{
    const int64_t mr = k->mr;
    if (o->apre && o->pack_a) { /* panels of K: this block's steps start at pc */
        t->a = o->apre + ic * o->K + pc * mr;
        t->rsa = 1;
        t->csa = mr;
        t->astep = mr * o->K;
    } else if (o->pack_a) {
        k->pack_a(o->ta, o->ta ? o->A + pc * o->lda + ic : o->A + ic * o->lda + pc, o->lda, t->mc,
                  t->kc, abuf);
        t->a = abuf;
        t->rsa = 1;
        t->csa = mr;
        t->astep = mr * t->kc;
    } else if (o->ta) {
        t->a = o->A + pc * o->lda + ic;
        t->rsa = 1;
        t->csa = o->lda;
        t->astep = mr;
    } else {
        t->a = o->A + ic * o->lda + pc;
        t->rsa = o->lda;
        t->csa = 1;
        t->astep = mr * o->lda;
    }
}

/* t's B block: op(B)'s columns jc .. jc + t->nc, K from pc (t->kc):
 * panels packed beforehand, packed here into bbuf, or B read in place.
 * Fused, the block's first row of tiles packs it: returns the source it
 * packs from (else NULL). */
static const float *block_b(const mlp__gemm_kernel *k, const operands *o, tiles *t, int64_t jc,
                            int64_t pc, float *bbuf)
{
    const int64_t nr = k->nr;
    if (o->bpre && o->pack_b) { /* panels of K rows: this block's rows start at pc */
        t->b = o->bpre + jc * o->K + pc * nr;
        t->rsb = nr;
        t->bstep = nr * o->K;
        return NULL;
    }
    if (!o->pack_b) {
        t->b = o->B + pc * o->ldb + jc;
        t->rsb = o->ldb;
        t->bstep = nr;
        return NULL;
    }
    t->b = bbuf;
    t->rsb = nr;
    t->bstep = nr * t->kc;
    if (o->fuse)
        return o->B + pc * o->ldb + jc;
    k->pack_b(o->tb, o->tb ? o->B + jc * o->ldb + pc : o->B + pc * o->ldb + jc, o->ldb, t->kc,
              t->nc, bbuf);
    return NULL;
}

/* Kept out of line (GNU compilers): its frame, a dozen saved registers
 * and the tiles, would otherwise be set up for the row path too. */
#if defined(__GNUC__)
#define NOINLINE __attribute__((noinline))
#else
#define NOINLINE
#endif

/* The blocked product: M, N, K > 0 and alpha != 0, and not one row by a B
 * read as it is (mlp__sgemm_prepacked runs those cases itself). */
static NOINLINE void gemm_core(const mlp__gemm_kernel *k, int ta, int tb, int64_t M, int64_t N,
                               int64_t K, float alpha, const float *A, int64_t lda,
                               const float *apre, const float *B, int64_t ldb, const float *bpre,
                               float beta, float *C, int64_t ldc, const float *bias, int relu,
                               float *work)
{
    const int64_t mr = k->mr, nr = k->nr;
    /* A read in place (see the top): beside a B packed beforehand, or
     * by rows; by rows, the tiles pack B as they go */
    const int a_beside = bpre && !apre && rows_apart(mr, ta, lda);
    const int a_rows = !apre && !ta && N < k->rows_n && rows_apart(mr, ta, lda);
    const int pack_a = N > 2 * nr && !a_beside && !a_rows;
    const int pack_b = tb || M > mr;
    const int skip = k->ukr_skip && pack_a && pack_b && !apre;
    /* B packed by its first row of tiles: a copy (not transposed) of a B
     * not packed before, in blocks with at least one full A panel, packed
     * or read by rows */
    const int fuse = k->ukr_pack && (pack_a || a_rows) && pack_b && !tb && !bpre;
    const operands o = {ta, tb, A, apre, B, bpre, lda, ldb, K, pack_a, pack_b, fuse};
    float *abuf = work, *bbuf = work + round_up(k->mc * k->kc, 16);
    int32_t *plan = (int32_t *)(work + steps_offset(k));
    int64_t jc, pc, ic, j, NC, KC, MC;
    tiles t;

    NC = even_block(N, k->nc, nr);
    KC = mlp__gemm_kblock(k, ta, tb, K);
    MC = even_block(M, k->mc, mr);
    t.ukr = pack_b ? k->ukr_bp : k->ukr;
    t.bfin = plan + plan_ints(k);
    t.bdst = bbuf;
    t.ldb = ldb;
    t.ldc = ldc;
    t.alpha = alpha;
    t.relu = relu;
    for (jc = 0; jc < N; jc += t.nc) {
        t.nc = N - jc < NC ? N - jc : NC;
        t.bias = bias ? bias + jc : NULL;
        t.ep = bias || relu;
        if (a_beside && pack_b && !ta) { /* see tiles_beside */
            block_a(k, &o, &t, 0, 0, abuf);
            block_b(k, &o, &t, jc, 0, bbuf);
            t.c = C + jc;
            tiles_beside(k, &t, M, MC, K, KC, beta);
            continue;
        }
        for (pc = 0; pc < K; pc += t.kc) {
            const float *bsrc;
            t.kc = K - pc < KC ? K - pc : KC;
            t.beta = pc == 0 ? beta : 1.0f;
            t.ep = (bias || relu) && pc + t.kc >= K;
            bsrc = block_b(k, &o, &t, jc, pc, bbuf);
            for (j = 0; skip && j < t.nc; j += nr)
                t.bfin[j / nr] = -1;
            for (ic = 0; ic < M; ic += t.mc) {
                t.mc = M - ic < MC ? M - ic : MC;
                block_a(k, &o, &t, ic, pc, abuf);
                t.plan = skip && plan_steps(k, t.mc, t.kc, t.a, plan) ? plan : NULL;
                t.bsrc = ic == 0 ? bsrc : NULL;
                t.c = C + ic * ldc + jc;
                run_tiles(k, &t);
            }
        }
    }
}

void mlp__sgemm_bias_relu(const mlp__gemm_kernel *k, int ta, int tb, int64_t K, float alpha,
                          const float *A, int64_t lda, const float *apre, const float *B,
                          int64_t ldb, const float *bpre, float beta, float *C, int64_t ldc,
                          int64_t m0, int64_t m1, int64_t n0, int64_t n1, const float *bias,
                          int relu, float *work)
{
    const int64_t m = m1 - m0, n = n1 - n0;
    int pass = bias || relu; /* the bias and ReLU still to apply, a pass */
    /* the cases without blocks here, before gemm_core's frame: a model's
       predict on one row comes this way with each layer's product */
    if (m <= 0 || n <= 0)
        return;
    C += m0 * ldc + n0;
    bias = bias ? bias + n0 : NULL;
    if (K <= 0 || alpha == 0.0f)
        scale_c(m, n, beta, C, ldc);
    else {
        A += ta ? m0 : m0 * lda;
        B += tb ? n0 * ldb : n0;
        if (m == 1 && !tb && k->row) {
            /* the row kernel adds the bias to alpha times its sums in
               registers, which a compiler may contract into one
               rounding: exact only with alpha 1 */
            const int in_row = alpha == 1.0f;
            k->row(K, A, ta ? lda : 1, B, ldb, C, n, alpha, beta, in_row ? bias : NULL,
                   in_row && relu);
            pass = pass && !in_row;
        } else if (ta && !tb && k->tn_narrow && !apre && !bpre && n <= k->nr / 2)
            k->tn_narrow(m, n, K, mlp__gemm_kblock(k, ta, tb, K), alpha, A, lda, B, ldb, beta, C,
                         ldc);
        else {
            gemm_core(k, ta, tb, m, n, K, alpha, A, lda, apre, B, ldb, bpre, beta, C, ldc, bias,
                      relu, work);
            pass = 0; /* its tiles applied them */
        }
    }
    if (pass)
        k->bias_relu(C, ldc, m, n, bias, relu);
}

void mlp__sgemm_prepacked(const mlp__gemm_kernel *k, int ta, int tb, int64_t K, float alpha,
                          const float *A, int64_t lda, const float *apre, const float *B,
                          int64_t ldb, const float *bpre, float beta, float *C, int64_t ldc,
                          int64_t m0, int64_t m1, int64_t n0, int64_t n1, float *work)
{
    mlp__sgemm_bias_relu(k, ta, tb, K, alpha, A, lda, apre, B, ldb, bpre, beta, C, ldc, m0, m1, n0,
                         n1, NULL, 0, work);
}

void mlp__sgemm_range(const mlp__gemm_kernel *k, int ta, int tb, int64_t K, float alpha,
                      const float *A, int64_t lda, const float *B, int64_t ldb, float beta,
                      float *C, int64_t ldc, int64_t m0, int64_t m1, int64_t n0, int64_t n1,
                      float *work)
{
    mlp__sgemm_prepacked(k, ta, tb, K, alpha, A, lda, NULL, B, ldb, NULL, beta, C, ldc, m0, m1, n0,
                         n1, work);
}

void mlp__sgemm(const mlp__gemm_kernel *k, int ta, int tb, int64_t M, int64_t N, int64_t K,
                float alpha, const float *A, int64_t lda, const float *B, int64_t ldb, float beta,
                float *C, int64_t ldc, float *work)
{
    mlp__sgemm_range(k, ta, tb, K, alpha, A, lda, B, ldb, beta, C, ldc, 0, M, 0, N, work);
}

void mlp__gemm_bias_relu_ref(float *c, int64_t ldc, int64_t m, int64_t n, const float *bias,
                             int relu)
{
    int64_t i, j;
    for (i = 0; i < m; i++, c += ldc)
        for (j = 0; j < n; j++) {
            const float v = bias ? c[j] + bias[j] : c[j];
            c[j] = relu && v <= 0.0f ? 0.0f : v; /* NaN stays NaN */
        }
}

void mlp__sgemm_naive(int ta, int tb, int64_t M, int64_t N, int64_t K, float alpha, const float *A,
                      int64_t lda, const float *B, int64_t ldb, float beta, float *C, int64_t ldc)
{
    int64_t i, j, p;
    for (i = 0; i < M; i++)
        for (j = 0; j < N; j++) {
            double s = 0.0;
            float r;
            for (p = 0; p < K; p++)
                s += (double)(ta ? A[p * lda + i] : A[i * lda + p])
                     * (double)(tb ? B[j * ldb + p] : B[p * ldb + j]);
            r = alpha * (float)s;
            C[i * ldc + j] = beta == 0.0f ? r : r + beta * C[i * ldc + j];
        }
}
