/* clipmtl pretrain: CLIP's contrastive pretraining of both towers on captioned Fashion-MNIST,
 * data-parallel over MPI_COMM_WORLD.
 *
 * A step draws a global batch of G images of the pretraining pool (data.pretrain_images, original
 * domain, every image once per epoch in a seeded order), gives each its attribute augmentation
 * and caption (captions.h), and
 *   each rank encodes its shard of the G images and G captions (both towers, weights trained);
 *   the features are all-gathered, so every rank holds img, txt [G,E];
 *   every rank computes the same symmetric InfoNCE of the whole batch (cm_contrastive_loss_*),
 *   and the gradient of its own feature rows; each rank backpropagates through its shard, the
 *   weight gradients are summed over the ranks (MPI_Allreduce): the gradient of the batch's loss
 *   on any number of ranks;
 *   AdamW, decay on matrices only, per-step warm-up + cosine; logit_scale clamped to [0, ln 100].
 * The token embedding is updated densely (every row, as torch's AdamW does): bench_pretrain_step
 * measures what that costs per step.
 * Outputs under run.out_dir/run.name: checkpoints-pretrain/ (resume), model.safetensors (an
 * ordinary OpenAI-named CLIP checkpoint for model.weights), pretrain_curve.tsv (step, loss,
 * zero-shot accuracy) and pretrain.yaml (the effective configuration, pools included). */
#ifndef CLIPMTL_PRETRAIN_H
#define CLIPMTL_PRETRAIN_H

#include <stdint.h>

#include "clipmtl/arena.h"
#include "clipmtl/captions.h"
#include "clipmtl/clip_model.h"
#include "clipmtl/config.h"
#include "clipmtl/fashion_mnist.h"
#include "clipmtl/optimizer.h"
#include "clipmtl/tokenizer.h"

typedef struct {
    const cm_config *cfg;
    const char *config_text;
    char dir[4096];
    int rank, nranks;
    cm_clip_model model;       /* the trained weights */
    float *grads;              /* model.table.total floats */
    cm_clip_weights d_weights; /* named pointers into grads */
    cm_optimizer opt;
    uint8_t *decays;           /* per table entry: 1 when weight decay applies (a matrix) */
    cm_fmnist_set train, test;
    cm_tokenizer *tok;
    cm_caption_options captions;
    int batch, shard_start, shard_count; /* global batch G and this rank's rows of it */
    int *shard_starts, *shard_counts;    /* [nranks], in features (E floats per row) */
    int *order;                /* the pool in this epoch's order */
    int64_t order_epoch, steps_per_epoch, pool_first, pool_size;
    float *pixels;             /* [max(shard, eval batch), 3, S, S] */
    int32_t *ids;              /* [shard, context] */
    int *labels;               /* [shard] */
    float *img, *txt;          /* [G,E] gathered features */
    float *logits, *d_logits, *head_scratch; /* [G,G] */
    float *inv_img, *inv_txt, *d_img, *d_txt; /* [G], [G], [G,E], [G,E] */
    int32_t *class_ids;        /* [10, context]: "a photo of a {class}." for the zero-shot evaluation */
    cm_arena arena;
    int64_t step, total_steps;
} cm_pretrainer;

/* Collective. */
cm_err cm_pretrainer_create(cm_pretrainer *p, const cm_config *cfg, const char *config_text);
void cm_pretrainer_destroy(cm_pretrainer *p);
/* Collective. Continues from the newest checkpoint when there is one (*resumed = 1). */
cm_err cm_pretrainer_resume(cm_pretrainer *p, int *resumed);
/* Collective. One step: *loss is the batch's contrastive loss (the same on every rank), *correct
 * the images whose own caption scored highest. */
cm_err cm_pretrainer_step(cm_pretrainer *p, double *loss, int *correct);
/* Collective. Steps to total_steps with logs, evaluations, checkpoints and signals, then writes
 * model.safetensors. */
cm_err cm_pretrainer_run(cm_pretrainer *p);
/* Collective. Zero-shot top-1 (percent) on the first n original-domain t10k images. */
cm_err cm_pretrainer_zeroshot(cm_pretrainer *p, int n, double *accuracy);

#endif
