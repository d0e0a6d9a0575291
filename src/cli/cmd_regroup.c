/* clipmtl regroup: groups from a phase-1 similarity file, without retraining: threshold sweeps
 * and comparisons of the grouping rules are offline and instant. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mpi.h>

#include "cli.h"
#include "clipmtl/grouping.h"
#include "clipmtl/run_files.h"

static void usage(FILE *f)
{
    fprintf(f, "usage: clipmtl regroup SIMILARITY.h5 (--threshold TAU | --groups K | --partition)\n"
               "\n"
               "Groups the tasks of a similarity file (written by `clipmtl group`) from its average over the\n"
               "snapshots, and prints one line per group. Rules (see docs and spec.md 4.3):\n"
               "  --threshold TAU  complete linkage stopped at TAU: every pair inside a group has similarity > TAU\n"
               "  --groups K       K groups by spectral clustering\n"
               "  --partition      the disjoint partition maximising TAG's objective (N <= %d)\n",
               CM_GROUPING_EXHAUSTIVE_MAX_TASKS);
}

static cm_err run(int argc, char **argv)
{
    CM_ASSERT(argc >= 3, CM_ERR_ARG, "usage: clipmtl regroup SIMILARITY.h5 (--threshold TAU | --groups K | --partition)");
    cm_grouping_options opt;
    cm_grouping_options_default(&opt);
    const char *path = NULL;
    int rules = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--threshold") == 0) {
            CM_CHECK(cm_cli_parse_double(argv[i], i + 1 < argc ? argv[i + 1] : NULL, -1, 1, &opt.tau));
            opt.rule = CM_GROUPING_THRESHOLD, rules++, i++;
        } else if (strcmp(argv[i], "--groups") == 0) {
            long k;
            CM_CHECK(cm_cli_parse_long(argv[i], i + 1 < argc ? argv[i + 1] : NULL, 1, 100000, &k));
            opt.rule = CM_GROUPING_SPECTRAL, opt.k = (int)k, rules++, i++;
        } else if (strcmp(argv[i], "--partition") == 0) {
            opt.rule = CM_GROUPING_PARTITION, rules++;
        } else if (argv[i][0] == '-') {
            CM_ERROR(CM_ERR_ARG, "unknown option %s (see clipmtl regroup --help)", argv[i]);
        } else {
            CM_ASSERT(!path, CM_ERR_ARG, "one similarity file, got %s and %s", path, argv[i]);
            path = argv[i];
        }
    }
    CM_ASSERT(path && rules == 1, CM_ERR_ARG, "give a similarity file and exactly one rule");
    cm_similarity_record r;
    CM_CHECK(cm_similarity_file_read(path, &r));
    int *group = calloc((size_t)r.ntasks, sizeof *group), ngroups = 0;
    cm_err err = group ? cm_grouping_compute(MPI_COMM_SELF, 0, r.average, r.ntasks, &opt, group, &ngroups)
                       : cm_error_raise(__FILE__, __LINE__, __func__, CM_ERR_MEM, "out of memory");
    if (err == CM_OK) {
        printf("%d tasks, %d snapshots, rule %s", r.ntasks, r.count, cm_grouping_rule_name(opt.rule));
        if (opt.rule == CM_GROUPING_THRESHOLD) printf(" (tau %g)", opt.tau);
        if (opt.rule == CM_GROUPING_SPECTRAL) printf(" (k %d)", opt.k);
        printf(": %d group%s\n", ngroups, ngroups == 1 ? "" : "s");
        for (int g = 0; g < ngroups; g++) {
            printf("group %d:", g);
            const char *sep = " ";
            for (int t = 0; t < r.ntasks; t++)
                if (group[t] == g) printf("%s%s", sep, r.task_names[t]), sep = ", ";
            printf("\n");
        }
    }
    free(group);
    cm_similarity_record_free(&r);
    return err;
}

int cmd_regroup(int argc, char **argv)
{
    if (cm_cli_wants_help(argc, argv)) {
        usage(stdout);
        return 0;
    }
    cm_err err = cm_cli_mpi_init(&argc, &argv);
    if (err == CM_OK) err = run(argc, argv);
    return cm_cli_mpi_exit(err);
}
