/* Speed of one training step (cm_task_step: forward, loss, backward into the prompts; no
 * optimizer) of a frozen ViT-B/16 CLIP with random weights, against the speed of one large
 * sgemm measured in the same run and against PyTorch (bench/train_step_reference.py, the MaPLe
 * repository's way: all 77 text tokens), with the same thread count.
 *
 *   bench_train_step [--method maple|mmap|all] [--batch B (32)] [--iters N (3)] [--torch-steps N (2)]
 *                    [--torch-threads N (1)] [--no-torch]
 *
 * Methods at their spec.md defaults: MaPLe n = 2, depth 9 (2.6); MmAP b = m = 4, n = 256,
 * depth 9 (3.4). 65 classes: the Office-Home class names in each method's class sentence,
 * tokenized. Threads: OPENBLAS_NUM_THREADS (the PyTorch run gets the same number).
 *
 * Prints images/s, the achieved GFLOP/s of the step (every GEMM of the forward and of the
 * backward counted as 2 m n k: the linear layers, both attention products and their
 * gradients, the patch GEMM, the projections; the text tower at the tokens it really runs,
 * the last blocks at the rows they really compute),
 * the GFLOP/s of a 6304x3072x768 sgemm, their ratio, the peak resident memory, and the ratio
 * of PyTorch's step time to ours. The machine may be shared: the best of the timed steps and
 * of the sgemm probes are compared, and the load average is printed.
 *
 * PyTorch runs its GEMMs through the same OpenBLAS (OPENBLAS_NUM_THREADS threads) and its own
 * elementwise kernels on --torch-threads intra-op threads. The default, 1, is its fastest
 * setting on 2 cores: with 2 intra-op threads beside 2 OpenBLAS threads the two thread pools
 * spin against each other and a step took 2-4 times longer (measured: a 65-class text tower
 * step 61 s with 2+2 threads, 14 s with 1+2).
 *
 * OpenBLAS's idle threads spin for about 0.1 s (2^28 cycles) after each GEMM, competing with
 * the threads of the ops' own loops (attention, QuickGELU, LayerNorm). Unless the environment
 * says otherwise the bench therefore sets OPENBLAS_THREAD_TIMEOUT=4 (spin 2^4 cycles, then
 * sleep), which OpenBLAS reads when it is loaded, by re-executing itself; PyTorch inherits it.
 * Measured on 2 cores: a MaPLe step of 8 images 4.24 s instead of 4.88 s; PyTorch's text tower
 * step 11.2 s with it, 11.7 s without. */
#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "clipmtl/error.h"
#include "clipmtl/clip_weights.h"
#include "clipmtl/encoder.h"
#include "clipmtl/tokenizer.h"
#include "clipmtl/train_step.h"

static const char *const office_home[] = {
    "Alarm_Clock", "Backpack", "Batteries", "Bed", "Bike", "Bottle", "Bucket", "Calculator", "Calendar",
    "Candles", "Chair", "Clipboards", "Computer", "Couch", "Curtains", "Desk_Lamp", "Drill", "Eraser",
    "Exit_Sign", "Fan", "File_Cabinet", "Flipflops", "Flowers", "Folder", "Fork", "Glasses", "Hammer",
    "Helmet", "Kettle", "Keyboard", "Knives", "Lamp_Shade", "Laptop", "Marker", "Monitor", "Mop", "Mouse",
    "Mug", "Notebook", "Oven", "Pan", "Paper_Clip", "Pen", "Pencil", "Postit_Notes", "Printer", "Push_Pin",
    "Radio", "Refrigerator", "Ruler", "Scissors", "Screwdriver", "Shelf", "Sink", "Sneakers", "Soda", "Speaker",
    "Spoon", "TV", "Table", "Telephone", "ToothBrush", "Toys", "Trash_Can", "Webcam"};
enum { NCLASSES = sizeof office_home / sizeof office_home[0] };

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + 1e-9 * ts.tv_nsec;
}

static double load_average(void)
{
    double l = -1;
    FILE *f = fopen("/proc/loadavg", "r");
    if (f) {
        if (fscanf(f, "%lf", &l) != 1) l = -1;
        fclose(f);
    }
    return l;
}

/* GEMM flops of one tower over B sequences of T tokens: forward, and the input-gradient
 * backward (the same linear products; attention's backward is four products to the forward's
 * two). The last block computes keys and values for every token, the rest for the B pooled
 * rows only (encoder.h). */
