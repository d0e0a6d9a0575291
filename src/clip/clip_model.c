#include "clipmtl/clip_model.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

cm_err cm_clip_config_validate(const cm_clip_config *c)
{
    const cm_tower_dims *towers[2] = {&c->vision, &c->text};
    const char *names[2] = {"vision", "text"};
    for (int i = 0; i < 2; i++) {
        const cm_tower_dims *t = towers[i];
        CM_ASSERT(t->width > 0 && t->layers > 0 && t->heads > 0 && t->mlp_width > 0, CM_ERR_FORMAT,
                  "%s tower: width %d, layers %d, heads %d, mlp %d must all be positive", names[i],
                  t->width, t->layers, t->heads, t->mlp_width);
        CM_ASSERT(t->width % t->heads == 0, CM_ERR_FORMAT, "%s tower: width %d is not a multiple of %d heads",
                  names[i], t->width, t->heads);
    }
    CM_ASSERT(c->embed_dim > 0, CM_ERR_FORMAT, "embed_dim %d must be positive", c->embed_dim);
    CM_ASSERT(c->patch_size > 0 && c->grid > 0 && c->image_size == c->grid * c->patch_size, CM_ERR_FORMAT,
              "image size %d is not grid %d x patch %d", c->image_size, c->grid, c->patch_size);
    CM_ASSERT(c->context_length > 1 && c->vocab_size > 0, CM_ERR_FORMAT,
              "context length %d and vocabulary %d must be positive", c->context_length, c->vocab_size);
    return CM_OK;
}

const char *cm_clip_config_str(const cm_clip_config *c, char *buf, size_t len)
{
    snprintf(buf, len, "vision %dx%d (%d heads) patch %d @%d, text %dx%d (%d heads) ctx %d vocab %d, embed %d",
             c->vision.width, c->vision.layers, c->vision.heads, c->patch_size, c->image_size, c->text.width,
             c->text.layers, c->text.heads, c->context_length, c->vocab_size, c->embed_dim);
    return buf;
}

int cm_clip_vision_tokens(const cm_clip_config *c) { return 1 + c->grid * c->grid; }

static cm_err add_tensor(cm_tensor_table *t, const char *name, int ndim, int64_t d0, int64_t d1, int64_t d2,
                         int64_t d3)
{
    int64_t shape[4] = {d0, d1, d2, d3};
    CM_CHECK(cm_table_add(t, name, ndim, shape, NULL));
    return CM_OK;
}

static cm_err layout_blocks(cm_tensor_table *t, const char *prefix, const cm_tower_dims *d)
{
    int64_t D = d->width, M = d->mlp_width;
    char name[CM_NAME_MAX];
    for (int l = 0; l < d->layers; l++) {
#define BLOCK_TENSOR(suffix, ndim, a, b)                                                   \
    snprintf(name, sizeof name, "%sresblocks.%d." suffix, prefix, l);                      \
    CM_CHECK(add_tensor(t, name, ndim, a, b, 0, 0))
        BLOCK_TENSOR("ln_1.weight", 1, D, 0);
        BLOCK_TENSOR("ln_1.bias", 1, D, 0);
        BLOCK_TENSOR("attn.in_proj_weight", 2, 3 * D, D);
        BLOCK_TENSOR("attn.in_proj_bias", 1, 3 * D, 0);
        BLOCK_TENSOR("attn.out_proj.weight", 2, D, D);
        BLOCK_TENSOR("attn.out_proj.bias", 1, D, 0);
        BLOCK_TENSOR("ln_2.weight", 1, D, 0);
        BLOCK_TENSOR("ln_2.bias", 1, D, 0);
        BLOCK_TENSOR("mlp.c_fc.weight", 2, M, D);
        BLOCK_TENSOR("mlp.c_fc.bias", 1, M, 0);
        BLOCK_TENSOR("mlp.c_proj.weight", 2, D, M);
        BLOCK_TENSOR("mlp.c_proj.bias", 1, D, 0);
#undef BLOCK_TENSOR
    }
    return CM_OK;
}

