/* Random CLIP weights with the distributions OpenAI's clip/model.py gives a
 * fresh model (see cm_clip_init_random in clip_weights.h). Used for tests,
 * demos and benchmarks when no released checkpoint is at hand. */
#include <math.h>
#include <string.h>

#include "clipmtl/clip_weights.h"
#include "clipmtl/rng.h"

#define INIT_PURPOSE 0x636c6970696e6974ULL /* "clipinit": the stream family of weight init */

typedef enum { FILL_CONSTANT, FILL_NORMAL, FILL_UNIFORM } fill_kind;

typedef struct {
    fill_kind kind;
    double value; /* constant, normal std, or uniform bound (U(-b, b)) */
} fill_rule;

static int ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), k = strlen(suffix);
    return n >= k && strcmp(s + n - k, suffix) == 0;
}

/* Residual block tensors. `openai_text` selects CLIP.initialize_parameters
 * (text tower); otherwise PyTorch's defaults, which the image tower keeps. */
static int block_rule(const char *name, const cm_tower_dims *t, int openai_text, fill_rule *r)
{
    double D = t->width, M = t->mlp_width;
    double attn_std = pow(D, -0.5), proj_std = pow(D, -0.5) * pow(2.0 * t->layers, -0.5), fc_std = pow(2 * D, -0.5);
    if (ends_with(name, "attn.in_proj_bias") || ends_with(name, "attn.out_proj.bias")) {
        *r = (fill_rule){FILL_CONSTANT, 0}; /* nn.MultiheadAttention zeroes both */
    } else if (ends_with(name, "attn.in_proj_weight")) {
        /* xavier_uniform over the packed [3D, D] matrix */
        *r = openai_text ? (fill_rule){FILL_NORMAL, attn_std} : (fill_rule){FILL_UNIFORM, sqrt(6.0 / (D + 3 * D))};
    } else if (ends_with(name, "attn.out_proj.weight")) {
        *r = openai_text ? (fill_rule){FILL_NORMAL, proj_std} : (fill_rule){FILL_UNIFORM, 1 / sqrt(D)};
    } else if (ends_with(name, "mlp.c_fc.weight")) {
        *r = openai_text ? (fill_rule){FILL_NORMAL, fc_std} : (fill_rule){FILL_UNIFORM, 1 / sqrt(D)};
    } else if (ends_with(name, "mlp.c_proj.weight")) {
        *r = openai_text ? (fill_rule){FILL_NORMAL, proj_std} : (fill_rule){FILL_UNIFORM, 1 / sqrt(M)};
    } else if (ends_with(name, "mlp.c_fc.bias")) { /* nn.Linear's default bias, both towers */
        *r = (fill_rule){FILL_UNIFORM, 1 / sqrt(D)};
    } else if (ends_with(name, "mlp.c_proj.bias")) {
        *r = (fill_rule){FILL_UNIFORM, 1 / sqrt(M)};
    } else {
        return 0;
    }
    return 1;
}

static cm_err rule_for(const cm_clip_config *c, const char *name, fill_rule *r)
{
    int visual = strncmp(name, "visual.", 7) == 0;
    const cm_tower_dims *tower = visual ? &c->vision : &c->text;
    if (strcmp(name, "logit_scale") == 0) {
        *r = (fill_rule){FILL_CONSTANT, log(1 / 0.07)};
    } else if (strstr(name, "ln_")) { /* every LayerNorm: ln_pre, ln_1, ln_2, ln_post, ln_final */
        *r = (fill_rule){FILL_CONSTANT, ends_with(name, ".weight") ? 1.0 : 0.0};
    } else if (strstr(name, ".resblocks.")) {
        if (!block_rule(name, tower, !visual, r)) CM_ERROR(CM_ERR_INTERNAL, "no init rule for %s", name);
    } else if (strcmp(name, "token_embedding.weight") == 0) {
        *r = (fill_rule){FILL_NORMAL, 0.02};
    } else if (strcmp(name, "positional_embedding") == 0) {
        *r = (fill_rule){FILL_NORMAL, 0.01};
    } else if (strcmp(name, "text_projection") == 0 || strcmp(name, "visual.proj") == 0 ||
               strcmp(name, "visual.class_embedding") == 0 || strcmp(name, "visual.positional_embedding") == 0) {
        *r = (fill_rule){FILL_NORMAL, pow(tower->width, -0.5)};
    } else if (strcmp(name, "visual.conv1.weight") == 0) {
        /* nn.Conv2d default: kaiming_uniform(a=sqrt(5)) = U(+-1/sqrt(fan_in)) */
        *r = (fill_rule){FILL_UNIFORM, 1 / sqrt(3.0 * c->patch_size * c->patch_size)};
    } else {
        CM_ERROR(CM_ERR_INTERNAL, "no init rule for %s", name);
    }
    return CM_OK;
}

cm_err cm_clip_init_random(cm_clip_model *m, uint64_t seed)
{
    for (int i = 0; i < m->table.count; i++) {
        const cm_tensor_desc *d = &m->table.entries[i];
        fill_rule rule = {FILL_CONSTANT, 0};
        CM_CHECK(rule_for(&m->cfg, d->name, &rule));
        cm_rng rng;
        cm_rng_seed(&rng, seed, cm_rng_stream(INIT_PURPOSE, (uint64_t)i, 0, 0));
        float *x = m->params + d->offset;
        for (size_t k = 0; k < d->numel; k++) {
            switch (rule.kind) {
            case FILL_CONSTANT: x[k] = (float)rule.value; break;
            case FILL_NORMAL: x[k] = (float)(rule.value * cm_rng_normal(&rng)); break;
            case FILL_UNIFORM: x[k] = (float)(rule.value * (2.0 * cm_rng_uniform_double(&rng) - 1.0)); break;
            }
        }
    }
    return CM_OK;
}
