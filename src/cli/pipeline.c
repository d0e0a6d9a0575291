#include "pipeline.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <mpi.h>

#include "clipmtl/fs.h"
#include "clipmtl/grouping.h"
#include "clipmtl/log.h"
#include "clipmtl/run_files.h"
#include "clipmtl/trainer.h"

/* Rank 0 copies its output to <run>/log.txt (appended on --resume). Without a log the run still
 * goes on: a warning says why. */
static void start_run_log(const cm_config *c, MPI_Comm comm)
{
    int rank;
    MPI_Comm_rank(comm, &rank);
    if (rank != 0) return;
    char dir[4200], path[4300];
    snprintf(dir, sizeof dir, "%s/%s", c->run.out_dir, c->run.name);
    snprintf(path, sizeof path, "%s/log.txt", dir);
    /* The run directory, for its log before the trainer creates the rest. */
    if (cm_mkdir_p(dir) != CM_OK || cm_log_file_open(path) != CM_OK) {
        cm_log_warn("no log file: %s", cm_error_message());
        cm_error_clear();
    }
}

cm_err cm_pipeline_setup(cm_pipeline *p, int argc, char **argv, int flags)
{
    const int allow_default = flags & CM_PIPELINE_DEFAULT_CONFIG;
    memset(p, 0, sizeof *p);
    p->comm = MPI_COMM_WORLD; /* the commands run on every rank mpirun started */
    CM_CHECK(cm_config_defaults(&p->cfg));
    const char *file = NULL;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--resume") == 0) {
            p->resume = 1;
        } else if (strcmp(argv[i], "--allow-config-change") == 0) {
            p->allow_config_change = 1;
        } else if (strcmp(argv[i], "--set") == 0) {
            i++; /* applied after the file, below */
            CM_ASSERT(i < argc, CM_ERR_ARG, "--set needs key=value");
        } else if (argv[i][0] == '-') {
            CM_ERROR(CM_ERR_ARG, "unknown option %s", argv[i]);
        } else {
            CM_ASSERT(!file, CM_ERR_ARG, "one configuration file, got %s and %s", file, argv[i]);
            file = argv[i];
        }
    }
    if (file) CM_CHECK(cm_config_read_file(&p->cfg, file));
    else if (allow_default) CM_CHECK(cm_config_read_string(&p->cfg, cm_demo_config_yaml, "embedded demo.yaml"));
    else CM_ERROR(CM_ERR_ARG, "a configuration file is required");
    for (int i = 1; i < argc; i++)
        if (strcmp(argv[i], "--set") == 0) CM_CHECK(cm_config_set(&p->cfg, argv[++i]));
    CM_CHECK(cm_config_validate(&p->cfg));
    /* The embedded demo's CLIP comes from a pretraining the user may not have run yet: say how. */
    const char *weights = p->cfg.model.weights;
    if (!file && weights && weights[0] && access(weights, R_OK) != 0)
        CM_ERROR(CM_ERR_IO,
                 "cannot read %s (model.weights, %s): the demo's CLIP is made once by `./quickstart demo` or "
                 "`mpirun -np 2 clipmtl pretrain experiments/pretrain_fmnist.yaml --resume "
                 "--set pretrain.stop_after=1000` (the first half of the study's pretraining)",
                 weights, cm_config_origin(&p->cfg, "model.weights"));
    if (flags & CM_PIPELINE_RUN_LOG) start_run_log(&p->cfg, p->comm);
    cm_config_warn_ineffective(&p->cfg);
    size_t len = 0;
    FILE *f = open_memstream(&p->config_text, &len);
    CM_ASSERT(f, CM_ERR_MEM, "out of memory for the configuration text");
    cm_err err = cm_config_dump(&p->cfg, f);
    fclose(f);
    return err;
}

void cm_pipeline_free(cm_pipeline *p)
{
    cm_config_free(&p->cfg);
    free(p->config_text);
    memset(p, 0, sizeof *p);
}

/* Snapshot steps: the configured list, or snapshot_count steps evenly spaced over phase 1 (0: every step). */
static cm_err snapshot_steps(const cm_config *c, int64_t total, int64_t **steps, int *n)
{
    const cm_config_ints *list = &c->multitask.snapshot_steps;
    *n = list->n ? list->n : c->multitask.snapshot_count ? c->multitask.snapshot_count : (int)total;
    CM_CALLOC(*steps, *n);
    for (int k = 0; k < *n; k++) {
        (*steps)[k] = list->n ? list->items[k] : (total * (k + 1) + *n - 1) / *n;
        CM_ASSERT((*steps)[k] >= 1 && (*steps)[k] <= total && (k == 0 || (*steps)[k] > (*steps)[k - 1]), CM_ERR_CONFIG,
                  "multitask.snapshot_steps (%s): step %lld is not increasing within 1..%lld",
                  cm_config_origin(c, "multitask.snapshot_steps"), (long long)(*steps)[k], (long long)total);
    }
    return CM_OK;
}

