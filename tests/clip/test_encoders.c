/* The CLIP encoders against a tiny fp32 PyTorch CLIP
 * (tests/reference/clip_reference.py, fixtures in tests/fixtures/clip/):
 * features, logits, the input of every block after prompt insertion and the
 * pooled ln_post / ln_final rows, without prompts and with depth-2 prompts on
 * both towers. Also: the text run up to the last EOT equals the full-context
 * run, training-mode activations give the same features as inference, the
 * arena sizing is exact, and bad ids / prompts are reported.
 *
 * Tolerances (max|got - want| / max|want| over the tensor):
 *  - against PyTorch: 1e-5 (fp32 both sides; only the summation order differs);
 *  - max-EOT run vs full 77 tokens: 1e-6 (the same arithmetic per row; only
 *    the GEMM row count differs);
 *  - training vs inference mode: 0 (the same operations on the same values). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clipmtl/encoder.h"
#include "test_util.h"

#define TOL_TORCH 1e-5
#define TOL_EOT_RUN 1e-6
#define NI 2 /* images */
#define NT 3 /* texts */

static const cm_clip_config tiny = {
    .embed_dim = 32,
    .vision = {.width = 64, .layers = 2, .heads = 2, .mlp_width = 256},
    .text = {.width = 64, .layers = 2, .heads = 2, .mlp_width = 256},
    .patch_size = 8,
    .image_size = 32,
    .grid = 4,
    .context_length = 77,
    .vocab_size = 500,
};

static float *fixture(const char *name, size_t n)
{
    char rel[256];
    snprintf(rel, sizeof rel, "clip/%s.f32", name);
    float *v = cm_test_read_f32(cm_test_fixture(rel), n);
    if (!v) {
        fprintf(stderr, "missing fixture %s (run `make fixtures`)\n", rel);
        exit(1);
    }
    return v;
}

typedef struct {
    cm_clip_model m;
    float *pixels;
    int32_t ids[NT * 77];
    cm_prompt_stack visual, text;
} setup;

static void load(setup *s)
{
    CM_TEST_OK(cm_clip_create(&s->m, &tiny));
    float *w = fixture("weights", s->m.table.total);
    memcpy(s->m.params, w, s->m.table.total * sizeof(float));
    free(w);
    s->pixels = fixture("pixels", (size_t)NI * 3 * 32 * 32);
    float *ids = fixture("ids", NT * 77);
    for (int i = 0; i < NT * 77; i++) s->ids[i] = (int32_t)ids[i];
    free(ids);
    s->visual = (cm_prompt_stack){2, 2, 64, fixture("visual_prompts", 2 * 2 * 64)};
    s->text = (cm_prompt_stack){2, 2, 64, fixture("text_prompts", 2 * 2 * 64)};
}

static void compare(const char *c, const char *what, const float *got, size_t n, double tol)
{
    char name[128], label[160];
    snprintf(name, sizeof name, "%s.%s", c, what);
    snprintf(label, sizeof label, "%s %s", c, what);
    float *want = fixture(name, n);
    cm_test_close_rel_max(label, got, want, n, tol);
    free(want);
}

/* The public API, with arenas of exactly the advertised size. */
static void test_public_api(setup *s, const char *c, const cm_prompt_stack *visual, const cm_prompt_stack *text)
{
    int E = tiny.embed_dim;
    float img[NI * 32], txt[NT * 32], logits[NI * NT];
    cm_arena ai, at;
    CM_TEST_OK(cm_arena_create(&ai, cm_clip_images_arena_bytes(&tiny, NI, visual ? visual->n : 0)));
    CM_TEST_OK(cm_arena_create(&at, cm_clip_texts_arena_bytes(&tiny, NT)));
    CM_TEST_OK(cm_clip_encode_images(&s->m, s->pixels, NI, visual, &ai, img));
    CM_TEST_OK(cm_clip_encode_texts(&s->m, s->ids, NT, text, &at, txt));
    CM_TEST(ai.used == 0 && at.used == 0, "%s: the encoders must rewind their arenas (%zu, %zu bytes left)", c,
            ai.used, at.used);
    compare(c, "image_features", img, (size_t)NI * E, TOL_TORCH);
    compare(c, "text_features", txt, (size_t)NT * E, TOL_TORCH);
    cm_clip_logits(img, NI, txt, NT, E, *s->m.w.logit_scale, logits);
    compare(c, "logits", logits, NI * NT, TOL_TORCH);
    /* A second call on the same arena gives the same result. */
    float again[NI * 32];
    CM_TEST_OK(cm_clip_encode_images(&s->m, s->pixels, NI, visual, &ai, again));
    CM_TEST(memcmp(again, img, sizeof img) == 0, "%s: repeated image encoding differs", c);
    cm_arena_destroy(&ai);
    cm_arena_destroy(&at);
}

