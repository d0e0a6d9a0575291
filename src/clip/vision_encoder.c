/* CLIP's image tower (spec.md 1.1): conv1 as a patch GEMM, class token and
 * positional embedding, layer-0 visual prompts appended, ln_pre, the blocks
 * with deep prompts overwriting the last n rows, ln_post on the class token
 * and the projection. */
#include <string.h>

#include "clipmtl/encoder.h"
#include "clipmtl/ops.h"

#define IMAGE_CHANNELS 3
#define MAX_VISUAL_PROMPTS 65536

static cm_block_shape vision_shape(const cm_clip_config *c, int B, int nprompts)
{
    return (cm_block_shape){.B = B,
                            .T = cm_clip_vision_tokens(c) + nprompts,
                            .D = c->vision.width,
                            .H = c->vision.heads,
                            .M = c->vision.mlp_width,
                            .causal = 0};
}

cm_err cm_vision_acts_alloc(cm_arena *arena, const cm_clip_config *cfg, int B, int nprompts, cm_acts_mode mode,
                            cm_vision_acts *acts)
{
    memset(acts, 0, sizeof *acts);
    cm_block_shape s = vision_shape(cfg, B, nprompts);
    CM_CHECK(cm_tower_acts_alloc(arena, &s, cfg->vision.layers, mode, &acts->tower));
    acts->nprompts = nprompts;
    size_t patches = (size_t)B * cfg->grid * cfg->grid, N = (size_t)B * s.T;
    size_t im2col = patches * IMAGE_CHANNELS * cfg->patch_size * cfg->patch_size;
    if (mode == CM_ACTS_INPUT_GRAD && im2col + patches * s.D <= N * s.M) {
        /* Only the conv1 weight gradient reads the patches again (refused in this mode), so both
         * live in the blocks' MLP-activation buffer, unused until the first block's MLP. */
        if (acts->tower.work_wide) {
            acts->patches = acts->tower.work_wide;
            acts->patch_out = acts->tower.work_wide + im2col;
        }
    } else {
        CM_CHECK(cm_arena_floats(arena, im2col, &acts->patches));
        CM_CHECK(cm_arena_floats(arena, patches * s.D, &acts->patch_out));
    }
    /* Inference normalises the embedding in place into the stream. */
    if (mode != CM_ACTS_INFERENCE) /* kept for ln_pre's backward */
        CM_CHECK(cm_arena_floats(arena, N * s.D, &acts->embed));
    else if (acts->tower.blocks)
        acts->embed = acts->tower.blocks[0].x;
    CM_CHECK(cm_arena_floats(arena, N, &acts->ln_pre_mean));
    CM_CHECK(cm_arena_floats(arena, N, &acts->ln_pre_rstd));
    return CM_OK;
}

size_t cm_vision_acts_bytes(const cm_clip_config *cfg, int B, int nprompts, cm_acts_mode mode)
{
    cm_arena measure;
    cm_vision_acts acts;
    cm_arena_measure(&measure);
    (void)cm_vision_acts_alloc(&measure, cfg, B, nprompts, mode, &acts); /* a measuring arena cannot fail */
    return measure.peak;
}

/* [CLS + pos 0 | patch p + pos 1+p | layer-0 prompts] for every image. */
static void assemble_tokens(const cm_vision_weights *w, const cm_vision_acts *acts, const cm_prompt_stack *visual,
                            int B, int G, int D)
{
    int T = acts->tower.shape.T;
    for (int b = 0; b < B; b++) {
        float *e = acts->embed + (long)b * T * D;
        cm_residual_forward(e, w->class_embedding, w->positional_embedding, D);
        cm_residual_forward(e + D, acts->patch_out + (long)b * G * D, w->positional_embedding + D, (long)G * D);
    }
    if (acts->nprompts)
        cm_prompts_insert(acts->embed, B, T, D, 1 + G, cm_prompts_layer(visual, 0), acts->nprompts);
}

cm_err cm_vision_forward(const cm_clip_model *m, const float *pixels, int B, const cm_prompt_stack *visual,
                         cm_acts_mode mode, cm_arena *arena, cm_vision_acts *acts, float *features)
{
    const cm_clip_config *c = &m->cfg;
    const cm_vision_weights *w = &m->w.visual;
    int D = c->vision.width, E = c->embed_dim, G = c->grid * c->grid;
    CM_ASSERT(B > 0, CM_ERR_ARG, "image batch size %d must be positive", B);
    CM_ASSERT(arena->base, CM_ERR_ARG, "the image encoder needs a created arena, not a measuring one");
    CM_CHECK(cm_prompts_check(visual, "visual", c->vision.layers, D, MAX_VISUAL_PROMPTS));
    int n = cm_prompts_active(visual) ? visual->n : 0;
    CM_CHECK(cm_vision_acts_alloc(arena, c, B, n, mode, acts));
    cm_tower_acts *t = &acts->tower;
    int T = t->shape.T;

    cm_patch_embed_forward(acts->patch_out, acts->patches, pixels, w->conv1_w, B, IMAGE_CHANNELS, c->image_size,
                           c->image_size, c->patch_size, D);
    assemble_tokens(w, acts, visual, B, G, D);
    cm_layernorm_forward(t->blocks[0].x, acts->ln_pre_mean, acts->ln_pre_rstd, acts->embed, w->ln_pre_w,
                         w->ln_pre_b, B * T, D);
    cm_tower_forward(w->blocks, t, n ? visual : NULL, 1 + G, NULL); /* pools the class token */
    cm_tower_head_forward(t, w->ln_post_w, w->ln_post_b, w->proj, E, features);
    return CM_OK;
}

size_t cm_clip_images_arena_bytes(const cm_clip_config *cfg, int B, int nprompts)
{
    return cm_vision_acts_bytes(cfg, B, nprompts, CM_ACTS_INFERENCE);
}

