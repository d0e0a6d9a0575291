/* Distributed Gram/cosine similarity (ScaLAPACK pdsyrk) against a serial computation in long
 * double, for N = 1..7 tasks, gradient lengths that are not multiples of the block size, and
 * several ways of spreading the task gradients over the ranks; zero gradients, NaN, missing
 * owners; the snapshot record. Run on 1, 2, 3 and 4 ranks.
 *
 * Tolerance: |G_ij - G_ref_ij| <= 1e-12 sqrt(G_ii G_jj), |S_ij - S_ref_ij| <= 1e-12 and
 * |norm_i - norm_ref_i| <= 1e-12 norm_ref_i. The scale sqrt(G_ii G_jj) bounds |G_ij| (Cauchy-
 * Schwarz) and is the natural size of a rounding error of the sum; double accumulation over
 * D = 1e5 terms stays near 1e-15 of it. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mpi.h>

#include "clipmtl/log.h"
#include "clipmtl/rng.h"
#include "clipmtl/similarity.h"
#include "grouping_test.h"
#include "test_util.h"

#define MAX_TASKS 7
#define TOL 1e-12

static int rank, nranks;
static double worst_gram, worst_cosine, worst_norm;

/* Gradients with structure: two shared directions mixed per task plus task noise, so that the
 * cosines spread over (-1, 1). Every rank generates all of them (to hold the reference). */
static float *make_gradients(int ntasks, int64_t dim, uint64_t seed)
{
    float *g = malloc((size_t)ntasks * dim * sizeof *g);
    float *base = malloc(2 * (size_t)dim * sizeof *base);
    cm_rng r;
    cm_rng_seed(&r, seed, cm_rng_stream(1, 0, 0, 0));
    for (int64_t d = 0; d < 2 * dim; d++) base[d] = cm_rng_normal(&r);
    for (int t = 0; t < ntasks; t++) {
        cm_rng_seed(&r, seed, cm_rng_stream(2, (uint64_t)t, 0, 0));
        float a = 2 * cm_rng_uniform(&r) - 1, b = 2 * cm_rng_uniform(&r) - 1, scale = 1e-3f * (1 + t);
        for (int64_t d = 0; d < dim; d++)
            g[t * dim + d] = scale * (a * base[d] + b * base[dim + d] + 0.3f * cm_rng_normal(&r));
    }
    free(base);
    return g;
}

/* The serial reference: products of the float values, summed in long double. */
static void reference(int ntasks, int64_t dim, const float *g, double *gram, double *cosine, double *norms)
{
    for (int i = 0; i < ntasks; i++)
        for (int j = 0; j < ntasks; j++) {
            long double s = 0;
            for (int64_t d = 0; d < dim; d++) s += (long double)g[i * dim + d] * g[j * dim + d];
            gram[i * ntasks + j] = (double)s;
        }
    for (int i = 0; i < ntasks; i++) norms[i] = sqrt(gram[i * ntasks + i]);
    for (int i = 0; i < ntasks; i++)
        for (int j = 0; j < ntasks; j++)
            cosine[i * ntasks + j] = i == j ? 1
                                     : norms[i] == 0 || norms[j] == 0 ? 0
                                                                      : gram[i * ntasks + j] / (norms[i] * norms[j]);
}

/* Ways of spreading task t over the ranks: does `r` hold it? */
enum { SINGLE_OWNER, TASK_BLOCKS, EVERYONE, IRREGULAR, NPATTERNS };
static const char *const pattern_names[] = {"single owner t mod P", "contiguous task blocks", "every rank",
                                            "irregular"};

static int holds(int pattern, int r, int t, int ntasks)
{
    switch (pattern) {
    case SINGLE_OWNER: return r == t % nranks;
    case TASK_BLOCKS: /* as after the task-level allreduce: P/N ranks per task, or N/P tasks per rank */
        return nranks >= ntasks ? r * ntasks / nranks == t : t * nranks / ntasks == r;
    case EVERYONE: return 1;
    default: return r == nranks - 1 - t % nranks || r == (3 * t + 1) % nranks;
    }
}

