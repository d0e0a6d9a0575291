/* Optimisers over one flat parameter buffer (a tensor table's floats), the learning-rate
 * schedule of the MaPLe-repo trainers, and gradient-norm clipping.
 *
 * Semantics are PyTorch's: SGD with momentum, dampening 0, L2 weight decay added to the
 * gradient (torch.optim.SGD); AdamW with decoupled weight decay (torch.optim.AdamW).
 * The schedule is Dassl's: per epoch, `warmup_epochs` at a constant warmup_lr (or a linear
 * ramp), then cosine annealing over max_epochs starting at epoch `warmup_epochs` (spec.md 2.7). */
#ifndef CLIPMTL_OPTIMIZER_H
#define CLIPMTL_OPTIMIZER_H

#include <stddef.h>
#include <stdint.h>

#include "clipmtl/error.h"

typedef enum { CM_OPTIM_SGD, CM_OPTIM_ADAMW } cm_optim_kind;
typedef enum { CM_WARMUP_CONSTANT, CM_WARMUP_LINEAR } cm_warmup_kind;

typedef struct {
    cm_optim_kind kind;
    double momentum, weight_decay; /* SGD momentum; weight decay for both */
    double beta1, beta2, eps;      /* AdamW */
} cm_optim_options;

typedef struct {
    double base_lr;
    int max_epochs, warmup_epochs;
    cm_warmup_kind warmup;
    double warmup_lr; /* constant warm-up */
} cm_schedule;

typedef struct {
    cm_optim_options opt;
    size_t n;
    float *m, *v; /* SGD: m = momentum buffer; AdamW: first and second moments */
    long steps;   /* updates done (AdamW bias correction) */
} cm_optimizer;

/* MaPLe-repo SGD (momentum 0.9, weight decay 5e-4) or AdamW (0.9, 0.999, 1e-8, 0.01). */
void cm_optim_options_default(cm_optim_kind kind, cm_optim_options *o);
cm_err cm_optimizer_create(cm_optimizer *o, const cm_optim_options *opt, size_t n);
void cm_optimizer_destroy(cm_optimizer *o);
/* One update of params[n] with grads[n] (grads are left unchanged). */
void cm_optimizer_step(cm_optimizer *o, float *params, const float *grads, double lr);
/* The same update restricted to [first, first + count): a rank updates only the prompts it
 * trains, so replicas it does not use are not decayed on their own. Call cm_optimizer_count_step
 * once per step before the ranges (AdamW's bias correction counts steps). */
void cm_optimizer_count_step(cm_optimizer *o);
void cm_optimizer_update_range(cm_optimizer *o, float *params, const float *grads, size_t first, size_t count,
                               double lr);
/* The same with its own weight decay (pretraining decays matrices only). */
void cm_optimizer_update_range_decay(cm_optimizer *o, float *params, const float *grads, size_t first, size_t count,
                                     double lr, double weight_decay);

/* Learning rate of the given epoch (0-based). */
double cm_schedule_lr(const cm_schedule *s, int epoch);
/* Per-step schedule of pretraining, step 0-based of total: linear warm-up base (s+1)/W for
 * s < W, then cosine from base to 0 over the remaining total - W steps (torch's LinearLR then
 * CosineAnnealingLR in a SequentialLR, tests/reference/optimizer_reference.py). */
double cm_schedule_step_lr(double base_lr, int64_t warmup_steps, int64_t total_steps, int64_t step);

/* Global L2 norm of grads[n], accumulated in double. */
double cm_grad_norm(const float *grads, size_t n);
/* Scales grads so that their norm is at most max_norm (> 0); returns the norm before. */
double cm_clip_grad_norm(float *grads, size_t n, double max_norm);

#endif
