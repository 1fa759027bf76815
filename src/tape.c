/*
 * tape.c - the gradient tape: an append-only array of the ops recorded in
 * execution order. Backward marks what the output depends on, checks that
 * nothing it needs was freed or modified, makes every gradient buffer it
 * will need, and only then walks the marked entries in reverse, calling
 * each op's backward. Leaf gradients are accumulated into buffers of their
 * own and added into .grad at the end, so a failure never leaves
 * gradients half-changed; a leaf whose .grad is all zero (the usual case
 * after zero_grad) accumulates into .grad itself, zeroed again on failure,
 * which saves a buffer fill and the final add per parameter.
 * When the context has a gradient hook, each leaf is handed to it as soon
 * as its .grad is final: a leaf accumulating in .grad itself right after
 * the backward of its earliest use (so a data-parallel optimizer can send
 * it while the rest of backward runs), any other at the commit.
 */
#include <math.h>
#include <string.h>

#include "core.h"
#include "kern/vec_fast.h"

int mlp__should_record(mlp_ctx *ctx, mlp_tensor *const *in, int nin)
{
    int i;
    if (!ctx->grad_enabled)
        return 0;
    for (i = 0; i < nin; i++)
        if (in[i] && in[i]->requires_grad)
            return 1;
    return 0;
}

mlp__node *mlp__record(mlp_ctx *ctx, const char *fn, const mlp__op *op, mlp_tensor *out,
                       mlp_tensor *const *in, int nin)
{
    mlp__node *n;
    int i;
    if (mlp__grow(ctx, fn, (void **)&ctx->nodes, &ctx->cap_nodes, ctx->nnodes + 1,
                  sizeof *ctx->nodes)
        != MLP_OK)
        return NULL;
    n = &ctx->nodes[ctx->nnodes];
    memset(n, 0, sizeof *n);
    n->op = op;
    n->fn = fn;
    n->out = out;
    n->nin = nin;
    for (i = 0; i < nin; i++) {
        n->in[i] = in[i];
        if (in[i]) {
            in[i]->refs++;
            n->in_version[i] = mlp__version(in[i]);
        }
    }
    n->out_version = mlp__version(out);
    out->node = (int64_t)ctx->nnodes;
    out->requires_grad = 1;
    ctx->nnodes++;
    return n;
}

void mlp__node_save(mlp__node *n, mlp_tensor *t)
{
    if (n->nsaved < MLP__MAX_SAVED) {
        t->refs++;
        n->saved[n->nsaved++] = t;
    }
}

static void node_release_saved(mlp__node *n)
{
    int i;
    for (i = 0; i < n->nsaved; i++) {
        mlp__tensor_unref(n->saved[i]);
        n->saved[i] = NULL;
    }
    n->nsaved = 0;
}

mlp__tape_mark mlp__tape_mark_now(const mlp_ctx *ctx)
{
    mlp__tape_mark m;
    m.nodes = ctx->nnodes;
    m.results = ctx->nresults;
    return m;
}

void mlp__tape_truncate(mlp_ctx *ctx, mlp__tape_mark m)
{
    size_t i;
    int k;
    for (i = m.nodes; i < ctx->nnodes; i++) {
        mlp__node *n = &ctx->nodes[i];
        node_release_saved(n);
        for (k = 0; k < n->nin; k++)
            mlp__tensor_unref(n->in[k]);
    }
    if (ctx->nnodes > m.nodes)
        ctx->nnodes = m.nodes;
    for (i = m.results; i < ctx->nresults; i++)
        mlp__tensor_unref(ctx->results[i]);
    if (ctx->nresults > m.results)
        ctx->nresults = m.results;
}

void mlp_tape_reset(mlp_ctx *ctx)
{
    mlp__tape_mark start = {0, 0};
    mlp_tensor *older;
    if (!ctx)
        return;
    /* handles released before this reset may be reused from now on; the
       ones released by it wait for the next reset (a use is reported) */
    older = mlp__handles_take_retired(ctx);
    mlp__tape_truncate(ctx, start);
    mlp__handles_recycle(ctx, older);
}

size_t mlp_tape_size(const mlp_ctx *ctx)
{
    return ctx ? ctx->nnodes : 0;
}

void mlp__tape_destroy(mlp_ctx *ctx)
{
    mlp_tape_reset(ctx);
    mlp__free(ctx, ctx->nodes);
    mlp__free(ctx, ctx->results);
    ctx->nodes = NULL;
    ctx->results = NULL;
    ctx->cap_nodes = ctx->cap_results = 0;
    mlp__free_lists_destroy(ctx);
}

