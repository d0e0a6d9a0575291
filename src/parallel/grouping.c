/* Grouping: options, the canonical form, TAG's objective, explicit groups, and the collective
 * entry point that computes a grouping on one rank and broadcasts it. The rules themselves live
 * in grouping_threshold.c, grouping_spectral.c and grouping_partition.c. */
#include "clipmtl/grouping.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static const char *const rule_names[] = {
    [CM_GROUPING_PARTITION] = "partition",
    [CM_GROUPING_THRESHOLD] = "threshold",
    [CM_GROUPING_SPECTRAL] = "spectral",
    [CM_GROUPING_EXPLICIT] = "explicit",
};
#define NRULES ((int)(sizeof rule_names / sizeof rule_names[0]))

void cm_grouping_options_default(cm_grouping_options *options)
{
    *options = (cm_grouping_options){.rule = CM_GROUPING_PARTITION, .tau = 0.0, .k = 2, .singleton_score = -1e6};
}

cm_err cm_grouping_rule_parse(const char *name, cm_grouping_rule *rule)
{
    for (int r = 0; r < NRULES; r++)
        if (strcmp(name, rule_names[r]) == 0) {
            *rule = (cm_grouping_rule)r;
            return CM_OK;
        }
    CM_ERROR(CM_ERR_CONFIG, "unknown grouping rule '%s' (expected partition, threshold, spectral or explicit)", name);
}

const char *cm_grouping_rule_name(cm_grouping_rule rule)
{
    return (int)rule >= 0 && (int)rule < NRULES ? rule_names[rule] : "unknown";
}

cm_err cm_grouping_check_similarity(const double *S, int n)
{
    CM_ASSERT(n >= 1, CM_ERR_ARG, "a similarity matrix needs at least one task, got %d", n);
    for (int i = 0; i < n; i++)
        for (int j = 0; j < n; j++) {
            double s = S[(size_t)i * n + j], t = S[(size_t)j * n + i];
            CM_ASSERT(isfinite(s), CM_ERR_NUMERIC, "similarity S[%d][%d] is %g", i, j, s);
            CM_ASSERT(fabs(s - t) <= 1e-9, CM_ERR_ARG,
                      "similarity matrix is not symmetric: S[%d][%d] = %.17g but S[%d][%d] = %.17g", i, j, s, j, i, t);
        }
    return CM_OK;
}

cm_err cm_grouping_canonicalize(int n, int *group_of_task, int *ngroups)
{
    int *canonical;
    CM_CALLOC(canonical, n);
    int next = 0;
    for (int t = 0; t < n; t++) {
        if (group_of_task[t] < 0) {
            free(canonical);
            CM_ERROR(CM_ERR_INTERNAL, "task %d has no group (label %d)", t, group_of_task[t]);
        }
        int u = 0;
        while (u < t && group_of_task[u] != group_of_task[t]) u++;
        canonical[t] = u < t ? canonical[u] : next++;
    }
    memcpy(group_of_task, canonical, (size_t)n * sizeof *canonical);
    free(canonical);
    *ngroups = next;
    return CM_OK;
}

double cm_grouping_score(const double *S, int n, const int *group_of_task, double singleton_score)
{
    double total = 0;
    for (int i = 0; i < n; i++) {
        double sum = 0;
        int others = 0;
        for (int j = 0; j < n; j++)
            if (j != i && group_of_task[j] == group_of_task[i]) {
                sum += S[(size_t)i * n + j];
                others++;
            }
        total += others ? sum / others : singleton_score;
    }
    return total / n;
}

void cm_grouping_within_across(const double *S, int n, const int *group_of_task, double *within, double *across)
{
    double sum[2] = {0, 0};
    int pairs[2] = {0, 0};
    for (int i = 0; i < n; i++)
        for (int j = i + 1; j < n; j++) {
            const int same = group_of_task[i] == group_of_task[j];
            sum[same] += S[(size_t)i * n + j];
            pairs[same]++;
        }
    *within = pairs[1] ? sum[1] / pairs[1] : NAN;
    *across = pairs[0] ? sum[0] / pairs[0] : NAN;
}

