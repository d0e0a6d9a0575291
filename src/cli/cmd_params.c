/* clipmtl params: trainable-parameter counts of every method for a configuration's model. */
#include <stdio.h>

#include "cli.h"
#include "clipmtl/clip_weights.h"
#include "pipeline.h"
#include "clipmtl/method_config.h"

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
    /* Every count is the table the trainer builds for the method (one source of truth). */
    for (int k = CM_METHOD_ZEROSHOT; k <= CM_METHOD_ADAPTER && err == CM_OK; k++) {
        cm_config_method m = c->method;
        m.name = (cm_method_kind)k;
        cm_method_options o;
        cm_method_options_from_config(&m, &o);
        o.model = mc;
        cm_tensor_table t;
        cm_table_init(&t);
        cm_prompt_method pm;
        err = cm_method_create(&pm, &o, mc.text.width, mc.vision.width, mc.text.layers, mc.vision.layers, &t, "");
        if (err == CM_OK) {
            printf("%-9s %12zu %9.4f  ", cm_method_name(o.kind), pm.count, 100.0 * pm.count / clip.total);
            if (k == CM_METHOD_FULL) printf("every CLIP weight, logit_scale included");
            else if (k == CM_METHOD_BITFIT) printf("attention, MLP and LayerNorm biases");
            else if (k == CM_METHOD_ADAPTER)
                printf("%s: %d->%d->%d, ratio %g", o.adapter_image && o.adapter_text ? "image and text features"
                                                   : o.adapter_image               ? "image features"
                                                                                   : "text features",
                       mc.embed_dim, mc.embed_dim / o.adapter_reduction, mc.embed_dim, o.adapter_ratio);
            else printf("n_text %d, n_visual %d, depth %d/%d", pm.opt.n_text, pm.opt.n_visual, pm.opt.depth_text,
                        pm.opt.depth_visual);
            if (k == CM_METHOD_MMAP) printf(", m %d, n %d%s", o.mmap_m, o.mmap_n, o.mmap_shared_source ? ", shared source" : "");
            printf("\n");
            cm_method_destroy(&pm);
        }
        cm_table_free(&t);
    }
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
    cm_err err = cm_pipeline_setup(&p, argc, argv, CM_PIPELINE_DEFAULT_CONFIG);
    if (err == CM_OK) err = run(&p);
    cm_pipeline_free(&p);
    return cm_error_exit_status(err);
}
