#include "clipmtl/optimizer.h"

#include <math.h>
#include <stdlib.h>

void cm_optim_options_default(cm_optim_kind kind, cm_optim_options *o)
{
    if (kind == CM_OPTIM_SGD) *o = (cm_optim_options){.kind = kind, .momentum = 0.9, .weight_decay = 5e-4};
    else *o = (cm_optim_options){.kind = kind, .weight_decay = 0.01, .beta1 = 0.9, .beta2 = 0.999, .eps = 1e-8};
}

cm_err cm_optimizer_create(cm_optimizer *o, const cm_optim_options *opt, size_t n)
{
    *o = (cm_optimizer){.opt = *opt, .n = n};
    CM_CALLOC(o->m, n);
    if (opt->kind == CM_OPTIM_ADAMW) CM_CALLOC(o->v, n);
    return CM_OK;
}

void cm_optimizer_destroy(cm_optimizer *o)
{
    free(o->m);
    free(o->v);
    *o = (cm_optimizer){0};
}

void cm_optimizer_count_step(cm_optimizer *o) { o->steps++; }

void cm_optimizer_step(cm_optimizer *o, float *params, const float *grads, double lr)
{
    cm_optimizer_count_step(o);
    cm_optimizer_update_range(o, params, grads, 0, o->n, lr);
}

void cm_optimizer_update_range(cm_optimizer *o, float *p, const float *g, size_t first, size_t count, double lr)
{
    cm_optimizer_update_range_decay(o, p, g, first, count, lr, o->opt.weight_decay);
}

void cm_optimizer_update_range_decay(cm_optimizer *o, float *p, const float *g, size_t first, size_t count, double lr,
                                     double weight_decay)
{
    const cm_optim_options *opt = &o->opt;
    const size_t end = first + count;
    if (opt->kind == CM_OPTIM_SGD) {
        const float mu = (float)opt->momentum, wd = (float)weight_decay, flr = (float)lr;
        for (size_t i = first; i < end; i++) {
            float d = g[i] + wd * p[i];
            /* PyTorch seeds the buffer with the first gradient; mu * 0 + d is the same. */
            o->m[i] = mu * o->m[i] + d;
            p[i] -= flr * o->m[i];
        }
        return;
    }
    const double bc1 = 1 - pow(opt->beta1, (double)o->steps), bc2 = 1 - pow(opt->beta2, (double)o->steps);
    const float b1 = (float)opt->beta1, b2 = (float)opt->beta2, decay = (float)(1 - lr * weight_decay);
    const float step = (float)(lr / bc1), rbc2 = (float)(1 / sqrt(bc2)), eps = (float)opt->eps;
    for (size_t i = first; i < end; i++) {
        p[i] *= decay;
        o->m[i] = b1 * o->m[i] + (1 - b1) * g[i];
        o->v[i] = b2 * o->v[i] + (1 - b2) * g[i] * g[i];
        p[i] -= step * o->m[i] / (sqrtf(o->v[i]) * rbc2 + eps);
    }
}

double cm_schedule_lr(const cm_schedule *s, int epoch)
{
    const double pi = 3.14159265358979323846;
    if (epoch < s->warmup_epochs)
        return s->warmup == CM_WARMUP_CONSTANT ? s->warmup_lr : s->base_lr * (epoch + 1) / (s->warmup_epochs + 1);
    /* Dassl steps the cosine successor only after the warm-up: epoch e runs at cosine step e - W. */
    return s->base_lr * 0.5 * (1 + cos(pi * (epoch - s->warmup_epochs) / s->max_epochs));
}

double cm_schedule_step_lr(double base_lr, int64_t warmup_steps, int64_t total_steps, int64_t step)
{
    const double pi = 3.14159265358979323846;
    if (step < warmup_steps) return base_lr * (double)(step + 1) / (double)warmup_steps;
    const int64_t span = total_steps - warmup_steps;
    if (span <= 0) return base_lr;
    return base_lr * 0.5 * (1 + cos(pi * (double)(step - warmup_steps) / (double)span));
}

double cm_grad_norm(const float *g, size_t n)
{
    double s = 0;
    for (size_t i = 0; i < n; i++) s += (double)g[i] * g[i];
    return sqrt(s);
}

double cm_clip_grad_norm(float *g, size_t n, double max_norm)
{
    double norm = cm_grad_norm(g, n);
    /* torch.nn.utils.clip_grad_norm_ scales by max / (norm + 1e-6) when that is below one. */
    double scale = max_norm / (norm + 1e-6);
    if (scale < 1)
        for (size_t i = 0; i < n; i++) g[i] = (float)(g[i] * scale);
    return norm;
}
