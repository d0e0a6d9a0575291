#include "clipmtl/run_files.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <zlib.h>

#include "clipmtl/gemm.h"
#include "clipmtl/grouping.h"
#include "clipmtl/h5io.h"
#include "clipmtl/log.h"

/* ---- checksums ----
 * Every dataset of a checkpoint and of a similarity file carries an attribute crc32: the zlib
 * CRC-32 of its values as stored (little-endian) or of its text. Reads recompute it, so flipped
 * bytes are an error naming the dataset instead of silently changed results. */
#if !defined(__BYTE_ORDER__) || __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "checksums are taken over the values in memory, which must be in the files' little-endian order"
#endif

static int64_t checksum(const void *data, size_t bytes)
{
    return (int64_t)crc32_z(crc32_z(0, Z_NULL, 0), data, bytes);
}

static size_t type_bytes(cm_h5_type type)
{
    return type == CM_H5_DOUBLE || type == CM_H5_INT64 ? 8 : type == CM_H5_UINT8 ? 1 : 4;
}

/* cm_h5_write_owner plus the checksum, taken by the owner (who holds the values). */
static cm_err write_checked(cm_h5_file *f, const char *name, cm_h5_type type, int ndims, const uint64_t *dims,
                            int owner, const void *data)
{
    size_t n = 1;
    for (int d = 0; d < ndims; d++) n *= (size_t)dims[d];
    int64_t crc = f->rank == owner ? checksum(data, n * type_bytes(type)) : 0;
    if (f->nranks > 1) CM_MPI_CHECK(MPI_Bcast(&crc, 1, MPI_INT64_T, owner, f->comm));
    CM_CHECK(cm_h5_write_owner(f, name, type, ndims, dims, owner, data));
    CM_CHECK(cm_h5_write_attr_int64(f, name, "crc32", crc));
    return CM_OK;
}

static cm_err write_text_checked(cm_h5_file *f, const char *name, const char *text)
{
    CM_CHECK(cm_h5_write_text(f, name, text));
    CM_CHECK(cm_h5_write_attr_int64(f, name, "crc32", checksum(text, strlen(text))));
    return CM_OK;
}

static cm_err verify(cm_h5_file *f, const char *name, const void *data, size_t bytes)
{
    int64_t stored, computed = checksum(data, bytes);
    CM_CHECK(cm_h5_read_attr_int64(f, name, "crc32", &stored));
    CM_ASSERT(stored == computed, CM_ERR_FORMAT, "%s: %s: checksum %08" PRIx64 " of the values read differs from the "
              "stored %08" PRIx64 ": the file is damaged", f->path, name, (uint64_t)computed, (uint64_t)stored);
    return CM_OK;
}

static cm_err read_checked(cm_h5_file *f, const char *name, cm_h5_type type, void *data, size_t nvalues)
{
    CM_CHECK(cm_h5_read_all(f, name, type, data, nvalues));
    CM_CHECK(verify(f, name, data, nvalues * type_bytes(type)));
    return CM_OK;
}

/* Closes a file on an error path without replacing the error being reported. */
static void close_keeping_error(cm_h5_file *f)
{
    cm_error_state cause;
    cm_error_save(&cause);
    cm_h5_close(f);
    cm_error_restore(&cause);
}

static cm_err read_text_checked(cm_h5_file *f, const char *name, char **text)
{
    CM_CHECK(cm_h5_read_text(f, name, text));
    cm_err err = verify(f, name, *text, strlen(*text));
    if (err != CM_OK) {
        free(*text);
        *text = NULL;
    }
    CM_CHECK(err);
    return CM_OK;
}

static cm_err join_names(int n, const char *const *names, char **out)
{
    size_t len = 1;
    for (int i = 0; i < n; i++) len += strlen(names[i]) + 1;
    CM_CALLOC(*out, len);
    for (int i = 0; i < n; i++) {
        CM_ASSERT(!strchr(names[i], '\n'), CM_ERR_ARG, "task name '%s' contains a newline", names[i]);
        strcat(*out, names[i]);
        if (i + 1 < n) strcat(*out, "\n");
    }
    return CM_OK;
}

