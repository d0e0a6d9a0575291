#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "method_impl.h"

static const char *const kind_names[CM_METHOD_COUNT_] = {"zeroshot", "coop",   "vpt",    "ivlp",   "maple",
                                                         "mmap",     "full",   "bitfit", "adapter"};

const char *cm_method_name(cm_method_kind kind)
{
    return kind >= 0 && kind < CM_METHOD_COUNT_ ? kind_names[kind] : "?";
}

cm_err cm_method_kind_parse(const char *name, cm_method_kind *kind)
{
    for (int k = 0; k < CM_METHOD_COUNT_; k++)
        if (strcmp(name, kind_names[k]) == 0) {
            *kind = (cm_method_kind)k;
            return CM_OK;
        }
    CM_ERROR(CM_ERR_CONFIG, "unknown method '%s' (zeroshot, coop, vpt, ivlp, maple, mmap, full, bitfit, adapter)",
             name);
}

int cm_method_updates_weights(cm_method_kind kind)
{
    return kind == CM_METHOD_FULL || kind == CM_METHOD_BITFIT || kind == CM_METHOD_ADAPTER;
}

void cm_method_options_default(cm_method_kind kind, cm_method_options *o)
{
    *o = (cm_method_options){.kind = kind, .init_std = 0.02f, .mmap_m = 4, .mmap_n = 256};
    switch (kind) {
    case CM_METHOD_ZEROSHOT: break;
    case CM_METHOD_COOP: o->n_text = 16; o->depth_text = 1; break;             /* spec 2.3 */
    case CM_METHOD_VPT: o->n_visual = 8; o->depth_visual = 12; break;          /* spec 2.4 */
    case CM_METHOD_IVLP: o->n_text = o->n_visual = 2; o->depth_text = o->depth_visual = 9; break; /* 2.5 */
    case CM_METHOD_MAPLE:                                                       /* spec 2.6 */
        o->n_text = o->n_visual = 2;
        o->depth_text = o->depth_visual = 9;
        snprintf(o->ctx_init, sizeof o->ctx_init, "a photo of a");
        break;
    case CM_METHOD_MMAP: o->n_text = o->n_visual = 4; o->depth_text = o->depth_visual = 9; break; /* 3.4 */
    case CM_METHOD_ADAPTER: o->adapter_reduction = 4; o->adapter_ratio = 0.2f; o->adapter_image = 1; break; /* 2.9 */
    default: break;
    }
}

static const cm_method_impl *impl_of(cm_method_kind kind)
{
    switch (kind) {
    case CM_METHOD_COOP:
    case CM_METHOD_VPT:
    case CM_METHOD_IVLP: return &cm_direct_prompts_impl;
    case CM_METHOD_MAPLE: return &cm_maple_impl;
    case CM_METHOD_MMAP: return &cm_mmap_impl;
    case CM_METHOD_FULL:
    case CM_METHOD_BITFIT: return &cm_clip_tensors_impl;
    case CM_METHOD_ADAPTER: return &cm_adapter_impl;
    default: return NULL;
    }
}

