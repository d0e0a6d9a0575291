/* Speed of the ViT-B/16 image encoder forward (inference mode) against the
 * speed of one large sgemm measured in the same run, with the same OpenBLAS
 * threads (OPENBLAS_NUM_THREADS). Random weights: only the arithmetic matters.
 *
 *   bench_vit_forward [--batch B] [--iters N]
 *
 * Prints images/s, the achieved GFLOP/s of the forward (every GEMM, the two
 * attention products, the patch GEMM and the projection counted as 2*m*n*k),
 * the GFLOP/s of a 6304x3072x768 sgemm (the c_fc GEMM of a batch of 32), and
 * their ratio. The elementwise work (layernorm, softmax, QuickGELU, residual
 * adds, im2col) is not counted as flops, so the ratio is the fraction of the
 * GEMM speed the whole forward keeps. */
#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "clipmtl/error.h"
#include "clipmtl/encoder.h"
#include "clipmtl/rng.h"

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + 1e-9 * ts.tv_nsec;
}

/* ViT-B/16 vision tower; the text tower is kept tiny (it is not run). */
static const cm_clip_config vit_b16 = {
    .embed_dim = 512,
    .vision = {.width = 768, .layers = 12, .heads = 12, .mlp_width = 3072},
    .text = {.width = 64, .layers = 1, .heads = 1, .mlp_width = 256},
    .patch_size = 16,
    .image_size = 224,
    .grid = 14,
    .context_length = 77,
    .vocab_size = 16,
};

static double forward_flops(const cm_clip_config *c, int B)
{
    double T = cm_clip_vision_tokens(c), D = c->vision.width, M = c->vision.mlp_width, E = c->embed_dim;
    double G = (double)c->grid * c->grid, K = 3.0 * c->patch_size * c->patch_size;
    double linear = 2 * T * D * (3 * D + D + M) + 2 * T * M * D; /* qkv, out_proj, c_fc, c_proj */
    double attention = 2 * (2 * T * T * D);                       /* q k^T and probs v over all heads */
    double per_image = 2 * G * K * D + c->vision.layers * (linear + attention) + 2 * D * E;
    return B * per_image;
}

/* The reference GEMM: the c_fc product of a batch of 32 in cm_matmul_forward's
 * call shape (activations times W^T). */
typedef struct {
    int m, n, k;
    float *a, *b, *c;
} sgemm_probe;

static void probe_init(sgemm_probe *p, int m, int n, int k)
{
    *p = (sgemm_probe){m, n, k, malloc((size_t)m * k * sizeof(float)), malloc((size_t)n * k * sizeof(float)),
                       malloc((size_t)m * n * sizeof(float))};
    for (size_t i = 0; i < (size_t)m * k; i++) p->a[i] = (float)(i % 13) * 0.01f;
    for (size_t i = 0; i < (size_t)n * k; i++) p->b[i] = (float)(i % 7) * 0.01f;
    memset(p->c, 0, (size_t)m * n * sizeof(float));
}

static double probe_gflops(const sgemm_probe *p)
{
    double t0 = now();
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, p->m, p->n, p->k, 1.0f, p->a, p->k, p->b, p->k, 0.0f,
                p->c, p->n);
    return 2.0 * p->m * p->n * p->k / (now() - t0) * 1e-9;
}

static void probe_free(sgemm_probe *p)
{
    free(p->a);
    free(p->b);
    free(p->c);
}

static int usage(FILE *f)
{
    fprintf(f, "usage: bench_vit_forward [--batch B (32)] [--iters N (3)]\n"
               "ViT-B/16 image encoder forward vs a 6304x3072x768 sgemm; threads: OPENBLAS_NUM_THREADS.\n");
    return f == stdout ? 0 : 2;
}

int main(int argc, char **argv)
{
    int B = 32, iters = 3;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--help")) return usage(stdout);
        if (i + 1 < argc && !strcmp(argv[i], "--batch"))
            B = atoi(argv[++i]);
        else if (i + 1 < argc && !strcmp(argv[i], "--iters"))
            iters = atoi(argv[++i]);
        else
            return usage(stderr);
    }
    if (B <= 0 || iters <= 0) return usage(stderr);

    cm_clip_model m;
    cm_err err = cm_clip_create(&m, &vit_b16);
    if (err) return cm_error_exit_status(err);
    cm_rng rng;
    cm_rng_seed(&rng, 1, 0);
    for (size_t i = 0; i < m.table.total; i++) m.params[i] = 0.02f * cm_rng_normal(&rng);
    const cm_clip_config *c = &m.cfg;
    size_t npix = (size_t)B * 3 * c->image_size * c->image_size;
    float *pixels = malloc(npix * sizeof *pixels), *features = malloc((size_t)B * c->embed_dim * sizeof *features);
    for (size_t i = 0; i < npix; i++) pixels[i] = cm_rng_normal(&rng);
    cm_arena arena;
    size_t bytes = cm_clip_images_arena_bytes(c, B, 0);
    err = cm_arena_create(&arena, bytes);
    if (err) return cm_error_exit_status(err);

    char desc[256];
    printf("model: %s\n", cm_clip_config_str(c, desc, sizeof desc));
    printf("batch %d, %d iterations, OpenBLAS threads %d, arena %.0f MiB\n", B, iters, openblas_get_num_threads(),
           bytes / 1048576.0);
    /* Other processes may share the cores: the sgemm is measured between the
     * forward iterations too, and the best of each is compared. */
    sgemm_probe probe;
    probe_init(&probe, 6304, 3072, 768);
    double peak = 0;
    for (int r = 0; r < 3; r++) {
        double g = probe_gflops(&probe);
        if (g > peak) peak = g;
    }
    err = cm_clip_encode_images(&m, pixels, B, NULL, &arena, features); /* warm-up */
    if (err) return cm_error_exit_status(err);
    double best = 1e30, flops = forward_flops(c, B);
    for (int it = 0; it < iters; it++) {
        double t0 = now();
        err = cm_clip_encode_images(&m, pixels, B, NULL, &arena, features);
        double t = now() - t0;
        if (err) return cm_error_exit_status(err);
        if (t < best) best = t;
        double g = probe_gflops(&probe);
        if (g > peak) peak = g;
        printf("  iteration %d: forward %.3f s (%.1f GFLOP/s), sgemm %.1f GFLOP/s\n", it, t, flops / t * 1e-9, g);
    }
    probe_free(&probe);
    double achieved = flops / best * 1e-9;
    printf("forward: %.2f images/s, %.1f GFLOP/s (%.1f GFLOP per image, best of %d)\n", B / best, achieved,
           flops / B * 1e-9, iters);
    printf("sgemm 6304x3072x768: %.1f GFLOP/s (best)\n", peak);
    printf("ratio forward/sgemm: %.2f\n", achieved / peak);

    cm_arena_destroy(&arena);
    free(pixels);
    free(features);
    cm_clip_destroy(&m);
    return 0;
}