static cm_err split_names(const char *path, const char *text, int n, char ***out)
{
    CM_CALLOC(*out, n);
    const char *p = text;
    for (int i = 0; i < n; i++) {
        const char *end = strchr(p, '\n');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        CM_ASSERT(i + 1 < n ? end != NULL : end == NULL, CM_ERR_FORMAT, "%s: attribute tasks does not hold %d names",
                  path, n);
        CM_CALLOC((*out)[i], len + 1);
        memcpy((*out)[i], p, len);
        p = end ? end + 1 : p + len;
    }
    return CM_OK;
}

static cm_err write_attr_names(cm_h5_file *f, int n, const char *const *names)
{
    char *joined = NULL;
    CM_CHECK(join_names(n, names, &joined));
    cm_err err = cm_h5_write_attr_string(f, "/", "tasks", joined);
    free(joined);
    return err;
}

cm_err cm_similarity_file_write(const char *path, int N, const char *const *names, const cm_similarity_snapshots *s,
                                const double *average, const int *group_of_task, const char *rule,
                                const char *config_text)
{
    cm_h5_file f = {0};
    cm_err err;
    const uint64_t K = (uint64_t)s->count, n = (uint64_t)N;
    uint64_t d3[3] = {K, n, n}, d2[2] = {K, n}, dn[2] = {n, n}, d1[1] = {K}, dt[1] = {n};
    CM_CHECK_GOTO(err, cm_h5_create_small(&f, MPI_COMM_SELF, path), fail);
    CM_CHECK_GOTO(err, write_attr_names(&f, N, names), fail);
    CM_CHECK_GOTO(err, write_checked(&f, "steps", CM_H5_INT64, 1, d1, 0, s->steps), fail);
    CM_CHECK_GOTO(err, write_checked(&f, "cosine", CM_H5_DOUBLE, 3, d3, 0, s->cosine), fail);
    CM_CHECK_GOTO(err, write_checked(&f, "norms", CM_H5_DOUBLE, 2, d2, 0, s->norms), fail);
    CM_CHECK_GOTO(err, write_checked(&f, "average", CM_H5_DOUBLE, 2, dn, 0, average), fail);
    if (group_of_task) {
        CM_CHECK_GOTO(err, write_checked(&f, "group_of_task", CM_H5_INT32, 1, dt, 0, group_of_task), fail);
        CM_CHECK_GOTO(err, cm_h5_write_attr_string(&f, "/", "grouping_rule", rule ? rule : ""), fail);
        double within[1], across[1];
        const uint64_t one[1] = {1};
        cm_grouping_within_across(average, N, group_of_task, within, across);
        CM_CHECK_GOTO(err, write_checked(&f, "within_group_cosine", CM_H5_DOUBLE, 1, one, 0, within), fail);
        CM_CHECK_GOTO(err, write_checked(&f, "across_group_cosine", CM_H5_DOUBLE, 1, one, 0, across), fail);
    }
    CM_CHECK_GOTO(err, write_text_checked(&f, "config", config_text ? config_text : ""), fail);
    CM_CHECK_GOTO(err, cm_h5_write_attr_string(&f, "/", "compute", cm_gemm_describe()), fail);
    CM_CHECK(cm_h5_close(&f));
    return CM_OK;
fail:
    cm_h5_discard(&f);
    return err;
}

void cm_similarity_record_free(cm_similarity_record *r)
{
    for (int i = 0; r->task_names && i < r->ntasks; i++) free(r->task_names[i]);
    free(r->task_names), free(r->steps), free(r->cosine), free(r->norms), free(r->average), free(r->config_text);
    *r = (cm_similarity_record){0};
}

