/* cm_task_step against PyTorch autograd (tests/reference/train_step_reference.py, fixtures in
 * tests/fixtures/train_step/): for zero-shot, CoOp, VPT-deep, IVLP, MaPLe and MmAP (per-layer
 * and shared source) on a tiny CLIP, one batch of 4 images and 5 classes, the loss, the number
 * of correct images and the gradient of every trainable tensor. The prompts live in a
 * CM_SET_SHARED prompt set (names "shared.<method>..."); the reference draws the parameters
 * and writes them in the order of the C table, which this test checks name by name.
 *
 * Also: shards of a batch sum to the whole batch's loss and gradient; a forward-only step
 * gives the same loss; the arena sizing is exact up to alignment; the text tower run up to the
 * last EOT gives the same features and prompt gradients as the full 77 tokens (with deep
 * prompts); grouped prompts' gradients agree with finite differences of the step's loss; bad
 * labels are reported.
 *
 * Tolerances:
 *  - against PyTorch (fp32 both sides, different summation orders through 3+3 layers):
 *    loss rel 1e-5; gradients max|got - ref| / max|ref| <= 1e-4 per tensor;
 *  - shards vs the whole batch: 1e-5 (the same arithmetic except GEMM row counts);
 *  - max-EOT vs 77-token text run: 1e-6;
 *  - finite differences (five-point stencil, h = 3e-2, float32 forward): 1e-3 of the
 *    largest gradient of the set. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clipmtl/encoder.h"
#include "clipmtl/train_step.h"
#include "test_util.h"

#define TOL_TORCH_LOSS 1e-5
#define TOL_TORCH_GRAD 1e-4
#define TOL_SHARDS 1e-5
#define TOL_EOT_RUN 1e-6
#define TOL_FD 1e-3
#define FD_STEP 3e-2
#define NB 4   /* images */
#define NC 5   /* classes */
#define CTX 77

static const cm_clip_config tiny = {
    .embed_dim = 16,
    .vision = {.width = 48, .layers = 3, .heads = 2, .mlp_width = 192},
    .text = {.width = 32, .layers = 3, .heads = 2, .mlp_width = 128},
    .patch_size = 8,
    .image_size = 32,
    .grid = 4,
    .context_length = CTX,
    .vocab_size = 100,
};

static void *read_file(const char *name, size_t bytes)
{
    char rel[256];
    snprintf(rel, sizeof rel, "train_step/%s", name);
    void *buf = cm_test_read_exact(cm_test_fixture(rel), bytes);
    if (!buf) exit(1);
    return buf;
}

typedef struct {
    const char *name;
    cm_method_options opt;
} method_case;

static method_case make_case(const char *name, cm_method_kind kind, int n_text, int depth_text, int n_visual,
                             int depth_visual)
{
    method_case c = {.name = name};
    cm_method_options_default(kind, &c.opt);
    c.opt.n_text = n_text, c.opt.depth_text = depth_text;
    c.opt.n_visual = n_visual, c.opt.depth_visual = depth_visual;
    c.opt.mmap_m = 2, c.opt.mmap_n = 16;
    return c;
}

typedef struct {
    cm_clip_model m;
    float *pixels;
    int labels[NB];
} setup;

/* The reference's tensor list must be the C table, in order. */
static int check_table(const char *name, const cm_tensor_table *t)
{
    char file[128], line[256], want_name[CM_NAME_MAX];
    snprintf(file, sizeof file, "train_step/%s.tensors.txt", name);
    FILE *f = fopen(cm_test_fixture(file), "r");
    CM_TEST(f != NULL, "missing %s", file);
    if (!f) return 0;
    int i = 0, ok = 1;
    size_t numel;
    while (fgets(line, sizeof line, f)) {
        if (sscanf(line, "%127s %zu", want_name, &numel) != 2) continue;
        int match = i < t->count && !strcmp(t->entries[i].name, want_name) && t->entries[i].numel == numel;
        CM_TEST(match, "%s: tensor %d is %s [%zu] in the reference, %s [%zu] in C", name, i, want_name, numel,
                i < t->count ? t->entries[i].name : "(none)", i < t->count ? t->entries[i].numel : (size_t)0);
        ok = ok && match;
        i++;
    }
    fclose(f);
    CM_TEST(i == t->count, "%s: the reference has %d tensors, the C table %d", name, i, t->count);
    return ok && i == t->count;
}

