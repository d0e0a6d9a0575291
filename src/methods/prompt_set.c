#include "clipmtl/prompt_set.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

cm_err cm_prompt_set_create(cm_prompt_set *s, cm_set_mode mode, const cm_method_options *opt, int ntasks,
                            const int *group_of_task, int ngroups, int Dt, int Dv, int Lt, int Lv)
{
    *s = (cm_prompt_set){.mode = mode, .ntasks = ntasks};
    cm_table_init(&s->table);
    CM_ASSERT(ntasks > 0, CM_ERR_ARG, "a prompt set needs tasks (got %d)", ntasks);
    CM_ASSERT(mode != CM_SET_GROUPED || !cm_method_updates_weights(opt->kind), CM_ERR_CONFIG,
              "method %s updates weights and has no prompts to combine: grouped sets are for prompt methods "
              "(use shared or single)", cm_method_name(opt->kind));
    s->nmethods = mode == CM_SET_SHARED ? 1 : mode == CM_SET_SINGLE ? ntasks : ngroups + ntasks;
    CM_CALLOC(s->methods, s->nmethods);
    if (mode == CM_SET_GROUPED) {
        CM_ASSERT(group_of_task && ngroups > 0, CM_ERR_ARG, "grouped prompts need a grouping");
        s->ngroups = ngroups;
        CM_CALLOC(s->group_of_task, ntasks);
        for (int t = 0; t < ntasks; t++) {
            CM_ASSERT(group_of_task[t] >= 0 && group_of_task[t] < ngroups, CM_ERR_ARG, "task %d in group %d of %d", t,
                      group_of_task[t], ngroups);
            s->group_of_task[t] = group_of_task[t];
        }
    }
    char prefix[32];
    for (int i = 0; i < s->nmethods; i++) {
        if (mode == CM_SET_SHARED) snprintf(prefix, sizeof prefix, "shared.");
        else if (mode == CM_SET_SINGLE) snprintf(prefix, sizeof prefix, "task%d.", i);
        else if (i < ngroups) snprintf(prefix, sizeof prefix, "group%d.", i);
        else snprintf(prefix, sizeof prefix, "task%d.", i - ngroups);
        CM_CHECK(cm_method_create(&s->methods[i], opt, Dt, Dv, Lt, Lv, &s->table, prefix));
    }
    return CM_OK;
}

void cm_prompt_set_destroy(cm_prompt_set *s)
{
    for (int i = 0; i < s->nmethods; i++) cm_method_destroy(&s->methods[i]);
    free(s->methods);
    free(s->group_of_task);
    cm_table_free(&s->table);
    *s = (cm_prompt_set){0};
}

int cm_prompt_set_task_methods(const cm_prompt_set *s, int t, const cm_prompt_method **out)
{
    switch (s->mode) {
    case CM_SET_SHARED: out[0] = &s->methods[0]; return 1;
    case CM_SET_SINGLE: out[0] = &s->methods[t]; return 1;
    default:
        out[0] = &s->methods[s->group_of_task[t]];
        out[1] = &s->methods[s->ngroups + t];
        return 2;
    }
}

void cm_prompt_set_shapes(const cm_prompt_set *s, int t, cm_prompt_stack *text, cm_prompt_stack *visual)
{
    const cm_prompt_method *m[2];
    int k = cm_prompt_set_task_methods(s, t, m);
    cm_method_prompt_shapes(m[0], text, visual);
    /* Methods of one set share their options, hence their depths: rows simply add up. */
    text->n *= k;
    visual->n *= k;
}

size_t cm_prompt_set_scratch_floats(const cm_prompt_set *s)
{
    cm_prompt_stack t, v;
    cm_method_prompt_shapes(&s->methods[0], &t, &v);
    return (size_t)t.n * t.depth * t.width + (size_t)v.n * v.depth * v.width;
}

/* A method's stack (part.n rows per layer) occupies rows [row0, row0 + part.n) of each layer
 * of the task's composed stack. */
static void scatter_rows(cm_prompt_stack *whole, const cm_prompt_stack *part, int row0)
{
    const size_t w = (size_t)whole->width, bytes = (size_t)part->n * w * sizeof(float);
    for (int l = 0; l < whole->depth; l++)
        memcpy(whole->values + ((size_t)l * whole->n + row0) * w, part->values + (size_t)l * part->n * w, bytes);
}

static void gather_rows(cm_prompt_stack *part, const cm_prompt_stack *whole, int row0)
{
    const size_t w = (size_t)whole->width, bytes = (size_t)part->n * w * sizeof(float);
    for (int l = 0; l < whole->depth; l++)
        memcpy(part->values + (size_t)l * part->n * w, whole->values + ((size_t)l * whole->n + row0) * w, bytes);
}

static void part_stacks(const cm_prompt_method *m, float *scratch, cm_prompt_stack *t, cm_prompt_stack *v)
{
    cm_method_prompt_shapes(m, t, v);
    t->values = scratch;
    v->values = scratch + (size_t)t->n * t->depth * t->width;
}

void cm_prompt_set_forward(const cm_prompt_set *s, int task, const float *params, cm_prompt_stack *text,
                           cm_prompt_stack *visual, float *scratch)
{
    const cm_prompt_method *m[2];
    int k = cm_prompt_set_task_methods(s, task, m);
    for (int i = 0; i < k; i++) {
        cm_prompt_stack t, v;
        part_stacks(m[i], scratch, &t, &v);
        cm_method_prompts_forward(m[i], params, &t, &v);
        if (t.n) scatter_rows(text, &t, i * t.n);
        if (v.n) scatter_rows(visual, &v, i * v.n);
    }
}

void cm_prompt_set_backward(const cm_prompt_set *s, int task, const float *params, const cm_prompt_stack *d_text,
                            const cm_prompt_stack *d_visual, float *d_params, float *scratch)
{
    const cm_prompt_method *m[2];
    int k = cm_prompt_set_task_methods(s, task, m);
    for (int i = 0; i < k; i++) {
        cm_prompt_stack t, v;
        part_stacks(m[i], scratch, &t, &v);
        if (t.n) gather_rows(&t, d_text, i * t.n);
        if (v.n) gather_rows(&v, d_visual, i * v.n);
        cm_method_prompts_backward(m[i], params, &t, &v, d_params);
    }
}
