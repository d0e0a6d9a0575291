/* The GEMM layer on every path this build and CPU offer: every transpose combination, strided
 * operands, alpha and beta against a float64 product; bf16 against the float64 product of the
 * bf16-rounded operands (what fp32 accumulation of bf16 products must reproduce) and against
 * the unrounded one (the error bf16 costs); frozen ranges (only products with a frozen second
 * operand change in bf16; unfreezing restores fp32); products split over threads; products
 * running at once on several threads; selection errors.
 *
 *   test_gemm           the checks
 *   test_gemm --paths   prints the fp32 paths available here (used by test_gemm_paths.sh) */
#include <cblas.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clipmtl/gemm.h"
#include "clipmtl/half.h"
#include "test_util.h"

static float bf16_round(float x) { return cm_bf16_to_f32(cm_f32_to_bf16(x)); }

/* C = alpha op(A) op(B) + beta C0 in double, operands optionally rounded to bf16 first. */
static void reference(int ta, int tb, int M, int N, int K, float alpha, const float *A, int lda, const float *B,
                      int ldb, float beta, const float *C0, int ldc, int round, float *out)
{
    for (int i = 0; i < M; i++)
        for (int j = 0; j < N; j++) {
            double s = 0;
            for (int k = 0; k < K; k++) {
                float a = ta ? A[(size_t)k * lda + i] : A[(size_t)i * lda + k];
                float b = tb ? B[(size_t)j * ldb + k] : B[(size_t)k * ldb + j];
                if (round) a = bf16_round(a), b = bf16_round(b);
                s += (double)a * b;
            }
            out[(size_t)i * ldc + j] = (float)(alpha * s + (double)beta * C0[(size_t)i * ldc + j]);
        }
}

/* Max |got - want| over max |want| on the M x N block of stride ldc. */
static double rel_error(const float *got, const float *want, int M, int N, int ldc)
{
    double err = 0, scale = 0;
    for (int i = 0; i < M; i++)
        for (int j = 0; j < N; j++) {
            double w = want[(size_t)i * ldc + j];
            err = fmax(err, fabs(got[(size_t)i * ldc + j] - w));
            scale = fmax(scale, fabs(w));
        }
    return err / scale;
}

static void fill(float *x, size_t n, unsigned seed)
{
    for (size_t i = 0; i < n; i++) {
        seed = seed * 1103515245u + 12345u;
        x[i] = (float)((seed >> 8) & 0xffff) / 32768.0f - 1.0f;
    }
}

