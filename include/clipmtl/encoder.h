/* The CLIP image and text encoders (spec.md 1.1-1.3), the residual block they
 * share and the activations a backward pass will need.
 *
 * All activations live in one cm_arena. Two modes decide how much is kept:
 *  - CM_ACTS_INFERENCE: every layer reuses one set of buffers and the residual
 *    stream is updated in place; only the features are meaningful afterwards.
 *  - CM_ACTS_TRAINING: every layer keeps its own ln inputs, means and rstd,
 *    qkv, attention output, MLP pre-activation and activation, so that a
 *    backward pass can run through the saved values (attention probabilities
 *    are recomputed from q and k there).
 *  - CM_ACTS_INPUT_GRAD: for a backward to the inputs (prompts) only, with the
 *    weights frozen: the inputs of the four linear layers (ln_1 and ln_2
 *    outputs, attention output, MLP activation), which only weight gradients
 *    read, are not kept (about a third less memory). A backward may still
 *    compute bias and LayerNorm gradients, not linear weight gradients.
 *    Under compute.precision bf16 (the precision selected when the activations
 *    are allocated, so size the arena after cm_gemm_select) the blocks before
 *    the last keep x, qkv, x_mid and fc as bfloat16 copies (the bf16 layout),
 *    rounded from the fp32 values the forward computes with; their fp32 values
 *    live in working buffers the blocks share, and the backward reads the
 *    copies back into them. At ViT-B/16, B = 32: 88 instead of 176 MB a block.
 * Sizing: the *_acts_bytes functions run the allocation sequence of a forward
 * on a measuring arena; create the arena with (at least) that many bytes.
 *
 * Linear layers run as one GEMM over all tokens of all sequences (B*T rows);
 * attention runs per sequence and head (see ops.h). */
#ifndef CLIPMTL_ENCODER_H
#define CLIPMTL_ENCODER_H

#include <stddef.h>
#include <stdint.h>

#include "clipmtl/arena.h"
#include "clipmtl/clip_model.h"
#include "clipmtl/error.h"
#include "clipmtl/prompts.h"

typedef enum { CM_ACTS_INFERENCE, CM_ACTS_TRAINING, CM_ACTS_INPUT_GRAD } cm_acts_mode;

/* ---- the residual block (src/clip/transformer.c) ------------------------ */

typedef struct {
    int B, T;      /* sequences, tokens per sequence: N = B*T rows */
    int D, H, M;   /* width, heads, MLP width */
    int causal;    /* 1 on the text tower */
} cm_block_shape;

/* One block: x_mid = x + out_proj(attn(ln_1(x))); out = x_mid + c_proj(qgelu(c_fc(ln_2(x_mid)))). */
typedef struct {
    float *x;                          /* [N,D] block input (ln_1's input), deep prompts inserted */
    float *ln1, *ln1_mean, *ln1_rstd;  /* [N,D], [N], [N] */
    float *qkv;                        /* [N,3D] */
    float *scores;                     /* the tower's attention scratch (probabilities are not
                                          kept: the backward recomputes them from q and k) */
    float *att;                        /* [N,D] heads concatenated, out_proj's input */
    float *x_mid;                      /* [N,D] stream after the attention residual (ln_2's input) */
    float *ln2, *ln2_mean, *ln2_rstd;  /* [N,D], [N], [N] */
    float *fc;                         /* [N,M] c_fc output (QuickGELU's input) */
    float *fc_act;                     /* [N,M] QuickGELU output (c_proj's input) */
    float *out;                        /* [N,D] block output, which is the next block's x: the
                                          next layer's deep prompts overwrite their rows in it */
    uint16_t *x16, *qkv16, *x_mid16, *fc16; /* the bf16 layout's saved copies (NULL otherwise) */
} cm_block_acts;
/* The last block of a tower computes only what its pooled rows (CLS, EOT) need: the
 * features read nothing else. Its buffers keep their sizes but hold: x, ln1, ln1_mean,
 * ln1_rstd for all N rows; qkv as k|v [N,2D]; att, x_mid, ln2, ln2_mean, ln2_rstd, fc,
 * fc_act, out for the B pooled rows only (allocated so in the training modes). The pooled
 * rows' ln_1 output, query and attention probabilities are the tower's pool_ln1, pool_q and
 * pool_probs. */