cm_err cm_grouping_explicit(int n, int nlists, const int *sizes, const int *members,
                            int *group_of_task, int *ngroups)
{
    CM_ASSERT(n >= 1, CM_ERR_ARG, "explicit grouping of %d tasks", n);
    CM_ASSERT(nlists >= 1 && sizes && members, CM_ERR_CONFIG, "explicit grouping: no groups given for %d tasks", n);
    for (int t = 0; t < n; t++) group_of_task[t] = -1;
    int position = 0;
    for (int g = 0; g < nlists; g++) {
        CM_ASSERT(sizes[g] >= 1, CM_ERR_CONFIG, "explicit grouping: group %d is empty", g);
        for (int m = 0; m < sizes[g]; m++, position++) {
            int t = members[position];
            CM_ASSERT(t >= 0 && t < n, CM_ERR_CONFIG,
                      "explicit grouping: group %d, entry %d names task %d, outside 0..%d", g, m, t, n - 1);
            CM_ASSERT(group_of_task[t] < 0, CM_ERR_CONFIG,
                      "explicit grouping: task %d appears twice (groups %d and %d)", t, group_of_task[t], g);
            group_of_task[t] = g;
        }
    }
    for (int t = 0; t < n; t++)
        CM_ASSERT(group_of_task[t] >= 0, CM_ERR_CONFIG, "explicit grouping: task %d is in no group", t);
    CM_CHECK(cm_grouping_canonicalize(n, group_of_task, ngroups));
    return CM_OK;
}

cm_err cm_grouping_bcast(MPI_Comm comm, int root, cm_err root_status, int n, int *group_of_task,
                         int *ngroups)
{
    int rank;
    MPI_Comm_rank(comm, &rank);
    int *message;
    CM_CALLOC(message, (size_t)n + 2);
    if (rank == root) {
        message[0] = (int)root_status;
        message[1] = root_status == CM_OK ? *ngroups : 0;
        if (root_status == CM_OK) memcpy(message + 2, group_of_task, (size_t)n * sizeof *message);
    }
    int rc = MPI_Bcast(message, n + 2, MPI_INT, root, comm);
    cm_err status = (cm_err)message[0];
    if (rc == MPI_SUCCESS && rank != root && status == CM_OK) {
        *ngroups = message[1];
        memcpy(group_of_task, message + 2, (size_t)n * sizeof *message);
    }
    free(message);
    CM_ASSERT(rc == MPI_SUCCESS, CM_ERR_MPI, "MPI_Bcast of the task grouping failed");
    if (rank == root) {
        CM_CHECK(root_status);
        return CM_OK;
    }
    CM_ASSERT(status == CM_OK, CM_ERR_MPI, "rank %d failed to compute the task grouping (%s); see its error",
              root, cm_error_name(status));
    return CM_OK;
}

static cm_err compute_on_root(const double *S, int n, const cm_grouping_options *o, int *group_of_task,
                              int *ngroups)
{
    switch (o->rule) {
    case CM_GROUPING_PARTITION:
        CM_CHECK(cm_grouping_partition(S, n, o, group_of_task, ngroups, NULL));
        return CM_OK;
    case CM_GROUPING_THRESHOLD:
        CM_CHECK(cm_grouping_threshold(S, n, o->tau, o->max_group_size, group_of_task, ngroups));
        return CM_OK;
    case CM_GROUPING_EXPLICIT:
        CM_CHECK(cm_grouping_explicit(n, o->explicit_ngroups, o->explicit_sizes, o->explicit_members,
                                      group_of_task, ngroups));
        return CM_OK;
    case CM_GROUPING_SPECTRAL:
        break;
    }
    CM_ERROR(CM_ERR_INTERNAL, "grouping rule %d is not computed on one rank", (int)o->rule);
}

cm_err cm_grouping_compute(MPI_Comm comm, int root, const double *S, int n,
                           const cm_grouping_options *options, int *group_of_task, int *ngroups)
{
    CM_ASSERT(n >= 1, CM_ERR_ARG, "grouping of %d tasks", n);
    int rank;
    MPI_Comm_rank(comm, &rank);
    cm_err status;
    if (options->rule == CM_GROUPING_SPECTRAL) {
        double *shared;
        CM_CALLOC(shared, (size_t)n * n);
        if (rank == root) memcpy(shared, S, (size_t)n * n * sizeof *shared);
        if (MPI_Bcast(shared, n * n, MPI_DOUBLE, root, comm) != MPI_SUCCESS) {
            free(shared);
            CM_ERROR(CM_ERR_MPI, "MPI_Bcast of the similarity matrix failed");
        }
        status = cm_grouping_spectral(comm, shared, n, options->k, group_of_task, ngroups);
        free(shared);
    } else {
        status = rank == root ? compute_on_root(S, n, options, group_of_task, ngroups) : CM_OK;
    }
    CM_CHECK(cm_grouping_bcast(comm, root, status, n, group_of_task, ngroups));
    return CM_OK;
}
