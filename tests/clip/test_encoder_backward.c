/* The encoders' backward against central finite differences on a tiny CLIP
 * with every weight random (LayerNorm gains around 1, non-zero biases):
 *  - cm_block_backward, causal and not: the input gradient, every weight and
 *    bias gradient (sampled entries);
 *  - cm_vision_backward / cm_text_backward: the gradient of every prompt entry
 *    of a depth-2 stack in a 3-layer tower (layer 0 through ln_pre on the image
 *    side, through the token rows on the text side; the deep layer through the
 *    overwritten rows), and sampled entries of every weight tensor of the tower
 *    (plus q, k and v entries of the last block's in_proj, whose queries exist for
 *    the pooled rows only);
 *  - a frozen backward (d_weights NULL) gives the same prompt gradients, and
 *    the arena is back where it was after each backward.
 * The probe loss is L = sum(out * R) for a fixed random R, accumulated in
 * double, so d(out) = R.
 *
 * Tolerance: max|analytic - fd| / max|fd| <= 1e-3 per tensor (for sampled entries, the
 * scale is the largest analytic gradient of the whole tensor). The forward is float32, so the
 * five-point stencil's step h = 3e-2 balances rounding (about 1e-7 |L| / h) against the
 * O(h^4) truncation; the worst tensor measured 3.1e-4.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clipmtl/encoder.h"
#include "clipmtl/rng.h"
#include "test_util.h"

#define TOL_FD 1e-3
#define FD_STEP 3e-2
#define FD_NOISE 1e-6
#define SAMPLES_PER_TENSOR 4
#define NI 2 /* images */
#define NT 3 /* texts */

/* Different widths on the two towers (3:2 as in ViT-B/16) so that no shape can be swapped. */
static const cm_clip_config tiny = {
    .embed_dim = 16,
    .vision = {.width = 48, .layers = 3, .heads = 2, .mlp_width = 192},
    .text = {.width = 32, .layers = 3, .heads = 2, .mlp_width = 128},
    .patch_size = 8,
    .image_size = 16,
    .grid = 2,
    .context_length = 12,
    .vocab_size = 40,
};

static cm_rng rng;

static void fill_normal(float *x, size_t n, float mean, float std)
{
    for (size_t i = 0; i < n; i++) x[i] = mean + std * cm_rng_normal(&rng);
}

static void randomise(cm_clip_model *m)
{
    for (int i = 0; i < m->table.count; i++) {
        const cm_tensor_desc *d = &m->table.entries[i];
        float *p = m->params + d->offset;
        int is_ln_weight = strstr(d->name, "ln_") && strstr(d->name, ".weight");
        double fan_in = d->ndim >= 2 ? (double)d->numel / d->shape[0] : 1.0;
        if (strstr(d->name, "logit_scale")) p[0] = logf(10.0f);
        else if (is_ln_weight) fill_normal(p, d->numel, 1.0f, 0.2f);
        else if (d->ndim == 1) fill_normal(p, d->numel, 0.0f, 0.1f); /* biases, LN biases, class embedding */
        else if (strstr(d->name, "proj") && !strstr(d->name, "resblocks")) fill_normal(p, d->numel, 0.0f, 0.3f);
        else fill_normal(p, d->numel, 0.0f, (float)(1.0 / sqrt(fan_in))); /* keeps activations of order 1 */
    }
}

/* ---- finite differences -------------------------------------------------- */

typedef double (*probe_fn)(void *ctx);

static double probe_at(float *x, size_t i, float value, probe_fn probe, void *ctx)
{
    x[i] = value;
    return probe(ctx);
}

/* The five-point stencil (f(-2h) - 8 f(-h) + 8 f(h) - f(2h)) / 12h: its truncation error is
 * O(h^4), so a step large enough to keep float rounding small stays accurate. */