/* The stack of blocks of one tower plus the pooled head. In inference mode all
 * blocks share buffers, and x, x_mid and out are one stream updated in place. */
typedef struct {
    cm_acts_mode mode;
    cm_block_shape shape;
    int layers;
    cm_block_acts *blocks;                 /* [layers] */
    int32_t *pool, *pool_keys;             /* [B] pooled row of each sequence; keys its query sees */
    float *pool_ln1, *pool_q;              /* [B,D] the pooled rows' ln_1 output and query */
    float *pool_probs;                     /* [B,H,T] their attention probabilities */
    float *scores;                         /* CM_ATTENTION_SCRATCH(T): attention's forward scratch */
    int bf16;                              /* the blocks before the last use the bf16 layout */
    float *work_narrow, *work_wide;        /* CM_ACTS_INPUT_GRAD: the [N,D] and [N,M] buffers of the
                                              linear inputs the blocks share (ln_1, attention, ln_2
                                              out; MLP activation), free before the first block */
    float *branch;                         /* [N,D] scratch: out_proj / c_proj output */
    float *pooled;                         /* [B,D] the pooled rows of the last output (CLS or EOT) */
    float *head_ln, *head_mean, *head_rstd; /* [B,D], [B], [B]: ln_post / ln_final of the pooled rows */
} cm_tower_acts;

/* Allocates the tower's activations for `shape` (NULL pointers on a measuring arena). */
cm_err cm_tower_acts_alloc(cm_arena *arena, const cm_block_shape *shape, int layers, cm_acts_mode mode,
                           cm_tower_acts *acts);
/* Runs one block on a->x (weights w), writing every activation of a. */
void cm_block_forward(const cm_block_weights *w, const cm_block_shape *s, cm_block_acts *a, float *branch);
/* Runs all blocks from acts->blocks[0].x into acts->pooled [B,D], the last block's output at
 * row pool[b] of each sequence b (pool NULL: row 0, the class token). Before block i in
 * 1..depth-1 the deep prompts of layer i overwrite rows prompt_row..prompt_row+n-1 of every
 * sequence (deep may be NULL; layer 0 is the encoder's business). With the causal mask a
 * pooled row attends to the rows up to itself. */
void cm_tower_forward(const cm_block_weights *blocks, cm_tower_acts *acts, const cm_prompt_stack *deep,
                      int prompt_row, const int32_t *pool);
/* The head of both towers (ln_final and text_projection, ln_post and proj): features [B,E] =
 * layernorm(acts->pooled; ln_w, ln_b) proj, proj [D,E]; keeps head_ln/_mean/_rstd for the backward. */
void cm_tower_head_forward(cm_tower_acts *acts, const float *ln_w, const float *ln_b, const float *proj, int E,
                           float *features);

/* ---- backward through the blocks (src/clip/transformer.c) ---------------
 * Needs the activations of a CM_ACTS_TRAINING (or, without linear weight
 * gradients, CM_ACTS_INPUT_GRAD) forward. Weight gradients go to
 * a cm_block_weights of gradient pointers: the whole struct may be NULL
 * (frozen tower: no weight-gradient GEMM runs at all) and so may each of its
 * pointers (e.g. BitFit trains the biases only). Gradients are added (+=). */

/* Gradient scratch of one tower, allocated in the arena like the activations. */
typedef struct {
    float *d_stream; /* [N,D] gradient of the residual stream, walked from the output down */
    float *d_narrow; /* [N,D] d(ln_2 out), d(attention out), d(ln_1 out) in turn */
    float *d_wide;   /* [N,max(M,3D)] d(QuickGELU out), in place d(c_fc out), then d(qkv) */
    float *d_scores; /* attention backward scratch, CM_ATTENTION_SCRATCH(T) */
    float *d_pool;   /* [4,B,D] the last block's compact gradients */
    float *d_head_ln, *d_pooled; /* [B,D] the head's: d(its layernorm output), d(acts->pooled) */
} cm_tower_grads;

