/* CLIP's text tower (spec.md 1.2): token and positional embeddings with the
 * layer-0 prompts in rows 1..n, the causal blocks with deep prompts
 * overwriting rows 1..n, ln_final at the EOT token and text_projection.
 * Only the tokens up to the last EOT of the batch are run: with the causal
 * mask, later tokens cannot reach any EOT row. */
#include <string.h>

#include "clipmtl/encoder.h"
#include "clipmtl/ops.h"

static cm_block_shape text_shape(const cm_clip_config *c, int B, int T)
{
    return (cm_block_shape){
        .B = B, .T = T, .D = c->text.width, .H = c->text.heads, .M = c->text.mlp_width, .causal = 1};
}

cm_err cm_text_acts_alloc(cm_arena *arena, const cm_clip_config *cfg, int B, int T, cm_acts_mode mode,
                          cm_text_acts *acts)
{
    memset(acts, 0, sizeof *acts);
    cm_block_shape s = text_shape(cfg, B, T);
    CM_CHECK(cm_tower_acts_alloc(arena, &s, cfg->text.layers, mode, &acts->tower));
    void *eot;
    CM_CHECK(cm_arena_alloc(arena, (size_t)B * sizeof(int32_t), &eot));
    acts->eot = eot;
    return CM_OK;
}

size_t cm_text_acts_bytes(const cm_clip_config *cfg, int B, cm_acts_mode mode)
{
    cm_arena measure;
    cm_text_acts acts;
    cm_arena_measure(&measure);
    (void)cm_text_acts_alloc(&measure, cfg, B, cfg->context_length, mode, &acts); /* cannot fail */
    return measure.peak;
}

cm_err cm_text_eot_positions(const cm_clip_config *cfg, const int32_t *ids, int B, int32_t *eot, int *tokens)
{
    int ctx = cfg->context_length, last = 0;
    for (int b = 0; b < B; b++) {
        const int32_t *row = ids + (long)b * ctx;
        int best = 0;
        for (int t = 0; t < ctx; t++) {
            CM_ASSERT(row[t] >= 0 && row[t] < cfg->vocab_size, CM_ERR_ARG,
                      "token id %d in text %d at position %d is outside the vocabulary [0,%d)", row[t], b, t,
                      cfg->vocab_size);
            if (row[t] > row[best]) best = t;
        }
        if (eot) eot[b] = best;
        if (best > last) last = best;
    }
    *tokens = last + 1;
    return CM_OK;
}

/* Token embeddings + positional embedding, the layer-0 prompts in rows 1..n. */
static void embed_tokens(const cm_text_weights *w, const int32_t *ids, int ctx, const cm_prompt_stack *text,
                         const cm_tower_acts *t)
{
    int B = t->shape.B, T = t->shape.T, D = t->shape.D;
    float *x = t->blocks[0].x;
    for (int b = 0; b < B; b++) cm_embedding_forward(x + (long)b * T * D, ids + (long)b * ctx, w->token_embedding, T, D);
    if (cm_prompts_active(text)) {
        int rows = text->n < T - 1 ? text->n : T - 1; /* rows past the last EOT cannot matter */
        cm_prompts_insert(x, B, T, D, 1, cm_prompts_layer(text, 0), rows);
    }
    for (int b = 0; b < B; b++) {
        float *seq = x + (long)b * T * D;
        cm_residual_forward(seq, seq, w->positional_embedding, (long)T * D);
    }
}

cm_err cm_text_forward(const cm_clip_model *m, const int32_t *ids, int B, int tokens, const cm_prompt_stack *text,
                       cm_acts_mode mode, cm_arena *arena, cm_text_acts *acts, float *features)
{
    const cm_clip_config *c = &m->cfg;
    const cm_text_weights *w = &m->w.text;
    int D = c->text.width, E = c->embed_dim, ctx = c->context_length;
    CM_ASSERT(B > 0, CM_ERR_ARG, "text batch size %d must be positive", B);
    CM_ASSERT(arena->base, CM_ERR_ARG, "the text encoder needs a created arena, not a measuring one");
    /* SOS before the prompts and at least the EOT after them. */
    CM_CHECK(cm_prompts_check(text, "text", c->text.layers, D, ctx - 2));
    int needed;
    CM_CHECK(cm_text_eot_positions(c, ids, B, NULL, &needed));
    int T = tokens ? tokens : needed;
    CM_ASSERT(T >= needed && T <= ctx, CM_ERR_ARG,
              "cannot run %d text tokens: the last EOT needs %d, the context holds %d", T, needed, ctx);
    CM_CHECK(cm_text_acts_alloc(arena, c, B, T, mode, acts));
    CM_CHECK(cm_text_eot_positions(c, ids, B, acts->eot, &needed));
    cm_tower_acts *t = &acts->tower;

    embed_tokens(w, ids, ctx, text, t);
    cm_tower_forward(w->blocks, t, text, 1, acts->eot);
    cm_tower_head_forward(t, w->ln_final_w, w->ln_final_b, w->text_projection, E, features);
    return CM_OK;
}