static void compare(const char *what, int ntasks, const double *gram, const double *cosine, const double *norms,
                    const double *ref_gram, const double *ref_cosine, const double *ref_norms)
{
    double eg = 0, ec = 0, en = 0;
    for (int i = 0; i < ntasks; i++) {
        double scale = ref_norms[i] > 0 ? ref_norms[i] : 1;
        en = fmax(en, fabs(norms[i] - ref_norms[i]) / scale);
        for (int j = 0; j < ntasks; j++) {
            double s = ref_norms[i] * ref_norms[j];
            double d = fabs(gram[i * ntasks + j] - ref_gram[i * ntasks + j]);
            eg = fmax(eg, s > 0 ? d / s : d);
            ec = fmax(ec, fabs(cosine[i * ntasks + j] - ref_cosine[i * ntasks + j]));
            CM_TEST(isfinite(cosine[i * ntasks + j]), "%s: S[%d][%d] is not finite", what, i, j);
        }
    }
    CM_TEST(eg <= TOL && ec <= TOL && en <= TOL, "%s: gram %.3g cosine %.3g norm %.3g (tol %g)", what, eg, ec, en, TOL);
    worst_gram = fmax(worst_gram, eg);
    worst_cosine = fmax(worst_cosine, ec);
    worst_norm = fmax(worst_norm, en);
    CM_TEST(gt_same_doubles_on_all_ranks(gram, ntasks * ntasks) && gt_same_doubles_on_all_ranks(cosine, ntasks * ntasks) &&
                gt_same_doubles_on_all_ranks(norms, ntasks),
            "%s: ranks disagree", what);
}

static void test_against_serial(void)
{
    const int64_t dims[] = {100003, 5, 1};
    const int blocks[] = {0, 7, 4096};
    int cases = 0;
    double *gram = malloc(4 * MAX_TASKS * MAX_TASKS * sizeof *gram);
    double *cosine = gram + MAX_TASKS * MAX_TASKS, *ref_gram = cosine + MAX_TASKS * MAX_TASKS;
    double *ref_cosine = ref_gram + MAX_TASKS * MAX_TASKS, norms[MAX_TASKS], ref_norms[MAX_TASKS];
    for (size_t di = 0; di < sizeof dims / sizeof dims[0]; di++)
        for (int ntasks = 1; ntasks <= MAX_TASKS; ntasks++) {
            int64_t dim = dims[di];
            float *g = make_gradients(ntasks, dim, 1000 + ntasks);
            reference(ntasks, dim, g, ref_gram, ref_cosine, ref_norms);
            const float *grads[MAX_TASKS];
            for (int pattern = 0; pattern < NPATTERNS; pattern++)
                for (size_t bi = 0; bi < sizeof blocks / sizeof blocks[0]; bi++) {
                    for (int t = 0; t < ntasks; t++) grads[t] = holds(pattern, rank, t, ntasks) ? g + t * dim : NULL;
                    char what[160];
                    snprintf(what, sizeof what, "P=%d N=%d D=%lld block=%d %s", nranks, ntasks, (long long)dim,
                             blocks[bi], pattern_names[pattern]);
                    CM_TEST_OK(cm_similarity_compute(MPI_COMM_WORLD, ntasks, dim, grads, blocks[bi], gram, cosine, norms));
                    compare(what, ntasks, gram, cosine, norms, ref_gram, ref_cosine, ref_norms);
                    cases++;
                }
            free(g);
        }
    free(gram);
    double worst[3] = {worst_gram, worst_cosine, worst_norm};
    MPI_Allreduce(MPI_IN_PLACE, worst, 3, MPI_DOUBLE, MPI_MAX, MPI_COMM_WORLD);
    if (rank == 0)
        printf("P=%d: %d cases (N=1..%d, D in {100003, 5, 1}, 4 ownership patterns, blocks auto/7/4096): worst "
               "|dG|/sqrt(GiiGjj) %.3g, |dS| %.3g, |dnorm|/norm %.3g (tol %g)\n",
               nranks, cases, MAX_TASKS, worst[0], worst[1], worst[2], TOL);
}

