/*
 * gemm_simd.h - the vector micro-kernel template: the tile code, written
 * once for every instruction set. A kernel file (gemm_avx2.c,
 * gemm_avx512.c, gemm_neon.c) defines a short block of vector macros and
 * includes this file once; it expands to that set's micro-kernel, M == 1
 * row kernel, packers (and the tile that packs B as it reads it) and
 * kernel table, all static but the table.
 *
 * The micro-kernel is an inlined template specialised on the row count
 * (MR, 8 when MR > 8, 4, 2, 1: other heights run as several), the vector
 * count (n <= VW uses one vector per row) and the addressing of A and B,
 * so every tile runs straight-line code. Accumulators are named variables,
 * not arrays: compilers spill arrays of vectors. B read in place with a
 * ragged edge goes through a small zero-padded copy, so the inner loop
 * only ever loads whole vectors; stores are masked at the right edge.
 *
 * The kernel file defines, before including this file:
 *   SIMD_KERNEL            the table's name (mlp__gemm_kernel_avx2)
 *   SIMD_NAME              its name for MLP_GEMM_KERNEL ("avx2")
 *   SIMD_TARGET            function attribute enabling the set, or nothing
 *   SIMD_VEXP              the set's exp loop (exp.c)
 *   SIMD_VW                floats per vector
 *   MR, NR                 the register tile: MR <= 12, NR == 2 * SIMD_VW
 *   SIMD_MC, SIMD_KC, SIMD_NC  cache blocks (multiples of MR, 8 and NR)
 *   SIMD_SKIP_ROWS         optional: rows in a zero-step group (a divisor of
 *                          MR; MR when not given): each group of a panel's
 *                          rows skips its own zero steps (gemm.h)
 *   SIMD_ROWS_N            optional: the table's rows_n (gemm.h), no
 *                          limit when not given
 *   SIMD_STEPS             optional: the table's steps, declared before
 *                          and defined after this file (it may call
 *                          steps_simd); steps_simd when not given
 *   SIMD_ROW_NV            accumulators of the row kernel on one row (<= 16;
 *                          0: no row kernel, M == 1 goes through the
 *                          micro-kernel)
 *   SIMD_ROWS_ACC          accumulators of the row kernel on two or three
 *                          rows (a multiple of 6, <= 24; with 4 more
 *                          registers, they must fit the set's registers)
 *   SIMD_MASKED            1 when masked loads and stores cost what plain
 *                          ones do (AVX-512): tiles store through masks and
 *                          read a ragged B in place through masks; 0: plain
 *                          stores but on the ragged edge, and a ragged B in
 *                          place is copied into a zero-padded panel
 *   SIMD_PREFETCH_C        1: prefetch the tile of C before the k loop,
 *                          for writing (SIMD_TARGET enables prefetchw)
 *   SIMD_REGS              optional: the set's vector registers, 32 when
 *                          not given; with 16 (AVX2) the tile's loop takes
 *                          one k step a turn, not four, and alpha and beta
 *                          wait in memory (see ukr_t)
 *   SIMD_B_AHEAD           optional: rows ahead the tile that packs B
 *                          (ukr_pack_simd) prefetches B, 0: none; not
 *                          given: no such tile, a pass packs B
 *   SIMD_B_AHEAD_INTEL     optional, with SIMD_KERNEL_INTEL: the same on
 *                          Intel's CPUs, a second table with that distance
 *   vf, vmask              vector of floats, lane mask
 *   V_BCAST(p)             every lane *p
 *   V_ZERO()  V_SET1(x)  V_ADD(a, b)  V_MUL(a, b)  V_FMA(a, b, c) = a*b + c
 *   V_LOAD(p) V_STORE(p, v)     unaligned; V_LOADA / V_STOREA: 64-byte
 *                               aligned (packed panels)
 *   V_MASK(n)              lanes 0 .. n-1, n clamped to 0 .. SIMD_VW
 *   V_LOADM(m, p)          the lanes of m from p, others 0; reads only those
 *   V_STOREM(p, m, v)      writes only the lanes of m
 *   V_STOREN(p, v, nl)     writes lanes 0 .. nl-1 (nl a constant < SIMD_VW)
 *   V_TRANSPOSE(r)         r[i] lane j becomes r[j] lane i, SIMD_VW vectors
 *   V_PACK4(d, c0..c3)     optional, where MR = 3 SIMD_VW / 4: lanes 0 .. MR-1
 *                          of c0, c1, c2, c3 to d .. d + 4 MR - 1 (four
 *                          columns of a packed A panel) as whole vectors
 *   V_NONZERO(v)           nonzero if a lane of v is neither +0 nor -0 (NaN is)
 *   V_NZBITS(v)            with SIMD_SKIP_ROWS: bit i set where lane i is
 *                          neither +0 nor -0, as an unsigned
 *   V_RELU(v)              each lane v <= 0 ? +0 : v (NaN stays NaN)
 */
/* clang-format off */
#ifndef SIMD_KERNEL
#error "gemm_simd.h is included by a kernel file after its vector macros"
#endif

#define INL static inline __attribute__((always_inline))
#define VW SIMD_VW
/* rows of a zero-step group (SIMD_SKIP_ROWS, a divisor of MR; MR when
 * not given) */
#ifdef SIMD_SKIP_ROWS
#define SKIP_ROWS SIMD_SKIP_ROWS
#else
#define SKIP_ROWS MR
#endif
/* vectors in one MR-tall column of a packed A panel */
#define ACHUNKS ((MR + VW - 1) / VW)

/* A addressing: packed (rsa 1, csa MR), rsa 1 with any csa, csa 1 with any rsa */
#define A_PACKED 0
#define A_COLS 1
#define A_ROWS 2

/* ---- the micro-kernel ---------------------------------------------------- */

/* alpha x, then beta c added by one multiply-add (c not read when beta is
 * 0), to the lanes of mk at p: how a tile stores its sums through masks,
 * and the narrow transposed product stores its own, for the same bits */