size_t cm_clip_texts_arena_bytes(const cm_clip_config *cfg, int B)
{
    return cm_text_acts_bytes(cfg, B, CM_ACTS_INFERENCE);
}

cm_err cm_clip_encode_texts(const cm_clip_model *m, const int32_t *ids, int B, const cm_prompt_stack *text,
                            cm_arena *arena, float *features)
{
    size_t mark = arena->used;
    cm_text_acts acts;
    cm_err err = cm_text_forward(m, ids, B, 0, text, CM_ACTS_INFERENCE, arena, &acts, features);
    cm_arena_rewind(arena, mark);
    CM_CHECK(err);
    return CM_OK;
}

/* ---- backward ------------------------------------------------------------ */

size_t cm_text_backward_bytes(const cm_clip_config *cfg, int B, int T)
{
    cm_block_shape s = text_shape(cfg, B, T);
    return cm_tower_grads_bytes(&s);
}

cm_err cm_text_backward(const cm_clip_model *m, const cm_text_acts *acts, const int32_t *ids,
                        const cm_prompt_stack *text, const float *d_features, cm_prompt_stack *d_text,
                        cm_clip_weights *d_weights, cm_arena *arena)
{
    const cm_clip_config *c = &m->cfg;
    const cm_text_weights *w = &m->w.text;
    cm_text_weights *dw = d_weights ? &d_weights->text : NULL;
    const cm_tower_acts *t = &acts->tower;
    int B = t->shape.B, T = t->shape.T, D = t->shape.D, E = c->embed_dim, ctx = c->context_length;
    int active = cm_prompts_active(text);
    CM_CHECK(cm_tower_backward_check(t, dw ? dw->blocks : NULL, "text"));
    CM_ASSERT(!d_text || !active ||
                  (d_text->n == text->n && d_text->depth == text->depth && d_text->width == D && d_text->values),
              CM_ERR_ARG, "the text prompt gradient must have the prompts' shape [%d,%d,%d]", text->depth, text->n,
              D);
    CM_ASSERT(!dw || !dw->token_embedding || ids, CM_ERR_ARG, "the token embedding gradient needs the token ids");
    size_t mark = arena->used;
    cm_tower_grads g;
    CM_CHECK(cm_tower_grads_alloc(arena, &t->shape, &g));

    /* features = ln_final(out[b, eot_b]) text_projection */
    cm_tower_head_backward(t, w->ln_final_w, w->text_projection, E, d_features, dw ? dw->ln_final_w : NULL,
                           dw ? dw->ln_final_b : NULL, dw ? dw->text_projection : NULL, &g);
    cm_tower_backward(w->blocks, dw ? dw->blocks : NULL, t, active ? text : NULL, active ? d_text : NULL, 1,
                      g.d_pooled, &g);
    float *d_stream = g.d_stream;

    /* d_stream = d(token embeddings with the prompts in rows 1..n, + positional embedding). */
    if (dw && dw->positional_embedding)
        for (int b = 0; b < B; b++)
            cm_residual_backward(dw->positional_embedding, NULL, d_stream + (size_t)b * T * D, (long)T * D);
    if (active) {
        int rows = text->n < T - 1 ? text->n : T - 1; /* as in the forward */
        if (d_text) cm_prompts_insert_backward(d_text->values, d_stream, B, T, D, 1, rows);
        else
            for (int b = 0; b < B; b++) memset(d_stream + ((size_t)b * T + 1) * D, 0, (size_t)rows * D * sizeof(float));
    }
    if (dw && dw->token_embedding) /* the overwritten rows are zero now: placeholders get nothing */
        for (int b = 0; b < B; b++)
            cm_embedding_backward(dw->token_embedding, d_stream + (size_t)b * T * D, ids + (size_t)b * ctx, T, D);
    cm_arena_rewind(arena, mark);
    return CM_OK;
}