/* Parallel, antiparallel and zero gradients: S = 1, -1 and the defined 0 (no NaN). */
static void test_special_gradients(void)
{
    enum { N = 5 };
    const int64_t dim = 10007;
    float *g = make_gradients(N, dim, 77);
    for (int64_t d = 0; d < dim; d++) {
        g[2 * dim + d] = g[0 * dim + d];  /* task 2 = task 0 */
        g[3 * dim + d] = -g[1 * dim + d]; /* task 3 = -task 1 */
        g[4 * dim + d] = 0;               /* task 4 has no gradient */
    }
    const float *grads[N];
    for (int t = 0; t < N; t++) grads[t] = holds(SINGLE_OWNER, rank, t, N) ? g + t * dim : NULL;
    double gram[N * N], cosine[N * N], norms[N], ref_gram[N * N], ref_cosine[N * N], ref_norms[N];
    reference(N, dim, g, ref_gram, ref_cosine, ref_norms);
    CM_TEST_OK(cm_similarity_compute(MPI_COMM_WORLD, N, dim, grads, 0, gram, cosine, norms));
    compare("special gradients", N, gram, cosine, norms, ref_gram, ref_cosine, ref_norms);
    /* Rounding may leave |S| a hair above 1 for (anti)parallel gradients: it must be clamped. */
    CM_TEST(cosine[0 * N + 2] <= 1 && 1 - cosine[0 * N + 2] <= TOL, "identical gradients: S = %.17g", cosine[2]);
    CM_TEST(cosine[1 * N + 3] >= -1 && 1 + cosine[1 * N + 3] <= TOL, "opposite gradients: S = %.17g", cosine[1 * N + 3]);
    CM_TEST(norms[4] == 0 && gram[4 * N + 4] == 0, "zero gradient: norm %g", norms[4]);
    for (int j = 0; j < N; j++)
        CM_TEST(cosine[4 * N + j] == (j == 4) && cosine[j * N + 4] == (j == 4),
                "zero gradient: S[4][%d] = %g, S[%d][4] = %g (want %d)", j, cosine[4 * N + j], j, cosine[j * N + 4], j == 4);

    /* All gradients zero: a matrix of defined values, no error. */
    memset(g, 0, (size_t)N * dim * sizeof *g);
    CM_TEST_OK(cm_similarity_compute(MPI_COMM_WORLD, N, dim, grads, 0, NULL, cosine, norms));
    for (int i = 0; i < N * N; i++) CM_TEST(cosine[i] == (i % (N + 1) == 0), "all-zero gradients: S entry %d = %g", i, cosine[i]);
    free(g);
}

/* A NaN and a missing owner fail on every rank (no hang, no NaN result). */
static void test_errors(void)
{
    enum { N = 3 };
    const int64_t dim = 1001;
    float *g = make_gradients(N, dim, 5);
    g[1 * dim + 500] = NAN;
    const float *grads[N];
    for (int t = 0; t < N; t++) grads[t] = holds(SINGLE_OWNER, rank, t, N) ? g + t * dim : NULL;
    double cosine[N * N], norms[N];
    cm_err err = cm_similarity_compute(MPI_COMM_WORLD, N, dim, grads, 0, NULL, cosine, norms);
    CM_TEST(err == CM_ERR_NUMERIC && strstr(cm_error_message(), "task 1"), "NaN gradient: got %s (%s)",
            cm_error_name(err), cm_error_message());
    cm_error_clear();

    g[1 * dim + 500] = 0;
    grads[2] = NULL;
    err = cm_similarity_compute(MPI_COMM_WORLD, N, dim, grads, 0, NULL, cosine, norms);
    CM_TEST(err == CM_ERR_ARG && strstr(cm_error_message(), "task 2"), "unowned task: got %s (%s)",
            cm_error_name(err), cm_error_message());
    cm_error_clear();
    free(g);
}

static void test_snapshots(void)
{
    enum { N = 3 };
    cm_similarity_snapshots s;
    CM_TEST_OK(cm_similarity_snapshots_init(&s, N));
    double mean[N * N];
    CM_TEST(cm_similarity_snapshots_mean(&s, mean) == CM_ERR_ARG, "mean of no snapshot must fail");
    cm_error_clear();
    double want[N * N] = {0};
    const int K = 11; /* more than the initial capacity */
    for (int k = 0; k < K; k++) {
        double cosine[N * N], norms[N];
        for (int e = 0; e < N * N; e++) cosine[e] = sin(0.3 * k + e), want[e] += cosine[e] / K;
        for (int t = 0; t < N; t++) norms[t] = k + 0.5 * t;
        CM_TEST_OK(cm_similarity_snapshots_add(&s, 100 * (k + 1), cosine, norms));
    }
    CM_TEST(cm_similarity_snapshots_add(&s, 100 * K, want, want) == CM_ERR_ARG, "a repeated step must fail");
    cm_error_clear();
    CM_TEST(s.count == K && s.steps[0] == 100 && s.steps[K - 1] == 100 * K, "steps kept: count %d", s.count);
    CM_TEST(s.norms[(K - 1) * N + 2] == K - 1 + 1.0 && s.cosine[3 * N * N + 4] == sin(0.3 * 3 + 4),
            "every snapshot kept");
    CM_TEST_OK(cm_similarity_snapshots_mean(&s, mean));
    double worst = 0;
    for (int e = 0; e < N * N; e++) worst = fmax(worst, fabs(mean[e] - want[e]));
    CM_TEST(worst <= 1e-15, "snapshot mean off by %.3g", worst);
    cm_similarity_snapshots_destroy(&s);
}

int main(int argc, char **argv)
{
    MPI_Init(&argc, &argv);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &nranks);
    cm_log_set_rank(rank, nranks);
    double start = cm_now();
    test_against_serial();
    test_special_gradients();
    test_errors();
    test_snapshots();
    return gt_finish(start);
}
