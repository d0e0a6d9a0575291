/* Full fine-tuning, BitFit and CLIP-Adapter: their tensor layouts (for prompt_method.c), their
 * initialisation, and how a step runs them (weight_methods.h). */
#include "clipmtl/weight_methods.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "clipmtl/ops.h"
#include "method_impl.h"

int cm_method_trains_clip(const cm_prompt_method *pm)
{
    return pm->opt.kind == CM_METHOD_FULL || pm->opt.kind == CM_METHOD_BITFIT;
}

/* BitFit trains the bias vectors: the blocks' in_proj, out_proj, c_fc, c_proj and LayerNorm
 * biases and ln_pre / ln_post / ln_final.bias. Every one of them, and nothing else, ends so. */
static int is_bias(const char *name)
{
    size_t len = strlen(name);
    return len >= 4 && strcmp(name + len - 4, "bias") == 0;
}

/* full / bitfit: the chosen entries of the model's layout, same names and shapes, prefixed. */
static cm_err layout_clip_tensors(cm_prompt_method *pm, cm_tensor_table *table, const char *prefix)
{
    cm_tensor_table clip;
    cm_table_init(&clip);
    cm_err err = cm_clip_layout(&pm->opt.model, &clip);
    if (err == CM_OK && (!(pm->offsets = calloc((size_t)clip.count, sizeof *pm->offsets)) ||
                         !(pm->model_entries = calloc((size_t)clip.count, sizeof *pm->model_entries))))
        err = CM_RAISE(CM_ERR_MEM, "out of memory");
    for (int i = 0; err == CM_OK && i < clip.count; i++) {
        const cm_tensor_desc *d = &clip.entries[i];
        if (pm->opt.kind == CM_METHOD_BITFIT && !is_bias(d->name)) continue;
        pm->model_entries[pm->noffsets] = i;
        err = cm_table_addf(table, &pm->offsets[pm->noffsets], d->ndim, d->shape, "%s%s", prefix, d->name);
        pm->noffsets++;
    }
    cm_table_free(&clip);
    CM_CHECK(err);
    return CM_OK;
}

static int adapter_hidden(const cm_prompt_method *pm) { return pm->opt.model.embed_dim / pm->opt.adapter_reduction; }

/* offsets: image fc1, fc2, then text fc1, fc2 (a side without adapter keeps zeros). */
static cm_err layout_adapter(cm_prompt_method *pm, cm_tensor_table *table, const char *prefix)
{
    const cm_method_options *o = &pm->opt;
    const int E = o->model.embed_dim;
    CM_ASSERT(E > 0, CM_ERR_CONFIG, "method adapter: the model's embedding width is unknown (%d)", E);
    CM_ASSERT(o->adapter_reduction >= 1 && E / o->adapter_reduction >= 1, CM_ERR_CONFIG,
              "method adapter: reduction %d leaves no hidden unit of the %d-wide feature", o->adapter_reduction, E);
    CM_ASSERT(o->adapter_ratio >= 0 && o->adapter_ratio <= 1, CM_ERR_CONFIG,
              "method adapter: ratio %g is outside [0,1]", o->adapter_ratio);
    CM_ASSERT(o->adapter_image || o->adapter_text, CM_ERR_CONFIG, "method adapter: adapts neither image nor text");
    CM_CALLOC(pm->offsets, 4);
    const int H = adapter_hidden(pm);
    const char *sides[2] = {"image", "text"};
    const int active[2] = {o->adapter_image, o->adapter_text};
    for (int s = 0; s < 2; s++) {
        if (!active[s]) continue;
        const int64_t fc1[2] = {H, E}, fc2[2] = {E, H};
        CM_CHECK(cm_table_addf(table, &pm->offsets[2 * s], 2, fc1, "%sadapter.%s.fc1.weight", prefix, sides[s]));
        CM_CHECK(cm_table_addf(table, &pm->offsets[2 * s + 1], 2, fc2, "%sadapter.%s.fc2.weight", prefix, sides[s]));
    }
    pm->noffsets = 4;
    return CM_OK;
}

/* PyTorch's nn.Linear default (kaiming_uniform with a = sqrt(5)): U(-1/sqrt(in), 1/sqrt(in)). */
static void fill_linear(float *w, size_t n, int fan_in, cm_rng *rng)
{
    const float bound = 1.0f / sqrtf((float)fan_in);
    for (size_t i = 0; i < n; i++) w[i] = bound * (2.0f * cm_rng_uniform(rng) - 1.0f);
}

static void init_adapter(const cm_prompt_method *pm, float *params, cm_rng *rng, const float *text_init)
{
    (void)text_init;
    const int E = pm->opt.model.embed_dim, H = adapter_hidden(pm);
    for (int s = 0; s < 2; s++) {
        if (!cm_adapter_active(pm, (cm_adapter_side)s)) continue;
        fill_linear(params + pm->offsets[2 * s], (size_t)H * E, E, rng);
        fill_linear(params + pm->offsets[2 * s + 1], (size_t)E * H, H, rng);
    }
}

const cm_method_impl cm_full_impl = {.name = "full", .layout = layout_clip_tensors};
const cm_method_impl cm_bitfit_impl = {.name = "bitfit", .layout = layout_clip_tensors};

/* CLIP-Adapter's defaults (spec.md 2.9) and keys. */
static void adapter_defaults(cm_method_options *o)
{
    o->adapter_reduction = 4, o->adapter_ratio = 0.2f, o->adapter_image = 1;
}
static void adapter_configure(const cm_config_method *m, cm_method_options *o)
{
    o->adapter_reduction = m->adapter.reduction, o->adapter_ratio = (float)m->adapter.ratio;
    o->adapter_image = m->adapter.target != CM_ADAPTER_TEXT;
    o->adapter_text = m->adapter.target != CM_ADAPTER_IMAGE;
}
const cm_method_impl cm_adapter_impl = {.name = "adapter", .defaults = adapter_defaults, .configure = adapter_configure,
                                        .layout = layout_adapter, .init = init_adapter};

