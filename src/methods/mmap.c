/* MmAP (spec.md 3.3): per prompted layer j, text prompt = P_s^j (x) W_l^j [b, Dt] and
 * visual prompt = P_s^j (x) W_v^j [b, Dv], P_s [m, n], W_l [b/m, Dt/n], W_v [b/m, Dv/n].
 * With a shared source prompt every layer uses the same P_s.
 * Offsets: per-layer source: (source, w_text, w_visual) for each j;
 *          shared source: source, then (w_text, w_visual) for each j. */
#include "clipmtl/kron.h"
#include "method_impl.h"

static size_t source_at(const cm_prompt_method *pm, int j)
{
    return pm->opt.mmap_shared_source ? pm->offsets[0] : pm->offsets[3 * j];
}
static size_t scale_at(const cm_prompt_method *pm, int j, int visual)
{
    return pm->opt.mmap_shared_source ? pm->offsets[1 + 2 * j + visual] : pm->offsets[3 * j + 1 + visual];
}

static cm_err mmap_layout(cm_prompt_method *pm, cm_tensor_table *table, const char *prefix)
{
    const cm_method_options *o = &pm->opt;
    const int rows = o->n_text / o->mmap_m, m = o->mmap_m, n = o->mmap_n;
    if (o->mmap_shared_source) CM_CHECK(cm_method_add_tensor(pm, table, prefix, m, n, "mmap.source"));
    for (int j = 0; j < o->depth_text; j++) {
        if (!o->mmap_shared_source) CM_CHECK(cm_method_add_tensor(pm, table, prefix, m, n, "mmap.source.%d", j));
        CM_CHECK(cm_method_add_tensor(pm, table, prefix, rows, pm->text_width / n, "mmap.w_text.%d", j));
        CM_CHECK(cm_method_add_tensor(pm, table, prefix, rows, pm->visual_width / n, "mmap.w_visual.%d", j));
    }
    return CM_OK;
}

static void mmap_init(const cm_prompt_method *pm, float *params, cm_rng *rng, const float *text_init)
{
    const cm_method_options *o = &pm->opt;
    const size_t source = (size_t)o->mmap_m * o->mmap_n, rows = (size_t)(o->n_text / o->mmap_m);
    const size_t text_scale = rows * (pm->text_width / o->mmap_n), visual_scale = rows * (pm->visual_width / o->mmap_n);
    for (int j = 0; j < o->depth_text; j++) {
        if (j == 0 || !o->mmap_shared_source) cm_fill_normal(params + source_at(pm, j), source, rng, o->init_std);
        float *wl = params + scale_at(pm, j, 0), *wv = params + scale_at(pm, j, 1);
        if (o->mmap_scale_init_normal) {
            cm_fill_normal(wl, text_scale, rng, o->init_std);
            cm_fill_normal(wv, visual_scale, rng, o->init_std);
        } else {
            /* Ones: the initial prompts are the source prompt tiled (spec.md 3.4). */
            for (size_t i = 0; i < text_scale; i++) wl[i] = 1.0f;
            for (size_t i = 0; i < visual_scale; i++) wv[i] = 1.0f;
        }
    }
}

static void mmap_forward(const cm_prompt_method *pm, const float *params, cm_prompt_stack *text,
                         cm_prompt_stack *visual)
{
    const cm_method_options *o = &pm->opt;
    const int m = o->mmap_m, n = o->mmap_n, rows = o->n_text / m, b = o->n_text;
    for (int j = 0; j < o->depth_text; j++) {
        const float *ps = params + source_at(pm, j);
        cm_kron_forward(text->values + (size_t)j * b * pm->text_width, ps, m, n, params + scale_at(pm, j, 0), rows,
                     pm->text_width / n);
        cm_kron_forward(visual->values + (size_t)j * b * pm->visual_width, ps, m, n, params + scale_at(pm, j, 1), rows,
                     pm->visual_width / n);
    }
}

static void mmap_backward(const cm_prompt_method *pm, const float *params, const cm_prompt_stack *d_text,
                          const cm_prompt_stack *d_visual, float *d_params)
{
    const cm_method_options *o = &pm->opt;
    const int m = o->mmap_m, n = o->mmap_n, rows = o->n_text / m, b = o->n_text;
    for (int j = 0; j < o->depth_text; j++) {
        const float *ps = params + source_at(pm, j);
        float *d_ps = d_params + source_at(pm, j);
        cm_kron_backward(d_ps, d_params + scale_at(pm, j, 0), d_text->values + (size_t)j * b * pm->text_width, ps, m, n,
                      params + scale_at(pm, j, 0), rows, pm->text_width / n);
        cm_kron_backward(d_ps, d_params + scale_at(pm, j, 1), d_visual->values + (size_t)j * b * pm->visual_width, ps, m,
                      n, params + scale_at(pm, j, 1), rows, pm->visual_width / n);
    }
}


/* Defaults of spec.md 3.4; the configuration names the prompt count b (method.mmap.b) as the
 * paper does. */
static void mmap_defaults(cm_method_options *o)
{
    o->n_text = o->n_visual = 4, o->depth_text = o->depth_visual = 9;
    o->mmap_m = 4, o->mmap_n = 256;
}
static void mmap_configure(const cm_config_method *m, cm_method_options *o)
{
    o->n_text = o->n_visual = m->mmap.b;
    o->mmap_m = m->mmap.m, o->mmap_n = m->mmap.n;
    o->mmap_shared_source = m->mmap.shared_source;
    o->mmap_scale_init_normal = m->mmap.scaling_init == CM_MMAP_SCALING_NORMAL;
}
static cm_err mmap_check(const cm_method_options *o, const cm_method_dims *dims, const cm_config *cfg)
{
    const int b = o->n_text, m = o->mmap_m, n = o->mmap_n;
    if (o->n_visual != b || o->depth_visual != o->depth_text)
        CM_METHOD_REJECT(cfg, "method.mmap.b", NULL,
                         "mmap makes text and visual prompts from one source prompt, so their counts (%d, %d) "
                         "and depths (%d, %d) must be equal", b, o->n_visual, o->depth_text, o->depth_visual);
    if (b < 1) CM_METHOD_REJECT(cfg, "method.mmap.b", NULL, "needs at least one prompt vector (b = %d)", b);
    if (m < 1 || b % m != 0)
        CM_METHOD_REJECT(cfg, "method.mmap.b", "method.mmap.m",
                         "b = %d is not a multiple of m = %d (the scaling matrices have b/m rows)", b, m);
    if (dims && (n < 1 || dims->text_width % n != 0 || dims->visual_width % n != 0))
        CM_METHOD_REJECT(cfg, "method.mmap.n", NULL,
                         "n = %d must divide the text width %d and the vision width %d", n, dims->text_width,
                         dims->visual_width);
    return CM_OK;
}
const cm_method_impl cm_mmap_impl = {"mmap", "method.mmap.b", mmap_defaults, mmap_configure, mmap_check,
                                     mmap_layout, mmap_init, mmap_forward, mmap_backward, 0};
