/* Named CLIP configurations: OpenAI's released ViT models (dimensions as in
 * their checkpoints) and a tiny one for tests and demos. */
#include <string.h>

#include "clipmtl/clip_weights.h"

static cm_tower_dims tower(int width, int layers) { return (cm_tower_dims){width, layers, width / 64, 4 * width}; }

static cm_clip_config vit(int embed, int vision_width, int vision_layers, int patch, int image, int text_width,
                          int text_layers)
{
    return (cm_clip_config){.embed_dim = embed,
                            .vision = tower(vision_width, vision_layers),
                            .text = tower(text_width, text_layers),
                            .patch_size = patch,
                            .image_size = image,
                            .grid = image / patch,
                            .context_length = 77,
                            .vocab_size = 49408};
}

cm_err cm_clip_preset(const char *name, cm_clip_config *cfg)
{
    if (!name) name = "";
    if (strcmp(name, "tiny") == 0) *cfg = vit(32, 64, 2, 8, 32, 64, 2);
    /* Pretrained by clipmtl itself on Fashion-MNIST (28 x 28, patch 4: a 7 x 7 grid). */
    else if (strcmp(name, "fmnist-small") == 0) *cfg = vit(128, 128, 4, 4, 28, 128, 4);
    else if (strcmp(name, "vit-b32") == 0) *cfg = vit(512, 768, 12, 32, 224, 512, 12);
    else if (strcmp(name, "vit-b16") == 0) *cfg = vit(512, 768, 12, 16, 224, 512, 12);
    else if (strcmp(name, "vit-l14") == 0) *cfg = vit(768, 1024, 24, 14, 224, 768, 12);
    else CM_ERROR(CM_ERR_ARG, "unknown model preset '%s' (known: %s)", name, cm_clip_preset_names());
    CM_CHECK(cm_clip_config_validate(cfg));
    return CM_OK;
}

const char *cm_clip_preset_names(void) { return "tiny, fmnist-small, vit-b32, vit-b16, vit-l14"; }