cm_err cm_clip_layout(const cm_clip_config *c, cm_tensor_table *t)
{
    CM_CHECK(cm_clip_config_validate(c));
    int64_t Dv = c->vision.width, Dt = c->text.width, E = c->embed_dim, P = c->patch_size;
    CM_CHECK(add_tensor(t, "visual.conv1.weight", 4, Dv, 3, P, P));
    CM_CHECK(add_tensor(t, "visual.class_embedding", 1, Dv, 0, 0, 0));
    CM_CHECK(add_tensor(t, "visual.positional_embedding", 2, cm_clip_vision_tokens(c), Dv, 0, 0));
    CM_CHECK(add_tensor(t, "visual.ln_pre.weight", 1, Dv, 0, 0, 0));
    CM_CHECK(add_tensor(t, "visual.ln_pre.bias", 1, Dv, 0, 0, 0));
    CM_CHECK(layout_blocks(t, "visual.transformer.", &c->vision));
    CM_CHECK(add_tensor(t, "visual.ln_post.weight", 1, Dv, 0, 0, 0));
    CM_CHECK(add_tensor(t, "visual.ln_post.bias", 1, Dv, 0, 0, 0));
    CM_CHECK(add_tensor(t, "visual.proj", 2, Dv, E, 0, 0));
    CM_CHECK(add_tensor(t, "token_embedding.weight", 2, c->vocab_size, Dt, 0, 0));
    CM_CHECK(add_tensor(t, "positional_embedding", 2, c->context_length, Dt, 0, 0));
    CM_CHECK(layout_blocks(t, "transformer.", &c->text));
    CM_CHECK(add_tensor(t, "ln_final.weight", 1, Dt, 0, 0, 0));
    CM_CHECK(add_tensor(t, "ln_final.bias", 1, Dt, 0, 0, 0));
    CM_CHECK(add_tensor(t, "text_projection", 2, Dt, E, 0, 0));
    CM_CHECK(add_tensor(t, "logit_scale", 0, 0, 0, 0, 0));
    return CM_OK;
}

void cm_clip_count_params(const cm_tensor_table *t, size_t *vision, size_t *text, size_t *other)
{
    *vision = *text = *other = 0;
    for (int i = 0; i < t->count; i++) {
        const cm_tensor_desc *d = &t->entries[i];
        if (strncmp(d->name, "visual.", 7) == 0) *vision += d->numel;
        else if (strcmp(d->name, "logit_scale") == 0) *other += d->numel;
        else *text += d->numel;
    }
}

static cm_err find_ptr(const cm_tensor_table *t, float *buffer, const char *name, float **out)
{
    const cm_tensor_desc *d = cm_table_find(t, name);
    CM_ASSERT(d, CM_ERR_INTERNAL, "tensor %s missing from the CLIP layout", name);
    *out = buffer + d->offset;
    return CM_OK;
}

static cm_err bind_blocks(const cm_tensor_table *t, float *buffer, const char *prefix, int layers,
                          cm_block_weights **out)
{
    cm_block_weights *b;
    CM_CALLOC(b, layers);
    *out = b;
    char name[CM_NAME_MAX];
    for (int l = 0; l < layers; l++) {
#define BIND(field, suffix)                                                   \
    snprintf(name, sizeof name, "%sresblocks.%d." suffix, prefix, l);         \
    CM_CHECK(find_ptr(t, buffer, name, &b[l].field))
        BIND(ln_1_w, "ln_1.weight");
        BIND(ln_1_b, "ln_1.bias");
        BIND(qkv_w, "attn.in_proj_weight");
        BIND(qkv_b, "attn.in_proj_bias");
        BIND(out_w, "attn.out_proj.weight");
        BIND(out_b, "attn.out_proj.bias");
        BIND(ln_2_w, "ln_2.weight");
        BIND(ln_2_b, "ln_2.bias");
        BIND(fc_w, "mlp.c_fc.weight");
        BIND(fc_b, "mlp.c_fc.bias");
        BIND(proj_w, "mlp.c_proj.weight");
        BIND(proj_b, "mlp.c_proj.bias");
#undef BIND
    }
    return CM_OK;
}

cm_err cm_clip_weights_bind(const cm_clip_config *c, const cm_tensor_table *t, float *buffer, cm_clip_weights *w)
{
    memset(w, 0, sizeof *w);
    cm_vision_weights *v = &w->visual;
    cm_text_weights *x = &w->text;
    CM_CHECK(find_ptr(t, buffer, "visual.conv1.weight", &v->conv1_w));
    CM_CHECK(find_ptr(t, buffer, "visual.class_embedding", &v->class_embedding));
    CM_CHECK(find_ptr(t, buffer, "visual.positional_embedding", &v->positional_embedding));
    CM_CHECK(find_ptr(t, buffer, "visual.ln_pre.weight", &v->ln_pre_w));
    CM_CHECK(find_ptr(t, buffer, "visual.ln_pre.bias", &v->ln_pre_b));
    CM_CHECK(bind_blocks(t, buffer, "visual.transformer.", c->vision.layers, &v->blocks));
    CM_CHECK(find_ptr(t, buffer, "visual.ln_post.weight", &v->ln_post_w));
    CM_CHECK(find_ptr(t, buffer, "visual.ln_post.bias", &v->ln_post_b));
    CM_CHECK(find_ptr(t, buffer, "visual.proj", &v->proj));
    CM_CHECK(find_ptr(t, buffer, "token_embedding.weight", &x->token_embedding));
    CM_CHECK(find_ptr(t, buffer, "positional_embedding", &x->positional_embedding));
    CM_CHECK(bind_blocks(t, buffer, "transformer.", c->text.layers, &x->blocks));
    CM_CHECK(find_ptr(t, buffer, "ln_final.weight", &x->ln_final_w));
    CM_CHECK(find_ptr(t, buffer, "ln_final.bias", &x->ln_final_b));
    CM_CHECK(find_ptr(t, buffer, "text_projection", &x->text_projection));
    CM_CHECK(find_ptr(t, buffer, "logit_scale", &w->logit_scale));
    return CM_OK;
}

