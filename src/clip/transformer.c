/* The pre-LN residual block both CLIP towers are made of, its activations, the
 * loop over layers with deep-prompt insertion and the head on the pooled rows
 * (layernorm + projection). The text tower differs only by the causal mask, a
 * flag of the block shape. */
#include <string.h>

#include "clipmtl/encoder.h"
#include "clipmtl/gemm.h"
#include "clipmtl/ops.h"

void cm_block_forward(const cm_block_weights *w, const cm_block_shape *s, cm_block_acts *a, float *branch)
{
    int N = s->B * s->T, D = s->D, M = s->M;
    long ND = (long)N * D;
    /* bf16 layout: each saved value is rounded into its copy before its buffer is reused (fc
     * by its activation, x by the output); the forward itself computes on the fp32 values. */
    if (a->x16) cm_bf16_store(a->x16, a->x, ND);
    cm_layernorm_forward(a->ln1, a->ln1_mean, a->ln1_rstd, a->x, w->ln_1_w, w->ln_1_b, N, D);
    cm_matmul_forward(a->qkv, a->ln1, w->qkv_w, w->qkv_b, N, D, 3 * D);
    if (a->qkv16) cm_bf16_store(a->qkv16, a->qkv, 3 * ND);
    cm_attention_forward(a->att, NULL, a->scores, a->qkv, s->B, s->T, D, s->H, s->causal);
    cm_matmul_forward(branch, a->att, w->out_w, w->out_b, N, D, D);
    cm_residual_forward(a->x_mid, a->x, branch, ND);
    if (a->x_mid16) cm_bf16_store(a->x_mid16, a->x_mid, ND);
    cm_layernorm_forward(a->ln2, a->ln2_mean, a->ln2_rstd, a->x_mid, w->ln_2_w, w->ln_2_b, N, D);
    cm_matmul_forward(a->fc, a->ln2, w->fc_w, w->fc_b, N, D, M);
    if (a->fc16) cm_bf16_store(a->fc16, a->fc, (long)N * M);
    cm_quick_gelu_forward(a->fc_act, a->fc, (long)N * M);
    cm_matmul_forward(branch, a->fc_act, w->proj_w, w->proj_b, N, M, D);
    cm_residual_forward(a->out, a->x_mid, branch, ND);
}

/* The last block: only the pooled row of each sequence (CLS, EOT) reaches the features, so
 * every token gets its key and value, and only the B pooled rows their query, attention,
 * out_proj, MLP and output (encoder.h describes the compact layout). */
static void pooled_block_forward(const cm_block_weights *w, cm_tower_acts *acts, cm_block_acts *a)
{
    const cm_block_shape *s = &acts->shape;
    int B = s->B, T = s->T, N = B * T, D = s->D, M = s->M;
    const size_t row = (size_t)D * sizeof(float);
    cm_layernorm_forward(a->ln1, a->ln1_mean, a->ln1_rstd, a->x, w->ln_1_w, w->ln_1_b, N, D);
    cm_matmul_forward(a->qkv, a->ln1, w->qkv_w + (size_t)D * D, w->qkv_b + D, N, D, 2 * D);
    for (int b = 0; b < B; b++) memcpy(acts->pool_ln1 + (size_t)b * D, a->ln1 + ((size_t)b * T + acts->pool[b]) * D, row);
    cm_matmul_forward(acts->pool_q, acts->pool_ln1, w->qkv_w, w->qkv_b, B, D, D);
    cm_attention_pooled_forward(a->att, acts->pool_probs, acts->pool_q, a->qkv, s->causal ? acts->pool_keys : NULL, B, T, D,
                                s->H);
    cm_matmul_forward(acts->branch, a->att, w->out_w, w->out_b, B, D, D);
    /* In inference x_mid is the stream itself: row b is written after rows <= b were read,
     * and the pooled row b T + pool[b] >= b of every later sequence is still intact. */
    for (int b = 0; b < B; b++)
        cm_residual_forward(a->x_mid + (size_t)b * D, a->x + ((size_t)b * T + acts->pool[b]) * D,
                            acts->branch + (size_t)b * D, D);
    cm_layernorm_forward(a->ln2, a->ln2_mean, a->ln2_rstd, a->x_mid, w->ln_2_w, w->ln_2_b, B, D);
    cm_matmul_forward(a->fc, a->ln2, w->fc_w, w->fc_b, B, D, M);
    cm_quick_gelu_forward(a->fc_act, a->fc, (long)B * M);
    cm_matmul_forward(acts->branch, a->fc_act, w->proj_w, w->proj_b, B, M, D);
    cm_residual_forward(a->out, a->x_mid, acts->branch, (long)B * D);
    memcpy(acts->pooled, a->out, (size_t)B * row);
}

