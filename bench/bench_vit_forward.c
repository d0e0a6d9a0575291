/* Speed of the ViT-B/16 image encoder forward (inference mode) on every GEMM path this build
 * and CPU offer (openblas/fp32, onednn/fp32, onednn/bf16; gemm.h), each in its own process and
 * against the GEMM ceiling of the same path measured in the same run, with the same threads
 * (OPENBLAS_NUM_THREADS). Random weights: only the arithmetic matters.
 *
 *   bench_vit_forward [--batch B] [--iters N] [--configs openblas/fp32,onednn/bf16,...]
 *
 * Prints per path images/s, the achieved GFLOP/s of the forward (every GEMM, the two
 * attention products, the patch GEMM and the projection counted as 2*m*n*k), the GFLOP/s of a
 * 6304x3072x768 product through the same path (the c_fc GEMM of a batch of 32), their ratio
 * and the peak resident memory. The elementwise work (layernorm, softmax, QuickGELU, residual
 * adds, im2col) is not counted as flops, so the ratio is the fraction of the
 * GEMM speed the whole forward keeps. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clipmtl/error.h"
#include "clipmtl/encoder.h"
#include "clipmtl/rng.h"
#include "bench_paths.h"

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

typedef struct {
    cm_clip_model *m;
    float *pixels;
    int B, iters;
} forward_bench;

static int run_forward(void *ctx, const bench_config *cfg, bench_result *r, float *extra, size_t nextra)
{
    forward_bench *fb = ctx;
    const cm_clip_config *c = &fb->m->cfg;
    cm_arena arena = {0};
    float *features = malloc((size_t)fb->B * c->embed_dim * sizeof *features);
    cm_err err = features ? cm_gemm_freeze(fb->m->params, fb->m->table.total) : CM_ERR_MEM;
    if (!err) err = cm_arena_create(&arena, cm_clip_images_arena_bytes(c, fb->B, 0));
    if (!err) err = cm_clip_encode_images(fb->m, fb->pixels, fb->B, NULL, &arena, features); /* warm-up */
    double best = 1e30, peak = bench_ceiling(6304, 3072, 768, 2), flops = forward_flops(c, fb->B);
    for (int it = 0; !err && it < fb->iters; it++) {
        double load = bench_load_average(), t0 = bench_now();
        err = cm_clip_encode_images(fb->m, fb->pixels, fb->B, NULL, &arena, features);
        double t = bench_now() - t0, g = bench_ceiling(6304, 3072, 768, 1);
        if (t < best) best = t;
        if (g > peak) peak = g;
        printf("  [%s] iteration %d: forward %.3f s (%.1f GFLOP/s), ceiling %.1f GFLOP/s, load %.2f\n", cfg->name, it,
               t, flops / t * 1e-9, g, load);
    }
    if (err) cm_error_print(stderr);
    cm_arena_destroy(&arena);
    cm_gemm_unfreeze(fb->m->params);
    free(features);
    r->seconds = best, r->gflops = flops / best * 1e-9, r->ceiling = peak;
    return !err;
}

static int usage(FILE *f)
{
    fprintf(f, "usage: bench_vit_forward [--batch B (32)] [--iters N (3)] [--configs openblas/fp32,...]\n"
               "ViT-B/16 image encoder forward on each GEMM path vs a 6304x3072x768 product on the same\n"
               "path; threads: OPENBLAS_NUM_THREADS.\n");
    return f == stdout ? 0 : 2;
}

int main(int argc, char **argv)
{
    int B = 32, iters = 3;
    const char *only = NULL;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--help")) return usage(stdout);
        if (i + 1 < argc && !strcmp(argv[i], "--batch"))
            B = atoi(argv[++i]);
        else if (i + 1 < argc && !strcmp(argv[i], "--iters"))
            iters = atoi(argv[++i]);
        else if (i + 1 < argc && !strcmp(argv[i], "--configs"))
            only = argv[++i];
        else
            return usage(stderr);
    }
    if (B <= 0 || iters <= 0) return usage(stderr);
    bench_config configs[8];
    int nconfigs = bench_configs(configs, 8, only);
    if (nconfigs == 0) return usage(stderr);

    cm_clip_model m;
    cm_err err = cm_clip_create(&m, &vit_b16);
    if (err) return cm_error_exit_status(err);
    cm_rng rng;
    cm_rng_seed(&rng, 1, 0);
    for (size_t i = 0; i < m.table.total; i++) m.params[i] = 0.02f * cm_rng_normal(&rng);
    const cm_clip_config *c = &m.cfg;
    size_t npix = (size_t)B * 3 * c->image_size * c->image_size;
    float *pixels = malloc(npix * sizeof *pixels);
    for (size_t i = 0; i < npix; i++) pixels[i] = cm_rng_normal(&rng);

    char desc[256];
    printf("model: %s\n", cm_clip_config_str(c, desc, sizeof desc));
    printf("batch %d, %d iterations, OPENBLAS_NUM_THREADS %s, arena %.0f MiB, load %.2f\n", B, iters,
           getenv("OPENBLAS_NUM_THREADS") ? getenv("OPENBLAS_NUM_THREADS") : "unset",
           cm_clip_images_arena_bytes(c, B, 0) / 1048576.0, bench_load_average());
    forward_bench fb = {&m, pixels, B, iters};
    bench_result results[8];
    for (int i = 0; i < nconfigs; i++)
        if (!bench_run_isolated(&configs[i], run_forward, &fb, &results[i], NULL, 0))
            printf("  [%s] failed\n", configs[i].name);
    printf("\nforward, batch %d, %.1f GFLOP per image:\n", B, forward_flops(c, 1) * 1e-9);
    printf("  %-13s %9s %9s %9s %10s %10s %9s %7s\n", "path", "s/batch", "images/s", "GFLOP/s", "ceiling", "fwd/ceil",
           "peak MiB", "load");
    for (int i = 0; i < nconfigs; i++)
        if (results[i].ok)
            printf("  %-13s %9.3f %9.2f %9.1f %10.1f %10.2f %9.0f %7.2f\n", configs[i].name, results[i].seconds,
                   B / results[i].seconds, results[i].gflops, results[i].ceiling, results[i].gflops / results[i].ceiling,
                   results[i].rss_mib, results[i].load);
    free(pixels);
    cm_clip_destroy(&m);
    return 0;
}