static double tower_flops(const cm_tower_dims *d, double B, double T, int backward)
{
    double D = d->width, M = d->mlp_width, pass = backward ? 2 : 1;
    double linear = 2 * B * T * D * (4 * D + 2 * M), attention = 4 * B * T * T * D;
    double last_linear = 2 * B * T * D * 2 * D + 2 * B * D * (2 * D + 2 * M), last_attention = 4 * B * T * D;
    return (d->layers - 1) * (pass * linear + (backward ? 3 : 1) * attention) + pass * last_linear +
           (backward ? 3 : 1) * last_attention;
}

static double step_flops(const cm_clip_config *c, int B, int nv, int C, int Tt, int text_backward)
{
    double Tv = cm_clip_vision_tokens(c) + nv, G = (double)c->grid * c->grid, K = 3.0 * c->patch_size * c->patch_size;
    double head = 2.0 * B * C * c->embed_dim * 3; /* logits and their two gradients */
    double projections = 2.0 * (B * c->vision.width + C * c->text.width) * c->embed_dim * 2;
    return 2 * B * G * K * c->vision.width + tower_flops(&c->vision, B, Tv, 1) +
           tower_flops(&c->text, C, Tt, text_backward) + head + projections;
}

typedef struct {
    int m, n, k;
    float *a, *b, *c;
} sgemm_probe;

static double probe_gflops(const sgemm_probe *p)
{
    double t0 = now();
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, p->m, p->n, p->k, 1.0f, p->a, p->k, p->b, p->k, 0.0f, p->c,
                p->n);
    return 2.0 * p->m * p->n * p->k / (now() - t0) * 1e-9;
}

typedef struct {
    int batch, iters, torch_steps, torch_threads, run_torch;
} bench_options;

/* PyTorch's best step time, or 0 when it could not run. */
static double torch_step_seconds(const char *method, const int32_t *ids, int C, const bench_options *o)
{
    char path[] = "/tmp/bench_train_step_ids_XXXXXX", cmd[1024], line[256];
    int fd = mkstemp(path);
    if (fd < 0) return 0;
    FILE *f = fdopen(fd, "wb");
    size_t n = (size_t)C * CM_CONTEXT_LENGTH;
    int written = f && fwrite(ids, sizeof *ids, n, f) == n;
    if (f) fclose(f);
    double best = 0;
    if (written) {
        snprintf(cmd, sizeof cmd,
                 "/usr/bin/python3 %s/bench/train_step_reference.py --method %s --ids %s --classes %d --batch %d "
                 "--steps %d --threads %d",
                 CM_SRCDIR, method, path, C, o->batch, o->torch_steps, o->torch_threads);
        FILE *p = popen(cmd, "r");
        while (p && fgets(line, sizeof line, p)) {
            double v;
            if (sscanf(line, "step_seconds %lf", &v) == 1) {
                printf("  pytorch step: %.2f s (load %.2f)\n", v, load_average());
                if (best == 0 || v < best) best = v;
            } else if (sscanf(line, "maxrss_mib %lf", &v) == 1) {
                printf("  pytorch peak memory: %.0f MiB\n", v);
            }
        }
        if (!p || pclose(p) != 0) best = 0;
    }
    unlink(path);
    return best;
}

