/* Grouping rules on constructed similarity matrices with known answers, their defining
 * properties on random matrices, the exhaustive partition against a brute force written here
 * independently (every labelling of N <= 6 tasks), the N = 12 timing, the broadcast, and the
 * spectral rule computed over all ranks against one rank alone. Run on 1, 2, 3 and 4 ranks; the
 * N = 12 timing runs on one rank only. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mpi.h>

#include "clipmtl/grouping.h"
#include "clipmtl/log.h"
#include "clipmtl/rng.h"
#include "grouping_test.h"
#include "test_util.h"

#define MAXN 13

static int rank, nranks;

/* ---- helpers written independently of src/parallel/grouping*.c ---- */

/* Groups renumbered by first appearance. */
static void canonical(int n, const int *labels, int *out)
{
    int map[64], next = 0;
    for (int i = 0; i < 64; i++) map[i] = -1;
    for (int t = 0; t < n; t++) {
        if (map[labels[t]] < 0) map[labels[t]] = next++;
        out[t] = map[labels[t]];
    }
}

static int count_groups(int n, const int *labels)
{
    int c[64], groups = 0;
    canonical(n, labels, c);
    for (int t = 0; t < n; t++) groups = c[t] + 1 > groups ? c[t] + 1 : groups;
    return groups;
}

static int same_grouping(int n, const int *a, const int *b)
{
    int ca[64], cb[64];
    canonical(n, a, ca);
    canonical(n, b, cb);
    return memcmp(ca, cb, (size_t)n * sizeof *ca) == 0;
}

static void expect(const char *what, int n, const int *got, int ngot, const int *want)
{
    int cw[64];
    canonical(n, want, cw);
    int ok = ngot == count_groups(n, want) && memcmp(got, cw, (size_t)n * sizeof *got) == 0;
    char g[256] = "", w[256] = "";
    for (int t = 0; t < n; t++) {
        snprintf(g + strlen(g), sizeof g - strlen(g), "%d ", got[t]);
        snprintf(w + strlen(w), sizeof w - strlen(w), "%d ", cw[t]);
    }
    CM_TEST(ok, "%s: got [%s] (%d groups), want [%s]", what, g, ngot, w);
}

/* TAG's objective from its definition. */
static double objective(const double *S, int n, const int *labels, double singleton)
{
    double sum = 0;
    for (int i = 0; i < n; i++) {
        double s = 0;
        int m = 0;
        for (int j = 0; j < n; j++)
            if (j != i && labels[j] == labels[i]) s += S[i * n + j], m++;
        sum += m ? s / m : singleton;
    }
    return sum / n;
}

static void permute(int n, const double *S, const int *perm, double *out)
{
    /* new task a is old task perm[a] */
    for (int a = 0; a < n; a++)
        for (int b = 0; b < n; b++) out[a * n + b] = S[perm[a] * n + perm[b]];
}

/* labels of the permuted problem, mapped back to the old task numbers */
static void unpermute(int n, const int *perm, const int *labels, int *out)
{
    for (int a = 0; a < n; a++) out[perm[a]] = labels[a];
}

static void random_permutation(int n, uint64_t seed, int *perm)
{
    cm_rng r;
    cm_rng_seed(&r, seed, 13);
    for (int i = 0; i < n; i++) perm[i] = i;
    cm_rng_shuffle(&r, perm, n);
}

/* ---- threshold ---- */

