/* clipmtl pretrain: CLIP's contrastive pretraining of both towers on captioned Fashion-MNIST,
 * data-parallel over a communicator (MPI_COMM_WORLD for the command).
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
 * The token embedding (49408 rows) is zeroed, summed and updated only in the rows some caption
 * has used (pretrain.sparse_embedding, default): the union over the ranks of the rows of this
 * and earlier steps. The other rows have had zero gradients and zero moments since the start and
 * are not decayed, so dense AdamW would leave them unchanged; the result is the dense one
 * (bitwise on 1 and 2 ranks, where a sum of two floats has one order). bench_pretrain_step
 * measures both.
 * Outputs under run.out_dir/run.name: checkpoints-pretrain/ (resume), model.safetensors (an
 * ordinary OpenAI-named CLIP checkpoint for model.weights), model-step<N>.safetensors when
 * pretrain.save_model_at is N, pretrain_curve.tsv (step, loss, zero-shot accuracy) and
 * pretrain.yaml (the effective configuration, pools included). */
#ifndef CLIPMTL_PRETRAIN_H
#define CLIPMTL_PRETRAIN_H

#include <stdint.h>

#include <mpi.h>

#include "clipmtl/arena.h"
#include "clipmtl/captions.h"
#include "clipmtl/clip_model.h"
#include "clipmtl/config.h"
#include "clipmtl/fashion_mnist.h"
#include "clipmtl/optimizer.h"
#include "clipmtl/tokenizer.h"

typedef struct {
    MPI_Comm comm;             /* every collective; must outlive the pretrainer */
    const cm_config *cfg;
    const char *config_text;
    char dir[4096];
    int rank, nranks;
    cm_clip_model model;       /* the trained weights */
    float *grads;              /* model.table.total floats */
    cm_clip_weights d_weights; /* named pointers into grads */
    cm_optimizer opt;
    uint8_t *decays;           /* per table entry: 1 when weight decay applies (a matrix) */
    const cm_tensor_desc *token_embedding; /* its table entry */
    uint8_t *row_used;         /* [vocab]: 1 for a token-embedding row some caption has used, on any rank */
    int *used_rows, nused;     /* the rows with row_used set, ascending */
    float *row_grads;          /* [vocab, width]: the used rows' gradients packed for the allreduce */
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

/* Collective over comm. */
cm_err cm_pretrainer_create(cm_pretrainer *p, MPI_Comm comm, const cm_config *cfg, const char *config_text);
void cm_pretrainer_destroy(cm_pretrainer *p);
/* Collective. Continues from the newest intact checkpoint when there is one (*resumed = 1); one
 * written under other settings is refused unless allow_config_change (cm_checkpoint_read_newest). */
cm_err cm_pretrainer_resume(cm_pretrainer *p, int allow_config_change, int *resumed);
/* Collective. The loss of the current step's batch and its gradient in p->grads (summed over
 * the ranks), without an update. */
cm_err cm_pretrainer_gradient(cm_pretrainer *p, double *loss, int *correct);
/* Collective. One step (cm_pretrainer_gradient, then the update): *loss is the batch's contrastive loss (the same on every rank), *correct
 * the images whose own caption scored highest. */
cm_err cm_pretrainer_step(cm_pretrainer *p, double *loss, int *correct);
/* Collective. Steps to total_steps with logs, evaluations, checkpoints and signals, then writes
 * model.safetensors; or pauses with a checkpoint after pretrain.stop_after (returns CM_OK). */
cm_err cm_pretrainer_run(cm_pretrainer *p);
/* Collective. Zero-shot top-1 (percent) on the first n original-domain t10k images. */
cm_err cm_pretrainer_zeroshot(cm_pretrainer *p, int n, double *accuracy);

#endif
