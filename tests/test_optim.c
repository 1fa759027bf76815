/*
 * test_optim.c - SGD (plain, momentum, dampening, Nesterov, weight decay),
 * Adam (L2 decay, amsgrad) and AdamW: the first three steps on a small
 * parameter with fixed gradients against torch.optim, settings and their
 * validation, skipped parameters, version bumps, allocation failure in a
 * step, and the learning-rate schedules.
 */
#include "testutil.h"

/* Expected values: torch 1.13 torch.optim.<cls>([p], **kw) on a float32
 * p = [1, -2, 0.5], p.grad set to G[0], G[1], G[2] before each step();
 * p printed after each step with "%.9g". */
static const float P0[3] = {1.0f, -2.0f, 0.5f};
static const float G[3][3] = {{0.1f, -0.2f, 0.3f}, {-0.5f, 0.4f, 0.05f}, {0.2f, 0.2f, -0.1f}};

/* sgd_plain: {'lr': 0.1} */
static const float sgd_plain_expect[3][3] = {
    {0.99000001f, -1.98000002f, 0.469999999f},
    {1.03999996f, -2.01999998f, 0.465000004f},
    {1.01999998f, -2.03999996f, 0.474999994f},
};
/* sgd_momentum: {'lr': 0.1, 'momentum': 0.9} */
static const float sgd_momentum_expect[3][3] = {
    {0.99000001f, -1.98000002f, 0.469999999f},
    {1.03100002f, -2.00200009f, 0.437999994f},
    {1.04789996f, -2.04180002f, 0.419200003f},
};
/* sgd_dampening: {'lr': 0.1, 'momentum': 0.9, 'dampening': 0.5} */
static const float sgd_dampening_expect[3][3] = {
    {0.99000001f, -1.98000002f, 0.469999999f},
    {1.00600004f, -1.98199999f, 0.440499991f},
    {1.01040006f, -1.99380004f, 0.418949991f},
};
/* sgd_nesterov: {'lr': 0.1, 'momentum': 0.9, 'nesterov': True} */
static const float sgd_nesterov_expect[3][3] = {
    {0.981000006f, -1.96200001f, 0.442999989f},
    {1.06790006f, -2.02180004f, 0.409199983f},
    {1.06311011f, -2.07762003f, 0.402279973f},
};
/* sgd_wd: {'lr': 0.1, 'momentum': 0.5, 'weight_decay': 0.1} */
static const float sgd_wd_expect[3][3] = {
    {0.980000019f, -1.96000004f, 0.465000004f},
    {1.01020002f, -1.96039999f, 0.437849998f},
    {0.995198011f, -1.96099603f, 0.429896504f},
};
/* adam: {'lr': 0.1} */
static const float adam_expect[3][3] = {
    {0.899999976f, -1.89999998f, 0.400000006f},
    {0.95983541f, -1.93661034f, 0.321667284f},
    {0.979554892f, -1.98853445f, 0.284121871f},
};
/* adam_wd: {'lr': 0.1, 'weight_decay': 0.1} */
static const float adam_wd_expect[3][3] = {
    {0.899999976f, -1.89999998f, 0.400000006f},
    {0.937521994f, -1.87528312f, 0.316566586f},
    {0.927303731f, -1.85794866f, 0.26507929f},
};
/* adamw: {'lr': 0.1} (default weight_decay 0.01) */
static const float adamw_expect[3][3] = {
    {0.899000049f, -1.898f, 0.399500012f},
    {0.957936466f, -1.93271244f, 0.32076779f},
    {0.976698041f, -1.9827038f, 0.282901615f},
};
/* adamw_wd: {'lr': 0.1, 'weight_decay': 0.1, 'betas': (0.8, 0.99), 'eps': 1e-06} */
static const float adamw_wd_expect[3][3] = {
    {0.890000999f, -1.88000047f, 0.395000339f},
    {0.945666254f, -1.90330064f, 0.315956831f},
    {0.953826725f, -1.94106829f, 0.2834149f},
};

/* With shrinking gradients amsgrad's running max differs from Adam:
 * same p0, gradients G2, torch.optim.Adam(lr=0.1, betas=(0.9, 0.9)) with
 * and without amsgrad=True. */
