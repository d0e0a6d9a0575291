/* CLIP's contrastive pretraining, data-parallel (pretrain.h). */
#include "clipmtl/pretrain.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <mpi.h>

#include "clipmtl/clip_weights.h"
#include "clipmtl/encoder.h"
#include "clipmtl/gemm.h"
#include "clipmtl/h5io.h"
#include "clipmtl/image.h"
#include "clipmtl/layout.h"
#include "clipmtl/log.h"
#include "clipmtl/loss.h"
#include "clipmtl/prompt_method.h"
#include "clipmtl/run_files.h"
#include "clipmtl/trainer.h"

/* Streams of the run seed (cm_rng_stream's first argument). */
enum { STREAM_PRETRAIN_ORDER = 201, STREAM_PRETRAIN_CAPTION = 202 };

/* CLIP clamps the learned temperature so that exp(logit_scale) stays within [1, 100]. */
#define LOGIT_SCALE_MAX 4.605170185988091

/* Matrices are decayed; gains, biases, embeddings (token, positional, class) and logit_scale not. */
static int decayed(const cm_tensor_desc *d) { return d->ndim >= 2 && !strstr(d->name, "embedding"); }

/* The configuration's CLIP (model.weights, or the preset with random weights). Every weight is
 * trained, so none is frozen for the GEMM layer and the products stay fp32. */
static cm_err load_model(const cm_config *cfg, cm_clip_model *m)
{
    CM_CHECK(cm_gemm_select(cfg->compute.gemm, CM_PRECISION_FP32));
    if (cfg->model.weights && cfg->model.weights[0]) return cm_clip_load(m, cfg->model.weights);
    cm_clip_config c;
    CM_CHECK(cm_clip_preset(cfg->model.preset, &c));
    CM_CHECK(cm_clip_create(m, &c));
    CM_CHECK(cm_clip_init_random(m, (uint64_t)cfg->model.init_seed));
    return CM_OK;
}

/* Arena bytes of a training step on B rows and of the evaluation. */
static size_t arena_bytes(const cm_clip_config *cfg, int B, int eval_batch)
{
    cm_arena a;
    cm_arena_measure(&a);
    cm_text_acts tacts;
    cm_vision_acts vacts;
    void *unused;
    /* A measuring arena cannot fail. */
    (void)cm_text_acts_alloc(&a, cfg, B, cfg->context_length, CM_ACTS_TRAINING, &tacts);
    (void)cm_vision_acts_alloc(&a, cfg, B, 0, CM_ACTS_TRAINING, &vacts);
    size_t mark = a.used;
    (void)cm_arena_alloc(&a, cm_text_backward_bytes(cfg, B, cfg->context_length), &unused);
    cm_arena_rewind(&a, mark);
    (void)cm_arena_alloc(&a, cm_vision_backward_bytes(cfg, B, 0), &unused);
    size_t most = a.peak;
    size_t eval = cm_clip_images_arena_bytes(cfg, eval_batch, 0), texts = cm_clip_texts_arena_bytes(cfg, CM_FMNIST_CLASSES);
    if (eval > most) most = eval;
    if (texts > most) most = texts;
    return most;
}

static cm_err check_config(const cm_config *cfg, const cm_clip_model *m, int nranks)
{
    CM_ASSERT(cfg->data.kind == CM_DATA_FASHION_MNIST, CM_ERR_CONFIG,
              "%s: data.kind: pretraining reads Fashion-MNIST; set data.kind to fashion_mnist",
              cm_config_origin(cfg, "data.kind"));
    CM_ASSERT(cfg->data.image_size == m->cfg.image_size, CM_ERR_CONFIG,
              "%s: data.image_size %d differs from the model's input size %d", cm_config_origin(cfg, "data.image_size"),
              cfg->data.image_size, m->cfg.image_size);
    CM_ASSERT(cfg->pretrain.batch_size >= nranks, CM_ERR_CONFIG,
              "%s: pretrain.batch_size %d is smaller than the %d ranks", cm_config_origin(cfg, "pretrain.batch_size"),
              cfg->pretrain.batch_size, nranks);
    const int64_t *pool = cfg->data.pretrain_images.items;
    CM_ASSERT(pool[1] - pool[0] >= cfg->pretrain.batch_size, CM_ERR_CONFIG,
              "%s: data.pretrain_images [%lld, %lld) holds fewer images than a batch of %d",
              cm_config_origin(cfg, "data.pretrain_images"), (long long)pool[0], (long long)pool[1],
              cfg->pretrain.batch_size);
    return CM_OK;
}

