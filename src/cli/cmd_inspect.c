/* clipmtl inspect: what a safetensors checkpoint holds and whether it is a
 * complete CLIP model. */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "clipmtl/clip_weights.h"
#include "clipmtl/log.h"

static void usage(FILE *f)
{
    fprintf(f, "usage: clipmtl inspect W.safetensors\n\n"
               "Prints the tensor naming (openai or hf), the configuration inferred from the shapes, the\n"
               "number of tensors and of parameters per tower, and checks that the file is a complete CLIP\n"
               "model (exit status 1 with the list of missing/unexpected/mis-shaped tensors if not), then\n"
               "loads every weight to time it.\n");
}

static void print_file_summary(const cm_safetensors *st)
{
    size_t by_dtype[CM_DTYPE_COUNT_] = {0};
    for (int i = 0; i < st->count; i++) by_dtype[st->tensors[i].dtype]++;
    printf("file:       %s (%zu bytes of header, %zu of data)\n", st->path, st->header_len, st->data_size);
    printf("tensors:    %d (", st->count);
    const char *sep = "";
    for (int d = 0; d < CM_DTYPE_COUNT_; d++)
        if (by_dtype[d]) {
            printf("%s%s %zu", sep, cm_dtype_name(d), by_dtype[d]);
            sep = ", ";
        }
    printf(")\n");
    if (st->metadata)
        for (const cm_json_node *v = cm_json_first(&st->header, st->metadata); v; v = cm_json_next(&st->header, v))
            printf("metadata:   %s = %s\n", v->key, v->string);
}

static cm_err run(const char *path)
{
    cm_safetensors st;
    double t0 = cm_now();
    CM_CHECK(cm_safetensors_open(&st, path));
    double t1 = cm_now();
    print_file_summary(&st);
    cm_weight_naming naming;
    cm_clip_config cfg;
    cm_tensor_table layout;
    cm_table_init(&layout);
    cm_err err;
    CM_CHECK_GOTO(err, cm_clip_check_file(&st, &naming, &cfg), done);
    CM_CHECK_GOTO(err, cm_clip_layout(&cfg, &layout), done);
    size_t vision, text, other;
    cm_clip_count_params(&layout, &vision, &text, &other);
    char desc[256];
    printf("naming:     %s\n", cm_weight_naming_name(naming));
    printf("config:     %s\n", cm_clip_config_str(&cfg, desc, sizeof desc));
    printf("parameters: %zu (vision %zu, text %zu, other %zu)\n", vision + text + other, vision, text, other);
    printf("check:      ok, every tensor matches (header parsed and validated in %.3f s)\n", t1 - t0);
    cm_clip_model m;
    double t2 = cm_now();
    CM_CHECK_GOTO(err, cm_clip_load_from(&m, &st), done);
    printf("load:       %.3f s (every weight read and converted to fp32)\n", cm_now() - t2);
    cm_clip_destroy(&m);
done:
    cm_table_free(&layout);
    cm_safetensors_close(&st);
    return err;
}

int cmd_inspect(int argc, char **argv)
{
    if (cm_cli_wants_help(argc, argv)) {
        usage(stdout);
        return 0;
    }
    if (argc != 2) {
        usage(stderr);
        return 2;
    }
    return cm_error_exit_status(run(argv[1]));
}
