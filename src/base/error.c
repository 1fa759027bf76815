/*
 * error.c - status texts and the context's error state: the code and a
 * message naming the function and argument of the last failure.
 */
#include <stdio.h>
#include <string.h>

#include "core.h"
#include "base/num.h"

const char *mlp_status_str(mlp_status status)
{
    switch (status) {
    case MLP_OK: return "ok";
    case MLP_ERR_NULL: return "a required argument is NULL";
    case MLP_ERR_ARG: return "invalid argument";
    case MLP_ERR_SHAPE: return "tensor shapes do not fit together";
    case MLP_ERR_NOMEM: return "out of memory";
    case MLP_ERR_OVERFLOW: return "size overflow";
    case MLP_ERR_IO: return "input/output error";
    case MLP_ERR_FORMAT: return "malformed or corrupt file";
    case MLP_ERR_GRAPH_FREED:
        return "trying to backward through the graph a second time; "
               "use retain_graph on the first backward";
    case MLP_ERR_NO_GRAD: return "tensor does not require grad and has no grad_fn";
    case MLP_ERR_IMPLICIT_GRAD: return "grad can be implicitly created only for scalar outputs";
    case MLP_ERR_MODIFIED:
        return "a tensor needed for gradient computation was modified by an in-place operation";
    case MLP_ERR_NONFINITE: return "non-finite value (NaN or Inf)";
    case MLP_ERR_CONTEXT: return "handles belong to different contexts";
    case MLP_ERR_STATE: return "call not valid in the current state";
    case MLP_ERR_RANGE: return "index or label out of range";
    case MLP_ERR_UNSUPPORTED: return "not supported by this build or CPU";
    case MLP_ERR_VERSION: return "unsupported file version";
    case MLP_ERR_COMM: return "communication failed";
    }
    return "unknown status";
}

mlp_status mlp__fail(mlp_ctx *ctx, mlp_status code, const char *fmt, ...)
{
    va_list ap;
    if (!ctx)
        return code;
    ctx->err.code = code;
    va_start(ap, fmt);
    mlp__vsnprintf(ctx->err.msg, sizeof ctx->err.msg, fmt, ap); /* '.' in every locale */
    va_end(ap);
    return code;
}

mlp_status mlp__fail_null(mlp_ctx *ctx, const char *fn, const char *arg)
{
    char prev[MLP__ERRMSG_CAP];
    if (!ctx)
        return MLP_ERR_NULL;
    if (ctx->err.code != MLP_OK) {
        /* keep the first failure as the cause */
        memcpy(prev, ctx->err.msg, sizeof prev);
        prev[sizeof prev - 1] = '\0';
        snprintf(ctx->err.msg, sizeof ctx->err.msg, "%s: %s is NULL (after: %.400s)", fn, arg,
                 prev);
        return ctx->err.code;
    }
    return mlp__fail(ctx, MLP_ERR_NULL, "%s: %s is NULL", fn, arg);
}

mlp_status mlp__fail_in(mlp_ctx *ctx, const char *fn)
{
    char prev[MLP__ERRMSG_CAP];
    if (!ctx)
        return MLP_ERR_NULL;
    memcpy(prev, ctx->err.msg, sizeof prev);
    prev[sizeof prev - 1] = '\0';
    snprintf(ctx->err.msg, sizeof ctx->err.msg, "%s: %.400s", fn, prev);
    return ctx->err.code;
}

mlp_status mlp_ctx_errcode(const mlp_ctx *ctx)
{
    return ctx ? ctx->err.code : MLP_ERR_NULL;
}

const char *mlp_ctx_errmsg(const mlp_ctx *ctx)
{
    return ctx ? ctx->err.msg : "mlp_ctx_errmsg: ctx is NULL";
}

void mlp_ctx_clear_error(mlp_ctx *ctx)
{
    if (!ctx)
        return;
    ctx->err.code = MLP_OK;
    ctx->err.msg[0] = '\0';
}