static cm_err tokenize_classes(cm_pretrainer *p)
{
    const int ctx = p->model.cfg.context_length;
    CM_CALLOC(p->class_ids, (size_t)CM_FMNIST_CLASSES * ctx);
    char sentence[256];
    for (int c = 0; c < CM_FMNIST_CLASSES; c++) {
        /* The sentence of the downstream zero-shot baseline: "a photo of a {class}." */
        CM_CHECK(cm_class_sentence(NULL, NULL, 0, cm_fmnist_class_name(c), sentence, sizeof sentence));
        CM_CHECK(cm_tokenize(p->tok, sentence, ctx, 0, p->class_ids + (size_t)c * ctx));
    }
    return CM_OK;
}

cm_err cm_pretrainer_create(cm_pretrainer *p, MPI_Comm comm, const cm_config *cfg, const char *config_text)
{
    memset(p, 0, sizeof *p);
    p->comm = comm, p->cfg = cfg, p->config_text = config_text;
    MPI_Comm_rank(comm, &p->rank);
    MPI_Comm_size(comm, &p->nranks);
    snprintf(p->dir, sizeof p->dir, "%s/%s", cfg->run.out_dir, cfg->run.name);
    CM_CHECK(cm_trainer_make_run_dir(comm, p->dir));
    CM_CHECK(load_model(cfg, &p->model));
    CM_CHECK(check_config(cfg, &p->model, p->nranks));
    const cm_clip_config *mc = &p->model.cfg;
    const size_t P = p->model.table.total;
    CM_CALLOC(p->grads, P);
    CM_CHECK(cm_clip_weights_bind(mc, &p->model.table, p->grads, &p->d_weights));
    cm_optim_options oo;
    cm_optim_options_default(CM_OPTIM_ADAMW, &oo);
    oo.weight_decay = cfg->pretrain.weight_decay;
    oo.beta1 = cfg->pretrain.beta1, oo.beta2 = cfg->pretrain.beta2, oo.eps = cfg->pretrain.eps;
    CM_CHECK(cm_optimizer_create(&p->opt, &oo, P));
    CM_CALLOC(p->decays, p->model.table.count);
    for (int e = 0; e < p->model.table.count; e++) p->decays[e] = (uint8_t)decayed(&p->model.table.entries[e]);
    p->token_embedding = cm_table_find(&p->model.table, "token_embedding.weight");
    CM_ASSERT(p->token_embedding && !p->decays[p->token_embedding - p->model.table.entries], CM_ERR_INTERNAL,
              "the token embedding is missing or decayed");
    CM_CALLOC(p->row_used, mc->vocab_size);
    CM_CALLOC(p->used_rows, mc->vocab_size);
    CM_CALLOC(p->row_grads, (size_t)mc->vocab_size * mc->text.width);

    const char *root = cfg->data.root && cfg->data.root[0] ? cfg->data.root : NULL;
    CM_CHECK(cm_fmnist_load(&p->train, root, 1));
    CM_CHECK(cm_fmnist_load(&p->test, root, 0));
    const int64_t *pool = cfg->data.pretrain_images.items;
    CM_ASSERT(pool[1] <= p->train.count, CM_ERR_CONFIG, "%s: data.pretrain_images ends at %lld, past the %d training images",
              cm_config_origin(cfg, "data.pretrain_images"), (long long)pool[1], p->train.count);
    p->pool_first = pool[0], p->pool_size = pool[1] - pool[0];
    CM_CHECK(cm_tokenizer_load(&p->tok, NULL));
    CM_CHECK(tokenize_classes(p));
    p->captions = (cm_caption_options){.templates = (const char *const *)cfg->pretrain.templates.items,
                                       .ntemplates = cfg->pretrain.templates.n,
                                       .dark_templates = (const char *const *)cfg->pretrain.dark_templates.items,
                                       .ndark = cfg->pretrain.dark_templates.n,
                                       .colour_prob = cfg->pretrain.colour_prob,
                                       .small_prob = cfg->pretrain.small_prob,
                                       .dark_prob = cfg->pretrain.dark_prob};

    const int G = p->batch = cfg->pretrain.batch_size, E = mc->embed_dim, ctx = mc->context_length;
    cm_layout_shard(G, p->rank, p->nranks, &p->shard_start, &p->shard_count);
    CM_CALLOC(p->shard_starts, p->nranks);
    CM_CALLOC(p->shard_counts, p->nranks);
    for (int r = 0; r < p->nranks; r++) {
        cm_layout_shard(G, r, p->nranks, &p->shard_starts[r], &p->shard_counts[r]);
        p->shard_starts[r] *= E, p->shard_counts[r] *= E;
    }
    p->steps_per_epoch = p->pool_size / G;
    p->order_epoch = -1;
    CM_CALLOC(p->order, p->pool_size);
    const int EB = cfg->train.eval_batch_size, rows = EB > p->shard_count ? EB : p->shard_count;
    CM_CALLOC(p->pixels, (size_t)rows * 3 * mc->image_size * mc->image_size);
    CM_CALLOC(p->ids, (size_t)p->shard_count * ctx);
    CM_CALLOC(p->labels, p->shard_count);
    CM_CALLOC(p->img, (size_t)G * E);
    CM_CALLOC(p->txt, (size_t)G * E);
    CM_CALLOC(p->d_img, (size_t)G * E);
    CM_CALLOC(p->d_txt, (size_t)G * E);
    CM_CALLOC(p->logits, (size_t)G * G);
    CM_CALLOC(p->d_logits, (size_t)G * G);
    CM_CALLOC(p->head_scratch, (size_t)G * G);
    CM_CALLOC(p->inv_img, G);
    CM_CALLOC(p->inv_txt, G);
    CM_CHECK(cm_arena_create(&p->arena, arena_bytes(mc, p->shard_count, EB)));
    p->total_steps = cfg->pretrain.steps;
    if (p->rank == 0) {
        char desc[256];
        printf("pretrain: %s, %zu parameters, %lld steps of %d pairs (%d ranks), images [%lld, %lld) of %s\n",
               cm_clip_config_str(mc, desc, sizeof desc), P, (long long)p->total_steps, G, p->nranks,
               (long long)pool[0], (long long)pool[1], root ? root : CM_FMNIST_DEFAULT_DIR);
        fflush(stdout);
    }
    return CM_OK;
}