static void test_threshold_known(void)
{
    int g[MAXN], ng;
    double S[MAXN * MAXN];

    const int blocks[8] = {0, 1, 0, 2, 1, 2, 0, 2};
    gt_block_similarity(8, blocks, 0.8, 0.1, 0.05, 1, S);
    CM_TEST_OK(cm_grouping_threshold(S, 8, 0.5, 0, g, &ng));
    expect("threshold: three noisy blocks", 8, g, ng, blocks);

    /* Only S[2][4] exceeds tau. */
    for (int i = 0; i < 36; i++) S[i] = i % 7 == 0 ? 1 : 0.1;
    S[2 * 6 + 4] = S[4 * 6 + 2] = 0.6;
    CM_TEST_OK(cm_grouping_threshold(S, 6, 0.5, 0, g, &ng));
    expect("threshold: exactly one pair above tau", 6, g, ng, (int[]){0, 1, 2, 3, 2, 4});

    /* A~B (0.9), B~C (0.8), A !~ C (0.2): single linkage would chain all three; complete linkage
     * merges A and B, then sees min(S_AC, S_BC) = 0.2 <= tau. */
    double chain[9] = {1, 0.9, 0.2, 0.9, 1, 0.8, 0.2, 0.8, 1};
    CM_TEST_OK(cm_grouping_threshold(chain, 3, 0.5, 0, g, &ng));
    expect("threshold: chain A~B~C keeps A and C apart", 3, g, ng, (int[]){0, 0, 1});

    /* Ties: S01 = S12 = 0.7 tie, the lowest indices (0,1) merge first; then 2 stays out. */
    double tie[9] = {1, 0.7, 0.2, 0.7, 1, 0.7, 0.2, 0.7, 1};
    CM_TEST_OK(cm_grouping_threshold(tie, 3, 0.5, 0, g, &ng));
    expect("threshold: tie goes to the lowest indices", 3, g, ng, (int[]){0, 0, 1});
    /* All equal above tau: one group; with groups of at most 2: (0,1) then (2,3). */
    for (int i = 0; i < 16; i++) S[i] = i % 5 == 0 ? 1 : 0.9;
    CM_TEST_OK(cm_grouping_threshold(S, 4, 0.5, 0, g, &ng));
    expect("threshold: all tied", 4, g, ng, (int[]){0, 0, 0, 0});
    CM_TEST_OK(cm_grouping_threshold(S, 4, 0.5, 2, g, &ng));
    expect("threshold: all tied, groups of at most 2", 4, g, ng, (int[]){0, 0, 1, 1});

    /* tau is strict: S = tau does not qualify. */
    CM_TEST_OK(cm_grouping_threshold(S, 4, 0.9, 0, g, &ng));
    expect("threshold: S == tau is not above tau", 4, g, ng, (int[]){0, 1, 2, 3});

    /* A task with a zero gradient (similarity 0 to all) stays alone. */
    for (int i = 0; i < 25; i++) S[i] = i % 6 == 0 ? 1 : 0.8;
    for (int j = 0; j < 5; j++)
        if (j != 3) S[3 * 5 + j] = S[j * 5 + 3] = 0;
    CM_TEST_OK(cm_grouping_threshold(S, 5, 0.5, 0, g, &ng));
    expect("threshold: zero-gradient task alone", 5, g, ng, (int[]){0, 0, 0, 1, 0});

    S[1] = NAN;
    CM_TEST(cm_grouping_threshold(S, 5, 0.5, 0, g, &ng) == CM_ERR_NUMERIC, "NaN similarity must fail");
    S[1] = 0.3;
    CM_TEST(cm_grouping_threshold(S, 5, 0.5, 0, g, &ng) == CM_ERR_ARG &&
                strstr(cm_error_message(), "not symmetric"),
            "asymmetric similarity must fail: %s", cm_error_message());
    cm_error_clear();
}

static void test_threshold_properties(void)
{
    double S[MAXN * MAXN], P[MAXN * MAXN];
    int g[MAXN], gp[MAXN], back[MAXN], perm[MAXN], ng, ngp, checked = 0;
    const double taus[] = {-0.2, 0.1, 0.4};
    for (int n = 2; n <= 10; n++)
        for (uint64_t seed = 0; seed < 30; seed++)
            for (int ti = 0; ti < 3; ti++) {
                double tau = taus[ti];
                gt_random_similarity(n, 1000 * n + seed, S);
                CM_TEST_OK(cm_grouping_threshold(S, n, tau, 0, g, &ng));
                int inside_ok = 1, apart_ok = 1;
                for (int i = 0; i < n; i++)
                    for (int j = i + 1; j < n; j++)
                        if (g[i] == g[j] && !(S[i * n + j] > tau)) inside_ok = 0;
                /* Complete linkage stops only when every two groups have a pair at or below tau. */
                for (int a = 0; a < ng; a++)
                    for (int b = a + 1; b < ng; b++) {
                        double lowest = INFINITY;
                        for (int i = 0; i < n; i++)
                            for (int j = 0; j < n; j++)
                                if (g[i] == a && g[j] == b) lowest = fmin(lowest, S[i * n + j]);
                        if (lowest > tau) apart_ok = 0;
                    }
                CM_TEST(inside_ok && apart_ok, "threshold n=%d seed=%d tau=%g: pairs inside %d, groups apart %d", n,
                        (int)seed, tau, inside_ok, apart_ok);
                random_permutation(n, seed, perm);
                permute(n, S, perm, P);
                CM_TEST_OK(cm_grouping_threshold(P, n, tau, 0, gp, &ngp));
                unpermute(n, perm, gp, back);
                CM_TEST(same_grouping(n, g, back), "threshold n=%d seed=%d tau=%g: not invariant to relabelling", n,
                        (int)seed, tau);
                checked++;
            }
    if (rank == 0) printf("threshold: pairwise property, separation and relabelling checked on %d random matrices\n", checked);
}

