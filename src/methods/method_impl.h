/* What each prompt generator provides to src/methods/prompt_method.c. */
#ifndef CLIPMTL_METHOD_IMPL_H
#define CLIPMTL_METHOD_IMPL_H

#include "clipmtl/prompt_method.h"

typedef struct {
    cm_err (*layout)(cm_prompt_method *pm, cm_tensor_table *table, const char *prefix);
    void (*init)(const cm_prompt_method *pm, float *params, cm_rng *rng, const float *text_init);
    void (*forward)(const cm_prompt_method *pm, const float *params, cm_prompt_stack *text,
                    cm_prompt_stack *visual);
    void (*backward)(const cm_prompt_method *pm, const float *params, const cm_prompt_stack *d_text,
                     const cm_prompt_stack *d_visual, float *d_params);
} cm_method_impl;

extern const cm_method_impl cm_direct_prompts_impl; /* CoOp, VPT-deep, IVLP */
extern const cm_method_impl cm_maple_impl;
extern const cm_method_impl cm_mmap_impl;
/* Parameter-updating baselines (weight_methods.c): a layout (and an init), no prompts. */
extern const cm_method_impl cm_clip_tensors_impl; /* full, bitfit */
extern const cm_method_impl cm_adapter_impl;

/* Shared by the generators: appends `name` [rows, cols] to the table and records its offset
 * as pm->offsets[pm->noffsets++]. */
cm_err cm_method_add_tensor(cm_prompt_method *pm, cm_tensor_table *table, const char *prefix, int rows,
                            int cols, const char *fmt, ...) __attribute__((format(printf, 6, 7)));
void cm_fill_normal(float *x, size_t n, cm_rng *rng, float std);

#endif