static double central_difference(float *x, size_t i, probe_fn probe, void *ctx)
{
    float saved = x[i], h = (float)FD_STEP;
    double d = probe_at(x, i, saved - 2 * h, probe, ctx) - 8 * probe_at(x, i, saved - h, probe, ctx) +
               8 * probe_at(x, i, saved + h, probe, ctx) - probe_at(x, i, saved + 2 * h, probe, ctx);
    x[i] = saved;
    return d / (12.0 * h);
}

/* max|got - fd| / scale, where scale is the largest of max|fd|, `tensor_scale` (the largest
 * analytic gradient of the whole tensor, when only a few entries are sampled) and FD_NOISE (a
 * tensor the probe does not depend on, such as logit_scale, has fd = rounding noise). */
static void compare_fd(const char *what, const float *got, const float *fd, size_t n, double tensor_scale)
{
    double max_diff = 0, max_ref = tensor_scale > FD_NOISE ? tensor_scale : FD_NOISE;
    for (size_t i = 0; i < n; i++) {
        double d = fabs((double)got[i] - fd[i]);
        if (d > max_diff || isnan(d)) max_diff = isnan(d) ? INFINITY : d;
        if (fabs(fd[i]) > max_ref) max_ref = fabs(fd[i]);
    }
    CM_TEST(max_diff <= TOL_FD * max_ref, "%s: max|diff|/scale = %.3g > %.1g", what, max_diff / max_ref, TOL_FD);
    printf("%s %s: n=%zu max|diff|/scale = %.3g (tol %.1g)\n", max_diff <= TOL_FD * max_ref ? "ok  " : "FAIL",
           what, n, max_diff / max_ref, TOL_FD);
}

/* Compares grad[idx] with finite differences at the given entries of x. */
static void fd_compare(const char *what, float *x, const size_t *idx, size_t count, const float *grad,
                       double tensor_scale, probe_fn probe, void *ctx)
{
    float *got = malloc(count * sizeof *got), *want = malloc(count * sizeof *want);
    for (size_t k = 0; k < count; k++) {
        got[k] = grad[idx[k]];
        want[k] = (float)central_difference(x, idx[k], probe, ctx);
    }
    compare_fd(what, got, want, count, tensor_scale);
    free(got);
    free(want);
}

static void fd_compare_all(const char *what, float *x, size_t n, const float *grad, probe_fn probe, void *ctx)
{
    size_t *idx = malloc(n * sizeof *idx);
    for (size_t i = 0; i < n; i++) idx[i] = i;
    fd_compare(what, x, idx, n, grad, 0, probe, ctx);
    free(idx);
}

/* A few entries of every tensor of the table whose name starts with `prefix`. */
static void fd_compare_tensors(const cm_clip_model *m, const char *prefix, const char *skip, const float *grads,
                               probe_fn probe, void *ctx)
{
    for (int i = 0; i < m->table.count; i++) {
        const cm_tensor_desc *d = &m->table.entries[i];
        if (strncmp(d->name, prefix, strlen(prefix)) != 0 || (skip && strncmp(d->name, skip, strlen(skip)) == 0))
            continue;
        size_t idx[SAMPLES_PER_TENSOR];
        size_t count = d->numel < SAMPLES_PER_TENSOR ? d->numel : SAMPLES_PER_TENSOR;
        for (size_t k = 0; k < count; k++) idx[k] = d->offset + cm_rng_below(&rng, d->numel);
        double scale = 0;
        for (size_t k = 0; k < d->numel; k++) scale = fmax(scale, fabs(grads[d->offset + k]));
        char label[200];
        snprintf(label, sizeof label, "d %s (%zu entries)", d->name, count);
        fd_compare(label, m->params, idx, count, grads, scale, probe, ctx);
    }
}

static double dot_double(const float *a, const float *b, size_t n)
{
    double s = 0;
    for (size_t i = 0; i < n; i++) s += (double)a[i] * b[i];
    return s;
}

/* The last block computes queries for its pooled rows only: check entries of each third
 * (q, k, v) of its in_proj weight and bias. */
