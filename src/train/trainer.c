#include "clipmtl/trainer.h"

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clipmtl/clip_weights.h"
#include "clipmtl/fs.h"
#include "clipmtl/grad_reduce.h"
#include "clipmtl/h5io.h"
#include "clipmtl/gemm.h"
#include "clipmtl/log.h"
#include "clipmtl/method_config.h"
#include "clipmtl/progress.h"
#include "clipmtl/run_files.h"
#include "clipmtl/run_lock.h"
#include "clipmtl/tokenizer.h"
#include "clipmtl/train_step.h"
#include "clipmtl/weight_methods.h"

/* Streams of the run seed (cm_rng_stream's first argument), one per purpose. */
enum { STREAM_PROMPT_INIT = 101 };

/* The stop signal that arrived (SIGTERM or SIGUSR1), 0 while none has. */
static atomic_int stop_requested = 0;

cm_err cm_trainer_inject_fault(int my_rank, int64_t steps_done)
{
    const char *spec = getenv("CLIPMTL_FAULT");
    char kind[8];
    int rank;
    long long step;
    if (!spec || sscanf(spec, "%7[a-z]:%d:%lld", kind, &rank, &step) != 3 || rank != my_rank || step != steps_done)
        return CM_OK;
    if (strcmp(kind, "kill") == 0) raise(SIGKILL);
    CM_ERROR(CM_ERR_INTERNAL, "injected failure at step %lld (CLIPMTL_FAULT=%s)", step, spec);
}
/* The stop signals never interrupt the computing threads: every thread blocks them, and one
 * thread of their own takes them with sigwait. With a handler, a USR1 corrupted the heap now and
 * then: the rank aborted in a later malloc or free (oneDNN's during the next steps, HDF5's in the
 * stop checkpoint) in 4 of 90 runs stopped by it with oneDNN's GEMMs and in 0 of 30 with OpenBLAS's,
 * never in 25 runs without it; where the signal did the damage was not found. */
static void *wait_for_stop_signal(void *set)
{
    for (;;) {
        int sig;
        if (sigwait(set, &sig) == 0) atomic_store(&stop_requested, sig);
    }
    return NULL;
}

int cm_trainer_stop_requested(void) { return atomic_load(&stop_requested) != 0; }

void cm_trainer_catch_signals(void)
{
    static sigset_t stop; /* read by the waiting thread for the life of the process */
    static pthread_t waiter;
    sigemptyset(&stop);
    sigaddset(&stop, SIGTERM);
    sigaddset(&stop, SIGUSR1);
    /* Blocked here, before MPI_Init and any thread of ours: every thread started later inherits
     * the mask, Open MPI's and PMIx's included. A signal sent while the job starts waits for the
     * waiter. Without the waiter (no thread could start) the signals stay at their defaults. */
    pthread_sigmask(SIG_BLOCK, &stop, NULL);
    pthread_attr_t attr;
    int started = pthread_attr_init(&attr) == 0 && pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED) == 0 &&
                  pthread_create(&waiter, &attr, wait_for_stop_signal, &stop) == 0;
    pthread_attr_destroy(&attr);
    if (!started) pthread_sigmask(SIG_UNBLOCK, &stop, NULL);
}

cm_err cm_trainer_make_run_dir(MPI_Comm comm, const char *dir)
{
    int rank;
    MPI_Comm_rank(comm, &rank);
    cm_err err = rank == 0 ? cm_mkdir_p(dir) : CM_OK;
    if (err == CM_OK && rank == 0) err = cm_run_lock(dir);
    int ok = err == CM_OK, all_ok;
    CM_MPI_CHECK(MPI_Allreduce(&ok, &all_ok, 1, MPI_INT, MPI_MIN, comm));
    CM_CHECK(err);
    CM_ASSERT(all_ok, CM_ERR_MPI, "rank 0 could not create or lock %s (see its error)", dir);
    return CM_OK;
}