void cm_tower_forward(const cm_block_weights *blocks, cm_tower_acts *acts, const cm_prompt_stack *deep,
                      int prompt_row, const int32_t *pool)
{
    const cm_block_shape *s = &acts->shape;
    int rows = 0; /* prompt rows inside the T tokens actually run */
    if (cm_prompts_active(deep)) {
        rows = deep->n;
        if (rows > s->T - prompt_row) rows = s->T - prompt_row;
    }
    for (int b = 0; b < s->B; b++) {
        acts->pool[b] = pool ? pool[b] : 0;
        acts->pool_keys[b] = acts->pool[b] + 1;
    }
    for (int l = 0; l < acts->layers; l++) {
        cm_block_acts *a = &acts->blocks[l];
        if (l > 0 && rows > 0 && l < deep->depth)
            cm_prompts_insert(a->x, s->B, s->T, s->D, prompt_row, cm_prompts_layer(deep, l), rows);
        if (l < acts->layers - 1) cm_block_forward(&blocks[l], s, a, acts->branch);
        else pooled_block_forward(&blocks[l], acts, a);
    }
}

void cm_tower_head_forward(cm_tower_acts *acts, const float *ln_w, const float *ln_b, const float *proj, int E,
                           float *features)
{
    const int B = acts->shape.B, D = acts->shape.D;
    cm_layernorm_forward(acts->head_ln, acts->head_mean, acts->head_rstd, acts->pooled, ln_w, ln_b, B, D);
    cm_project_forward(features, acts->head_ln, proj, B, D, E);
}

/* Everything of one block except x, which is the previous block's out. With `shared` (input
 * gradients only) the inputs of the four linear layers are not kept: they point into
 * shared->ln1 and shared->fc_act, one pair of buffers for all blocks. The last block
 * (`pooled`) gets the compact sizes of encoder.h: k|v for all N rows, the rest for B rows. */
static cm_err block_acts_alloc(cm_arena *arena, const cm_block_shape *s, const cm_block_acts *shared, int pooled,
                               cm_block_acts *a)
{
    size_t N = (size_t)s->B * s->T, D = s->D, M = s->M, rows = pooled ? (size_t)s->B : N;
    if (shared) a->ln1 = a->att = a->ln2 = shared->ln1;
    else CM_CHECK(cm_arena_floats(arena, N * D, &a->ln1));
    CM_CHECK(cm_arena_floats(arena, N, &a->ln1_mean));
    CM_CHECK(cm_arena_floats(arena, N, &a->ln1_rstd));
    CM_CHECK(cm_arena_floats(arena, N * (pooled ? 2 : 3) * D, &a->qkv));
    if (!shared) CM_CHECK(cm_arena_floats(arena, rows * D, &a->att));
    CM_CHECK(cm_arena_floats(arena, rows * D, &a->x_mid));
    if (!shared) CM_CHECK(cm_arena_floats(arena, rows * D, &a->ln2));
    CM_CHECK(cm_arena_floats(arena, rows, &a->ln2_mean));
    CM_CHECK(cm_arena_floats(arena, rows, &a->ln2_rstd));
    CM_CHECK(cm_arena_floats(arena, rows * M, &a->fc));
    if (shared) a->fc_act = shared->fc_act;
    else CM_CHECK(cm_arena_floats(arena, rows * M, &a->fc_act));
    CM_CHECK(cm_arena_floats(arena, rows * D, &a->out));
    return CM_OK;
}

/* Inference: buffers whose lifetimes do not overlap inside a block share
 * memory (ln_1 output, attention output, ln_2 output; the MLP activation
 * overwrites its input), and the stream is updated in place. */
