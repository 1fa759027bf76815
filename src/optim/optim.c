/*
 * optim.c - optimizers over a list of parameter tensors, each update
 * following PyTorch's documented algorithm:
 *   SGD   (torch.optim.SGD): g += wd·p; with momentum μ, b = g on the first
 *         step, else b = μ·b + (1-τ)·g; g = nesterov ? g + μ·b : b;
 *         p -= lr·g.
 *   Adam  (torch.optim.Adam): g += wd·p; m = β1·m + (1-β1)·g;
 *         v = β2·v + (1-β2)·g²; (amsgrad: v̂ = max(v̂, v));
 *         p -= lr/(1-β1^t) · m / (sqrt(v or v̂)/sqrt(1-β2^t) + ε).
 *   AdamW (torch.optim.AdamW): p *= 1 - lr·wd first, then Adam without L2.
 * State buffers are made on the first step that needs them, all before
 * any parameter changes, so a failed step changes nothing. Plain SGD (no
 * momentum, no decay) is one vectorised pass, split across the context's
 * threads for large parameters (element-wise: same result at any count).
 * With a communicator attached, a step first averages the gradients
 * across the ranks (dist.c).
 */
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "comm.h"
#include "kern/vec_fast.h"
#include "parallel.h"
#include "nn/model.h"
#include "optim/optim.h"

static const char *kind_name(int kind)
{
    return kind == MLP_OPTIM_SGD ? "SGD" : kind == MLP_OPTIM_ADAM ? "Adam" : "AdamW";
}

typedef struct {
    const mlp__storage *st;
    int i;
} param_ref;

static int by_storage(const void *a, const void *b)
{
    const param_ref *x = (const param_ref *)a, *y = (const param_ref *)b;
    uintptr_t p = (uintptr_t)x->st, q = (uintptr_t)y->st;
    return p < q ? -1 : p > q ? 1 : x->i - y->i;
}

/* The same tensor twice, or two tensors on one storage (a parameter and a
 * detached view of it), would be updated twice per step; PyTorch refuses
 * the first too. Sorting by storage finds them in n log n. */
static mlp_status duplicate_params(mlp_ctx *ctx, const char *fn, mlp_tensor *const *params, int n)
{
    param_ref *r;
    mlp_status s = MLP_OK;
    int i;
    if (n < 2)
        return MLP_OK;
    if (!(r = (param_ref *)mlp__calloc(ctx, fn, (size_t)n, sizeof *r)))
        return ctx->err.code;
    for (i = 0; i < n; i++) {
        r[i].st = params[i]->st;
        r[i].i = i;
    }
    qsort(r, (size_t)n, sizeof *r, by_storage);
    for (i = 1; i < n && s == MLP_OK; i++)
        if (r[i].st && r[i].st == r[i - 1].st)
            s = mlp__fail(ctx, MLP_ERR_ARG, "%s: params[%d] and params[%d] %s", fn, r[i - 1].i,
                          r[i].i,
                          params[r[i].i] == params[r[i - 1].i]
                              ? "are the same tensor; each parameter may appear once"
                              : "share their storage (one is a view of the other); it would be "
                                "updated twice per step");
    mlp__free(ctx, r);
    return s;
}