/* The model, its weights frozen for the GEMM layer (bf16 copies them once, here). */
static cm_err load_model(const cm_config *cfg, cm_clip_model *m)
{
    CM_CHECK(cm_gemm_select(cfg->compute.gemm, cfg->compute.precision));
    if (cfg->model.weights && cfg->model.weights[0]) {
        CM_CHECK(cm_clip_load(m, cfg->model.weights));
    } else {
        cm_clip_config c;
        CM_CHECK(cm_clip_preset(cfg->model.preset, &c));
        CM_CHECK(cm_clip_create(m, &c));
        CM_CHECK(cm_clip_init_random(m, (uint64_t)cfg->model.init_seed));
    }
    return cm_gemm_freeze(m->params, m->table.total);
}

/* Word initialisation (CoOp, IVLP, MaPLe): the token embeddings of the first n words of ctx_init. */
static cm_err word_init_rows(const cm_trainer *t, const cm_tokenizer *tok, int n, float **rows)
{
    *rows = NULL;
    const char *words = t->cfg->method.ctx_init;
    if (!words || !words[0] || n == 0 || !cm_method_word_init(t->cfg->method.name)) return CM_OK;
    int32_t *ids = NULL;
    size_t count = 0;
    CM_CHECK(cm_tokenizer_encode(tok, words, &ids, &count));
    const int D = t->model.cfg.text.width;
    cm_err err = CM_OK;
    if ((int)count < n)
        err = CM_RAISE(CM_ERR_CONFIG,
                       "method.ctx_init \"%s\" (%s) has %zu tokens, but %s initialises its %d text prompt rows "
                       "from one token each",
                       words, cm_config_origin(t->cfg, "method.ctx_init"), count, cm_method_name(t->cfg->method.name), n);
    else if (!(*rows = malloc((size_t)n * D * sizeof **rows)))
        err = CM_RAISE(CM_ERR_MEM, "out of memory");
    else
        for (int i = 0; i < n; i++)
            memcpy(*rows + (size_t)i * D, t->model.w.text.token_embedding + (size_t)ids[i] * D, D * sizeof(float));
    free(ids);
    return err;
}

static cm_err init_prompts(cm_trainer *t, const cm_tokenizer *tok)
{
    float *rows = NULL;
    CM_CHECK(word_init_rows(t, tok, t->set.methods[0].opt.n_text, &rows));
    for (int i = 0; i < t->set.nmethods; i++) {
        cm_rng rng;
        cm_rng_seed(&rng, (uint64_t)t->cfg->run.seed, cm_rng_stream(STREAM_PROMPT_INIT, (uint64_t)i, 0, 0));
        cm_method_init(&t->set.methods[i], t->params, &rng, rows);
        cm_method_copy_model_weights(&t->set.methods[i], &t->model, t->params); /* full, bitfit */
    }
    free(rows);
    return CM_OK;
}

/* Class sentences of every task, tokenized: a task's sentences hold as many tokens before the class
 * name as its composed text prompt has rows (in grouped mode the group's rows, then the task's). */
static cm_err tokenize_classes(cm_trainer *t, const cm_tokenizer *tok)
{
    const int N = t->tasks.ntasks, C = t->tasks.nclasses, ctx = t->model.cfg.context_length;
    CM_CALLOC(t->class_ids, (size_t)N * C * ctx);
    char sentence[1024];
    for (int task = 0; task < N; task++) {
        cm_prompt_stack text, visual;
        cm_prompt_set_shapes(&t->set, task, &text, &visual);
        for (int c = 0; c < C; c++) {
            int32_t *ids = t->class_ids + ((size_t)task * C + c) * ctx;
            CM_CHECK(cm_class_sentence(tok, t->cfg->method.ctx_init, text.n, t->tasks.class_names[c], sentence, sizeof sentence));
            CM_CHECK(cm_tokenize(tok, sentence, ctx, 1, ids));
            int eot = 0;
            for (int k = 1; k < ctx; k++)
                if (ids[k] > ids[eot]) eot = k;
            CM_ASSERT(eot > text.n, CM_ERR_CONFIG, "class sentence \"%s\" is too short for %d text prompts", sentence, text.n);
        }
    }
    return CM_OK;
}