cm_err cm_similarity_file_read(const char *path, cm_similarity_record *r)
{
    *r = (cm_similarity_record){0};
    cm_h5_file f = {0};
    char *names = NULL;
    cm_err err;
    cm_h5_type type;
    int ndims;
    uint64_t dims[CM_H5_MAX_DIMS];
    CM_CHECK_GOTO(err, cm_h5_open(&f, MPI_COMM_SELF, path, 0), fail);
    CM_CHECK_GOTO(err, cm_h5_shape(&f, "cosine", &type, &ndims, dims), fail);
    if (ndims != 3 || dims[1] != dims[2] || dims[1] < 1 || dims[1] > 100000 || dims[0] > 1000000)
        CM_ERROR_GOTO(err, fail, CM_ERR_FORMAT, "%s: dataset cosine is not [K,N,N]", path);
    const int K = (int)dims[0], N = (int)dims[1];
    r->count = K, r->ntasks = N;
    CM_CHECK_GOTO(err, cm_h5_read_attr_string(&f, "/", "tasks", &names), fail);
    CM_CHECK_GOTO(err, split_names(path, names, N, &r->task_names), fail);
    if (!(r->steps = calloc((size_t)K + 1, sizeof *r->steps)) ||
        !(r->cosine = calloc((size_t)K * N * N + 1, sizeof *r->cosine)) ||
        !(r->norms = calloc((size_t)K * N + 1, sizeof *r->norms)) || !(r->average = calloc((size_t)N * N, sizeof *r->average)))
        CM_ERROR_GOTO(err, fail, CM_ERR_MEM, "%s: out of memory for %d snapshots of %d tasks", path, K, N);
    CM_CHECK_GOTO(err, read_checked(&f, "steps", CM_H5_INT64, r->steps, (size_t)K), fail);
    CM_CHECK_GOTO(err, read_checked(&f, "cosine", CM_H5_DOUBLE, r->cosine, (size_t)K * N * N), fail);
    CM_CHECK_GOTO(err, read_checked(&f, "norms", CM_H5_DOUBLE, r->norms, (size_t)K * N), fail);
    CM_CHECK_GOTO(err, read_checked(&f, "average", CM_H5_DOUBLE, r->average, (size_t)N * N), fail);
    CM_CHECK_GOTO(err, read_text_checked(&f, "config", &r->config_text), fail);
    for (int i = 0; i < N; i++)
        for (int j = 0; j < N; j++) {
            double a = r->average[i * N + j], b = r->average[j * N + i];
            if (!isfinite(a) || fabs(a - b) > 1e-9)
                CM_ERROR_GOTO(err, fail, CM_ERR_FORMAT, "%s: average[%d][%d] = %g is not finite and symmetric", path, i,
                              j, a);
        }
    free(names);
    CM_CHECK(cm_h5_close(&f));
    return CM_OK;
fail:
    free(names);
    close_keeping_error(&f);
    cm_similarity_record_free(r);
    return err;
}

static cm_err entry_dims(const cm_tensor_desc *e, uint64_t *dims, int *ndims)
{
    *ndims = e->ndim ? e->ndim : 1;
    dims[0] = 1;
    for (int d = 0; d < e->ndim; d++) dims[d] = (uint64_t)e->shape[d];
    return CM_OK;
}

static cm_err write_extras(cm_h5_file *f, const cm_checkpoint_extras *x)
{
    const uint64_t n = (uint64_t)x->ntasks;
    if (x->group_of_task) {
        uint64_t dims[1] = {n};
        CM_CHECK(write_checked(f, "grouping/group_of_task", CM_H5_INT32, 1, dims, 0, x->group_of_task));
    }
    const cm_similarity_snapshots *s = x->snapshots;
    if (s && s->count > 0) {
        uint64_t k = (uint64_t)s->count, d1[1] = {k}, d2[2] = {k, n}, d3[3] = {k, n, n};
        CM_CHECK(write_checked(f, "similarity/steps", CM_H5_INT64, 1, d1, 0, s->steps));
        CM_CHECK(write_checked(f, "similarity/norms", CM_H5_DOUBLE, 2, d2, 0, s->norms));
        CM_CHECK(write_checked(f, "similarity/cosine", CM_H5_DOUBLE, 3, d3, 0, s->cosine));
    }
    return CM_OK;
}