static cm_err grouping_of(MPI_Comm comm, const cm_config *c, const double *S, int n, const char *const *names,
                          int *group, int *ngroups)
{
    int *sizes = calloc((size_t)n, sizeof *sizes), *members = calloc((size_t)n, sizeof *members);
    cm_grouping_options opt;
    cm_err err = sizes && members ? cm_config_grouping_options(c, n, names, &opt, sizes, members)
                                  : CM_RAISE(CM_ERR_MEM, "out of memory");
    if (err == CM_OK) err = cm_grouping_compute(comm, 0, S, n, &opt, group, ngroups);
    free(sizes), free(members);
    return err;
}

static void print_groups(const int *group, int ngroups, int n, char *const *names)
{
    for (int g = 0; g < ngroups; g++) {
        printf("group %d:", g);
        const char *sep = " ";
        for (int t = 0; t < n; t++)
            if (group[t] == g) printf("%s%s", sep, names[t]), sep = ", ";
        printf("\n");
    }
}

cm_err cm_pipeline_group(cm_pipeline *p, int **group_of_task, int *ngroups, int *ntasks)
{
    const cm_config *c = &p->cfg;
    cm_trainer t;
    cm_similarity_snapshots snaps = {0};
    int64_t *steps = NULL;
    int nsteps = 0, resumed = 0, rank, N = 0;
    double *average = NULL;
    char path[4200];
    MPI_Comm_rank(p->comm, &rank);
    *group_of_task = NULL;
    double t0 = cm_now();
    if (p->resume) {
        /* A finished phase 1 is reused: its grouping follows from the stored average. A damaged
         * file is recomputed from the phase-1 checkpoints. */
        snprintf(path, sizeof path, "%s/%s/similarity.h5", c->run.out_dir, c->run.name);
        cm_similarity_record r;
        cm_err e = access(path, F_OK) == 0 ? cm_similarity_file_read(path, &r) : CM_ERR_IO;
        if (e == CM_OK) {
            e = cm_config_check_resume(c, r.config_text, path, p->allow_config_change);
            if (e == CM_OK && !(*group_of_task = calloc((size_t)r.ntasks, sizeof **group_of_task)))
                e = CM_RAISE(CM_ERR_MEM, "out of memory");
            if (e == CM_OK)
                e = grouping_of(p->comm, c, r.average, r.ntasks, (const char *const *)r.task_names, *group_of_task,
                                ngroups);
            if (e == CM_OK && rank == 0) {
                printf("phase 1: reusing %s (%d snapshots)\n", path, r.count);
                print_groups(*group_of_task, *ngroups, r.ntasks, r.task_names);
            }
            *ntasks = r.ntasks;
            cm_similarity_record_free(&r);
            return e;
        }
        if (access(path, F_OK) == 0 && rank == 0) cm_log_warn("%s is not usable, phase 1 is redone: %s", path, cm_error_message());
        cm_error_clear();
    }
    cm_err err =
        cm_trainer_create(&t, p->comm, c, p->config_text, "phase1", CM_SET_SHARED, NULL, 0, c->multitask.phase1_steps);
    if (err != CM_OK) goto done;
    N = t.tasks.ntasks;
    *ntasks = N;
    snprintf(path, sizeof path, "%s/similarity.h5", t.dir);
    CM_CHECK_GOTO(err, snapshot_steps(c, t.total_steps, &steps, &nsteps), done);
    CM_CHECK_GOTO(err, cm_similarity_snapshots_init(&snaps, N), done);
    if (p->resume) CM_CHECK_GOTO(err, cm_trainer_resume(&t, p->allow_config_change, &resumed), done);
    /* Snapshots taken before the checkpoint come back from it. */
    if (resumed) CM_CHECK_GOTO(err, cm_checkpoint_read_snapshots(p->comm, t.resumed_from, &snaps), done);
    CM_CHECK_GOTO(err, cm_trainer_run(&t, steps, nsteps, &snaps), done);
    if (snaps.count == 0) CM_ERROR_GOTO(err, done, CM_ERR_CONFIG, "phase 1 recorded no similarity snapshot");
    if (!(average = calloc((size_t)N * N, sizeof *average)) || !(*group_of_task = calloc((size_t)N, sizeof **group_of_task)))
        CM_ERROR_GOTO(err, done, CM_ERR_MEM, "out of memory for the grouping of %d tasks", N);
    CM_CHECK_GOTO(err, cm_similarity_snapshots_mean(&snaps, average), done);
    CM_CHECK_GOTO(err,
                  grouping_of(p->comm, c, average, N, (const char *const *)t.tasks.task_names, *group_of_task, ngroups),
                  done);
    if (rank == 0) {
        CM_CHECK_GOTO(err, cm_similarity_file_write(path, N, (const char *const *)t.tasks.task_names, &snaps, average,
                                                    *group_of_task, cm_grouping_rule_name(c->grouping.options.rule),
                                                    p->config_text),
                      done);
        printf("phase 1: %d snapshots averaged, %d groups (rule %s), %.1f s -> %s\n", snaps.count, *ngroups,
               cm_grouping_rule_name(c->grouping.options.rule), cm_now() - t0, path);
        print_groups(*group_of_task, *ngroups, N, t.tasks.task_names);
        double within, across;
        cm_grouping_within_across(average, N, *group_of_task, &within, &across);
        printf("average cosine of task pairs within a group %.3f, across groups %.3f (nan: no such pair)\n", within, across);
        fflush(stdout);
    }
done:
    free(steps), free(average);
    cm_similarity_snapshots_destroy(&snaps);
    cm_trainer_destroy(&t);
    return err;
}