cm_err cm_clip_encode_images(const cm_clip_model *m, const float *pixels, int B, const cm_prompt_stack *visual,
                             cm_arena *arena, float *features)
{
    size_t mark = arena->used;
    cm_vision_acts acts;
    cm_err err = cm_vision_forward(m, pixels, B, visual, CM_ACTS_INFERENCE, arena, &acts, features);
    cm_arena_rewind(arena, mark);
    CM_CHECK(err);
    return CM_OK;
}

/* ---- backward ------------------------------------------------------------ */

size_t cm_vision_backward_bytes(const cm_clip_config *cfg, int B, int nprompts)
{
    cm_block_shape s = vision_shape(cfg, B, nprompts);
    return cm_tower_grads_bytes(&s);
}

/* Does any tensor below the blocks (embeddings, conv1, ln_pre) want a gradient? */
static int wants_embedding_grads(const cm_vision_weights *dw)
{
    return dw && (dw->conv1_w || dw->class_embedding || dw->positional_embedding || dw->ln_pre_w || dw->ln_pre_b);
}

/* d(embed) -> conv1, class and positional embeddings. */
static void embedding_backward(const cm_clip_model *m, const cm_vision_acts *acts, const float *d_embed,
                               cm_vision_weights *dw)
{
    const cm_clip_config *c = &m->cfg;
    int B = acts->tower.shape.B, T = acts->tower.shape.T, D = acts->tower.shape.D, G = c->grid * c->grid;
    for (int b = 0; b < B; b++) {
        const float *e = d_embed + (size_t)b * T * D;
        if (dw->class_embedding) cm_residual_backward(dw->class_embedding, NULL, e, D);
        if (dw->positional_embedding) cm_residual_backward(dw->positional_embedding, NULL, e, (long)(1 + G) * D);
        if (dw->conv1_w) /* one image at a time: its patch rows are contiguous in d_embed */
            cm_patch_embed_backward(NULL, dw->conv1_w, NULL, e + D, acts->patches + (size_t)b * G * 3 * c->patch_size *
                                    c->patch_size, m->w.visual.conv1_w, 1, IMAGE_CHANNELS, c->image_size,
                                    c->image_size, c->patch_size, D);
    }
}

cm_err cm_vision_backward(const cm_clip_model *m, const cm_vision_acts *acts, const cm_prompt_stack *visual,
                          const float *d_features, cm_prompt_stack *d_visual, cm_clip_weights *d_weights,
                          cm_arena *arena)
{
    const cm_clip_config *c = &m->cfg;
    const cm_vision_weights *w = &m->w.visual;
    cm_vision_weights *dw = d_weights ? &d_weights->visual : NULL;
    const cm_tower_acts *t = &acts->tower;
    int B = t->shape.B, T = t->shape.T, D = t->shape.D, E = c->embed_dim, G = c->grid * c->grid;
    int n = acts->nprompts;
    CM_CHECK(cm_tower_backward_check(t, dw ? dw->blocks : NULL, "image"));
    CM_ASSERT(!dw || !dw->conv1_w || t->mode == CM_ACTS_TRAINING, CM_ERR_ARG,
              "the conv1 weight gradient needs a forward that kept the patches (CM_ACTS_TRAINING, not "
              "CM_ACTS_INPUT_GRAD)");
    CM_ASSERT(n == (cm_prompts_active(visual) ? visual->n : 0), CM_ERR_ARG,
              "the image backward got %d visual prompts per layer, the forward ran %d",
              cm_prompts_active(visual) ? visual->n : 0, n);
    CM_ASSERT(!d_visual || !n || (d_visual->n == n && d_visual->depth == visual->depth && d_visual->width == D &&
                                  d_visual->values),
              CM_ERR_ARG, "the visual prompt gradient must have the prompts' shape [%d,%d,%d]", visual->depth, n, D);
    size_t mark = arena->used;
    cm_tower_grads g;
    CM_CHECK(cm_tower_grads_alloc(arena, &t->shape, &g));

    /* features = ln_post(out[:,0]) proj */
    cm_tower_head_backward(t, w->ln_post_w, w->proj, E, d_features, dw ? dw->ln_post_w : NULL,
                           dw ? dw->ln_post_b : NULL, dw ? dw->proj : NULL, &g);
    cm_tower_backward(w->blocks, dw ? dw->blocks : NULL, t, n ? visual : NULL, n ? d_visual : NULL, 1 + G, g.d_pooled,
                      &g);
    float *d_stream = g.d_stream;

    /* d_stream = d(ln_pre output). Only the prompt rows matter unless a tensor below wants its
     * gradient, and ln_pre works row by row: run it on those rows alone then. */
    float *d_embed = g.d_narrow;
    memset(d_embed, 0, (size_t)B * T * D * sizeof(float));
    if (wants_embedding_grads(dw)) {
        cm_layernorm_backward(d_embed, dw->ln_pre_w, dw->ln_pre_b, d_stream, acts->embed, w->ln_pre_w,
                              acts->ln_pre_mean, acts->ln_pre_rstd, B * T, D);
        embedding_backward(m, acts, d_embed, dw);
    } else if (n && d_visual) {
        for (int b = 0; b < B; b++) {
            size_t r = (size_t)b * T + 1 + G;
            cm_layernorm_backward(d_embed + r * D, NULL, NULL, d_stream + r * D, acts->embed + r * D, w->ln_pre_w,
                                  acts->ln_pre_mean + r, acts->ln_pre_rstd + r, n, D);
        }
    }
    if (n && d_visual) cm_prompts_insert_backward(d_visual->values, d_embed, B, T, D, 1 + G, n);
    cm_arena_rewind(arena, mark);
    return CM_OK;
}
