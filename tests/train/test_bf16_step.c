/* compute.precision bf16: the prompt gradients of one training step against the fp32 step on
 * the same path, for MaPLe and MmAP on a small random CLIP (vision 128x4, text 128x4), 8 images
 * and 6 classes. Skipped (77) when this build and CPU have no bf16 path.
 *
 * Tolerance: every prompt-gradient tensor within max|bf16 - fp32| / max|fp32| <= 5e-2. Each
 * product with a frozen weight rounds both operands to bf16 (2^-9 relative each) and the
 * errors of 4+4 layers add up; measured at ViT-B/16 (bench_train_step) the worst tensor is
 * about 3e-2. The same tensors must also differ from fp32 by more than 1e-5, so that the test
 * fails if bf16 were silently not used. Also: after switching back to fp32 the step reproduces
 * the fp32 gradients exactly (the bf16 copies are no longer read). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clipmtl/clip_weights.h"
#include "clipmtl/encoder.h"
#include "clipmtl/gemm.h"
#include "clipmtl/train_step.h"
#include "test_util.h"

#define TOL_BF16 5e-2
#define MIN_BF16_EFFECT 1e-5
#define NB 8
#define NC 6

static const cm_clip_config small = {
    .embed_dim = 64,
    .vision = {.width = 128, .layers = 4, .heads = 2, .mlp_width = 512},
    .text = {.width = 128, .layers = 4, .heads = 2, .mlp_width = 512},
    .patch_size = 8,
    .image_size = 32,
    .grid = 4,
    .context_length = 77,
    .vocab_size = 200,
};

static void step(const cm_clip_model *m, const cm_prompt_set *set, const float *params, const float *pixels,
                 const int *labels, const int32_t *ids, cm_arena *arena, float *grads)
{
    double loss;
    memset(grads, 0, set->table.total * sizeof *grads);
    CM_TEST_OK(cm_task_step(m, set, 0, params, pixels, labels, NB, NB, ids, NC, arena, grads, &loss, NULL));
}

static void check_method(const cm_clip_model *m, cm_method_kind kind)
{
    cm_method_options opt;
    cm_method_options_default(kind, &opt);
    opt.depth_text = opt.depth_visual = 3;
    if (kind == CM_METHOD_MMAP) opt.mmap_n = 64;
    cm_prompt_set set;
    CM_TEST_OK(cm_prompt_set_create(&set, CM_SET_SHARED, &opt, 1, NULL, 0, small.text.width, small.vision.width,
                                    small.text.layers, small.vision.layers));
    const size_t P = set.table.total, npix = (size_t)NB * 3 * small.image_size * small.image_size;
    float *params = calloc(P, sizeof *params), *fp32 = calloc(P, sizeof *fp32), *bf16 = calloc(P, sizeof *bf16);
    float *again = calloc(P, sizeof *again), *pixels = malloc(npix * sizeof *pixels);
    int labels[NB];
    int32_t *ids = calloc((size_t)NC * small.context_length, sizeof *ids);
    cm_rng rng;
    cm_rng_seed(&rng, 11, (uint64_t)kind);
    cm_method_init(&set.methods[0], params, &rng, NULL);
    for (size_t i = 0; i < npix; i++) pixels[i] = cm_rng_normal(&rng);
    for (int i = 0; i < NB; i++) labels[i] = (int)cm_rng_below(&rng, NC);
    /* class sentences: start token, prompt placeholders and words, end token (the largest id) */
    for (int c = 0; c < NC; c++) {
        int32_t *row = ids + (size_t)c * small.context_length;
        row[0] = 1;
        for (int k = 1; k < 8 + c; k++) row[k] = 2 + (int32_t)cm_rng_below(&rng, small.vocab_size - 3);
        row[8 + c] = small.vocab_size - 1;
    }
    cm_arena arena = {0};
    CM_TEST_OK(cm_arena_create(&arena, cm_task_step_arena_bytes(&small, &set, NB, NC, 0, 1)));
    CM_TEST_OK(cm_gemm_select(CM_GEMM_ONEDNN, CM_PRECISION_FP32));
    step(m, &set, params, pixels, labels, ids, &arena, fp32);
    CM_TEST_OK(cm_gemm_select(CM_GEMM_ONEDNN, CM_PRECISION_BF16));
    step(m, &set, params, pixels, labels, ids, &arena, bf16);
    CM_TEST_OK(cm_gemm_select(CM_GEMM_ONEDNN, CM_PRECISION_FP32));
    step(m, &set, params, pixels, labels, ids, &arena, again);
    for (int i = 0; i < set.table.count; i++) {
        const cm_tensor_desc *e = &set.table.entries[i];
        double diff = 0, scale = 0;
        for (size_t k = e->offset; k < e->offset + e->numel; k++) {
            diff = fmax(diff, fabs((double)bf16[k] - fp32[k]));
            scale = fmax(scale, fabs((double)fp32[k]));
            CM_TEST(again[k] == fp32[k], "%s: fp32 after bf16 differs at %zu", e->name, k - e->offset);
        }
        double rel = diff / scale;
        printf("%-36s bf16 vs fp32: %.2e\n", e->name, rel);
        CM_TEST(scale > 0 && rel <= TOL_BF16 && rel > MIN_BF16_EFFECT, "%s: relative error %.2e not in (%.0e, %.0e]",
                e->name, rel, MIN_BF16_EFFECT, TOL_BF16);
    }
    cm_arena_destroy(&arena);
    cm_prompt_set_destroy(&set);
    free(params), free(fp32), free(bf16), free(again), free(pixels), free(ids);
}

int main(void)
{
    if (!cm_gemm_available(CM_GEMM_ONEDNN, CM_PRECISION_BF16)) {
        printf("no bf16 GEMM path in this build or on this CPU\n");
        return 77;
    }
    cm_clip_model m;
    CM_TEST_OK(cm_clip_create(&m, &small));
    CM_TEST_OK(cm_clip_init_random(&m, 5));
    CM_TEST_OK(cm_gemm_freeze(m.params, m.table.total));
    check_method(&m, CM_METHOD_MAPLE);
    check_method(&m, CM_METHOD_MMAP);
    cm_gemm_unfreeze(m.params);
    cm_clip_destroy(&m);
    return cm_test_summary();
}
