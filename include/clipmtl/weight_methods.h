/* The parameter-updating baselines of MmAP's Figure 1 (spec.md 2.9) inside a training step.
 * Their parameters live in a prompt set's table like prompts do (prompt_method.h gives the
 * names), so reductions, optimizer ranges and checkpoints treat them alike; what differs is
 * where they act:
 *   full     the step runs CLIP with every tensor taken from the method's copy in params;
 *   bitfit   the same for the bias vectors, every other tensor from the frozen model;
 *   adapter  the frozen CLIP, then on the image and/or text features, before the head
 *            normalises them (CLIP-Adapter, Gao et al. 2021, its ImageNet code):
 *              f' = ratio * relu(relu(f W1^T) W2^T) + (1 - ratio) * f,
 *            W1 [E/r, E] and W2 [E, E/r] bias-free.
 * The frozen model is never written: views re-point its tensor pointers instead. */
#ifndef CLIPMTL_WEIGHT_METHODS_H
#define CLIPMTL_WEIGHT_METHODS_H

#include "clipmtl/arena.h"
#include "clipmtl/clip_model.h"
#include "clipmtl/prompt_method.h"

/* 1 when the method replaces CLIP tensors (full, bitfit). */
int cm_method_trains_clip(const cm_prompt_method *pm);

/* full, bitfit: copies the model's values of the trained tensors into params (their starting
 * point); other methods: nothing. The model must have the layout of pm->opt.model. */
void cm_method_copy_model_weights(const cm_prompt_method *pm, const cm_clip_model *m, float *params);

/* Block structs a view needs: vision.layers + text.layers. */
int cm_method_view_blocks(const cm_clip_config *cfg);
/* *view = *frozen with the trained tensors read from params. blocks[cm_method_view_blocks]
 * holds the view's block arrays; the view shares frozen's table and buffer (read only). */
void cm_method_model_view(const cm_prompt_method *pm, const cm_clip_model *frozen, const float *params,
                          cm_block_weights *blocks, cm_clip_model *view);
/* Gradient pointers into d_params for the trained tensors; every other pointer NULL, so that
 * the encoders' backward runs no weight-gradient GEMM for a frozen tensor. */
void cm_method_weight_grads(const cm_prompt_method *pm, const cm_clip_config *cfg, float *d_params,
                            cm_block_weights *blocks, cm_clip_weights *dw);

/* ---- CLIP-Adapter --------------------------------------------------------- */

typedef enum { CM_ADAPTER_SIDE_IMAGE, CM_ADAPTER_SIDE_TEXT } cm_adapter_side;

/* One adapted feature batch: what the backward reads. */
typedef struct {
    int n, E, H;    /* rows, feature width, hidden width E / reduction */
    float *input;   /* [n,E] features before the adapter */
    float *hidden;  /* [n,H] relu(f W1^T) */
    float *act;     /* [n,E] relu(hidden W2^T) */
    float *d_act, *d_hidden, *d_input; /* backward scratch ([n,E], [n,H], [n,E]), NULL forward-only */
} cm_adapter_acts;

/* 1 when the method adapts that side's features. */
int cm_adapter_active(const cm_prompt_method *pm, cm_adapter_side side);
/* Buffers for n rows (NULL pointers on a measuring arena). */
cm_err cm_adapter_acts_alloc(cm_arena *arena, const cm_prompt_method *pm, int n, int backward, cm_adapter_acts *a);
/* features [n,E] -> f' in place. */
void cm_adapter_forward(const cm_prompt_method *pm, cm_adapter_side side, const float *params, float *features,
                        cm_adapter_acts *a);
/* d_params (the side's W1, W2) += the gradient given d_features = dL/df' [n,E]. The gradient of
 * f itself is not propagated: the towers under the adapter are frozen. */
void cm_adapter_backward(const cm_prompt_method *pm, cm_adapter_side side, const float *params,
                         const float *d_features, cm_adapter_acts *a, float *d_params);

#endif
