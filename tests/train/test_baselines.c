/* The parameter-updating baselines (spec.md 2.9) in cm_task_step against PyTorch autograd
 * (tests/reference/baselines_reference.py, fixtures in tests/fixtures/baselines/, on the tiny
 * CLIP of tests/fixtures/train_step/): full fine-tuning (every tensor, logit_scale included),
 * BitFit (biases moved away from the model's, so a forward reading the frozen model would not
 * match) and CLIP-Adapter on both features. Loss, correct count and the gradient of every
 * trainable tensor, in a CM_SET_SHARED set whose table is checked name by name.
 *
 * Also: cm_clip_weight_slot addresses every entry of the layout; full's parameters start as
 * the model's weights; the frozen model is not modified by steps; shards of a batch sum to the
 * batch; a forward-only step gives the same loss; the arena sizing is exact up to alignment;
 * finite differences of the step's own loss at a few coordinates of every case; in single
 * mode a task's step touches only its own parameters; grouped sets are refused.
 *
 * Tolerances:
 *  - against PyTorch (fp32 both sides): loss rel 1e-5; gradients max|got - ref| / max|ref|
 *    <= 1e-4 per tensor (as tests/train/test_train_step.c);
 *  - shards vs the whole batch: 1e-5;
 *  - finite differences (five-point stencil, h = 1e-2, float32 forward): 2e-3 of the largest
 *    gradient of the checked tensor. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clipmtl/encoder.h"
#include "clipmtl/train_step.h"
#include "clipmtl/weight_methods.h"
#include "test_util.h"

#define TOL_TORCH_LOSS 1e-5
#define TOL_TORCH_GRAD 1e-4
#define TOL_SHARDS 1e-5
#define TOL_FD 2e-3
#define FD_STEP 1e-2
#define NB 4
#define NC 5
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

static void *read_file(const char *rel, size_t bytes)
{
    void *buf = cm_test_read_exact(cm_test_fixture(rel), bytes);
    if (!buf) exit(1);
    return buf;
}

static void *read_case(const char *name, const char *what, size_t bytes)
{
    char rel[256];
    snprintf(rel, sizeof rel, "baselines/%s.%s", name, what);
    return read_file(rel, bytes);
}

typedef struct {
    cm_clip_model m;
    float *pixels;
    int labels[NB];
} setup;

static cm_method_options options(cm_method_kind kind)
{
    cm_method_options o;
    cm_method_options_default(kind, &o);
    o.model = tiny;
    if (kind == CM_METHOD_ADAPTER) o.adapter_text = 1; /* both features, reduction 4, ratio 0.2 */
    return o;
}

static cm_err make_set(cm_prompt_set *set, cm_set_mode mode, cm_method_kind kind, int ntasks)
{
    cm_method_options o = options(kind);
    return cm_prompt_set_create(set, mode, &o, ntasks, NULL, 0, tiny.text.width, tiny.vision.width, tiny.text.layers,
                                tiny.vision.layers);
}

static int check_table(const char *name, const cm_tensor_table *t)
{
    char file[128], line[256], want_name[CM_NAME_MAX];
    snprintf(file, sizeof file, "baselines/%s.tensors.txt", name);
    FILE *f = fopen(cm_test_fixture(file), "r");
    CM_TEST(f != NULL, "missing %s", file);
    if (!f) return 0;
    int i = 0, ok = 1;
    size_t numel;
    while (fgets(line, sizeof line, f)) {
        if (sscanf(line, "%127s %zu", want_name, &numel) != 2) continue;
        int match = i < t->count && !strcmp(t->entries[i].name, want_name) && t->entries[i].numel == numel;
        if (!match)
            CM_TEST(0, "%s: tensor %d is %s [%zu] in the reference, %s [%zu] in C", name, i, want_name, numel,
                    i < t->count ? t->entries[i].name : "(none)", i < t->count ? t->entries[i].numel : (size_t)0);
        ok = ok && match;
        i++;
    }
    fclose(f);
    CM_TEST(i == t->count, "%s: the reference has %d tensors, the C table %d", name, i, t->count);
    return ok && i == t->count;
}

