/* CoOp, VPT-deep and IVLP: every prompt row is a trainable parameter (spec.md 2.3-2.5).
 * Offsets: text layers 0..Jt-1, then visual layers 0..Jv-1. */
#include <string.h>

#include "method_impl.h"

static cm_err direct_layout(cm_prompt_method *pm, cm_tensor_table *table, const char *prefix)
{
    const cm_method_options *o = &pm->opt;
    const char *m = cm_method_name(o->kind);
    for (int j = 0; j < o->depth_text; j++)
        CM_CHECK(cm_method_add_tensor(pm, table, prefix, o->n_text, pm->text_width, "%s.text.%d", m, j));
    for (int j = 0; j < o->depth_visual; j++)
        CM_CHECK(cm_method_add_tensor(pm, table, prefix, o->n_visual, pm->visual_width, "%s.visual.%d", m, j));
    return CM_OK;
}

static void direct_init(const cm_prompt_method *pm, float *params, cm_rng *rng, const float *text_init)
{
    const cm_method_options *o = &pm->opt;
    size_t text_rows = (size_t)o->n_text * pm->text_width, visual_rows = (size_t)o->n_visual * pm->visual_width;
    for (int j = 0; j < o->depth_text; j++) {
        float *p = params + pm->offsets[j];
        /* IVLP takes the word initialisation only for short contexts (n <= 4, trainers/independentVL.py). */
        int word_init = j == 0 && text_init && (o->kind == CM_METHOD_COOP || o->n_text <= 4);
        if (word_init) memcpy(p, text_init, text_rows * sizeof *p);
        else cm_fill_normal(p, text_rows, rng, o->init_std);
    }
    for (int j = 0; j < o->depth_visual; j++)
        cm_fill_normal(params + pm->offsets[o->depth_text + j], visual_rows, rng, o->init_std);
}

static void direct_forward(const cm_prompt_method *pm, const float *params, cm_prompt_stack *text,
                           cm_prompt_stack *visual)
{
    const cm_method_options *o = &pm->opt;
    size_t text_rows = (size_t)o->n_text * pm->text_width, visual_rows = (size_t)o->n_visual * pm->visual_width;
    for (int j = 0; j < o->depth_text; j++)
        memcpy(text->values + j * text_rows, params + pm->offsets[j], text_rows * sizeof(float));
    for (int j = 0; j < o->depth_visual; j++)
        memcpy(visual->values + j * visual_rows, params + pm->offsets[o->depth_text + j], visual_rows * sizeof(float));
}

static void add_into(float *dst, const float *src, size_t n)
{
    for (size_t i = 0; i < n; i++) dst[i] += src[i];
}

static void direct_backward(const cm_prompt_method *pm, const float *params, const cm_prompt_stack *d_text,
                            const cm_prompt_stack *d_visual, float *d_params)
{
    const cm_method_options *o = &pm->opt;
    size_t text_rows = (size_t)o->n_text * pm->text_width, visual_rows = (size_t)o->n_visual * pm->visual_width;
    for (int j = 0; j < o->depth_text; j++)
        add_into(d_params + pm->offsets[j], d_text->values + j * text_rows, text_rows);
    for (int j = 0; j < o->depth_visual; j++)
        add_into(d_params + pm->offsets[o->depth_text + j], d_visual->values + j * visual_rows, visual_rows);
}

const cm_method_impl cm_direct_prompts_impl = {direct_layout, direct_init, direct_forward, direct_backward};