static void fd_compare_last_in_proj(const cm_clip_model *m, const char *tower_prefix, int layers,
                                    const float *grads, probe_fn probe, void *ctx)
{
    char name[128], label[160];
    for (int bias = 0; bias < 2; bias++) {
        snprintf(name, sizeof name, "%sresblocks.%d.attn.in_proj_%s", tower_prefix, layers - 1, bias ? "bias" : "weight");
        const cm_tensor_desc *d = cm_table_find(&m->table, name);
        size_t third = d->numel / 3, idx[6];
        for (int k = 0; k < 6; k++) idx[k] = d->offset + (k / 2) * third + cm_rng_below(&rng, third);
        double scale = 0;
        for (size_t k = 0; k < d->numel; k++) scale = fmax(scale, fabs(grads[d->offset + k]));
        snprintf(label, sizeof label, "d %s (q, k and v entries)", name);
        fd_compare(label, m->params, idx, 6, grads, scale, probe, ctx);
    }
}

/* ---- one block ------------------------------------------------------------ */

typedef struct {
    cm_block_weights w;
    cm_block_shape s;
    cm_tower_acts acts;
    float *x, *R;
} block_case;

static double block_probe(void *p)
{
    block_case *c = p;
    size_t ND = (size_t)c->s.B * c->s.T * c->s.D;
    memcpy(c->acts.blocks[0].x, c->x, ND * sizeof(float));
    cm_block_forward(&c->w, &c->s, &c->acts.blocks[0], c->acts.branch);
    return dot_double(c->acts.blocks[0].out, c->R, ND);
}

static void test_block(const cm_clip_model *m, int causal)
{
    cm_clip_model grads;
    CM_TEST_OK(cm_clip_create(&grads, &m->cfg)); /* zeroed: the weight gradients of every tensor */
    const cm_vision_weights *vw = &m->w.visual;
    block_case c = {.w = vw->blocks[1], .s = {.B = 2, .T = 5, .D = 48, .H = 2, .M = 192, .causal = causal}};
    size_t ND = (size_t)c.s.B * c.s.T * c.s.D;
    cm_arena a;
    cm_arena measure;
    cm_tower_grads g;
    cm_arena_measure(&measure);
    /* Two layers: the tower's last block is allocated compactly for its pooled rows, block 0 in
     * full, as cm_block_forward needs. */
    CM_TEST_OK(cm_tower_acts_alloc(&measure, &c.s, 2, CM_ACTS_TRAINING, &c.acts));
    CM_TEST_OK(cm_tower_grads_alloc(&measure, &c.s, &g));
    CM_TEST_OK(cm_arena_create(&a, measure.peak));
    CM_TEST_OK(cm_tower_acts_alloc(&a, &c.s, 2, CM_ACTS_TRAINING, &c.acts));
    CM_TEST_OK(cm_tower_grads_alloc(&a, &c.s, &g));
    c.x = malloc(ND * sizeof(float));
    c.R = malloc(ND * sizeof(float));
    fill_normal(c.x, ND, 0.0f, 1.0f);
    fill_normal(c.R, ND, 0.0f, 1.0f);

    block_probe(&c);
    memcpy(g.d_stream, c.R, ND * sizeof(float));
    cm_block_weights *dw = &grads.w.visual.blocks[1];
    cm_block_backward(&c.w, dw, &c.s, &c.acts.blocks[0], &g);
    char label[64];
    snprintf(label, sizeof label, "block (%s) d input", causal ? "causal" : "full");
    fd_compare_all(label, c.x, ND, g.d_stream, block_probe, &c);
    /* The block reads the model's weights through c.w, so perturbing the model perturbs it. */
    fd_compare_tensors(m, "visual.transformer.resblocks.1.", NULL, grads.params, block_probe, &c);

    /* Frozen: the same input gradient, nothing written to the weights. */
    float *frozen_in = malloc(ND * sizeof(float));
    block_probe(&c);
    memcpy(g.d_stream, c.R, ND * sizeof(float));
    cm_block_backward(&c.w, NULL, &c.s, &c.acts.blocks[0], &g);
    memcpy(frozen_in, g.d_stream, ND * sizeof(float));
    memcpy(g.d_stream, c.R, ND * sizeof(float));
    cm_block_backward(&c.w, dw, &c.s, &c.acts.blocks[0], &g);
    cm_test_close("block d input: frozen vs with weight gradients", frozen_in, g.d_stream, ND, 0, 0);
    free(frozen_in);
    free(c.x);
    free(c.R);
    cm_arena_destroy(&a);
    cm_clip_destroy(&grads);
}