static void test_method(setup *s, const method_case *mc)
{
    const cm_clip_config *cfg = &s->m.cfg;
    char file[128];
    printf("-- %s\n", mc->name);
    cm_prompt_set set;
    CM_TEST_OK(cm_prompt_set_create(&set, CM_SET_SHARED, &mc->opt, 2, NULL, 0, cfg->text.width, cfg->vision.width,
                                    cfg->text.layers, cfg->vision.layers));
    if (!check_table(mc->name, &set.table)) {
        cm_prompt_set_destroy(&set);
        return;
    }
    size_t P = set.table.total;
    snprintf(file, sizeof file, "%s.params.f32", mc->name);
    float *params = read_file(file, P * sizeof(float));
    snprintf(file, sizeof file, "%s.grads.f32", mc->name);
    float *want = read_file(file, P * sizeof(float));
    snprintf(file, sizeof file, "%s.loss.f64", mc->name);
    double *ref = read_file(file, 2 * sizeof(double));
    snprintf(file, sizeof file, "%s.ids.i32", mc->name);
    int32_t *ids = read_file(file, NC * CTX * sizeof(int32_t));

    int tokens;
    CM_TEST_OK(cm_text_eot_positions(cfg, ids, NC, NULL, &tokens));
    size_t bytes = cm_task_step_arena_bytes(cfg, &set, NB, NC, tokens, 1);
    cm_arena arena;
    CM_TEST_OK(cm_arena_create(&arena, bytes));
    float *grad = calloc(P ? P : 1, sizeof(float)), *sharded = calloc(P ? P : 1, sizeof(float));
    double loss = 0, shard_loss[2] = {0, 0}, forward_loss = 0;
    int correct = -1, c0 = 0, c1 = 0;
    CM_TEST_OK(cm_task_step(&s->m, &set, 1, params, s->pixels, s->labels, NB, NB, ids, NC, &arena, grad, &loss,
                            &correct));
    CM_TEST(arena.used == 0, "%s: the step must rewind the arena", mc->name);
    CM_TEST(arena.peak <= bytes && bytes - arena.peak < 4 * CM_ARENA_ALIGN,
            "%s: arena sized %zu bytes, the step used %zu", mc->name, bytes, arena.peak);
    CM_TEST(fabs(loss - ref[0]) <= TOL_TORCH_LOSS * ref[0], "%s: loss %.9g, torch %.9g", mc->name, loss, ref[0]);
    CM_TEST(correct == (int)ref[1], "%s: %d correct, torch %d", mc->name, correct, (int)ref[1]);
    printf("loss %.9g (torch %.9g, rel %.2g), %d/%d correct\n", loss, ref[0], fabs(loss - ref[0]) / ref[0], correct,
           NB);
    for (int i = 0; i < set.table.count; i++) {
        const cm_tensor_desc *d = &set.table.entries[i];
        cm_test_close_rel_max(d->name, grad + d->offset, want + d->offset, d->numel, TOL_TORCH_GRAD);
    }

    /* Shards of 1 and 3 images of the batch of 4 sum to the whole. */
    CM_TEST_OK(cm_task_step(&s->m, &set, 1, params, s->pixels, s->labels, 1, NB, ids, NC, &arena, sharded,
                            &shard_loss[0], &c0));
    size_t image = (size_t)3 * tiny.image_size * tiny.image_size;
    CM_TEST_OK(cm_task_step(&s->m, &set, 1, params, s->pixels + image, s->labels + 1, 3, NB, ids, NC, &arena, sharded,
                            &shard_loss[1], &c1));
    CM_TEST(fabs(shard_loss[0] + shard_loss[1] - loss) <= TOL_SHARDS * loss && c0 + c1 == correct,
            "%s: shards give loss %.9g (%d correct), the batch %.9g (%d)", mc->name, shard_loss[0] + shard_loss[1],
            c0 + c1, loss, correct);
    if (P) cm_test_close_rel_max("gradient: shards 1+3 vs the batch of 4", sharded, grad, P, TOL_SHARDS);

    /* Forward only: the same loss from an arena sized for it. */
    cm_arena small;
    CM_TEST_OK(cm_arena_create(&small, cm_task_step_arena_bytes(cfg, &set, NB, NC, tokens, 0)));
    CM_TEST_OK(cm_task_step(&s->m, &set, 1, params, s->pixels, s->labels, NB, NB, ids, NC, &small, NULL,
                            &forward_loss, NULL));
    CM_TEST(forward_loss == loss, "%s: forward-only loss %.9g, training step %.9g", mc->name, forward_loss, loss);
    CM_TEST(small.peak <= arena.peak, "%s: forward-only step used %zu bytes, training %zu", mc->name, small.peak,
            arena.peak);

    cm_arena_destroy(&small);
    cm_arena_destroy(&arena);
    free(grad), free(sharded), free(params), free(want), free(ref), free(ids);
    cm_prompt_set_destroy(&set);
}