static cm_err configured_grouping(const cm_pipeline *p, int ntasks, char *const *names, int **group, int *ngroups)
{
    const cm_config *c = &p->cfg;
    CM_CALLOC(*group, ntasks);
    if (c->grouping.options.rule == CM_GROUPING_EXPLICIT) {
        CM_CHECK(grouping_of(p->comm, c, NULL, ntasks, (const char *const *)names, *group, ngroups));
        return CM_OK;
    }
    CM_ASSERT(c->grouping.similarity_file && c->grouping.similarity_file[0], CM_ERR_CONFIG,
              "multitask.mode grouped needs groups: run phase 1 first (clipmtl run), set grouping.similarity_file, "
              "or give grouping.rule explicit with grouping.groups");
    cm_similarity_record r;
    CM_CHECK(cm_similarity_file_read(c->grouping.similarity_file, &r));
    cm_err err = CM_OK;
    if (r.ntasks != ntasks) err = CM_RAISE(CM_ERR_CONFIG,
                                           "%s has %d tasks, this run has %d", c->grouping.similarity_file, r.ntasks, ntasks);
    for (int i = 0; err == CM_OK && i < ntasks; i++)
        if (strcmp(r.task_names[i], names[i]) != 0)
            err = CM_RAISE(CM_ERR_CONFIG, "%s: task %d is %s, this run's is %s",
                           c->grouping.similarity_file, i, r.task_names[i], names[i]);
    if (err == CM_OK) err = grouping_of(p->comm, c, r.average, ntasks, (const char *const *)names, *group, ngroups);
    cm_similarity_record_free(&r);
    return err;
}

static const char *mode_name(cm_set_mode m) { return m == CM_SET_SHARED ? "shared" : m == CM_SET_SINGLE ? "single" : "grouped"; }

/* train.zeroshot_baseline: the frozen CLIP's top-1 on the test images the run evaluated, from a
 * zero-shot trainer of the same configuration (same tasks, splits and class sentences). */
static cm_err zeroshot_accuracy(const cm_pipeline *p, double *accuracy)
{
    cm_config zs = p->cfg; /* shallow: the trainer only reads it */
    zs.method.name = CM_METHOD_ZEROSHOT;
    zs.multitask.mode = CM_MULTITASK_SINGLE;
    cm_trainer t;
    cm_err err = cm_trainer_create(&t, p->comm, &zs, p->config_text, "zeroshot", CM_SET_SINGLE, NULL, 0, 1);
    if (err == CM_OK) err = cm_trainer_evaluate(&t, accuracy, NULL);
    cm_trainer_destroy(&t);
    return err;
}