static cm_err validate(const cm_method_options *o, int Dt, int Dv, int Lt, int Lv)
{
    const char *m = cm_method_name(o->kind);
    CM_ASSERT(o->kind >= 0 && o->kind < CM_METHOD_COUNT_, CM_ERR_CONFIG, "method: unknown kind %d", (int)o->kind);
    CM_ASSERT(o->n_text >= 0 && o->n_visual >= 0 && o->depth_text >= 0 && o->depth_visual >= 0, CM_ERR_CONFIG,
              "method %s: prompt counts and depths must not be negative", m);
    CM_ASSERT(o->depth_text <= Lt, CM_ERR_CONFIG, "method %s: text depth %d exceeds the %d text layers", m,
              o->depth_text, Lt);
    CM_ASSERT(o->depth_visual <= Lv, CM_ERR_CONFIG, "method %s: visual depth %d exceeds the %d vision layers", m,
              o->depth_visual, Lv);
    /* IVLP may prompt one tower only (its "language only" setting, spec.md 2.5). */
    int ivlp_text = o->kind == CM_METHOD_IVLP && (o->n_text > 0 || o->n_visual == 0);
    int ivlp_visual = o->kind == CM_METHOD_IVLP && (o->n_visual > 0 || o->n_text == 0);
    int wants_text = o->kind == CM_METHOD_COOP || ivlp_text || o->kind == CM_METHOD_MAPLE || o->kind == CM_METHOD_MMAP;
    int wants_visual = o->kind == CM_METHOD_VPT || ivlp_visual || o->kind == CM_METHOD_MAPLE || o->kind == CM_METHOD_MMAP;
    if (!wants_text) CM_ASSERT(o->n_text == 0, CM_ERR_CONFIG, "method %s: has no text prompts (n_text %d)", m, o->n_text);
    if (!wants_visual)
        CM_ASSERT(o->n_visual == 0, CM_ERR_CONFIG, "method %s: has no visual prompts (n_visual %d)", m, o->n_visual);
    if (wants_text)
        CM_ASSERT(o->n_text > 0 && o->depth_text > 0, CM_ERR_CONFIG, "method %s: needs text prompts (n_text %d, depth %d)",
                  m, o->n_text, o->depth_text);
    if (wants_visual)
        CM_ASSERT(o->n_visual > 0 && o->depth_visual > 0, CM_ERR_CONFIG,
                  "method %s: needs visual prompts (n_visual %d, depth %d)", m, o->n_visual, o->depth_visual);
    if (o->kind == CM_METHOD_COOP) CM_ASSERT(o->depth_text == 1, CM_ERR_CONFIG, "method coop: prompts only layer 0 (depth 1)");
    if (o->kind == CM_METHOD_MAPLE || o->kind == CM_METHOD_MMAP)
        CM_ASSERT(o->n_text == o->n_visual && o->depth_text == o->depth_visual, CM_ERR_CONFIG,
                  "method %s: text and visual prompts are coupled, so their counts (%d, %d) and depths (%d, %d) "
                  "must be equal", m, o->n_text, o->n_visual, o->depth_text, o->depth_visual);
    if (o->kind == CM_METHOD_MMAP) {
        int b = o->n_text, mm = o->mmap_m, nn = o->mmap_n;
        CM_ASSERT(mm > 0 && b % mm == 0, CM_ERR_CONFIG,
                  "method mmap: source rows m = %d must divide the %d prompt vectors b", mm, b);
        CM_ASSERT(nn > 0 && Dt % nn == 0 && Dv % nn == 0, CM_ERR_CONFIG,
                  "method mmap: source columns n = %d must divide both widths %d (text) and %d (vision)", nn, Dt, Dv);
    }
    CM_ASSERT(o->init_std >= 0, CM_ERR_CONFIG, "method %s: init_std %g is negative", m, o->init_std);
    return CM_OK;
}

cm_err cm_method_create(cm_prompt_method *pm, const cm_method_options *opt, int text_width, int visual_width,
                        int text_layers, int visual_layers, cm_tensor_table *table, const char *prefix)
{
    *pm = (cm_prompt_method){.opt = *opt, .text_width = text_width, .visual_width = visual_width};
    if (opt->kind == CM_METHOD_ZEROSHOT) {
        pm->opt.n_text = pm->opt.n_visual = pm->opt.depth_text = pm->opt.depth_visual = 0;
        pm->first = table->total;
        return CM_OK;
    }
    if (cm_method_updates_weights(opt->kind)) {
        /* No prompts: the tensors act inside the model (weight_methods.h). */
        pm->opt.n_text = pm->opt.n_visual = pm->opt.depth_text = pm->opt.depth_visual = 0;
        pm->opt.ctx_init[0] = '\0';
        pm->first = table->total;
        CM_CHECK(impl_of(opt->kind)->layout(pm, table, prefix));
        pm->count = table->total - pm->first;
        return CM_OK;
    }
    CM_ASSERT(impl_of(opt->kind), CM_ERR_CONFIG, "method: unknown kind %d", (int)opt->kind);
    CM_CHECK(validate(opt, text_width, visual_width, text_layers, visual_layers));
    if (pm->opt.n_text == 0) pm->opt.depth_text = 0; /* a tower without prompts has no prompted layers */
    if (pm->opt.n_visual == 0) pm->opt.depth_visual = 0;
    /* At most 3 tensors per prompted layer per tower, plus a shared source prompt. */
    CM_CALLOC(pm->offsets, 3 * (opt->depth_text + opt->depth_visual) + 1);
    pm->first = table->total;
    CM_CHECK(impl_of(opt->kind)->layout(pm, table, prefix));
    pm->count = table->total - pm->first;
    return CM_OK;
}