cm_err cm_tower_grads_alloc(cm_arena *arena, const cm_block_shape *shape, cm_tower_grads *g);
/* The arena bytes of cm_tower_grads_alloc after a forward's activations (with the alignment padding). */
size_t cm_tower_grads_bytes(const cm_block_shape *shape);
/* Turns g->d_stream from the gradient of a->out into the gradient of a->x,
 * in place; dw (NULL-able) receives the block's weight gradients. */
void cm_block_backward(const cm_block_weights *w, cm_block_weights *dw, const cm_block_shape *s,
                       const cm_block_acts *a, cm_tower_grads *g);
/* Runs the blocks backward from d_pooled = d(acts->pooled) [B,D] to g->d_stream =
 * d(blocks[0].x). `deep` is the stack of the forward (its shape decides which
 * rows were overwritten): a deep prompt of layer i in 1..depth-1 receives the
 * gradient of the rows it overwrote, summed over the sequences, into d_deep
 * (same shape, accumulated, NULL-able), and those rows get zero gradient.
 * d_blocks is [layers] or NULL. */
/* Refuses activations a backward cannot use: inference mode, or linear weight gradients
 * asked of CM_ACTS_INPUT_GRAD activations. `tower` names the tower in the message. */
cm_err cm_tower_backward_check(const cm_tower_acts *acts, const cm_block_weights *d_blocks, const char *tower);
void cm_tower_backward(const cm_block_weights *blocks, cm_block_weights *d_blocks, const cm_tower_acts *acts,
                       const cm_prompt_stack *deep, cm_prompt_stack *d_deep, int prompt_row, const float *d_pooled,
                       cm_tower_grads *g);
/* The head's backward: g->d_pooled = d(acts->pooled) from d_features [B,E] (overwritten, through
 * g->d_head_ln); d_ln_w, d_ln_b, d_proj receive the head's weight gradients (NULL-able, added). */
void cm_tower_head_backward(const cm_tower_acts *acts, const float *ln_w, const float *proj, int E,
                            const float *d_features, float *d_ln_w, float *d_ln_b, float *d_proj, cm_tower_grads *g);

/* ---- image encoder (src/clip/vision_encoder.c) -------------------------- */

typedef struct {
    cm_tower_acts tower;    /* T = 1 + grid^2 + n tokens */
    int nprompts;
    float *patches;         /* [B*G, 3*P*P] im2col of the pixels (conv1 weight gradient) */
    float *patch_out;       /* [B*G, D] conv1 output */
                            /* CM_ACTS_INPUT_GRAD: both inside tower.work_wide, not kept */
    float *embed;           /* [B,T,D] CLS + pos, patches + pos, layer-0 prompts: ln_pre's input */
    float *ln_pre_mean, *ln_pre_rstd; /* [B*T]; ln_pre's output is tower.blocks[0].x */
} cm_vision_acts;

size_t cm_vision_acts_bytes(const cm_clip_config *cfg, int B, int nprompts, cm_acts_mode mode);
cm_err cm_vision_acts_alloc(cm_arena *arena, const cm_clip_config *cfg, int B, int nprompts, cm_acts_mode mode,
                            cm_vision_acts *acts);
/* Allocates acts in the arena (left allocated) and computes features [B,E]. */
cm_err cm_vision_forward(const cm_clip_model *m, const float *pixels, int B, const cm_prompt_stack *visual,
                         cm_acts_mode mode, cm_arena *arena, cm_vision_acts *acts, float *features);
/* The gradient of cm_vision_forward (CM_ACTS_TRAINING or CM_ACTS_INPUT_GRAD) given d_features [B,E]:
 * d_visual (same shape as `visual`, the forward's stack; NULL-able) += the
 * gradient of the prompts of every layer (layer 0 through ln_pre), and
 * d_weights (NULL-able, each pointer NULL-able) += the weight gradients of
 * the image tower. Scratch comes from the arena and is released on return. */