/* ---- towers --------------------------------------------------------------- */

typedef struct {
    cm_clip_model *m;
    cm_arena arena;
    float *pixels, *R;
    int32_t ids[NT * 12];
    cm_prompt_stack prompts;
} tower_case;

static double vision_probe(void *p)
{
    tower_case *c = p;
    float feat[NI * 16];
    cm_err e = cm_clip_encode_images(c->m, c->pixels, NI, &c->prompts, &c->arena, feat);
    if (e) cm_error_print(stderr);
    return dot_double(feat, c->R, NI * 16);
}

static double text_probe(void *p)
{
    tower_case *c = p;
    float feat[NT * 16];
    cm_err e = cm_clip_encode_texts(c->m, c->ids, NT, &c->prompts, &c->arena, feat);
    if (e) cm_error_print(stderr);
    return dot_double(feat, c->R, NT * 16);
}

/* CM_ACTS_INPUT_GRAD: the same features and prompt gradients (bit for bit: the same
 * arithmetic) from less memory, bias gradients still allowed, linear weight gradients refused. */
static void check_input_grad_mode(tower_case *c, const char *tower, size_t training_bytes, const float *want,
                                  size_t nprompt)
{
    const int vision = !strcmp(tower, "image"), B = vision ? NI : NT, E = 16;
    const cm_prompt_stack *p = &c->prompts;
    cm_prompt_stack d = {p->n, p->depth, p->width, calloc(nprompt, sizeof(float))};
    float feat[NT * 16], ref[NT * 16];
    cm_clip_model grads;
    CM_TEST_OK(cm_clip_create(&grads, &c->m->cfg));
    cm_vision_acts va;
    cm_text_acts ta;
    cm_tower_acts *t = vision ? &va.tower : &ta.tower;
    cm_clip_weights *gw = &grads.w;
    cm_block_weights *d_block1 = vision ? &gw->visual.blocks[1] : &gw->text.blocks[1];
    if (vision) {
        CM_TEST(cm_vision_acts_bytes(&c->m->cfg, NI, p->n, CM_ACTS_INPUT_GRAD) < training_bytes * 4 / 5,
                "input-gradient activations must be smaller than training ones");
        CM_TEST_OK(cm_clip_encode_images(c->m, c->pixels, NI, p, &c->arena, ref));
        CM_TEST_OK(cm_vision_forward(c->m, c->pixels, NI, p, CM_ACTS_INPUT_GRAD, &c->arena, &va, feat));
        CM_TEST_OK(cm_vision_backward(c->m, &va, p, c->R, &d, NULL, &c->arena));
    } else {
        CM_TEST(cm_text_acts_bytes(&c->m->cfg, NT, CM_ACTS_INPUT_GRAD) < training_bytes * 4 / 5,
                "input-gradient activations must be smaller than training ones");
        CM_TEST_OK(cm_clip_encode_texts(c->m, c->ids, NT, p, &c->arena, ref));
        CM_TEST_OK(cm_text_forward(c->m, c->ids, NT, 0, p, CM_ACTS_INPUT_GRAD, &c->arena, &ta, feat));
        CM_TEST_OK(cm_text_backward(c->m, &ta, c->ids, p, c->R, &d, NULL, &c->arena));
    }
    char label[96];
    snprintf(label, sizeof label, "%s features: input-gradient mode vs inference", tower);
    cm_test_close(label, feat, ref, (size_t)B * E, 0, 0);
    snprintf(label, sizeof label, "%s prompt gradient: input-gradient mode vs training mode", tower);
    cm_test_close(label, d.values, want, nprompt, 0, 0);
    /* Biases need no saved input; a linear weight does. */
    cm_block_weights only_bias = {0};
    cm_block_weights *keep = vision ? gw->visual.blocks : gw->text.blocks;
    only_bias.qkv_b = d_block1->qkv_b;
    cm_block_weights *blocks = calloc((size_t)t->layers, sizeof *blocks);
    blocks[1] = only_bias;
    if (vision) gw->visual.blocks = blocks;
    else gw->text.blocks = blocks;
    /* conv1 is a linear layer too: its patches are not kept in this mode. */
    float *conv1 = gw->visual.conv1_w;
    if (vision) {
        cm_err refused = cm_vision_backward(c->m, &va, p, c->R, &d, gw, &c->arena);
        CM_TEST(refused == CM_ERR_ARG && strstr(cm_error_message(), "conv1 weight gradient"),
                "image: the conv1 gradient from input-gradient activations must be refused (%s)",
                cm_error_message());
        cm_error_clear();
        gw->visual.conv1_w = NULL;
    }
    cm_err e = vision ? cm_vision_backward(c->m, &va, p, c->R, &d, gw, &c->arena)
                      : cm_text_backward(c->m, &ta, c->ids, p, c->R, &d, gw, &c->arena);
    CM_TEST(e == CM_OK, "%s: a bias gradient from input-gradient activations must be allowed", tower);
    blocks[1].out_w = d_block1->out_w;
    e = vision ? cm_vision_backward(c->m, &va, p, c->R, &d, gw, &c->arena)
               : cm_text_backward(c->m, &ta, c->ids, p, c->R, &d, gw, &c->arena);
    CM_TEST(e == CM_ERR_ARG && strstr(cm_error_message(), "layer 1: linear weight gradients"),
            "%s: a weight gradient from input-gradient activations must be refused (%s)", tower, cm_error_message());
    cm_error_clear();
    if (vision) gw->visual.blocks = keep;
    else gw->text.blocks = keep;
    gw->visual.conv1_w = conv1;
    free(blocks);
    cm_arena_rewind(&c->arena, 0);
    cm_clip_destroy(&grads);
    free(d.values);
}