/* One product of every transpose pair; returns the worst relative errors. */
static void check_products(const char *label, int frozen_b, double tol_exact, double tol_bf16_rounding)
{
    const int M = 37, N = 53, K = 300, pad = 3;
    const float alphas[] = {1.0f, 0.125f}, betas[] = {0.0f, 1.0f, 0.5f};
    size_t big = (size_t)(K + pad) * (N + M + pad);
    float *A = malloc(big * sizeof *A), *B = malloc(big * sizeof *B), *C0 = malloc(big * sizeof *C0);
    float *C = malloc(big * sizeof *C), *want = malloc(big * sizeof *want), *want_bf16 = malloc(big * sizeof *want);
    fill(A, big, 1), fill(B, big, 2), fill(C0, big, 3);
    if (frozen_b) CM_TEST_OK(cm_gemm_freeze(B, big));
    int bf16 = frozen_b && cm_gemm_current_precision() == CM_PRECISION_BF16;
    for (int ta = 0; ta < 2; ta++)
        for (int tb = 0; tb < 2; tb++)
            for (int ai = 0; ai < 2; ai++)
                for (int bi = 0; bi < 3; bi++) {
                    int lda = (ta ? M : K) + pad, ldb = (tb ? K : N) + pad, ldc = N + pad;
                    float alpha = alphas[ai], beta = betas[bi];
                    memcpy(C, C0, big * sizeof *C);
                    cm_gemm(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
                    reference(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C0, ldc, 0, want);
                    reference(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C0, ldc, 1, want_bf16);
                    /* bf16 applies to products whose first operand is not transposed */
                    int rounded = bf16 && !ta;
                    double e = rel_error(C, rounded ? want_bf16 : want, M, N, ldc);
                    CM_TEST(e <= tol_exact, "%s %c%c alpha %g beta %g: relative error %.2e > %.0e", label,
                            ta ? 'T' : 'N', tb ? 'T' : 'N', alpha, beta, e, tol_exact);
                    if (rounded) {
                        double cost = rel_error(C, want, M, N, ldc);
                        CM_TEST(cost > 1e-5 && cost <= tol_bf16_rounding,
                                "%s %c%c: error against the unrounded product %.2e not in (1e-5, %.0e]", label,
                                ta ? 'T' : 'N', tb ? 'T' : 'N', cost, tol_bf16_rounding);
                    }
                    /* C's padding columns are never written */
                    for (int i = 0; i < M; i++)
                        for (int j = N; j < ldc; j++)
                            CM_TEST(C[(size_t)i * ldc + j] == C0[(size_t)i * ldc + j], "%s wrote C padding", label);
                }
    if (frozen_b) cm_gemm_unfreeze(B);
    free(A), free(B), free(C0), free(C), free(want), free(want_bf16);
}

/* A product large enough to be split into row slices over threads (gemm.h: above about 8
 * MFLOP, three threads here so that the slices are uneven): every transpose pair against the
 * float64 product, as check_products, and the operation count of cm_gemm_flops. */
static void check_split(const char *label, double tol_exact)
{
    const int M = 301, N = 97, K = 300, pad = 5;
    size_t big = (size_t)(K + pad) * (M + N + pad);
    float *A = malloc(big * sizeof *A), *B = malloc(big * sizeof *B), *C0 = malloc(big * sizeof *C0);
    float *C = malloc(big * sizeof *C), *want = malloc(big * sizeof *want);
    fill(A, big, 4), fill(B, big, 5), fill(C0, big, 6);
    CM_TEST_OK(cm_gemm_freeze(B, big));
    int bf16 = cm_gemm_current_precision() == CM_PRECISION_BF16, threads = openblas_get_num_threads();
    openblas_set_num_threads(3);
    const double flops0 = cm_gemm_flops();
    for (int ta = 0; ta < 2; ta++)
        for (int tb = 0; tb < 2; tb++) {
            int lda = (ta ? M : K) + pad, ldb = (tb ? K : N) + pad, ldc = N + pad;
            memcpy(C, C0, big * sizeof *C);
            cm_gemm(ta, tb, M, N, K, 0.5f, A, lda, B, ldb, 1.0f, C, ldc);
            reference(ta, tb, M, N, K, 0.5f, A, lda, B, ldb, 1.0f, C0, ldc, bf16 && !ta, want);
            double e = rel_error(C, want, M, N, ldc);
            CM_TEST(e <= tol_exact, "%s split %c%c: relative error %.2e > %.0e", label, ta ? 'T' : 'N',
                    tb ? 'T' : 'N', e, tol_exact);
        }
    /* cm_gemm_flops counts each split product once, from its caller */
    CM_TEST(cm_gemm_flops() - flops0 == 4 * 2.0 * M * N * K, "%s: cm_gemm_flops counted %.0f for 4 products of %.0f",
            label, cm_gemm_flops() - flops0, 2.0 * M * N * K);
    openblas_set_num_threads(threads);
    cm_gemm_unfreeze(B);
    free(A), free(B), free(C0), free(C), free(want);
}

/* Products running at once on several threads (attention's heads run so; a split product's
 * slices too) must each give what it gives alone: no scratch (the bf16 copy of A, oneDNN's
 * scratchpad) may be shared between running products. Each thread multiplies its own A by one
 * frozen B, REPEATS times, on one thread (cm_gemm_single_thread) or split (outer). The oneDNN
 * path only: OpenBLAS keeps its own buffers. */
enum { CONCURRENT = 4, REPEATS = 16, CM = 150, CN = 120, CK = 256 }; /* 9.2 MFLOP: split when outer */
typedef struct {
    const float *A, *B;
    const float *alone; /* the product computed before, with no other product running */
    float *C;
    int single, mismatches;
} concurrent_job;

static void *concurrent_products(void *arg)
{
    concurrent_job *j = arg;
    cm_gemm_single_thread(j->single);
    for (int r = 0; r < REPEATS; r++) {
        cm_gemm(0, 1, CM, CN, CK, 1.0f, j->A, CK, j->B, CK, 0.0f, j->C, CN);
        j->mismatches += memcmp(j->C, j->alone, (size_t)CM * CN * sizeof *j->C) != 0;
    }
    cm_gemm_single_thread(0);
    return NULL;
}

static void check_concurrent(const char *label)
{
    float *B = malloc((size_t)CN * CK * sizeof *B), *A[CONCURRENT], *alone[CONCURRENT], *C[CONCURRENT];
    fill(B, (size_t)CN * CK, 7);
    CM_TEST_OK(cm_gemm_freeze(B, (size_t)CN * CK));
    for (int single = 1; single >= 0; single--) {
        concurrent_job jobs[CONCURRENT];
        pthread_t threads[CONCURRENT];
        for (int t = 0; t < CONCURRENT; t++) {
            A[t] = malloc((size_t)CM * CK * sizeof *A[t]), alone[t] = malloc((size_t)CM * CN * sizeof *alone[t]);
            C[t] = malloc((size_t)CM * CN * sizeof *C[t]);
            fill(A[t], (size_t)CM * CK, 10 + (unsigned)t);
            cm_gemm_single_thread(single);
            cm_gemm(0, 1, CM, CN, CK, 1.0f, A[t], CK, B, CK, 0.0f, alone[t], CN);
            cm_gemm_single_thread(0);
            jobs[t] = (concurrent_job){A[t], B, alone[t], C[t], single, 0};
        }
        int started[CONCURRENT];
        for (int t = 0; t < CONCURRENT; t++)
            started[t] = pthread_create(&threads[t], NULL, concurrent_products, &jobs[t]) == 0;
        for (int t = 0; t < CONCURRENT; t++) {
            CM_TEST(started[t], "%s: could not start thread %d", label, t);
            if (started[t]) pthread_join(threads[t], NULL);
            CM_TEST(jobs[t].mismatches == 0, "%s: %d of %d products of thread %d (%s) differ from the product alone",
                    label, jobs[t].mismatches, REPEATS, t, single ? "one thread" : "split");
            free(A[t]), free(alone[t]), free(C[t]);
        }
    }
    cm_gemm_unfreeze(B);
    free(B);
}

int main(int argc, char **argv)
{
    const cm_gemm_path paths[] = {CM_GEMM_OPENBLAS, CM_GEMM_ONEDNN};
    if (argc > 1 && !strcmp(argv[1], "--paths")) {
        for (int p = 0; p < 2; p++)
            if (cm_gemm_available(paths[p], CM_PRECISION_FP32)) printf("%s\n", cm_gemm_path_name(paths[p]));
        return 0;
    }
    /* fp32 accumulation over K = 300 products of values below 1: a few ulps of the result */
    const double tol_fp32 = 1e-5;
    /* rounding both operands to bf16 (8 significant bits, 2^-9 relative each) */
    const double tol_bf16 = 1e-2;
    CM_TEST(cm_gemm_available(CM_GEMM_OPENBLAS, CM_PRECISION_FP32), "openblas must always be available");
    CM_TEST(!cm_gemm_available(CM_GEMM_OPENBLAS, CM_PRECISION_BF16), "openblas has no bf16 path");
    CM_TEST(cm_gemm_select(CM_GEMM_OPENBLAS, CM_PRECISION_BF16) != CM_OK, "bf16 on openblas must be refused");
    cm_error_clear();
    for (int p = 0; p < 2; p++)
        for (int prec = CM_PRECISION_FP32; prec <= CM_PRECISION_BF16; prec++) {
            if (!cm_gemm_available(paths[p], (cm_precision)prec)) {
                cm_err err = cm_gemm_select(paths[p], (cm_precision)prec);
                CM_TEST(err != CM_OK, "selecting unavailable %s %s must fail", cm_gemm_path_name(paths[p]),
                        cm_precision_name((cm_precision)prec));
                cm_error_clear();
                printf("skipped %s %s: not available here\n", cm_gemm_path_name(paths[p]),
                       cm_precision_name((cm_precision)prec));
                continue;
            }
            CM_TEST_OK(cm_gemm_select(paths[p], (cm_precision)prec));
            printf("%s\n", cm_gemm_describe());
            check_products(cm_gemm_describe(), 0, tol_fp32, tol_bf16);
            check_products(cm_gemm_describe(), 1, tol_fp32, tol_bf16);
            check_split(cm_gemm_describe(), tol_fp32);
            if (paths[p] == CM_GEMM_ONEDNN) check_concurrent(cm_gemm_describe());
        }
    /* auto resolves to a concrete path */
    CM_TEST_OK(cm_gemm_select(CM_GEMM_AUTO, CM_PRECISION_FP32));
    CM_TEST(cm_gemm_current_path() != CM_GEMM_AUTO, "auto must resolve");
    return cm_test_summary();
}