/* ---- partition ---- */

typedef struct {
    double best;
    int best_labels[8];
    int ties;       /* partitions within 1e-9 of the best */
    long long feasible;
} brute_result;

/* Every labelling in [0, n)^n; a partition is counted once, in its canonical labelling. */
static brute_result brute_force(const double *S, int n, int max_groups, int max_size, double singleton)
{
    brute_result r = {.best = -INFINITY};
    int labels[8] = {0}, c[8];
    long long total = 1;
    for (int i = 0; i < n; i++) total *= n;
    for (long long code = 0; code < total; code++) {
        long long x = code;
        for (int i = 0; i < n; i++) labels[i] = (int)(x % n), x /= n;
        canonical(n, labels, c);
        if (memcmp(c, labels, (size_t)n * sizeof *c)) continue;
        int sizes[8] = {0}, groups = count_groups(n, labels), too_big = 0;
        for (int i = 0; i < n; i++) too_big |= ++sizes[labels[i]] > (max_size ? max_size : n);
        if (too_big || (max_groups && groups > max_groups)) continue;
        r.feasible++;
        double score = objective(S, n, labels, singleton);
        if (score > r.best + 1e-9) {
            r.best = score;
            r.ties = 1;
            memcpy(r.best_labels, labels, sizeof labels);
        } else if (score >= r.best - 1e-9) {
            r.ties++;
        }
    }
    return r;
}

static void test_partition_brute_force(void)
{
    const struct {
        int max_groups, max_size;
        double singleton;
    } variants[] = {{0, 0, -1e6}, {0, 0, 0.0}, {2, 0, -0.5}, {0, 2, -1e6}, {3, 3, 0.2}, {2, 2, -1e6}};
    double S[64], worst_score = 0;
    int g[8], ng, compared = 0, unique = 0;
    for (int n = 1; n <= 6; n++)
        for (uint64_t seed = 0; seed < 8; seed++)
            for (size_t v = 0; v < sizeof variants / sizeof variants[0]; v++) {
                gt_random_similarity(n, 77 * n + seed, S);
                cm_grouping_options o;
                cm_grouping_options_default(&o);
                o.max_groups = variants[v].max_groups;
                o.max_group_size = variants[v].max_size;
                o.singleton_score = variants[v].singleton;
                brute_result want = brute_force(S, n, o.max_groups, o.max_group_size, o.singleton_score);
                cm_partition_stats stats;
                cm_err err = cm_grouping_partition(S, n, &o, g, &ng, &stats);
                if (want.feasible == 0) {
                    CM_TEST(err == CM_ERR_CONFIG, "partition n=%d caps %d/%d: infeasible caps must fail", n,
                            o.max_groups, o.max_group_size);
                    cm_error_clear();
                    continue;
                }
                CM_TEST(err == CM_OK, "partition n=%d variant %zu failed", n, v);
                double got = objective(S, n, g, o.singleton_score);
                double d = fmax(fabs(got - want.best), fabs(stats.score - want.best)) / fmax(1, fabs(want.best));
                worst_score = fmax(worst_score, d);
                CM_TEST(d <= 1e-12, "partition n=%d seed=%d variant %zu: score %.17g (reported %.17g), brute force %.17g",
                        n, (int)seed, v, got, stats.score, want.best);
                CM_TEST(stats.npartitions == want.feasible, "partition n=%d variant %zu: %lld partitions scored, %lld feasible",
                        n, v, stats.npartitions, want.feasible);
                int sizes[8] = {0}, too_big = 0;
                for (int t = 0; t < n; t++) too_big |= ++sizes[g[t]] > (o.max_group_size ? o.max_group_size : n);
                CM_TEST(!too_big && (!o.max_groups || ng <= o.max_groups), "partition n=%d variant %zu: caps violated", n, v);
                if (want.ties == 1) {
                    expect("partition vs brute force (unique optimum)", n, g, ng, want.best_labels);
                    unique++;
                }
                compared++;
            }
    if (rank == 0)
        printf("partition: %d problems (N=1..6, 6 cap/singleton variants) match the brute force, %d with a unique "
               "optimum compared exactly; worst relative score difference %.3g (tol 1e-12)\n",
               compared, unique, worst_score);
}