static void test_vision(cm_clip_model *m)
{
    const int E = 16, D = 48, n = 2, depth = 2;
    tower_case c = {.m = m};
    size_t npix = (size_t)NI * 3 * 16 * 16, nprompt = (size_t)depth * n * D;
    c.pixels = malloc(npix * sizeof(float));
    c.R = malloc(NI * E * sizeof(float));
    c.prompts = (cm_prompt_stack){n, depth, D, malloc(nprompt * sizeof(float))};
    fill_normal(c.pixels, npix, 0.0f, 1.0f);
    fill_normal(c.R, NI * E, 0.0f, 1.0f);
    fill_normal(c.prompts.values, nprompt, 0.0f, 0.5f);
    size_t fwd = cm_vision_acts_bytes(&m->cfg, NI, n, CM_ACTS_TRAINING);
    size_t bytes = fwd + cm_vision_backward_bytes(&m->cfg, NI, n);
    CM_TEST_OK(cm_arena_create(&c.arena, bytes));

    cm_clip_model grads;
    CM_TEST_OK(cm_clip_create(&grads, &m->cfg));
    cm_prompt_stack d_prompts = {n, depth, D, calloc(nprompt, sizeof(float))};
    cm_prompt_stack d_frozen = {n, depth, D, calloc(nprompt, sizeof(float))};
    cm_vision_acts acts;
    float feat[NI * 16];
    CM_TEST_OK(cm_vision_forward(m, c.pixels, NI, &c.prompts, CM_ACTS_TRAINING, &c.arena, &acts, feat));
    size_t after_forward = c.arena.used;
    CM_TEST_OK(cm_vision_backward(m, &acts, &c.prompts, c.R, &d_prompts, &grads.w, &c.arena));
    CM_TEST(c.arena.peak <= bytes, "vision backward used %zu bytes, sized %zu", c.arena.peak, bytes);
    CM_TEST(c.arena.used == after_forward, "vision backward left %zu bytes allocated",
            c.arena.used - after_forward);
    CM_TEST_OK(cm_vision_backward(m, &acts, &c.prompts, c.R, &d_frozen, NULL, &c.arena));
    cm_test_close("vision prompt gradient: frozen vs with weight gradients", d_frozen.values, d_prompts.values,
                  nprompt, 0, 0);
    cm_arena_rewind(&c.arena, 0);
    check_input_grad_mode(&c, "image", fwd, d_prompts.values, nprompt);

    fd_compare_all("vision d prompts layer 0 (through ln_pre)", c.prompts.values, (size_t)n * D, d_prompts.values,
                   vision_probe, &c);
    fd_compare_all("vision d prompts layer 1 (overwritten rows)", c.prompts.values + n * D, (size_t)n * D,
                   d_prompts.values + n * D, vision_probe, &c);
    fd_compare_tensors(m, "visual.", NULL, grads.params, vision_probe, &c);
    fd_compare_last_in_proj(m, "visual.transformer.", m->cfg.vision.layers, grads.params, vision_probe, &c);

    /* Without prompts the towers still backpropagate to the weights. */
    free(c.prompts.values);
    c.prompts = (cm_prompt_stack){0, 0, D, NULL};
    memset(grads.params, 0, grads.table.total * sizeof(float));
    cm_arena_rewind(&c.arena, 0);
    CM_TEST_OK(cm_vision_forward(m, c.pixels, NI, NULL, CM_ACTS_TRAINING, &c.arena, &acts, feat));
    CM_TEST_OK(cm_vision_backward(m, &acts, NULL, c.R, NULL, &grads.w, &c.arena));
    cm_arena_rewind(&c.arena, 0);
    fd_compare_tensors(m, "visual.transformer.resblocks.0.", NULL, grads.params, vision_probe, &c);
    fd_compare_tensors(m, "visual.conv1", NULL, grads.params, vision_probe, &c);

    free(d_prompts.values);
    free(d_frozen.values);
    free(c.pixels);
    free(c.R);
    cm_clip_destroy(&grads);
    cm_arena_destroy(&c.arena);
}