cm_err cm_checkpoint_write(MPI_Comm comm, const char *dir, int64_t step, int keep, const cm_tensor_table *table,
                           const float *params, const cm_optimizer *opt, const int *owner, const char *config_text,
                           const cm_checkpoint_extras *extras)
{
    cm_h5_checkpoint ck;
    CM_CHECK(cm_h5_checkpoint_begin(&ck, comm, dir, step, keep));
    cm_err err;
    char name[CM_NAME_MAX + 16];
    for (int i = 0; i < table->count; i++) {
        const cm_tensor_desc *e = &table->entries[i];
        uint64_t dims[CM_MAX_DIMS];
        int nd;
        entry_dims(e, dims, &nd);
        snprintf(name, sizeof name, "params/%s", e->name);
        CM_CHECK_GOTO(err, write_checked(&ck.file, name, CM_H5_FLOAT, nd, dims, owner[i], params + e->offset), fail);
        snprintf(name, sizeof name, "optim/m/%s", e->name);
        CM_CHECK_GOTO(err, write_checked(&ck.file, name, CM_H5_FLOAT, nd, dims, owner[i], opt->m + e->offset), fail);
        if (opt->v) {
            snprintf(name, sizeof name, "optim/v/%s", e->name);
            CM_CHECK_GOTO(err, write_checked(&ck.file, name, CM_H5_FLOAT, nd, dims, owner[i], opt->v + e->offset), fail);
        }
    }
    if (extras) CM_CHECK_GOTO(err, write_extras(&ck.file, extras), fail);
    CM_CHECK_GOTO(err, cm_h5_write_attr_int64(&ck.file, "/", "optimizer_steps", opt->steps), fail);
    CM_CHECK_GOTO(err, write_text_checked(&ck.file, "config", config_text ? config_text : ""), fail);
    CM_CHECK_GOTO(err, cm_h5_write_attr_string(&ck.file, "/", "compute", cm_gemm_describe()), fail);
    CM_CHECK(cm_h5_checkpoint_end(&ck));
    return CM_OK;
fail:
    cm_h5_checkpoint_abort(&ck);
    return err;
}

static cm_err read_entry(cm_h5_file *f, const char *prefix, const cm_tensor_desc *e, float *dst)
{
    char name[CM_NAME_MAX + 16];
    snprintf(name, sizeof name, "%s/%s", prefix, e->name);
    cm_h5_type type;
    int nd;
    uint64_t dims[CM_H5_MAX_DIMS], want[CM_MAX_DIMS];
    int want_nd;
    entry_dims(e, want, &want_nd);
    CM_CHECK(cm_h5_shape(f, name, &type, &nd, dims));
    int same = type == CM_H5_FLOAT && nd == want_nd;
    for (int d = 0; same && d < nd; d++) same = dims[d] == want[d];
    CM_ASSERT(same, CM_ERR_FORMAT, "%s: %s has another type or shape than this run's %s", f->path, name, e->name);
    CM_CHECK(read_checked(f, name, CM_H5_FLOAT, dst, e->numel));
    return CM_OK;
}

cm_err cm_checkpoint_read(MPI_Comm comm, const char *path, int64_t step, const cm_config *cfg, int allow_config_change,
                          const cm_tensor_table *table, float *params, cm_optimizer *opt)
{
    cm_h5_file f = {0};
    cm_err err;
    int64_t stored_step, opt_steps;
    char *config_text = NULL;
    CM_CHECK_GOTO(err, cm_h5_open(&f, comm, path, 0), fail);
    CM_CHECK_GOTO(err, cm_h5_read_attr_int64(&f, "/", "step", &stored_step), fail);
    CM_CHECK_GOTO(err, cm_h5_read_attr_int64(&f, "/", "optimizer_steps", &opt_steps), fail);
    /* One optimizer step per training step: both equal the step in the file's name. */
    if (stored_step != step || opt_steps != step)
        CM_ERROR_GOTO(err, fail, CM_ERR_FORMAT, "%s: attributes step %" PRId64 " and optimizer_steps %" PRId64
                      " differ from the step %" PRId64 " of its name: the file is damaged", path, stored_step, opt_steps, step);
    CM_CHECK_GOTO(err, read_text_checked(&f, "config", &config_text), fail);
    /* before the tensors: another method is named as such, not as tensors of other shapes */
    CM_CHECK_GOTO(err, cm_config_check_resume(cfg, config_text, path, allow_config_change), fail);
    for (int i = 0; i < table->count; i++) {
        const cm_tensor_desc *e = &table->entries[i];
        CM_CHECK_GOTO(err, read_entry(&f, "params", e, params + e->offset), fail);
        CM_CHECK_GOTO(err, read_entry(&f, "optim/m", e, opt->m + e->offset), fail);
        if (opt->v) CM_CHECK_GOTO(err, read_entry(&f, "optim/v", e, opt->v + e->offset), fail);
    }
    opt->steps = opt_steps;
    CM_CHECK_GOTO(err, cm_h5_close(&f), fail);
    free(config_text);
    return CM_OK;
fail:
    close_keeping_error(&f);
    free(config_text);
    return err;
}