void cm_pretrainer_destroy(cm_pretrainer *p)
{
    cm_arena_destroy(&p->arena);
    free(p->pixels), free(p->ids), free(p->labels), free(p->order), free(p->class_ids);
    free(p->img), free(p->txt), free(p->d_img), free(p->d_txt);
    free(p->logits), free(p->d_logits), free(p->head_scratch), free(p->inv_img), free(p->inv_txt);
    free(p->shard_starts), free(p->shard_counts), free(p->decays);
    free(p->row_used), free(p->used_rows), free(p->row_grads);
    if (p->tok) cm_tokenizer_free(p->tok);
    cm_fmnist_free(&p->train);
    cm_fmnist_free(&p->test);
    cm_optimizer_destroy(&p->opt);
    cm_clip_weights_release(&p->d_weights);
    free(p->grads);
    cm_clip_destroy(&p->model);
    memset(p, 0, sizeof *p);
}

/* ---- the token embedding's used rows (pretrain.sparse_embedding) ---- */

static void list_used_rows(cm_pretrainer *p)
{
    p->nused = 0;
    for (int r = 0; r < p->model.cfg.vocab_size; r++)
        if (p->row_used[r]) p->used_rows[p->nused++] = r;
}

/* After a resume: the rows whose AdamW moments are not zero. A row used before with gradients
 * that were all exactly zero is left out; its dense update is the identity, as it stays. */
static void mark_rows_with_moments(cm_pretrainer *p)
{
    const int W = p->model.cfg.text.width;
    const size_t first = p->token_embedding->offset;
    for (int r = 0; r < p->model.cfg.vocab_size; r++)
        for (int j = 0; j < W && !p->row_used[r]; j++)
            p->row_used[r] = p->opt.m[first + (size_t)r * W + j] != 0 || p->opt.v[first + (size_t)r * W + j] != 0;
    list_used_rows(p);
}

