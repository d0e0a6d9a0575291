/* clipmtl params: trainable-parameter counts of every method for a configuration's model. */
#include <stdio.h>
#include <string.h>

#include "clipmtl/cli.h"
#include "clipmtl/clip_weights.h"
#include "clipmtl/pipeline.h"
#include "clipmtl/prompt_method.h"

static cm_err model_config(const cm_config *c, cm_clip_config *mc)
{
    if (!(c->model.weights && c->model.weights[0])) return cm_clip_preset(c->model.preset, mc);
    cm_safetensors st;
    CM_CHECK(cm_safetensors_open(&st, c->model.weights));
    cm_weight_naming naming;
    cm_err err = cm_clip_infer_config(&st, &naming, mc);
    cm_safetensors_close(&st);
    return err;
}

/* Biases of the blocks and LayerNorms (BitFit, spec.md 2.9) and CLIP-Adapter's two bias-free
 * Linear layers E -> E/r -> E on the image feature. */
static void baseline_counts(const cm_tensor_table *clip, const cm_config *c, int E, size_t *bitfit, size_t *adapter)
{
    *bitfit = 0;
    for (int i = 0; i < clip->count; i++) {
        const char *name = clip->entries[i].name;
        size_t len = strlen(name);
        if ((len > 5 && strcmp(name + len - 5, ".bias") == 0) || (len > 14 && strcmp(name + len - 14, "in_proj_bias") == 0))
            *bitfit += clip->entries[i].numel;
    }
    const int hidden = E / c->method.adapter.reduction;
    const int sides = c->method.adapter.target == CM_ADAPTER_BOTH ? 2 : 1;
    *adapter = (size_t)sides * 2 * E * hidden;
}

static cm_err run(cm_pipeline *p)
{
    const cm_config *c = &p->cfg;
    cm_clip_config mc;
    CM_CHECK(model_config(c, &mc));
    cm_tensor_table clip;
    cm_table_init(&clip);
    CM_CHECK(cm_clip_layout(&mc, &clip));
    char desc[256];
    printf("model: %s, %zu parameters\n", cm_clip_config_str(&mc, desc, sizeof desc), clip.total);
    printf("%-9s %12s %9s  %s\n", "method", "trainable", "% of CLIP", "settings (from the configuration)");
    cm_err err = CM_OK;
    for (int k = CM_METHOD_ZEROSHOT; k <= CM_METHOD_MMAP && err == CM_OK; k++) {
        cm_config_method m = c->method;
        m.name = (cm_method_kind)k;
        cm_method_options o;
        cm_pipeline_method_options(&m, &o);
        cm_tensor_table t;
        cm_table_init(&t);
        cm_prompt_method pm;
        err = cm_method_create(&pm, &o, mc.text.width, mc.vision.width, mc.text.layers, mc.vision.layers, &t, "");
        if (err == CM_OK) {
            printf("%-9s %12zu %9.4f  n_text %d, n_visual %d, depth %d/%d", cm_method_name(o.kind), pm.count,
                   100.0 * pm.count / clip.total, pm.opt.n_text, pm.opt.n_visual, pm.opt.depth_text, pm.opt.depth_visual);
            if (k == CM_METHOD_MMAP) printf(", m %d, n %d%s", o.mmap_m, o.mmap_n, o.mmap_shared_source ? ", shared source" : "");
            printf("\n");
            cm_method_destroy(&pm);
        }
        cm_table_free(&t);
    }
    size_t bitfit, adapter;
    baseline_counts(&clip, c, mc.embed_dim, &bitfit, &adapter);
    printf("%-9s %12zu %9.4f  every weight (counted; training it is not implemented yet)\n", "full", clip.total, 100.0);
    printf("%-9s %12zu %9.4f  block and LayerNorm biases (counted; not implemented yet)\n", "bitfit", bitfit,
           100.0 * bitfit / clip.total);
    printf("%-9s %12zu %9.4f  E->E/%d->E on the features (counted; not implemented yet)\n", "adapter", adapter,
           100.0 * adapter / clip.total, c->method.adapter.reduction);
    cm_table_free(&clip);
    return err;
}

int cmd_params(int argc, char **argv)
{
    if (cm_cli_wants_help(argc, argv)) {
        printf("usage: clipmtl params [CONFIG.yaml] [--set key=value]...\n\n"
               "Trainable parameters of every method for the configuration's model (weights file or preset) and\n"
               "method settings (prompt lengths, depth, MmAP b/m/n): one prompt set. A run multiplies this by\n"
               "the prompt sets it trains: 1 (shared), N tasks (single), groups + tasks (grouped).\n"
               "Without CONFIG: the embedded demo configuration.\n");
        return 0;
    }
    cm_pipeline p = {0};
    cm_err err = cm_pipeline_setup(&p, argc, argv, 1);
    if (err == CM_OK) err = run(&p);
    cm_pipeline_free(&p);
    return cm_cli_exit_status(err);
}
