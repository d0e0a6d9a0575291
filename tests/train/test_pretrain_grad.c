/* The gradient of a whole pretraining step, every tower's weights included, against central
 * finite differences of the step's loss, on the tiny preset with a batch of 6 pairs. Run by
 * tests/train/test_pretrain_mpi.sh on 1 and 2 ranks (the gradient is the allreduced one).
 *   test_pretrain_grad CONFIG.yaml */
#include <math.h>
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clipmtl/config.h"
#include "clipmtl/pretrain.h"
#include "test_util.h"

/* Tensors checked, a few entries each: both towers' blocks, embeddings, heads, the temperature. */
static const char *const tensors[] = {
    "visual.conv1.weight", "visual.class_embedding", "visual.transformer.resblocks.0.attn.in_proj_weight",
    "visual.transformer.resblocks.1.mlp.c_proj.bias", "visual.ln_post.weight", "visual.proj",
    "token_embedding.weight", "positional_embedding", "transformer.resblocks.0.mlp.c_fc.weight",
    "transformer.resblocks.1.ln_2.bias", "ln_final.weight", "text_projection", "logit_scale"};

int main(int argc, char **argv)
{
    MPI_Init(&argc, &argv);
    int rank;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    cm_config cfg;
    CM_TEST_OK(cm_config_defaults(&cfg));
    CM_TEST_OK(cm_config_load(&cfg, argv[1]));
    cm_pretrainer p;
    CM_TEST_OK(cm_pretrainer_create(&p, MPI_COMM_WORLD, &cfg, ""));
    double loss;
    int correct;
    CM_TEST_OK(cm_pretrainer_gradient(&p, &loss, &correct));
    /* The token rows the batch uses: the gradient of the embedding is checked on them. */
    int32_t used_token = p.ids[3]; /* rank 0's: every rank must perturb the same entry */
    MPI_Bcast(&used_token, 1, MPI_INT32_T, 0, MPI_COMM_WORLD);
    float *analytic = malloc(p.model.table.total * sizeof *analytic);
    memcpy(analytic, p.grads, p.model.table.total * sizeof *analytic);
    const double h = 1e-2;
    for (size_t t = 0; t < sizeof tensors / sizeof tensors[0]; t++) {
        const cm_tensor_desc *d = cm_table_find(&p.model.table, tensors[t]);
        CM_TEST(d != NULL, "no tensor %s", tensors[t]);
        if (!d) continue;
        enum { K = 4 };
        float got[K], want[K];
        for (int k = 0; k < K; k++) {
            size_t i = d->offset + (size_t)(k * 7919) % d->numel;
            if (strcmp(tensors[t], "token_embedding.weight") == 0)
                i = d->offset + (size_t)used_token * p.model.cfg.text.width + (size_t)k * 5;
            const float keep = p.model.params[i];
            double up, down;
            p.model.params[i] = (float)(keep + h);
            CM_TEST_OK(cm_pretrainer_gradient(&p, &up, &correct));
            p.model.params[i] = (float)(keep - h);
            CM_TEST_OK(cm_pretrainer_gradient(&p, &down, &correct));
            p.model.params[i] = keep;
            got[k] = analytic[i], want[k] = (float)((up - down) / (2 * h));
        }
        char what[160];
        snprintf(what, sizeof what, "pretraining gradient of %s vs finite differences (h %g)", tensors[t], h);
        /* fp32 forward, h = 1e-2: truncation and rounding noise of about 1e-5 absolute */
        if (rank == 0) cm_test_close(what, got, want, K, 2e-2, 2e-5);
        double size = 0;
        for (int k = 0; k < K; k++) size += fabs(want[k]);
        CM_TEST(size > 1e-4, "%s: the checked entries have no gradient to compare (sum |fd| %g)", tensors[t], size);
    }
    free(analytic);
    cm_pretrainer_destroy(&p);
    cm_config_free(&cfg);
    int failed = cm_test_summary();
    MPI_Finalize();
    return failed;
}