static const float G2[3][3] = {{1.0f, -1.0f, 0.5f}, {0.01f, 0.01f, 0.01f}, {0.01f, -0.01f, 0.01f}};
static const float adam_decay_expect[3][3] = {
    {0.899999976f, -1.89999998f, 0.400000006f},
    {0.830414414f, -1.83194375f, 0.329661489f},
    {0.774467468f, -1.77721155f, 0.272452414f},
};
static const float amsgrad_decay_expect[3][3] = {
    {0.899999976f, -1.89999998f, 0.400000006f},
    {0.833981633f, -1.83543253f, 0.333256185f},
    {0.783623457f, -1.78616774f, 0.281743854f},
};

typedef struct setting {
    mlp_optim_opt what;
    double value;
} setting;

/* Run three steps of `kind` with the settings and compare with expect. */
static void run3(mlp_optim_kind kind, const setting *set, int nset, const float (*grads)[3],
                 const float (*expect)[3])
{
    tu_alloc a;
    mlp_ctx *ctx = tu_ctx(&a, -1);
    int64_t shape = 3;
    mlp_tensor *p = mlp_tensor_from(ctx, 1, &shape, P0), *g;
    mlp_optim *o;
    int i, k;
    assert_ok(ctx, mlp_tensor_set_requires_grad(p, 1));
    o = mlp_optim_new(ctx, kind, &p, 1, 0.1f);
    assert_handle(ctx, o);
    for (i = 0; i < nset; i++)
        assert_ok(ctx, mlp_optim_set(o, set[i].what, set[i].value));
    for (i = 0; i < 3; i++) {
        uint64_t v;
        g = mlp_tensor_from(ctx, 1, &shape, grads[i]);
        assert_ok(ctx, mlp_optim_zero_grad(o));
        assert_ok(ctx, mlp_backward(p, g, 0)); /* a leaf: p.grad += g */
        mlp_tensor_free(g);
        v = mlp_tensor_version(p);
        assert_ok(ctx, mlp_optim_step(o));
        assert_true(mlp_tensor_version(p) > v);
        for (k = 0; k < 3; k++)
            assert_close(mlp_tensor_get(p, k), expect[i][k], 1e-6, 2e-6);
        /* the gradient itself is not changed by the update */
        for (k = 0; k < 3; k++)
            assert_close(mlp_tensor_get(mlp_tensor_grad(p), k), grads[i][k], 0, 0);
    }
    assert_int_equal(mlp_optim_num_steps(o), 3);
    mlp_optim_free(o);
    mlp_tensor_free(p);
    mlp_ctx_free(ctx);
    assert_int_equal(a.live, 0);
}

static void sgd__plain_matches_torch(void **state)
{
    (void)state;
    run3(MLP_OPTIM_SGD, NULL, 0, G, sgd_plain_expect);
}

static void sgd__momentum_matches_torch(void **state)
{
    setting s[] = {{MLP_OPT_MOMENTUM, 0.9}};
    (void)state;
    run3(MLP_OPTIM_SGD, s, 1, G, sgd_momentum_expect);
}

static void sgd__dampening_matches_torch(void **state)
{
    setting s[] = {{MLP_OPT_MOMENTUM, 0.9}, {MLP_OPT_DAMPENING, 0.5}};
    (void)state;
    run3(MLP_OPTIM_SGD, s, 2, G, sgd_dampening_expect);
}

static void sgd__nesterov_matches_torch(void **state)
{
    setting s[] = {{MLP_OPT_MOMENTUM, 0.9}, {MLP_OPT_NESTEROV, 1}};
    (void)state;
    run3(MLP_OPTIM_SGD, s, 2, G, sgd_nesterov_expect);
}

static void sgd__weight_decay_matches_torch(void **state)
{
    setting s[] = {{MLP_OPT_MOMENTUM, 0.5}, {MLP_OPT_WEIGHT_DECAY, 0.1}};
    (void)state;
    run3(MLP_OPTIM_SGD, s, 2, G, sgd_wd_expect);
}

static void adam__matches_torch(void **state)
{
    (void)state;
    run3(MLP_OPTIM_ADAM, NULL, 0, G, adam_expect);
}

static void adam__l2_weight_decay_matches_torch(void **state)
{
    setting s[] = {{MLP_OPT_WEIGHT_DECAY, 0.1}};
    (void)state;
    run3(MLP_OPTIM_ADAM, s, 1, G, adam_wd_expect);
}

static void adam__amsgrad_keeps_the_max_and_matches_torch(void **state)
{
    setting plain[] = {{MLP_OPT_BETA2, 0.9}};
    setting ams[] = {{MLP_OPT_BETA2, 0.9}, {MLP_OPT_AMSGRAD, 1}};
    (void)state;
    run3(MLP_OPTIM_ADAM, plain, 1, G2, adam_decay_expect);
    run3(MLP_OPTIM_ADAM, ams, 2, G2, amsgrad_decay_expect);
}