mlp_optim *mlp_optim_new(mlp_ctx *ctx, mlp_optim_kind kind, mlp_tensor *const *params, int n,
                         float lr)
{
    mlp_optim *o;
    int i;
    if (!ctx)
        return NULL;
    if ((int)kind < MLP_OPTIM_SGD || (int)kind > MLP_OPTIM_ADAMW) {
        mlp__fail(ctx, MLP_ERR_ARG, "%s: kind = %d is not an mlp_optim_kind", __func__, (int)kind);
        return NULL;
    }
    if (!params) {
        mlp__fail(ctx, MLP_ERR_NULL, "%s: params is NULL", __func__);
        return NULL;
    }
    if (n < 1) {
        mlp__fail(ctx, MLP_ERR_ARG, "%s: optimizer got an empty parameter list (n = %d)", __func__,
                  n);
        return NULL;
    }
    if (!(lr >= 0.0f) || !isfinite(lr)) {
        mlp__fail(ctx, MLP_ERR_ARG, "%s: invalid learning rate %g", __func__, (double)lr);
        return NULL;
    }
    for (i = 0; i < n; i++) {
        if (!params[i]) {
            mlp__fail(ctx, MLP_ERR_NULL, "%s: params[%d] is NULL", __func__, i);
            return NULL;
        }
        if (params[i]->ctx != ctx) {
            mlp__fail(ctx, MLP_ERR_CONTEXT, "%s: params[%d] belongs to another context", __func__,
                      i);
            return NULL;
        }
        if (mlp__stale(params[i], __func__, "a parameter"))
            return NULL;
        if (params[i]->node >= 0) {
            mlp__fail(ctx, MLP_ERR_ARG,
                      "%s: params[%d] is an op result; can't optimize a non-leaf tensor", __func__,
                      i);
            return NULL;
        }
    }
    if (duplicate_params(ctx, __func__, params, n) != MLP_OK)
        return NULL;
    o = (mlp_optim *)mlp__calloc(ctx, __func__, 1, sizeof *o);
    if (!o)
        return NULL;
    o->params = (mlp_tensor **)mlp__calloc(ctx, __func__, (size_t)n, sizeof *o->params);
    o->st = (mlp__pstate *)mlp__calloc(ctx, __func__, (size_t)n, sizeof *o->st);
    if (!o->params || !o->st) {
        mlp__free(ctx, o->params);
        mlp__free(ctx, o->st);
        mlp__free(ctx, o);
        return NULL;
    }
    memcpy(o->params, params, (size_t)n * sizeof *params);
    o->ctx = ctx;
    o->kind = (int)kind;
    o->n = n;
    o->lr = lr;
    o->beta1 = 0.9;
    o->beta2 = 0.999;
    o->eps = 1e-8;
    o->weight_decay = kind == MLP_OPTIM_ADAMW ? 1e-2 : 0.0;
    o->bucket_bytes = 262144.0;
    return o;
}

static mlp_optim *from_model(mlp_model *m, mlp_optim_kind kind, float lr, const char *fn)
{
    mlp_tensor *ps[64], **list = ps;
    mlp_optim *o;
    mlp_ctx *ctx;
    int n, i;
    if (!m)
        return NULL;
    ctx = m->ctx;
    n = mlp_model_num_params(m);
    if (n == 0) {
        mlp__fail(ctx, MLP_ERR_ARG, "%s: the model has no parameters", fn);
        return NULL;
    }
    if (n > 64) {
        list = (mlp_tensor **)mlp__calloc(ctx, fn, (size_t)n, sizeof *list);
        if (!list)
            return NULL;
    }
    for (i = 0; i < n; i++)
        list[i] = mlp_model_param(m, i);
    o = mlp_optim_new(ctx, kind, list, n, lr);
    if (!o && ctx->err.code != MLP_OK)
        mlp__fail_in(ctx, fn);
    if (list != ps)
        mlp__free(ctx, list);
    return o;
}

mlp_optim *mlp_sgd_new(mlp_model *m, float lr)
{
    return from_model(m, MLP_OPTIM_SGD, lr, __func__);
}
mlp_optim *mlp_adam_new(mlp_model *m, float lr)
{
    return from_model(m, MLP_OPTIM_ADAM, lr, __func__);
}
mlp_optim *mlp_adamw_new(mlp_model *m, float lr)
{
    return from_model(m, MLP_OPTIM_ADAMW, lr, __func__);
}

void mlp_optim_free(mlp_optim *o)
{
    int i;
    if (!o)
        return;
    mlp__dist_free(o->dist);
    for (i = 0; i < o->n; i++) {
        mlp__free_aligned(o->ctx, o->st[i].buf1);
        mlp__free_aligned(o->ctx, o->st[i].buf2);
        mlp__free_aligned(o->ctx, o->st[i].buf3);
    }
    mlp__free(o->ctx, o->params);
    mlp__free(o->ctx, o->st);
    mlp__free(o->ctx, o);
}

/* ---- settings ---- */

static int has_opt(int kind, mlp_optim_opt what)
{
    switch (what) {
    case MLP_OPT_LR:
    case MLP_OPT_WEIGHT_DECAY:
    case MLP_OPT_BUCKET_BYTES: return 1;
    case MLP_OPT_MOMENTUM:
    case MLP_OPT_DAMPENING:
    case MLP_OPT_NESTEROV: return kind == MLP_OPTIM_SGD;
    case MLP_OPT_BETA1:
    case MLP_OPT_BETA2:
    case MLP_OPT_EPS:
    case MLP_OPT_AMSGRAD: return kind != MLP_OPTIM_SGD;
    }
    return 0;
}

