/* SGD and AdamW trajectories, the warm-up + cosine schedule and gradient clipping against
 * PyTorch (tests/reference/optimizer_reference.py). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clipmtl/optimizer.h"
#include "test_util.h"

static void check_trajectory(cm_optim_kind kind, const char *want_file)
{
    const size_t n = 64;
    const int steps = 6;
    const double lrs[6] = {0.0035, 0.002, 0.001, 0.0035, 0.01, 0.005};
    float *p = cm_test_read_f32(cm_test_fixture("train/opt_p0.f32"), n);
    float *g = cm_test_read_f32(cm_test_fixture("train/opt_grads.f32"), n * steps);
    float *want = cm_test_read_f32(cm_test_fixture(want_file), n);
    CM_TEST(p && g && want, "missing fixtures (make fixtures)");
    if (!p || !g || !want) return;
    cm_optim_options opt;
    cm_optim_options_default(kind, &opt);
    cm_optimizer o;
    CM_TEST_OK(cm_optimizer_create(&o, &opt, n));
    for (int s = 0; s < steps; s++) cm_optimizer_step(&o, p, g + (size_t)s * n, lrs[s]);
    cm_test_close(kind == CM_OPTIM_SGD ? "SGD 6 steps vs torch.optim.SGD" : "AdamW 6 steps vs torch.optim.AdamW", p,
                  want, n, 1e-6, 1e-7);
    cm_optimizer_destroy(&o);
    free(p), free(g), free(want);
}

static void test_schedule(void)
{
    double *want = cm_test_read_exact(cm_test_fixture("train/schedule_lr.f64"), 10 * sizeof(double));
    CM_TEST(want != NULL, "missing schedule fixture");
    if (!want) return;
    cm_schedule s = {.base_lr = 0.0035, .max_epochs = 10, .warmup_epochs = 1, .warmup = CM_WARMUP_CONSTANT,
                     .warmup_lr = 1e-5};
    float got[10], ref[10];
    for (int e = 0; e < 10; e++) got[e] = (float)cm_schedule_lr(&s, e), ref[e] = (float)want[e];
    cm_test_close("schedule vs CosineAnnealingLR after constant warm-up", got, ref, 10, 1e-6, 0);
    s.warmup = CM_WARMUP_LINEAR;
    CM_TEST(cm_schedule_lr(&s, 0) < s.base_lr && cm_schedule_lr(&s, 1) == s.base_lr, "linear warm-up ramps to the base");
    free(want);
}

static void test_clipping(void)
{
    float *g = cm_test_read_f32(cm_test_fixture("train/clip_in.f32"), 100);
    float *want = cm_test_read_f32(cm_test_fixture("train/clip_out.f32"), 100);
    double *norm = cm_test_read_exact(cm_test_fixture("train/clip_norm.f64"), sizeof(double));
    CM_TEST(g && want && norm, "missing clipping fixtures");
    if (!g || !want || !norm) return;
    double before = cm_clip_grad_norm(g, 100, 1.0);
    CM_TEST(fabs(before - norm[0]) <= 1e-5 * norm[0], "norm %.9g, torch %.9g", before, norm[0]);
    cm_test_close("clipped gradient vs clip_grad_norm_", g, want, 100, 1e-6, 1e-8);
    free(g), free(want), free(norm);
}

int main(void)
{
    check_trajectory(CM_OPTIM_SGD, "train/opt_sgd.f32");
    check_trajectory(CM_OPTIM_ADAMW, "train/opt_adamw.f32");
    test_schedule();
    test_clipping();
    return cm_test_summary();
}