static void test_partition_known(void)
{
    double S[MAXN * MAXN], P[MAXN * MAXN];
    int g[MAXN], gp[MAXN], back[MAXN], perm[MAXN], ng, ngp;
    cm_grouping_options o;
    cm_grouping_options_default(&o);

    const int blocks[9] = {2, 0, 1, 0, 2, 1, 0, 2, 1};
    gt_block_similarity(9, blocks, 0.7, -0.1, 0.1, 3, S);
    CM_TEST_OK(cm_grouping_partition(S, 9, &o, g, &ng, NULL));
    expect("partition: three noisy blocks", 9, g, ng, blocks);

    /* Allowing singletons (score 0), a task opposed to all (-0.5) is better alone. */
    for (int j = 0; j < 9; j++)
        if (j != 4) S[4 * 9 + j] = S[j * 9 + 4] = -0.5;
    o.singleton_score = 0;
    CM_TEST_OK(cm_grouping_partition(S, 9, &o, g, &ng, NULL));
    expect("partition: opposed task alone", 9, g, ng, (int[]){0, 1, 2, 1, 3, 2, 1, 0, 2});
    /* TAG's -1e6 forbids singletons: task 4 must join a group (which one is a near tie between
     * joining {0, 7} and pairing with a task taken from another block), and the result must score
     * at least as well as the blocks themselves. */
    o.singleton_score = -1e6;
    CM_TEST_OK(cm_grouping_partition(S, 9, &o, g, &ng, NULL));
    int sizes[9] = {0}, singleton = 0;
    for (int t = 0; t < 9; t++) sizes[g[t]]++;
    for (int c = 0; c < ng; c++) singleton |= sizes[c] == 1;
    CM_TEST(!singleton && objective(S, 9, g, -1e6) >= objective(S, 9, blocks, -1e6) - 1e-12,
            "partition: -1e6 singleton score must forbid singletons");
    /* Relabelling: the same optimum, permuted. */
    for (uint64_t seed = 0; seed < 10; seed++) {
        gt_random_similarity(8, 500 + seed, S);
        random_permutation(8, seed, perm);
        permute(8, S, perm, P);
        CM_TEST_OK(cm_grouping_partition(S, 8, &o, g, &ng, NULL));
        CM_TEST_OK(cm_grouping_partition(P, 8, &o, gp, &ngp, NULL));
        unpermute(8, perm, gp, back);
        CM_TEST(same_grouping(8, g, back), "partition seed=%d: not invariant to relabelling", (int)seed);
    }

    /* Exact ties: all similarities equal, so every partition without singletons scores the same;
     * the first restricted growth string, all tasks in group 0, wins. */
    for (int i = 0; i < 25; i++) S[i] = i % 6 == 0 ? 1 : 0.3;
    CM_TEST_OK(cm_grouping_partition(S, 5, &o, g, &ng, NULL));
    expect("partition: ties go to the first string", 5, g, ng, (int[]){0, 0, 0, 0, 0});
    o.max_groups = 2;
    o.max_group_size = 3;
    CM_TEST_OK(cm_grouping_partition(S, 5, &o, g, &ng, NULL));
    expect("partition: ties under caps", 5, g, ng, (int[]){0, 0, 0, 1, 1});
}