mlp_status mlp_optim_set(mlp_optim *o, mlp_optim_opt what, double v)
{
    if (!o)
        return MLP_ERR_NULL;
    if (!has_opt(o->kind, what))
        return mlp__fail(o->ctx, MLP_ERR_ARG, "%s: setting %d does not exist for %s", __func__,
                         (int)what, kind_name(o->kind));
    if (!isfinite(v))
        return mlp__fail(o->ctx, MLP_ERR_ARG, "%s: value of setting %d is not finite", __func__,
                         (int)what);
    /* the update runs in float: 1e300 would become Inf there */
    if (fabs(v) > FLT_MAX)
        return mlp__fail(o->ctx, MLP_ERR_ARG,
                         "%s: value %g of setting %d is beyond float's range (the update runs in "
                         "float)",
                         __func__, v, (int)what);
    switch (what) {
    case MLP_OPT_LR:
        if (v < 0)
            return mlp__fail(o->ctx, MLP_ERR_ARG, "%s: invalid learning rate %g", __func__, v);
        o->lr = v;
        break;
    case MLP_OPT_MOMENTUM:
        if (v < 0)
            return mlp__fail(o->ctx, MLP_ERR_ARG, "%s: invalid momentum value %g", __func__, v);
        if (o->nesterov && v <= 0)
            return mlp__fail(
                o->ctx, MLP_ERR_ARG,
                "%s: Nesterov momentum requires a momentum > 0 (turn nesterov off first)",
                __func__);
        o->momentum = v;
        break;
    case MLP_OPT_DAMPENING:
        if (o->nesterov && v != 0)
            return mlp__fail(
                o->ctx, MLP_ERR_ARG,
                "%s: Nesterov momentum requires zero dampening (turn nesterov off first)",
                __func__);
        o->dampening = v;
        break;
    case MLP_OPT_NESTEROV:
        if (v != 0 && v != 1)
            return mlp__fail(o->ctx, MLP_ERR_ARG, "%s: nesterov must be 0 or 1, got %g", __func__,
                             v);
        if (v == 1 && (o->momentum <= 0 || o->dampening != 0))
            return mlp__fail(o->ctx, MLP_ERR_ARG,
                             "%s: Nesterov momentum requires a momentum > 0 and zero dampening",
                             __func__);
        o->nesterov = (int)v;
        break;
    case MLP_OPT_WEIGHT_DECAY:
        if (v < 0)
            return mlp__fail(o->ctx, MLP_ERR_ARG, "%s: invalid weight_decay value %g", __func__, v);
        o->weight_decay = v;
        break;
    case MLP_OPT_BETA1:
    case MLP_OPT_BETA2:
        if (v < 0 || v >= 1)
            return mlp__fail(o->ctx, MLP_ERR_ARG, "%s: invalid beta%d %g (need 0 <= beta < 1)",
                             __func__, what == MLP_OPT_BETA1 ? 1 : 2, v);
        if (what == MLP_OPT_BETA1)
            o->beta1 = v;
        else
            o->beta2 = v;
        break;
    case MLP_OPT_EPS:
        if (v < 0)
            return mlp__fail(o->ctx, MLP_ERR_ARG, "%s: invalid epsilon %g", __func__, v);
        o->eps = v;
        break;
    case MLP_OPT_AMSGRAD:
        if (v != 0 && v != 1)
            return mlp__fail(o->ctx, MLP_ERR_ARG, "%s: amsgrad must be 0 or 1, got %g", __func__,
                             v);
        o->amsgrad = (int)v;
        break;
    case MLP_OPT_BUCKET_BYTES:
        if (v < 1)
            return mlp__fail(o->ctx, MLP_ERR_ARG, "%s: invalid bucket size %g bytes (need >= 1)",
                             __func__, v);
        if (o->dist && mlp__dist_set_bucket_bytes(o->dist, __func__, v) != MLP_OK)
            return o->ctx->err.code;
        o->bucket_bytes = v;
        break;
    }
    return MLP_OK;
}

