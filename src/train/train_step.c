/* cm_task_step: prompts, both towers, CLIP head, cross-entropy, and back (train_step.h). */
#include "clipmtl/train_step.h"

#include <math.h>
#include <string.h>

#include "clipmtl/encoder.h"
#include "clipmtl/loss.h"
#include "clipmtl/weight_methods.h"

/* Everything of a step outside the towers' own activations and scratch. */
typedef struct {
    cm_prompt_stack text, visual;     /* the task's composed prompts */
    cm_prompt_stack d_text, d_visual; /* their gradients (values NULL when not trained) */
    float *set_scratch;               /* cm_prompt_set_forward / _backward scratch */
    float *txt, *img;                 /* [C,E], [b,E] features */
    float *logits, *d_logits;         /* [b,C] */
    float *inv_norm_img, *inv_norm_txt; /* [b], [C] */
    float *head_scratch;              /* [b*C] */
    float *d_img, *d_txt;             /* [b,E], [C,E] */
    cm_block_weights *view_blocks, *grad_blocks; /* full, bitfit: blocks of the model view, its gradient */
    cm_adapter_acts adapt_img, adapt_txt;        /* adapter: the adapted image / text features */
} step_buffers;

/* The task's method when it is a parameter-updating baseline (those are never grouped). */
static const cm_prompt_method *weight_method(const cm_prompt_set *set, int task)
{
    if (!set) return NULL;
    const cm_prompt_method *m[2];
    int k = cm_prompt_set_task_methods(set, task, m);
    return k == 1 && cm_method_updates_weights(m[0]->opt.kind) ? m[0] : NULL;
}

static int trains_clip(const cm_prompt_method *wm) { return wm && cm_method_trains_clip(wm); }
static int adapts(const cm_prompt_method *wm, cm_adapter_side side) { return wm && cm_adapter_active(wm, side); }

static void task_shapes(const cm_prompt_set *set, int task, cm_prompt_stack *text, cm_prompt_stack *visual)
{
    *text = *visual = (cm_prompt_stack){0};
    if (set) cm_prompt_set_shapes(set, task, text, visual);
}

static size_t stack_floats(const cm_prompt_stack *p) { return (size_t)p->n * p->depth * p->width; }

/* Allocates a stack's values, or leaves them NULL when it has no prompts (an inactive stack). */
static cm_err stack_alloc(cm_arena *arena, cm_prompt_stack *p)
{
    p->values = NULL;
    if (stack_floats(p)) CM_CHECK(cm_arena_floats(arena, stack_floats(p), &p->values));
    return CM_OK;
}

static cm_err step_buffers_alloc(cm_arena *arena, const cm_clip_config *cfg, const cm_prompt_set *set,
                                 const cm_prompt_method *wm, const cm_prompt_stack *text, const cm_prompt_stack *visual,
                                 int b, int C, int backward, step_buffers *s)
{
    const size_t view_bytes = (size_t)cm_method_view_blocks(cfg) * sizeof(cm_block_weights);
    void *p;
    size_t E = cfg->embed_dim, BC = (size_t)b * C;
    memset(s, 0, sizeof *s);
    s->text = *text;
    s->visual = *visual;
    CM_CHECK(stack_alloc(arena, &s->text));
    CM_CHECK(stack_alloc(arena, &s->visual));
    if (set) CM_CHECK(cm_arena_floats(arena, cm_prompt_set_scratch_floats(set), &s->set_scratch));
    CM_CHECK(cm_arena_floats(arena, C * E, &s->txt));
    CM_CHECK(cm_arena_floats(arena, b * E, &s->img));
    CM_CHECK(cm_arena_floats(arena, BC, &s->logits));
    CM_CHECK(cm_arena_floats(arena, b, &s->inv_norm_img));
    CM_CHECK(cm_arena_floats(arena, C, &s->inv_norm_txt));
    if (trains_clip(wm)) {
        CM_CHECK(cm_arena_alloc(arena, view_bytes, &p));
        s->view_blocks = p;
    }
    if (adapts(wm, CM_ADAPTER_SIDE_IMAGE)) CM_CHECK(cm_adapter_acts_alloc(arena, wm, b, backward, &s->adapt_img));
    if (adapts(wm, CM_ADAPTER_SIDE_TEXT)) CM_CHECK(cm_adapter_acts_alloc(arena, wm, C, backward, &s->adapt_txt));
    if (!backward) return CM_OK;
    s->d_text = *text;
    s->d_visual = *visual;
    CM_CHECK(stack_alloc(arena, &s->d_text));
    CM_CHECK(stack_alloc(arena, &s->d_visual));
    CM_CHECK(cm_arena_floats(arena, BC, &s->d_logits));
    CM_CHECK(cm_arena_floats(arena, BC, &s->head_scratch));
    CM_CHECK(cm_arena_floats(arena, b * E, &s->d_img));
    CM_CHECK(cm_arena_floats(arena, C * E, &s->d_txt));
    if (trains_clip(wm)) {
        CM_CHECK(cm_arena_alloc(arena, view_bytes, &p));
        s->grad_blocks = p;
    }
    return CM_OK;
}