void cm_method_copy_model_weights(const cm_prompt_method *pm, const cm_clip_model *m, float *params)
{
    if (!cm_method_trains_clip(pm)) return;
    for (int i = 0; i < pm->noffsets; i++) {
        const cm_tensor_desc *d = &m->table.entries[pm->model_entries[i]];
        memcpy(params + pm->offsets[i], m->params + d->offset, d->numel * sizeof(float));
    }
}

int cm_method_view_blocks(const cm_clip_config *cfg) { return cfg->vision.layers + cfg->text.layers; }

void cm_method_model_view(const cm_prompt_method *pm, const cm_clip_model *frozen, const float *params,
                          cm_block_weights *blocks, cm_clip_model *view)
{
    const cm_clip_config *c = &frozen->cfg;
    *view = *frozen;
    memcpy(blocks, frozen->w.visual.blocks, (size_t)c->vision.layers * sizeof *blocks);
    memcpy(blocks + c->vision.layers, frozen->w.text.blocks, (size_t)c->text.layers * sizeof *blocks);
    view->w.visual.blocks = blocks;
    view->w.text.blocks = blocks + c->vision.layers;
    /* The encoders read weights through const pointers; the view is never written through. */
    for (int i = 0; i < pm->noffsets; i++)
        *cm_clip_weight_slot(&view->w, c, pm->model_entries[i]) = (float *)(params + pm->offsets[i]);
}

void cm_method_weight_grads(const cm_prompt_method *pm, const cm_clip_config *c, float *d_params,
                            cm_block_weights *blocks, cm_clip_weights *dw)
{
    memset(dw, 0, sizeof *dw);
    memset(blocks, 0, (size_t)cm_method_view_blocks(c) * sizeof *blocks);
    dw->visual.blocks = blocks;
    dw->text.blocks = blocks + c->vision.layers;
    for (int i = 0; i < pm->noffsets; i++) *cm_clip_weight_slot(dw, c, pm->model_entries[i]) = d_params + pm->offsets[i];
}

/* ---- CLIP-Adapter --------------------------------------------------------- */

int cm_adapter_active(const cm_prompt_method *pm, cm_adapter_side side)
{
    if (pm->opt.kind != CM_METHOD_ADAPTER) return 0;
    return side == CM_ADAPTER_SIDE_IMAGE ? pm->opt.adapter_image : pm->opt.adapter_text;
}

cm_err cm_adapter_acts_alloc(cm_arena *arena, const cm_prompt_method *pm, int n, int backward, cm_adapter_acts *a)
{
    const size_t E = (size_t)pm->opt.model.embed_dim, H = (size_t)adapter_hidden(pm);
    *a = (cm_adapter_acts){.n = n, .E = (int)E, .H = (int)H};
    CM_CHECK(cm_arena_floats(arena, n * E, &a->input));
    CM_CHECK(cm_arena_floats(arena, n * H, &a->hidden));
    CM_CHECK(cm_arena_floats(arena, n * E, &a->act));
    if (!backward) return CM_OK;
    CM_CHECK(cm_arena_floats(arena, n * E, &a->d_act));
    CM_CHECK(cm_arena_floats(arena, n * H, &a->d_hidden));
    CM_CHECK(cm_arena_floats(arena, n * E, &a->d_input));
    return CM_OK;
}

static void relu(float *x, size_t n)
{
    for (size_t i = 0; i < n; i++) x[i] = x[i] > 0 ? x[i] : 0;
}

void cm_adapter_forward(const cm_prompt_method *pm, cm_adapter_side side, const float *params, float *f,
                        cm_adapter_acts *a)
{
    const float *w1 = params + pm->offsets[2 * side], *w2 = params + pm->offsets[2 * side + 1];
    const size_t nE = (size_t)a->n * a->E;
    const float ratio = pm->opt.adapter_ratio;
    memcpy(a->input, f, nE * sizeof *f);
    cm_matmul_forward(a->hidden, f, w1, NULL, a->n, a->E, a->H);
    relu(a->hidden, (size_t)a->n * a->H);
    cm_matmul_forward(a->act, a->hidden, w2, NULL, a->n, a->H, a->E);
    relu(a->act, nE);
    for (size_t i = 0; i < nE; i++) f[i] = ratio * a->act[i] + (1.0f - ratio) * a->input[i];
}

void cm_adapter_backward(const cm_prompt_method *pm, cm_adapter_side side, const float *params,
                         const float *d_f, cm_adapter_acts *a, float *d_params)
{
    const size_t o1 = pm->offsets[2 * side], o2 = pm->offsets[2 * side + 1];
    const size_t nE = (size_t)a->n * a->E, nH = (size_t)a->n * a->H;
    const float ratio = pm->opt.adapter_ratio;
    /* ReLU passes the gradient where its output is positive (PyTorch: threshold at 0). */
    for (size_t i = 0; i < nE; i++) a->d_act[i] = a->act[i] > 0 ? ratio * d_f[i] : 0.0f;
    cm_matmul_backward(a->d_hidden, d_params + o2, NULL, a->d_act, a->hidden, params + o2, a->n, a->H, a->E);
    for (size_t i = 0; i < nH; i++)
        if (!(a->hidden[i] > 0)) a->d_hidden[i] = 0.0f;
    /* d_input is the first layer's input gradient, which the frozen tower below does not use. */
    cm_matmul_backward(a->d_input, d_params + o1, NULL, a->d_hidden, a->input, params + o1, a->n, a->E, a->H);
}