static cm_err shared_acts_alloc(cm_arena *arena, const cm_block_shape *s, cm_block_acts *a)
{
    size_t N = (size_t)s->B * s->T, D = s->D, M = s->M;
    CM_CHECK(cm_arena_floats(arena, N * D, &a->x));
    CM_CHECK(cm_arena_floats(arena, N * D, &a->ln1));
    CM_CHECK(cm_arena_floats(arena, N, &a->ln1_mean));
    CM_CHECK(cm_arena_floats(arena, N, &a->ln1_rstd));
    CM_CHECK(cm_arena_floats(arena, N * 3 * D, &a->qkv));
    CM_CHECK(cm_arena_floats(arena, N * M, &a->fc));
    a->att = a->ln2 = a->ln1;
    a->ln2_mean = a->ln1_mean;
    a->ln2_rstd = a->ln1_rstd;
    a->fc_act = a->fc;
    a->x_mid = a->out = a->x;
    return CM_OK;
}

static cm_err halves_alloc(cm_arena *arena, size_t n, uint16_t **p)
{
    void *v;
    CM_CHECK(cm_arena_alloc(arena, n * sizeof(uint16_t), &v));
    *p = v;
    return CM_OK;
}

/* The bf16 layout of a block before the last (input gradients only): its saved x, qkv, x_mid
 * and fc are bfloat16 copies of its own; the fp32 values live in working buffers all blocks
 * share: the stream (x, also out), `work` (qkv, x_mid) and the shared linear inputs (fc computed
 * into fc_act's buffer, the activation then in place). */
static cm_err bf16_block_alloc(cm_arena *arena, const cm_block_shape *s, const cm_block_acts *work,
                               const cm_block_acts *shared, cm_block_acts *a)
{
    size_t N = (size_t)s->B * s->T, D = s->D, M = s->M;
    a->out = a->x;
    a->ln1 = a->att = a->ln2 = shared->ln1;
    a->fc = a->fc_act = shared->fc_act;
    a->qkv = work->qkv;
    a->x_mid = work->x_mid;
    CM_CHECK(cm_arena_floats(arena, N, &a->ln1_mean));
    CM_CHECK(cm_arena_floats(arena, N, &a->ln1_rstd));
    CM_CHECK(cm_arena_floats(arena, N, &a->ln2_mean));
    CM_CHECK(cm_arena_floats(arena, N, &a->ln2_rstd));
    CM_CHECK(halves_alloc(arena, N * D, &a->x16));
    CM_CHECK(halves_alloc(arena, N * 3 * D, &a->qkv16));
    CM_CHECK(halves_alloc(arena, N * D, &a->x_mid16));
    CM_CHECK(halves_alloc(arena, N * M, &a->fc16));
    return CM_OK;
}

cm_err cm_tower_acts_alloc(cm_arena *arena, const cm_block_shape *shape, int layers, cm_acts_mode mode,
                           cm_tower_acts *acts)
{
    memset(acts, 0, sizeof *acts);
    acts->mode = mode;
    acts->shape = *shape;
    acts->layers = layers;
    int measuring = arena->base == NULL;
    void *blocks;
    CM_CHECK(cm_arena_alloc(arena, (size_t)layers * sizeof(cm_block_acts), &blocks));
    cm_block_acts scratch; /* receives the (NULL) pointers while measuring */
    acts->blocks = blocks;
    if (mode == CM_ACTS_TRAINING || mode == CM_ACTS_INPUT_GRAD) {
        cm_block_acts shared = {0}, work = {0};
        size_t N = (size_t)shape->B * shape->T;
        acts->bf16 = mode == CM_ACTS_INPUT_GRAD && cm_gemm_current_precision() == CM_PRECISION_BF16;
        if (mode == CM_ACTS_INPUT_GRAD) {
            /* ln_1 out, attention out and ln_2 out are each consumed before the next is made */
            CM_CHECK(cm_arena_floats(arena, N * shape->D, &shared.ln1));
            CM_CHECK(cm_arena_floats(arena, N * shape->M, &shared.fc_act));
            acts->work_narrow = shared.ln1;
            acts->work_wide = shared.fc_act;
        }
        if (acts->bf16) {
            CM_CHECK(cm_arena_floats(arena, N * 3 * shape->D, &work.qkv));
            CM_CHECK(cm_arena_floats(arena, N * shape->D, &work.x_mid));
        }
        float *x;
        CM_CHECK(cm_arena_floats(arena, N * shape->D, &x));
        for (int l = 0; l < layers; l++) {
            cm_block_acts *a = measuring ? &scratch : &acts->blocks[l];
            memset(a, 0, sizeof *a);
            a->x = x;
            if (acts->bf16 && l < layers - 1) CM_CHECK(bf16_block_alloc(arena, shape, &work, &shared, a));
            else
                CM_CHECK(block_acts_alloc(arena, shape, mode == CM_ACTS_INPUT_GRAD ? &shared : NULL, l == layers - 1,
                                          a));
            x = a->out;
        }
    } else {
        cm_block_acts *a = measuring ? &scratch : &acts->blocks[0];
        memset(a, 0, sizeof *a);
        CM_CHECK(shared_acts_alloc(arena, shape, a));
        if (!measuring)
            for (int l = 1; l < layers; l++) acts->blocks[l] = acts->blocks[0];
    }
    size_t N = (size_t)shape->B * shape->T, B = shape->B, D = shape->D;
    void *pool, *keys;
    CM_CHECK(cm_arena_alloc(arena, B * sizeof(int32_t), &pool));
    CM_CHECK(cm_arena_alloc(arena, B * sizeof(int32_t), &keys));
    acts->pool = pool;
    acts->pool_keys = keys;
    CM_CHECK(cm_arena_floats(arena, CM_ATTENTION_SCRATCH(shape->T), &acts->scores));
    CM_CHECK(cm_arena_floats(arena, B * shape->H * shape->T, &acts->pool_probs));
    for (int l = 0; !measuring && l < layers; l++) acts->blocks[l].scores = acts->scores;
    CM_CHECK(cm_arena_floats(arena, B * D, &acts->pool_ln1));
    CM_CHECK(cm_arena_floats(arena, B * D, &acts->pool_q));
    CM_CHECK(cm_arena_floats(arena, N * D, &acts->branch));
    CM_CHECK(cm_arena_floats(arena, B * D, &acts->pooled));
    CM_CHECK(cm_arena_floats(arena, B * D, &acts->head_ln));
    CM_CHECK(cm_arena_floats(arena, B, &acts->head_mean));
    CM_CHECK(cm_arena_floats(arena, B, &acts->head_rstd));
    return CM_OK;
}

