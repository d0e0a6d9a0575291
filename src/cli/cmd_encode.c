/* clipmtl encode: image and text features and logits of a checkpoint, written to HDF5, so that
 * models can be compared with OpenAI's code or with each other. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"
#include "clipmtl/clip_weights.h"
#include "clipmtl/encoder.h"
#include "clipmtl/h5io.h"
#include "clipmtl/image.h"
#include "clipmtl/tokenizer.h"

static void usage(FILE *f)
{
    fprintf(f,
            "usage: clipmtl encode --weights W.safetensors (--pixels FILE.f32 --shape N,3,H,W | --images A.jpg ...)\n"
            "                      [--text \"...\"]... --out OUT.h5 [--batch B]\n"
            "\n"
            "Encodes images and texts with a CLIP checkpoint (OpenAI or Hugging Face names) and writes OUT.h5\n"
            "with float32 datasets image_features [N,E] and text_features [T,E] (before L2 normalisation)\n"
            "and logits_per_image [N,T] = exp(logit_scale) * cosine, when both are given.\n"
            "\n"
            "  --pixels FILE   raw little-endian float32 pixels, already normalised, NCHW, H = W = the\n"
            "                  model's resolution; --shape gives N,3,H,W\n"
            "  --images ...    JPEG/PNG files, preprocessed as CLIP does (bicubic resize of the shorter\n"
            "                  side, center crop, CLIP mean/std); every argument up to the next option\n"
            "  --text T        a text, tokenized with clip.tokenize(truncate=True) rules; repeatable\n"
            "  --batch B       images per forward pass (default 32)\n");
}

typedef struct {
    const char *weights, *pixels, *shape, *out;
    const char **images, **texts;
    int nimages, ntexts;
    long batch;
} encode_args;

static cm_err parse(int argc, char **argv, encode_args *a)
{
    *a = (encode_args){.batch = 32};
    CM_CALLOC(a->images, argc);
    CM_CALLOC(a->texts, argc);
    for (int i = 1; i < argc; i++) {
        const char *opt = argv[i], *val = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(opt, "--images") == 0) {
            while (i + 1 < argc && strncmp(argv[i + 1], "--", 2) != 0) a->images[a->nimages++] = argv[++i];
            CM_ASSERT(a->nimages > 0, CM_ERR_ARG, "--images needs at least one file");
            continue;
        }
        CM_ASSERT(val, CM_ERR_ARG, "%s needs a value (see clipmtl encode --help)", opt);
        if (strcmp(opt, "--weights") == 0) a->weights = val;
        else if (strcmp(opt, "--pixels") == 0) a->pixels = val;
        else if (strcmp(opt, "--shape") == 0) a->shape = val;
        else if (strcmp(opt, "--out") == 0) a->out = val;
        else if (strcmp(opt, "--text") == 0) a->texts[a->ntexts++] = val;
        else if (strcmp(opt, "--batch") == 0) CM_CHECK(cm_cli_parse_long(opt, val, 1, 4096, &a->batch));
        else CM_ERROR(CM_ERR_ARG, "unknown option %s (see clipmtl encode --help)", opt);
        i++;
    }
    CM_ASSERT(a->weights && a->out, CM_ERR_ARG, "--weights and --out are required");
    CM_ASSERT(!(a->pixels && a->nimages), CM_ERR_ARG, "give --pixels or --images, not both");
    CM_ASSERT(!a->pixels == !a->shape, CM_ERR_ARG, "--pixels and --shape go together");
    CM_ASSERT(a->pixels || a->nimages || a->ntexts, CM_ERR_ARG, "nothing to encode: give images and/or texts");
    return CM_OK;
}

/* Raw pixels: the file must hold exactly N*3*S*S floats for the model's resolution S. */
static cm_err read_pixels(const encode_args *a, const cm_clip_config *cfg, float **pixels, int *n)
{
    long N, C, H, W;
    char extra;
    CM_ASSERT(sscanf(a->shape, "%ld,%ld,%ld,%ld%c", &N, &C, &H, &W, &extra) == 4, CM_ERR_ARG,
              "--shape '%s' is not N,3,H,W", a->shape);
    CM_ASSERT(N > 0 && N <= 1000000 && C == 3 && H == cfg->image_size && W == cfg->image_size, CM_ERR_ARG,
              "--shape %s: the model takes N,3,%d,%d", a->shape, cfg->image_size, cfg->image_size);
    size_t count = (size_t)N * 3 * H * W;
    struct stat sb;
    CM_ASSERT(stat(a->pixels, &sb) == 0, CM_ERR_IO, "%s: cannot stat", a->pixels);
    CM_ASSERT((size_t)sb.st_size == count * sizeof(float), CM_ERR_FORMAT,
              "%s: %lld bytes, but --shape %s needs %zu", a->pixels, (long long)sb.st_size, a->shape,
              count * sizeof(float));
    CM_CALLOC(*pixels, count);
    FILE *f = fopen(a->pixels, "rb");
    size_t got = f ? fread(*pixels, sizeof(float), count, f) : 0;
    if (f) fclose(f);
    CM_ASSERT(got == count, CM_ERR_IO, "%s: read %zu of %zu floats", a->pixels, got, count);
    *n = (int)N;
    return CM_OK;
}