static void test_text(cm_clip_model *m)
{
    const int E = 16, D = 32, n = 2, depth = 2, ctx = 12;
    tower_case c = {.m = m};
    /* SOS = 38, EOT = 39 (the largest id), placeholders 1 in the prompt rows; lengths 6, 9, 4. */
    const int eot[NT] = {5, 8, 3};
    for (int b = 0; b < NT; b++)
        for (int t = 0; t < ctx; t++) {
            int32_t id = 0;
            if (t == 0) id = 38;
            else if (t == eot[b]) id = 39;
            else if (t <= n) id = 1;
            else if (t < eot[b]) id = 2 + (int32_t)cm_rng_below(&rng, 36);
            c.ids[b * ctx + t] = id;
        }
    size_t nprompt = (size_t)depth * n * D;
    c.R = malloc(NT * E * sizeof(float));
    c.prompts = (cm_prompt_stack){n, depth, D, malloc(nprompt * sizeof(float))};
    fill_normal(c.R, NT * E, 0.0f, 1.0f);
    fill_normal(c.prompts.values, nprompt, 0.0f, 0.5f);
    size_t bytes = cm_text_acts_bytes(&m->cfg, NT, CM_ACTS_TRAINING) + cm_text_backward_bytes(&m->cfg, NT, ctx);
    CM_TEST_OK(cm_arena_create(&c.arena, bytes));

    cm_clip_model grads;
    CM_TEST_OK(cm_clip_create(&grads, &m->cfg));
    cm_prompt_stack d_prompts = {n, depth, D, calloc(nprompt, sizeof(float))};
    cm_prompt_stack d_frozen = {n, depth, D, calloc(nprompt, sizeof(float))};
    cm_text_acts acts;
    float feat[NT * 16];
    CM_TEST_OK(cm_text_forward(m, c.ids, NT, 0, &c.prompts, CM_ACTS_TRAINING, &c.arena, &acts, feat));
    CM_TEST(acts.tower.shape.T == 9, "texts end at 5, 8, 3: %d tokens run, want 9", acts.tower.shape.T);
    size_t after_forward = c.arena.used;
    CM_TEST_OK(cm_text_backward(m, &acts, c.ids, &c.prompts, c.R, &d_prompts, &grads.w, &c.arena));
    CM_TEST(c.arena.used == after_forward, "text backward left %zu bytes allocated", c.arena.used - after_forward);
    CM_TEST_OK(cm_text_backward(m, &acts, NULL, &c.prompts, c.R, &d_frozen, NULL, &c.arena));
    cm_test_close("text prompt gradient: frozen vs with weight gradients", d_frozen.values, d_prompts.values,
                  nprompt, 0, 0);
    cm_arena_rewind(&c.arena, 0);
    check_input_grad_mode(&c, "text", cm_text_acts_bytes(&m->cfg, NT, CM_ACTS_TRAINING), d_prompts.values, nprompt);

    fd_compare_all("text d prompts layer 0 (embedding rows 1..n)", c.prompts.values, (size_t)n * D,
                   d_prompts.values, text_probe, &c);
    fd_compare_all("text d prompts layer 1 (overwritten rows)", c.prompts.values + n * D, (size_t)n * D,
                   d_prompts.values + n * D, text_probe, &c);
    /* Token embedding rows of ids that occur (a random row of the table is mostly unused). */
    const cm_tensor_desc *tok = cm_table_find(&m->table, "token_embedding.weight");
    size_t idx[6] = {tok->offset + 39 * D + 3, tok->offset + 38 * D + 7, tok->offset + c.ids[3] * D,
                     tok->offset + c.ids[ctx + 4] * D + 31, tok->offset + c.ids[ctx + 7] * D + 11,
                     tok->offset + 1 * D + 5 /* placeholder: overwritten, so zero */};
    fd_compare("d token_embedding (used rows, a placeholder row)", m->params, idx, 6, grads.params, 0, text_probe, &c);
    fd_compare_tensors(m, "", "visual.", grads.params, text_probe, &c); /* every text tensor */
    fd_compare_last_in_proj(m, "transformer.", m->cfg.text.layers, grads.params, text_probe, &c);

    free(d_prompts.values);
    free(d_frozen.values);
    free(c.prompts.values);
    free(c.R);
    cm_clip_destroy(&grads);
    cm_arena_destroy(&c.arena);
}