/* The rank that writes a prompt method into checkpoints: one that trains it. */
static int method_owner(const cm_trainer *t, int method)
{
    const cm_prompt_set *s = &t->set;
    if (s->mode == CM_SET_SHARED) return 0;
    if (s->mode == CM_SET_SINGLE) return t->layout.task_first_rank[method];
    if (method >= s->ngroups) return t->layout.task_first_rank[method - s->ngroups];
    int owner = t->nranks;
    for (int task = 0; task < s->ntasks; task++)
        if (s->group_of_task[task] == method && t->layout.task_first_rank[task] < owner) owner = t->layout.task_first_rank[task];
    return owner;
}

static cm_err assign_owners(cm_trainer *t)
{
    CM_CALLOC(t->entry_owner, t->set.table.count);
    for (int e = 0; e < t->set.table.count; e++) {
        size_t off = t->set.table.entries[e].offset;
        for (int m = 0; m < t->set.nmethods; m++)
            if (off >= t->set.methods[m].first && off < t->set.methods[m].first + t->set.methods[m].count)
                t->entry_owner[e] = method_owner(t, m);
    }
    return CM_OK;
}

/* <run>/splits.h5: which image of every task is train, test or unused (docs/formats.md). */
static cm_err write_splits(const cm_trainer *t)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/splits.h5", t->dir);
    cm_h5_file f = {0};
    CM_CHECK(cm_h5_create_small(&f, t->comm, path));
    cm_err err = cm_tasks_write_splits(&t->tasks, &f);
    if (err != CM_OK) {
        cm_h5_discard(&f);
        return cm_error_trace(__FILE__, __LINE__, __func__, err);
    }
    CM_CHECK(cm_h5_close(&f));
    return CM_OK;
}