/* Zero-shot: no set at all gives the reference's loss; d_params is then nothing to fill. */
static void test_no_prompts(setup *s)
{
    double *ref = read_file("zeroshot.loss.f64", 2 * sizeof(double));
    int32_t *ids = read_file("zeroshot.ids.i32", NC * CTX * sizeof(int32_t));
    cm_arena arena;
    CM_TEST_OK(cm_arena_create(&arena, cm_task_step_arena_bytes(&s->m.cfg, NULL, NB, NC, 0, 1)));
    double loss = 0;
    int correct = -1;
    float nothing = 0;
    CM_TEST_OK(cm_task_step(&s->m, NULL, 0, NULL, s->pixels, s->labels, NB, NB, ids, NC, &arena, &nothing, &loss,
                            &correct));
    CM_TEST(fabs(loss - ref[0]) <= TOL_TORCH_LOSS * ref[0] && correct == (int)ref[1],
            "zero-shot without a set: loss %.9g (%d correct), torch %.9g (%d)", loss, correct, ref[0], (int)ref[1]);
    CM_TEST(nothing == 0, "zero-shot wrote a gradient");

    int bad[NB] = {0, 1, 5, 2};
    CM_TEST(cm_task_step(&s->m, NULL, 0, NULL, s->pixels, bad, NB, NB, ids, NC, &arena, NULL, &loss, NULL) ==
                CM_ERR_ARG,
            "label 5 of 5 classes must be refused");
    CM_TEST(strstr(cm_error_message(), "image 2 has label 5"), "message: %s", cm_error_message());
    cm_error_clear();
    CM_TEST(cm_task_step(&s->m, NULL, 0, NULL, s->pixels, s->labels, NB, 2, ids, NC, &arena, NULL, &loss, NULL) ==
                CM_ERR_ARG,
            "a shard larger than its batch must be refused");
    cm_error_clear();
    cm_arena_destroy(&arena);
    free(ref), free(ids);
}

/* The text tower up to the last EOT vs the whole context: features and prompt gradients. */
static void test_eot_run(setup *s)
{
    const cm_clip_config *cfg = &s->m.cfg;
    const int D = cfg->text.width, E = cfg->embed_dim, n = 2, depth = 3;
    int32_t *ids = read_file("ivlp.ids.i32", NC * CTX * sizeof(int32_t));
    size_t np = (size_t)depth * n * D;
    cm_prompt_stack p = {n, depth, D, malloc(np * sizeof(float))};
    cm_prompt_stack d_short = {n, depth, D, calloc(np, sizeof(float))}, d_full = {n, depth, D, calloc(np, sizeof(float))};
    float f_short[NC * 16], f_full[NC * 16], d_feat[NC * 16];
    for (size_t i = 0; i < np; i++) p.values[i] = 0.5f * sinf(0.7f * (float)i);
    for (int i = 0; i < NC * E; i++) d_feat[i] = cosf(1.3f * (float)i);
    cm_arena a;
    CM_TEST_OK(cm_arena_create(&a, cm_text_acts_bytes(cfg, NC, CM_ACTS_TRAINING) + cm_text_backward_bytes(cfg, NC, CTX)));
    cm_text_acts acts;
    CM_TEST_OK(cm_text_forward(&s->m, ids, NC, 0, &p, CM_ACTS_TRAINING, &a, &acts, f_short));
    int T = acts.tower.shape.T;
    CM_TEST_OK(cm_text_backward(&s->m, &acts, ids, &p, d_feat, &d_short, NULL, &a));
    cm_arena_rewind(&a, 0);
    CM_TEST_OK(cm_text_forward(&s->m, ids, NC, CTX, &p, CM_ACTS_TRAINING, &a, &acts, f_full));
    CM_TEST_OK(cm_text_backward(&s->m, &acts, ids, &p, d_feat, &d_full, NULL, &a));
    printf("text tower: %d tokens up to the last EOT vs %d\n", T, CTX);
    CM_TEST(T < CTX / 4, "the class sentences end early (%d tokens)", T);
    cm_test_close_rel_max("text features: up to the last EOT vs 77 tokens", f_short, f_full, (size_t)NC * E,
                          TOL_EOT_RUN);
    cm_test_close_rel_max("text prompt gradients: up to the last EOT vs 77 tokens", d_short.values, d_full.values, np,
                          TOL_EOT_RUN);
    cm_arena_destroy(&a);
    free(p.values), free(d_short.values), free(d_full.values), free(ids);
}

/* Grouped prompts (rows [group | task] in both towers): the step's gradient against finite
 * differences of its loss, at every parameter of the task's two methods. */
