/* Prompt methods as prompt generators: trainable parameters -> per-layer text
 * and visual prompts (include/clipmtl/prompts.h), and the way back.
 *
 * A method lays its tensors out inside a caller's tensor table under a prefix
 * ("shared.", "group1.", "task3.") so that every trainable parameter of a run
 * lives in one buffer. Names, after the prefix (j = prompted layer):
 *   coop/vpt/ivlp  <m>.text.<j> [n_text, Dt], <m>.visual.<j> [n_visual, Dv]
 *   maple          maple.text.<j> [n, Dt], maple.proj.<j>.weight [Dv, Dt], .bias [Dv]
 *                  (visual prompt of layer j = text_j proj_j^T + bias_j, spec.md 2.6)
 *   mmap           mmap.source.<j> [m, nn] (or mmap.source when shared by all layers),
 *                  mmap.w_text.<j> [b/m, Dt/nn], mmap.w_visual.<j> [b/m, Dv/nn]
 *                  (text prompt = source (x) w_text, visual = source (x) w_visual, spec.md 3.3)
 * The parameter-updating baselines of spec.md 2.9 live in the same table but make no prompts:
 *   full           every CLIP tensor under its OpenAI name ("shared.visual.conv1.weight", ...)
 *   bitfit         the bias vectors only, under their OpenAI names: attn.in_proj_bias,
 *                  attn.out_proj.bias, mlp.c_fc.bias, mlp.c_proj.bias, ln_1/ln_2.bias of every
 *                  block and ln_pre/ln_post/ln_final.bias (LayerNorm gains stay frozen)
 *   adapter        adapter.<image|text>.fc1.weight [E/r, E], .fc2.weight [E, E/r] (CLIP-Adapter)
 * Their effect on the model is src/methods/weight_methods.c (include/clipmtl/weight_methods.h). */
#ifndef CLIPMTL_PROMPT_METHOD_H
#define CLIPMTL_PROMPT_METHOD_H

#include <stddef.h>

#include "clipmtl/clip_model.h"
#include "clipmtl/error.h"
#include "clipmtl/prompts.h"
#include "clipmtl/rng.h"
#include "clipmtl/tensor_table.h"
#include "clipmtl/tokenizer.h"

typedef enum {
    CM_METHOD_ZEROSHOT,
    CM_METHOD_COOP,  /* text prompts at layer 0 */
    CM_METHOD_VPT,   /* VPT-deep: visual prompts, depth J */
    CM_METHOD_IVLP,  /* independent text and visual prompts, depth J */
    CM_METHOD_MAPLE, /* text prompts, visual = Linear(text) per layer */
    CM_METHOD_MMAP,  /* Kronecker products of a source prompt with two scaling matrices */
    /* Parameter-updating baselines (spec.md 2.9): they train CLIP's own weights, not prompts. */
    CM_METHOD_FULL,
    CM_METHOD_BITFIT,
    CM_METHOD_ADAPTER,
    CM_METHOD_COUNT_
} cm_method_kind;

typedef struct {
    cm_method_kind kind;
    int n_text, n_visual;         /* prompt vectors per layer; MaPLe and MmAP need them equal (= b) */
    int depth_text, depth_visual; /* prompted layers, counting layer 0 */
    int mmap_m, mmap_n;           /* MmAP source prompt shape m x n */
    int mmap_shared_source;       /* one source prompt for all layers (else one per layer) */
    int mmap_scale_init_normal;   /* scaling matrices ~ N(0, init_std^2) (else ones) */
    float init_std;               /* N(0, init_std^2) for prompts and source prompts */
    char ctx_init[128];           /* words that start each class sentence, "" = "X X ... X" */
    /* full, bitfit, adapter: the CLIP they act on (its layout, embed_dim); the caller sets it
     * once the model is known. Prompt methods ignore it. */
    cm_clip_config model;
    int adapter_reduction;        /* adapter hidden width = embed_dim / reduction (spec 2.9: 4) */
    float adapter_ratio;          /* f' = ratio * adapter(f) + (1 - ratio) * f (0.2) */
    int adapter_image, adapter_text; /* which features get an adapter */
} cm_method_options;

typedef struct {
    cm_method_options opt;
    int text_width, visual_width; /* Dt, Dv of the model */
    size_t *offsets;              /* tensor offsets in the shared buffer, method-specific order */
    int noffsets;
    int *model_entries;           /* full, bitfit: offsets[i] holds the model table's entry model_entries[i] */
    size_t first, count;          /* the method's floats: buffer[first, first+count) */
} cm_prompt_method;

const char *cm_method_name(cm_method_kind kind);
cm_err cm_method_kind_parse(const char *name, cm_method_kind *kind);
/* 1 for the parameter-updating baselines (full, bitfit, adapter): no prompts, their parameters
 * act inside the model (include/clipmtl/weight_methods.h). */
int cm_method_updates_weights(cm_method_kind kind);
/* 1 for the prompt methods (coop, vpt, ivlp, maple, mmap). */
int cm_method_makes_prompts(cm_method_kind kind);
/* The defaults of spec.md 2.3-2.6, 2.9 and 3.4 for `kind`. */
void cm_method_options_default(cm_method_kind kind, cm_method_options *opt);

/* Checks the options against the model's widths and depths (e.g. MmAP: m | b, n | Dt, n | Dv)
 * and appends the method's tensors to `table` under `prefix`. */
cm_err cm_method_create(cm_prompt_method *pm, const cm_method_options *opt, int text_width, int visual_width,
                        int text_layers, int visual_layers, cm_tensor_table *table, const char *prefix);
void cm_method_destroy(cm_prompt_method *pm);

/* Shapes of the prompt stacks the method produces (values left NULL; n = 0 when none). */
void cm_method_prompt_shapes(const cm_prompt_method *pm, cm_prompt_stack *text, cm_prompt_stack *visual);

/* Fills the method's parameters in `params` (spec.md initialisations). `text_init`, when not
 * NULL, holds the token embeddings [n_text, Dt] of the words of ctx_init that seed the layer-0
 * text prompt (CoOp, IVLP, MaPLe word initialisation). The adapter's Linear layers start as
 * PyTorch's nn.Linear does, U(-1/sqrt(in), 1/sqrt(in)); full and bitfit start from the model's
 * own values (cm_method_copy_model_weights), which this leaves alone. */
void cm_method_init(const cm_prompt_method *pm, float *params, cm_rng *rng, const float *text_init);

/* params -> prompts. Stacks come from cm_method_prompt_shapes with values allocated. */
void cm_method_prompts_forward(const cm_prompt_method *pm, const float *params, cm_prompt_stack *text,
                               cm_prompt_stack *visual);
/* d(prompts) -> d(params), accumulated (+=) into d_params so tasks can sum into one buffer. */
void cm_method_prompts_backward(const cm_prompt_method *pm, const float *params, const cm_prompt_stack *d_text,
                                const cm_prompt_stack *d_visual, float *d_params);

/* The sentence whose tokens carry n_text layer-0 text prompts for class `classname` (spec.md 2.1):
 * "<ctx_init> <class>." when n_text > 0, with "X" placeholders after ctx_init for the rows it has
 * no token for (all n_text of them when ctx_init is empty or NULL), "a photo of a <class>." when
 * n_text is 0; '_' in class names becomes a space. The prompts replace the n_text tokens after
 * SOS, so they never cover the class name. tok counts ctx_init's tokens (NULL when ctx_init is
 * empty or n_text is 0). */
cm_err cm_class_sentence(const cm_tokenizer *tok, const char *ctx_init, int n_text, const char *classname, char *buf,
                         size_t len);

#endif
