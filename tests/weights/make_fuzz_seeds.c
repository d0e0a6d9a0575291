/* Writes the seed corpus of the safetensors fuzz run into a directory: small
 * valid files of each dtype, with metadata and an integer buffer, and the
 * smallest CLIP models in both namings, so that mutations start from inputs
 * that reach every stage of the reader and loader. */
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "clipmtl/clip_weights.h"

static cm_err write_small(const char *dir)
{
    cm_tensor_table t;
    cm_table_init(&t);
    int64_t s2[2] = {2, 3}, s1[1] = {4};
    CM_CHECK(cm_table_add(&t, "a.weight", 2, s2, NULL));
    CM_CHECK(cm_table_add(&t, "b", 1, s1, NULL));
    CM_CHECK(cm_table_add(&t, "scalar", 0, NULL, NULL));
    float values[11] = {0, -0.0f, 1, -2, 65504, 1e-7f, 3.5f, 1e30f, -1e-30f, 0.25f, 2.65f};
    const cm_dtype dtypes[3] = {CM_DTYPE_F32, CM_DTYPE_F16, CM_DTYPE_BF16};
    cm_st_metadata meta[] = {{"note", "seed \"file\""}};
    char path[4096];
    for (int k = 0; k < 3; k++) {
        snprintf(path, sizeof path, "%s/small_%s.safetensors", dir, cm_dtype_name(dtypes[k]));
        CM_CHECK(cm_safetensors_write(path, &t, values, dtypes[k], meta, 1));
    }
    cm_table_free(&t);
    return CM_OK;
}

static cm_err write_clip(const char *dir)
{
    /* Width 64 (one head), one layer per tower, a 1x1 grid of 1-pixel patches,
     * 4 tokens of context and a vocabulary of 8: about 100K parameters. */
    cm_clip_config c = {.embed_dim = 4,
                        .vision = {64, 1, 1, 256},
                        .text = {64, 1, 1, 256},
                        .patch_size = 1,
                        .image_size = 1,
                        .grid = 1,
                        .context_length = 4,
                        .vocab_size = 8};
    cm_clip_model m;
    CM_CHECK(cm_clip_create(&m, &c));
    cm_err err;
    CM_CHECK_GOTO(err, cm_clip_init_random(&m, 1), done);
    char path[4096];
    snprintf(path, sizeof path, "%s/clip_openai_F16.safetensors", dir);
    CM_CHECK_GOTO(err, cm_clip_save(&m, path, CM_NAMING_OPENAI, CM_DTYPE_F16), done);
    snprintf(path, sizeof path, "%s/clip_hf_BF16.safetensors", dir);
    CM_CHECK_GOTO(err, cm_clip_save(&m, path, CM_NAMING_HF, CM_DTYPE_BF16), done);
done:
    cm_clip_destroy(&m);
    return err;
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: make_fuzz_seeds DIR\n");
        return 2;
    }
    mkdir(argv[1], 0755);
    cm_err err = write_small(argv[1]);
    if (err == CM_OK) err = write_clip(argv[1]);
    if (err != CM_OK) cm_error_print(stderr);
    return err == CM_OK ? 0 : 1;
}