double mlp_optim_get(const mlp_optim *o, mlp_optim_opt what)
{
    if (!o || !has_opt(o->kind, what))
        return NAN;
    switch (what) {
    case MLP_OPT_LR: return o->lr;
    case MLP_OPT_MOMENTUM: return o->momentum;
    case MLP_OPT_DAMPENING: return o->dampening;
    case MLP_OPT_NESTEROV: return o->nesterov;
    case MLP_OPT_WEIGHT_DECAY: return o->weight_decay;
    case MLP_OPT_BETA1: return o->beta1;
    case MLP_OPT_BETA2: return o->beta2;
    case MLP_OPT_EPS: return o->eps;
    case MLP_OPT_AMSGRAD: return o->amsgrad;
    case MLP_OPT_BUCKET_BYTES: return o->bucket_bytes;
    }
    return NAN;
}

int64_t mlp_optim_num_steps(const mlp_optim *o)
{
    return o ? o->steps : 0;
}

mlp_status mlp_optim_zero_grad(mlp_optim *o)
{
    int i;
    if (!o)
        return MLP_ERR_NULL;
    for (i = 0; i < o->n; i++)
        mlp_tensor_zero_grad(o->params[i]);
    return MLP_OK;
}

mlp_status mlp__zero_grad_backward(mlp_optim *o, mlp_tensor *l)
{
    mlp_status s = MLP_OK;
    int i;
    for (i = 0; i < o->n; i++)
        if (o->params[i]->grad)
            o->params[i]->grad_zero_due = 1;
    if (l)
        s = mlp_backward(l, NULL, 0);
    for (i = 0; i < o->n; i++)
        if (o->params[i]->grad_zero_due) {
            o->params[i]->grad_zero_due = 0;
            mlp_tensor_zero_grad(o->params[i]);
        }
    return s;
}

/* ---- step ---- */

static mlp_status need_buf(mlp_optim *o, const char *fn, float **buf, int64_t numel)
{
    if (*buf)
        return MLP_OK;
    *buf = (float *)mlp__alloc_aligned(o->ctx, fn, (size_t)(numel > 0 ? numel : 1) * sizeof(float));
    if (!*buf)
        return o->ctx->err.code;
    if (numel)
        memset(*buf, 0, (size_t)numel * sizeof(float));
    return MLP_OK;
}

/* SGD without momentum or weight decay (at float precision): p -= lr g,
 * which only streams memory. */
static int plain_sgd(const mlp_optim *o)
{
    return o->kind == MLP_OPTIM_SGD && (float)o->weight_decay == 0.0f && (float)o->momentum == 0.0f;
}

/* Elements [lo, hi) of one parameter's update: every element on its own,
 * so that any split across threads gives the same bits. */
static void sgd_range(const mlp_optim *o, mlp__pstate *s, float *p, const float *g, int64_t lo,
                      int64_t hi)
{
    mlp__sgd_k k;
    k.lr = (float)o->lr;
    k.wd = (float)o->weight_decay;
    k.mu = (float)o->momentum;
    k.damp = 1.0f - (float)o->dampening;
    k.nesterov = o->nesterov != 0;
    k.first = !s->mom_init;
    if (plain_sgd(o))
        mlp__vec_sub_scaled(p + lo, k.lr, g + lo, hi - lo);
    else
        mlp__sgd(p + lo, g + lo, k.mu != 0.0f ? s->buf1 + lo : NULL, hi - lo, &k);
}

static void adam_range(const mlp_optim *o, mlp__pstate *s, float *p, const float *g, int64_t lo,
                       int64_t hi)
{
    double t = (double)(s->step + 1);
    double bc1 = 1.0 - pow(o->beta1, t), bc2 = 1.0 - pow(o->beta2, t);
    float lr = (float)o->lr;
    mlp__adam_k k;
    k.decoupled = o->kind == MLP_OPTIM_ADAMW;
    k.amsgrad = o->amsgrad != 0;
    k.wd = (float)o->weight_decay;
    k.decay = 1.0f - lr * k.wd;
    k.b1 = (float)o->beta1;
    k.omb1 = 1.0f - k.b1;
    k.b2 = (float)o->beta2;
    k.omb2 = 1.0f - k.b2;
    k.eps = (float)o->eps;
    k.step_size = (float)(o->lr / bc1);
    k.bc2_sqrt = (float)sqrt(bc2);
    mlp__adam(p + lo, g + lo, s->buf1 + lo, s->buf2 + lo, k.amsgrad ? s->buf3 + lo : NULL, hi - lo,
              &k);
}

typedef struct {
    const mlp_optim *o;
    mlp__pstate *s;
    float *p;
    const float *g;
} update_job;