/* By shape, so that it holds on a measuring arena too (where values stay NULL). */
static int has_prompts(const cm_prompt_stack *p) { return stack_floats(p) > 0; }

/* A tower keeps activations for a backward only when something below its output is trained,
 * and only what that needs: every linear input for full fine-tuning, the inputs' path for
 * prompts and BitFit's biases (no linear weight gradient), nothing under an adapter. */
static cm_acts_mode tower_mode(int backward, const cm_prompt_stack *p, const cm_prompt_method *wm)
{
    if (!backward) return CM_ACTS_INFERENCE;
    if (wm) return wm->opt.kind == CM_METHOD_FULL     ? CM_ACTS_TRAINING
                   : wm->opt.kind == CM_METHOD_BITFIT ? CM_ACTS_INPUT_GRAD
                                                      : CM_ACTS_INFERENCE;
    return has_prompts(p) ? CM_ACTS_INPUT_GRAD : CM_ACTS_INFERENCE;
}

/* The allocation sequence of a step on a measuring arena; the task with the largest stacks. */
static size_t measure_task(const cm_clip_config *cfg, const cm_prompt_set *set, int task, int b, int C, int T,
                           int backward)
{
    cm_arena a;
    cm_arena_measure(&a);
    cm_prompt_stack text, visual;
    task_shapes(set, task, &text, &visual);
    const cm_prompt_method *wm = weight_method(set, task);
    const cm_acts_mode text_mode = tower_mode(backward, &text, wm), vision_mode = tower_mode(backward, &visual, wm);
    step_buffers s;
    cm_text_acts tacts;
    cm_vision_acts vacts;
    /* A measuring arena cannot fail. */
    (void)step_buffers_alloc(&a, cfg, set, wm, &text, &visual, b, C, backward, &s);
    (void)cm_text_acts_alloc(&a, cfg, C, T, text_mode, &tacts);
    (void)cm_vision_acts_alloc(&a, cfg, b, has_prompts(&visual) ? visual.n : 0, vision_mode, &vacts);
    size_t mark = a.used;
    void *unused;
    if (text_mode != CM_ACTS_INFERENCE) {
        (void)cm_arena_alloc(&a, cm_text_backward_bytes(cfg, C, T), &unused);
        cm_arena_rewind(&a, mark);
    }
    if (vision_mode != CM_ACTS_INFERENCE)
        (void)cm_arena_alloc(&a, cm_vision_backward_bytes(cfg, b, visual.n), &unused);
    return a.peak;
}

size_t cm_task_step_arena_bytes(const cm_clip_config *cfg, const cm_prompt_set *set, int b, int C, int text_tokens,
                                int backward)
{
    int T = text_tokens > 0 ? text_tokens : cfg->context_length;
    size_t most = measure_task(cfg, NULL, 0, b, C, T, backward);
    for (int t = 0; set && t < set->ntasks; t++) {
        size_t bytes = measure_task(cfg, set, t, b, C, T, backward);
        if (bytes > most) most = bytes;
    }
    return most;
}

static cm_err check_arguments(const cm_prompt_set *set, int task, const float *params, const int *labels, int b,
                              int task_batch, int C)
{
    CM_ASSERT(b > 0 && C > 0, CM_ERR_ARG, "a step needs images and classes (b = %d, C = %d)", b, C);
    CM_ASSERT(task_batch >= b, CM_ERR_ARG, "task %d: a shard of %d images cannot belong to a batch of %d", task, b,
              task_batch);
    CM_ASSERT(!set || (task >= 0 && task < set->ntasks), CM_ERR_ARG, "task %d is not one of the %d tasks", task,
              set ? set->ntasks : 0);
    CM_ASSERT(!set || set->table.total == 0 || params, CM_ERR_ARG, "task %d: the prompts need their parameters",
              task);
    for (int i = 0; i < b; i++)
        CM_ASSERT(labels[i] >= 0 && labels[i] < C, CM_ERR_ARG, "task %d: image %d has label %d, outside [0,%d)", task,
                  i, labels[i], C);
    return CM_OK;
}