cm_err cm_trainer_create(cm_trainer *t, MPI_Comm comm, const cm_config *cfg, const char *config_text, const char *phase,
                         cm_set_mode mode, const int *group_of_task, int ngroups, int64_t total_steps)
{
    memset(t, 0, sizeof *t);
    t->comm = comm, t->cfg = cfg, t->config_text = config_text, t->phase = phase, t->total_steps = total_steps;
    t->group_of_task = mode == CM_SET_GROUPED ? group_of_task : NULL;
    MPI_Comm_rank(t->comm, &t->rank);
    MPI_Comm_size(t->comm, &t->nranks);
    snprintf(t->dir, sizeof t->dir, "%s/%s", cfg->run.out_dir, cfg->run.name);
    CM_CHECK(cm_trainer_make_run_dir(t->comm, t->dir));

    CM_CHECK(load_model(cfg, &t->model));
    CM_CHECK(cm_config_check_model(cfg, &t->model.cfg));
    CM_CHECK(cm_tasks_open(&t->tasks, &cfg->data, (uint64_t)cfg->run.seed, t->comm));
    CM_ASSERT(t->tasks.image_size == t->model.cfg.image_size, CM_ERR_CONFIG,
              "data.image_size %d (%s) differs from the model's input size %d", t->tasks.image_size,
              cm_config_origin(cfg, "data.image_size"), t->model.cfg.image_size);
    CM_CHECK(write_splits(t));
    CM_CHECK(cm_layout_compute(&t->layout, t->nranks, t->tasks.ntasks, t->rank));
    CM_CHECK(cm_comms_create(&t->comms, t->comm, &t->layout, mode == CM_SET_GROUPED ? group_of_task : NULL, ngroups));

    cm_method_options opt;
    cm_method_options_from_config(&cfg->method, &opt);
    const cm_clip_config *mc = &t->model.cfg;
    opt.model = *mc;
    CM_CHECK(cm_prompt_set_create(&t->set, mode, &opt, t->tasks.ntasks, group_of_task, ngroups, mc->text.width,
                                  mc->vision.width, mc->text.layers, mc->vision.layers));
    const size_t P = t->set.table.total;
    CM_CALLOC(t->params, P);
    CM_CALLOC(t->grads, P);
    CM_CALLOC(t->task_grad, P);
    cm_optim_options oo;
    cm_optim_options_default(cfg->optim.name, &oo);
    oo.momentum = cfg->optim.momentum, oo.weight_decay = cfg->optim.weight_decay;
    oo.beta1 = cfg->optim.beta1, oo.beta2 = cfg->optim.beta2, oo.eps = cfg->optim.eps;
    CM_CHECK(cm_optimizer_create(&t->opt, &oo, P));

    cm_tokenizer *tok;
    CM_CHECK(cm_tokenizer_load(&tok, NULL));
    cm_err err = init_prompts(t, tok);
    if (err == CM_OK) err = tokenize_classes(t, tok);
    cm_tokenizer_free(tok);
    CM_CHECK(err);
    CM_CHECK(assign_owners(t));

    /* Batches: every task draws optim.batch_size images per step; with P >= N its ranks split them. */
    const int B = cfg->optim.batch_size;
    t->shard_start = 0, t->shard_count = B;
    if (t->nranks >= t->tasks.ntasks) cm_layout_shard(B, t->layout.shard, t->layout.nshards, &t->shard_start, &t->shard_count);
    /* A packed dataset: each rank reads its own tasks' images once, collectively. */
    CM_CHECK(cm_tasks_preload(&t->tasks, t->comm, t->layout.nlocal, t->layout.local_tasks));
    CM_CALLOC(t->loaders, t->layout.nlocal);
    for (int i = 0; i < t->layout.nlocal; i++)
        CM_CHECK(cm_loader_create(&t->loaders[i], &t->tasks, t->layout.local_tasks[i], B, t->shard_start, t->shard_count,
                                  (uint64_t)cfg->run.seed));
    for (int task = 0; task < t->tasks.ntasks; task++) {
        int64_t spe = cm_tasks_steps_per_epoch(&t->tasks, task, B);
        if (spe > t->steps_per_epoch) t->steps_per_epoch = spe;
    }
    if (t->total_steps <= 0) t->total_steps = (int64_t)cfg->optim.epochs * t->steps_per_epoch;
    total_steps = t->total_steps;
    /* Phase 1 may take snapshot gradients over fixed images in whole micro-batches of B. */
    const int snapshot_micro = strcmp(phase, "phase1") == 0 && cm_config_snapshot_images(cfg) != CM_SNAPSHOT_BATCH;
    const int step_rows = snapshot_micro ? B : t->shard_count;
    const int rows = cfg->train.eval_batch_size > step_rows ? cfg->train.eval_batch_size : step_rows;
    const size_t per = (size_t)3 * mc->image_size * mc->image_size;
    CM_CALLOC(t->pixels, per * rows);
    CM_CALLOC(t->labels, rows);
    /* The text tower runs up to the last EOT of the class sentences: size for that. */
    int tokens = 0;
    for (size_t r = 0; r < (size_t)t->tasks.ntasks * t->tasks.nclasses; r++) {
        const int32_t *ids = t->class_ids + r * mc->context_length;
        int eot = 0;
        for (int k = 1; k < mc->context_length; k++)
            if (ids[k] > ids[eot]) eot = k;
        if (eot + 1 > tokens) tokens = eot + 1;
    }
    size_t train_bytes = cm_task_step_arena_bytes(mc, &t->set, step_rows, t->tasks.nclasses, tokens, 1);
    size_t eval_bytes = cm_task_step_arena_bytes(mc, &t->set, cfg->train.eval_batch_size, t->tasks.nclasses, tokens, 0);
    CM_CHECK(cm_arena_create(&t->arena, train_bytes > eval_bytes ? train_bytes : eval_bytes));
    t->schedule = (cm_schedule){.base_lr = cfg->optim.lr,
                                .max_epochs = (int)((total_steps + t->steps_per_epoch - 1) / t->steps_per_epoch),
                                .warmup_epochs = cfg->optim.warmup_epochs,
                                .warmup = cfg->optim.warmup,
                                .warmup_lr = cfg->optim.warmup_lr};
    if (cfg->optim.schedule == CM_SCHEDULE_CONSTANT) t->schedule.max_epochs = 0;
    if (t->rank == 0) {
        cm_layout_print(&t->layout, (const char *const *)t->tasks.task_names, B, stdout);
        char desc[256];
        printf("%s: %s, method %s (%s), %zu trainable parameters, %lld steps of %lld per epoch; gemm %s\n", phase,
               cm_clip_config_str(mc, desc, sizeof desc), cm_method_name(opt.kind),
               mode == CM_SET_SHARED ? "shared" : mode == CM_SET_SINGLE ? "per task" : "per group + per task", P,
               (long long)total_steps, (long long)t->steps_per_epoch, cm_gemm_describe());
        fflush(stdout);
    }
    CM_CHECK(cm_watchdog_start(&t->watchdog, cfg->run.stall_timeout, t->rank, phase));
    return CM_OK;
}

