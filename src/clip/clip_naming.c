/* Tensor names of CLIP checkpoints: the OpenAI names of the model's own table
 * and their Hugging Face CLIPModel counterparts (spec 1.5, after
 * transformers' convert_clip_original_pytorch_to_hf.py). */
#include <stdlib.h>
#include <string.h>

#include "clipmtl/clip_weights.h"

const char *cm_weight_naming_name(cm_weight_naming naming) { return naming == CM_NAMING_HF ? "hf" : "openai"; }

cm_err cm_weight_naming_parse(const char *text, cm_weight_naming *naming)
{
    if (text && (strcmp(text, "openai") == 0 || strcmp(text, "open_clip") == 0)) *naming = CM_NAMING_OPENAI;
    else if (text && (strcmp(text, "hf") == 0 || strcmp(text, "huggingface") == 0)) *naming = CM_NAMING_HF;
    else CM_ERROR(CM_ERR_ARG, "unknown tensor naming '%s' (expected openai or hf)", text ? text : "(none)");
    return CM_OK;
}

int cm_clip_ignorable_tensor(cm_weight_naming naming, const char *name)
{
    static const char *const hf[] = {"text_model.embeddings.position_ids", "vision_model.embeddings.position_ids"};
    static const char *const openai[] = {"input_resolution", "context_length", "vocab_size"};
    const char *const *list = naming == CM_NAMING_HF ? hf : openai;
    int n = naming == CM_NAMING_HF ? 2 : 3;
    for (int i = 0; i < n; i++)
        if (strcmp(name, list[i]) == 0) return 1;
    return 0;
}

/* Whole-name renames, and prefix renames (those ending in '.'). */
static const struct {
    const char *openai, *hf;
} renames[] = {
    {"visual.conv1.weight", "vision_model.embeddings.patch_embedding.weight"},
    {"visual.class_embedding", "vision_model.embeddings.class_embedding"},
    {"visual.positional_embedding", "vision_model.embeddings.position_embedding.weight"},
    {"visual.ln_pre.", "vision_model.pre_layrnorm."}, /* sic: HF's spelling */
    {"visual.ln_post.", "vision_model.post_layernorm."},
    {"token_embedding.weight", "text_model.embeddings.token_embedding.weight"},
    {"positional_embedding", "text_model.embeddings.position_embedding.weight"},
    {"ln_final.", "text_model.final_layer_norm."},
    {"logit_scale", "logit_scale"},
};

static const struct {
    const char *openai, *hf;
} tower_prefixes[] = {
    {"visual.transformer.resblocks.", "vision_model.encoder.layers."},
    {"transformer.resblocks.", "text_model.encoder.layers."},
};

/* Inside a residual block, after "<layer>.". in_proj is handled apart. */
static const struct {
    const char *openai, *hf;
} block_renames[] = {
    {"ln_1.", "layer_norm1."},
    {"ln_2.", "layer_norm2."},
    {"mlp.c_fc.", "mlp.fc1."},
    {"mlp.c_proj.", "mlp.fc2."},
    {"attn.out_proj.", "self_attn.out_proj."},
};

static int starts_with(const char *s, const char *prefix) { return strncmp(s, prefix, strlen(prefix)) == 0; }

static cm_err set_name(cm_weight_piece *p, const char *a, const char *b, const char *c)
{
    int n = snprintf(p->file_name, sizeof p->file_name, "%s%s%s", a, b, c);
    CM_ASSERT(n > 0 && n < (int)sizeof p->file_name, CM_ERR_INTERNAL, "tensor name %s%s%s too long", a, b, c);
    return CM_OK;
}

/* The HF pieces of one block tensor: `layer_prefix` is "<tower>.<layer>." in
 * HF names, `rest` what follows the layer number in the OpenAI name. */