static cm_err bench_method(const cm_clip_model *m, const cm_tokenizer *tok, cm_method_kind kind,
                           const bench_options *o, const sgemm_probe *probe)
{
    const cm_clip_config *c = &m->cfg;
    cm_method_options opt;
    cm_method_options_default(kind, &opt);
    cm_prompt_set set;
    CM_CHECK(cm_prompt_set_create(&set, CM_SET_SHARED, &opt, 1, NULL, 0, c->text.width, c->vision.width,
                                  c->text.layers, c->vision.layers));
    cm_err err = CM_OK;
    int B = o->batch, C = NCLASSES, ctx = c->context_length;
    float *params = NULL, *grads = NULL, *pixels = NULL;
    int32_t *ids = NULL;
    int *labels = NULL;
    cm_arena arena = {0};
    char *sentences[NCLASSES] = {0};
    CM_CALLOC(params, set.table.total);
    CM_CALLOC(grads, set.table.total);
    size_t npix = (size_t)B * 3 * c->image_size * c->image_size;
    CM_CALLOC(pixels, npix);
    CM_CALLOC(labels, B);
    CM_CALLOC(ids, (size_t)C * ctx);
    cm_rng rng;
    cm_rng_seed(&rng, 7, (uint64_t)kind);
    cm_method_init(&set.methods[0], params, &rng, NULL);
    for (size_t i = 0; i < npix; i++) pixels[i] = cm_rng_normal(&rng);
    for (int i = 0; i < B; i++) labels[i] = (int)cm_rng_below(&rng, C);
    for (int k = 0; k < C; k++) {
        sentences[k] = malloc(256);
        if (!sentences[k]) CM_ERROR_GOTO(err, done, CM_ERR_MEM, "out of memory for class sentences");
        CM_CHECK_GOTO(err, cm_class_sentence(set.methods[0].opt.ctx_init, set.methods[0].opt.n_text, office_home[k], sentences[k], 256), done);
    }
    CM_CHECK_GOTO(err, cm_tokenize_batch(tok, (const char *const *)sentences, C, ctx, 0, ids), done);
    int tokens;
    CM_CHECK_GOTO(err, cm_text_eot_positions(c, ids, C, NULL, &tokens), done);
    size_t bytes = cm_task_step_arena_bytes(c, &set, B, C, tokens, 1);
    CM_CHECK_GOTO(err, cm_arena_create(&arena, bytes), done);

    cm_prompt_stack ts, vs;
    cm_prompt_set_shapes(&set, 0, &ts, &vs);
    double flops = step_flops(c, B, vs.n, C, tokens, ts.n > 0);
    printf("\n%s: %zu parameters, text prompts %dx%d, visual %dx%d; %d classes ('%s' ...), text tower runs %d of %d "
           "tokens; batch %d; arena %.0f MiB\n",
           cm_method_name(kind), set.table.total, ts.n, ts.depth, vs.n, vs.depth, C, sentences[0], tokens, ctx, B,
           bytes / 1048576.0);
    double loss, best = 1e30, peak = probe_gflops(probe);
    int correct;
    double t0 = now();
    CM_CHECK_GOTO(err, cm_task_step(m, &set, 0, params, pixels, labels, B, B, ids, C, &arena, grads, &loss, &correct),
                  done);
    printf("  warm-up step: %.2f s, loss %.4f\n", now() - t0, loss);
    for (int it = 0; it < o->iters; it++) {
        memset(grads, 0, set.table.total * sizeof *grads);
        double load = load_average();
        t0 = now();
        CM_CHECK_GOTO(err, cm_task_step(m, &set, 0, params, pixels, labels, B, B, ids, C, &arena, grads, &loss, NULL),
                      done);
        double t = now() - t0, g = probe_gflops(probe);
        if (t < best) best = t;
        if (g > peak) peak = g;
        printf("  step %d: %.2f s (%.1f GFLOP/s), sgemm %.1f GFLOP/s, load %.2f\n", it, t, flops / t * 1e-9, g, load);
    }
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    double achieved = flops / best * 1e-9;
    printf("%s step: %.2f images/s, %.1f GFLOP/s (%.0f GFLOP per step, best of %d)\n", cm_method_name(kind), B / best,
           achieved, flops * 1e-9, o->iters);
    printf("sgemm 6304x3072x768: %.1f GFLOP/s (best); ratio step/sgemm: %.2f\n", peak, achieved / peak);
    printf("peak resident memory of this process: %.0f MiB\n", ru.ru_maxrss / 1024.0);
    if (o->run_torch) {
        printf("pytorch (%d intra-op threads, OpenBLAS %d threads, 77 text tokens):\n", o->torch_threads,
               openblas_get_num_threads());
        double torch = torch_step_seconds(cm_method_name(kind), ids, C, o);
        if (torch > 0)
            printf("pytorch %s step: %.2f s (best of %d), %.2f images/s; ratio C/PyTorch speed: %.2f\n",
                   cm_method_name(kind), torch, o->torch_steps, B / torch, torch / best);
        else
            printf("pytorch %s step: could not run bench/train_step_reference.py\n", cm_method_name(kind));
    }
done:
    for (int k = 0; k < C; k++) free(sentences[k]);
    cm_arena_destroy(&arena);
    free(params), free(grads), free(pixels), free(labels), free(ids);
    cm_prompt_set_destroy(&set);
    return err;
}