/* ---- backward ------------------------------------------------------------ */

cm_err cm_tower_grads_alloc(cm_arena *arena, const cm_block_shape *s, cm_tower_grads *g)
{
    size_t N = (size_t)s->B * s->T, D = s->D, M = s->M, wide = M > 3 * D ? M : 3 * D;
    CM_CHECK(cm_arena_floats(arena, N * D, &g->d_stream));
    CM_CHECK(cm_arena_floats(arena, N * D, &g->d_narrow));
    CM_CHECK(cm_arena_floats(arena, N * wide, &g->d_wide));
    CM_CHECK(cm_arena_floats(arena, CM_ATTENTION_SCRATCH(s->T), &g->d_scores));
    CM_CHECK(cm_arena_floats(arena, 4 * (size_t)s->B * D, &g->d_pool));
    CM_CHECK(cm_arena_floats(arena, (size_t)s->B * D, &g->d_head_ln));
    CM_CHECK(cm_arena_floats(arena, (size_t)s->B * D, &g->d_pooled));
    return CM_OK;
}

size_t cm_tower_grads_bytes(const cm_block_shape *shape)
{
    cm_arena measure;
    cm_tower_grads g;
    cm_arena_measure(&measure);
    (void)cm_tower_grads_alloc(&measure, shape, &g); /* a measuring arena cannot fail */
    return measure.peak + CM_ARENA_ALIGN; /* the padding that aligns its first buffer after the forward's */
}

static void zero(float *x, size_t n) { memset(x, 0, n * sizeof *x); }

/* A gradient pointer of a block, or NULL when the whole block is frozen. */
#define GRAD(dw, field) ((dw) ? (dw)->field : NULL)