/* Every entry of the layout has its pointer, in order. */
static void test_weight_slots(setup *s)
{
    int bad = 0;
    for (int i = 0; i < s->m.table.count; i++) {
        float **slot = cm_clip_weight_slot(&s->m.w, &s->m.cfg, i);
        if (!slot || *slot != s->m.params + s->m.table.entries[i].offset) {
            CM_TEST(0, "slot of %s does not hold its pointer", s->m.table.entries[i].name);
            bad++;
        }
    }
    CM_TEST(cm_clip_weight_slot(&s->m.w, &s->m.cfg, s->m.table.count) == NULL, "a slot past the layout's end");
    printf("%s cm_clip_weight_slot: %d tensors\n", bad ? "FAIL" : "ok  ", s->m.table.count);
}

static double step_loss(setup *s, const cm_prompt_set *set, const float *params, const int32_t *ids, cm_arena *a)
{
    double loss = 0;
    CM_TEST_OK(cm_task_step(&s->m, set, 1, params, s->pixels, s->labels, NB, NB, ids, NC, a, NULL, &loss, NULL));
    return loss;
}

/* Five-point finite differences of the step's loss at `count` coordinates of tensor `name`. */
static void check_fd(setup *s, const cm_prompt_set *set, float *params, const float *grad, const int32_t *ids,
                     cm_arena *a, const char *name, int count)
{
    const cm_tensor_desc *d = cm_table_find(&set->table, name);
    CM_TEST(d != NULL, "no tensor %s", name);
    if (!d) return;
    double scale = 0, worst = 0;
    for (size_t i = 0; i < d->numel; i++) scale = fmax(scale, fabs(grad[d->offset + i]));
    for (int k = 0; k < count; k++) {
        /* Spread over the tensor, and on the largest gradient once. */
        size_t i = k == 0 ? 0 : (size_t)k * (d->numel - 1) / (count - 1);
        if (k == 0)
            for (size_t j = 0; j < d->numel; j++)
                if (fabs(grad[d->offset + j]) > fabs(grad[d->offset + i])) i = j;
        float *p = params + d->offset + i;
        const float saved = *p, h = (float)FD_STEP;
        double l[4];
        const float at[4] = {saved - 2 * h, saved - h, saved + h, saved + 2 * h};
        for (int j = 0; j < 4; j++) {
            *p = at[j];
            l[j] = step_loss(s, set, params, ids, a);
        }
        *p = saved;
        double fd = (l[0] - 8 * l[1] + 8 * l[2] - l[3]) / (12.0 * h);
        worst = fmax(worst, fabs(fd - grad[d->offset + i]));
    }
    CM_TEST(scale > 0 && worst <= TOL_FD * scale, "%s: max|grad - fd| = %.3g of max|grad| %.3g", name, worst, scale);
    printf("%s %s vs finite differences at %d coordinates: max|diff|/max|grad| = %.3g (tol %.1g)\n",
           scale > 0 && worst <= TOL_FD * scale ? "ok  " : "FAIL", name, count, worst / scale, TOL_FD);
}

