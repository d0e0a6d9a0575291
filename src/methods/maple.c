/* MaPLe (spec.md 2.6): text prompts per layer; the visual prompt of layer j is a Linear map
 * (512 -> 768, with bias) of that layer's text prompt, one map per layer.
 * Offsets: text 0..J-1, then weight/bias pairs of proj 0..J-1. */
#include <math.h>
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

const cm_method_impl cm_maple_impl = {maple_layout, maple_init, maple_forward, maple_backward};
