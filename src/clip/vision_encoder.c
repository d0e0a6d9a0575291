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
    CM_CHECK(cm_arena_floats(arena, patches * IMAGE_CHANNELS * cfg->patch_size * cfg->patch_size, &acts->patches));
    CM_CHECK(cm_arena_floats(arena, patches * s.D, &acts->patch_out));
    /* Inference normalises the embedding in place into the stream. */
    if (mode == CM_ACTS_TRAINING)
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
    cm_tower_forward(w->blocks, t, n ? visual : NULL, 1 + G);

    const float *out = cm_tower_output(t);
    for (int b = 0; b < B; b++) memcpy(t->pooled + (long)b * D, out + (long)b * T * D, (size_t)D * sizeof(float));
    cm_layernorm_forward(t->head_ln, t->head_mean, t->head_rstd, t->pooled, w->ln_post_w, w->ln_post_b, B, D);
    cm_project_forward(features, t->head_ln, w->proj, B, D, E);
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
