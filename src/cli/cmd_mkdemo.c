/* clipmtl mkdemo: writes a small generated folder dataset (shapes in several styles). */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "clipmtl/log.h"
#include "clipmtl/synthetic_images.h"

static void usage(FILE *f)
{
    fprintf(f,
            "usage: clipmtl mkdemo --out DIR [--domains N] [--classes N] [--per-class N] [--size N] [--seed S]\n"
            "\n"
            "Writes DIR/<domain>/<class>/<class>_<i>.{png,jpg}: a folder dataset of generated images in which\n"
            "the class is a shape and the domain a drawing style, readable like Office-Home. Even-numbered\n"
            "images are PNG, odd ones JPEG. The same options give the same files.\n"
            "\n"
            "  --out DIR        output folder; must not exist or be empty (required)\n"
            "  --domains N      styles, 1..%d: Plain, Noisy Background, Inverted, Sketch (default 2)\n"
            "  --classes N      shapes, 1..%d: circle, square, triangle, cross, ring, striped_square,\n"
            "                   diamond, checker_board (default 4)\n"
            "  --per-class N    images per class and domain (default 6)\n"
            "  --size N         image width in pixels, 16..4096; heights vary down to 3/4 of it (default 64)\n"
            "  --seed S         random seed, a non-negative integer (default 0)\n",
            CM_DEMO_MAX_DOMAINS, CM_DEMO_MAX_CLASSES);
}

static cm_err run(int argc, char **argv)
{
    const char *out = NULL;
    long domains = 2, classes = 4, per_class = 6, size = 64, seed = 0;
    for (int i = 1; i < argc; i++) {
        const char *opt = argv[i], *val = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(opt, "--out") == 0) {
            CM_ASSERT(val, CM_ERR_ARG, "--out needs a folder");
            out = val;
        } else if (strcmp(opt, "--domains") == 0) {
            CM_CHECK(cm_cli_parse_long(opt, val, 1, CM_DEMO_MAX_DOMAINS, &domains));
        } else if (strcmp(opt, "--classes") == 0) {
            CM_CHECK(cm_cli_parse_long(opt, val, 1, CM_DEMO_MAX_CLASSES, &classes));
        } else if (strcmp(opt, "--per-class") == 0) {
            CM_CHECK(cm_cli_parse_long(opt, val, 1, 100000, &per_class));
        } else if (strcmp(opt, "--size") == 0) {
            CM_CHECK(cm_cli_parse_long(opt, val, 16, 4096, &size));
        } else if (strcmp(opt, "--seed") == 0) {
            CM_CHECK(cm_cli_parse_long(opt, val, 0, LONG_MAX, &seed));
        } else {
            CM_ERROR(CM_ERR_ARG, "mkdemo: unknown option '%s' (see clipmtl mkdemo --help)", opt);
        }
        i++;
    }
    CM_ASSERT(out, CM_ERR_ARG, "mkdemo: --out DIR is required (see clipmtl mkdemo --help)");
    CM_CHECK(cm_demo_write_dataset(out, (int)domains, (int)classes, (int)per_class, (int)size, (uint64_t)seed));
    cm_log_info("mkdemo: wrote %ld images (%ld domains x %ld classes x %ld) to %s", domains * classes * per_class,
                domains, classes, per_class, out);
    return CM_OK;
}

int cmd_mkdemo(int argc, char **argv)
{
    if (cm_cli_wants_help(argc, argv)) {
        usage(stdout);
        return 0;
    }
    return cm_error_exit_status(run(argc, argv));
}