static cm_err run_step(const cm_clip_model *m, const cm_prompt_set *set, int task, const float *params,
                       const float *pixels, const int *labels, int b, int task_batch, const int32_t *class_ids, int C,
                       cm_arena *arena, float *d_params, double *loss, int *correct)
{
    const cm_clip_config *cfg = &m->cfg;
    const int E = cfg->embed_dim, backward = d_params != NULL;
    cm_prompt_stack text, visual;
    task_shapes(set, task, &text, &visual);
    const cm_prompt_method *wm = weight_method(set, task);
    const int adapt_img = adapts(wm, CM_ADAPTER_SIDE_IMAGE), adapt_txt = adapts(wm, CM_ADAPTER_SIDE_TEXT);
    step_buffers s;
    CM_CHECK(step_buffers_alloc(arena, cfg, set, wm, &text, &visual, b, C, backward, &s));
    if (set) cm_prompt_set_forward(set, task, params, &s.text, &s.visual, s.set_scratch);
    /* Full fine-tuning and BitFit run the model with their trained copies of its tensors. */
    cm_clip_model view;
    const cm_clip_model *run = m;
    if (trains_clip(wm)) {
        cm_method_model_view(wm, m, params, s.view_blocks, &view);
        run = &view;
    }

    cm_text_acts tacts;
    cm_vision_acts vacts;
    const cm_acts_mode text_mode = tower_mode(backward, &s.text, wm), vision_mode = tower_mode(backward, &s.visual, wm);
    CM_CHECK(cm_text_forward(run, class_ids, C, 0, &s.text, text_mode, arena, &tacts, s.txt));
    CM_CHECK(cm_vision_forward(run, pixels, b, &s.visual, vision_mode, arena, &vacts, s.img));
    if (adapt_img) cm_adapter_forward(wm, CM_ADAPTER_SIDE_IMAGE, params, s.img, &s.adapt_img);
    if (adapt_txt) cm_adapter_forward(wm, CM_ADAPTER_SIDE_TEXT, params, s.txt, &s.adapt_txt);

    const float logit_scale = *run->w.logit_scale;
    cm_clip_head_forward(s.logits, s.inv_norm_img, s.inv_norm_txt, s.img, s.txt, b, C, E, logit_scale);
    /* The mean over the shard becomes the shard's share of the task's mean. */
    const double share = (double)b / task_batch;
    double mean = cm_cross_entropy_forward_backward(backward ? s.d_logits : NULL, correct, s.logits, labels, b, C);
    CM_ASSERT(isfinite(mean), CM_ERR_NUMERIC, "task %d: the loss of a shard of %d images is %g", task, b, mean);
    if (loss) *loss = mean * share;
    const int need_img = vision_mode != CM_ACTS_INFERENCE || adapt_img;
    const int need_txt = text_mode != CM_ACTS_INFERENCE || adapt_txt;
    if (!backward || (!need_img && !need_txt && !trains_clip(wm))) return CM_OK;

    for (size_t i = 0; i < (size_t)b * C; i++) s.d_logits[i] = (float)(s.d_logits[i] * share);
    cm_clip_weights dw;
    if (trains_clip(wm)) {
        cm_method_weight_grads(wm, cfg, d_params, s.grad_blocks, &dw);
        if (dw.logit_scale) { /* logits = exp(logit_scale) cos: d logits / d logit_scale = logits */
            double g = 0;
            for (size_t i = 0; i < (size_t)b * C; i++) g += (double)s.d_logits[i] * s.logits[i];
            *dw.logit_scale += (float)g;
        }
    }
    cm_clip_head_backward(need_img ? s.d_img : NULL, need_txt ? s.d_txt : NULL, s.head_scratch, s.d_logits, s.img,
                          s.txt, s.inv_norm_img, s.inv_norm_txt, b, C, E, logit_scale);
    if (adapt_img) cm_adapter_backward(wm, CM_ADAPTER_SIDE_IMAGE, params, s.d_img, &s.adapt_img, d_params);
    if (adapt_txt) cm_adapter_backward(wm, CM_ADAPTER_SIDE_TEXT, params, s.d_txt, &s.adapt_txt, d_params);
    if (s.d_text.values) memset(s.d_text.values, 0, stack_floats(&s.d_text) * sizeof(float));
    if (s.d_visual.values) memset(s.d_visual.values, 0, stack_floats(&s.d_visual) * sizeof(float));
    cm_clip_weights *d_weights = trains_clip(wm) ? &dw : NULL;
    if (text_mode != CM_ACTS_INFERENCE)
        CM_CHECK(cm_text_backward(run, &tacts, class_ids, &s.text, s.d_txt, &s.d_text, d_weights, arena));
    if (vision_mode != CM_ACTS_INFERENCE)
        CM_CHECK(cm_vision_backward(run, &vacts, &s.visual, s.d_img, &s.d_visual, d_weights, arena));
    cm_prompt_set_backward(set, task, params, &s.d_text, &s.d_visual, d_params, s.set_scratch);
    return CM_OK;
}

cm_err cm_task_step(const cm_clip_model *m, const cm_prompt_set *set, int task, const float *params,
                    const float *pixels, const int *labels, int b, int task_batch, const int32_t *class_ids, int C,
                    cm_arena *arena, float *d_params, double *loss, int *correct)
{
    CM_CHECK(check_arguments(set, task, params, labels, b, task_batch, C));
    size_t mark = arena->used;
    cm_err err = run_step(m, set, task, params, pixels, labels, b, task_batch, class_ids, C, arena, d_params, loss,
                          correct);
    cm_arena_rewind(arena, mark);
    CM_CHECK(err);
    return CM_OK;
}
