/* Threshold grouping: complete-linkage agglomerative clustering stopped at tau.
 *
 * Why complete linkage: the linkage of two clusters is the *smallest* similarity between a member
 * of one and a member of the other, so merging two clusters whose linkage exceeds tau keeps every
 * pair inside the merged group above tau; by induction every group of the result has the pairwise
 * property "S > tau", which is what a threshold promises. Single linkage (the *largest* cross
 * similarity) chains: A~B and B~C put A, B and C together even when S(A,C) <= tau; average
 * linkage can do the same whenever one strong pair hides a weak one.
 *
 * Determinism: each step merges the two clusters of highest linkage; exact ties go to the pair
 * whose smallest task indices come first (lexicographically). Clusters are named by their
 * smallest task, which survives every merge. */
#include <math.h>
#include <stdlib.h>

#include "clipmtl/grouping.h"

cm_err cm_grouping_threshold(const double *S, int n, double tau, int max_group_size,
                             int *group_of_task, int *ngroups)
{
    CM_CHECK(cm_grouping_check_similarity(S, n));
    CM_ASSERT(isfinite(tau), CM_ERR_CONFIG, "grouping threshold tau is %g", tau);
    CM_ASSERT(max_group_size >= 0, CM_ERR_CONFIG, "max_group_size must be >= 0 (0 = no limit), got %d", max_group_size);

    double *linkage;
    int *size;
    CM_CALLOC(linkage, (size_t)n * n);
    size = calloc((size_t)n, sizeof *size);
    if (!size) {
        free(linkage);
        CM_ERROR(CM_ERR_MEM, "out of memory for %d clusters", n);
    }
    for (int i = 0; i < n; i++) {
        size[i] = 1;
        group_of_task[i] = i;
        for (int j = 0; j < n; j++)
            linkage[(size_t)i * n + j] = fmin(S[(size_t)i * n + j], S[(size_t)j * n + i]);
    }

    for (;;) {
        int best_a = -1, best_b = -1;
        double best = -INFINITY;
        for (int a = 0; a < n; a++) {
            if (!size[a]) continue;
            for (int b = a + 1; b < n; b++) {
                if (!size[b] || (max_group_size && size[a] + size[b] > max_group_size)) continue;
                if (linkage[(size_t)a * n + b] > best) {
                    best = linkage[(size_t)a * n + b];
                    best_a = a;
                    best_b = b;
                }
            }
        }
        if (best_a < 0 || !(best > tau)) break;
        for (int c = 0; c < n; c++) {
            double merged = fmin(linkage[(size_t)best_a * n + c], linkage[(size_t)best_b * n + c]);
            linkage[(size_t)best_a * n + c] = linkage[(size_t)c * n + best_a] = merged;
        }
        for (int t = 0; t < n; t++)
            if (group_of_task[t] == best_b) group_of_task[t] = best_a;
        size[best_a] += size[best_b];
        size[best_b] = 0;
    }
    free(size);
    free(linkage);
    CM_CHECK(cm_grouping_canonicalize(n, group_of_task, ngroups));
    return CM_OK;
}
