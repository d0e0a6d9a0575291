/* One task's training step on a shard of its batch: the single code path of every trainer, of
 * the `grad` command and of the grouping phase.
 *
 *   params --cm_prompt_set_forward--> text / visual prompt stacks
 *   class sentences [C, ctx] --text tower (once for all C classes, up to the last EOT)--> txt [C,E]
 *   pixels [b,3,S,S] --image tower--> img [b,E]
 *   logits = exp(logit_scale) cos(img, txt) [b,C] --cross-entropy--> loss
 * and, when d_params is given, the way back through the head, both towers (only those that
 * carry prompts) and cm_prompt_set_backward into d_params.
 *
 * The CLIP weights are frozen for prompt methods: no weight gradient is computed. The
 * parameter-updating baselines (weight_methods.h) change that: full fine-tuning and BitFit
 * run the towers with their trained copies of CLIP's tensors (from params) and get those
 * tensors' gradients, and only those (BitFit: no linear weight-gradient GEMM); CLIP-Adapter
 * adapts the features between the towers and the head and its gradient stops there.
 * Activations and gradient scratch live in one arena sized by cm_task_step_arena_bytes;
 * nothing is allocated. */
#ifndef CLIPMTL_TRAIN_STEP_H
#define CLIPMTL_TRAIN_STEP_H

#include <stddef.h>
#include <stdint.h>

#include "clipmtl/arena.h"
#include "clipmtl/clip_model.h"
#include "clipmtl/error.h"
#include "clipmtl/prompt_set.h"

/* Arena bytes for a step of b images and C classes with the prompts of `set` (NULL: zero-shot;
 * the largest composed stacks over its tasks). text_tokens: the tokens the text tower runs,
 * max EOT position + 1 of the class sentences (cm_text_eot_positions), or 0 for the whole
 * context. backward = 0 sizes a forward-only step (evaluation), which needs far less. */
size_t cm_task_step_arena_bytes(const cm_clip_config *cfg, const cm_prompt_set *set, int b, int C, int text_tokens,
                                int backward);

/* Runs the step of task `task` on b images with labels in [0,C).
 *  params      the set's parameter buffer (set->table); set may be NULL (zero-shot, no params)
 *  pixels      [b,3,S,S] normalised images
 *  task_batch  the task's whole batch: *loss = (sum of the b losses) / task_batch and the
 *              gradients scale alike, so that summing the shards of a batch gives its mean
 *  class_ids   [C, context] tokenized class sentences (cm_class_sentence)
 *  d_params    accumulated (+=) gradient of *loss, laid out like params; NULL = forward only
 *  loss        (NULL-able) the shard's share of the task's mean cross-entropy
 *  correct     (NULL-able) images whose arg-max logit is their label
 * The arena is rewound to where it was on return. A non-finite loss is an error naming the task. */
cm_err cm_task_step(const cm_clip_model *m, const cm_prompt_set *set, int task, const float *params,
                    const float *pixels, const int *labels, int b, int task_batch, const int32_t *class_ids, int C,
                    cm_arena *arena, float *d_params, double *loss, int *correct);

#endif