/* Collective: adds the rows of this rank's captions, then the union over the ranks. */
static cm_err mark_used_rows(cm_pretrainer *p)
{
    const size_t n = (size_t)p->shard_count * p->model.cfg.context_length;
    for (size_t i = 0; i < n; i++) p->row_used[p->ids[i]] = 1;
    CM_MPI_CHECK(MPI_Allreduce(MPI_IN_PLACE, p->row_used, p->model.cfg.vocab_size, MPI_UINT8_T, MPI_BOR, p->comm));
    list_used_rows(p);
    return CM_OK;
}

/* Zeroes the gradient: every tensor but the token embedding whole, of that the used rows (the
 * only ones a backward has written). */
static void zero_grads(cm_pretrainer *p)
{
    const size_t P = p->model.table.total, first = p->token_embedding->offset, numel = p->token_embedding->numel;
    const int W = p->model.cfg.text.width;
    if (!p->cfg->pretrain.sparse_embedding) {
        memset(p->grads, 0, P * sizeof(float));
        return;
    }
    memset(p->grads, 0, first * sizeof(float));
    memset(p->grads + first + numel, 0, (P - first - numel) * sizeof(float));
    for (int i = 0; i < p->nused; i++) memset(p->grads + first + (size_t)p->used_rows[i] * W, 0, W * sizeof(float));
}

/* Sums the gradient over the ranks: every tensor but the token embedding whole, of that the used
 * rows, packed. */
static cm_err allreduce_grads(cm_pretrainer *p)
{
    const size_t P = p->model.table.total, first = p->token_embedding->offset, numel = p->token_embedding->numel;
    const int W = p->model.cfg.text.width;
    if (!p->cfg->pretrain.sparse_embedding) {
        CM_MPI_CHECK(MPI_Allreduce(MPI_IN_PLACE, p->grads, (int)P, MPI_FLOAT, MPI_SUM, p->comm));
        return CM_OK;
    }
    float *g = p->grads + first;
    for (int i = 0; i < p->nused; i++) memcpy(p->row_grads + (size_t)i * W, g + (size_t)p->used_rows[i] * W, W * sizeof(float));
    CM_MPI_CHECK(MPI_Allreduce(MPI_IN_PLACE, p->grads, (int)first, MPI_FLOAT, MPI_SUM, p->comm));
    CM_MPI_CHECK(MPI_Allreduce(MPI_IN_PLACE, p->row_grads, p->nused * W, MPI_FLOAT, MPI_SUM, p->comm));
    CM_MPI_CHECK(MPI_Allreduce(MPI_IN_PLACE, p->grads + first + numel, (int)(P - first - numel), MPI_FLOAT, MPI_SUM,
                               p->comm));
    for (int i = 0; i < p->nused; i++) memcpy(g + (size_t)p->used_rows[i] * W, p->row_grads + (size_t)i * W, W * sizeof(float));
    return CM_OK;
}

static void checkpoint_dir(const cm_pretrainer *p, char *buf, size_t len)
{
    snprintf(buf, len, "%s/checkpoints-pretrain", p->dir);
}

static cm_err save_checkpoint(cm_pretrainer *p)
{
    char dir[4200];
    checkpoint_dir(p, dir, sizeof dir);
    int *owner = calloc((size_t)p->model.table.count, sizeof *owner); /* rank 0 writes every tensor */
    CM_ASSERT(owner, CM_ERR_MEM, "out of memory");
    cm_checkpoint_extras extras = {0};
    cm_err err = cm_checkpoint_write(p->comm, dir, p->step, p->cfg->run.keep_checkpoints, &p->model.table,
                                     p->model.params, &p->opt, owner, p->config_text, &extras);
    free(owner);
    CM_CHECK(err);
    return CM_OK;
}

cm_err cm_pretrainer_resume(cm_pretrainer *p, int allow_config_change, int *resumed)
{
    char dir[4200], path[4400];
    checkpoint_dir(p, dir, sizeof dir);
    int64_t step;
    int found;
    CM_CHECK(cm_checkpoint_read_newest(p->comm, dir, p->cfg, allow_config_change, &p->model.table, p->model.params,
                                       &p->opt, &step, path, sizeof path, &found));
    *resumed = found;
    if (!found) return CM_OK;
    p->step = step;
    mark_rows_with_moments(p);
    if (p->rank == 0) printf("pretrain: resumed from %s at step %lld\n", path, (long long)p->step);
    return CM_OK;
}