void cm_trainer_destroy(cm_trainer *t)
{
    cm_watchdog_stop(t->watchdog);
    for (int i = 0; t->loaders && i < t->layout.nlocal; i++)
        if (t->loaders[i]) cm_loader_destroy(t->loaders[i]);
    free(t->loaders);
    cm_arena_destroy(&t->arena);
    free(t->pixels), free(t->labels), free(t->class_ids), free(t->entry_owner);
    free(t->params), free(t->grads), free(t->task_grad);
    cm_optimizer_destroy(&t->opt);
    cm_prompt_set_destroy(&t->set);
    cm_comms_free(&t->comms);
    cm_layout_free(&t->layout);
    cm_tasks_close(&t->tasks);
    cm_gemm_unfreeze(t->model.params);
    cm_clip_destroy(&t->model);
    memset(t, 0, sizeof *t);
}

static void checkpoint_dir(const cm_trainer *t, char *buf, size_t len)
{
    snprintf(buf, len, "%s/checkpoints-%s", t->dir, t->phase);
}

static cm_err save_checkpoint(cm_trainer *t)
{
    char dir[4200];
    checkpoint_dir(t, dir, sizeof dir);
    cm_checkpoint_extras extras = {.ntasks = t->tasks.ntasks, .group_of_task = t->group_of_task,
                                   .snapshots = t->snapshots};
    cm_watchdog_beat(t->watchdog, "writing a checkpoint", t->step);
    CM_CHECK(cm_checkpoint_write(t->comm, dir, t->step, t->cfg->run.keep_checkpoints, &t->set.table, t->params,
                                 &t->opt, t->entry_owner, t->config_text, &extras));
    return CM_OK;
}

cm_err cm_trainer_resume(cm_trainer *t, int allow_config_change, int *resumed)
{
    char dir[4200], path[4400];
    checkpoint_dir(t, dir, sizeof dir);
    int64_t step;
    int found;
    CM_CHECK(cm_checkpoint_read_newest(t->comm, dir, t->cfg, allow_config_change, &t->set.table, t->params, &t->opt,
                                       &step, path, sizeof path, &found));
    *resumed = found;
    if (!found) return CM_OK;
    CM_ASSERT(step <= t->total_steps, CM_ERR_CONFIG, "%s holds step %lld, beyond this run's %lld steps", path,
              (long long)step, (long long)t->total_steps);
    t->step = step;
    snprintf(t->resumed_from, sizeof t->resumed_from, "%s", path);
    if (t->rank == 0) printf("%s: resumed from %s at step %lld\n", t->phase, path, (long long)t->step);
    return CM_OK;
}

/* The methods task `task` uses: the ranges a rank must update. */
static int uses_method(const cm_trainer *t, int method)
{
    for (int i = 0; i < t->layout.nlocal; i++) {
        const cm_prompt_method *m[2];
        int k = cm_prompt_set_task_methods(&t->set, t->layout.local_tasks[i], m);
        for (int j = 0; j < k; j++)
            if (m[j] == &t->set.methods[method]) return 1;
    }
    return 0;
}

/* local_grads: the batch gradients of the local tasks' shards (reduced here over each task's
 * ranks) or, with reduce = 0, whole task gradients already. */