static void adamw__decoupled_decay_matches_torch(void **state)
{
    setting s[] = {{MLP_OPT_WEIGHT_DECAY, 0.1},
                   {MLP_OPT_BETA1, 0.8},
                   {MLP_OPT_BETA2, 0.99},
                   {MLP_OPT_EPS, 1e-6}};
    (void)state;
    run3(MLP_OPTIM_ADAMW, NULL, 0, G, adamw_expect);
    run3(MLP_OPTIM_ADAMW, s, 4, G, adamw_wd_expect);
}

static void optim__settings_have_defaults_and_are_validated(void **state)
{
    mlp_ctx *ctx = tu_ctx_of(state);
    int64_t shape = 3;
    mlp_tensor *p = mlp_tensor_from(ctx, 1, &shape, P0);
    mlp_optim *sgd, *adam, *adamw;
    mlp_tensor_set_requires_grad(p, 1);
    sgd = mlp_optim_new(ctx, MLP_OPTIM_SGD, &p, 1, 0.5f);
    adam = mlp_optim_new(ctx, MLP_OPTIM_ADAM, &p, 1, 0.001f);
    adamw = mlp_optim_new(ctx, MLP_OPTIM_ADAMW, &p, 1, 0.001f);
    assert_non_null(sgd);
    assert_non_null(adam);
    assert_non_null(adamw);
    assert_close(mlp_optim_get(sgd, MLP_OPT_LR), 0.5, 0, 0);
    assert_close(mlp_optim_get(sgd, MLP_OPT_MOMENTUM), 0.0, 0, 0);
    assert_true(isnan(mlp_optim_get(sgd, MLP_OPT_BETA1)));
    assert_true(isnan(mlp_optim_get(adam, MLP_OPT_MOMENTUM)));
    assert_close(mlp_optim_get(adam, MLP_OPT_BETA1), 0.9, 0, 0);
    assert_close(mlp_optim_get(adam, MLP_OPT_BETA2), 0.999, 0, 0);
    assert_close(mlp_optim_get(adam, MLP_OPT_EPS), 1e-8, 0, 0);
    assert_close(mlp_optim_get(adam, MLP_OPT_WEIGHT_DECAY), 0.0, 0, 0);
    assert_close(mlp_optim_get(adamw, MLP_OPT_WEIGHT_DECAY), 0.01, 0, 0);

    /* as torch: Nesterov needs momentum > 0 and zero dampening */
    assert_int_equal(mlp_optim_set(sgd, MLP_OPT_NESTEROV, 1), MLP_ERR_ARG);
    assert_non_null(strstr(mlp_ctx_errmsg(ctx), "Nesterov"));
    assert_ok(ctx, mlp_optim_set(sgd, MLP_OPT_MOMENTUM, 0.9));
    assert_ok(ctx, mlp_optim_set(sgd, MLP_OPT_DAMPENING, 0.1));
    assert_int_equal(mlp_optim_set(sgd, MLP_OPT_NESTEROV, 1), MLP_ERR_ARG);
    assert_ok(ctx, mlp_optim_set(sgd, MLP_OPT_DAMPENING, 0));
    assert_ok(ctx, mlp_optim_set(sgd, MLP_OPT_NESTEROV, 1));
    assert_int_equal(mlp_optim_set(sgd, MLP_OPT_MOMENTUM, 0), MLP_ERR_ARG);
    assert_int_equal(mlp_optim_set(sgd, MLP_OPT_NESTEROV, 2), MLP_ERR_ARG);

    assert_int_equal(mlp_optim_set(sgd, MLP_OPT_LR, -1), MLP_ERR_ARG);
    assert_int_equal(mlp_optim_set(sgd, MLP_OPT_LR, NAN), MLP_ERR_ARG);
    assert_int_equal(mlp_optim_set(sgd, MLP_OPT_BETA1, 0.5), MLP_ERR_ARG);
    assert_int_equal(mlp_optim_set(adam, MLP_OPT_MOMENTUM, 0.5), MLP_ERR_ARG);
    assert_int_equal(mlp_optim_set(adam, MLP_OPT_BETA1, 1.0), MLP_ERR_ARG);
    assert_int_equal(mlp_optim_set(adam, MLP_OPT_BETA2, -0.1), MLP_ERR_ARG);
    assert_int_equal(mlp_optim_set(adam, MLP_OPT_EPS, -1), MLP_ERR_ARG);
    assert_int_equal(mlp_optim_set(adam, MLP_OPT_WEIGHT_DECAY, -1), MLP_ERR_ARG);
    assert_int_equal(mlp_optim_set(adam, MLP_OPT_AMSGRAD, 0.5), MLP_ERR_ARG);
    assert_int_equal(mlp_optim_set(adam, (mlp_optim_opt)99, 1), MLP_ERR_ARG);
    assert_close(mlp_optim_get(sgd, MLP_OPT_LR), 0.5, 0, 0); /* unchanged by failures */

    mlp_optim_free(sgd);
    mlp_optim_free(adam);
    mlp_optim_free(adamw);
    mlp_tensor_free(p);
}