static void test_errors(cm_clip_model *m)
{
    cm_arena a;
    CM_TEST_OK(cm_arena_create(&a, cm_vision_acts_bytes(&m->cfg, 1, 0, CM_ACTS_INFERENCE) +
                                       cm_vision_backward_bytes(&m->cfg, 1, 0)));
    float pixels[3 * 16 * 16] = {0}, feat[16], d_feat[16] = {1};
    cm_vision_acts acts;
    CM_TEST_OK(cm_vision_forward(m, pixels, 1, NULL, CM_ACTS_INFERENCE, &a, &acts, feat));
    CM_TEST(cm_vision_backward(m, &acts, NULL, d_feat, NULL, NULL, &a) == CM_ERR_ARG,
            "a backward through inference activations must be refused");
    CM_TEST(strstr(cm_error_message(), "training mode"), "message: %s", cm_error_message());
    cm_error_clear();
    cm_arena_destroy(&a);
}

int main(void)
{
    cm_rng_seed(&rng, 20240607, 0);
    cm_clip_model m;
    CM_TEST_OK(cm_clip_create(&m, &tiny));
    randomise(&m);
    test_block(&m, 0);
    test_block(&m, 1);
    test_vision(&m);
    test_text(&m);
    test_errors(&m);
    cm_clip_destroy(&m);
    return cm_test_summary();
}