static cm_err record_snapshot(cm_trainer *t, float **local_grads, int reduce, int64_t step, cm_similarity_snapshots *snaps)
{
    const int N = t->tasks.ntasks;
    const cm_prompt_method *shared = &t->set.methods[0];
    const float **held = calloc((size_t)N, sizeof *held);
    double *cosine = calloc((size_t)N * N, sizeof *cosine), *norms = calloc((size_t)N, sizeof *norms);
    cm_err err = CM_OK;
    if (!held || !cosine || !norms) CM_ERROR_GOTO(err, done, CM_ERR_MEM, "out of memory for a similarity snapshot");
    for (int i = 0; i < t->layout.nlocal; i++) {
        /* The task's gradient: summed over its data-parallel shards. */
        if (reduce && t->nranks >= N &&
            MPI_Allreduce(MPI_IN_PLACE, local_grads[i], (int)shared->count, MPI_FLOAT, MPI_SUM, t->comms.task) != MPI_SUCCESS)
            CM_ERROR_GOTO(err, done, CM_ERR_MPI, "task gradient allreduce failed");
        held[t->layout.local_tasks[i]] = local_grads[i];
    }
    CM_CHECK_GOTO(err, cm_similarity_compute(t->comm, N, (int64_t)shared->count, held, 0, NULL, cosine, norms), done);
    CM_CHECK_GOTO(err, cm_similarity_snapshots_add(snaps, step, cosine, norms), done);
    if (t->rank == 0) {
        const int images = cm_config_snapshot_images(t->cfg);
        if (images == CM_SNAPSHOT_BATCH) printf("snapshot at step %lld: cosine similarity of the task gradients (one batch)\n", (long long)step);
        else if (images == 0) printf("snapshot at step %lld: cosine similarity of the task gradients (all training images)\n", (long long)step);
        else printf("snapshot at step %lld: cosine similarity of the task gradients (%d training images)\n", (long long)step, images);
        for (int a = 0; a < N; a++) {
            printf("  %-18.18s", t->tasks.task_names[a]);
            for (int b = 0; b < N; b++) printf(" %6.3f", cosine[a * N + b]);
            printf("   |g| %.3g\n", norms[a]);
        }
    }
done:
    free(held), free(cosine), free(norms);
    return err;
}

