/* The batch loader: one worker thread per loader prepares the next batch into a private buffer
 * while the caller's step runs; cm_loader_next copies it out and asks for the one after. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "clipmtl/loader.h"
#include "clipmtl/log.h"
#include "tasks_internal.h"

/* Stream purposes (first component of cm_rng_stream). */
#define PURPOSE_EPOCH 0x45504f4348ull /* "EPOCH" */
#define PURPOSE_AUGMENT 0x4155474dull /* "AUGM" */

typedef enum { JOB_IDLE, JOB_PENDING, JOB_RUNNING, JOB_DONE } job_state;

struct cm_loader {
    const cm_tasks *t;
    int task, B, start, count;
    uint64_t seed;
    size_t image_floats;
    float *pixels; /* the prepared shard [count, 3, S, S] */
    int *labels;
    int *perm;     /* the permutation of perm_epoch (worker only) */
    int64_t perm_epoch;

    pthread_t thread;
    int thread_started;
    pthread_mutex_t mutex;
    pthread_cond_t wake, done;
    job_state state;
    int64_t job; /* the step asked for / being prepared / prepared */
    int quit;
    cm_err job_err;
    cm_error_state job_error;
};

static void epoch_permutation(const cm_tasks *t, int task, uint64_t seed, int64_t epoch, int *perm)
{
    int n = t->n_train[task];
    for (int i = 0; i < n; i++) perm[i] = i;
    cm_rng rng;
    cm_rng_seed(&rng, seed, cm_rng_stream(PURPOSE_EPOCH, cm_tasks_key(t, task), (uint64_t)epoch, 0));
    cm_rng_shuffle(&rng, perm, n);
}

static int item_at(const int *perm, int n, int B, int64_t steps_per_epoch, int64_t step, int position)
{
    int64_t within = step % steps_per_epoch;
    return perm[(within * B + position) % n];
}

int cm_loader_item(const cm_tasks *t, int task, int B, uint64_t seed, int64_t step, int position)
{
    int n = t->n_train[task];
    int64_t spe = cm_tasks_steps_per_epoch(t, task, B);
    int *perm = malloc(sizeof *perm * (size_t)(n ? n : 1));
    if (!perm || spe <= 0) {
        free(perm);
        return -1;
    }
    epoch_permutation(t, task, seed, step / spe, perm);
    int item = item_at(perm, n, B, spe, step, position);
    free(perm);
    return item;
}

void cm_loader_augment_rng(const cm_tasks *t, int task, uint64_t seed, int64_t step, int position, cm_rng *rng)
{
    cm_rng_seed(rng, seed, cm_rng_stream(PURPOSE_AUGMENT, cm_tasks_key(t, task), (uint64_t)step, (uint64_t)position));
}

/* Worker side: the whole shard of one step. */
static cm_err prepare(cm_loader *l, int64_t step)
{
    const cm_tasks *t = l->t;
    int n = t->n_train[l->task];
    int64_t spe = cm_tasks_steps_per_epoch(t, l->task, l->B), epoch = step / spe;
    if (epoch != l->perm_epoch) {
        epoch_permutation(t, l->task, l->seed, epoch, l->perm);
        l->perm_epoch = epoch;
    }
    for (int j = 0; j < l->count; j++) {
        int position = l->start + j, loaded;
        cm_rng rng;
        cm_loader_augment_rng(t, l->task, l->seed, step, position, &rng);
        CM_CHECK(cm_tasks_load_item(t, l->task, CM_SPLIT_TRAIN, item_at(l->perm, n, l->B, spe, step, position), &rng,
                                    l->pixels + l->image_floats * j, &loaded));
        l->labels[j] = cm_tasks_label(t, l->task, CM_SPLIT_TRAIN, loaded);
    }
    return CM_OK;
}

static void *worker(void *arg)
{
    cm_loader *l = arg;
    pthread_mutex_lock(&l->mutex);
    for (;;) {
        while (!l->quit && l->state != JOB_PENDING) pthread_cond_wait(&l->wake, &l->mutex);
        if (l->quit) break;
        l->state = JOB_RUNNING;
        int64_t step = l->job;
        pthread_mutex_unlock(&l->mutex);
        cm_error_clear();
        cm_err err = prepare(l, step);
        pthread_mutex_lock(&l->mutex);
        l->job_err = err;
        if (err != CM_OK) cm_error_save(&l->job_error);
        l->state = JOB_DONE;
        pthread_cond_broadcast(&l->done);
    }
    pthread_mutex_unlock(&l->mutex);
    return NULL;
}