/* Global batch row `row` of step `step`: an index of the training file. Each epoch visits the
 * pool in its own seeded order; every rank computes the same order. */
static int batch_image(cm_pretrainer *p, int64_t step, int row)
{
    const int64_t epoch = step / p->steps_per_epoch;
    if (epoch != p->order_epoch) {
        for (int64_t i = 0; i < p->pool_size; i++) p->order[i] = (int)(p->pool_first + i);
        cm_rng rng;
        cm_rng_seed(&rng, (uint64_t)p->cfg->run.seed, cm_rng_stream(STREAM_PRETRAIN_ORDER, (uint64_t)epoch, 0, 0));
        cm_rng_shuffle(&rng, p->order, (int)p->pool_size);
        p->order_epoch = epoch;
    }
    return p->order[(step % p->steps_per_epoch) * p->batch + row];
}

/* This rank's shard of the step's pairs: pixels, token ids, labels. */
static cm_err load_shard(cm_pretrainer *p, int64_t step)
{
    const cm_clip_config *mc = &p->model.cfg;
    const size_t per = (size_t)3 * mc->image_size * mc->image_size, side = (size_t)p->train.rows * p->train.cols;
    cm_image img = {0};
    CM_CHECK(cm_image_alloc(&img, p->train.cols, p->train.rows));
    cm_err err = CM_OK;
    for (int i = 0; i < p->shard_count; i++) {
        const int row = p->shard_start + i, index = batch_image(p, step, row);
        cm_rng rng;
        cm_rng_seed(&rng, (uint64_t)p->cfg->run.seed, cm_rng_stream(STREAM_PRETRAIN_CAPTION, (uint64_t)step, (uint64_t)row, 0));
        cm_caption_attrs a;
        cm_caption_draw(&p->captions, &rng, &a);
        p->labels[i] = p->train.labels[index];
        cm_caption_render(p->train.pixels + (size_t)index * side, p->train.rows, p->train.cols, &a, img.rgb);
        CM_CHECK_GOTO(err, cm_image_preprocess_clip(&img, mc->image_size, p->pixels + per * i), done);
        char caption[512];
        CM_CHECK_GOTO(err, cm_caption_text(&p->captions, &a, cm_fmnist_class_name(p->labels[i]), caption, sizeof caption), done);
        CM_CHECK_GOTO(err, cm_tokenize(p->tok, caption, mc->context_length, 0, p->ids + (size_t)i * mc->context_length), done);
    }
done:
    cm_image_free(&img);
    return err;
}

/* Forward of the shard, the whole batch's loss, backward of the shard: grads += d loss. */
static cm_err shard_forward_backward(cm_pretrainer *p, double *loss, int *correct)
{
    const cm_clip_model *m = &p->model;
    const int G = p->batch, E = m->cfg.embed_dim, b = p->shard_count;
    const cm_prompt_stack none = {0};
    cm_text_acts tacts;
    cm_vision_acts vacts;
    float *own_img = p->img + (size_t)p->shard_start * E, *own_txt = p->txt + (size_t)p->shard_start * E;
    CM_CHECK(cm_text_forward(m, p->ids, b, 0, &none, CM_ACTS_TRAINING, &p->arena, &tacts, own_txt));
    CM_CHECK(cm_vision_forward(m, p->pixels, b, &none, CM_ACTS_TRAINING, &p->arena, &vacts, own_img));
    CM_MPI_CHECK(MPI_Allgatherv(MPI_IN_PLACE, 0, MPI_FLOAT, p->img, p->shard_counts, p->shard_starts, MPI_FLOAT,
                                p->comm));
    CM_MPI_CHECK(MPI_Allgatherv(MPI_IN_PLACE, 0, MPI_FLOAT, p->txt, p->shard_counts, p->shard_starts, MPI_FLOAT,
                                p->comm));
    /* Every rank computes the same loss of the whole batch (same inputs, same order). */
    const float scale = *m->w.logit_scale;
    cm_clip_head_forward(p->logits, p->inv_img, p->inv_txt, p->img, p->txt, G, G, E, scale);
    *loss = cm_contrastive_loss_forward_backward(p->d_logits, correct, p->logits, G);
    CM_ASSERT(isfinite(*loss), CM_ERR_NUMERIC, "pretrain step %lld: the contrastive loss is %g", (long long)p->step, *loss);
    /* logits = exp(logit_scale) cos: d logits / d logit_scale = logits. Counted on rank 0 only,
     * since the allreduce sums what every rank adds. */
    if (p->rank == 0) {
        double g = 0;
        for (size_t i = 0; i < (size_t)G * G; i++) g += (double)p->d_logits[i] * p->logits[i];
        *p->d_weights.logit_scale += (float)g;
    }
    cm_clip_head_backward(p->d_img, p->d_txt, p->head_scratch, p->d_logits, p->img, p->txt, p->inv_img, p->inv_txt, G,
                          G, E, scale);
    CM_CHECK(cm_text_backward(m, &tacts, p->ids, &none, p->d_txt + (size_t)p->shard_start * E, NULL, &p->d_weights,
                              &p->arena));
    CM_CHECK(cm_vision_backward(m, &vacts, &none, p->d_img + (size_t)p->shard_start * E, NULL, &p->d_weights,
                                &p->arena));
    return CM_OK;
}

