/* Per-layer prompts as the encoders consume them. A stack holds `depth`
 * layers of `n` prompt vectors of `width` floats: values[layer][row][col].
 * n == 0, depth == 0 or a NULL stack means "no prompts" for that tower. */
#ifndef CLIPMTL_PROMPTS_H
#define CLIPMTL_PROMPTS_H

typedef struct {
    int n, depth, width;
    float *values; /* [depth][n][width] */
} cm_prompt_stack;

#endif
