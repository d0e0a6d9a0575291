/* The GEMM paths on the model's hot shapes: GFLOP/s of cm_gemm per path (openblas/fp32,
 * onednn/fp32, onednn/bf16), per orientation (NN: B [K,N], the input gradient of a linear
 * layer; NT: B [N,K], the linear layers' forward; TN: A [K,M], a weight gradient) and per thread
 * count, with the relative error of the result against a float64 product (max |C - ref| /
 * max |ref| over the first 64 rows). The ratio column is each path's speed over
 * openblas/fp32's in the same run; "per core" is GFLOP/s over threads, and "x 1 thread" the
 * speed over threads times the same path's 1-thread speed (when 1 is among --threads): on
 * 1 thread the onednn path is oneDNN's kernel alone (no split), so that figure is the ceiling
 * of the path and the column how much of it the split over threads keeps.
 *
 *   bench_gemm [--reps N (3)] [--threads 1,2]
 *
 * Shapes (M x N x K): 6304x3072x768 (c_fc of 32 images), 6304x768x768 (out_proj), 197x768x2304
 * (one image through a [768,2304] weight), 1024^3. In bf16 the second operand is frozen (read
 * from its bf16 copy), as the model's weights are; TN products stay fp32 (gemm.h). */
#include <cblas.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_paths.h"

static const int shapes[][3] = {{6304, 3072, 768}, {6304, 768, 768}, {197, 768, 2304}, {1024, 1024, 1024}};
enum { NSHAPES = 4, REF_ROWS = 64 };

static double rel_error(const float *C, const float *A, const float *B, int M, int N, int K, int ta, int tb)
{
    double err = 0, scale = 0;
    for (int i = 0; i < M && i < REF_ROWS; i++)
        for (int j = 0; j < N; j++) {
            double s = 0;
            for (int k = 0; k < K; k++)
                s += (double)(ta ? A[(size_t)k * M + i] : A[(size_t)i * K + k]) *
                     (tb ? B[(size_t)j * K + k] : B[(size_t)k * N + j]);
            err = fmax(err, fabs(C[(size_t)i * N + j] - s));
            scale = fmax(scale, fabs(s));
        }
    return err / scale;
}

int main(int argc, char **argv)
{
    int reps = 3, threads[4] = {1, 2}, nthreads = 2;
    for (int i = 1; i < argc; i++) {
        if (i + 1 < argc && !strcmp(argv[i], "--reps")) reps = atoi(argv[++i]);
        else if (i + 1 < argc && !strcmp(argv[i], "--threads"))
            nthreads = sscanf(argv[++i], "%d,%d,%d,%d", &threads[0], &threads[1], &threads[2], &threads[3]);
        else {
            fprintf(stderr, "usage: bench_gemm [--reps N (3)] [--threads 1,2]\n");
            return strcmp(argv[i], "--help") ? 2 : 0;
        }
    }
    if (reps < 1 || nthreads < 1) return 2;
    bench_config configs[8];
    int nconfigs = bench_configs(configs, 8, NULL);
    printf("OPENBLAS_CORETYPE=%s, load %.2f\n", getenv("OPENBLAS_CORETYPE") ? getenv("OPENBLAS_CORETYPE") : "unset",
           bench_load_average());
    printf("%-14s %-16s %2s %7s %9s %8s %9s %10s %9s %6s\n", "path", "shape", "", "threads", "GFLOP/s", "ratio",
           "per core", "x 1 thread", "rel.err", "load");
    static const char *const orientation[] = {"NN", "NT", "TN"};
    for (int s = 0; s < NSHAPES; s++) {
        const int M = shapes[s][0], N = shapes[s][1], K = shapes[s][2];
        float *A = malloc((size_t)M * K * sizeof *A), *B = malloc((size_t)N * K * sizeof *B);
        float *C = malloc((size_t)M * N * sizeof *C);
        double one_thread[3][8] = {{0}};
        for (size_t i = 0; i < (size_t)M * K; i++) A[i] = (float)((i * 2654435761u) % 1000) / 1000.0f - 0.5f;
        for (size_t i = 0; i < (size_t)N * K; i++) B[i] = (float)((i * 40503u) % 997) / 997.0f - 0.5f;
        if (cm_gemm_freeze(B, (size_t)N * K)) {
            cm_error_print(stderr);
            return 1;
        }
        for (int t = 0; t < nthreads; t++)
            for (int o = 0; o < 3; o++) {
                const int ta = o == 2, tb = o == 1;
                double base = 0;
                for (int c = 0; c < nconfigs; c++) {
                    openblas_set_num_threads(threads[t]);
                    if (cm_gemm_select(configs[c].path, configs[c].precision)) {
                        cm_error_clear();
                        continue;
                    }
                    double best = 0;
                    for (int r = 0; r < reps; r++) {
                        double t0 = bench_now();
                        cm_gemm(ta, tb, M, N, K, 1.0f, A, ta ? M : K, B, tb ? K : N, 0.0f, C, N);
                        double g = 2.0 * M * N * K / (bench_now() - t0) * 1e-9;
                        if (g > best) best = g;
                    }
                    if (c == 0) base = best;
                    if (threads[t] == 1) one_thread[o][c] = best;
                    char shape[32], split[16] = "-";
                    snprintf(shape, sizeof shape, "%dx%dx%d", M, N, K);
                    if (one_thread[o][c] > 0) snprintf(split, sizeof split, "%.2f", best / (threads[t] * one_thread[o][c]));
                    printf("%-14s %-16s %2s %7d %9.1f %8.2f %9.1f %10s %9.1e %6.2f\n", configs[c].name, shape,
                           orientation[o], threads[t], best, best / base, best / threads[t], split,
                           rel_error(C, A, B, M, N, K, ta, tb), bench_load_average());
                    fflush(stdout);
                }
            }
        cm_gemm_unfreeze(B);
        free(A), free(B), free(C);
    }
    return 0;
}