/* ---- backward ---- */

/* Give t a gradient buffer for this backward (if it has none yet): zeroed,
 * or left as it is for its first writer to overwrite (fresh). */
static mlp_status need_gbuf(mlp_ctx *ctx, const char *fn, mlp_tensor *t, int fresh)
{
    if (t->gbuf)
        return MLP_OK;
    t->gbuf = mlp__storage_get(ctx, fn, t->numel);
    if (!t->gbuf)
        return ctx->err.code;
    t->gbuf_fresh = fresh != 0;
    if (!fresh && t->numel)
        memset(t->gbuf->data, 0, (size_t)t->numel * sizeof(float));
    return MLP_OK;
}

/* Whether input k of n may get a fresh buffer from n (the first node of
 * the walk to write it, since every pass walks newest first): n's
 * backward overwrites that input's gradient and the input is not also
 * another input of n (whose gradient would then be added into it). */
static int fresh_for(const mlp__node *n, int k)
{
    int j;
    if (!(n->op->overwrites & (1u << k)))
        return 0;
    for (j = 0; j < n->nin; j++)
        if (j != k && n->in[j] == n->in[k])
            return 0;
    return 1;
}

/* A leaf whose .grad holds only zeros (after zero_grad, or just made) and
 * is used by nothing else accumulates straight into .grad: 0 + g is g (up
 * to the sign of a zero), so neither a zeroed buffer nor the commit's add
 * is needed. Returns 1 when it did so. A .grad due to be zeroed
 * (grad_zero_due) is zeroed here, or, when its first writer overwrites it
 * (fresh), left for that writer. A failed backward zeroes such a .grad
 * again. */
static int alias_leaf_grad(mlp_tensor *t, int fresh)
{
    mlp_tensor *g = t->grad;
    const int due = t->grad_zero_due;
    int alias;
    if (t->gbuf || !g)
        return 0;
    t->grad_zero_due = 0;
    alias = g->st && g->refs == 1 && g->st->refs == 1 && g->numel == t->numel
            && (due || mlp__vec_all_zero(g->data, g->numel));
    if (due && !(alias && fresh) && g->numel)
        memset(g->data, 0, (size_t)g->numel * sizeof(float));
    if (!alias)
        return 0;
    g->st->refs++;
    t->gbuf = g->st;
    t->gbuf_fresh = due && fresh;
    return 1;
}

static int leaf_aliased(const mlp_tensor *t)
{
    return t->node < 0 && t->grad && t->gbuf && t->gbuf == t->grad->st;
}

static void drop_gbuf(mlp_ctx *ctx, mlp_tensor *t)
{
    mlp__storage_release(ctx, t->gbuf);
    t->gbuf = NULL;
    t->gbuf_fresh = 0;
}

/* The marked node below *i, newest first, or NULL past node 0: every
 * pass of backward walks the marked nodes in this order
 * (for (i = top + 1; (n = prev_marked(ctx, &i));)). */
static mlp__node *prev_marked(mlp_ctx *ctx, int64_t *i)
{
    while (--*i >= 0)
        if (ctx->nodes[*i].mark)
            return &ctx->nodes[*i];
    return NULL;
}

/* An input of n that receives a gradient, or NULL. */
static mlp_tensor *grad_input(const mlp__node *n, int k)
{
    mlp_tensor *in = k < n->nin ? n->in[k] : NULL;
    return in && in->requires_grad ? in : NULL;
}

/* Give leaf t its first gradient: zeros of t's shape, owned by t. */
static mlp_status new_grad(mlp_ctx *ctx, const char *fn, mlp_tensor *t)
{
    t->grad = mlp__tensor_new(ctx, fn, t->ndim, t->shape);
    if (!t->grad)
        return ctx->err.code;
    if (t->numel)
        memset(t->grad->data, 0, (size_t)t->numel * sizeof(float));
    return MLP_OK;
}

/* What backward refuses before looking at the graph. */
static mlp_status check_args(const char *fn, mlp_tensor *out, const mlp_tensor *grad_out)
{
    mlp_ctx *ctx = out->ctx;
    if (mlp__stale(out, fn, "out"))
        return MLP_ERR_STATE;
    if (grad_out && grad_out->ctx != ctx)
        return mlp__fail(ctx, MLP_ERR_CONTEXT, "%s: grad_out belongs to another context", fn);
    if (grad_out && mlp__stale(grad_out, fn, "grad_out"))
        return MLP_ERR_STATE;
    if (!grad_out && out->numel != 1)
        return mlp__fail(ctx, MLP_ERR_IMPLICIT_GRAD,
                         "%s: grad can be implicitly created only for scalar outputs "
                         "(out has %lld elements; pass grad_out)",
                         fn, (long long)out->numel);
    if (grad_out && grad_out->numel != out->numel)
        return mlp__fail(ctx, MLP_ERR_SHAPE, "%s: grad_out has %lld elements, out has %lld", fn,
                         (long long)grad_out->numel, (long long)out->numel);
    if (!out->requires_grad)
        return mlp__fail(ctx, MLP_ERR_NO_GRAD, "%s: out does not require grad and has no grad_fn",
                         fn);
    return MLP_OK;
}

