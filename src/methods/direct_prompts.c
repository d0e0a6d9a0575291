/* CoOp, VPT-deep and IVLP: every prompt row is a trainable parameter (spec.md 2.3-2.5); their
 * defaults, configuration keys and rules.
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


/* CoOp (spec.md 2.3): text prompts at layer 0 only. */
static void coop_defaults(cm_method_options *o) { o->n_text = 16, o->depth_text = 1; }
static void coop_configure(const cm_config_method *m, cm_method_options *o)
{
    o->n_text = m->n_text, o->depth_text = 1;
}
static cm_err coop_check(const cm_method_options *o, const cm_method_dims *dims, const cm_config *cfg)
{
    const int depth = cfg ? cfg->method.depth : o->depth_text; /* the configuration's depth is not mapped */
    if (depth != 1)
        CM_METHOD_REJECT(cfg, "method.depth", NULL, "coop prompts layer 0 only; set depth to 1 (got %d)",
                         depth);
    if (o->n_text < 1) CM_METHOD_REJECT(cfg, "method.n_ctx_text", NULL, "coop needs at least one text token");
    if (o->n_visual != 0)
        CM_METHOD_REJECT(cfg, "method.n_ctx_visual", NULL, "coop has no visual prompts (n_visual %d)",
                         o->n_visual);
    return CM_OK;
}
const cm_method_impl cm_coop_impl = {"coop", "method.n_ctx_text", coop_defaults, coop_configure, coop_check,
                                     direct_layout, direct_init, direct_forward, direct_backward, 1};

/* VPT-deep (spec.md 2.4): visual prompts only. */
static void vpt_defaults(cm_method_options *o) { o->n_visual = 8, o->depth_visual = 12; }
static void vpt_configure(const cm_config_method *m, cm_method_options *o) { o->n_visual = m->n_visual; }
static cm_err vpt_check(const cm_method_options *o, const cm_method_dims *dims, const cm_config *cfg)
{
    if (o->n_visual < 1)
        CM_METHOD_REJECT(cfg, "method.n_ctx_visual", NULL, "vpt needs at least one visual token");
    if (o->n_text != 0)
        CM_METHOD_REJECT(cfg, "method.n_ctx_text", NULL, "vpt has no text prompts (n_text %d)", o->n_text);
    return CM_OK;
}
const cm_method_impl cm_vpt_impl = {"vpt", NULL, vpt_defaults, vpt_configure, vpt_check,
                                    direct_layout, direct_init, direct_forward, direct_backward, 0};

/* IVLP (spec.md 2.5): independent text and visual prompts; one tower alone is its "language
 * only" (or vision only) setting. */
static void ivlp_defaults(cm_method_options *o) { o->n_text = o->n_visual = 2, o->depth_text = o->depth_visual = 9; }
static void ivlp_configure(const cm_config_method *m, cm_method_options *o)
{
    o->n_text = m->n_text, o->n_visual = m->n_visual;
}
static cm_err ivlp_check(const cm_method_options *o, const cm_method_dims *dims, const cm_config *cfg)
{
    if (o->n_text + o->n_visual < 1)
        CM_METHOD_REJECT(cfg, "method.n_ctx_text", "method.n_ctx_visual",
                         "ivlp needs text or visual tokens (both are 0)");
    return CM_OK;
}
const cm_method_impl cm_ivlp_impl = {"ivlp", "method.n_ctx_text", ivlp_defaults, ivlp_configure, ivlp_check,
                                     direct_layout, direct_init, direct_forward, direct_backward, 1};