void cm_method_destroy(cm_prompt_method *pm)
{
    free(pm->offsets);
    free(pm->model_entries);
    *pm = (cm_prompt_method){0};
}

cm_err cm_method_add_tensor(cm_prompt_method *pm, cm_tensor_table *table, const char *prefix, int rows, int cols,
                            const char *fmt, ...)
{
    char name[CM_NAME_MAX];
    int used = snprintf(name, sizeof name, "%s", prefix);
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(name + used, sizeof name - (size_t)used, fmt, ap);
    va_end(ap);
    CM_ASSERT(used >= 0 && n >= 0 && used + n < (int)sizeof name, CM_ERR_CONFIG, "parameter name %s... too long", prefix);
    int64_t shape[2] = {rows, cols};
    CM_CHECK(cm_table_add(table, name, cols > 0 ? 2 : 1, shape, &pm->offsets[pm->noffsets++]));
    return CM_OK;
}

void cm_fill_normal(float *x, size_t n, cm_rng *rng, float std)
{
    for (size_t i = 0; i < n; i++) x[i] = std * cm_rng_normal(rng);
}

void cm_method_prompt_shapes(const cm_prompt_method *pm, cm_prompt_stack *text, cm_prompt_stack *visual)
{
    *text = (cm_prompt_stack){pm->opt.n_text, pm->opt.depth_text, pm->text_width, NULL};
    *visual = (cm_prompt_stack){pm->opt.n_visual, pm->opt.depth_visual, pm->visual_width, NULL};
}

void cm_method_init(const cm_prompt_method *pm, float *params, cm_rng *rng, const float *text_init)
{
    if (pm->count && impl_of(pm->opt.kind)->init) impl_of(pm->opt.kind)->init(pm, params, rng, text_init);
}

void cm_method_prompts_forward(const cm_prompt_method *pm, const float *params, cm_prompt_stack *text,
                               cm_prompt_stack *visual)
{
    if (pm->count && impl_of(pm->opt.kind)->forward) impl_of(pm->opt.kind)->forward(pm, params, text, visual);
}

void cm_method_prompts_backward(const cm_prompt_method *pm, const float *params, const cm_prompt_stack *d_text,
                                const cm_prompt_stack *d_visual, float *d_params)
{
    if (pm->count && impl_of(pm->opt.kind)->backward)
        impl_of(pm->opt.kind)->backward(pm, params, d_text, d_visual, d_params);
}

cm_err cm_class_sentence(const char *ctx_init, int n_text, const char *classname, char *buf, size_t len)
{
    size_t used = 0;
#define APPEND(...)                                                                              \
    do {                                                                                         \
        int w_ = snprintf(buf + used, len - used, __VA_ARGS__);                                  \
        CM_ASSERT(w_ >= 0 && used + (size_t)w_ < len, CM_ERR_ARG, "class sentence for '%s' too long", classname); \
        used += (size_t)w_;                                                                      \
    } while (0)
    if (n_text == 0) APPEND("a photo of a");
    else if (ctx_init && ctx_init[0]) APPEND("%s", ctx_init);
    else
        for (int i = 0; i < n_text; i++) APPEND(i ? " X" : "X");
    APPEND(" ");
    size_t start = used;
    APPEND("%s.", classname);
    for (size_t i = start; i < used; i++)
        if (buf[i] == '_') buf[i] = ' ';
#undef APPEND
    return CM_OK;
}