cm_err cm_vision_backward(const cm_clip_model *m, const cm_vision_acts *acts, const cm_prompt_stack *visual,
                          const float *d_features, cm_prompt_stack *d_visual, cm_clip_weights *d_weights,
                          cm_arena *arena);
/* Arena bytes cm_vision_backward needs on top of the forward's (alignment included). */
size_t cm_vision_backward_bytes(const cm_clip_config *cfg, int B, int nprompts);

/* ---- text encoder (src/clip/text_encoder.c) ----------------------------- */

typedef struct {
    cm_tower_acts tower; /* T = tokens actually run (<= context) */
    int32_t *eot;        /* [B] EOT position (argmax id) of each sequence */
} cm_text_acts;

/* Sized for T = context_length, the most a forward can use. */
size_t cm_text_acts_bytes(const cm_clip_config *cfg, int B, cm_acts_mode mode);
cm_err cm_text_acts_alloc(cm_arena *arena, const cm_clip_config *cfg, int B, int T, cm_acts_mode mode,
                          cm_text_acts *acts);
/* EOT position of each row of ids [B,context] (the first maximal id) and the
 * number of tokens a forward must run: max EOT position + 1. Checks the ids
 * against the vocabulary (the message names row and column). */
cm_err cm_text_eot_positions(const cm_clip_config *cfg, const int32_t *ids, int B, int32_t *eot, int *tokens);
/* Runs `tokens` tokens of each sequence (0: up to the last EOT of the batch,
 * which gives the same features as the full context thanks to the causal
 * mask), allocating acts in the arena (left allocated); features [B,E]. */
cm_err cm_text_forward(const cm_clip_model *m, const int32_t *ids, int B, int tokens, const cm_prompt_stack *text,
                       cm_acts_mode mode, cm_arena *arena, cm_text_acts *acts, float *features);
/* The gradient of cm_text_forward (CM_ACTS_TRAINING or CM_ACTS_INPUT_GRAD) given d_features [B,E]:
 * d_text (same shape as `text`, the forward's stack; NULL-able) += the
 * gradient of the prompts of every layer (layer 0: the gradient of embedding
 * rows 1..n, which the positional embedding does not change), and d_weights
 * (NULL-able, each pointer NULL-able) += the text tower's weight gradients;
 * ids (the forward's, [B,context]) are read only for the token embedding's.
 * Scratch comes from the arena and is released on return. */
cm_err cm_text_backward(const cm_clip_model *m, const cm_text_acts *acts, const int32_t *ids,
                        const cm_prompt_stack *text, const float *d_features, cm_prompt_stack *d_text,
                        cm_clip_weights *d_weights, cm_arena *arena);
/* Arena bytes cm_text_backward needs on top of the forward's for T tokens (alignment included). */
size_t cm_text_backward_bytes(const cm_clip_config *cfg, int B, int T);

/* ---- public API used by the encode / zeroshot commands ------------------ */

/* Arena bytes that cm_clip_encode_images / _texts need for a batch of B. */
size_t cm_clip_images_arena_bytes(const cm_clip_config *cfg, int B, int nprompts);
size_t cm_clip_texts_arena_bytes(const cm_clip_config *cfg, int B);

/* Image features [B,E] (before L2 normalisation) of normalised pixels
 * [B,3,H,W]; visual prompts may be NULL. The arena is rewound on return. */
cm_err cm_clip_encode_images(const cm_clip_model *m, const float *pixels, int B, const cm_prompt_stack *visual,
                             cm_arena *arena, float *features);
/* Text features [B,E] (before L2 normalisation) of token ids [B,context];
 * text prompts may be NULL. The arena is rewound on return. */
cm_err cm_clip_encode_texts(const cm_clip_model *m, const int32_t *ids, int B, const cm_prompt_stack *text,
                            cm_arena *arena, float *features);
/* logits[B,C] = exp(logit_scale_log) * cos(img_b, txt_c) (src/clip/logits.c). */
void cm_clip_logits(const float *img, int B, const float *txt, int C, int E, float logit_scale_log,
                    float *logits);

#endif
