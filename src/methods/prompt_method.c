#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "method_impl.h"

/* The method table: one row per cm_method_kind, each defined in its method's file. */
static const cm_method_impl zeroshot_impl = {.name = "zeroshot"};
static const cm_method_impl *const methods[CM_METHOD_COUNT_] = {
    [CM_METHOD_ZEROSHOT] = &zeroshot_impl, [CM_METHOD_COOP] = &cm_coop_impl,   [CM_METHOD_VPT] = &cm_vpt_impl,
    [CM_METHOD_IVLP] = &cm_ivlp_impl,      [CM_METHOD_MAPLE] = &cm_maple_impl, [CM_METHOD_MMAP] = &cm_mmap_impl,
    [CM_METHOD_FULL] = &cm_full_impl,      [CM_METHOD_BITFIT] = &cm_bitfit_impl, [CM_METHOD_ADAPTER] = &cm_adapter_impl,
};

static const cm_method_impl *impl_of(cm_method_kind kind)
{
    return kind >= 0 && kind < CM_METHOD_COUNT_ ? methods[kind] : NULL;
}

const char *cm_method_name(cm_method_kind kind)
{
    return impl_of(kind) ? impl_of(kind)->name : "?";
}

cm_err cm_method_kind_parse(const char *name, cm_method_kind *kind)
{
    for (int k = 0; k < CM_METHOD_COUNT_; k++)
        if (strcmp(name, methods[k]->name) == 0) {
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

int cm_method_makes_prompts(cm_method_kind kind)
{
    return impl_of(kind) && impl_of(kind)->forward;
}

void cm_method_options_default(cm_method_kind kind, cm_method_options *o)
{
    *o = (cm_method_options){.kind = kind, .init_std = 0.02f};
    if (impl_of(kind) && impl_of(kind)->defaults) impl_of(kind)->defaults(o);
}

void cm_method_options_from_config(const cm_config_method *m, cm_method_options *o)
{
    cm_method_options_default(m->name, o);
    o->init_std = (float)m->init_std;
    snprintf(o->ctx_init, sizeof o->ctx_init, "%s", m->ctx_init ? m->ctx_init : "");
    o->n_text = o->n_visual = 0;
    o->depth_text = o->depth_visual = m->depth;
    if (impl_of(m->name) && impl_of(m->name)->configure) impl_of(m->name)->configure(m, o);
}

int cm_method_word_init(cm_method_kind kind)
{
    return impl_of(kind) && impl_of(kind)->word_init;
}

cm_err cm_method_reject(const char *file, int line, const char *func, const cm_config *cfg, const char *key,
                        const char *other_key, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (!cfg) return cm_error_raise(file, line, func, CM_ERR_CONFIG, "%s: %s", key, msg);
    if (other_key) key = cm_config_user_key(cfg, key, other_key);
    return cm_error_raise(file, line, func, CM_ERR_CONFIG, "%s: %s: %s", cm_config_origin(cfg, key), key, msg);
}

/* The rules every prompt method shares, then the method's own (zero-shot and the weight methods
 * make no prompts and have none). */
static cm_err check_options(const cm_method_options *o, const cm_method_dims *dims, const cm_config *cfg)
{
    const cm_method_impl *impl = impl_of(o->kind);
    CM_ASSERT(impl, CM_ERR_CONFIG, "method: unknown kind %d", (int)o->kind);
    if (!impl->check) return CM_OK;
    if (o->n_text < 0 || o->n_visual < 0 || o->depth_text < 0 || o->depth_visual < 0)
        CM_METHOD_REJECT(cfg, "method.depth", NULL, "prompt counts and depths must not be negative");
    if ((o->n_text > 0 && o->depth_text < 1) || (o->n_visual > 0 && o->depth_visual < 1))
        CM_METHOD_REJECT(cfg, "method.depth", NULL, "prompts need at least one prompted layer");
    if (o->init_std < 0) CM_METHOD_REJECT(cfg, "method.init_std", NULL, "%g is negative", o->init_std);
    CM_CHECK(impl->check(o, dims, cfg));
    if (!dims) return CM_OK;
    if (o->depth_text > dims->text_layers || o->depth_visual > dims->visual_layers)
        CM_METHOD_REJECT(cfg, "method.depth", NULL,
                         "%d prompted layers but the model has %d text and %d vision layers",
                         o->depth_text > o->depth_visual ? o->depth_text : o->depth_visual, dims->text_layers,
                         dims->visual_layers);
    /* In grouped mode with concatenation, group and task prompts both take text slots. */
    const int copies =
        cfg && cfg->multitask.mode == CM_MULTITASK_GROUPED && cfg->multitask.combine == CM_COMBINE_CONCAT ? 2 : 1;
    if (dims->context_length > 0 && impl->text_key && o->n_text * copies > dims->context_length - 2)
        CM_METHOD_REJECT(cfg, impl->text_key, NULL,
                         "%d text prompt tokens leave no room for SOS and EOT in a context of %d", o->n_text * copies,
                         dims->context_length);
    return CM_OK;
}

cm_err cm_method_check_config(const cm_config *c, const cm_clip_config *model)
{
    cm_method_options o;
    cm_method_options_from_config(&c->method, &o);
    if (!model) return check_options(&o, NULL, c);
    const cm_method_dims dims = {model->text.width, model->vision.width, model->text.layers, model->vision.layers,
                                 model->context_length};
    return check_options(&o, &dims, c);
}

cm_err cm_method_create(cm_prompt_method *pm, const cm_method_options *opt, int text_width, int visual_width,
                        int text_layers, int visual_layers, cm_tensor_table *table, const char *prefix)
{
    *pm = (cm_prompt_method){.opt = *opt, .text_width = text_width, .visual_width = visual_width};
    const cm_method_impl *impl = impl_of(opt->kind);
    CM_ASSERT(impl, CM_ERR_CONFIG, "method: unknown kind %d", (int)opt->kind);
    if (!impl->forward) {
        /* Zero-shot and the weight methods make no prompts; the latter's tensors act inside the
         * model (weight_methods.h). */
        pm->opt.n_text = pm->opt.n_visual = pm->opt.depth_text = pm->opt.depth_visual = 0;
        if (cm_method_updates_weights(opt->kind)) pm->opt.ctx_init[0] = '\0';
        pm->first = table->total;
        if (impl->layout) CM_CHECK(impl->layout(pm, table, prefix));
        pm->count = table->total - pm->first;
        return CM_OK;
    }
    const cm_method_dims dims = {text_width, visual_width, text_layers, visual_layers, 0};
    CM_CHECK(check_options(opt, &dims, NULL));
    if (pm->opt.n_text == 0) pm->opt.depth_text = 0; /* a tower without prompts has no prompted layers */
    if (pm->opt.n_visual == 0) pm->opt.depth_visual = 0;
    /* At most 3 tensors per prompted layer per tower, plus a shared source prompt. */
    CM_CALLOC(pm->offsets, 3 * (opt->depth_text + opt->depth_visual) + 1);
    pm->first = table->total;
    CM_CHECK(impl->layout(pm, table, prefix));
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

/* The number of tokens of ctx_init (0 when empty). */
static cm_err ctx_init_tokens(const cm_tokenizer *tok, const char *ctx_init, size_t *count)
{
    *count = 0;
    if (!ctx_init || !ctx_init[0]) return CM_OK;
    CM_ASSERT(tok, CM_ERR_ARG, "counting the tokens of ctx_init \"%s\" needs a tokenizer", ctx_init);
    int32_t *ids = NULL;
    CM_CHECK(cm_tokenizer_encode(tok, ctx_init, &ids, count));
    free(ids);
    return CM_OK;
}

cm_err cm_class_sentence(const cm_tokenizer *tok, const char *ctx_init, int n_text, const char *classname, char *buf,
                         size_t len)
{
    size_t used = 0, words = 0;
#define APPEND(...)                                                                              \
    do {                                                                                         \
        int w_ = snprintf(buf + used, len - used, __VA_ARGS__);                                  \
        CM_ASSERT(w_ >= 0 && used + (size_t)w_ < len, CM_ERR_ARG, "class sentence for '%s' too long", classname); \
        used += (size_t)w_;                                                                      \
    } while (0)
    if (n_text == 0) APPEND("a photo of a");
    else {
        CM_CHECK(ctx_init_tokens(tok, ctx_init, &words));
        if (words) APPEND("%s", ctx_init);
        /* Placeholders for the rows past ctx_init's tokens: the prompts never cover the class. */
        for (size_t i = words; i < (size_t)n_text; i++) APPEND(i ? " X" : "X");
    }
    APPEND(" ");
    size_t start = used;
    APPEND("%s.", classname);
    for (size_t i = start; i < used; i++)
        if (buf[i] == '_') buf[i] = ' ';
#undef APPEND
    return CM_OK;
}
