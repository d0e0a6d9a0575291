/* clipmtl pack: decode and preprocess a dataset once into a packed HDF5 file (pack.h), the
 * images shared out over the MPI ranks. */
#include <stdio.h>
#include <string.h>

#include <mpi.h>

#include "cli.h"
#include "clipmtl/config.h"
#include "clipmtl/log.h"
#include "clipmtl/pack.h"

static void usage(FILE *f)
{
    fputs("usage: clipmtl pack CONFIG.yaml [--set key=value]... --out FILE.h5 [--train-pool]\n"
          "                    [--train-size P] [--round-mb M]\n"
          "\n"
          "Decodes the images of the dataset described by the data section of CONFIG (kind, root,\n"
          "domains, split, image_size, bad_data) once and writes them to FILE.h5, for data.packed:\n"
          "the test split as CLIP's test transform crops it (bit-identical to decoding), the training\n"
          "images resized (shorter side P) and center-cropped to P x P, for the training augmentation.\n"
          "Runs under mpirun: every rank decodes a share and the file is written collectively.\n"
          "\n"
          "  --set key=value  override one configuration key (repeatable), e.g. --set data.root=/data/oh\n"
          "  --out FILE.h5    the packed file (created or replaced)\n"
          "  --train-pool     store every image of the training pools (the pack then serves any\n"
          "                   data.train_fraction / k_shot); default: only this split's training images\n"
          "  --train-size P   side of the stored training images (default image_size * 8 / 7: 256 for 224)\n"
          "  --round-mb M     images per rank per collective write round, in MiB (default 64)\n", f);
}

typedef struct {
    const char *config, *out;
    cm_pack_options options;
} pack_args;

static cm_err parse(int argc, char **argv, cm_config *c, pack_args *a)
{
    *a = (pack_args){0};
    for (int i = 1; i < argc; i++) {
        const char *opt = argv[i];
        long v;
        if (strcmp(opt, "--set") == 0 || strcmp(opt, "--out") == 0 || strcmp(opt, "--train-size") == 0 ||
            strcmp(opt, "--round-mb") == 0)
            CM_ASSERT(i + 1 < argc, CM_ERR_ARG, "%s needs a value (clipmtl pack --help)", opt);
        if (strcmp(opt, "--set") == 0) i++;
        else if (strncmp(opt, "--set=", 6) == 0) continue;
        else if (strcmp(opt, "--out") == 0) a->out = argv[++i];
        else if (strcmp(opt, "--train-pool") == 0) a->options.train_pool = 1;
        else if (strcmp(opt, "--train-size") == 0) {
            CM_CHECK(cm_cli_parse_long(opt, argv[++i], 8, 4096, &v));
            a->options.train_size = (int)v;
        } else if (strcmp(opt, "--round-mb") == 0) {
            CM_CHECK(cm_cli_parse_long(opt, argv[++i], 1, 1L << 20, &v));
            a->options.batch_bytes = v << 20;
        } else if (opt[0] == '-') CM_ERROR(CM_ERR_ARG, "unknown option %s (clipmtl pack --help)", opt);
        else if (a->config) CM_ERROR(CM_ERR_ARG, "one configuration file only, got '%s' and '%s'", a->config, opt);
        else a->config = opt;
    }
    CM_ASSERT(a->config, CM_ERR_ARG, "give the configuration file (clipmtl pack --help)");
    CM_ASSERT(a->out, CM_ERR_ARG, "--out FILE.h5 is required");
    CM_CHECK(cm_config_read_file(c, a->config));
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--set") == 0) CM_CHECK(cm_config_set(c, argv[++i]));
        else if (strncmp(argv[i], "--set=", 6) == 0) CM_CHECK(cm_config_set(c, argv[i] + 6));
        else if (strcmp(argv[i], "--out") == 0 || strcmp(argv[i], "--train-size") == 0 || strcmp(argv[i], "--round-mb") == 0)
            i++;
    }
    CM_CHECK(cm_config_validate(c));
    return CM_OK;
}

static cm_err run(int argc, char **argv)
{
    int rank, nranks;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &nranks);
    cm_log_set_rank(rank, nranks);
    cm_config c;
    CM_CHECK(cm_config_defaults(&c));
    pack_args a;
    cm_pack_stats st;
    cm_err err = parse(argc, argv, &c, &a);
    if (err == CM_OK) err = cm_pack_write(&c.data, &a.options, a.out, MPI_COMM_WORLD, &st);
    if (err == CM_OK && rank == 0) {
        printf("packed %ld images (%ld test, %ld train, %ld skipped) into %s on %d rank%s\n", st.images,
               st.test_images, st.train_images, st.skipped, a.out, nranks, nranks > 1 ? "s" : "");
        printf("%.2f s total, %.2f s decoding on the slowest rank, %.1f images/s, %.1f MB of pixels\n", st.seconds,
               st.decode_seconds, st.seconds > 0 ? st.images / st.seconds : 0.0, st.bytes / 1e6);
    }
    cm_config_free(&c);
    return err;
}

int cmd_pack(int argc, char **argv)
{
    if (cm_cli_wants_help(argc, argv)) {
        usage(stdout);
        return 0;
    }
    cm_err err = cm_cli_mpi_init(&argc, &argv);
    if (err == CM_OK) err = run(argc, argv);
    return cm_cli_mpi_exit(err);
}