INL SIMD_TARGET void put_c(float *p, vmask mk, vf x, vf va, vf vb, float beta)
{
    vf v = V_MUL(va, x);
    if (beta != 0.0f)
        v = V_FMA(vb, V_LOADM(mk, p), v);
    V_STOREM(p, mk, v);
}

#ifndef SIMD_REGS
#define SIMD_REGS 32
#endif

/* One accumulator pair per row r. */
#define ACC_DECL(r) vf c##r##_0 = V_ZERO(), c##r##_1 = V_ZERO()
#define ACC_ROW(r)                                                   \
    if (MROWS > (r)) {                                               \
        const vf ar = V_BCAST(aq + (r) * ra);                          \
        c##r##_0 = V_FMA(ar, b0, c##r##_0);                          \
        if (NV == 2)                                                 \
            c##r##_1 = V_FMA(ar, b1, c##r##_1);                      \
    }
#define ACC_STORE(r)                                                 \
    if (MROWS > (r)) {                                               \
        float *cr = c + (r) * ldc;                                   \
        if (full) {                                                  \
            vf r0 = V_MUL(va, c##r##_0), r1 = V_MUL(va, c##r##_1);   \
            if (beta != 0.0f)                                        \
                r0 = V_FMA(vb, V_LOAD(cr), r0);                      \
            V_STORE(cr, r0);                                         \
            if (NV == 2) {                                           \
                if (beta != 0.0f)                                    \
                    r1 = V_FMA(vb, V_LOAD(cr + VW), r1);             \
                V_STORE(cr + VW, r1);                                \
            }                                                        \
        } else {                                                     \
            put_c(cr, k0, c##r##_0, va, vb, beta);                   \
            if (NV == 2)                                             \
                put_c(cr + VW, k1, c##r##_1, va, vb, beta);          \
        }                                                            \
    }

/* MROWS x (NV * VW) tile (masks are made where used: held across the k
 * loop, AVX2's would take two of its 16 registers); B packed (BP: aligned, stride NR, zero-padded)
 * or in place: read through masks (SIMD_MASKED), or else with n a
 * multiple of VW so that whole vectors may be read. bd non-NULL: each row
 * of B read is also stored there, a row of a packed panel (NR floats). */
INL SIMD_TARGET void ukr_t(const int MROWS, const int NV, const int AS, const int BP,
                           const int AHEAD, int64_t k, const float *a, int64_t rsa, int64_t csa,
                           const float *b, int64_t rsb, const int32_t *ix, float *bd, float *c,
                           int64_t ldc, int64_t n, float alpha, float beta)
{
    const int64_t ra = AS == A_ROWS ? rsa : 1;
    const int64_t ca = AS == A_PACKED ? MR : AS == A_COLS ? csa : 1;
    const int64_t sb = BP ? NR : rsb;
    int i;
#if SIMD_REGS <= 16
    /* alpha and beta, read only by the stores, wait in memory: in
     * registers across the loop they left too few for the tile's
     * accumulators (SIMD_REGS, gemm_avx2.c) */
    volatile float ab[2];
    ab[0] = alpha;
    ab[1] = beta;
#endif
    ACC_DECL(0); ACC_DECL(1); ACC_DECL(2); ACC_DECL(3); ACC_DECL(4); ACC_DECL(5);
    ACC_DECL(6); ACC_DECL(7); ACC_DECL(8); ACC_DECL(9); ACC_DECL(10); ACC_DECL(11);
    /* each row's first and last float (an AVX-512 tile's row is two
     * lines), with intent to write: a line another core wrote last then
     * moves once, not twice. dW = x^T dy of 784-1024-1024-10, whose 4 MB
     * of C stays out of the L2, 7-11 % faster than with the first line
     * read-prefetched; that net's epoch 3 % at 1 and 2 threads. Rows
     * narrower than a vector lie within a few lines: each line once (24
     * prefetches of the same 1-4 lines made 2-4-1's predict 8-10 %
     * slower at batch 256) */
    if (SIMD_PREFETCH_C && ldc >= VW) {
        for (i = 0; i < MROWS; i++) {
            __builtin_prefetch(c + i * ldc, 1, 3);
            __builtin_prefetch(c + i * ldc + n - 1, 1, 3);
        }
    } else if (SIMD_PREFETCH_C) {
        for (i = 0; i < MROWS * ldc; i += VW)
            __builtin_prefetch(c + i, 1, 3);
        __builtin_prefetch(c + (MROWS - 1) * ldc + n - 1, 1, 3);
    }

/* k counts the steps left when a group of four starts (it drops after the
 * group), so a row AHEAD ahead is prefetched only while it is still one
 * of B's k rows */
#define STEP()                                                       \
    do {                                                             \
        const int64_t pi = ix ? *ix++ : 0;                           \
        const float *aq = ix ? a + pi * ca : a;                      \
        const float *bq = ix ? b + pi * sb : b;                      \
        const vf b0 = BP            ? V_LOADA(bq)                    \
                      : SIMD_MASKED ? V_LOADM(V_MASK(n), bq)         \
                                    : V_LOAD(bq);                    \
        const vf b1 = NV == 1       ? b0                             \
                      : BP          ? V_LOADA(bq + VW)               \
                      : SIMD_MASKED ? V_LOADM(V_MASK(n - VW), bq + VW) \
                                    : V_LOAD(bq + VW);               \
        if (bd) {                                                    \
            if (AHEAD && k > AHEAD + 4) {                            \
                __builtin_prefetch(bq + AHEAD * sb);                 \
                if (NV == 2)                                         \
                    __builtin_prefetch(bq + AHEAD * sb + VW);        \
            }                                                        \
            V_STOREA(bd, b0);                                        \
            V_STOREA(bd + VW, NV == 2 ? b1 : V_ZERO());              \
            bd += NR;                                                \
        }                                                            \
        ACC_ROW(0) ACC_ROW(1) ACC_ROW(2) ACC_ROW(3)                  \
        ACC_ROW(4) ACC_ROW(5) ACC_ROW(6) ACC_ROW(7)                  \
        ACC_ROW(8) ACC_ROW(9) ACC_ROW(10) ACC_ROW(11)                \
        if (!ix) {                                                   \
            a += ca;                                                 \
            b += sb;                                                 \
        }                                                            \
    } while (0)

    /* pointers bumped after every step: with a run-time stride, offsets
     * off*ca would each take a register */
#if SIMD_REGS > 16
    for (; k >= 4; k -= 4) {
        STEP();
        STEP();
        STEP();
        STEP();
    }
#endif
    for (; k > 0; k--)
        STEP();
#undef STEP
#if SIMD_REGS <= 16
    alpha = ab[0];
    beta = ab[1];
#endif
    {
        const vf va = V_SET1(alpha), vb = V_SET1(beta);
        const vmask k0 = V_MASK(n), k1 = V_MASK(n - VW);
        const int full = !SIMD_MASKED && n == VW * NV;
        ACC_STORE(0) ACC_STORE(1) ACC_STORE(2) ACC_STORE(3) ACC_STORE(4) ACC_STORE(5)
        ACC_STORE(6) ACC_STORE(7) ACC_STORE(8) ACC_STORE(9) ACC_STORE(10) ACC_STORE(11)
    }
}

#define MROWS8 (MR > 8 ? 8 : MR)
#define UKR_ARGS k, a, rsa, csa, b, rsb, NULL, NULL, c, ldc, n, alpha, beta
#define UKR_FN(NAME, NV, AS)                                                               \
    static SIMD_TARGET void NAME(int64_t k, const float *a, int64_t rsa, int64_t csa,     \
                                 const float *b, int64_t rsb, float *c, int64_t ldc,      \
                                 int64_t m, int64_t n, float alpha, float beta)           \
    {                                                                                      \
        if (m == 1)                                                                        \
            ukr_t(1, NV, AS, 0, 0, UKR_ARGS);                                              \
        else if (m == 2)                                                                   \
            ukr_t(2, NV, AS, 0, 0, UKR_ARGS);                                              \
        else if (m == 4)                                                                   \
            ukr_t(4, NV, AS, 0, 0, UKR_ARGS);                                              \
        else if (MR > 8 && m == 8)                                                         \
            ukr_t(MROWS8, NV, AS, 0, 0, UKR_ARGS);                                         \
        else                                                                               \
            ukr_t(MR, NV, AS, 0, 0, UKR_ARGS);                                             \
    }

/* the full tile on packed A and packed B (zero-padded to NR columns, so
 * read without masks): constant offsets, the hot path */
#define UKR_PACKED(NAME, NV)                                                               \
    static SIMD_TARGET void NAME(int64_t k, const float *a, int64_t rsa, int64_t csa,     \
                                 const float *b, int64_t rsb, float *c, int64_t ldc,      \
                                 int64_t m, int64_t n, float alpha, float beta)           \
    {                                                                                      \
        (void)m;                                                                           \
        ukr_t(MR, NV, A_PACKED, 1, 0, UKR_ARGS);                                           \
    }

UKR_PACKED(ukr_p2, 2)
UKR_PACKED(ukr_p1, 1)
UKR_FN(ukr_c2, 2, A_COLS)
UKR_FN(ukr_c1, 1, A_COLS)
UKR_FN(ukr_r2, 2, A_ROWS)
UKR_FN(ukr_r1, 1, A_ROWS)

/* A zero-step group's tile (SKIP_ROWS x n, n <= NR) on packed A (a at the
 * group's first row of its panel) and packed B over the steps idx[0 ..
 * k-1] only, or every step (idx NULL): see steps_simd. */
static SIMD_TARGET void ukr_skip_simd(int64_t k, const float *a, const int32_t *idx,
                                      const float *b, float *c, int64_t ldc, int64_t n,
                                      float alpha, float beta)
{
    if (n > VW)
        ukr_t(SKIP_ROWS, 2, A_PACKED, 1, 0, k, a, 1, MR, b, NR, idx, NULL, c, ldc, n, alpha, beta);
    else
        ukr_t(SKIP_ROWS, 1, A_PACKED, 1, 0, k, a, 1, MR, b, NR, idx, NULL, c, ldc, n, alpha, beta);
}

/* The steps p = 0, every, 2 every, ... < k of a packed A panel (MR x k,
 * [p*MR + i]) whose values in a group's rows (g * SKIP_ROWS .. + SKIP_ROWS
 * - 1) are not all zeros of either sign (NaN counts as not zero), in
 * order, to idx + g * stride; their number to kept[g]. In one pass: each
 * step's column read and tested once for all groups (a pass a group: 40
 * against 36 us for the 65 panels of 784-256-10's dW, Intel Xeon). */
#if MR % SKIP_ROWS != 0 || (SKIP_ROWS < MR && (MR > VW || !defined(V_NZBITS)))
#error "zero-step groups divide MR, and need the whole column in one vector and V_NZBITS"
#endif
#define SKIP_GROUPS (MR / SKIP_ROWS)
#ifndef SIMD_STEPS
#define SIMD_STEPS steps_simd
#endif
#if SKIP_ROWS < MR
/* step p, whose column's lanes nz has set where not zero (V_NZBITS),
 * appended to the list of each group with a nonzero row (n[g] entries
 * at idx + g * stride so far; the entry is written either way) */
INL void list_step(unsigned nz, int64_t p, int32_t *idx, int64_t stride, int64_t *n)
{
    int g;
    for (g = 0; g < SKIP_GROUPS; g++) {
        idx[g * stride + n[g]] = (int32_t)p;
        n[g] += (nz >> (g * SKIP_ROWS) & ((1u << SKIP_ROWS) - 1u)) != 0;
    }
}
#endif
static SIMD_TARGET void steps_simd(int64_t k, const float *panel, int64_t every, int32_t *idx,
                                   int64_t stride, int64_t *kept)
{
    int64_t p, n[SKIP_GROUPS];
    int g, h;
    for (g = 0; g < SKIP_GROUPS; g++)
        n[g] = 0;
    for (p = 0; p < k; p += every) {
        const float *s = panel + p * MR;
#if SKIP_ROWS < MR
        list_step(V_NZBITS(V_LOADM(V_MASK(MR), s)), p, idx, stride, n);
#else
        int nz = 0;
        for (h = 0; h < ACHUNKS; h++)
            nz |= V_NONZERO(V_LOADM(V_MASK(MR - h * VW), s + h * VW));
        idx[n[0]] = (int32_t)p;
        n[0] += nz != 0;
#endif
    }
    (void)h;
    (void)stride;
    for (g = 0; g < SKIP_GROUPS; g++)
        kept[g] = n[g];
}

/* 1 if the n floats at p (64-byte aligned, n a multiple of VW) are all
 * finite: 0 * x is NaN exactly for x infinite or NaN. Four chains: one
 * waited on each multiply-add, and a panel took two thirds of a tile. */
static SIMD_TARGET int finite_simd(const float *p, int64_t n)
{
    float lanes[VW];
    const vf zero = V_ZERO();
    vf a0 = V_ZERO(), a1 = V_ZERO(), a2 = V_ZERO(), a3 = V_ZERO();
    int64_t i;
    int j;
    for (i = 0; i + 4 * VW <= n; i += 4 * VW) {
        a0 = V_FMA(zero, V_LOADA(p + i), a0);
        a1 = V_FMA(zero, V_LOADA(p + i + VW), a1);
        a2 = V_FMA(zero, V_LOADA(p + i + 2 * VW), a2);
        a3 = V_FMA(zero, V_LOADA(p + i + 3 * VW), a3);
    }
    for (; i < n; i += VW)
        a0 = V_FMA(zero, V_LOADA(p + i), a0);
    V_STORE(lanes, V_ADD(V_ADD(a0, a1), V_ADD(a2, a3)));
    for (j = 0; j < VW; j++)
        if (lanes[j] != lanes[j])
            return 0;
    return 1;
}

/* Tiles of m rows: rows split into MR, 8,
 * 4, 2, 1 (the heights compiled: code size and build time). */
static SIMD_TARGET void ukr_rows(int64_t k, const float *a, int64_t rsa, int64_t csa,
                                 const float *b, int64_t rsb, float *c, int64_t ldc, int64_t m,
                                 int64_t n, float alpha, float beta)
{
    const mlp__gemm_ukr_fn f = rsa == 1 ? (n > VW ? ukr_c2 : ukr_c1) : (n > VW ? ukr_r2 : ukr_r1);
    if (m == MR && rsa == 1 && csa == MR && rsb == NR) {
        (n > VW ? ukr_p2 : ukr_p1)(k, a, rsa, csa, b, rsb, c, ldc, m, n, alpha, beta);
        return;
    }
    while (m > 0) {
        const int64_t r = m >= MR ? MR : MR > 8 && m >= 8 ? 8 : m >= 4 ? 4 : m >= 2 ? 2 : 1;
        f(k, a, rsa, csa, b, rsb, c, ldc, r, n, alpha, beta);
        a += r * rsa;
        c += r * ldc;
        m -= r;
    }
}

#define KCH 64

static SIMD_TARGET void ukr_simd(int64_t k, const float *a, int64_t rsa, int64_t csa,
                                 const float *b, int64_t rsb, float *c, int64_t ldc, int64_t m,
                                 int64_t n, float alpha, float beta)
{
    /* B in place with a ragged edge and no cheap masks: whole vectors
     * would read past it, so copy KCH rows at a time into a zero-padded
     * panel (rare: M <= MR). */
    if (!SIMD_MASKED && rsb != NR && n % VW != 0) {
        float tmp[KCH * NR] __attribute__((aligned(64)));
        const vmask m0 = V_MASK(n), m1 = V_MASK(n - VW);
        int64_t p0, p;
        for (p0 = 0; p0 < k; p0 += KCH) {
            const int64_t kt = k - p0 < KCH ? k - p0 : KCH;
            for (p = 0; p < kt; p++) {
                V_STOREA(tmp + p * NR, V_LOADM(m0, b + (p0 + p) * rsb));
                V_STOREA(tmp + p * NR + VW, V_LOADM(m1, b + (p0 + p) * rsb + VW));
            }
            ukr_rows(kt, a + p0 * csa, rsa, csa, tmp, NR, c, ldc, m, n, alpha,
                     p0 == 0 ? beta : 1.0f);
        }
        return;
    }
    ukr_rows(k, a, rsa, csa, b, rsb, c, ldc, m, n, alpha, beta);
}

/* B a packed panel: a full-height tile reads it with aligned loads and
 * no masks whatever A's addressing (A in place: a packed model's predict,
 * or a product too narrow to pack A); other heights as ukr_simd. */
#define UKR_BP(AS, NV)                                                                        \
    ukr_t(MR, NV, AS, 1, 0, k, a, rsa, csa, b, NR, NULL, NULL, c, ldc, n, alpha, beta)
static SIMD_TARGET void ukr_bp_simd(int64_t k, const float *a, int64_t rsa, int64_t csa,
                                    const float *b, int64_t rsb, float *c, int64_t ldc, int64_t m,
                                    int64_t n, float alpha, float beta)
{
    if (m != MR || (rsa == 1 && csa == MR))
        ukr_rows(k, a, rsa, csa, b, rsb, c, ldc, m, n, alpha, beta);
    else if (csa == 1) {
        if (n > VW)
            UKR_BP(A_ROWS, 2);
        else
            UKR_BP(A_ROWS, 1);
    } else if (n > VW)
        UKR_BP(A_COLS, 2);
    else
        UKR_BP(A_COLS, 1);
}
#undef UKR_BP

/* ---- the row kernel: M <= 3 ---------------------------------------------- */

#if SIMD_ROW_NV > 0
/* NV * VW columns of R rows of C at a time stay in R * NV accumulators
 * while B streams through row by row, each B vector loaded once for the R
 * rows (NV: SIMD_ROW_NV for one row, SIMD_ROWS_ACC / R for two or three,
 * then 8, 4, 2, 1 for what is left; the last vector of a block with
 * n < NV * VW goes through a mask). Every element is one chain of
 * multiply-adds over k in order, whatever block or row count holds it: a
 * product split by columns across threads gives the same bits as one
 * call, and a row the bits it has alone. Fewer rows in a register tile
 * would leave too few chains to cover the multiply-add's latency. */
#define ROW_ACC(v) vf x0##v = V_ZERO(), x1##v = V_ZERO(), x2##v = V_ZERO()
#define ROW_FMA(v)                                                   \
    if (NV > (v)) {                                                  \
        const vf bv = NV == (v) + 1 && ragged ? V_LOADM(mk, bp + VW * (v)) \
                                              : V_LOAD(bp + VW * (v));    \
        x0##v = V_FMA(a0, bv, x0##v);                                \
        if (R > 1)                                                   \
            x1##v = V_FMA(a1, bv, x1##v);                            \
        if (R > 2)                                                   \
            x2##v = V_FMA(a2, bv, x2##v);                            \
    }
/* one vector of C from its accumulator: alpha x + beta c, the bias (or
 * NULL), ReLU when relu is set; the ragged last one through a mask */
#define ROW_PUT(r, v)                                                \
    {                                                                \
        float *cv = c + (r) * ldc + VW * (v);                        \
        vf t = V_MUL(valpha, x##r##v);                               \
        if (NV == (v) + 1 && ragged) {                               \
            if (beta != 0.0f)                                        \
                t = V_FMA(vbeta, V_LOADM(mk, cv), t);                \
            if (bias)                                                \
                t = V_ADD(t, V_LOADM(mk, bias + VW * (v)));          \
            if (relu)                                                \
                t = V_RELU(t);                                       \
            row_tail(cv, t, n - VW * (NV - 1));                      \
        } else {                                                     \
            if (beta != 0.0f)                                        \
                t = V_FMA(vbeta, V_LOAD(cv), t);                     \
            if (bias)                                                \
                t = V_ADD(t, V_LOAD(bias + VW * (v)));               \
            if (relu)                                                \
                t = V_RELU(t);                                       \
            V_STORE(cv, t);                                          \
        }                                                            \
    }
#define ROW_STORE(v)                                                 \
    if (NV > (v)) {                                                  \
        ROW_PUT(0, v)                                                \
        if (R > 1)                                                   \
            ROW_PUT(1, v)                                            \
        if (R > 2)                                                   \
            ROW_PUT(2, v)                                            \
    }

/* Lanes 0 .. nl-1 of v to c, through a whole-vector store to the stack and
 * scalar copies: a masked store that the next layer's loads read at once
 * stalls them (it cannot be forwarded), where these forward. */
INL SIMD_TARGET void row_tail(float *c, vf v, int64_t nl)
{
    float t[VW];
    int64_t i;
    V_STORE(t, v);
    for (i = 0; i < nl; i++)
        c[i] = t[i];
}

/* Columns 0 .. n-1 of R rows of C (NV - 1 < n / VW <= NV), with the bias
 * of those columns (or NULL) */
INL SIMD_TARGET void row_block(const int R, const int NV, int64_t k, const float *a, int64_t rsa,
                               int64_t csa, const float *b, int64_t ldb, float *c, int64_t ldc,
                               int64_t n, float alpha, float beta, const float *bias, int relu)
{
    const vf valpha = V_SET1(alpha), vbeta = V_SET1(beta);
    const int ragged = n < NV * VW;
    const vmask mk = V_MASK(n - VW * (NV - 1));
    const float *bp = b;
    int64_t p;
    ROW_ACC(0); ROW_ACC(1); ROW_ACC(2); ROW_ACC(3); ROW_ACC(4); ROW_ACC(5); ROW_ACC(6);
    ROW_ACC(7); ROW_ACC(8); ROW_ACC(9); ROW_ACC(10); ROW_ACC(11); ROW_ACC(12);
    ROW_ACC(13); ROW_ACC(14); ROW_ACC(15);
    for (p = 0; p < k; p++, bp += ldb) {
        const vf a0 = V_SET1(a[p * csa]);
        const vf a1 = R > 1 ? V_SET1(a[rsa + p * csa]) : a0;
        const vf a2 = R > 2 ? V_SET1(a[2 * rsa + p * csa]) : a0;
        ROW_FMA(0); ROW_FMA(1); ROW_FMA(2); ROW_FMA(3); ROW_FMA(4); ROW_FMA(5);
        ROW_FMA(6); ROW_FMA(7); ROW_FMA(8); ROW_FMA(9); ROW_FMA(10); ROW_FMA(11);
        ROW_FMA(12); ROW_FMA(13); ROW_FMA(14); ROW_FMA(15);
    }
    ROW_STORE(0) ROW_STORE(1) ROW_STORE(2) ROW_STORE(3) ROW_STORE(4) ROW_STORE(5)
    ROW_STORE(6) ROW_STORE(7) ROW_STORE(8) ROW_STORE(9) ROW_STORE(10) ROW_STORE(11)
    ROW_STORE(12) ROW_STORE(13) ROW_STORE(14) ROW_STORE(15)
}

/* All n columns of R rows, NV0 vectors at a time, then fewer. */
INL SIMD_TARGET void row_cols(const int R, const int NV0, int64_t k, const float *a, int64_t rsa,
                              int64_t csa, const float *b, int64_t ldb, float *c, int64_t ldc,
                              int64_t n, float alpha, float beta, const float *bias, int relu)
{
    int64_t j0 = 0;
    while (j0 < n) {
        const int64_t left = n - j0;
        const float *bj = bias ? bias + j0 : NULL;
        int64_t w;
#define ROW_BLOCK(nv)                                                                     \
    row_block(R, nv, k, a, rsa, csa, b + j0, ldb, c + j0, ldc, w, alpha, beta, bj, relu)
        if (left >= NV0 * VW) {
            w = NV0 * VW;
            ROW_BLOCK(NV0);
        } else if (NV0 > 8 && left >= 8 * VW) {
            w = 8 * VW;
            ROW_BLOCK(NV0 > 8 ? 8 : 1);
        } else if (NV0 > 4 && left >= 4 * VW) {
            w = 4 * VW;
            ROW_BLOCK(NV0 > 4 ? 4 : 1);
        } else if (left >= 2 * VW) {
            w = 2 * VW;
            ROW_BLOCK(2);
        } else {
            w = left < VW ? left : VW;
            ROW_BLOCK(1);
        }
#undef ROW_BLOCK
        j0 += w;
    }
}

static SIMD_TARGET void row_simd(int64_t k, const float *a, int64_t csa, const float *b,
                                 int64_t ldb, float *c, int64_t n, float alpha, float beta,
                                 const float *bias, int relu)
{
    row_cols(1, SIMD_ROW_NV, k, a, 0, csa, b, ldb, c, 0, n, alpha, beta, bias, relu);
}

static SIMD_TARGET void rows_simd(int64_t m, int64_t k, const float *a, int64_t rsa, int64_t csa,
                                  const float *b, int64_t ldb, float *c, int64_t ldc, int64_t n,
                                  float alpha, float beta, const float *bias, int relu)
{
    if (m == 2)
        row_cols(2, SIMD_ROWS_ACC / 2, k, a, rsa, csa, b, ldb, c, ldc, n, alpha, beta, bias, relu);
    else
        row_cols(3, SIMD_ROWS_ACC / 3, k, a, rsa, csa, b, ldb, c, ldc, n, alpha, beta, bias, relu);
}
#define ROW_FN row_simd
#define ROWS_FN rows_simd
#else
#define ROW_FN NULL
#define ROWS_FN NULL
#endif

/* ---- packing ----------------------------------------------------------------- */

/* Up to VW rows (nrows, others zero) of ncols columns from src, stride ld. */
INL SIMD_TARGET void load_block(vf r[VW], const float *src, int64_t ld, int64_t nrows,
                                int64_t ncols)
{
    int i;
    if (ncols >= VW) {
        for (i = 0; i < VW; i++)
            r[i] = i < nrows ? V_LOAD(src + i * ld) : V_ZERO();
    } else {
        const vmask km = V_MASK(ncols);
        for (i = 0; i < VW; i++)
            r[i] = i < nrows ? V_LOADM(km, src + i * ld) : V_ZERO();
    }
}

/* Lanes 0 .. nl-1 of v to p (nl a constant): one MR-tall column of a
 * packed A panel is MR floats, not always whole vectors. */
#define STORE_PART(p, v, nl)                                         \
    do {                                                             \
        if ((nl) >= VW)                                              \
            V_STORE(p, v);                                           \
        else                                                         \
            V_STOREN(p, v, (nl) < VW ? (nl) : 0);                    \
    } while (0)

/* r[0 .. kt-1] (a transposed block) to d, d + ld, ...: nl lanes each;
 * the full block as its own loop, so that it is unrolled */
INL SIMD_TARGET void store_block(float *d, int64_t ld, const vf r[VW], int64_t kt, const int nl)
{
    int j;
    if (kt == VW)
        for (j = 0; j < VW; j++)
            STORE_PART(d + j * ld, r[j], nl);
    else
        for (j = 0; j < kt; j++)
            STORE_PART(d + j * ld, r[j], nl);
}

static SIMD_TARGET void pack_a_simd(int trans, const float *src, int64_t ld, int64_t m,
                                    int64_t k, float *dst)
{
    int64_t i0, p, p0;
    int h;
    for (i0 = 0; i0 < m; i0 += MR, dst += MR * k) {
        const int64_t mb = m - i0 < MR ? m - i0 : MR;
        if (trans) {
            /* column p of op(A) is a contiguous row of the source */
            vmask mm[ACHUNKS];
            const float *s = src + i0;
            for (h = 0; h < ACHUNKS; h++)
                mm[h] = V_MASK(mb - h * VW);
            p = 0;
#ifdef V_PACK4
            for (; p + 4 <= k; p += 4, s += 4 * ld)
                V_PACK4(dst + p * MR, V_LOADM(mm[0], s), V_LOADM(mm[0], s + ld),
                        V_LOADM(mm[0], s + 2 * ld), V_LOADM(mm[0], s + 3 * ld));
#endif
            for (; p < k; p++, s += ld)
                for (h = 0; h < ACHUNKS; h++)
                    STORE_PART(dst + p * MR + h * VW, V_LOADM(mm[h], s + h * VW), MR - h * VW);
        } else {
            /* VW x VW blocks transposed in registers */
            for (h = 0; h < ACHUNKS; h++)
                for (p0 = 0; p0 < k; p0 += VW) {
                    const int64_t kt = k - p0 < VW ? k - p0 : VW;
                    vf r[VW];
                    float *d = dst + p0 * MR + h * VW;
                    load_block(r, src + (i0 + h * VW) * ld + p0, ld, mb - h * VW, kt);
                    V_TRANSPOSE(r);
#ifdef V_PACK4
                    if (kt == VW) {
                        int j;
                        for (j = 0; j < VW; j += 4)
                            V_PACK4(d + j * MR, r[j], r[j + 1], r[j + 2], r[j + 3]);
                        continue;
                    }
#endif
                    store_block(d, MR, r, kt, MR - h * VW);
                }
        }
    }
}

static SIMD_TARGET void pack_b_simd(int trans, const float *src, int64_t ld, int64_t k,
                                    int64_t n, float *dst)
{
    int64_t j0, p, p0;
    int j, h;
    if (!trans) {
        /* row by row across every panel: the source is read in order (a
         * panel at a time reads NR floats a row stride apart, each on
         * its own page, and runs at about 2/3 of the speed) */
        const int64_t full = n / NR * NR;
        const vmask m0 = V_MASK(n - full), m1 = V_MASK(n - full - VW);
        for (p = 0; p < k; p++) {
            const float *s = src + p * ld;
            float *d = dst + p * NR;
            for (j0 = 0; j0 < full; j0 += NR, d += NR * k) {
                V_STOREA(d, V_LOAD(s + j0));
                V_STOREA(d + VW, V_LOAD(s + j0 + VW));
            }
            if (full < n) {
                V_STOREA(d, V_LOADM(m0, s + full));
                V_STOREA(d + VW, V_LOADM(m1, s + full + VW));
            }
        }
        return;
    }
    for (j0 = 0; j0 < n; j0 += NR, dst += NR * k) {
        const int64_t nb = n - j0 < NR ? n - j0 : NR;
        for (p0 = 0; p0 < k; p0 += VW) {
            const int64_t kt = k - p0 < VW ? k - p0 : VW;
            for (h = 0; h < 2; h++) {
                const int64_t rows = nb - VW * h;
                vf r[VW];
                float *d = dst + p0 * NR + VW * h;
                if (rows <= 0) {
                    for (j = 0; j < kt; j++)
                        V_STOREA(d + j * NR, V_ZERO());
                    continue;
                }
                load_block(r, src + (j0 + VW * h) * ld + p0, ld, rows, kt);
                V_TRANSPOSE(r);
                store_block(d, NR, r, kt, VW);
            }
        }
    }
}

/* ---- packing B in its first tile ----------------------------------------------- */

/* The full tile on A packed or read in place by rows (csa 1) with B read
 * in place (row stride rsb, n <= NR columns), writing B's packed panel
 * (k x NR, zero-padded, as pack_b_simd) to bd as it goes. Without cheap
 * masks a ragged panel is packed first. Its rows of B are often a page
 * apart, where the hardware's prefetchers stop, and in training B is a
 * weight the step last wrote, in the L3 or in another core's cache: each
 * step waited on its row, so the tile fetches B AHEAD rows ahead. One
 * function per distance (SIMD_B_AHEAD, and SIMD_B_AHEAD_INTEL where a
 * kernel sets it): the kernel tables below choose. */
#define UKR_FUSED(AS, NV, AHEAD)                                                              \
    ukr_t(MR, NV, AS, 0, AHEAD, k, a, rsa, csa, b, rsb, NULL, bd, c, ldc, n, alpha, beta)
#define UKR_PACK_FN(NAME, AHEAD)                                                              \
    static SIMD_TARGET void NAME(int64_t k, const float *a, int64_t rsa, int64_t csa,        \
                                 const float *b, int64_t rsb, float *bd, float *c,           \
                                 int64_t ldc, int64_t n, float alpha, float beta)            \
    {                                                                                         \
        if (!SIMD_MASKED && n % VW != 0) {                                                    \
            pack_b_simd(0, b, rsb, k, n, bd);                                                 \
            ukr_bp_simd(k, a, rsa, csa, bd, NR, c, ldc, MR, n, alpha, beta);                  \
        } else if (csa == 1) {                                                                \
            if (n > VW)                                                                       \
                UKR_FUSED(A_ROWS, 2, AHEAD);                                                  \
            else                                                                              \
                UKR_FUSED(A_ROWS, 1, AHEAD);                                                  \
        } else if (n > VW)                                                                    \
            UKR_FUSED(A_PACKED, 2, AHEAD);                                                    \
        else                                                                                  \
            UKR_FUSED(A_PACKED, 1, AHEAD);                                                    \
    }
#if defined(SIMD_B_AHEAD)
UKR_PACK_FN(ukr_pack_simd, SIMD_B_AHEAD)
#define UKR_PACK_SIMD ukr_pack_simd
#else
#define UKR_PACK_SIMD NULL
#endif
#if defined(SIMD_B_AHEAD_INTEL)
UKR_PACK_FN(ukr_pack_intel_simd, SIMD_B_AHEAD_INTEL)
#endif
#undef UKR_PACK_FN
#undef UKR_FUSED

/* ---- A transposed, B at most one vector wide --------------------------------- */

#if SIMD_MASKED
/* C [m x n] = alpha A^T B + beta C for n <= VW, A stored k x m (rows lda
 * apart) and B k x n (rows ldb apart), as dW = H^T dY of a 10-wide layer
 * needs it. A tile would broadcast 12 values of A's row p into one vector
 * of C's row of which n lanes are used; here C is held transposed, lanes
 * along m: each step loads A's row p at 2 * VW (or, n > 12, VW) rows of C
 * and broadcasts B's n values, every lane used. The sums run over k in
 * blocks of kc, stored (alpha, then beta; 1 after the first block) as
 * the tiles store them, each element's multiply-adds in the same order:
 * the same bits. */
#define NT_ACC(j) vf t##j##_0 = V_ZERO(), t##j##_1 = V_ZERO()
#define NT_STEP(j)                                                   \
    if (NN > (j)) {                                                  \
        const vf bj = V_BCAST(bq + (j));                             \
        t##j##_0 = V_FMA(a0, bj, t##j##_0);                          \
        if (MV == 2)                                                 \
            t##j##_1 = V_FMA(a1, bj, t##j##_1);                      \
    }
#define NT_OUT(j, h) r[j] = NN > (j) ? t##j##_##h : V_ZERO()
#define NT_OUTS(h)                                                   \
    NT_OUT(0, h); NT_OUT(1, h); NT_OUT(2, h); NT_OUT(3, h);          \
    NT_OUT(4, h); NT_OUT(5, h); NT_OUT(6, h); NT_OUT(7, h);          \
    NT_OUT(8, h); NT_OUT(9, h); NT_OUT(10, h); NT_OUT(11, h);        \
    NT_OUT(12, h); NT_OUT(13, h); NT_OUT(14, h); NT_OUT(15, h)
INL SIMD_TARGET void narrow_t(const int NN, const int MV, int64_t k, const float *a, int64_t lda,
                              const float *b, int64_t ldb, float *c, int64_t ldc, int64_t m,
                              float alpha, float beta)
{
    const vmask m0 = V_MASK(m), m1 = V_MASK(m - VW), nm = V_MASK(NN);
    const vf va = V_SET1(alpha), vb = V_SET1(beta);
    vf r[VW];
    int64_t p, i;
    int h;
    NT_ACC(0); NT_ACC(1); NT_ACC(2); NT_ACC(3); NT_ACC(4); NT_ACC(5); NT_ACC(6); NT_ACC(7);
    NT_ACC(8); NT_ACC(9); NT_ACC(10); NT_ACC(11); NT_ACC(12); NT_ACC(13); NT_ACC(14); NT_ACC(15);
    for (p = 0; p < k; p++, a += lda) {
        const float *bq = b + p * ldb;
        const vf a0 = V_LOADM(m0, a), a1 = MV == 2 ? V_LOADM(m1, a + VW) : a0;
        NT_STEP(0) NT_STEP(1) NT_STEP(2) NT_STEP(3) NT_STEP(4) NT_STEP(5) NT_STEP(6) NT_STEP(7)
        NT_STEP(8) NT_STEP(9) NT_STEP(10) NT_STEP(11) NT_STEP(12) NT_STEP(13) NT_STEP(14)
        NT_STEP(15)
    }
    for (h = 0; h < MV && h * VW < m; h++) {
        if (h == 0) {
            NT_OUTS(0);
        } else {
            NT_OUTS(1);
        }
        V_TRANSPOSE(r);
        for (i = 0; i < VW && h * VW + i < m; i++)
            put_c(c + (h * VW + i) * ldc, nm, r[i], va, vb, beta);
    }
}
#undef NT_ACC
#undef NT_STEP
#undef NT_OUT
#undef NT_OUTS

/* each n (1 .. VW) its own accumulators: named, not an array */
#define NT_CASE(NN)                                                                  \
    case NN:                                                                         \
        if (NN <= 12 && m > VW) {                                                    \
            narrow_t(NN, 2, k, a, lda, b, ldb, c, ldc, m, alpha, beta);              \
            break;                                                                   \
        }                                                                            \
        narrow_t(NN, 1, k, a, lda, b, ldb, c, ldc, m < VW ? m : VW, alpha, beta);    \
        if (m > VW)                                                                  \
            narrow_t(NN, 1, k, a + VW, lda, b, ldb, c + VW * ldc, ldc, m - VW, alpha, \
                     beta);                                                          \
        break;
static SIMD_TARGET void narrow_rows(int64_t k, const float *a, int64_t lda, const float *b,
                                    int64_t ldb, float *c, int64_t ldc, int64_t m, int64_t n,
                                    float alpha, float beta)
{
    switch (n) {
        NT_CASE(1) NT_CASE(2) NT_CASE(3) NT_CASE(4) NT_CASE(5) NT_CASE(6) NT_CASE(7) NT_CASE(8)
        NT_CASE(9) NT_CASE(10) NT_CASE(11) NT_CASE(12) NT_CASE(13) NT_CASE(14) NT_CASE(15)
        NT_CASE(16)
    default: break;
    }
}
#undef NT_CASE

/* The whole product, rows of C 2 * VW at a time, K in blocks of kc. */
static SIMD_TARGET void tn_narrow_simd(int64_t m, int64_t n, int64_t k, int64_t kc, float alpha,
                                       const float *a, int64_t lda, const float *b, int64_t ldb,
                                       float beta, float *c, int64_t ldc)
{
    int64_t i0, pc;
    for (i0 = 0; i0 < m; i0 += 2 * VW) {
        const int64_t mb = m - i0 < 2 * VW ? m - i0 : 2 * VW;
        for (pc = 0; pc < k; pc += kc)
            narrow_rows(k - pc < kc ? k - pc : kc, a + pc * lda + i0, lda, b + pc * ldb, ldb,
                        c + i0 * ldc, ldc, mb, n, alpha, pc == 0 ? beta : 1.0f);
    }
}
#define TN_NARROW tn_narrow_simd
#else
#define TN_NARROW NULL
#endif

/* ---- the epilogue on a tile ---------------------------------------------------- */

/* c[i][j] += bias[j] (bias NULL: nothing added), then ReLU when relu is
 * set: mlp__gemm_bias_relu_ref in vectors (the same operations on each
 * element); a ragged end through a mask, or one float at a time. */
static SIMD_TARGET void bias_relu_simd(float *c, int64_t ldc, int64_t m, int64_t n,
                                       const float *bias, int relu)
{
    int64_t i, j;
    for (i = 0; i < m; i++, c += ldc) {
        for (j = 0; j + VW <= n; j += VW) {
            vf v = V_LOAD(c + j);
            if (bias)
                v = V_ADD(v, V_LOAD(bias + j));
            V_STORE(c + j, relu ? V_RELU(v) : v);
        }
        if (j == n)
            continue;
        if (SIMD_MASKED) {
            const vmask mk = V_MASK(n - j);
            vf v = V_LOADM(mk, c + j);
            if (bias)
                v = V_ADD(v, V_LOADM(mk, bias + j));
            V_STOREM(c + j, mk, relu ? V_RELU(v) : v);
        } else
            mlp__gemm_bias_relu_ref(c + j, ldc, 1, n - j, bias ? bias + j : NULL, relu);
    }
}

#ifndef SIMD_ROWS_N
#define SIMD_ROWS_N INT64_MAX
#endif
/* the table, with the tile that packs B and kc_halves given */
#define KERNEL_TABLE(UKR_PACK, HALVES)                                                      \
    {SIMD_NAME, MR, NR, SIMD_MC, SIMD_KC, SIMD_NC, HALVES, SIMD_ROWS_N, ukr_simd,           \
     pack_a_simd, pack_b_simd, ROW_FN, ROWS_FN, SKIP_ROWS, SIMD_STEPS, finite_simd,         \
     ukr_skip_simd,                                                                         \
     UKR_PACK,                                                                              \
     ukr_bp_simd, SIMD_VEXP, bias_relu_simd, TN_NARROW}
const mlp__gemm_kernel SIMD_KERNEL = KERNEL_TABLE(UKR_PACK_SIMD, 0);
#if defined(SIMD_B_AHEAD_INTEL)
/* the same kernel on Intel's CPUs: all but the distance of B's fetch and
 * K's two halves under kc */
const mlp__gemm_kernel SIMD_KERNEL_INTEL = KERNEL_TABLE(ukr_pack_intel_simd, 1);
#endif
#undef KERNEL_TABLE
/* clang-format on */
