/* Prompt sets: parameter layout of the three modes, composition [group | task] along tokens,
 * and the backward of the composition by finite differences. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clipmtl/prompt_set.h"
#include "test_util.h"

static double probe(const cm_prompt_set *s, int task, const float *params, cm_prompt_stack *t, cm_prompt_stack *v,
                    const float *Rt, const float *Rv, float *scratch)
{
    cm_prompt_set_forward(s, task, params, t, v, scratch);
    double L = 0;
    for (size_t i = 0; i < (size_t)t->n * t->depth * t->width; i++) L += (double)t->values[i] * Rt[i];
    for (size_t i = 0; i < (size_t)v->n * v->depth * v->width; i++) L += (double)v->values[i] * Rv[i];
    return L;
}

int main(void)
{
    cm_method_options o;
    cm_method_options_default(CM_METHOD_MMAP, &o);
    o.n_text = o.n_visual = 2, o.depth_text = o.depth_visual = 2, o.mmap_m = 2, o.mmap_n = 4;
    const int Dt = 8, Dv = 12, groups[3] = {0, 1, 0};

    cm_prompt_set one, shared, grouped;
    CM_TEST_OK(cm_prompt_set_create(&shared, CM_SET_SHARED, &o, 3, NULL, 0, Dt, Dv, 2, 2));
    CM_TEST_OK(cm_prompt_set_create(&one, CM_SET_SINGLE, &o, 3, NULL, 0, Dt, Dv, 2, 2));
    CM_TEST_OK(cm_prompt_set_create(&grouped, CM_SET_GROUPED, &o, 3, groups, 2, Dt, Dv, 2, 2));
    size_t per = shared.table.total;
    CM_TEST(one.table.total == 3 * per && grouped.table.total == 5 * per, "sizes %zu %zu %zu", per, one.table.total,
            grouped.table.total);
    CM_TEST(cm_table_find(&grouped.table, "group1.mmap.source.1") && cm_table_find(&grouped.table, "task2.mmap.w_visual.0"),
            "grouped names missing");

    /* Task 2 is in group 0: its rows are [group0 | task2]. */
    cm_prompt_stack t, v;
    cm_prompt_set_shapes(&grouped, 2, &t, &v);
    CM_TEST(t.n == 4 && v.n == 4 && t.depth == 2, "composed shapes n %d/%d depth %d", t.n, v.n, t.depth);
    size_t nt = (size_t)t.n * t.depth * t.width, nv = (size_t)v.n * v.depth * v.width;
    float *params = calloc(grouped.table.total, sizeof(float)), *grad = calloc(grouped.table.total, sizeof(float));
    float *fd = calloc(grouped.table.total, sizeof(float)), *scratch = malloc(cm_prompt_set_scratch_floats(&grouped) * sizeof(float));
    float *Rt = malloc(nt * sizeof(float)), *Rv = malloc(nv * sizeof(float));
    t.values = malloc(nt * sizeof(float)), v.values = malloc(nv * sizeof(float));
    cm_rng rng;
    cm_rng_seed(&rng, 3, 0);
    for (size_t i = 0; i < grouped.table.total; i++) params[i] = cm_rng_normal(&rng);
    for (size_t i = 0; i < nt; i++) Rt[i] = cm_rng_normal(&rng);
    for (size_t i = 0; i < nv; i++) Rv[i] = cm_rng_normal(&rng);

    cm_prompt_set_forward(&grouped, 2, params, &t, &v, scratch);
    const cm_tensor_desc *gs = cm_table_find(&grouped.table, "group0.mmap.source.1");
    const cm_tensor_desc *gw = cm_table_find(&grouped.table, "group0.mmap.w_text.1");
    const cm_tensor_desc *ts = cm_table_find(&grouped.table, "task2.mmap.source.1");
    const cm_tensor_desc *tw = cm_table_find(&grouped.table, "task2.mmap.w_text.1");
    /* Layer 1, text: row 0 = group's P_s[0,:] (x) W_l[0,:] (b/m = 1 row), row 2 = the task's. */
    float want_g = params[gs->offset + 0] * params[gw->offset + 0], want_t = params[ts->offset + 0] * params[tw->offset + 0];
    CM_TEST(t.values[(size_t)(1 * 4 + 0) * Dt] == want_g && t.values[(size_t)(1 * 4 + 2) * Dt] == want_t,
            "composition order: got %g %g, want group %g then task %g", t.values[(size_t)4 * Dt],
            t.values[(size_t)6 * Dt], want_g, want_t);

    cm_prompt_stack dt = t, dv = v;
    dt.values = Rt, dv.values = Rv;
    cm_prompt_set_backward(&grouped, 2, params, &dt, &dv, grad, scratch);
    const float h = 1e-2f;
    for (size_t i = 0; i < grouped.table.total; i++) {
        float keep = params[i];
        params[i] = keep + h;
        double up = probe(&grouped, 2, params, &t, &v, Rt, Rv, scratch);
        params[i] = keep - h;
        double down = probe(&grouped, 2, params, &t, &v, Rt, Rv, scratch);
        params[i] = keep;
        fd[i] = (float)((up - down) / (2 * h));
    }
    cm_test_close("grouped task 2 backward vs finite differences", grad, fd, grouped.table.total, 1e-4, 1e-4);
    /* Group 1 and tasks 0, 1 are not used by task 2: exactly zero gradient there. */
    const cm_prompt_method *unused[3] = {&grouped.methods[1], &grouped.methods[2], &grouped.methods[3]};
    int leaked = 0;
    for (int k = 0; k < 3; k++)
        for (size_t i = unused[k]->first; i < unused[k]->first + unused[k]->count; i++) leaked += grad[i] != 0;
    CM_TEST(leaked == 0, "%d gradient entries outside task 2's methods", leaked);

    free(params), free(grad), free(fd), free(scratch), free(Rt), free(Rv), free(t.values), free(v.values);
    cm_prompt_set_destroy(&one), cm_prompt_set_destroy(&shared), cm_prompt_set_destroy(&grouped);
    return cm_test_summary();
}