cm_err cm_checkpoint_read_newest(MPI_Comm comm, const char *dir, const cm_config *cfg, int allow_config_change,
                                 const cm_tensor_table *table, float *params, cm_optimizer *opt, int64_t *step,
                                 char *path, size_t len, int *found)
{
    int rank, n = 0;
    int64_t *steps = NULL;
    *found = 0;
    CM_MPI_CHECK(MPI_Comm_rank(comm, &rank));
    /* Rank 0 lists the directory and the others follow (a shared file system may lag). */
    cm_err err = rank == 0 ? cm_h5_checkpoint_steps(dir, &steps, &n) : CM_OK;
    int status[2] = {(int)err, n};
    CM_MPI_CHECK_GOTO(err, MPI_Bcast(status, 2, MPI_INT, 0, comm), mpi_failed);
    if (status[0] != CM_OK) {
        free(steps);
        if (rank == 0) return cm_error_trace(__FILE__, __LINE__, __func__, err);
        CM_ERROR((cm_err)status[0], "%s: rank 0 could not list the checkpoints (see its error)", dir);
    }
    n = status[1];
    if (n == 0) return CM_OK;
    if (rank != 0) CM_CALLOC(steps, n);
    CM_MPI_CHECK_GOTO(err, MPI_Bcast(steps, n, MPI_INT64_T, 0, comm), mpi_failed);
    /* Newest first; a damaged one is skipped with a warning for the next older. */
    char newest_problem[2048] = "";
    for (int i = 0; i < n && !*found; i++) {
        if ((size_t)snprintf(path, len, "%s/ckpt-%" PRId64 ".h5", dir, steps[i]) >= len) {
            free(steps);
            CM_ERROR(CM_ERR_ARG, "%s: path buffer of %zu bytes is too small", dir, len);
        }
        err = cm_checkpoint_read(comm, path, steps[i], cfg, allow_config_change, table, params, opt);
        /* 0 read, 1 damaged (try the previous one), 2 refused for its configuration (stop) */
        int outcome = err == CM_OK ? 0 : err == CM_ERR_CONFIG ? 2 : 1, worst = outcome;
        if (MPI_Allreduce(&outcome, &worst, 1, MPI_INT, MPI_MAX, comm) != MPI_SUCCESS) {
            free(steps);
            CM_ERROR(CM_ERR_MPI, "%s: MPI_Allreduce failed", path);
        }
        if (worst == 0) {
            *step = steps[i];
            *found = 1;
            break;
        }
        if (outcome != worst)
            err = CM_RAISE(worst == 2 ? CM_ERR_CONFIG : CM_ERR_MPI,
                           "%s: another rank could not use it (see its error)", path);
        if (worst == 2) {
            free(steps);
            return cm_error_trace(__FILE__, __LINE__, __func__, err);
        }
        if (!newest_problem[0]) snprintf(newest_problem, sizeof newest_problem, "%s", cm_error_message());
        if (rank == 0)
            cm_log_warn("%s is not usable, %s: %s", path, i + 1 < n ? "falling back to the previous checkpoint" : "and it is the oldest",
                        cm_error_message());
        cm_error_clear();
    }
    free(steps);
    if (!*found) CM_ERROR(CM_ERR_FORMAT, "%s: none of its %d checkpoints is intact; the newest: %s", dir, n, newest_problem);
    return CM_OK;
mpi_failed:
    free(steps);
    return err;
}