void cm_block_backward(const cm_block_weights *w, cm_block_weights *dw, const cm_block_shape *s,
                       const cm_block_acts *a, cm_tower_grads *g)
{
    int N = s->B * s->T, D = s->D, M = s->M;
    size_t ND = (size_t)N * D, NM = (size_t)N * M;
    float *d_stream = g->d_stream;
    /* out = x_mid + c_proj(qgelu(c_fc(ln_2(x_mid)))): the residual passes d_stream through
     * unchanged, so the MLP's contribution is added onto it in place. */
    cm_matmul_backward(g->d_wide, GRAD(dw, proj_w), GRAD(dw, proj_b), d_stream, a->fc_act, w->proj_w, N, M, D);
    cm_quick_gelu_backward_inplace(g->d_wide, a->fc, (long)NM); /* now d(c_fc out) */
    cm_matmul_backward(g->d_narrow, GRAD(dw, fc_w), GRAD(dw, fc_b), g->d_wide, a->ln2, w->fc_w, N, D, M);
    cm_layernorm_backward(d_stream, GRAD(dw, ln_2_w), GRAD(dw, ln_2_b), g->d_narrow, a->x_mid, w->ln_2_w,
                          a->ln2_mean, a->ln2_rstd, N, D);
    /* d_stream is now d(x_mid); x_mid = x + out_proj(attn(ln_1(x))) likewise. */
    cm_matmul_backward(g->d_narrow, GRAD(dw, out_w), GRAD(dw, out_b), d_stream, a->att, w->out_w, N, D, D);
    zero(g->d_wide, 3 * ND);
    cm_attention_backward(g->d_wide, g->d_scores, g->d_narrow, a->qkv, NULL, s->B, s->T, D, s->H, s->causal);
    cm_matmul_backward(g->d_narrow, GRAD(dw, qkv_w), GRAD(dw, qkv_b), g->d_wide, a->ln1, w->qkv_w, N, D, 3 * D);
    cm_layernorm_backward(d_stream, GRAD(dw, ln_1_w), GRAD(dw, ln_1_b), g->d_narrow, a->x, w->ln_1_w, a->ln1_mean,
                          a->ln1_rstd, N, D);
}

cm_err cm_tower_backward_check(const cm_tower_acts *acts, const cm_block_weights *d_blocks, const char *tower)
{
    CM_ASSERT(acts->mode == CM_ACTS_TRAINING || acts->mode == CM_ACTS_INPUT_GRAD, CM_ERR_ARG,
              "the %s backward needs a forward in training mode", tower);
    for (int l = 0; d_blocks && acts->mode == CM_ACTS_INPUT_GRAD && l < acts->layers; l++) {
        const cm_block_weights *d = &d_blocks[l];
        CM_ASSERT(!d->qkv_w && !d->out_w && !d->fc_w && !d->proj_w, CM_ERR_ARG,
                  "%s layer %d: linear weight gradients need a forward that kept their inputs "
                  "(CM_ACTS_TRAINING, not CM_ACTS_INPUT_GRAD)", tower, l);
    }
    return CM_OK;
}

/* The gradient of pooled_block_forward: from d(pooled rows) [B,D] to g->d_stream = d(x). */
static void pooled_block_backward(const cm_block_weights *w, cm_block_weights *dw, const cm_tower_acts *acts,
                                  const cm_block_acts *a, const float *d_pooled, cm_tower_grads *g)
{
    const cm_block_shape *s = &acts->shape;
    int B = s->B, T = s->T, N = B * T, D = s->D, M = s->M;
    size_t BD = (size_t)B * D;
    float *d_xmid = g->d_pool, *d_att = d_xmid + BD, *dq = d_att + BD, *d_ln1_pooled = dq + BD;
    /* out = x_mid + c_proj(qgelu(c_fc(ln_2(x_mid)))) on the compact rows */
    cm_matmul_backward(g->d_wide, GRAD(dw, proj_w), GRAD(dw, proj_b), d_pooled, a->fc_act, w->proj_w, B, M, D);
    cm_quick_gelu_backward_inplace(g->d_wide, a->fc, (long)B * M);
    cm_matmul_backward(g->d_narrow, GRAD(dw, fc_w), GRAD(dw, fc_b), g->d_wide, a->ln2, w->fc_w, B, D, M);
    memcpy(d_xmid, d_pooled, BD * sizeof(float));
    cm_layernorm_backward(d_xmid, GRAD(dw, ln_2_w), GRAD(dw, ln_2_b), g->d_narrow, a->x_mid, w->ln_2_w, a->ln2_mean,
                          a->ln2_rstd, B, D);
    /* x_mid = x[pooled] + out_proj(attention of the pooled queries) */
    cm_matmul_backward(d_att, GRAD(dw, out_w), GRAD(dw, out_b), d_xmid, a->att, w->out_w, B, D, D);
    zero(dq, BD);
    zero(g->d_wide, (size_t)N * 2 * D);
    cm_attention_pooled_backward(dq, g->d_wide, g->d_scores, d_att, acts->pool_q, a->qkv, acts->pool_probs,
                                 s->causal ? acts->pool_keys : NULL, B, T, D, s->H);
    /* k|v = ln1 W_kv^T for every row, q = ln1[pooled] W_q^T: rows [D,3D) and [0,D) of in_proj */
    cm_matmul_backward(g->d_narrow, dw && dw->qkv_w ? dw->qkv_w + (size_t)D * D : NULL,
                       dw && dw->qkv_b ? dw->qkv_b + D : NULL, g->d_wide, a->ln1, w->qkv_w + (size_t)D * D, N, D,
                       2 * D);
    cm_matmul_backward(d_ln1_pooled, GRAD(dw, qkv_w), GRAD(dw, qkv_b), dq, acts->pool_ln1, w->qkv_w, B, D, D);
    zero(g->d_stream, (size_t)N * D);
    for (int b = 0; b < B; b++) {
        size_t r = ((size_t)b * T + acts->pool[b]) * D;
        cm_residual_backward(g->d_narrow + r, NULL, d_ln1_pooled + (size_t)b * D, D); /* the query's ln_1 row */
        memcpy(g->d_stream + r, d_xmid + (size_t)b * D, (size_t)D * sizeof(float));    /* the residual */
    }
    cm_layernorm_backward(g->d_stream, GRAD(dw, ln_1_w), GRAD(dw, ln_1_b), g->d_narrow, a->x, w->ln_1_w, a->ln1_mean,
                          a->ln1_rstd, N, D);
}

