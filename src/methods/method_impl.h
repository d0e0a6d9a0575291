/* What each method provides to src/methods/prompt_method.c: one cm_method_impl per
 * cm_method_kind (the method table), defined in the method's own file. */
#ifndef CLIPMTL_METHOD_IMPL_H
#define CLIPMTL_METHOD_IMPL_H

#include "clipmtl/method_config.h"

/* The model shape a method is checked against; context_length 0 when it does not matter. */
typedef struct {
    int text_width, visual_width, text_layers, visual_layers, context_length;
} cm_method_dims;

typedef struct {
    const char *name;     /* method.name in configurations, the tensor-name prefix */
    const char *text_key; /* config key whose value becomes n_text; NULL: no text prompts */
    /* The defaults of the spec (after the common ones of cm_method_options_default). */
    void (*defaults)(cm_method_options *o);
    /* The method's own keys of the configuration's method section (after the common ones). */
    void (*configure)(const cm_config_method *m, cm_method_options *o);
    /* Every method-specific rule, once: against the model when dims is not NULL. cfg is the
     * configuration o was mapped from (NULL for options made in code): errors then name the key
     * the user wrote, and rules read the values as the user gave them. */
    cm_err (*check)(const cm_method_options *o, const cm_method_dims *dims, const cm_config *cfg);
    /* The generator: tensors, initialisation, params -> prompts and back. */
    cm_err (*layout)(cm_prompt_method *pm, cm_tensor_table *table, const char *prefix);
    void (*init)(const cm_prompt_method *pm, float *params, cm_rng *rng, const float *text_init);
    void (*forward)(const cm_prompt_method *pm, const float *params, cm_prompt_stack *text,
                    cm_prompt_stack *visual);
    void (*backward)(const cm_prompt_method *pm, const float *params, const cm_prompt_stack *d_text,
                     const cm_prompt_stack *d_visual, float *d_params);
    /* The token embeddings of method.ctx_init's words initialise the layer-0 text prompts (init's
     * text_init), one word per row. */
    int word_init;
} cm_method_impl;

extern const cm_method_impl cm_coop_impl, cm_vpt_impl, cm_ivlp_impl; /* direct_prompts.c */
extern const cm_method_impl cm_maple_impl;
extern const cm_method_impl cm_mmap_impl;
/* Parameter-updating baselines (weight_methods.c): a layout (and an init), no prompts. */
extern const cm_method_impl cm_full_impl, cm_bitfit_impl, cm_adapter_impl;

/* A broken rule: CM_ERR_CONFIG "<key>: <message>", with cfg "<origin>: <key>: <message>" where key
 * becomes other_key when only that one was set by the user (other_key may be NULL). The message
 * names the method. */
cm_err cm_method_reject(const char *file, int line, const char *func, const cm_config *cfg, const char *key,
                        const char *other_key, const char *fmt, ...) __attribute__((format(printf, 7, 8)));
#define CM_METHOD_REJECT(cfg, key, other_key, ...) \
    return cm_method_reject(__FILE__, __LINE__, __func__, (cfg), (key), (other_key), __VA_ARGS__)

/* Shared by the generators: appends `name` [rows, cols] to the table and records its offset
 * as pm->offsets[pm->noffsets++]. */
cm_err cm_method_add_tensor(cm_prompt_method *pm, cm_tensor_table *table, const char *prefix, int rows,
                            int cols, const char *fmt, ...) __attribute__((format(printf, 6, 7)));
void cm_fill_normal(float *x, size_t n, cm_rng *rng, float std);

#endif