static cm_err load_images(const encode_args *a, const cm_clip_config *cfg, float **pixels)
{
    const size_t per = (size_t)3 * cfg->image_size * cfg->image_size;
    CM_CALLOC(*pixels, per * a->nimages);
    for (int i = 0; i < a->nimages; i++) {
        cm_image img = {0};
        cm_err err = cm_image_read(a->images[i], &img);
        if (err == CM_OK) err = cm_image_preprocess_clip(&img, cfg->image_size, *pixels + per * i);
        cm_image_free(&img);
        CM_CHECK(err);
    }
    return CM_OK;
}

static cm_err write_matrix(cm_h5_file *f, const char *name, const float *x, int rows, int cols)
{
    uint64_t dims[2] = {(uint64_t)rows, (uint64_t)cols};
    CM_CHECK(cm_h5_write_owner(f, name, CM_H5_FLOAT, 2, dims, 0, x));
    return CM_OK;
}

static cm_err run(const encode_args *a)
{
    cm_clip_model m = {0};
    cm_tokenizer *tok = NULL;
    cm_arena arena = {0};
    cm_h5_file out = {0};
    float *pixels = NULL, *img = NULL, *txt = NULL, *logits = NULL;
    int32_t *ids = NULL;
    int n = 0;
    cm_err err;
    CM_CHECK_GOTO(err, cm_clip_load(&m, a->weights), done);
    const cm_clip_config *cfg = &m.cfg;
    const int E = cfg->embed_dim, B = (int)a->batch;
    if (a->pixels) CM_CHECK_GOTO(err, read_pixels(a, cfg, &pixels, &n), done);
    if (a->nimages) {
        n = a->nimages;
        CM_CHECK_GOTO(err, load_images(a, cfg, &pixels), done);
    }
    if (a->ntexts) {
        CM_CHECK_GOTO(err, cm_tokenizer_load(&tok, NULL), done);
        if (!(ids = calloc((size_t)a->ntexts * cfg->context_length, sizeof *ids)))
            CM_ERROR_GOTO(err, done, CM_ERR_MEM, "out of memory for %d token rows", a->ntexts);
        CM_CHECK_GOTO(err, cm_tokenize_batch(tok, a->texts, (size_t)a->ntexts, cfg->context_length, 1, ids), done);
    }
    size_t bytes = cm_clip_images_arena_bytes(cfg, B, 0), text_bytes = cm_clip_texts_arena_bytes(cfg, a->ntexts);
    CM_CHECK_GOTO(err, cm_arena_create(&arena, bytes > text_bytes ? bytes : text_bytes), done);
    if (!(img = calloc((size_t)(n ? n : 1) * E, sizeof *img)) || !(txt = calloc((size_t)(a->ntexts ? a->ntexts : 1) * E, sizeof *txt)) ||
        !(logits = calloc((size_t)(n ? n : 1) * (a->ntexts ? a->ntexts : 1), sizeof *logits)))
        CM_ERROR_GOTO(err, done, CM_ERR_MEM, "out of memory for the features");
    const size_t per = (size_t)3 * cfg->image_size * cfg->image_size;
    for (int b0 = 0; b0 < n; b0 += B) {
        int nb = n - b0 < B ? n - b0 : B;
        CM_CHECK_GOTO(err, cm_clip_encode_images(&m, pixels + per * b0, nb, NULL, &arena, img + (size_t)b0 * E), done);
    }
    if (a->ntexts) CM_CHECK_GOTO(err, cm_clip_encode_texts(&m, ids, a->ntexts, NULL, &arena, txt), done);

    CM_CHECK_GOTO(err, cm_h5_create(&out, MPI_COMM_SELF, a->out), done);
    if (n) CM_CHECK_GOTO(err, write_matrix(&out, "image_features", img, n, E), done);
    if (a->ntexts) CM_CHECK_GOTO(err, write_matrix(&out, "text_features", txt, a->ntexts, E), done);
    if (n && a->ntexts) {
        cm_clip_logits(img, n, txt, a->ntexts, E, m.w.logit_scale[0], logits);
        CM_CHECK_GOTO(err, write_matrix(&out, "logits_per_image", logits, n, a->ntexts), done);
    }
    CM_CHECK_GOTO(err, cm_h5_write_attr_string(&out, "/", "weights", a->weights), done);
    CM_CHECK_GOTO(err, cm_h5_close(&out), done);
    printf("encode: %d images, %d texts, embed %d -> %s\n", n, a->ntexts, E, a->out);
done:
    if (err != CM_OK) cm_h5_close(&out);
    free(pixels), free(img), free(txt), free(logits), free(ids);
    cm_arena_destroy(&arena);
    if (tok) cm_tokenizer_free(tok);
    cm_clip_destroy(&m);
    return err;
}

int cmd_encode(int argc, char **argv)
{
    if (cm_cli_wants_help(argc, argv)) {
        usage(stdout);
        return 0;
    }
    encode_args a = {0};
    cm_err err = cm_cli_mpi_init(&argc, &argv);
    if (err == CM_OK) err = parse(argc, argv, &a);
    if (err == CM_OK) err = run(&a);
    free(a.images), free(a.texts);
    return cm_cli_mpi_exit(err);
}