/* Backward on a leaf that requires grad: its gradient is grad_out. */
static mlp_status backward_leaf(const char *fn, mlp_tensor *out, const mlp_tensor *grad_out)
{
    mlp_ctx *ctx = out->ctx;
    int64_t i;
    if (!out->grad && new_grad(ctx, fn, out) != MLP_OK)
        return ctx->err.code;
    for (i = 0; i < out->numel; i++)
        out->grad->data[i] += grad_out ? grad_out->data[i] : 1.0f;
    if (ctx->grad_hook)
        ctx->grad_hook(ctx->grad_hook_user, out);
    return MLP_OK;
}

/* Pass 1: mark what node top depends on; refuse a spent or modified graph. */
static mlp_status mark_graph(mlp_ctx *ctx, const char *fn, int64_t top)
{
    mlp__node *n;
    int64_t i;
    int k;
    ctx->nodes[top].mark = 1;
    for (i = top + 1; (n = prev_marked(ctx, &i));) {
        if (n->spent)
            return mlp__fail(ctx, MLP_ERR_GRAPH_FREED,
                             "%s: trying to backward through the graph a second time "
                             "(%s's saved values were freed by an earlier backward); pass "
                             "retain_graph = 1 to the first backward",
                             fn, n->fn);
        for (k = 0; k < n->nin; k++) {
            mlp_tensor *in = n->in[k];
            if (!in)
                continue;
            if ((n->op->saves_inputs & (1u << k)) && mlp__version(in) != n->in_version[k])
                return mlp__fail(ctx, MLP_ERR_MODIFIED,
                                 "%s: input %d of %s was modified in place after it was "
                                 "used (version %llu, expected %llu)",
                                 fn, k, n->fn, (unsigned long long)mlp__version(in),
                                 (unsigned long long)n->in_version[k]);
            if (in->requires_grad && in->node >= 0)
                ctx->nodes[in->node].mark = 1;
        }
        if (n->op->saves_output && mlp__version(n->out) != n->out_version)
            return mlp__fail(ctx, MLP_ERR_MODIFIED,
                             "%s: the output of %s was modified in place after it was "
                             "computed",
                             fn, n->fn);
    }
    return MLP_OK;
}

/* Pass 2: every buffer the walk needs, before any gradient changes. */
static mlp_status make_buffers(mlp_ctx *ctx, const char *fn, int64_t top)
{
    mlp__node *n;
    mlp_tensor *in;
    int64_t i;
    int k, fresh;
    for (i = top + 1; (n = prev_marked(ctx, &i));) {
        if (need_gbuf(ctx, fn, n->out, 0) != MLP_OK)
            return ctx->err.code;
        for (k = 0; k < n->nin; k++) {
            if (!(in = grad_input(n, k)))
                continue;
            fresh = fresh_for(n, k);
            if (in->node < 0)
                in->last_use = i; /* ends as the earliest use */
            if (in->node < 0 && !in->grad) {
                if (new_grad(ctx, fn, in) != MLP_OK)
                    return ctx->err.code;
                in->grad_new = 1;
            }
            /* a leaf whose .grad is zero accumulates into it directly */
            if (in->node < 0 && alias_leaf_grad(in, fresh))
                continue;
            if (need_gbuf(ctx, fn, in, fresh) != MLP_OK)
                return ctx->err.code;
        }
    }
    return MLP_OK;
}

/* With check_finite on: refuse a non-finite gradient of input k of n. */
static mlp_status check_grad_finite(mlp_ctx *ctx, const char *fn, const mlp__node *n, int k,
                                    const float *g)
{
    int64_t j;
    for (j = 0; j < n->in[k]->numel; j++)
        if (!isfinite(g[j]))
            return mlp__fail(ctx, MLP_ERR_NONFINITE,
                             "%s: gradient of input %d of %s has a non-finite value (%g) at "
                             "element %lld",
                             fn, k, n->fn, (double)g[j], (long long)j);
    return MLP_OK;
}