static void test_partition_counts_and_timing(void)
{
    /* Bell numbers: partitions of 1..12 elements. */
    const long long bell[13] = {1, 1, 2, 5, 15, 52, 203, 877, 4140, 21147, 115975, 678570, 4213597};
    double S[MAXN * MAXN];
    int g[MAXN], ng;
    cm_grouping_options o;
    cm_grouping_options_default(&o);
    cm_partition_stats stats;
    for (int n = 1; n <= 11; n++) {
        gt_random_similarity(n, n, S);
        CM_TEST_OK(cm_grouping_partition(S, n, &o, g, &ng, &stats));
        CM_TEST(stats.npartitions == bell[n], "n=%d: %lld partitions scored, Bell = %lld", n, stats.npartitions, bell[n]);
    }
    if (nranks == 1) {
        gt_random_similarity(12, 12, S);
        double start = cm_now();
        CM_TEST_OK(cm_grouping_partition(S, 12, &o, g, &ng, &stats));
        double seconds = cm_now() - start;
        CM_TEST(stats.npartitions == bell[12], "n=12: %lld partitions scored, Bell = %lld", stats.npartitions, bell[12]);
        CM_TEST(seconds < 10, "n=12 took %.2f s", seconds);
        double check = objective(S, 12, g, o.singleton_score);
        CM_TEST(fabs(check - stats.score) <= 1e-12, "n=12: reported score %.17g, recomputed %.17g", stats.score, check);
        printf("partition N=12: %lld partitions in %.3f s (%d groups, score %.6f)\n", stats.npartitions, seconds, ng,
               stats.score);
    }

    /* Beyond 12 tasks: the threshold rule, with a warning. */
    gt_random_similarity(13, 13, S);
    o.tau = 0.2;
    int want[MAXN], nwant;
    CM_TEST_OK(cm_grouping_partition(S, 13, &o, g, &ng, &stats));
    CM_TEST_OK(cm_grouping_threshold(S, 13, 0.2, 0, want, &nwant));
    CM_TEST(stats.fell_back == 1 && stats.npartitions == 0, "n=13 must fall back");
    expect("partition n=13 falls back to threshold", 13, g, ng, want);
}

/* ---- spectral ---- */

static void test_spectral(void)
{
    double S[MAXN * MAXN], P[MAXN * MAXN];
    int g[MAXN], gs[MAXN], gp[MAXN], back[MAXN], perm[MAXN], ng, ngs, ngp;

    const int blocks[9] = {1, 0, 2, 0, 1, 0, 2, 0, 1};
    gt_block_similarity(9, blocks, 0.8, -0.2, 0.1, 4, S);
    CM_TEST_OK(cm_grouping_spectral(MPI_COMM_WORLD, S, 9, 3, g, &ng));
    expect("spectral: three noisy blocks", 9, g, ng, blocks);
    random_permutation(9, 3, perm);
    permute(9, S, perm, P);
    CM_TEST_OK(cm_grouping_spectral(MPI_COMM_WORLD, P, 9, 3, gp, &ngp));
    unpermute(9, perm, gp, back);
    CM_TEST(same_grouping(9, back, blocks) && ngp == 3, "spectral: relabelled blocks");

    CM_TEST_OK(cm_grouping_spectral(MPI_COMM_WORLD, S, 9, 1, g, &ng));
    expect("spectral: k = 1", 9, g, ng, (int[9]){0});
    CM_TEST_OK(cm_grouping_spectral(MPI_COMM_WORLD, S, 9, 9, g, &ng));
    expect("spectral: k = n", 9, g, ng, (int[]){0, 1, 2, 3, 4, 5, 6, 7, 8});
    CM_TEST(cm_grouping_spectral(MPI_COMM_WORLD, S, 9, 10, g, &ng) == CM_ERR_CONFIG, "k > n must fail");
    CM_TEST(cm_grouping_spectral(MPI_COMM_WORLD, S, 9, 0, g, &ng) == CM_ERR_CONFIG, "k = 0 must fail");
    S[1] = S[9] = 1.5;
    CM_TEST(cm_grouping_spectral(MPI_COMM_WORLD, S, 9, 3, g, &ng) == CM_ERR_ARG, "S outside [-1, 1] must fail");
    cm_error_clear();

    /* Distributed (pdsyevd over all ranks) and serial (dsyevd) agree on noisier problems. */
    int agree = 0, total = 0;
    for (int n = 4; n <= 12; n++)
        for (int k = 2; k <= 4 && k < n; k++)
            for (uint64_t seed = 0; seed < 4; seed++) {
                int b[MAXN];
                for (int t = 0; t < n; t++) b[t] = (int)((t * 7 + seed) % k);
                gt_block_similarity(n, b, 0.6, 0.0, 0.3, 100 * n + seed, S);
                CM_TEST_OK(cm_grouping_spectral(MPI_COMM_WORLD, S, n, k, g, &ng));
                CM_TEST_OK(cm_grouping_spectral(MPI_COMM_SELF, S, n, k, gs, &ngs));
                int same = ng == ngs && !memcmp(g, gs, (size_t)n * sizeof *g);
                CM_TEST(same, "spectral n=%d k=%d seed=%d: all ranks and one rank disagree", n, k, (int)seed);
                CM_TEST(gt_same_ints_on_all_ranks(g, n), "spectral n=%d k=%d: ranks disagree", n, k);
                agree += same;
                total++;
            }
    if (rank == 0) printf("spectral: %d of %d noisy problems grouped identically by pdsyevd (P=%d) and dsyevd\n", agree, total, nranks);
}

