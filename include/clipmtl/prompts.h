/* Deep prompts as the encoders consume them: for each of the first `depth`
 * layers of one tower, n vectors of the tower's width. How they enter the
 * residual stream is spec.md section 2.1:
 *  - text, layer 0: they replace the token embeddings of rows 1..n (right
 *    after SOS), and the positional embedding is added to them as to any row;
 *  - text, layer i in 1..depth-1: they overwrite rows 1..n before block i;
 *  - visual, layer 0: they are appended after CLS and the patches, after the
 *    positional embedding and before ln_pre (they get no positional embedding);
 *  - visual, layer i in 1..depth-1: they overwrite the last n rows before block i.
 * The same prompts are used for every sequence of a batch. */
#ifndef CLIPMTL_PROMPTS_H
#define CLIPMTL_PROMPTS_H

#include <stddef.h>

#include "clipmtl/error.h"

typedef struct {
    int n, depth, width;
    float *values; /* [depth][n][width] */
} cm_prompt_stack;

/* A stack inserts nothing when it is NULL, empty (n or depth 0) or has no values. */
static inline int cm_prompts_active(const cm_prompt_stack *p)
{
    return p && p->n > 0 && p->depth > 0 && p->values;
}

/* The n prompts of `layer` ([n][width]). */
static inline const float *cm_prompts_layer(const cm_prompt_stack *p, int layer)
{
    return p->values + (size_t)layer * p->n * p->width;
}

/* Checks an active stack against a tower: width, depth <= layers, n <= max_n.
 * `tower` ("text", "visual") names the stack in the message. */
cm_err cm_prompts_check(const cm_prompt_stack *p, const char *tower, int layers, int width, int max_n);

/* Overwrites rows row..row+n-1 of each of the B sequences [B,T,D] with the
 * n prompts [n,D]. */
void cm_prompts_insert(float *x, int B, int T, int D, int row, const float *prompts, int n);
/* The gradient of cm_prompts_insert: dprompts [n,D] += the sum over the
 * sequences of dx's rows row..row+n-1, which are then zeroed (the values they
 * held were overwritten, so nothing flows back to them). */
void cm_prompts_insert_backward(float *dprompts, float *dx, int B, int T, int D, int row, int n);

#endif
