/* clipmtl grad: the loss and the gradient of every trainable tensor for given parameter values
 * and one batch, through the same code path as training (cm_task_step). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mpi.h>

#include "cli.h"
#include "clipmtl/clip_weights.h"
#include "clipmtl/gemm.h"
#include "clipmtl/h5io.h"
#include "clipmtl/method_config.h"
#include "pipeline.h"
#include "clipmtl/prompt_set.h"
#include "clipmtl/tokenizer.h"
#include "clipmtl/train_step.h"

static void usage(FILE *f)
{
    fprintf(f, "usage: clipmtl grad CONFIG.yaml --params P.h5 --batch B.h5 --out G.h5 [--set key=value]...\n"
               "\n"
               "Loss and gradient of every trainable tensor of the configured prompt method (one prompt set,\n"
               "as in phase 1) for the parameter values in P.h5 and the batch in B.h5:\n"
               "  P.h5  params/<tensor> float32 for every tensor (names as in checkpoints, e.g.\n"
               "        shared.mmap.source.0; a checkpoint file works); missing tensors are an error\n"
               "  B.h5  pixels float32 [b,3,S,S] (normalised), labels int32 [b], attribute classes: the class\n"
               "        names, one per line\n"
               "  G.h5  loss float64 [1] (mean cross-entropy), correct int64 [1], grads/<tensor> float32\n");
}

typedef struct {
    const char *params, *batch, *out;
} grad_files;

static cm_err read_batch(const char *path, int S, float **pixels, int **labels, int *b, char ***classes, int *C)
{
    cm_h5_file f = {0};
    cm_h5_type type;
    int nd;
    uint64_t dims[CM_H5_MAX_DIMS];
    char *names = NULL;
    cm_err err;
    CM_CHECK_GOTO(err, cm_h5_open(&f, MPI_COMM_SELF, path, 0), done);
    CM_CHECK_GOTO(err, cm_h5_shape(&f, "pixels", &type, &nd, dims), done);
    if (nd != 4 || dims[1] != 3 || dims[2] != (uint64_t)S || dims[3] != (uint64_t)S || dims[0] < 1 || dims[0] > 100000)
        CM_ERROR_GOTO(err, done, CM_ERR_FORMAT, "%s: pixels must be [b,3,%d,%d]", path, S, S);
    *b = (int)dims[0];
    if (!(*pixels = malloc(dims[0] * 3 * S * S * sizeof **pixels)) || !(*labels = malloc(dims[0] * sizeof **labels)))
        CM_ERROR_GOTO(err, done, CM_ERR_MEM, "%s: out of memory", path);
    CM_CHECK_GOTO(err, cm_h5_read_all(&f, "pixels", CM_H5_FLOAT, *pixels, dims[0] * 3 * S * S), done);
    CM_CHECK_GOTO(err, cm_h5_read_all(&f, "labels", CM_H5_INT32, *labels, dims[0]), done);
    CM_CHECK_GOTO(err, cm_h5_read_attr_string(&f, "/", "classes", &names), done);
    *C = 1;
    for (const char *p = names; *p; p++) *C += *p == '\n';
    if (!(*classes = calloc((size_t)*C, sizeof **classes))) CM_ERROR_GOTO(err, done, CM_ERR_MEM, "out of memory");
    char *save = NULL, *tok = strtok_r(names, "\n", &save);
    for (int c = 0; c < *C; c++, tok = strtok_r(NULL, "\n", &save)) {
        if (!tok) CM_ERROR_GOTO(err, done, CM_ERR_FORMAT, "%s: attribute classes has an empty line", path);
        (*classes)[c] = strdup(tok);
    }
    for (int i = 0; i < *b; i++)
        if ((*labels)[i] < 0 || (*labels)[i] >= *C)
            CM_ERROR_GOTO(err, done, CM_ERR_FORMAT, "%s: label %d of image %d is not one of the %d classes", path,
                          (*labels)[i], i, *C);
done:
    free(names);
    cm_h5_close(&f);
    return err;
}

static cm_err read_params(const char *path, const cm_tensor_table *table, float *params)
{
    cm_h5_file f = {0};
    cm_err err = CM_OK;
    char name[CM_NAME_MAX + 16];
    CM_CHECK_GOTO(err, cm_h5_open(&f, MPI_COMM_SELF, path, 0), done);
    for (int i = 0; i < table->count; i++) {
        const cm_tensor_desc *e = &table->entries[i];
        snprintf(name, sizeof name, "params/%s", e->name);
        cm_h5_type type;
        int nd;
        uint64_t dims[CM_H5_MAX_DIMS], n = 1;
        CM_CHECK_GOTO(err, cm_h5_shape(&f, name, &type, &nd, dims), done);
        for (int d = 0; d < nd; d++) n *= dims[d];
        if (n != e->numel)
            CM_ERROR_GOTO(err, done, CM_ERR_FORMAT, "%s: %s holds %llu values, the method's tensor %zu", path, name,
                          (unsigned long long)n, e->numel);
        CM_CHECK_GOTO(err, cm_h5_read_all(&f, name, CM_H5_FLOAT, params + e->offset, e->numel), done);
    }
done:
    cm_h5_close(&f);
    return err;
}

static cm_err run(cm_pipeline *p, const grad_files *files)
{
    const cm_config *c = &p->cfg;
    cm_clip_model m = {0};
    cm_prompt_set set = {0};
    cm_tokenizer *tok = NULL;
    cm_arena arena = {0};
    cm_h5_file out = {0};
    float *params = NULL, *grads = NULL, *pixels = NULL;
    int *labels = NULL, b = 0, C = 0;
    char **classes = NULL;
    int32_t *ids = NULL;
    cm_err err;
    CM_CHECK_GOTO(err, cm_gemm_select(c->compute.gemm, c->compute.precision), done);
    if (c->model.weights && c->model.weights[0]) {
        CM_CHECK_GOTO(err, cm_clip_load(&m, c->model.weights), done);
    } else {
        cm_clip_config mc;
        CM_CHECK_GOTO(err, cm_clip_preset(c->model.preset, &mc), done);
        CM_CHECK_GOTO(err, cm_clip_create(&m, &mc), done);
        CM_CHECK_GOTO(err, cm_clip_init_random(&m, (uint64_t)c->model.init_seed), done);
    }
    CM_CHECK_GOTO(err, cm_gemm_freeze(m.params, m.table.total), done);
    CM_CHECK_GOTO(err, cm_config_check_model(c, &m.cfg), done);
    cm_method_options opt;
    cm_method_options_from_config(&c->method, &opt);
    opt.model = m.cfg;
    CM_CHECK_GOTO(err, cm_prompt_set_create(&set, CM_SET_SHARED, &opt, 1, NULL, 0, m.cfg.text.width, m.cfg.vision.width,
                                            m.cfg.text.layers, m.cfg.vision.layers),
                  done);
    if (!(params = calloc(set.table.total + 1, sizeof *params)) || !(grads = calloc(set.table.total + 1, sizeof *grads)))
        CM_ERROR_GOTO(err, done, CM_ERR_MEM, "out of memory");
    CM_CHECK_GOTO(err, read_params(files->params, &set.table, params), done);
    CM_CHECK_GOTO(err, read_batch(files->batch, m.cfg.image_size, &pixels, &labels, &b, &classes, &C), done);
    const int ctx = m.cfg.context_length;
    if (!(ids = calloc((size_t)C * ctx, sizeof *ids))) CM_ERROR_GOTO(err, done, CM_ERR_MEM, "out of memory");
    CM_CHECK_GOTO(err, cm_tokenizer_load(&tok, NULL), done);
    for (int k = 0; k < C; k++) {
        char sentence[1024];
        CM_CHECK_GOTO(err, cm_class_sentence(tok, c->method.ctx_init, opt.n_text, classes[k], sentence, sizeof sentence), done);
        CM_CHECK_GOTO(err, cm_tokenize(tok, sentence, ctx, 1, ids + (size_t)k * ctx), done);
    }
    CM_CHECK_GOTO(err, cm_arena_create(&arena, cm_task_step_arena_bytes(&m.cfg, &set, b, C, 0, 1)), done);
    double loss = 0;
    int correct = 0;
    CM_CHECK_GOTO(err, cm_task_step(&m, &set, 0, params, pixels, labels, b, b, ids, C, &arena, grads, &loss, &correct), done);

    CM_CHECK_GOTO(err, cm_h5_create(&out, MPI_COMM_SELF, files->out), done);
    uint64_t one[1] = {1};
    int64_t right = correct;
    CM_CHECK_GOTO(err, cm_h5_write_owner(&out, "loss", CM_H5_DOUBLE, 1, one, 0, &loss), done);
    CM_CHECK_GOTO(err, cm_h5_write_owner(&out, "correct", CM_H5_INT64, 1, one, 0, &right), done);
    for (int i = 0; i < set.table.count; i++) {
        const cm_tensor_desc *e = &set.table.entries[i];
        char name[CM_NAME_MAX + 16];
        uint64_t dims[CM_MAX_DIMS];
        for (int d = 0; d < e->ndim; d++) dims[d] = (uint64_t)e->shape[d];
        snprintf(name, sizeof name, "grads/%s", e->name);
        CM_CHECK_GOTO(err, cm_h5_write_owner(&out, name, CM_H5_FLOAT, e->ndim, dims, 0, grads + e->offset), done);
    }
    CM_CHECK_GOTO(err, cm_h5_write_text(&out, "config", p->config_text), done);
    CM_CHECK_GOTO(err, cm_h5_write_attr_string(&out, "/", "compute", cm_gemm_describe()), done);
    CM_CHECK_GOTO(err, cm_h5_close(&out), done);
    printf("grad: %s, %zu parameters, %d images, %d classes: loss %.6f, %d correct -> %s (gemm %s)\n",
           cm_method_name(opt.kind), set.table.total, b, C, loss, correct, files->out, cm_gemm_describe());
done:
    if (err != CM_OK) cm_h5_close(&out);
    for (int k = 0; classes && k < C; k++) free(classes[k]);
    free(classes), free(params), free(grads), free(pixels), free(labels), free(ids);
    if (tok) cm_tokenizer_free(tok);
    cm_arena_destroy(&arena);
    cm_prompt_set_destroy(&set);
    cm_gemm_unfreeze(m.params);
    cm_clip_destroy(&m);
    return err;
}

int cmd_grad(int argc, char **argv)
{
    if (cm_cli_wants_help(argc, argv)) {
        usage(stdout);
        return 0;
    }
    grad_files files = {0};
    cm_pipeline p = {0};
    /* Take our options out; the rest (CONFIG, --set) is the pipeline's. */
    char **rest = calloc((size_t)argc + 1, sizeof *rest);
    int nrest = 0;
    cm_err err = rest ? cm_cli_mpi_init(&argc, &argv) : CM_ERR_MEM;
    for (int i = 0; err == CM_OK && i < argc; i++) {
        const char **slot = strcmp(argv[i], "--params") == 0 ? &files.params
                            : strcmp(argv[i], "--batch") == 0 ? &files.batch
                            : strcmp(argv[i], "--out") == 0   ? &files.out
                                                              : NULL;
        if (!slot) { rest[nrest++] = argv[i]; continue; }
        if (i + 1 >= argc) err = CM_RAISE(CM_ERR_ARG, "%s needs a file", argv[i]);
        else *slot = argv[++i];
    }
    if (err == CM_OK && (!files.params || !files.batch || !files.out))
        err = CM_RAISE(CM_ERR_ARG, "--params, --batch and --out are required");
    if (err == CM_OK) err = cm_pipeline_setup(&p, nrest, rest, 0);
    if (err == CM_OK) err = run(&p, &files);
    cm_pipeline_free(&p);
    free(rest);
    return cm_cli_mpi_exit(err);
}