static void test_case(setup *s, const char *name, cm_method_kind kind, const char *const *fd_tensors)
{
    const cm_clip_config *cfg = &s->m.cfg;
    printf("-- %s\n", name);
    cm_prompt_set set;
    CM_TEST_OK(make_set(&set, CM_SET_SHARED, kind, 2));
    if (!check_table(name, &set.table)) {
        cm_prompt_set_destroy(&set);
        return;
    }
    const size_t P = set.table.total, W = s->m.table.total;
    float *params;
    if (kind == CM_METHOD_FULL) { /* the model's weights, copied by the method */
        params = calloc(P, sizeof *params);
        cm_method_copy_model_weights(&set.methods[0], &s->m, params);
        CM_TEST(P == W && memcmp(params, s->m.params, W * sizeof(float)) == 0,
                "full: the parameters must start as the model's weights");
    } else {
        params = read_case(name, "params.f32", P * sizeof(float));
    }
    float *want = read_case(name, "grads.f32", P * sizeof(float));
    double *ref = read_case(name, "loss.f64", 2 * sizeof(double));
    int32_t *ids = read_case(name, "ids.i32", NC * CTX * sizeof(int32_t));
    float *frozen = malloc(W * sizeof(float));
    memcpy(frozen, s->m.params, W * sizeof(float));

    int tokens;
    CM_TEST_OK(cm_text_eot_positions(cfg, ids, NC, NULL, &tokens));
    const size_t bytes = cm_task_step_arena_bytes(cfg, &set, NB, NC, tokens, 1);
    cm_arena arena;
    CM_TEST_OK(cm_arena_create(&arena, bytes));
    float *grad = calloc(P, sizeof(float)), *sharded = calloc(P, sizeof(float));
    double loss = 0, shard_loss[2] = {0, 0};
    int correct = -1, c0 = 0, c1 = 0;
    CM_TEST_OK(cm_task_step(&s->m, &set, 1, params, s->pixels, s->labels, NB, NB, ids, NC, &arena, grad, &loss,
                            &correct));
    CM_TEST(arena.used == 0, "%s: the step must rewind the arena", name);
    CM_TEST(arena.peak <= bytes && bytes - arena.peak < 4 * CM_ARENA_ALIGN, "%s: arena sized %zu bytes, used %zu",
            name, bytes, arena.peak);
    CM_TEST(fabs(loss - ref[0]) <= TOL_TORCH_LOSS * ref[0], "%s: loss %.9g, torch %.9g", name, loss, ref[0]);
    CM_TEST(correct == (int)ref[1], "%s: %d correct, torch %d", name, correct, (int)ref[1]);
    printf("loss %.9g (torch %.9g, rel %.2g), %d/%d correct, %zu parameters\n", loss, ref[0],
           fabs(loss - ref[0]) / ref[0], correct, NB, P);
    double worst = 0;
    int bad = 0;
    for (int i = 0; i < set.table.count; i++) { /* full has ~100 tensors: print the worst only */
        const cm_tensor_desc *d = &set.table.entries[i];
        double err = 0, big = 0;
        for (size_t j = 0; j < d->numel; j++) {
            err = fmax(err, fabs((double)grad[d->offset + j] - want[d->offset + j]));
            big = fmax(big, fabs((double)want[d->offset + j]));
        }
        double rel = big > 0 ? err / big : err;
        if (rel > TOL_TORCH_GRAD) {
            CM_TEST(0, "%s: gradient of %s: max|diff| / max|ref| = %.3g (tol %.1g)", name, d->name, rel, TOL_TORCH_GRAD);
            bad++;
        }
        worst = fmax(worst, rel);
    }
    printf("%s gradients of %d tensors vs torch: worst max|diff|/max|ref| = %.3g (tol %.1g)\n", bad ? "FAIL" : "ok  ",
           set.table.count, worst, TOL_TORCH_GRAD);

    CM_TEST_OK(cm_task_step(&s->m, &set, 1, params, s->pixels, s->labels, 1, NB, ids, NC, &arena, sharded,
                            &shard_loss[0], &c0));
    const size_t image = (size_t)3 * tiny.image_size * tiny.image_size;
    CM_TEST_OK(cm_task_step(&s->m, &set, 1, params, s->pixels + image, s->labels + 1, 3, NB, ids, NC, &arena, sharded,
                            &shard_loss[1], &c1));
    CM_TEST(fabs(shard_loss[0] + shard_loss[1] - loss) <= TOL_SHARDS * loss && c0 + c1 == correct,
            "%s: shards give loss %.9g (%d correct), the batch %.9g (%d)", name, shard_loss[0] + shard_loss[1], c0 + c1,
            loss, correct);
    cm_test_close_rel_max("gradient: shards 1+3 vs the batch of 4", sharded, grad, P, TOL_SHARDS);

    cm_arena small;
    CM_TEST_OK(cm_arena_create(&small, cm_task_step_arena_bytes(cfg, &set, NB, NC, tokens, 0)));
    double forward_loss = step_loss(s, &set, params, ids, &small);
    CM_TEST(forward_loss == loss, "%s: forward-only loss %.9g, training step %.9g", name, forward_loss, loss);
    CM_TEST(small.peak <= arena.peak, "%s: forward-only step used %zu bytes, training %zu", name, small.peak,
            arena.peak);
    for (int k = 0; fd_tensors[k]; k++) check_fd(s, &set, params, grad, ids, &small, fd_tensors[k], 3);
    CM_TEST(memcmp(frozen, s->m.params, W * sizeof(float)) == 0, "%s: the frozen model was modified", name);

    cm_arena_destroy(&small);
    cm_arena_destroy(&arena);
    free(grad), free(sharded), free(params), free(want), free(ref), free(ids), free(frozen);
    cm_prompt_set_destroy(&set);
}