cm_err cm_pipeline_train(cm_pipeline *p, const int *group_of_task, int ngroups)
{
    const cm_config *c = &p->cfg;
    const cm_set_mode mode = c->multitask.mode == CM_MULTITASK_GROUPED  ? CM_SET_GROUPED
                             : c->multitask.mode == CM_MULTITASK_SHARED ? CM_SET_SHARED
                                                                        : CM_SET_SINGLE;
    int rank, *own_group = NULL, resumed = 0;
    MPI_Comm_rank(p->comm, &rank);
    cm_trainer t;
    double *accuracy = NULL, *zeroshot = NULL;
    int64_t *tested = NULL;
    double t0 = cm_now();
    cm_err err = CM_OK;
    if (mode == CM_SET_GROUPED && !group_of_task) {
        /* The task names are known once the data is open: a throw-away single-mode trainer would
         * cost a model load, so peek at the names through the tasks reader instead. */
        cm_tasks tasks;
        CM_CHECK(cm_tasks_open(&tasks, &c->data, (uint64_t)c->run.seed, p->comm));
        err = configured_grouping(p, tasks.ntasks, tasks.task_names, &own_group, &ngroups);
        cm_tasks_close(&tasks);
        CM_CHECK(err);
        group_of_task = own_group;
    }
    err = cm_trainer_create(&t, p->comm, c, p->config_text, "phase2", mode, group_of_task, ngroups, c->optim.steps);
    if (err != CM_OK) goto done;
    const int N = t.tasks.ntasks;
    if (p->resume) CM_CHECK_GOTO(err, cm_trainer_resume(&t, p->allow_config_change, &resumed), done);
    CM_CHECK_GOTO(err, cm_trainer_run(&t, NULL, 0, NULL), done);
    if (!(accuracy = calloc((size_t)N, sizeof *accuracy)) || !(tested = calloc((size_t)N, sizeof *tested)))
        CM_ERROR_GOTO(err, done, CM_ERR_MEM, "out of memory");
    CM_CHECK_GOTO(err, cm_trainer_evaluate(&t, accuracy, tested), done);
    if (c->train.zeroshot_baseline && c->method.name != CM_METHOD_ZEROSHOT) {
        /* The zero-shot trainer watches its own progress; this one's watchdog would see none. */
        cm_watchdog_stop(t.watchdog);
        t.watchdog = NULL;
        if (!(zeroshot = calloc((size_t)N, sizeof *zeroshot))) CM_ERROR_GOTO(err, done, CM_ERR_MEM, "out of memory");
        CM_CHECK_GOTO(err, zeroshot_accuracy(p, zeroshot), done);
    }
    if (rank == 0) {
        const double wall = cm_now() - t0;
        const int64_t trainable = (int64_t)t.set.table.total, clip = (int64_t)t.model.table.total;
        char path[4200];
        snprintf(path, sizeof path, "%s/results.h5", t.dir);
        cm_results r = {.ntasks = N, .task_names = (const char *const *)t.tasks.task_names, .accuracy = accuracy, .test_images = tested,
                        .zeroshot_accuracy = zeroshot,
                        .trainable_params = trainable, .clip_params = clip,
                        .group_of_task = mode == CM_SET_GROUPED ? group_of_task : NULL, .wall_time = wall,
                        .method = cm_method_name(c->method.name), .mode = mode_name(mode),
                        .config_text = p->config_text, .seed = c->run.seed};
        CM_CHECK_GOTO(err, cm_results_write(path, &r), done);
        double avg = 0;
        printf("\nresults: %s, %s mode, %lld trainable parameters (%.4f%% of CLIP's %lld), %.1f s\n",
               cm_method_name(c->method.name), mode_name(mode), (long long)trainable, 100.0 * trainable / clip,
               (long long)clip, wall);
        if (c->train.test_images > 0)
            printf("test: test images [%d, %d) of each task (train.test_skip, train.test_images)\n", c->train.test_skip,
                   c->train.test_skip + c->train.test_images);
        else if (c->train.test_skip > 0)
            printf("test: test images [%d, end) of each task (train.test_skip)\n", c->train.test_skip);
        printf("%-24s %6s %10s%s\n", "task", "group", "top-1 (%)", zeroshot ? "  zero-shot (%)     gain" : "");
        double zs_avg = 0;
        for (int task = 0; task < N; task++) {
            printf("%-24s %6d %10.2f", t.tasks.task_names[task], mode == CM_SET_GROUPED ? group_of_task[task] : -1,
                   accuracy[task]);
            if (zeroshot) printf(" %15.2f %+8.2f", zeroshot[task], accuracy[task] - zeroshot[task]);
            printf("\n");
            avg += accuracy[task] / N;
            if (zeroshot) zs_avg += zeroshot[task] / N;
        }
        printf("%-24s %6s %10.2f", "average", "", avg);
        if (zeroshot) printf(" %15.2f %+8.2f", zs_avg, avg - zs_avg);
        printf("\n-> %s\n", path);
        fflush(stdout);
    }
done:
    free(accuracy), free(zeroshot), free(tested), free(own_group);
    cm_trainer_destroy(&t);
    return err;
}