cm_err cm_pretrainer_gradient(cm_pretrainer *p, double *loss, int *correct)
{
    CM_CHECK(load_shard(p, p->step));
    zero_grads(p); /* before this step's rows join: only rows written by earlier steps */
    if (p->cfg->pretrain.sparse_embedding) CM_CHECK(mark_used_rows(p));
    size_t mark = p->arena.used;
    cm_err err = shard_forward_backward(p, loss, correct);
    cm_arena_rewind(&p->arena, mark);
    CM_CHECK(err);
    CM_CHECK(allreduce_grads(p));
    return CM_OK;
}

cm_err cm_pretrainer_step(cm_pretrainer *p, double *loss, int *correct)
{
    CM_CHECK(cm_pretrainer_gradient(p, loss, correct));
    const double lr = cm_schedule_step_lr(p->cfg->pretrain.lr, p->cfg->pretrain.warmup_steps, p->total_steps, p->step);
    cm_optimizer_count_step(&p->opt);
    const int W = p->model.cfg.text.width;
    for (int e = 0; e < p->model.table.count; e++) {
        const cm_tensor_desc *d = &p->model.table.entries[e];
        if (d == p->token_embedding && p->cfg->pretrain.sparse_embedding) {
            for (int i = 0; i < p->nused; i++)
                cm_optimizer_update_range_decay(&p->opt, p->model.params, p->grads, d->offset + (size_t)p->used_rows[i] * W,
                                                W, lr, 0.0);
            continue;
        }
        cm_optimizer_update_range_decay(&p->opt, p->model.params, p->grads, d->offset, d->numel, lr,
                                        p->decays[e] ? p->cfg->pretrain.weight_decay : 0.0);
    }
    float *s = p->model.w.logit_scale;
    *s = *s < 0 ? 0 : *s > (float)LOGIT_SCALE_MAX ? (float)LOGIT_SCALE_MAX : *s;
    p->step++;
    return CM_OK;
}