cm_err cm_trainer_run(cm_trainer *t, const int64_t *snapshot_steps, int nsnapshots, cm_similarity_snapshots *snaps)
{
    const int N = t->tasks.ntasks, C = t->tasks.nclasses, B = t->cfg->optim.batch_size;
    const int ctx = t->model.cfg.context_length;
    const size_t P = t->set.table.total;
    cm_err err = CM_OK;
    /* Per-task sums of this log window: loss, correct, images; reduced over the communicator when printed. */
    double *stats = calloc((size_t)3 * N, sizeof *stats);
    float **snap_grads = calloc((size_t)t->layout.nlocal, sizeof *snap_grads);
    if (!stats || !snap_grads) CM_ERROR_GOTO(err, done, CM_ERR_MEM, "out of memory");
    if (snaps)
        for (int i = 0; i < t->layout.nlocal; i++)
            if (!(snap_grads[i] = calloc(t->set.methods[0].count + 1, sizeof(float))))
                CM_ERROR_GOTO(err, done, CM_ERR_MEM, "out of memory");
    t->snapshots = snaps;
    double window_start = cm_now(), run_start = window_start, waited = 0;
    int64_t window_steps = 0, first_step = t->step;
    while (t->step < t->total_steps) {
        const int64_t step = t->step; /* 0-based index of this update */
        int snapshot = 0;
        for (int s = 0; snaps && s < nsnapshots; s++) snapshot |= snapshot_steps[s] == step + 1;
        cm_watchdog_beat(t->watchdog, "loading and computing its tasks' batches", step + 1);
        memset(t->grads, 0, P * sizeof(float));
        for (int i = 0; i < t->layout.nlocal; i++) {
            const int task = t->layout.local_tasks[i];
            double w = 0, loss = 0;
            int correct = 0;
            CM_CHECK_GOTO(err, cm_loader_next(t->loaders[i], step, t->pixels, t->labels, &w), done);
            waited += w;
            memset(t->task_grad, 0, P * sizeof(float));
            CM_CHECK_GOTO(err, cm_task_step(&t->model, &t->set, task, t->params, t->pixels, t->labels, t->shard_count, B,
                                            t->class_ids + (size_t)task * C * ctx, C, &t->arena, t->task_grad, &loss,
                                            &correct),
                          done);
            for (size_t k = 0; k < P; k++) t->grads[k] += t->task_grad[k];
            if (snapshot) memcpy(snap_grads[i], t->task_grad + t->set.methods[0].first, t->set.methods[0].count * sizeof(float));
            stats[3 * task] += loss, stats[3 * task + 1] += correct, stats[3 * task + 2] += t->shard_count;
        }
        cm_watchdog_beat(t->watchdog, "exchanging gradients with the other ranks", step + 1);
        if (snapshot) {
            const int images = cm_config_snapshot_images(t->cfg), batch = images == CM_SNAPSHOT_BATCH;
            for (int i = 0; !batch && i < t->layout.nlocal; i++)
                CM_CHECK_GOTO(err, cm_trainer_task_gradient(t, i, images, snap_grads[i]), done);
            CM_CHECK_GOTO(err, record_snapshot(t, snap_grads, batch, step + 1, snaps), done);
        }
        CM_CHECK_GOTO(err, cm_reduce_prompt_gradients(&t->set, &t->layout, &t->comms, t->grads), done);
        const double lr = cm_schedule_lr(&t->schedule, (int)(step / t->steps_per_epoch));
        cm_optimizer_count_step(&t->opt);
        for (int m = 0; m < t->set.nmethods; m++) {
            if (!uses_method(t, m)) continue;
            const cm_prompt_method *pm = &t->set.methods[m];
            if (t->cfg->optim.clip_grad_norm > 0) cm_clip_grad_norm(t->grads + pm->first, pm->count, t->cfg->optim.clip_grad_norm);
            cm_optimizer_update_range(&t->opt, t->params, t->grads, pm->first, pm->count, lr);
        }
        t->step++, window_steps++;
        CM_CHECK_GOTO(err, cm_trainer_inject_fault(t->rank, t->step), done);
        const int last = t->step == t->total_steps;
        if (t->step % t->cfg->run.log_every == 0 || last) {
            cm_watchdog_beat(t->watchdog, "summing the log statistics over the ranks", t->step);
            CM_MPI_CHECK_GOTO(err, MPI_Allreduce(MPI_IN_PLACE, stats, 3 * N, MPI_DOUBLE, MPI_SUM, t->comm), done);
            double loss = 0, correct = 0, seen = 0, now = cm_now();
            for (int task = 0; task < N; task++) loss += stats[3 * task] / window_steps / N, correct += stats[3 * task + 1], seen += stats[3 * task + 2];
            const double rate = seen / (now - window_start), per_step = (now - run_start) / (t->step - first_step);
            if (t->rank == 0)
                printf("%s step %lld/%lld  epoch %lld  lr %.3g  loss %.4f  acc %.1f%%  %.1f img/s  data wait %.0f%%  "
                       "ETA %.0f s\n",
                       t->phase, (long long)t->step, (long long)t->total_steps, (long long)(step / t->steps_per_epoch),
                       lr, loss, 100 * correct / seen, rate, 100 * waited / (now - window_start),
                       per_step * (t->total_steps - t->step));
            fflush(stdout);
            memset(stats, 0, (size_t)3 * N * sizeof *stats);
            window_start = now, window_steps = 0, waited = 0;
        }
        cm_watchdog_beat(t->watchdog, "agreeing with the other ranks whether to stop", t->step);
        int stop = cm_trainer_stop_requested();
        CM_MPI_CHECK_GOTO(err, MPI_Allreduce(MPI_IN_PLACE, &stop, 1, MPI_INT, MPI_MAX, t->comm), done);
        const int64_t every = t->cfg->run.checkpoint_every;
        if (last || stop || (every > 0 && t->step % every == 0)) CM_CHECK_GOTO(err, save_checkpoint(t), done);
        if (stop && !last) {
            if (t->rank == 0) printf("%s: stopped by a signal at step %lld; checkpoint written\n", t->phase, (long long)t->step);
            CM_ERROR_GOTO(err, done, CM_ERR_INTERRUPTED, "stopped by a signal at step %lld (checkpoint written; rerun "
                          "with --resume)", (long long)t->step);
        }
    }
done:
    t->snapshots = NULL;
    for (int i = 0; snap_grads && i < t->layout.nlocal; i++) free(snap_grads[i]);
    free(snap_grads), free(stats);
    return err;
}