/* The 12 tensors of a block in layout_blocks order. */
static float **block_slot(cm_block_weights *b, int k)
{
    float **slots[12] = {&b->ln_1_w, &b->ln_1_b, &b->qkv_w, &b->qkv_b, &b->out_w,  &b->out_b,
                         &b->ln_2_w, &b->ln_2_b, &b->fc_w,  &b->fc_b,  &b->proj_w, &b->proj_b};
    return slots[k];
}

/* Mirrors cm_clip_layout's order; tests/clip check it against every entry of the table. */
float **cm_clip_weight_slot(cm_clip_weights *w, const cm_clip_config *c, int entry)
{
    cm_vision_weights *v = &w->visual;
    cm_text_weights *x = &w->text;
    const int Lv = c->vision.layers, Lt = c->text.layers;
    float **head[5] = {&v->conv1_w, &v->class_embedding, &v->positional_embedding, &v->ln_pre_w, &v->ln_pre_b};
    float **middle[5] = {&v->ln_post_w, &v->ln_post_b, &v->proj, &x->token_embedding, &x->positional_embedding};
    float **tail[4] = {&x->ln_final_w, &x->ln_final_b, &x->text_projection, &w->logit_scale};
    if (entry < 0) return NULL;
    if (entry < 5) return head[entry];
    entry -= 5;
    if (entry < 12 * Lv) return block_slot(&v->blocks[entry / 12], entry % 12);
    entry -= 12 * Lv;
    if (entry < 5) return middle[entry];
    entry -= 5;
    if (entry < 12 * Lt) return block_slot(&x->blocks[entry / 12], entry % 12);
    entry -= 12 * Lt;
    return entry < 4 ? tail[entry] : NULL;
}

void cm_clip_weights_release(cm_clip_weights *w)
{
    free(w->visual.blocks);
    free(w->text.blocks);
    memset(w, 0, sizeof *w);
}

/* The weights are hundreds of MB touched once when loading: on Linux, 2 MB
 * pages (transparent huge pages, where enabled on request) cut the page
 * faults of that first touch 512-fold (a ViT-B/16 F16 load here: about 4x
 * faster on a cold buffer). */
static cm_err alloc_zeroed_weights(size_t count, float **out)
{
    const size_t huge = (size_t)2 << 20;
    size_t bytes = (count ? count : 1) * sizeof(float);
    if (bytes < huge) {
        *out = calloc(count ? count : 1, sizeof(float));
    } else {
        bytes = (bytes + huge - 1) / huge * huge;
        *out = aligned_alloc(huge, bytes);
#ifdef MADV_HUGEPAGE
        if (*out) madvise(*out, bytes, MADV_HUGEPAGE);
#endif
        if (*out) memset(*out, 0, bytes);
    }
    CM_ASSERT(*out, CM_ERR_MEM, "out of memory allocating %.1f MiB of CLIP weights", bytes / 1048576.0);
    return CM_OK;
}

cm_err cm_clip_create(cm_clip_model *m, const cm_clip_config *cfg)
{
    memset(m, 0, sizeof *m);
    m->cfg = *cfg;
    cm_table_init(&m->table);
    CM_CHECK(cm_clip_layout(cfg, &m->table));
    CM_CHECK(alloc_zeroed_weights(m->table.total, &m->params));
    CM_CHECK(cm_clip_weights_bind(cfg, &m->table, m->params, &m->w));
    return CM_OK;
}

void cm_clip_destroy(cm_clip_model *m)
{
    cm_clip_weights_release(&m->w);
    free(m->params);
    cm_table_free(&m->table);
    memset(m, 0, sizeof *m);
}
