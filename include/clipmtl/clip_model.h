/* The frozen CLIP model: its configuration (inferred from a checkpoint), the
 * layout of all weights in one contiguous buffer under their OpenAI names, and
 * a struct of named pointers into that buffer.
 *
 * Conventions (those of the OpenAI checkpoint, kept so that loading is a copy):
 *  - Linear weights are [out, in]: y = x W^T + b.
 *  - attn in_proj packs q, k, v along the output dimension: rows [0,D) are q,
 *    [D,2D) k, [2D,3D) v.
 *  - visual.proj [Dv, E] and text_projection [Dt, E] are used as x @ P.
 *  - logit_scale holds log(scale). */
#ifndef CLIPMTL_CLIP_MODEL_H
#define CLIPMTL_CLIP_MODEL_H

#include "clipmtl/error.h"
#include "clipmtl/tensor_table.h"

typedef struct {
    int width;     /* residual stream width D */
    int layers;
    int heads;     /* width / 64, OpenAI's convention on both towers */
    int mlp_width; /* 4 * width */
} cm_tower_dims;

typedef struct {
    int embed_dim; /* E: the joint embedding width */
    cm_tower_dims vision, text;
    int patch_size, image_size, grid; /* grid = image_size / patch_size */
    int context_length, vocab_size;
} cm_clip_config;

typedef struct {
    float *ln_1_w, *ln_1_b;
    float *qkv_w, *qkv_b; /* attn.in_proj_weight [3D,D], in_proj_bias [3D] */
    float *out_w, *out_b; /* attn.out_proj [D,D], [D] */
    float *ln_2_w, *ln_2_b;
    float *fc_w, *fc_b;     /* mlp.c_fc [M,D], [M] */
    float *proj_w, *proj_b; /* mlp.c_proj [D,M], [D] */
} cm_block_weights;

typedef struct {
    float *conv1_w;              /* [D,3,P,P], no bias */
    float *class_embedding;      /* [D] */
    float *positional_embedding; /* [1+grid*grid, D] */
    float *ln_pre_w, *ln_pre_b;
    cm_block_weights *blocks;    /* [layers] */
    float *ln_post_w, *ln_post_b;
    float *proj;                 /* [D,E] */
} cm_vision_weights;

typedef struct {
    float *token_embedding;      /* [V,D] */
    float *positional_embedding; /* [context,D] */
    cm_block_weights *blocks;    /* [layers] */
    float *ln_final_w, *ln_final_b;
    float *text_projection;      /* [D,E] */
} cm_text_weights;

/* Named pointers into one buffer laid out by cm_clip_layout. Weights and
 * their gradients (full fine-tuning, BitFit) use the same struct. */
typedef struct {
    cm_vision_weights visual;
    cm_text_weights text;
    float *logit_scale; /* [1] */
} cm_clip_weights;

typedef struct {
    cm_clip_config cfg;
    cm_tensor_table table; /* every tensor, under its OpenAI name */
    float *params;         /* table.total floats */
    cm_clip_weights w;
} cm_clip_model;

/* Checks that the dimensions are positive and consistent (width % 64, grid). */
cm_err cm_clip_config_validate(const cm_clip_config *cfg);
/* "vision 768x12 patch 16 @224, text 512x12 ctx 77 vocab 49408, embed 512". */
const char *cm_clip_config_str(const cm_clip_config *cfg, char *buf, size_t len);
/* Number of tokens of the image sequence without prompts: 1 + grid^2. */
int cm_clip_vision_tokens(const cm_clip_config *cfg);

/* Parameter counts of a layout: the image tower (visual.*), the text tower,
 * and the rest (logit_scale). */
void cm_clip_count_params(const cm_tensor_table *table, size_t *vision, size_t *text, size_t *other);

/* Appends every CLIP tensor to `table` in a fixed order under OpenAI names. */
cm_err cm_clip_layout(const cm_clip_config *cfg, cm_tensor_table *table);
/* Points `w` into `buffer` (laid out by cm_clip_layout); allocates the block arrays. */
cm_err cm_clip_weights_bind(const cm_clip_config *cfg, const cm_tensor_table *table, float *buffer,
                            cm_clip_weights *w);
void cm_clip_weights_release(cm_clip_weights *w);
/* The pointer of `w` that holds entry `entry` of a cm_clip_layout table (NULL past the end):
 * lets a caller re-point single tensors (full fine-tuning, BitFit) without names. */
float **cm_clip_weight_slot(cm_clip_weights *w, const cm_clip_config *cfg, int entry);

/* Allocates a zeroed model of the given configuration. */
cm_err cm_clip_create(cm_clip_model *m, const cm_clip_config *cfg);
void cm_clip_destroy(cm_clip_model *m);

#endif