cm_err cm_pretrainer_zeroshot(cm_pretrainer *p, int n, double *accuracy)
{
    const cm_clip_model *m = &p->model;
    const int C = CM_FMNIST_CLASSES, E = m->cfg.embed_dim, EB = p->cfg->train.eval_batch_size;
    const size_t per = (size_t)3 * m->cfg.image_size * m->cfg.image_size;
    n = n < p->test.count ? n : p->test.count;
    int start, count;
    cm_layout_shard(n, p->rank, p->nranks, &start, &count);
    float *txt = malloc((size_t)C * E * sizeof *txt), *img = malloc((size_t)EB * E * sizeof *img);
    float *logits = malloc((size_t)EB * C * sizeof *logits);
    cm_image im = {0};
    cm_err err = CM_OK;
    double counts[2] = {0, 0};
    if (!txt || !img || !logits) CM_ERROR_GOTO(err, done, CM_ERR_MEM, "out of memory for the evaluation");
    CM_CHECK_GOTO(err, cm_image_alloc(&im, p->test.cols, p->test.rows), done);
    CM_CHECK_GOTO(err, cm_clip_encode_texts(m, p->class_ids, C, NULL, &p->arena, txt), done);
    for (int b0 = 0; b0 < count; b0 += EB) {
        const int nb = count - b0 < EB ? count - b0 : EB;
        for (int j = 0; j < nb; j++) {
            /* The downstream original-domain test transform: render, CLIP preprocessing. */
            cm_fmnist_render(&p->test, start + b0 + j, CM_FMNIST_ORIGINAL, im.rgb);
            CM_CHECK_GOTO(err, cm_image_preprocess_clip(&im, m->cfg.image_size, p->pixels + per * j), done);
        }
        CM_CHECK_GOTO(err, cm_clip_encode_images(m, p->pixels, nb, NULL, &p->arena, img), done);
        cm_clip_logits(img, nb, txt, C, E, *m->w.logit_scale, logits);
        for (int j = 0; j < nb; j++) {
            int best = 0;
            for (int c = 1; c < C; c++)
                if (logits[(size_t)j * C + c] > logits[(size_t)j * C + best]) best = c;
            counts[0] += best == p->test.labels[start + b0 + j];
        }
        counts[1] += nb;
    }
done:
    free(txt), free(img), free(logits);
    cm_image_free(&im);
    /* Every rank joins the sum, failed or not, so that none waits for ever. */
    int failed = err != CM_OK, any_failed;
    if (MPI_Allreduce(&failed, &any_failed, 1, MPI_INT, MPI_MAX, p->comm) != MPI_SUCCESS ||
        MPI_Allreduce(MPI_IN_PLACE, counts, 2, MPI_DOUBLE, MPI_SUM, p->comm) != MPI_SUCCESS)
        CM_ERROR(CM_ERR_MPI, "summing the zero-shot counts failed");
    CM_CHECK(err);
    CM_ASSERT(!any_failed, CM_ERR_MPI, "another rank failed in the zero-shot evaluation");
    *accuracy = counts[1] > 0 ? 100 * counts[0] / counts[1] : 0;
    return CM_OK;
}

/* Rank 0 appends one line to <run>/pretrain_curve.tsv. */
static void curve_line(const cm_pretrainer *p, double loss, double acc, int evaluated)
{
    if (p->rank != 0) return;
    char path[4200];
    snprintf(path, sizeof path, "%s/pretrain_curve.tsv", p->dir);
    struct stat st;
    const int fresh = stat(path, &st) != 0;
    FILE *f = fopen(path, "a");
    if (!f) {
        cm_log_warn("%s: cannot append: %s", path, strerror(errno));
        return;
    }
    if (fresh) fprintf(f, "step\tloss\tzeroshot_top1\n");
    if (evaluated) fprintf(f, "%lld\t%.6f\t%.2f\n", (long long)p->step, loss, acc);
    else fprintf(f, "%lld\t%.6f\t\n", (long long)p->step, loss);
    fclose(f);
}

/* <dir>/<name>: the weights as an ordinary CLIP checkpoint (rank 0 writes it, atomically). */
static cm_err write_model(const cm_pretrainer *p, const char *name)
{
    if (p->rank != 0) return CM_OK;
    char path[4200];
    snprintf(path, sizeof path, "%s/%s", p->dir, name);
    CM_CHECK(cm_clip_save(&p->model, path, CM_NAMING_OPENAI, CM_DTYPE_F32));
    printf("pretrain: wrote %s\n", path);
    return CM_OK;
}

static cm_err write_outputs(cm_pretrainer *p)
{
    CM_CHECK(write_model(p, "model.safetensors"));
    if (p->rank != 0) return CM_OK;
    char path[4200];
    snprintf(path, sizeof path, "%s/pretrain.yaml", p->dir);
    FILE *f = fopen(path, "w");
    CM_ASSERT(f, CM_ERR_IO, "%s: cannot write: %s", path, strerror(errno));
    int bad = fputs(p->config_text, f) < 0;
    bad |= fclose(f) != 0;
    CM_ASSERT(!bad, CM_ERR_IO, "%s: write failed", path);
    return CM_OK;
}