static cm_err block_pieces(const cm_tensor_desc *d, int target, const char *layer_prefix, const char *rest,
                           cm_weight_piece *out, int *n)
{
    int is_weight = strcmp(rest, "attn.in_proj_weight") == 0;
    if (is_weight || strcmp(rest, "attn.in_proj_bias") == 0) {
        /* rows [0,D) q, [D,2D) k, [2D,3D) v */
        static const char *const qkv[3] = {"q", "k", "v"};
        int64_t width = d->shape[0] / 3;
        size_t third = d->numel / 3;
        for (int i = 0; i < 3; i++) {
            cm_weight_piece *p = &out[(*n)++];
            *p = (cm_weight_piece){.target = target, .target_offset = (size_t)i * third, .ndim = d->ndim};
            p->shape[0] = width;
            if (is_weight) p->shape[1] = d->shape[1];
            char suffix[32];
            snprintf(suffix, sizeof suffix, "self_attn.%s_proj.%s", qkv[i], is_weight ? "weight" : "bias");
            CM_CHECK(set_name(p, layer_prefix, suffix, ""));
        }
        return CM_OK;
    }
    for (size_t r = 0; r < sizeof block_renames / sizeof block_renames[0]; r++)
        if (starts_with(rest, block_renames[r].openai)) {
            cm_weight_piece *p = &out[(*n)++];
            *p = (cm_weight_piece){.target = target, .ndim = d->ndim};
            memcpy(p->shape, d->shape, sizeof p->shape);
            CM_CHECK(set_name(p, layer_prefix, block_renames[r].hf, rest + strlen(block_renames[r].openai)));
            return CM_OK;
        }
    CM_ERROR(CM_ERR_INTERNAL, "no Hugging Face name for block tensor %s", d->name);
}

static cm_err hf_pieces(const cm_tensor_desc *d, int target, cm_weight_piece *out, int *n)
{
    for (size_t t = 0; t < sizeof tower_prefixes / sizeof tower_prefixes[0]; t++) {
        if (!starts_with(d->name, tower_prefixes[t].openai)) continue;
        const char *layer = d->name + strlen(tower_prefixes[t].openai);
        const char *dot = strchr(layer, '.');
        CM_ASSERT(dot, CM_ERR_INTERNAL, "block tensor %s has no layer number", d->name);
        char layer_prefix[CM_NAME_MAX];
        snprintf(layer_prefix, sizeof layer_prefix, "%s%.*s", tower_prefixes[t].hf, (int)(dot + 1 - layer), layer);
        CM_CHECK(block_pieces(d, target, layer_prefix, dot + 1, out, n));
        return CM_OK;
    }
    if (strcmp(d->name, "visual.proj") == 0 || strcmp(d->name, "text_projection") == 0) {
        /* OpenAI applies x @ P with P [width, embed]; HF's bias-free Linear
         * stores P^T as its [embed, width] weight. */
        cm_weight_piece *p = &out[(*n)++];
        *p = (cm_weight_piece){.target = target, .ndim = 2, .transposed = 1};
        p->shape[0] = d->shape[1];
        p->shape[1] = d->shape[0];
        CM_CHECK(set_name(p, d->name[0] == 'v' ? "visual_projection" : "text_projection", ".weight", ""));
        return CM_OK;
    }
    for (size_t r = 0; r < sizeof renames / sizeof renames[0]; r++) {
        const char *from = renames[r].openai;
        size_t len = strlen(from);
        int prefix = from[len - 1] == '.';
        if (prefix ? !starts_with(d->name, from) : strcmp(d->name, from) != 0) continue;
        cm_weight_piece *p = &out[(*n)++];
        *p = (cm_weight_piece){.target = target, .ndim = d->ndim};
        memcpy(p->shape, d->shape, sizeof p->shape);
        CM_CHECK(set_name(p, renames[r].hf, prefix ? d->name + len : "", ""));
        return CM_OK;
    }
    CM_ERROR(CM_ERR_INTERNAL, "no Hugging Face name for tensor %s", d->name);
}

cm_err cm_clip_weight_pieces(const cm_tensor_table *table, cm_weight_naming naming, cm_weight_piece **pieces,
                             int *count)
{
    cm_weight_piece *out;
    /* At most 3 pieces per tensor (q, k, v). */
    CM_CALLOC(out, 3 * (size_t)table->count);
    int n = 0;
    cm_err err = CM_OK;
    for (int i = 0; i < table->count; i++) {
        const cm_tensor_desc *d = &table->entries[i];
        if (naming == CM_NAMING_HF) {
            CM_CHECK_GOTO(err, hf_pieces(d, i, out, &n), fail);
        } else {
            cm_weight_piece *p = &out[n++];
            *p = (cm_weight_piece){.target = i, .ndim = d->ndim};
            memcpy(p->shape, d->shape, sizeof p->shape);
            CM_CHECK_GOTO(err, set_name(p, d->name, "", ""), fail);
        }
    }
    *pieces = out;
    *count = n;
    return CM_OK;
fail:
    free(out);
    return err;
}
