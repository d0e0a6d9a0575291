/* MaPLe (spec.md 2.6): text prompts per layer; the visual prompt of layer j is a Linear map
 * (512 -> 768, with bias) of that layer's text prompt, one map per layer.
 * Offsets: text 0..J-1, then weight/bias pairs of proj 0..J-1. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "clipmtl/gemm.h"
#include "method_impl.h"

static size_t proj_weight(const cm_prompt_method *pm, int j) { return pm->offsets[pm->opt.depth_text + 2 * j]; }
static size_t proj_bias(const cm_prompt_method *pm, int j) { return pm->offsets[pm->opt.depth_text + 2 * j + 1]; }

static cm_err maple_layout(cm_prompt_method *pm, cm_tensor_table *table, const char *prefix)
{
    const int J = pm->opt.depth_text, n = pm->opt.n_text, Dt = pm->text_width, Dv = pm->visual_width;
    for (int j = 0; j < J; j++) CM_CHECK(cm_method_add_tensor(pm, table, prefix, n, Dt, "maple.text.%d", j));
    for (int j = 0; j < J; j++) {
        CM_CHECK(cm_method_add_tensor(pm, table, prefix, Dv, Dt, "maple.proj.%d.weight", j));
        CM_CHECK(cm_method_add_tensor(pm, table, prefix, Dv, 0, "maple.proj.%d.bias", j));
    }
    return CM_OK;
}

static void maple_init(const cm_prompt_method *pm, float *params, cm_rng *rng, const float *text_init)
{
    const int J = pm->opt.depth_text, Dt = pm->text_width, Dv = pm->visual_width;
    const size_t rows = (size_t)pm->opt.n_text * Dt;
    for (int j = 0; j < J; j++) {
        if (j == 0 && text_init) memcpy(params + pm->offsets[0], text_init, rows * sizeof(float));
        else cm_fill_normal(params + pm->offsets[j], rows, rng, pm->opt.init_std);
    }
    /* nn.Linear's default initialisation: weight and bias ~ U(-1/sqrt(in), 1/sqrt(in)). */
    const float bound = 1.0f / sqrtf((float)Dt);
    for (int j = 0; j < J; j++) {
        float *w = params + proj_weight(pm, j), *b = params + proj_bias(pm, j);
        for (size_t i = 0; i < (size_t)Dv * Dt; i++) w[i] = bound * (2 * cm_rng_uniform(rng) - 1);
        for (int i = 0; i < Dv; i++) b[i] = bound * (2 * cm_rng_uniform(rng) - 1);
    }
}

static void maple_forward(const cm_prompt_method *pm, const float *params, cm_prompt_stack *text,
                          cm_prompt_stack *visual)
{
    const int J = pm->opt.depth_text, n = pm->opt.n_text, Dt = pm->text_width, Dv = pm->visual_width;
    for (int j = 0; j < J; j++) {
        const float *t = params + pm->offsets[j];
        float *v = visual->values + (size_t)j * n * Dv;
        memcpy(text->values + (size_t)j * n * Dt, t, (size_t)n * Dt * sizeof(float));
        for (int r = 0; r < n; r++) memcpy(v + (size_t)r * Dv, params + proj_bias(pm, j), (size_t)Dv * sizeof(float));
        /* v[n,Dv] += t[n,Dt] W^T, W [Dv,Dt] */
        cm_gemm(0, 1, n, Dv, Dt, 1.0f, t, Dt, params + proj_weight(pm, j), Dt,
                    1.0f, v, Dv);
    }
}

static void maple_backward(const cm_prompt_method *pm, const float *params, const cm_prompt_stack *d_text,
                           const cm_prompt_stack *d_visual, float *d_params)
{
    const int J = pm->opt.depth_text, n = pm->opt.n_text, Dt = pm->text_width, Dv = pm->visual_width;
    for (int j = 0; j < J; j++) {
        const float *t = params + pm->offsets[j];
        const float *dv = d_visual->values + (size_t)j * n * Dv, *dt = d_text->values + (size_t)j * n * Dt;
        float *g_t = d_params + pm->offsets[j], *g_w = d_params + proj_weight(pm, j), *g_b = d_params + proj_bias(pm, j);
        for (size_t i = 0; i < (size_t)n * Dt; i++) g_t[i] += dt[i];
        /* The text prompt also reaches the loss through the visual prompt: dt += dv W. */
        cm_gemm(0, 0, n, Dt, Dv, 1.0f, dv, Dv, params + proj_weight(pm, j),
                    Dt, 1.0f, g_t, Dt);
        /* dW[Dv,Dt] += dv^T t; db += column sums of dv. */
        cm_gemm(1, 0, Dv, Dt, n, 1.0f, dv, Dv, t, Dt, 1.0f, g_w, Dt);
        for (int r = 0; r < n; r++)
            for (int c = 0; c < Dv; c++) g_b[c] += dv[(size_t)r * Dv + c];
    }
}


/* Defaults of spec.md 2.6. The visual prompts are projections of the text prompts: the
 * configuration's n_ctx_text gives both counts. */
static void maple_defaults(cm_method_options *o)
{
    o->n_text = o->n_visual = 2;
    o->depth_text = o->depth_visual = 9;
    snprintf(o->ctx_init, sizeof o->ctx_init, "a photo of a");
}
static void maple_configure(const cm_config_method *m, cm_method_options *o) { o->n_text = o->n_visual = m->n_text; }
static cm_err maple_check(const cm_method_options *o, const cm_method_dims *dims, const cm_config *cfg)
{
    if (o->n_text < 1) CM_METHOD_REJECT(cfg, "method.n_ctx_text", NULL, "maple needs at least one token");
    const int n_visual = cfg ? cfg->method.n_visual : o->n_visual; /* the configuration's is not mapped */
    if (n_visual != o->n_text)
        CM_METHOD_REJECT(cfg, "method.n_ctx_visual", "method.n_ctx_text",
                         "maple projects each text token to a visual one, so n_ctx_visual (%d) must equal "
                         "n_ctx_text (%d)", n_visual, o->n_text);
    if (o->depth_text != o->depth_visual)
        CM_METHOD_REJECT(cfg, "method.depth", NULL,
                         "maple prompts the same layers of both towers (depths %d and %d)", o->depth_text,
                         o->depth_visual);
    return CM_OK;
}
const cm_method_impl cm_maple_impl = {"maple", "method.n_ctx_text", maple_defaults, maple_configure, maple_check,
                                      maple_layout, maple_init, maple_forward, maple_backward, 1};