static void update_part(void *arg, int64_t lo, int64_t hi, int tid)
{
    const update_job *j = (const update_job *)arg;
    (void)tid;
    if (j->o->kind == MLP_OPTIM_SGD)
        sgd_range(j->o, j->s, j->p, j->g, lo, hi);
    else
        adam_range(j->o, j->s, j->p, j->g, lo, hi);
}

/* One parameter's update; a large one split across the context's
 * threads (plain SGD in larger parts than the others). */
static void update(const mlp_optim *o, mlp__pstate *s, float *p, const float *g, int64_t n)
{
    update_job j;
    j.o = o;
    j.s = s;
    j.p = p;
    j.g = g;
    mlp__parallel_for(o->ctx, n, (int64_t)1 << (plain_sgd(o) ? 15 : 12), update_part, &j);
}

mlp_status mlp_optim_step(mlp_optim *o)
{
    mlp_status s;
    if (!o)
        return MLP_ERR_NULL;
    if (o->dist && (s = mlp__dist_sync(o->dist, __func__, 0, NULL, 0)) != MLP_OK)
        return s;
    return mlp__optim_update(o, __func__);
}

mlp_status mlp__optim_update(mlp_optim *o, const char *fn)
{
    int i;
    /* first make every state buffer this step needs */
    for (i = 0; i < o->n; i++) {
        mlp_tensor *p = o->params[i];
        mlp__pstate *s = &o->st[i];
        if (!p->grad)
            continue;
        if (s->numel && s->numel != p->numel)
            return mlp__fail(o->ctx, MLP_ERR_SHAPE,
                             "%s: params[%d] changed size from %lld to %lld elements", fn, i,
                             (long long)s->numel, (long long)p->numel);
        if (p->grad->numel != p->numel)
            return mlp__fail(o->ctx, MLP_ERR_SHAPE,
                             "%s: params[%d]'s gradient has %lld elements, the parameter %lld", fn,
                             i, (long long)p->grad->numel, (long long)p->numel);
        if ((o->kind == MLP_OPTIM_SGD && o->momentum != 0 && need_buf(o, fn, &s->buf1, p->numel))
            || (o->kind != MLP_OPTIM_SGD
                && (need_buf(o, fn, &s->buf1, p->numel) || need_buf(o, fn, &s->buf2, p->numel)
                    || (o->amsgrad && need_buf(o, fn, &s->buf3, p->numel)))))
            return mlp__fail(o->ctx, MLP_ERR_NOMEM,
                             "%s: out of memory making the state of params[%d]", fn, i);
        s->numel = p->numel;
    }
    for (i = 0; i < o->n; i++) {
        mlp_tensor *p = o->params[i];
        mlp__pstate *s = &o->st[i];
        if (!p->grad)
            continue;
        update(o, s, p->data, p->grad->data, p->numel);
        if (o->kind == MLP_OPTIM_SGD && o->momentum != 0)
            s->mom_init = 1;
        s->step++;
        mlp__bump(p);
    }
    o->steps++;
    return MLP_OK;
}

/* ---- data-parallel training ---- */

mlp__dist *mlp__optim_dist(const mlp_optim *o)
{
    return o ? o->dist : NULL;
}

mlp_comm *mlp_optim_comm(const mlp_optim *o)
{
    return o ? mlp__dist_comm(o->dist) : NULL;
}

mlp_status mlp_optim_set_comm(mlp_optim *o, mlp_comm *comm)
{
    mlp__dist *d;
    if (!o)
        return MLP_ERR_NULL;
    if (comm && comm->ctx != o->ctx)
        return mlp__fail(o->ctx, MLP_ERR_CONTEXT, "%s: comm belongs to another context", __func__);
    if (comm && mlp__dist_comm(o->dist) == comm)
        return MLP_OK;
    d = o->dist;
    o->dist = NULL;
    mlp__dist_free(d);
    if (!comm)
        return MLP_OK;
    o->dist = mlp__dist_new(comm, __func__, o->params, o->n, o->bucket_bytes);
    return o->dist ? MLP_OK : o->ctx->err.code;
}

mlp_status mlp_optim_skip_step(mlp_optim *o)
{
    mlp_status s;
    if (!o)
        return MLP_ERR_NULL;
    if (!o->dist)
        return mlp__fail(o->ctx, MLP_ERR_STATE, "%s: the optimizer has no communicator", __func__);
    s = mlp__dist_sync(o->dist, __func__, 1, NULL, 0);
    return s == MLP_ERR_STATE ? MLP_OK : s;
}