static int usage(FILE *f)
{
    fprintf(f, "usage: bench_train_step [--method maple|mmap|all] [--batch B (32)] [--iters N (3)]\n"
               "                        [--torch-steps N (2)] [--torch-threads N (1)] [--no-torch]\n"
               "One ViT-B/16 prompt-training step vs a 6304x3072x768 sgemm and vs PyTorch;\n"
               "threads: OPENBLAS_NUM_THREADS.\n");
    return f == stdout ? 0 : 2;
}

/* OpenBLAS reads OPENBLAS_THREAD_TIMEOUT once, when it is loaded: set it and start again. */
static void ensure_thread_timeout(char **argv)
{
    if (getenv("OPENBLAS_THREAD_TIMEOUT")) return;
    if (setenv("OPENBLAS_THREAD_TIMEOUT", "4", 1) == 0) execv("/proc/self/exe", argv);
    fprintf(stderr, "bench_train_step: could not restart with OPENBLAS_THREAD_TIMEOUT=4; going on without\n");
}

int main(int argc, char **argv)
{
    ensure_thread_timeout(argv);
    bench_options o = {.batch = 32, .iters = 3, .torch_steps = 2, .torch_threads = 1, .run_torch = 1};
    const char *method = "all";
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--help")) return usage(stdout);
        if (!strcmp(argv[i], "--no-torch")) o.run_torch = 0;
        else if (i + 1 < argc && !strcmp(argv[i], "--method")) method = argv[++i];
        else if (i + 1 < argc && !strcmp(argv[i], "--batch")) o.batch = atoi(argv[++i]);
        else if (i + 1 < argc && !strcmp(argv[i], "--iters")) o.iters = atoi(argv[++i]);
        else if (i + 1 < argc && !strcmp(argv[i], "--torch-steps")) o.torch_steps = atoi(argv[++i]);
        else if (i + 1 < argc && !strcmp(argv[i], "--torch-threads")) o.torch_threads = atoi(argv[++i]);
        else return usage(stderr);
    }
    if (o.batch <= 0 || o.iters <= 0 || o.torch_steps <= 0 || o.torch_threads <= 0) return usage(stderr);
    int run_maple = !strcmp(method, "all") || !strcmp(method, "maple");
    int run_mmap = !strcmp(method, "all") || !strcmp(method, "mmap");
    if (!run_maple && !run_mmap) return usage(stderr);

    cm_clip_config cfg;
    cm_clip_model m;
    cm_tokenizer *tok = NULL;
    cm_err err = cm_clip_preset("vit-b16", &cfg);
    if (!err) err = cm_clip_create(&m, &cfg);
    if (!err) err = cm_clip_init_random(&m, 1);
    if (!err) err = cm_tokenizer_load(&tok, NULL);
    if (err) return cm_error_exit_status(err);
    char desc[256];
    printf("model: %s (random weights)\n", cm_clip_config_str(&cfg, desc, sizeof desc));
    printf("OpenBLAS threads %d (OPENBLAS_THREAD_TIMEOUT=%s), load average %.2f on %ld cores\n",
           openblas_get_num_threads(), getenv("OPENBLAS_THREAD_TIMEOUT"), load_average(), sysconf(_SC_NPROCESSORS_ONLN));

    sgemm_probe probe = {6304, 3072, 768, NULL, NULL, NULL};
    probe.a = malloc((size_t)probe.m * probe.k * sizeof(float));
    probe.b = malloc((size_t)probe.n * probe.k * sizeof(float));
    probe.c = calloc((size_t)probe.m * probe.n, sizeof(float));
    if (!probe.a || !probe.b || !probe.c) {
        fprintf(stderr, "bench_train_step: out of memory for the sgemm probe\n");
        return 1;
    }
    for (size_t i = 0; i < (size_t)probe.m * probe.k; i++) probe.a[i] = (float)(i % 13) * 0.01f;
    for (size_t i = 0; i < (size_t)probe.n * probe.k; i++) probe.b[i] = (float)(i % 7) * 0.01f;

    if (run_maple) err = bench_method(&m, tok, CM_METHOD_MAPLE, &o, &probe);
    if (!err && run_mmap) err = bench_method(&m, tok, CM_METHOD_MMAP, &o, &probe);
    free(probe.a), free(probe.b), free(probe.c);
    cm_tokenizer_free(tok);
    cm_clip_destroy(&m);
    return cm_error_exit_status(err);
}