static void optim__bad_construction_is_refused(void **state)
{
    mlp_ctx *ctx = mlp_ctx_new(NULL), *other = mlp_ctx_new(NULL);
    int64_t shape = 3;
    mlp_tensor *p = mlp_tensor_from(ctx, 1, &shape, P0);
    mlp_tensor *q = mlp_tensor_from(other, 1, &shape, P0);
    mlp_tensor *list[2];
    (void)state;
    assert_null(mlp_optim_new(ctx, MLP_OPTIM_SGD, NULL, 1, 0.1f));
    assert_int_equal(mlp_ctx_errcode(ctx), MLP_ERR_NULL);
    assert_null(mlp_optim_new(ctx, MLP_OPTIM_SGD, &p, 0, 0.1f));
    assert_int_equal(mlp_ctx_errcode(ctx), MLP_ERR_ARG);
    assert_null(mlp_optim_new(ctx, MLP_OPTIM_SGD, &p, 1, -0.1f));
    assert_int_equal(mlp_ctx_errcode(ctx), MLP_ERR_ARG);
    assert_null(mlp_optim_new(ctx, (mlp_optim_kind)7, &p, 1, 0.1f));
    assert_int_equal(mlp_ctx_errcode(ctx), MLP_ERR_ARG);
    list[0] = p;
    list[1] = NULL;
    assert_null(mlp_optim_new(ctx, MLP_OPTIM_SGD, list, 2, 0.1f));
    assert_int_equal(mlp_ctx_errcode(ctx), MLP_ERR_NULL);
    list[1] = q;
    assert_null(mlp_optim_new(ctx, MLP_OPTIM_SGD, list, 2, 0.1f));
    assert_int_equal(mlp_ctx_errcode(ctx), MLP_ERR_CONTEXT);
    assert_null(mlp_sgd_new(NULL, 0.1f));
    mlp_optim_free(NULL);
    mlp_tensor_free(p);
    mlp_tensor_free(q);
    mlp_ctx_free(ctx);
    mlp_ctx_free(other);
}

static void optim__parameters_without_grad_are_skipped(void **state)
{
    mlp_ctx *ctx = tu_ctx_of(state);
    int64_t shape = 3;
    mlp_tensor *list[2], *g;
    mlp_optim *o;
    uint64_t v1;
    list[0] = mlp_tensor_from(ctx, 1, &shape, P0);
    list[1] = mlp_tensor_from(ctx, 1, &shape, P0);
    mlp_tensor_set_requires_grad(list[0], 1);
    mlp_tensor_set_requires_grad(list[1], 1);
    o = mlp_optim_new(ctx, MLP_OPTIM_ADAM, list, 2, 0.1f);
    assert_non_null(o);
    g = mlp_tensor_from(ctx, 1, &shape, G[0]);
    assert_ok(ctx, mlp_backward(list[0], g, 0));
    v1 = mlp_tensor_version(list[1]);
    assert_ok(ctx, mlp_optim_step(o));
    assert_close(mlp_tensor_get(list[0], 0), adam_expect[0][0], 1e-6, 2e-6);
    assert_close(mlp_tensor_get(list[1], 0), 1.0, 0, 0);
    assert_close(mlp_tensor_get(list[1], 1), -2.0, 0, 0);
    assert_true(mlp_tensor_version(list[1]) == v1);
    /* the second parameter's first update is its own step 1 (bias
       correction restarts): torch's per-parameter state */
    assert_ok(ctx, mlp_backward(list[1], g, 0));
    assert_ok(ctx, mlp_optim_zero_grad(o));
    assert_ok(ctx, mlp_backward(list[1], g, 0));
    {
        /* list[0] gets a zero gradient now; list[1] a first step */
        assert_ok(ctx, mlp_optim_step(o));
        assert_close(mlp_tensor_get(list[1], 0), adam_expect[0][0], 1e-6, 2e-6);
        assert_close(mlp_tensor_get(list[1], 2), adam_expect[0][2], 1e-6, 2e-6);
    }
    mlp_tensor_free(g);
    mlp_optim_free(o);
    mlp_tensor_free(list[0]);
    mlp_tensor_free(list[1]);
}