cm_err cm_loader_create(cm_loader **out, const cm_tasks *t, int task, int B, int shard_start, int shard_count,
                        uint64_t seed)
{
    *out = NULL;
    CM_ASSERT(task >= 0 && task < t->ntasks, CM_ERR_ARG, "loader: task %d outside 0..%d", task, t->ntasks - 1);
    CM_ASSERT(B > 0 && shard_start >= 0 && shard_count >= 0 && shard_start + shard_count <= B, CM_ERR_ARG,
              "loader: shard [%d, %d) is not a part of a batch of %d", shard_start, shard_start + shard_count, B);
    CM_ASSERT(t->n_train[task] > 0, CM_ERR_ARG, "loader: task '%s' has no training images", t->task_names[task]);
    cm_loader *l;
    CM_CALLOC(l, 1);
    *l = (cm_loader){.t = t, .task = task, .B = B, .start = shard_start, .count = shard_count, .seed = seed,
                     .image_floats = (size_t)3 * t->image_size * t->image_size, .perm_epoch = -1, .job = -1};
    l->pixels = malloc(sizeof *l->pixels * l->image_floats * (size_t)(shard_count ? shard_count : 1));
    l->labels = malloc(sizeof *l->labels * (size_t)(shard_count ? shard_count : 1));
    l->perm = malloc(sizeof *l->perm * (size_t)t->n_train[task]);
    if (!l->pixels || !l->labels || !l->perm) {
        cm_loader_destroy(l);
        CM_ERROR(CM_ERR_MEM, "loader: out of memory for a shard of %d images of %dx%d", shard_count, t->image_size,
                 t->image_size);
    }
    pthread_mutex_init(&l->mutex, NULL);
    pthread_cond_init(&l->wake, NULL);
    pthread_cond_init(&l->done, NULL);
    int rc = pthread_create(&l->thread, NULL, worker, l);
    if (rc != 0) {
        pthread_mutex_destroy(&l->mutex);
        pthread_cond_destroy(&l->wake);
        pthread_cond_destroy(&l->done);
        cm_loader_destroy(l);
        CM_ERROR(CM_ERR_INTERNAL, "loader: pthread_create failed (%d)", rc);
    }
    l->thread_started = 1;
    *out = l;
    return CM_OK;
}

cm_err cm_loader_next(cm_loader *l, int64_t step, float *pixels, int *labels, double *waited_seconds)
{
    CM_ASSERT(step >= 0, CM_ERR_ARG, "loader: step %lld is negative", (long long)step);
    double t0 = cm_now();
    pthread_mutex_lock(&l->mutex);
    if (l->state == JOB_IDLE || l->job != step) {
        /* Not the prefetched step (first call, resume): drop or finish what is there, ask for it. */
        if (l->state == JOB_PENDING) l->state = JOB_IDLE;
        while (l->state == JOB_RUNNING) pthread_cond_wait(&l->done, &l->mutex);
        l->job = step;
        l->state = JOB_PENDING;
        pthread_cond_signal(&l->wake);
    }
    while (l->state != JOB_DONE) pthread_cond_wait(&l->done, &l->mutex);
    if (l->job_err != CM_OK) {
        l->state = JOB_IDLE;
        cm_error_state saved = l->job_error;
        pthread_mutex_unlock(&l->mutex);
        cm_error_restore(&saved);
        return cm_error_trace(__FILE__, __LINE__, __func__, saved.code);
    }
    memcpy(pixels, l->pixels, sizeof *pixels * l->image_floats * (size_t)l->count);
    memcpy(labels, l->labels, sizeof *labels * (size_t)l->count);
    l->job = step + 1;
    l->state = JOB_PENDING;
    pthread_cond_signal(&l->wake);
    pthread_mutex_unlock(&l->mutex);
    if (waited_seconds) *waited_seconds = cm_now() - t0;
    return CM_OK;
}

void cm_loader_destroy(cm_loader *l)
{
    if (!l) return;
    if (l->thread_started) {
        pthread_mutex_lock(&l->mutex);
        l->quit = 1;
        pthread_cond_signal(&l->wake);
        pthread_mutex_unlock(&l->mutex);
        pthread_join(l->thread, NULL);
        pthread_mutex_destroy(&l->mutex);
        pthread_cond_destroy(&l->wake);
        pthread_cond_destroy(&l->done);
    }
    free(l->pixels);
    free(l->labels);
    free(l->perm);
    free(l);
}