static void test_grouped_fd(setup *s)
{
    const cm_clip_config *cfg = &s->m.cfg;
    method_case mc = make_case("mmap", CM_METHOD_MMAP, 2, 2, 2, 2);
    mc.opt.mmap_m = 1;
    const int groups[3] = {1, 0, 1};
    cm_prompt_set set;
    CM_TEST_OK(cm_prompt_set_create(&set, CM_SET_GROUPED, &mc.opt, 3, groups, 2, cfg->text.width, cfg->vision.width,
                                    cfg->text.layers, cfg->vision.layers));
    int32_t *ids = read_file("mmap.ids.i32", NC * CTX * sizeof(int32_t));
    size_t P = set.table.total;
    float *params = malloc(P * sizeof(float)), *grad = calloc(P, sizeof(float));
    for (size_t i = 0; i < P; i++) params[i] = 0.6f * sinf(1.7f * (float)i + 0.3f);
    cm_arena a;
    CM_TEST_OK(cm_arena_create(&a, cm_task_step_arena_bytes(cfg, &set, NB, NC, 0, 1)));
    double loss;
    CM_TEST_OK(cm_task_step(&s->m, &set, 2, params, s->pixels, s->labels, NB, NB, ids, NC, &a, grad, &loss, NULL));
    const cm_prompt_method *used[2];
    cm_prompt_set_task_methods(&set, 2, used);
    CM_TEST(used[0] == &set.methods[1], "task 2 is in group 1");
    double worst = 0, scale = 0;
    for (size_t i = 0; i < P; i++) scale = fmax(scale, fabs(grad[i]));
    size_t checked = 0, outside = 0;
    for (size_t i = 0; i < P; i++) {
        int in_task = 0;
        for (int k = 0; k < 2; k++) in_task |= i >= used[k]->first && i < used[k]->first + used[k]->count;
        if (!in_task) { /* group 0 and tasks 0, 1 do not take part */
            outside += grad[i] != 0;
            continue;
        }
        double l[4];
        const float saved = params[i], h = (float)FD_STEP, at[4] = {saved - 2 * h, saved - h, saved + h, saved + 2 * h};
        for (int k = 0; k < 4; k++) {
            params[i] = at[k];
            CM_TEST_OK(cm_task_step(&s->m, &set, 2, params, s->pixels, s->labels, NB, NB, ids, NC, &a, NULL, &l[k], NULL));
        }
        params[i] = saved;
        double fd = (l[0] - 8 * l[1] + 8 * l[2] - l[3]) / (12.0 * h);
        worst = fmax(worst, fabs(fd - grad[i]));
        checked++;
    }
    CM_TEST(outside == 0, "%zu gradients outside task 2's methods are non-zero", outside);
    CM_TEST(checked > 0 && worst <= TOL_FD * scale, "grouped step: max|grad - fd| = %.3g of max|grad| %.3g", worst,
            scale);
    printf("%s grouped (group | task) step vs finite differences: %zu parameters, max|diff|/max|grad| = %.3g (tol %.1g)\n",
           worst <= TOL_FD * scale ? "ok  " : "FAIL", checked, worst / scale, TOL_FD);
    cm_arena_destroy(&a);
    free(params), free(grad), free(ids);
    cm_prompt_set_destroy(&set);
}

int main(void)
{
    setup s;
    CM_TEST_OK(cm_clip_create(&s.m, &tiny));
    float *w = read_file("weights.f32", s.m.table.total * sizeof(float));
    memcpy(s.m.params, w, s.m.table.total * sizeof(float));
    free(w);
    s.pixels = read_file("pixels.f32", (size_t)NB * 3 * 32 * 32 * sizeof(float));
    int32_t *labels = read_file("labels.i32", NB * sizeof(int32_t));
    for (int i = 0; i < NB; i++) s.labels[i] = labels[i];
    free(labels);

    method_case cases[] = {
        make_case("zeroshot", CM_METHOD_ZEROSHOT, 0, 0, 0, 0),
        make_case("coop", CM_METHOD_COOP, 4, 1, 0, 0),
        make_case("vpt", CM_METHOD_VPT, 0, 0, 2, 2),
        make_case("ivlp", CM_METHOD_IVLP, 2, 3, 3, 2),
        make_case("maple", CM_METHOD_MAPLE, 2, 2, 2, 2),
        make_case("mmap", CM_METHOD_MMAP, 4, 2, 4, 2),
        make_case("mmap_shared", CM_METHOD_MMAP, 4, 3, 4, 3),
    };
    cases[6].opt.mmap_shared_source = 1;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) test_method(&s, &cases[i]);
    test_no_prompts(&s);
    test_eot_run(&s);
    test_grouped_fd(&s);
    free(s.pixels);
    cm_clip_destroy(&s.m);
    return cm_test_summary();
}