static void optim__step_without_memory_changes_nothing(void **state)
{
    tu_alloc a;
    mlp_ctx *ctx;
    int64_t shape = 3;
    mlp_tensor *p, *g;
    mlp_optim *o;
    long n, base;
    int done = 0;
    (void)state;
    for (n = 0; !done && n < 50; n++) {
        ctx = tu_ctx(&a, -1);
        p = mlp_tensor_from(ctx, 1, &shape, P0);
        mlp_tensor_set_requires_grad(p, 1);
        g = mlp_tensor_from(ctx, 1, &shape, G[0]);
        mlp_backward(p, g, 0);
        o = mlp_optim_new(ctx, MLP_OPTIM_ADAM, &p, 1, 0.1f);
        mlp_optim_set(o, MLP_OPT_AMSGRAD, 1);
        base = a.calls;
        a.fail_at = base + n;
        if (mlp_optim_step(o) == MLP_OK) {
            done = 1;
            assert_close(mlp_tensor_get(p, 0), adam_expect[0][0], 1e-6, 2e-6);
        } else {
            assert_int_equal(mlp_ctx_errcode(ctx), MLP_ERR_NOMEM);
            assert_close(mlp_tensor_get(p, 0), 1.0, 0, 0);
            assert_close(mlp_tensor_get(p, 1), -2.0, 0, 0);
            assert_int_equal(mlp_optim_num_steps(o), 0);
        }
        a.fail_at = -1;
        mlp_optim_free(o);
        mlp_tensor_free(g);
        mlp_tensor_free(p);
        mlp_ctx_free(ctx);
        assert_int_equal(a.live, 0);
    }
    assert_true(done);
    assert_true(n > 3); /* three state buffers, each a failure point */
}

static void sched__step_and_cosine_follow_their_formulas(void **state)
{
    (void)state;
    /* 0.1 * 0.5 ** (epoch // 3), by hand */
    assert_close(mlp_lr_step(0.1f, 0, 3, 0.5f), 0.1, 1e-7, 0);
    assert_close(mlp_lr_step(0.1f, 2, 3, 0.5f), 0.1, 1e-7, 0);
    assert_close(mlp_lr_step(0.1f, 3, 3, 0.5f), 0.05, 1e-7, 0);
    assert_close(mlp_lr_step(0.1f, 7, 3, 0.5f), 0.025, 1e-7, 0);
    /* min + (base - min) (1 + cos(pi t / T)) / 2, Python math */
    assert_close(mlp_lr_cosine(0.1f, 0.0f, 0, 10), 0.1, 1e-7, 0);
    assert_close(mlp_lr_cosine(0.1f, 0.0f, 5, 10), 0.05, 1e-7, 0);
    assert_close(mlp_lr_cosine(0.1f, 0.0f, 10, 10), 0.0, 1e-7, 0);
    assert_close(mlp_lr_cosine(0.1f, 0.0f, 12, 10), 0.0, 1e-7, 0);
    assert_close(mlp_lr_cosine(0.1f, 0.01f, 3, 10), 0.08145033635316129, 1e-7, 0);
    assert_close(mlp_lr_cosine(0.1f, 0.0f, -4, 10), 0.1, 1e-7, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(sgd__plain_matches_torch),
        cmocka_unit_test(sgd__momentum_matches_torch),
        cmocka_unit_test(sgd__dampening_matches_torch),
        cmocka_unit_test(sgd__nesterov_matches_torch),
        cmocka_unit_test(sgd__weight_decay_matches_torch),
        cmocka_unit_test(adam__matches_torch),
        cmocka_unit_test(adam__l2_weight_decay_matches_torch),
        cmocka_unit_test(adam__amsgrad_keeps_the_max_and_matches_torch),
        cmocka_unit_test(adamw__decoupled_decay_matches_torch),
        TU_TEST(optim__settings_have_defaults_and_are_validated),
        cmocka_unit_test(optim__bad_construction_is_refused),
        TU_TEST(optim__parameters_without_grad_are_skipped),
        cmocka_unit_test(optim__step_without_memory_changes_nothing),
        cmocka_unit_test(sched__step_and_cosine_follow_their_formulas),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