cm_err cm_pretrainer_run(cm_pretrainer *p)
{
    const cm_config *cfg = p->cfg;
    const int64_t every = cfg->run.checkpoint_every, eval_every = cfg->pretrain.eval_every;
    const int64_t save_at = cfg->pretrain.save_model_at, stop_after = cfg->pretrain.stop_after;
    const int64_t end = stop_after > 0 ? stop_after : p->total_steps; /* of this invocation */
    if (p->step >= end && end < p->total_steps)
        CM_ERROR(CM_ERR_CONFIG, "pretrain.stop_after is step %lld, but the run resumed at step %lld: nothing to do",
                 (long long)stop_after, (long long)p->step);
    if (save_at > p->total_steps && p->rank == 0)
        cm_log_warn("pretrain.save_model_at is step %lld, past the %lld steps of pretrain.steps: no "
                    "model-step%lld.safetensors", (long long)save_at, (long long)p->total_steps, (long long)save_at);
    double window_start = cm_now(), run_start = window_start, window_loss = 0, window_correct = 0;
    int64_t window_steps = 0, first_step = p->step;
    while (p->step < end) {
        double loss;
        int correct;
        CM_CHECK(cm_pretrainer_step(p, &loss, &correct));
        CM_CHECK(cm_trainer_inject_fault(p->rank, p->step));
        window_loss += loss, window_correct += correct, window_steps++;
        const int last = p->step == p->total_steps, pause = p->step == end && !last, save = p->step == save_at;
        if (p->step % cfg->run.log_every == 0 || last || pause || save) {
            const double now = cm_now(), per_step = (now - run_start) / (double)(p->step - first_step);
            const double lr = cm_schedule_step_lr(cfg->pretrain.lr, cfg->pretrain.warmup_steps, p->total_steps, p->step - 1);
            if (p->rank == 0)
                printf("pretrain step %lld/%lld  lr %.3g  loss %.4f  batch acc %.1f%%  scale %.1f  %.1f img/s  ETA %.0f s\n",
                       (long long)p->step, (long long)p->total_steps, lr, window_loss / window_steps,
                       100 * window_correct / ((double)window_steps * p->batch), exp(*p->model.w.logit_scale),
                       (double)window_steps * p->batch / (now - window_start), per_step * (double)(end - p->step));
            fflush(stdout);
            /* a model that is written is evaluated on every test image */
            const int whole = last || pause || save;
            const int evaluate = whole || (eval_every > 0 && p->step % eval_every == 0);
            double acc = 0;
            if (evaluate) {
                const int n = whole ? p->test.count : cfg->pretrain.eval_images;
                CM_CHECK(cm_pretrainer_zeroshot(p, n, &acc));
                if (p->rank == 0)
                    printf("pretrain step %lld: zero-shot top-1 %.2f%% on %d original-domain test images (chance 10%%)\n",
                           (long long)p->step, acc, n < p->test.count ? n : p->test.count);
                fflush(stdout);
            }
            curve_line(p, window_loss / window_steps, acc, evaluate);
            window_start = cm_now(), window_loss = window_correct = 0, window_steps = 0;
        }
        if (save) {
            char name[64];
            snprintf(name, sizeof name, "model-step%lld.safetensors", (long long)save_at);
            CM_CHECK(write_model(p, name)); /* before the checkpoint: a crash between them repeats the steps */
        }
        int stop = cm_trainer_stop_requested();
        CM_MPI_CHECK(MPI_Allreduce(MPI_IN_PLACE, &stop, 1, MPI_INT, MPI_MAX, p->comm));
        if (last || pause || stop || (every > 0 && p->step % every == 0)) CM_CHECK(save_checkpoint(p));
        if (pause) {
            if (p->rank == 0)
                printf("pretrain: paused after step %lld of %lld (pretrain.stop_after); checkpoint written, "
                       "--resume continues\n", (long long)p->step, (long long)p->total_steps);
            return CM_OK;
        }
        if (stop && !last) {
            if (p->rank == 0) printf("pretrain: stopped by a signal at step %lld; checkpoint written\n", (long long)p->step);
            CM_ERROR(CM_ERR_INTERRUPTED, "stopped by a signal at step %lld (checkpoint written; rerun with --resume)",
                     (long long)p->step);
        }
    }
    CM_CHECK(write_outputs(p));
    return CM_OK;
}
