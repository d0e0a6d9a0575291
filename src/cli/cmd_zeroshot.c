/* clipmtl zeroshot: CLIP zero-shot top-1 accuracy on a folder dataset, per domain and overall.
 * Under mpirun every rank encodes every P-th image and the counts are summed. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mpi.h>

#include "cli.h"
#include "clipmtl/clip_weights.h"
#include "clipmtl/dataset.h"
#include "clipmtl/encoder.h"
#include "clipmtl/image.h"
#include "clipmtl/log.h"
#include "clipmtl/tokenizer.h"

static void usage(FILE *f)
{
    fprintf(f,
            "usage: clipmtl zeroshot (--weights W.safetensors | --preset NAME [--seed S]) --data DIR\n"
            "                        [--template T] [--batch B] [--predictions FILE.csv]\n"
            "\n"
            "Zero-shot classification of a folder dataset DIR/<domain>/<class>/*.{jpg,jpeg,png}: every class\n"
            "is the text T with {} replaced by the class folder name ('_' -> ' '); an image's prediction is\n"
            "the class of highest cosine similarity. Prints top-1 accuracy per domain and overall.\n"
            "Runs under mpirun: the images are spread over the ranks.\n"
            "\n"
            "  --weights W     CLIP checkpoint (OpenAI or Hugging Face names, F32/F16/BF16)\n"
            "  --preset NAME   instead, a randomly initialised model (%s), seed --seed (default 0)\n"
            "  --template T    default \"a photo of a {}.\"\n"
            "  --batch B       images per forward pass on each rank (default 32)\n"
            "  --predictions F write one line per image: path,domain,label,predicted (class indices)\n",
            cm_clip_preset_names());
}

typedef struct {
    const char *weights, *preset, *data, *template_text, *predictions;
    long batch, seed;
} zeroshot_args;

static cm_err parse(int argc, char **argv, zeroshot_args *a)
{
    *a = (zeroshot_args){.template_text = "a photo of a {}.", .batch = 32};
    for (int i = 1; i < argc; i += 2) {
        const char *opt = argv[i], *val = i + 1 < argc ? argv[i + 1] : NULL;
        CM_ASSERT(val, CM_ERR_ARG, "%s needs a value (see clipmtl zeroshot --help)", opt);
        if (strcmp(opt, "--weights") == 0) a->weights = val;
        else if (strcmp(opt, "--preset") == 0) a->preset = val;
        else if (strcmp(opt, "--data") == 0) a->data = val;
        else if (strcmp(opt, "--template") == 0) a->template_text = val;
        else if (strcmp(opt, "--predictions") == 0) a->predictions = val;
        else if (strcmp(opt, "--batch") == 0) CM_CHECK(cm_cli_parse_long(opt, val, 1, 4096, &a->batch));
        else if (strcmp(opt, "--seed") == 0) CM_CHECK(cm_cli_parse_long(opt, val, 0, 1L << 62, &a->seed));
        else CM_ERROR(CM_ERR_ARG, "unknown option %s (see clipmtl zeroshot --help)", opt);
    }
    CM_ASSERT(!a->weights != !a->preset, CM_ERR_ARG, "give exactly one of --weights and --preset");
    CM_ASSERT(a->data, CM_ERR_ARG, "--data is required");
    const char *hole = strstr(a->template_text, "{}");
    CM_ASSERT(hole && !strstr(hole + 2, "{}"), CM_ERR_ARG, "--template '%s' must contain {} exactly once",
              a->template_text);
    return CM_OK;
}

static cm_err load_model(const zeroshot_args *a, cm_clip_model *m)
{
    if (a->weights) return cm_clip_load(m, a->weights);
    cm_clip_config cfg;
    CM_CHECK(cm_clip_preset(a->preset, &cfg));
    CM_CHECK(cm_clip_create(m, &cfg));
    CM_CHECK(cm_clip_init_random(m, (uint64_t)a->seed));
    return CM_OK;
}

/* Text features of every class sentence [C,E]. */
static cm_err encode_classes(const cm_clip_model *m, const cm_dataset *ds, const char *template_text, cm_arena *arena,
                             float *txt)
{
    const int C = ds->n_classes, ctx = m->cfg.context_length;
    cm_tokenizer *tok = NULL;
    char **sentences = calloc((size_t)C, sizeof *sentences);
    int32_t *ids = calloc((size_t)C * ctx, sizeof *ids);
    cm_err err = CM_OK;
    if (!sentences || !ids) CM_ERROR_GOTO(err, done, CM_ERR_MEM, "out of memory for %d class prompts", C);
    const char *hole = strstr(template_text, "{}");
    for (int c = 0; c < C; c++) {
        char name[1024];
        CM_CHECK_GOTO(err, cm_class_prompt_name(ds->classes[c], name, sizeof name), done);
        size_t len = strlen(template_text) + strlen(name);
        if (!(sentences[c] = malloc(len))) CM_ERROR_GOTO(err, done, CM_ERR_MEM, "out of memory");
        snprintf(sentences[c], len, "%.*s%s%s", (int)(hole - template_text), template_text, name, hole + 2);
    }
    CM_CHECK_GOTO(err, cm_tokenizer_load(&tok, NULL), done);
    CM_CHECK_GOTO(err, cm_tokenize_batch(tok, (const char *const *)sentences, (size_t)C, ctx, 1, ids), done);
    CM_CHECK_GOTO(err, cm_clip_encode_texts(m, ids, C, NULL, arena, txt), done);
done:
    if (tok) cm_tokenizer_free(tok);
    for (int c = 0; sentences && c < C; c++) free(sentences[c]);
    free(sentences);
    free(ids);
    return err;
}

