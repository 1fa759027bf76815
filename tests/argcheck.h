/*
 * argcheck.h - shared by the bad-argument tests (test_args.c, test_misuse.c):
 * assertions on a call's result and on the context's error code and
 * message (tensor makers are testutil.h's).
 */
#ifndef MLP_ARGCHECK_H
#define MLP_ARGCHECK_H

#include "testutil.h"

/* call returns NULL and ctx's code is `code`; the error is kept for EXPECT_MSG */
#define EXPECT_NULL_CODE_KEEP(ctx, call, code)                                                     \
    do {                                                                                           \
        mlp_ctx_clear_error(ctx);                                                                  \
        assert_null(call);                                                                         \
        if (mlp_ctx_errcode(ctx) != (code)) {                                                      \
            print_error("%s: code %s, expected %s (%s)\n", #call,                                  \
                        mlp_status_str(mlp_ctx_errcode(ctx)), mlp_status_str(code),                \
                        mlp_ctx_errmsg(ctx));                                                      \
            fail();                                                                                \
        }                                                                                          \
    } while (0)

/* the same, then the error is cleared */
#define EXPECT_NULL_CODE(ctx, call, code)                                                          \
    do {                                                                                           \
        EXPECT_NULL_CODE_KEEP(ctx, call, code);                                                    \
        mlp_ctx_clear_error(ctx);                                                                  \
    } while (0)

/* call returns status `code` and ctx records the same code */
#define EXPECT_STATUS(ctx, call, code)                                                             \
    do {                                                                                           \
        mlp_status args_s_;                                                                        \
        mlp_ctx_clear_error(ctx);                                                                  \
        args_s_ = (call);                                                                          \
        if (args_s_ != (code) || mlp_ctx_errcode(ctx) != (code)) {                                 \
            print_error("%s: returned %s, ctx %s, expected %s (%s)\n", #call,                      \
                        mlp_status_str(args_s_), mlp_status_str(mlp_ctx_errcode(ctx)),             \
                        mlp_status_str(code), mlp_ctx_errmsg(ctx));                                \
            fail();                                                                                \
        }                                                                                          \
        mlp_ctx_clear_error(ctx);                                                                  \
    } while (0)

/* the message recorded on ctx contains `needle` */
#define EXPECT_MSG(ctx, needle)                                                                    \
    do {                                                                                           \
        if (!strstr(mlp_ctx_errmsg(ctx), (needle))) {                                              \
            print_error("message '%s' does not contain '%s'\n", mlp_ctx_errmsg(ctx), (needle));    \
            fail();                                                                                \
        }                                                                                          \
    } while (0)

/* a two-input op on bad shapes: NULL, MLP_ERR_SHAPE, the message names the
 * op and both shapes */
#define EXPECT_SHAPE2(ctx, call, opname, sa, sb)                                                   \
    do {                                                                                           \
        EXPECT_NULL_CODE_KEEP(ctx, call, MLP_ERR_SHAPE);                                           \
        EXPECT_MSG(ctx, opname);                                                                   \
        EXPECT_MSG(ctx, sa);                                                                       \
        EXPECT_MSG(ctx, sb);                                                                       \
        mlp_ctx_clear_error(ctx);                                                                  \
    } while (0)

#endif