void cm_tower_backward(const cm_block_weights *blocks, cm_block_weights *d_blocks, const cm_tower_acts *acts,
                       const cm_prompt_stack *deep, cm_prompt_stack *d_deep, int prompt_row, const float *d_pooled,
                       cm_tower_grads *g)
{
    const cm_block_shape *s = &acts->shape;
    int rows = 0; /* as in cm_tower_forward */
    if (cm_prompts_active(deep)) {
        rows = deep->n;
        if (rows > s->T - prompt_row) rows = s->T - prompt_row;
    }
    for (int l = acts->layers - 1; l >= 0; l--) {
        cm_block_weights *dw = d_blocks ? &d_blocks[l] : NULL;
        if (l == acts->layers - 1) pooled_block_backward(&blocks[l], dw, acts, &acts->blocks[l], d_pooled, g);
        else if (acts->bf16) {
            /* The saved values come back into the working buffers, x into the shared linear input
             * (free: an input-gradient backward reads no linear input) and not the stream, which
             * stays the last block's x. */
            cm_block_acts a = acts->blocks[l];
            long ND = (long)s->B * s->T * s->D;
            a.x = acts->work_narrow;
            a.ln1 = a.att = a.ln2 = a.fc_act = a.out = NULL;
            cm_bf16_load(a.x, a.x16, ND);
            cm_bf16_load(a.qkv, a.qkv16, 3 * ND);
            cm_bf16_load(a.x_mid, a.x_mid16, ND);
            cm_bf16_load(a.fc, a.fc16, (long)s->B * s->T * s->M);
            cm_block_backward(&blocks[l], dw, s, &a, g);
        } else
            cm_block_backward(&blocks[l], dw, s, &acts->blocks[l], g);
        if (l == 0 || rows <= 0 || l >= deep->depth) continue;
        if (d_deep) {
            float *dp = d_deep->values + (size_t)l * d_deep->n * d_deep->width;
            cm_prompts_insert_backward(dp, g->d_stream, s->B, s->T, s->D, prompt_row, rows);
        } else {
            for (int b = 0; b < s->B; b++) zero(g->d_stream + ((size_t)b * s->T + prompt_row) * s->D, (size_t)rows * s->D);
        }
    }
}

void cm_tower_head_backward(const cm_tower_acts *acts, const float *ln_w, const float *proj, int E,
                            const float *d_features, float *d_ln_w, float *d_ln_b, float *d_proj, cm_tower_grads *g)
{
    const int B = acts->shape.B, D = acts->shape.D;
    zero(g->d_head_ln, (size_t)B * D);
    cm_project_backward(g->d_head_ln, d_proj, d_features, acts->head_ln, proj, B, D, E);
    zero(g->d_pooled, (size_t)B * D);
    cm_layernorm_backward(g->d_pooled, d_ln_w, d_ln_b, g->d_head_ln, acts->pooled, ln_w, acts->head_mean,
                          acts->head_rstd, B, D);
}