/* Single mode: task 1's step writes task 1's parameters only; grouped sets are refused. */
static void test_modes(setup *s)
{
    cm_prompt_set set;
    CM_TEST_OK(make_set(&set, CM_SET_SINGLE, CM_METHOD_BITFIT, 3));
    const size_t P = set.table.total;
    const cm_prompt_method *own = &set.methods[1];
    CM_TEST(set.nmethods == 3 && own->count * 3 == P, "bitfit per task: 3 equal ranges (%zu of %zu)", own->count, P);
    CM_TEST(strncmp(set.table.entries[set.methods[1].noffsets].name, "task1.visual.", 13) == 0, "names: %s",
            set.table.entries[set.methods[1].noffsets].name);
    float *params = calloc(P, sizeof *params), *grad = calloc(P, sizeof *grad);
    for (int m = 0; m < set.nmethods; m++) cm_method_copy_model_weights(&set.methods[m], &s->m, params);
    int32_t *ids = read_case("bitfit", "ids.i32", NC * CTX * sizeof(int32_t));
    cm_arena a;
    CM_TEST_OK(cm_arena_create(&a, cm_task_step_arena_bytes(&s->m.cfg, &set, NB, NC, 0, 1)));
    CM_TEST_OK(cm_task_step(&s->m, &set, 1, params, s->pixels, s->labels, NB, NB, ids, NC, &a, grad, NULL, NULL));
    size_t outside = 0, inside = 0;
    for (size_t i = 0; i < P; i++) {
        int mine = i >= own->first && i < own->first + own->count;
        outside += !mine && grad[i] != 0;
        inside += mine && grad[i] != 0;
    }
    CM_TEST(outside == 0 && inside > own->count / 2, "single mode: %zu gradients outside task 1's range, %zu inside",
            outside, inside);
    printf("%s single mode: task 1's step wrote %zu of its %zu parameters' gradients, none elsewhere\n",
           outside == 0 ? "ok  " : "FAIL", inside, own->count);
    cm_arena_destroy(&a);
    free(params), free(grad), free(ids);
    cm_prompt_set_destroy(&set);

    const int groups[2] = {0, 0};
    cm_method_options o = options(CM_METHOD_FULL);
    cm_prompt_set g;
    CM_TEST(cm_prompt_set_create(&g, CM_SET_GROUPED, &o, 2, groups, 1, tiny.text.width, tiny.vision.width,
                                 tiny.text.layers, tiny.vision.layers) == CM_ERR_CONFIG,
            "a grouped full fine-tuning set must be refused");
    CM_TEST(strstr(cm_error_message(), "method full"), "message: %s", cm_error_message());
    cm_error_clear();
    cm_prompt_set_destroy(&g);
}

int main(void)
{
    setup s;
    CM_TEST_OK(cm_clip_create(&s.m, &tiny));
    float *w = read_file("train_step/weights.f32", s.m.table.total * sizeof(float));
    memcpy(s.m.params, w, s.m.table.total * sizeof(float));
    free(w);
    s.pixels = read_file("train_step/pixels.f32", (size_t)NB * 3 * 32 * 32 * sizeof(float));
    int32_t *labels = read_file("train_step/labels.i32", NB * sizeof(int32_t));
    for (int i = 0; i < NB; i++) s.labels[i] = labels[i];
    free(labels);

    test_weight_slots(&s);
    const char *const full_fd[] = {"shared.visual.conv1.weight", "shared.visual.transformer.resblocks.1.attn.in_proj_weight",
                                   "shared.transformer.resblocks.2.mlp.c_fc.weight", "shared.positional_embedding",
                                   "shared.logit_scale", NULL};
    const char *const bitfit_fd[] = {"shared.visual.transformer.resblocks.0.attn.in_proj_bias",
                                     "shared.transformer.resblocks.1.mlp.c_proj.bias", "shared.ln_final.bias", NULL};
    const char *const adapter_fd[] = {"shared.adapter.image.fc1.weight", "shared.adapter.text.fc2.weight", NULL};
    test_case(&s, "full", CM_METHOD_FULL, full_fd);
    test_case(&s, "bitfit", CM_METHOD_BITFIT, bitfit_fd);
    test_case(&s, "adapter", CM_METHOD_ADAPTER, adapter_fd);
    test_modes(&s);
    free(s.pixels);
    cm_clip_destroy(&s.m);
    return cm_test_summary();
}