cm_err cm_checkpoint_read_snapshots(MPI_Comm comm, const char *path, cm_similarity_snapshots *snaps)
{
    cm_h5_file f = {0};
    cm_err err;
    int exists = 0, nd;
    cm_h5_type type;
    uint64_t dims[CM_H5_MAX_DIMS];
    int64_t *steps = NULL;
    double *cosine = NULL, *norms = NULL;
    const size_t N = (size_t)snaps->ntasks;
    CM_CHECK_GOTO(err, cm_h5_open(&f, comm, path, 0), done);
    CM_CHECK_GOTO(err, cm_h5_exists(&f, "similarity/steps", &exists), done);
    if (!exists) goto done;
    CM_CHECK_GOTO(err, cm_h5_shape(&f, "similarity/cosine", &type, &nd, dims), done);
    if (nd != 3 || dims[1] != N || dims[2] != N || dims[0] > 1000000)
        CM_ERROR_GOTO(err, done, CM_ERR_FORMAT, "%s: similarity/cosine is not [K,%zu,%zu]", path, N, N);
    const size_t K = (size_t)dims[0];
    if (!(steps = calloc(K + 1, sizeof *steps)) || !(cosine = calloc(K * N * N + 1, sizeof *cosine)) ||
        !(norms = calloc(K * N + 1, sizeof *norms)))
        CM_ERROR_GOTO(err, done, CM_ERR_MEM, "%s: out of memory for %zu snapshots", path, K);
    CM_CHECK_GOTO(err, read_checked(&f, "similarity/steps", CM_H5_INT64, steps, K), done);
    CM_CHECK_GOTO(err, read_checked(&f, "similarity/cosine", CM_H5_DOUBLE, cosine, K * N * N), done);
    CM_CHECK_GOTO(err, read_checked(&f, "similarity/norms", CM_H5_DOUBLE, norms, K * N), done);
    for (size_t k = 0; k < K; k++)
        CM_CHECK_GOTO(err, cm_similarity_snapshots_add(snaps, steps[k], cosine + k * N * N, norms + k * N), done);
done:
    free(steps), free(cosine), free(norms);
    if (err != CM_OK) {
        close_keeping_error(&f);
        return err;
    }
    CM_CHECK(cm_h5_close(&f));
    return CM_OK;
}

cm_err cm_results_write(const char *path, const cm_results *r)
{
    cm_h5_file f = {0};
    cm_err err;
    double avg = 0;
    for (int t = 0; t < r->ntasks; t++) avg += r->accuracy[t] / r->ntasks;
    uint64_t dn[1] = {(uint64_t)r->ntasks}, scalar[1] = {1};
    CM_CHECK_GOTO(err, cm_h5_create_small(&f, MPI_COMM_SELF, path), fail);
    CM_CHECK_GOTO(err, write_attr_names(&f, r->ntasks, r->task_names), fail);
    CM_CHECK_GOTO(err, cm_h5_write_owner(&f, "accuracy", CM_H5_DOUBLE, 1, dn, 0, r->accuracy), fail);
    CM_CHECK_GOTO(err, cm_h5_write_owner(&f, "average_accuracy", CM_H5_DOUBLE, 1, scalar, 0, &avg), fail);
    CM_CHECK_GOTO(err, cm_h5_write_owner(&f, "trainable_params", CM_H5_INT64, 1, scalar, 0, &r->trainable_params), fail);
    CM_CHECK_GOTO(err, cm_h5_write_owner(&f, "clip_params", CM_H5_INT64, 1, scalar, 0, &r->clip_params), fail);
    CM_CHECK_GOTO(err, cm_h5_write_owner(&f, "wall_time", CM_H5_DOUBLE, 1, scalar, 0, &r->wall_time), fail);
    if (r->group_of_task)
        CM_CHECK_GOTO(err, cm_h5_write_owner(&f, "group_of_task", CM_H5_INT32, 1, dn, 0, r->group_of_task), fail);
    if (r->test_images)
        CM_CHECK_GOTO(err, cm_h5_write_owner(&f, "test_images", CM_H5_INT64, 1, dn, 0, r->test_images), fail);
    if (r->zeroshot_accuracy)
        CM_CHECK_GOTO(err, cm_h5_write_owner(&f, "zeroshot_accuracy", CM_H5_DOUBLE, 1, dn, 0, r->zeroshot_accuracy), fail);
    CM_CHECK_GOTO(err, cm_h5_write_attr_string(&f, "/", "method", r->method), fail);
    CM_CHECK_GOTO(err, cm_h5_write_attr_string(&f, "/", "mode", r->mode), fail);
    CM_CHECK_GOTO(err, cm_h5_write_attr_int64(&f, "/", "seed", r->seed), fail);
    CM_CHECK_GOTO(err, cm_h5_write_text(&f, "config", r->config_text ? r->config_text : ""), fail);
    CM_CHECK_GOTO(err, cm_h5_write_attr_string(&f, "/", "compute", cm_gemm_describe()), fail);
    CM_CHECK(cm_h5_close(&f));
    return CM_OK;
fail:
    cm_h5_discard(&f);
    return err;
}