/* Training-mode activations: every block input and the pooled head rows. */
static void test_vision_activations(setup *s)
{
    int E = tiny.embed_dim, D = 64, T = 17 + 2, L = 2;
    size_t bytes = cm_vision_acts_bytes(&tiny, NI, 2, CM_ACTS_TRAINING);
    cm_arena a;
    CM_TEST_OK(cm_arena_create(&a, bytes));
    cm_vision_acts acts;
    float feat[NI * 32], inference[NI * 32];
    CM_TEST_OK(cm_vision_forward(&s->m, s->pixels, NI, &s->visual, CM_ACTS_TRAINING, &a, &acts, feat));
    CM_TEST(a.peak == bytes, "vision training arena: measured %zu bytes, used %zu", bytes, a.peak);
    CM_TEST(acts.tower.shape.T == T, "vision tokens %d, want %d", acts.tower.shape.T, T);
    size_t per_layer = (size_t)NI * T * D;
    float *got = malloc(L * per_layer * sizeof *got);
    for (int l = 0; l < L; l++) memcpy(got + l * per_layer, acts.tower.blocks[l].x, per_layer * sizeof *got);
    compare("prompted", "vision_block_in", got, L * per_layer, TOL_TORCH);
    compare("prompted", "vision_head_ln", acts.tower.head_ln, (size_t)NI * D, TOL_TORCH);
    free(got);
    cm_arena_destroy(&a);

    CM_TEST_OK(cm_arena_create(&a, cm_clip_images_arena_bytes(&tiny, NI, 2)));
    CM_TEST_OK(cm_clip_encode_images(&s->m, s->pixels, NI, &s->visual, &a, inference));
    cm_test_close_rel_max("vision training-mode vs inference features", feat, inference, (size_t)NI * E, 0.0);
    cm_arena_destroy(&a);
}

static void test_text_activations(setup *s)
{
    int E = tiny.embed_dim, D = 64, L = 2, ctx = 77;
    size_t bytes = cm_text_acts_bytes(&tiny, NT, CM_ACTS_TRAINING);
    cm_arena a;
    CM_TEST_OK(cm_arena_create(&a, bytes));
    cm_text_acts acts;
    float short_run[NT * 32], full_run[NT * 32], inference[NT * 32];
    CM_TEST_OK(cm_text_forward(&s->m, s->ids, NT, 0, &s->text, CM_ACTS_TRAINING, &a, &acts, short_run));
    int T = acts.tower.shape.T;
    CM_TEST(T == 10, "the texts end at positions 5, 9, 7: the run must stop at 10 tokens, not %d", T);
    CM_TEST(acts.eot[0] == 5 && acts.eot[1] == 9 && acts.eot[2] == 7, "EOT positions %d %d %d", acts.eot[0],
            acts.eot[1], acts.eot[2]);
    /* The fixture holds all 77 rows; the C run has the first T of each text. */
    float *want = fixture("prompted.text_block_in", (size_t)L * NT * ctx * D);
    float *got = malloc((size_t)L * NT * T * D * sizeof *got), *sub = malloc((size_t)L * NT * T * D * sizeof *sub);
    for (int l = 0; l < L; l++)
        for (int b = 0; b < NT; b++) {
            size_t dst = ((size_t)l * NT + b) * T * D;
            memcpy(got + dst, acts.tower.blocks[l].x + (size_t)b * T * D, (size_t)T * D * sizeof *got);
            memcpy(sub + dst, want + ((size_t)l * NT + b) * ctx * D, (size_t)T * D * sizeof *sub);
        }
    cm_test_close_rel_max("prompted text_block_in (rows up to the last EOT)", got, sub, (size_t)L * NT * T * D,
                          TOL_TORCH);
    compare("prompted", "text_head_ln", acts.tower.head_ln, (size_t)NT * D, TOL_TORCH);
    free(want);
    free(got);
    free(sub);

    /* The full context, run by hand, pools the same features. */
    cm_arena_rewind(&a, 0);
    CM_TEST_OK(cm_text_forward(&s->m, s->ids, NT, ctx, &s->text, CM_ACTS_TRAINING, &a, &acts, full_run));
    CM_TEST(acts.tower.shape.T == ctx, "full run has %d tokens", acts.tower.shape.T);
    CM_TEST(a.peak == bytes, "text training arena: measured %zu bytes, used %zu", bytes, a.peak);
    cm_test_close_rel_max("text features: run to the last EOT vs all 77 tokens", short_run, full_run,
                          (size_t)NT * E, TOL_EOT_RUN);
    compare("prompted", "text_features", full_run, (size_t)NT * E, TOL_TORCH);
    cm_arena_destroy(&a);

    CM_TEST_OK(cm_arena_create(&a, cm_clip_texts_arena_bytes(&tiny, NT)));
    CM_TEST_OK(cm_clip_encode_texts(&s->m, s->ids, NT, &s->text, &a, inference));
    cm_test_close_rel_max("text training-mode vs inference features", short_run, inference, (size_t)NT * E, 0.0);
    cm_arena_destroy(&a);
}