/* Pass 3: seed out's buffer with grad_out (or 1) and call each marked
 * node's backward, newest first; each adds into its inputs' buffers, or
 * writes those it made unzeroed (n->fresh; fresh_for). */
static mlp_status walk(mlp_ctx *ctx, const char *fn, mlp_tensor *out, const mlp_tensor *grad_out)
{
    float *gin[MLP__MAX_IN];
    mlp__node *n;
    mlp_tensor *in;
    int64_t i, j;
    int k;
    for (j = 0; j < out->numel; j++)
        out->gbuf->data[j] = grad_out ? grad_out->data[j] : 1.0f;
    for (i = out->node + 1; (n = prev_marked(ctx, &i));) {
        n->fresh = 0;
        for (k = 0; k < MLP__MAX_IN; k++) {
            gin[k] = (in = grad_input(n, k)) ? in->gbuf->data : NULL;
            if (in && in->gbuf_fresh)
                n->fresh |= 1u << k;
        }
        n->op->backward(ctx, n, n->out->gbuf->data, gin);
        for (k = 0; k < n->nin; k++)
            if ((in = grad_input(n, k)))
                in->gbuf_fresh = 0;
        drop_gbuf(ctx, n->out);
        for (k = 0; ctx->check_finite && k < n->nin; k++)
            if (gin[k] && check_grad_finite(ctx, fn, n, k, gin[k]) != MLP_OK)
                return MLP_ERR_NONFINITE;
        /* leaves accumulating in .grad are final after their earliest use */
        for (k = 0; ctx->grad_hook && k < n->nin; k++)
            if ((in = grad_input(n, k)) && in->node < 0 && in->last_use == i && leaf_aliased(in)) {
                in->last_use = -1;
                ctx->grad_hook(ctx->grad_hook_user, in);
            }
    }
    return MLP_OK;
}

/* Pass 4: add the leaves' gradients into .grad; unless retained, mark the
 * nodes spent and drop what they saved. Cannot fail. */
static void commit(mlp_ctx *ctx, int64_t top, int retain_graph)
{
    mlp__node *n;
    mlp_tensor *in;
    int64_t i;
    int k;
    for (i = top + 1; (n = prev_marked(ctx, &i));) {
        for (k = 0; k < n->nin; k++) {
            if (!(in = grad_input(n, k)) || in->node >= 0 || !in->gbuf)
                continue;
            if (!leaf_aliased(in))
                mlp__vec_acc(in->grad->data, in->gbuf->data, in->numel);
            in->grad_new = 0;
            drop_gbuf(ctx, in);
            if (ctx->grad_hook && in->last_use >= 0) {
                in->last_use = -1;
                ctx->grad_hook(ctx->grad_hook_user, in);
            }
        }
        if (!retain_graph) {
            n->spent = 1;
            node_release_saved(n);
        }
    }
}

/* Last, after success or failure: release every gradient buffer of the
 * marked region and clear the marks. After a failure in passes 1 to 3,
 * first put each leaf's gradient back as it was before the call (one it
 * made is gone again, one it accumulated into directly was all zero). */
static void finish(mlp_ctx *ctx, int64_t top, int failed)
{
    mlp__node *n;
    mlp_tensor *in;
    int64_t i;
    int k;
    for (i = top + 1; (n = prev_marked(ctx, &i));) {
        n->mark = 0;
        drop_gbuf(ctx, n->out);
        for (k = 0; k < n->nin; k++) {
            if (!(in = n->in[k]))
                continue;
            if (failed && leaf_aliased(in) && in->numel)
                memset(in->grad->data, 0, (size_t)in->numel * sizeof(float));
            if (failed && in->grad_new) {
                mlp__tensor_unref(in->grad);
                in->grad = NULL;
                in->grad_new = 0;
            }
            drop_gbuf(ctx, in);
        }
    }
}

mlp_status mlp_backward(mlp_tensor *out, const mlp_tensor *grad_out, int retain_graph)
{
    mlp_ctx *ctx;
    mlp_status s;
    if (!out)
        return MLP_ERR_NULL;
    ctx = out->ctx;
    if ((s = check_args(__func__, out, grad_out)) != MLP_OK)
        return s;
    if (out->node < 0)
        return backward_leaf(__func__, out, grad_out);
    if ((s = mark_graph(ctx, __func__, out->node)) == MLP_OK
        && (s = make_buffers(ctx, __func__, out->node)) == MLP_OK
        && (s = walk(ctx, __func__, out, grad_out)) == MLP_OK)
        commit(ctx, out->node, retain_graph);
    finish(ctx, out->node, s != MLP_OK);
    return s;
}
