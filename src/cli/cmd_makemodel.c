/* clipmtl makemodel: writes a CLIP checkpoint with deterministic random
 * weights, for tests, demos and benchmarks. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "clipmtl/clip_weights.h"
#include "clipmtl/log.h"

static void usage(FILE *f)
{
    fprintf(f,
            "usage: clipmtl makemodel (--preset NAME | --config-from W.safetensors) --out FILE.safetensors\n"
            "                         [--seed S] [--naming openai|hf] [--dtype f32|f16|bf16]\n\n"
            "Writes a CLIP model with random weights drawn as OpenAI's code initialises a new model.\n"
            "  --preset NAME          configuration by name: %s\n"
            "  --config-from FILE     configuration inferred from an existing checkpoint's shapes\n"
            "  --seed S               random seed (default 0); the same seed gives the same file\n"
            "  --naming openai|hf     tensor names: OpenAI/open_clip or Hugging Face CLIPModel (default openai)\n"
            "  --dtype f32|f16|bf16   stored precision (default f32)\n"
            "  --out FILE             output path (written atomically)\n",
            cm_clip_preset_names());
}

static cm_err parse_seed(const char *text, uint64_t *seed)
{
    char *end;
    errno = 0;
    unsigned long long v = text ? strtoull(text, &end, 0) : 0;
    CM_ASSERT(text && *text && *text != '-' && !*end && errno == 0, CM_ERR_ARG,
              "--seed: '%s' is not a non-negative integer", text ? text : "(none)");
    *seed = v;
    return CM_OK;
}

static cm_err config_from_file(const char *path, cm_clip_config *cfg)
{
    cm_safetensors st;
    CM_CHECK(cm_safetensors_open(&st, path));
    cm_weight_naming naming;
    cm_err err;
    CM_CHECK_GOTO(err, cm_clip_check_file(&st, &naming, cfg), done);
done:
    cm_safetensors_close(&st);
    return err;
}

static cm_err run(int argc, char **argv)
{
    const char *preset = NULL, *config_from = NULL, *out = NULL;
    uint64_t seed = 0;
    cm_weight_naming naming = CM_NAMING_OPENAI;
    cm_dtype dtype = CM_DTYPE_F32;
    static const char *const options[] = {"--preset", "--config-from", "--out", "--seed", "--naming", "--dtype"};
    for (int i = 1; i < argc; i++) {
        const char *opt = argv[i], *value = i + 1 < argc ? argv[i + 1] : NULL;
        int known = 0;
        for (size_t k = 0; k < sizeof options / sizeof options[0]; k++) known |= strcmp(opt, options[k]) == 0;
        CM_ASSERT(known, CM_ERR_ARG, "makemodel: unknown option %s (see clipmtl makemodel --help)", opt);
        CM_ASSERT(value, CM_ERR_ARG, "makemodel: %s needs a value (see clipmtl makemodel --help)", opt);
        if (strcmp(opt, "--preset") == 0) preset = value;
        else if (strcmp(opt, "--config-from") == 0) config_from = value;
        else if (strcmp(opt, "--out") == 0) out = value;
        else if (strcmp(opt, "--seed") == 0) CM_CHECK(parse_seed(value, &seed));
        else if (strcmp(opt, "--naming") == 0) CM_CHECK(cm_weight_naming_parse(value, &naming));
        else if (strcmp(opt, "--dtype") == 0) {
            CM_CHECK(cm_dtype_parse(value, "--dtype", &dtype));
            CM_ASSERT(cm_dtype_is_float(dtype), CM_ERR_ARG, "--dtype must be f32, f16 or bf16, not %s", value);
        }
        i++;
    }
    CM_ASSERT(!preset != !config_from, CM_ERR_ARG, "makemodel: give exactly one of --preset and --config-from");
    CM_ASSERT(out, CM_ERR_ARG, "makemodel: --out FILE.safetensors is required");

    cm_clip_config cfg;
    if (preset) CM_CHECK(cm_clip_preset(preset, &cfg));
    else CM_CHECK(config_from_file(config_from, &cfg));
    double t0 = cm_now();
    cm_clip_model m;
    CM_CHECK(cm_clip_create(&m, &cfg));
    cm_err err;
    CM_CHECK_GOTO(err, cm_clip_init_random(&m, seed), done);
    double t1 = cm_now();
    CM_CHECK_GOTO(err, cm_clip_save(&m, out, naming, dtype), done);
    double t2 = cm_now();
    char desc[256];
    size_t vision, text, other;
    cm_clip_count_params(&m.table, &vision, &text, &other);
    printf("%s: %s, %zu parameters (vision %zu, text %zu, other %zu), %s names, %s, seed %llu\n", out,
           cm_clip_config_str(&cfg, desc, sizeof desc), vision + text + other, vision, text, other,
           cm_weight_naming_name(naming), cm_dtype_name(dtype), (unsigned long long)seed);
    printf("init %.2f s, write %.2f s\n", t1 - t0, t2 - t1);
done:
    cm_clip_destroy(&m);
    return err;
}

int cmd_makemodel(int argc, char **argv)
{
    if (cm_cli_wants_help(argc, argv)) {
        usage(stdout);
        return 0;
    }
    return cm_error_exit_status(run(argc, argv));
}