static cm_err write_predictions(const char *path, const cm_dataset *ds, const int *predicted)
{
    FILE *f = fopen(path, "w");
    CM_ASSERT(f, CM_ERR_IO, "%s: cannot create", path);
    fprintf(f, "path,domain,label,predicted\n");
    for (int i = 0; i < ds->n_items; i++)
        fprintf(f, "\"%s\",%d,%d,%d\n", ds->items[i].rel, ds->items[i].domain, ds->items[i].label, predicted[i]);
    CM_ASSERT(fclose(f) == 0, CM_ERR_IO, "%s: write failed", path);
    return CM_OK;
}

static cm_err run(const zeroshot_args *a)
{
    int rank, nranks;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &nranks);
    cm_clip_model m = {0};
    cm_dataset ds = {0};
    cm_arena arena = {0};
    float *txt = NULL, *img = NULL, *pixels = NULL, *logits = NULL;
    long *counts = NULL; /* [domain][correct, total] */
    int *batch_items = NULL, *predicted = NULL; /* [n_items], -1 where another rank predicted */
    cm_err err;
    double t0 = cm_now();
    CM_CHECK_GOTO(err, load_model(a, &m), done);
    CM_CHECK_GOTO(err, cm_dataset_open_folder(a->data, &ds), done);
    const cm_clip_config *cfg = &m.cfg;
    const int E = cfg->embed_dim, C = ds.n_classes, B = (int)a->batch, S = cfg->image_size;
    const size_t per = (size_t)3 * S * S;
    size_t ib = cm_clip_images_arena_bytes(cfg, B, 0), tb = cm_clip_texts_arena_bytes(cfg, C);
    CM_CHECK_GOTO(err, cm_arena_create(&arena, ib > tb ? ib : tb), done);
    txt = calloc((size_t)C * E, sizeof *txt), img = calloc((size_t)B * E, sizeof *img);
    pixels = calloc(per * B, sizeof *pixels), logits = calloc((size_t)B * C, sizeof *logits);
    counts = calloc((size_t)ds.n_domains * 2, sizeof *counts), batch_items = calloc((size_t)B, sizeof *batch_items);
    predicted = malloc((size_t)(ds.n_items ? ds.n_items : 1) * sizeof *predicted);
    if (!txt || !img || !pixels || !logits || !counts || !batch_items || !predicted)
        CM_ERROR_GOTO(err, done, CM_ERR_MEM, "out of memory for batches of %d images", B);
    CM_CHECK_GOTO(err, encode_classes(&m, &ds, a->template_text, &arena, txt), done);
    /* Rank r takes items r, r+P, ...: a fixed split, so results do not depend on timing. */
    for (int i = 0; i < ds.n_items; i++) predicted[i] = -1;
    int nb = 0;
    for (int i = rank; i < ds.n_items; i += nranks) {
        cm_image im = {0};
        err = cm_image_read(ds.items[i].path, &im);
        if (err == CM_OK) err = cm_image_preprocess_clip(&im, S, pixels + per * nb);
        cm_image_free(&im);
        CM_CHECK_GOTO(err, err, done);
        batch_items[nb++] = i;
        if (nb == B || i + nranks >= ds.n_items) {
            CM_CHECK_GOTO(err, cm_clip_encode_images(&m, pixels, nb, NULL, &arena, img), done);
            cm_clip_logits(img, nb, txt, C, E, m.w.logit_scale[0], logits);
            for (int b = 0; b < nb; b++) {
                const float *z = logits + (size_t)b * C;
                int best = 0;
                for (int c = 1; c < C; c++)
                    if (z[c] > z[best]) best = c;
                const cm_dataset_item *it = &ds.items[batch_items[b]];
                predicted[batch_items[b]] = best;
                counts[2 * it->domain] += best == it->label;
                counts[2 * it->domain + 1]++;
            }
            nb = 0;
        }
    }
    if (MPI_Allreduce(MPI_IN_PLACE, counts, 2 * ds.n_domains, MPI_LONG, MPI_SUM, MPI_COMM_WORLD) != MPI_SUCCESS)
        CM_ERROR_GOTO(err, done, CM_ERR_MPI, "summing the counts over the ranks failed");
    if (a->predictions) {
        if (MPI_Allreduce(MPI_IN_PLACE, predicted, ds.n_items, MPI_INT, MPI_MAX, MPI_COMM_WORLD) != MPI_SUCCESS)
            CM_ERROR_GOTO(err, done, CM_ERR_MPI, "gathering the predictions failed");
        if (rank == 0) CM_CHECK_GOTO(err, write_predictions(a->predictions, &ds, predicted), done);
    }
    if (rank == 0) {
        long right = 0, total = 0;
        printf("zero-shot top-1, %d classes, template \"%s\", %d rank%s, %.1f s\n", C, a->template_text, nranks,
               nranks > 1 ? "s" : "", cm_now() - t0);
        printf("%-24s %8s %10s\n", "domain", "images", "top-1 (%)");
        for (int d = 0; d < ds.n_domains; d++) {
            long r = counts[2 * d], n = counts[2 * d + 1];
            printf("%-24s %8ld %10.2f\n", ds.domains[d], n, n ? 100.0 * r / n : 0.0);
            right += r, total += n;
        }
        printf("%-24s %8ld %10.2f\n", "overall", total, total ? 100.0 * right / total : 0.0);
    }
done:
    free(txt), free(img), free(pixels), free(logits), free(counts), free(batch_items), free(predicted);
    cm_arena_destroy(&arena);
    cm_dataset_free(&ds);
    cm_clip_destroy(&m);
    return err;
}

int cmd_zeroshot(int argc, char **argv)
{
    if (cm_cli_wants_help(argc, argv)) {
        usage(stdout);
        return 0;
    }
    zeroshot_args a;
    cm_err err = cm_cli_mpi_init(&argc, &argv);
    if (err == CM_OK) err = parse(argc, argv, &a);
    if (err == CM_OK) err = run(&a);
    return cm_cli_mpi_exit(err);
}
