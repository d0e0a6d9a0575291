/* Partition grouping: the exhaustive search of spec 4.3.
 *
 * Objective: TAG's network selection restricted to partitions. In a group G, task i scores the
 * mean of S[i][j] over the other members j of G, or singleton_score when it is alone (TAG: -1e6,
 * which forbids singletons whenever another partition exists); a partition scores the mean over
 * tasks. TAG searches overlapping collections of a fixed number of groups; MmAP needs disjoint
 * groups, so here every set partition is scored, optionally with at most max_groups groups of at
 * most max_group_size tasks.
 *
 * Enumeration: restricted growth strings a[0..n-1] with a[0] = 0 and a[i] <= 1 + max(a[0..i-1])
 * are in one-to-one correspondence with set partitions (a[i] = the group of task i, groups numbered
 * by their smallest task, which is also our canonical form). They are visited depth-first in
 * lexicographic order, with the caps pruning whole subtrees. A group's contribution depends only
 * on its member set, so it is tabulated once for all 2^n subsets and a partition costs one sum
 * over its groups: Bell(12) = 4,213,597 partitions take well under a second.
 *
 * Ties: a partition replaces the best one only when its total is larger by more than 1e-12
 * relative, so partitions that tie up to rounding go to the lexicographically first string (low
 * task indices share the earliest groups), independently of summation order. */
#include <math.h>
#include <stdlib.h>

#include "clipmtl/grouping.h"
#include "clipmtl/log.h"

typedef struct {
    int n, max_groups, max_group_size;
    const double *group_total; /* [2^n]: sum of the member scores of the group with that member set */
    unsigned members[CM_GROUPING_EXHAUSTIVE_MAX_TASKS];
    int sizes[CM_GROUPING_EXHAUSTIVE_MAX_TASKS];
    int labels[CM_GROUPING_EXHAUSTIVE_MAX_TASKS];
    int best_labels[CM_GROUPING_EXHAUSTIVE_MAX_TASKS];
    double best_total;
    long long count;
} partition_search;

static void tabulate_group_totals(const double *S, int n, double singleton_score, double *group_total)
{
    for (unsigned set = 1; set < (1u << n); set++) {
        int size = __builtin_popcount(set);
        double total = 0;
        for (int i = 0; i < n; i++) {
            if (!(set & (1u << i))) continue;
            if (size == 1) {
                total += singleton_score;
                continue;
            }
            double sum = 0;
            for (int j = 0; j < n; j++)
                if (j != i && (set & (1u << j))) sum += S[(size_t)i * n + j];
            total += sum / (size - 1);
        }
        group_total[set] = total;
    }
}

static void visit(partition_search *s, int task, int ngroups)
{
    if (task == s->n) {
        double total = 0;
        for (int g = 0; g < ngroups; g++) total += s->group_total[s->members[g]];
        if (s->count++ == 0 || total > s->best_total + 1e-12 * fmax(1.0, fabs(s->best_total))) {
            s->best_total = total;
            for (int t = 0; t < s->n; t++) s->best_labels[t] = s->labels[t];
        }
        return;
    }
    const unsigned bit = 1u << task;
    for (int g = 0; g < ngroups; g++) {
        if (s->max_group_size && s->sizes[g] == s->max_group_size) continue;
        s->members[g] |= bit;
        s->sizes[g]++;
        s->labels[task] = g;
        visit(s, task + 1, ngroups);
        s->members[g] &= ~bit;
        s->sizes[g]--;
    }
    if (!s->max_groups || ngroups < s->max_groups) {
        s->members[ngroups] = bit;
        s->sizes[ngroups] = 1;
        s->labels[task] = ngroups;
        visit(s, task + 1, ngroups + 1);
    }
}

cm_err cm_grouping_partition(const double *S, int n, const cm_grouping_options *o,
                             int *group_of_task, int *ngroups, cm_partition_stats *stats)
{
    CM_CHECK(cm_grouping_check_similarity(S, n));
    CM_ASSERT(o->max_groups >= 0 && o->max_group_size >= 0, CM_ERR_CONFIG,
              "max_groups (%d) and max_group_size (%d) must be >= 0 (0 = no limit)", o->max_groups, o->max_group_size);
    CM_ASSERT(isfinite(o->singleton_score), CM_ERR_CONFIG, "singleton_score is %g", o->singleton_score);
    cm_partition_stats local;
    if (!stats) stats = &local;
    *stats = (cm_partition_stats){0};

    if (n > CM_GROUPING_EXHAUSTIVE_MAX_TASKS) {
        cm_log_warn("%d tasks are too many to enumerate every partition (at most %d): grouping by threshold "
                    "tau = %g instead%s", n, CM_GROUPING_EXHAUSTIVE_MAX_TASKS, o->tau,
                    o->max_groups ? " (max_groups is ignored)" : "");
        CM_CHECK(cm_grouping_threshold(S, n, o->tau, o->max_group_size, group_of_task, ngroups));
        stats->fell_back = 1;
        stats->score = cm_grouping_score(S, n, group_of_task, o->singleton_score);
        return CM_OK;
    }
    const long long max_groups = o->max_groups ? o->max_groups : n;
    const long long max_size = o->max_group_size ? o->max_group_size : n;
    CM_ASSERT(max_groups * max_size >= n, CM_ERR_CONFIG,
              "no partition of %d tasks has at most %d groups of at most %d tasks", n, o->max_groups,
              o->max_group_size);

    double *group_total;
    CM_CALLOC(group_total, (size_t)1 << n);
    tabulate_group_totals(S, n, o->singleton_score, group_total);
    partition_search search = {.n = n, .max_groups = o->max_groups, .max_group_size = o->max_group_size,
                               .group_total = group_total};
    visit(&search, 0, 0);
    free(group_total);

    for (int t = 0; t < n; t++) group_of_task[t] = search.best_labels[t];
    CM_CHECK(cm_grouping_canonicalize(n, group_of_task, ngroups));
    stats->npartitions = search.count;
    stats->score = search.best_total / n;
    return CM_OK;
}
