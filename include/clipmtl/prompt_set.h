/* All trainable prompts of a run, in one tensor table, and which of them each task uses.
 *
 *   CM_SET_SINGLE   one prompt method per task ("task<t>."): independent single-task training
 *   CM_SET_SHARED   one method shared by all tasks ("shared."): phase 1 and the X-MT baselines
 *   CM_SET_GROUPED  one method per group ("group<g>.") plus one per task ("task<t>."), phase 2
 *
 * In grouped mode a task's prompts are the group's and the task's concatenated along tokens,
 * group rows first, in both towers (spec.md 4.4, option (a)). */
#ifndef CLIPMTL_PROMPT_SET_H
#define CLIPMTL_PROMPT_SET_H

#include "clipmtl/prompt_method.h"

typedef enum { CM_SET_SINGLE, CM_SET_SHARED, CM_SET_GROUPED } cm_set_mode;

typedef struct {
    cm_set_mode mode;
    int ntasks, ngroups;
    int *group_of_task;       /* [ntasks], grouped mode */
    cm_tensor_table table;    /* every trainable tensor of the run */
    int nmethods;
    cm_prompt_method *methods; /* shared: [0]; single: [t]; grouped: groups [0,G) then tasks [G,G+N) */
} cm_prompt_set;

/* Lays out the methods (same options for all) for a model with the given tower sizes. */
cm_err cm_prompt_set_create(cm_prompt_set *s, cm_set_mode mode, const cm_method_options *opt, int ntasks,
                            const int *group_of_task, int ngroups, int text_width, int visual_width,
                            int text_layers, int visual_layers);
void cm_prompt_set_destroy(cm_prompt_set *s);

/* The methods task t uses, in row order: at most 2 (group, task). Returns their count. */
int cm_prompt_set_task_methods(const cm_prompt_set *s, int task, const cm_prompt_method **out);

/* Shapes of task t's composed stacks (values NULL); the largest over tasks sizes buffers. */
void cm_prompt_set_shapes(const cm_prompt_set *s, int task, cm_prompt_stack *text, cm_prompt_stack *visual);

/* Composes task t's prompts into text/visual (values allocated for its shapes). scratch holds
 * one method's stacks: cm_prompt_set_scratch_floats(s) floats. */
size_t cm_prompt_set_scratch_floats(const cm_prompt_set *s);
void cm_prompt_set_forward(const cm_prompt_set *s, int task, const float *params, cm_prompt_stack *text,
                           cm_prompt_stack *visual, float *scratch);
/* Accumulates the gradient of task t's composed prompts into d_params. */
void cm_prompt_set_backward(const cm_prompt_set *s, int task, const float *params, const cm_prompt_stack *d_text,
                            const cm_prompt_stack *d_visual, float *d_params, float *scratch);

#endif