/* Prompts of depth 1 only enter at layer 0; a stack with n = 0 is no stack. */
static void test_prompt_depths(setup *s)
{
    int E = tiny.embed_dim;
    cm_arena a;
    CM_TEST_OK(cm_arena_create(&a, cm_clip_texts_arena_bytes(&tiny, NT)));
    float none[NT * 32], empty[NT * 32], shallow[NT * 32], deep[NT * 32];
    cm_prompt_stack zero = {0, 2, 64, s->text.values}, one = s->text;
    one.depth = 1;
    CM_TEST_OK(cm_clip_encode_texts(&s->m, s->ids, NT, NULL, &a, none));
    CM_TEST_OK(cm_clip_encode_texts(&s->m, s->ids, NT, &zero, &a, empty));
    CM_TEST_OK(cm_clip_encode_texts(&s->m, s->ids, NT, &one, &a, shallow));
    CM_TEST_OK(cm_clip_encode_texts(&s->m, s->ids, NT, &s->text, &a, deep));
    CM_TEST(memcmp(none, empty, sizeof none) == 0, "n = 0 prompts must change nothing");
    double d1 = 0, d2 = 0;
    for (int i = 0; i < NT * E; i++) {
        d1 += (shallow[i] - none[i]) * (shallow[i] - none[i]);
        d2 += (deep[i] - shallow[i]) * (deep[i] - shallow[i]);
    }
    CM_TEST(d1 > 1e-6 && d2 > 1e-6, "layer-0 prompts (%g) and layer-1 prompts (%g) must both change the features",
            d1, d2);
    cm_arena_destroy(&a);
}

static void test_errors(setup *s)
{
    cm_arena a;
    CM_TEST_OK(cm_arena_create(&a, cm_clip_texts_arena_bytes(&tiny, NT)));
    float out[NT * 32];
    int32_t bad[NT * 77];
    memcpy(bad, s->ids, sizeof bad);
    bad[77 + 3] = 500;
    CM_TEST(cm_clip_encode_texts(&s->m, bad, NT, NULL, &a, out) == CM_ERR_ARG, "id 500 must be rejected");
    CM_TEST(strstr(cm_error_message(), "text 1 at position 3"), "message: %s", cm_error_message());
    cm_error_clear();
    CM_TEST(a.used == 0, "a failed encode must rewind the arena");
    cm_prompt_stack wide = s->text, too_deep = s->text;
    wide.width = 32;
    too_deep.depth = 3;
    CM_TEST(cm_clip_encode_texts(&s->m, s->ids, NT, &wide, &a, out) == CM_ERR_ARG, "prompt width must match");
    CM_TEST(strstr(cm_error_message(), "width 32"), "message: %s", cm_error_message());
    cm_error_clear();
    CM_TEST(cm_clip_encode_texts(&s->m, s->ids, NT, &too_deep, &a, out) == CM_ERR_ARG,
            "prompts deeper than the tower must be rejected");
    cm_error_clear();
    cm_arena small;
    CM_TEST_OK(cm_arena_create(&small, cm_clip_images_arena_bytes(&tiny, NI, 0)));
    CM_TEST(cm_clip_encode_images(&s->m, s->pixels, NI, &s->visual, &small, out) == CM_ERR_INTERNAL,
            "an arena sized without prompts must overflow with them");
    cm_error_clear();
    cm_arena_destroy(&small);
    cm_arena_destroy(&a);
}

/* The gradient of the row overwrite: summed over the sequences, rows zeroed. */
static void test_prompt_insert_backward(void)
{
    int B = 2, T = 4, D = 3, row = 1, n = 2;
    float dx[2 * 4 * 3], dp[2 * 3] = {0};
    for (int i = 0; i < B * T * D; i++) dx[i] = (float)(i + 1);
    cm_prompts_insert_backward(dp, dx, B, T, D, row, n);
    float want_dp[6], want_dx[24];
    for (int j = 0; j < n * D; j++) want_dp[j] = (float)((row * D + j + 1) + (T * D + row * D + j + 1));
    for (int i = 0; i < B * T * D; i++) {
        int t = (i / D) % T;
        want_dx[i] = (t >= row && t < row + n) ? 0.0f : (float)(i + 1);
    }
    cm_test_close("prompt insert backward dprompts", dp, want_dp, 6, 0, 0);
    cm_test_close("prompt insert backward dx", dx, want_dx, 24, 0, 0);
}

int main(void)
{
    setup s;
    load(&s);
    test_public_api(&s, "plain", NULL, NULL);
    test_public_api(&s, "prompted", &s.visual, &s.text);
    test_vision_activations(&s);
    test_text_activations(&s);
    test_prompt_depths(&s);
    test_errors(&s);
    test_prompt_insert_backward();
    cm_clip_destroy(&s.m);
    free(s.pixels);
    free(s.visual.values);
    free(s.text.values);
    return cm_test_summary();
}
