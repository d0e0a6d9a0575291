/* From an averaged N x N task similarity matrix to disjoint task groups (spec 4.3).
 *
 * Every rule is deterministic and returns the grouping in one canonical form:
 *   group_of_task[t] in 0..ngroups-1 for t in 0..N-1, groups numbered in the order of their
 *   smallest task index (task 0 is in group 0; the first task not in group 0 starts group 1; ...).
 * S is row-major, S[i*N+j]; it must be finite and symmetric (to 1e-9). The rules only read the
 * off-diagonal entries.
 *
 * The functions are pure (no files, no configuration). In a run, the grouping is computed on one
 * rank and broadcast: cm_grouping_compute does both. */
#ifndef CLIPMTL_GROUPING_H
#define CLIPMTL_GROUPING_H

#include <mpi.h>

#include "clipmtl/error.h"

typedef enum {
    CM_GROUPING_PARTITION, /* exhaustive best partition under TAG's objective (N <= 12) */
    CM_GROUPING_THRESHOLD, /* complete linkage: every pair in a group has S > tau */
    CM_GROUPING_SPECTRAL,  /* k groups by spectral clustering */
    CM_GROUPING_EXPLICIT,  /* groups listed by the user */
} cm_grouping_rule;

/* Every knob of every rule, so that a configuration maps onto one struct. */
typedef struct {
    cm_grouping_rule rule;
    double tau;             /* threshold; also the partition rule's fallback for N > 12 */
    int k;                  /* spectral: number of groups, 1..N */
    int max_groups;         /* partition: at most this many groups; 0 = no limit */
    int max_group_size;     /* partition and threshold: at most this many tasks per group; 0 = no limit */
    double singleton_score; /* partition: score of a task alone in its group (TAG: -1e6) */
    /* explicit: groups listed as explicit_sizes[g] tasks each, concatenated in explicit_members */
    int explicit_ngroups;
    const int *explicit_sizes;
    const int *explicit_members;
} cm_grouping_options;

/* The largest N the partition rule enumerates exhaustively (Bell(12) = 4,213,597 partitions). */
#define CM_GROUPING_EXHAUSTIVE_MAX_TASKS 12
/* Lloyd iterations of the spectral rule's k-means. */
#define CM_GROUPING_KMEANS_MAX_ITERATIONS 100

/* rule = partition, tau = 0, k = 2, no caps, singleton_score = -1e6, no explicit groups. */
void cm_grouping_options_default(cm_grouping_options *options);
/* "partition", "threshold", "spectral", "explicit". */
cm_err cm_grouping_rule_parse(const char *name, cm_grouping_rule *rule);
const char *cm_grouping_rule_name(cm_grouping_rule rule);

/* (a) Complete-linkage agglomerative clustering stopped at tau. max_group_size as in options. */
cm_err cm_grouping_threshold(const double *S, int n, double tau, int max_group_size,
                             int *group_of_task, int *ngroups);

/* (b) Spectral clustering into k groups. Collective over comm (the eigen-decomposition is
 * distributed when comm has several ranks); S must be the same on every rank, and every rank
 * returns the same grouping. Fewer than k groups come back, with a warning, only when k-means
 * leaves clusters empty (tasks with identical embeddings). */
cm_err cm_grouping_spectral(MPI_Comm comm, const double *S, int n, int k, int *group_of_task,
                            int *ngroups);

/* (c) The partition maximising TAG's objective restricted to partitions (see grouping_partition.c).
 * Uses options->max_groups, max_group_size, singleton_score, and for n > 12 falls back to the
 * threshold rule with options->tau and a warning. */
typedef struct {
    double score;            /* objective of the chosen grouping (also after a fallback) */
    long long npartitions;   /* partitions scored; 0 after a fallback */
    int fell_back;           /* 1 when n > CM_GROUPING_EXHAUSTIVE_MAX_TASKS */
} cm_partition_stats;
cm_err cm_grouping_partition(const double *S, int n, const cm_grouping_options *options,
                             int *group_of_task, int *ngroups, cm_partition_stats *stats);

/* TAG's objective of any grouping: the mean over tasks of the task's score, the mean of S[i][j]
 * over the other members j of its group, or singleton_score when it is alone. */
double cm_grouping_score(const double *S, int n, const int *group_of_task, double singleton_score);

/* Mean of S[i][j] over the pairs i < j in one group (*within) and in different groups (*across);
 * NaN when there is no such pair. How well a grouping separates the tasks, for logs and files. */
void cm_grouping_within_across(const double *S, int n, const int *group_of_task, double *within, double *across);

/* (d) Groups given as lists: sizes[g] task indices each, concatenated in members. Every task
 * 0..n-1 must appear exactly once and no list may be empty. */
cm_err cm_grouping_explicit(int n, int nlists, const int *sizes, const int *members,
                            int *group_of_task, int *ngroups);

/* Checks that S is finite and symmetric to 1e-9; the error names the offending entry. */
cm_err cm_grouping_check_similarity(const double *S, int n);

/* Renumbers any labelling (group_of_task[t] >= 0) into the canonical form above. */
cm_err cm_grouping_canonicalize(int n, int *group_of_task, int *ngroups);

/* Collective: root sends its status and grouping. Ranks other than root return CM_ERR_MPI when
 * root_status is an error; root returns root_status. */
cm_err cm_grouping_bcast(MPI_Comm comm, int root, cm_err root_status, int n, int *group_of_task,
                         int *ngroups);

/* Collective: the grouping of options->rule, computed on root (S significant there only; the
 * spectral rule broadcasts S and uses every rank) and broadcast to every rank. */
cm_err cm_grouping_compute(MPI_Comm comm, int root, const double *S, int n,
                           const cm_grouping_options *options, int *group_of_task, int *ngroups);

#endif
