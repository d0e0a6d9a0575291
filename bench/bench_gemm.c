/* The GEMM paths on the model's hot shapes: GFLOP/s of cm_gemm per path (openblas/fp32,
 * onednn/fp32, onednn/bf16), per orientation of the second operand (NN: B [K,N]; NT: B [N,K],
 * the linear layers' forward) and per thread count, with the relative error of the result
 * against a float64 product (max |C - ref| / max |ref| over the first 64 rows). The ratio
 * column is each path's speed over openblas/fp32's in the same run.
 *
 *   bench_gemm [--reps N (3)] [--threads 1,2]
 *
 * Shapes (M x N x K): 6304x3072x768 (c_fc of 32 images), 6304x768x768 (out_proj), 197x768x2304
 * (one image through a [768,2304] weight), 1024^3. In bf16 the second operand is frozen (read
 * from its bf16 copy), as the model's weights are. */
#include <cblas.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_paths.h"

static const int shapes[][3] = {{6304, 3072, 768}, {6304, 768, 768}, {197, 768, 2304}, {1024, 1024, 1024}};
enum { NSHAPES = 4, REF_ROWS = 64 };

static double rel_error(const float *C, const float *A, const float *B, int M, int N, int K, int nt)
{
    double err = 0, scale = 0;
    for (int i = 0; i < M && i < REF_ROWS; i++)
        for (int j = 0; j < N; j++) {
            double s = 0;
            for (int k = 0; k < K; k++) s += (double)A[(size_t)i * K + k] * (nt ? B[(size_t)j * K + k] : B[(size_t)k * N + j]);
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
    printf("%-14s %-16s %2s %7s %9s %8s %9s %6s\n", "path", "shape", "", "threads", "GFLOP/s", "ratio", "rel.err", "load");
    for (int s = 0; s < NSHAPES; s++) {
        const int M = shapes[s][0], N = shapes[s][1], K = shapes[s][2];
        float *A = malloc((size_t)M * K * sizeof *A), *B = malloc((size_t)N * K * sizeof *B);
        float *C = malloc((size_t)M * N * sizeof *C);
        for (size_t i = 0; i < (size_t)M * K; i++) A[i] = (float)((i * 2654435761u) % 1000) / 1000.0f - 0.5f;
        for (size_t i = 0; i < (size_t)N * K; i++) B[i] = (float)((i * 40503u) % 997) / 997.0f - 0.5f;
        if (cm_gemm_freeze(B, (size_t)N * K)) {
            cm_error_print(stderr);
            return 1;
        }
        for (int t = 0; t < nthreads; t++)
            for (int nt = 0; nt < 2; nt++) {
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
                        cm_gemm(0, nt, M, N, K, 1.0f, A, K, B, nt ? K : N, 0.0f, C, N);
                        double g = 2.0 * M * N * K / (bench_now() - t0) * 1e-9;
                        if (g > best) best = g;
                    }
                    if (c == 0) base = best;
                    char shape[32];
                    snprintf(shape, sizeof shape, "%dx%dx%d", M, N, K);
                    printf("%-14s %-16s %2s %7d %9.1f %8.2f %9.1e %6.2f\n", configs[c].name, shape, nt ? "NT" : "NN",
                           threads[t], best, best / base, rel_error(C, A, B, M, N, K, nt), bench_load_average());
                    fflush(stdout);
                }
            }
        cm_gemm_unfreeze(B);
        free(A), free(B), free(C);
    }
    return 0;
}
