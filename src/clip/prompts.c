/* Checking a prompt stack against a tower, and the row overwrite by which
 * deep prompts enter the residual stream (spec.md 2.1). */
#include "clipmtl/prompts.h"

#include <string.h>

cm_err cm_prompts_check(const cm_prompt_stack *p, const char *tower, int layers, int width, int max_n)
{
    if (!p) return CM_OK;
    CM_ASSERT(p->n >= 0 && p->depth >= 0, CM_ERR_ARG, "%s prompts: n = %d and depth = %d must not be negative",
              tower, p->n, p->depth);
    if (!cm_prompts_active(p)) return CM_OK;
    CM_ASSERT(p->width == width, CM_ERR_ARG, "%s prompts have width %d but the %s tower is %d wide", tower,
              p->width, tower, width);
    CM_ASSERT(p->depth <= layers, CM_ERR_ARG, "%s prompts reach depth %d but the %s tower has %d layers", tower,
              p->depth, tower, layers);
    CM_ASSERT(p->n <= max_n, CM_ERR_ARG, "%s prompts: %d tokens per layer, at most %d fit", tower, p->n, max_n);
    return CM_OK;
}

void cm_prompts_insert(float *x, int B, int T, int D, int row, const float *prompts, int n)
{
    for (int b = 0; b < B; b++)
        memcpy(x + ((long)b * T + row) * D, prompts, (size_t)n * D * sizeof(float));
}

void cm_prompts_insert_backward(float *dprompts, float *dx, int B, int T, int D, int row, int n)
{
    for (int b = 0; b < B; b++) {
        float *rows = dx + ((long)b * T + row) * D;
        for (long i = 0; i < (long)n * D; i++) dprompts[i] += rows[i];
        memset(rows, 0, (size_t)n * D * sizeof(float));
    }
}