/* The test images evaluated of a task: [skip, skip + returned count) of its test split. */
static int eval_window(const cm_trainer *t, int task, int *skip)
{
    const int n = t->tasks.n_test[task], first = t->cfg->train.test_skip < n ? t->cfg->train.test_skip : n,
              cap = t->cfg->train.test_images, left = n - first;
    if (skip) *skip = first;
    return cap > 0 && cap < left ? cap : left;
}

cm_err cm_trainer_evaluate(cm_trainer *t, double *accuracy, int64_t *tested)
{
    const int N = t->tasks.ntasks, C = t->tasks.nclasses, ctx = t->model.cfg.context_length;
    const int EB = t->cfg->train.eval_batch_size;
    const size_t per = (size_t)3 * t->model.cfg.image_size * t->model.cfg.image_size;
    double *counts = calloc((size_t)2 * N, sizeof *counts);
    if (!counts) CM_ERROR(CM_ERR_MEM, "out of memory");
    cm_err err = CM_OK;
    /* Progress counts this rank's images (rank 0 prints; the ranks' shares are about equal). */
    int64_t mine = 0;
    for (int i = 0; i < t->layout.nlocal; i++) {
        const int task = t->layout.local_tasks[i], n = eval_window(t, task, NULL);
        int start = 0, count = n;
        if (t->nranks >= N) cm_layout_shard(n, t->layout.shard, t->layout.nshards, &start, &count);
        mine += count;
    }
    cm_progress progress;
    cm_progress_start(&progress, "evaluation", t->nranks > 1 ? "test images on rank 0" : "test images", mine);
    for (int i = 0; i < t->layout.nlocal; i++) {
        int skip;
        const int task = t->layout.local_tasks[i], n = eval_window(t, task, &skip);
        int start = 0, count = n;
        if (t->nranks >= N) cm_layout_shard(n, t->layout.shard, t->layout.nshards, &start, &count);
        for (int b0 = 0; b0 < count; b0 += EB) {
            cm_watchdog_beat(t->watchdog, "evaluating", t->step);
            const int want = count - b0 < EB ? count - b0 : EB;
            cm_progress_add(&progress, want);
            int nb = 0;
            for (int j = 0; j < want; j++) {
                const int item = skip + start + b0 + j;
                int loaded;
                CM_CHECK_GOTO(err, cm_tasks_load_item(&t->tasks, task, CM_SPLIT_TEST, item, NULL, t->pixels + per * nb, &loaded),
                              done);
                /* With bad_data: skip an unreadable test image is left out, not replaced. */
                if (loaded != item) continue;
                t->labels[nb++] = cm_tasks_label(&t->tasks, task, CM_SPLIT_TEST, item);
            }
            if (nb == 0) continue;
            double loss;
            int correct;
            CM_CHECK_GOTO(err, cm_task_step(&t->model, &t->set, task, t->params, t->pixels, t->labels, nb, nb,
                                            t->class_ids + (size_t)task * C * ctx, C, &t->arena, NULL, &loss, &correct),
                          done);
            counts[2 * task] += correct, counts[2 * task + 1] += nb;
        }
    }
    cm_watchdog_beat(t->watchdog, "summing the test counts over the ranks", t->step);
    cm_progress_end(&progress);
    if (MPI_Allreduce(MPI_IN_PLACE, counts, 2 * N, MPI_DOUBLE, MPI_SUM, t->comm) != MPI_SUCCESS)
        CM_ERROR_GOTO(err, done, CM_ERR_MPI, "summing the test counts failed");
    for (int task = 0; task < N; task++) {
        accuracy[task] = counts[2 * task + 1] > 0 ? 100 * counts[2 * task] / counts[2 * task + 1] : 0;
        if (tested) tested[task] = (int64_t)counts[2 * task + 1];
    }
done:
    free(counts);
    return err;
}
