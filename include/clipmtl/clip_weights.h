/* CLIP weights in safetensors files: reading them into a cm_clip_model,
 * writing a model back, random initialisation and named configurations.
 *
 * Two tensor namings are understood (spec 1.4, 1.5):
 *  - CM_NAMING_OPENAI: OpenAI / open_clip state-dict names ("visual.conv1.weight",
 *    "transformer.resblocks.0.attn.in_proj_weight", ...), which are also the
 *    names of the model's own table;
 *  - CM_NAMING_HF: Hugging Face CLIPModel names ("vision_model.pre_layrnorm",
 *    q/k/v split out of in_proj, both projections stored transposed).
 * The configuration is inferred from the shapes as OpenAI's build_model does
 * (heads = width / 64 on both towers). A file whose tensors do not match the
 * inferred layout exactly is rejected with the full list of missing,
 * unexpected and mis-shaped tensors. */
#ifndef CLIPMTL_CLIP_WEIGHTS_H
#define CLIPMTL_CLIP_WEIGHTS_H

#include <stdint.h>

#include "clipmtl/clip_model.h"
#include "clipmtl/safetensors.h"

typedef enum { CM_NAMING_OPENAI, CM_NAMING_HF } cm_weight_naming;

const char *cm_weight_naming_name(cm_weight_naming naming); /* "openai", "hf" */
cm_err cm_weight_naming_parse(const char *text, cm_weight_naming *naming);

/* One tensor of a file and where its values go in the model: the q, k and v
 * pieces of HF's split attention each fill a third of in_proj, and HF's
 * projections are the transposes of OpenAI's. */
typedef struct {
    char file_name[CM_NAME_MAX];
    int ndim;
    int64_t shape[CM_MAX_DIMS]; /* in the file */
    int target;                 /* entry of the model's table (OpenAI layout) */
    size_t target_offset;       /* floats into that entry */
    int transposed;             /* the file holds the 2-D target transposed */
} cm_weight_piece;

/* The pieces a file of the given naming holds for the layout `table`
 * (made by cm_clip_layout), in the layout's order. Free with free(). */
cm_err cm_clip_weight_pieces(const cm_tensor_table *table, cm_weight_naming naming, cm_weight_piece **pieces,
                             int *count);
/* Entries a file may carry that are not weights: HF's position_ids buffers,
 * the ints OpenAI's JIT archives keep (input_resolution, ...). */
int cm_clip_ignorable_tensor(cm_weight_naming naming, const char *name);

/* Which naming the file uses, and the configuration its shapes imply. */
cm_err cm_clip_infer_config(const cm_safetensors *st, cm_weight_naming *naming, cm_clip_config *cfg);
/* Infers the configuration and checks that the file holds exactly the
 * tensors of that configuration, with float dtypes; reports every problem. */
cm_err cm_clip_check_file(const cm_safetensors *st, cm_weight_naming *naming, cm_clip_config *cfg);

/* Creates `m` from a checkpoint (either naming, F32/F16/BF16). On failure m is left empty. */
cm_err cm_clip_load(cm_clip_model *m, const char *path);
cm_err cm_clip_load_from(cm_clip_model *m, const cm_safetensors *st);
/* Writes every weight under the given naming as F32, F16 or BF16, atomically. */
cm_err cm_clip_save(const cm_clip_model *m, const char *path, cm_weight_naming naming, cm_dtype dtype);

/* Deterministic random weights with the scales of OpenAI's code: the text tower
 * as CLIP.initialize_parameters (token std 0.02, positions 0.01, attention
 * width^-0.5, residual projections width^-0.5 (2 layers)^-0.5, fc (2 width)^-0.5),
 * the image tower as VisionTransformer leaves it (PyTorch's default Linear/Conv
 * and MultiheadAttention init, class/position/proj width^-0.5), LayerNorm
 * weights 1 and biases 0, logit_scale ln(1/0.07). Each tensor draws from its
 * own stream of `seed`, so values do not depend on the order of filling. */
cm_err cm_clip_init_random(cm_clip_model *m, uint64_t seed);

/* "tiny", "fmnist-small", "vit-b32", "vit-b16", "vit-l14". */
cm_err cm_clip_preset(const char *name, cm_clip_config *cfg);
/* Comma-separated list of the preset names, for help texts. */
const char *cm_clip_preset_names(void);

#endif