/* ---- explicit, parsing, broadcast ---- */

static void test_explicit(void)
{
    int g[8], ng;
    CM_TEST_OK(cm_grouping_explicit(5, 3, (int[]){2, 1, 2}, (int[]){3, 1, 0, 2, 4}, g, &ng));
    expect("explicit: lists in any order", 5, g, ng, (int[]){0, 1, 2, 1, 2});
    const struct {
        int nlists;
        int sizes[3], members[6];
        const char *message;
    } bad[] = {
        {2, {2, 2}, {0, 1, 1, 2}, "task 1 appears twice"},
        {2, {2, 1}, {0, 1, 3}, "task 2 is in no group"},
        {2, {2, 2}, {0, 1, 2, 4}, "names task 4, outside 0..3"},
        {3, {2, 0, 2}, {0, 1, 2, 3}, "group 1 is empty"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        cm_err err = cm_grouping_explicit(4, bad[i].nlists, bad[i].sizes, bad[i].members, g, &ng);
        CM_TEST(err == CM_ERR_CONFIG && strstr(cm_error_message(), bad[i].message), "explicit case %zu: %s", i,
                cm_error_message());
        cm_error_clear();
    }
    cm_grouping_rule rule;
    CM_TEST(cm_grouping_rule_parse("spectral", &rule) == CM_OK && rule == CM_GROUPING_SPECTRAL, "parse spectral");
    CM_TEST(!strcmp(cm_grouping_rule_name(CM_GROUPING_THRESHOLD), "threshold"), "rule name");
    CM_TEST(cm_grouping_rule_parse("kmeans", &rule) == CM_ERR_CONFIG && strstr(cm_error_message(), "'kmeans'"),
            "unknown rule must fail: %s", cm_error_message());
    cm_error_clear();
}

static void test_compute_and_bcast(void)
{
    const int root = nranks - 1;
    const int blocks[8] = {0, 1, 0, 2, 1, 2, 0, 2};
    double S[64];
    gt_block_similarity(8, blocks, 0.8, -0.1, 0.1, 9, S);
    cm_grouping_options o;
    cm_grouping_options_default(&o);
    o.tau = 0.4;
    o.k = 3;
    o.explicit_ngroups = 3;
    o.explicit_sizes = (int[]){3, 2, 3};
    o.explicit_members = (int[]){6, 2, 0, 4, 1, 3, 5, 7};
    const cm_grouping_rule rules[] = {CM_GROUPING_PARTITION, CM_GROUPING_THRESHOLD, CM_GROUPING_SPECTRAL,
                                      CM_GROUPING_EXPLICIT};
    for (size_t r = 0; r < 4; r++) {
        o.rule = rules[r];
        int g[8] = {-7, -7, -7, -7, -7, -7, -7, -7}, ng = -1;
        /* S only on root. */
        CM_TEST_OK(cm_grouping_compute(MPI_COMM_WORLD, root, rank == root ? S : NULL, 8, &o, g, &ng));
        char what[64];
        snprintf(what, sizeof what, "compute %s on rank %d", cm_grouping_rule_name(o.rule), rank);
        expect(what, 8, g, ng, blocks);
    }
    /* A failure on root reaches every rank. */
    o.rule = CM_GROUPING_EXPLICIT;
    o.explicit_members = (int[]){6, 2, 0, 4, 1, 3, 5, 5};
    int g[8], ng;
    cm_err err = cm_grouping_compute(MPI_COMM_WORLD, root, rank == root ? S : NULL, 8, &o, g, &ng);
    CM_TEST(err == (rank == root ? CM_ERR_CONFIG : CM_ERR_MPI), "rank %d: failure on root gave %s (%s)", rank,
            cm_error_name(err), cm_error_message());
    cm_error_clear();
}

int main(int argc, char **argv)
{
    MPI_Init(&argc, &argv);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &nranks);
    cm_log_set_rank(rank, nranks);
    if (rank != 0) cm_log_set_quiet(1);
    double start = cm_now();
    test_threshold_known();
    test_threshold_properties();
    test_partition_brute_force();
    test_partition_known();
    test_partition_counts_and_timing();
    test_spectral();
    test_explicit();
    test_compute_and_bcast();
    return gt_finish(start);
}
