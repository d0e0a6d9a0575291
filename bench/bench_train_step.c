/* Speed of one training step (cm_task_step: forward, loss, backward into the prompts; no
 * optimizer) of a frozen ViT-B/16 CLIP with random weights on every GEMM path this build and CPU
 * offer (openblas/fp32, onednn/fp32, onednn/bf16; gemm.h), each against the GEMM ceiling of the
 * same path measured in the same run, and against PyTorch (bench/train_step_reference.py, the
 * MaPLe repository's way: all 77 text tokens) run twice: in this environment as it is, and at
 * its best (every OPENBLAS_* variable unset for that process alone, intra-op threads = cores).
 *
 *   bench_train_step [--method maple|mmap|all] [--batch B (32)] [--iters N (3)] [--torch-steps N (2)]
 *                    [--torch-threads N (1)] [--no-torch] [--configs openblas/fp32,onednn/bf16,...]
 *
 * Methods at their spec.md defaults: MaPLe n = 2, depth 9 (2.6); MmAP b = m = 4, n = 256,
 * depth 9 (3.4). 65 classes: the Office-Home class names in each method's class sentence,
 * tokenized. Threads: OPENBLAS_NUM_THREADS for either path.
 *
 * Each path runs in its own child process (bench_paths.h), so the peak resident memory printed
 * is that path's alone. Per path: images/s, the achieved GFLOP/s of the step (every GEMM of the
 * forward and of the backward counted as 2 m n k: the linear layers, both attention products
 * and their gradients, the patch GEMM, the projections; the text tower at the tokens it really
 * runs, the last blocks at the rows they really compute), the GFLOP/s of a 6304x3072x768
 * product through the same path (bf16 reading its frozen operand in bf16), their ratio, and the
 * step's time inside cm_gemm (cm_gemm_seconds: attention's per-head products count as
 * attention's) and outside it, and its CPU time (all threads; least step). Then
 * the relative error of every prompt-gradient tensor of bf16 against fp32 (and of oneDNN fp32
 * against OpenBLAS fp32, for scale). The machine may be shared: the best of the timed steps and
 * of the probes are compared, and the load average is printed with each.
 *
 * PyTorch "as is" runs its GEMMs through the same OpenBLAS (OPENBLAS_NUM_THREADS threads,
 * OPENBLAS_CORETYPE as set) and its elementwise kernels on --torch-threads intra-op threads.
 * Its default, 1, is its fastest setting on 2 cores with OpenBLAS threads beside it: with 2
 * intra-op threads beside 2 OpenBLAS threads the two pools spin against each other (measured:
 * a 65-class text tower step 61 s with 2+2 threads, 14 s with 1+2).
 *
 * OpenBLAS's idle threads spin for about 0.1 s (2^28 cycles) after each GEMM, competing with
 * the threads of the ops' own loops (attention, QuickGELU, LayerNorm). Unless the environment
 * says otherwise the bench therefore sets OPENBLAS_THREAD_TIMEOUT=4 (spin 2^4 cycles, then
 * sleep), which OpenBLAS reads when it is loaded, by re-executing itself; PyTorch "as is"
 * inherits it. Measured on 2 cores: a MaPLe step of 8 images 4.24 s instead of 4.88 s. */
#include <math.h>
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
#include "bench_paths.h"

static const char *const office_home[] = {
    "Alarm_Clock", "Backpack", "Batteries", "Bed", "Bike", "Bottle", "Bucket", "Calculator", "Calendar",
    "Candles", "Chair", "Clipboards", "Computer", "Couch", "Curtains", "Desk_Lamp", "Drill", "Eraser",
    "Exit_Sign", "Fan", "File_Cabinet", "Flipflops", "Flowers", "Folder", "Fork", "Glasses", "Hammer",
    "Helmet", "Kettle", "Keyboard", "Knives", "Lamp_Shade", "Laptop", "Marker", "Monitor", "Mop", "Mouse",
    "Mug", "Notebook", "Oven", "Pan", "Paper_Clip", "Pen", "Pencil", "Postit_Notes", "Printer", "Push_Pin",
    "Radio", "Refrigerator", "Ruler", "Scissors", "Screwdriver", "Shelf", "Sink", "Sneakers", "Soda", "Speaker",
    "Spoon", "TV", "Table", "Telephone", "ToothBrush", "Toys", "Trash_Can", "Webcam"};
enum { NCLASSES = sizeof office_home / sizeof office_home[0] };

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
    int batch, iters, torch_steps, torch_threads, run_torch;
    const char *configs;
} bench_options;

/* PyTorch's best step time, or 0 when it could not run. best: every OPENBLAS_* variable unset
 * and intra-op threads = cores; otherwise the environment as it is and --torch-threads. */
static double torch_step_seconds(const char *method, const int32_t *ids, int C, const bench_options *o, int best_env)
{
    char path[] = "/tmp/bench_train_step_ids_XXXXXX", args[1024];
    int fd = mkstemp(path);
    if (fd < 0) return 0;
    FILE *f = fdopen(fd, "wb");
    size_t n = (size_t)C * CM_CONTEXT_LENGTH;
    int written = f && fwrite(ids, sizeof *ids, n, f) == n;
    if (f) fclose(f);
    int threads = best_env ? (int)sysconf(_SC_NPROCESSORS_ONLN) : o->torch_threads;
    snprintf(args, sizeof args, "train_step_reference.py --method %s --ids %s --classes %d --batch %d --steps %d", method,
             path, C, o->batch, o->torch_steps);
    double best = written ? bench_torch_seconds(args, threads, best_env) : 0;
    unlink(path);
    return best;
}

/* Everything one method's step needs, prepared in the parent (no products run there). */
typedef struct {
    const cm_clip_model *m;
    const bench_options *o;
    cm_prompt_set set;
    float *params, *pixels;
    int32_t *ids;
    int *labels, tokens;
    double flops;
} method_bench;

/* CPU time of every thread of the process: on a shared machine the step's wall time depends on
 * the other jobs, its CPU time much less (spinning threads count in it). */
static double cpu_seconds(void)
{
    struct timespec t;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

/* Minor page faults of the process so far: memory the allocator gave back and took again. */
static long page_faults(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_minflt;
}

/* In the child: warm-up, o->iters timed steps (gradients of the first one returned in grads),
 * the ceiling probe after each. */
static int run_steps(void *ctx, const bench_config *cfg, bench_result *r, float *grads_out, size_t n)
{
    method_bench *mb = ctx;
    const cm_clip_model *m = mb->m;
    const int B = mb->o->batch, C = NCLASSES;
    cm_arena arena = {0};
    float *grads = calloc(n + 1, sizeof *grads);
    cm_err err = grads ? CM_OK : CM_ERR_MEM;
    if (!err) err = cm_gemm_freeze(m->params, m->table.total);
    if (!err) err = cm_arena_create(&arena, cm_task_step_arena_bytes(&m->cfg, &mb->set, B, C, mb->tokens, 1));
    double loss, best = 1e30, peak = 0, t0 = bench_now();
    if (!err) err = cm_task_step(m, &mb->set, 0, mb->params, mb->pixels, mb->labels, B, B, mb->ids, C, &arena, grads, &loss, NULL);
    if (!err) printf("  [%s] warm-up step: %.2f s, loss %.4f (%s)\n", cfg->name, bench_now() - t0, loss, cm_gemm_describe());
    for (int it = 0; !err && it < mb->o->iters; it++) {
        memset(grads, 0, n * sizeof *grads);
        double load = bench_load_average(), g0 = cm_gemm_seconds(), c0 = cpu_seconds();
        long faults = page_faults();
        t0 = bench_now();
        err = cm_task_step(m, &mb->set, 0, mb->params, mb->pixels, mb->labels, B, B, mb->ids, C, &arena, grads, &loss, NULL);
        double t = bench_now() - t0, in_gemm = cm_gemm_seconds() - g0, cpu = cpu_seconds() - c0;
        faults = page_faults() - faults;
        double g = bench_ceiling(6304, 3072, 768, 2);
        if (it == 0) memcpy(grads_out, grads, n * sizeof *grads);
        if (t < best) best = t, r->gemm_seconds = in_gemm;
        if (r->cpu_seconds == 0 || cpu < r->cpu_seconds) r->cpu_seconds = cpu;
        if (g > peak) peak = g;
        printf("  [%s] step %d: %.2f s (%.1f GFLOP/s; %.2f s in cm_gemm, %.2f s outside), %.2f CPU s, %ld page faults, "
               "ceiling %.1f GFLOP/s, load %.2f\n", cfg->name, it, t, mb->flops / t * 1e-9, in_gemm, t - in_gemm, cpu, faults, g,
               load);
        fflush(stdout);
    }
    if (err) cm_error_print(stderr);
    cm_arena_destroy(&arena);
    cm_gemm_unfreeze(m->params);
    free(grads);
    r->seconds = best, r->gflops = mb->flops / best * 1e-9, r->ceiling = peak;
    return !err;
}

/* Max |a - b| / max |b| over each tensor of the table, with max |b|: a tensor whose gradient is
 * orders of magnitude below the others' shows a large relative error for the same absolute one. */
static void print_gradient_errors(const cm_tensor_table *t, const float *a, const float *b, const char *what)
{
    printf("relative error of the prompt gradients, %s (max|diff| / max|ref| per tensor; max|ref|):\n", what);
    double worst = 0;
    for (int i = 0; i < t->count; i++) {
        const cm_tensor_desc *e = &t->entries[i];
        double diff = 0, scale = 0;
        for (size_t k = e->offset; k < e->offset + e->numel; k++) {
            diff = fmax(diff, fabs((double)a[k] - b[k]));
            scale = fmax(scale, fabs((double)b[k]));
        }
        double rel = scale > 0 ? diff / scale : diff;
        if (rel > worst) worst = rel;
        printf("  %-40s %.2e  %.2e\n", e->name, rel, scale);
    }
    printf("  worst %.2e\n", worst);
}

static cm_err bench_method(const cm_clip_model *m, const cm_tokenizer *tok, cm_method_kind kind, const bench_options *o,
                           const bench_config *configs, int nconfigs)
{
    const cm_clip_config *c = &m->cfg;
    cm_method_options opt;
    cm_method_options_default(kind, &opt);
    method_bench mb = {.m = m, .o = o};
    CM_CHECK(cm_prompt_set_create(&mb.set, CM_SET_SHARED, &opt, 1, NULL, 0, c->text.width, c->vision.width,
                                  c->text.layers, c->vision.layers));
    cm_err err = CM_OK;
    int B = o->batch, C = NCLASSES, ctx = c->context_length;
    float *grads[8] = {0};
    char *sentences[NCLASSES] = {0};
    bench_result results[8] = {{0}};
    const size_t P = mb.set.table.total;
    CM_CALLOC(mb.params, P);
    size_t npix = (size_t)B * 3 * c->image_size * c->image_size;
    CM_CALLOC(mb.pixels, npix);
    CM_CALLOC(mb.labels, B);
    CM_CALLOC(mb.ids, (size_t)C * ctx);
    for (int i = 0; i < nconfigs; i++) CM_CALLOC(grads[i], P);
    cm_rng rng;
    cm_rng_seed(&rng, 7, (uint64_t)kind);
    cm_method_init(&mb.set.methods[0], mb.params, &rng, NULL);
    for (size_t i = 0; i < npix; i++) mb.pixels[i] = cm_rng_normal(&rng);
    for (int i = 0; i < B; i++) mb.labels[i] = (int)cm_rng_below(&rng, C);
    for (int k = 0; k < C; k++) {
        sentences[k] = malloc(256);
        if (!sentences[k]) CM_ERROR_GOTO(err, done, CM_ERR_MEM, "out of memory for class sentences");
        CM_CHECK_GOTO(err, cm_class_sentence(tok, mb.set.methods[0].opt.ctx_init, mb.set.methods[0].opt.n_text, office_home[k], sentences[k], 256), done);
    }
    CM_CHECK_GOTO(err, cm_tokenize_batch(tok, (const char *const *)sentences, C, ctx, 0, mb.ids), done);
    CM_CHECK_GOTO(err, cm_text_eot_positions(c, mb.ids, C, NULL, &mb.tokens), done);

    cm_prompt_stack ts, vs;
    cm_prompt_set_shapes(&mb.set, 0, &ts, &vs);
    mb.flops = step_flops(c, B, vs.n, C, mb.tokens, ts.n > 0);
    printf("\n%s: %zu parameters, text prompts %dx%d, visual %dx%d; %d classes ('%s' ...), text tower runs %d of %d "
           "tokens; batch %d; arena %.0f MiB\n",
           cm_method_name(kind), P, ts.n, ts.depth, vs.n, vs.depth, C, sentences[0], mb.tokens, ctx, B,
           cm_task_step_arena_bytes(c, &mb.set, B, C, mb.tokens, 1) / 1048576.0);
    for (int i = 0; i < nconfigs; i++)
        if (!bench_run_isolated(&configs[i], run_steps, &mb, &results[i], grads[i], P))
            printf("  [%s] failed\n", configs[i].name);

    double torch_as_is = 0, torch_best = 0;
    if (o->run_torch) {
        torch_as_is = torch_step_seconds(cm_method_name(kind), mb.ids, C, o, 0);
        torch_best = torch_step_seconds(cm_method_name(kind), mb.ids, C, o, 1);
    }
    printf("\n%s, batch %d, %.0f GFLOP per step:\n", cm_method_name(kind), B, mb.flops * 1e-9);
    printf("  %-13s %8s %7s %7s %7s %9s %9s %10s %10s %9s %9s %10s %10s\n", "path", "s/step", "gemm s", "other s",
           "CPU s", "images/s", "GFLOP/s", "ceiling", "step/ceil", "peak MiB", "load", "x torch", "x torch*");
    for (int i = 0; i < nconfigs; i++) {
        const bench_result *r = &results[i];
        if (!r->ok) continue;
        printf("  %-13s %8.2f %7.2f %7.2f %7.2f %9.2f %9.1f %10.1f %10.2f %9.0f %9.2f", configs[i].name, r->seconds,
               r->gemm_seconds, r->seconds - r->gemm_seconds, r->cpu_seconds, B / r->seconds, r->gflops, r->ceiling,
               r->gflops / r->ceiling, r->rss_mib, r->load);
        if (torch_as_is > 0) printf(" %10.2f", torch_as_is / r->seconds); else printf(" %10s", "-");
        if (torch_best > 0) printf(" %10.2f\n", torch_best / r->seconds); else printf(" %10s\n", "-");
    }
    if (torch_as_is > 0) printf("  pytorch as is:        %.2f s per step, %.2f images/s\n", torch_as_is, B / torch_as_is);
    if (torch_best > 0)
        printf("  pytorch at its best*: %.2f s per step, %.2f images/s (OPENBLAS_* unset, %ld threads)\n", torch_best,
               B / torch_best, sysconf(_SC_NPROCESSORS_ONLN));
    /* accuracy of bf16: against fp32 on the same path, and the fp32 paths against each other */
    for (int i = 0; i < nconfigs; i++)
        for (int j = 0; j < nconfigs; j++) {
            int bf16_vs_fp32 = configs[i].precision == CM_PRECISION_BF16 && configs[j].precision == CM_PRECISION_FP32 &&
                               configs[i].path == configs[j].path;
            int fp32_paths = configs[i].precision == CM_PRECISION_FP32 && configs[j].precision == CM_PRECISION_FP32 &&
                             configs[i].path == CM_GEMM_ONEDNN && configs[j].path == CM_GEMM_OPENBLAS;
            if ((bf16_vs_fp32 || fp32_paths) && results[i].ok && results[j].ok) {
                char what[96];
                snprintf(what, sizeof what, "%s against %s", configs[i].name, configs[j].name);
                print_gradient_errors(&mb.set.table, grads[i], grads[j], what);
            }
        }
done:
    for (int k = 0; k < C; k++) free(sentences[k]);
    for (int i = 0; i < nconfigs; i++) free(grads[i]);
    free(mb.params), free(mb.pixels), free(mb.labels), free(mb.ids);
    cm_prompt_set_destroy(&mb.set);
    return err;
}

static int usage(FILE *f)
{
    fprintf(f, "usage: bench_train_step [--method maple|mmap|all] [--batch B (32)] [--iters N (3)]\n"
               "                        [--torch-steps N (2)] [--torch-threads N (1)] [--no-torch]\n"
               "                        [--configs openblas/fp32,onednn/fp32,onednn/bf16]\n"
               "One ViT-B/16 prompt-training step on each GEMM path vs that path's GEMM ceiling and vs\n"
               "PyTorch as is and at its best; threads: OPENBLAS_NUM_THREADS.\n");
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
        else if (i + 1 < argc && !strcmp(argv[i], "--configs")) o.configs = argv[++i];
        else return usage(stderr);
    }
    if (o.batch <= 0 || o.iters <= 0 || o.torch_steps <= 0 || o.torch_threads <= 0) return usage(stderr);
    int run_maple = !strcmp(method, "all") || !strcmp(method, "maple");
    int run_mmap = !strcmp(method, "all") || !strcmp(method, "mmap");
    if (!run_maple && !run_mmap) return usage(stderr);
    bench_config configs[8];
    int nconfigs = bench_configs(configs, 8, o.configs);
    if (nconfigs == 0) {
        fprintf(stderr, "bench_train_step: no GEMM path of --configs %s is available here\n", o.configs);
        return 2;
    }

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
    printf("OPENBLAS_NUM_THREADS %s (OPENBLAS_THREAD_TIMEOUT=%s, OPENBLAS_CORETYPE=%s), load average %.2f on %ld cores; "
           "paths:", getenv("OPENBLAS_NUM_THREADS") ? getenv("OPENBLAS_NUM_THREADS") : "unset",
           getenv("OPENBLAS_THREAD_TIMEOUT"), getenv("OPENBLAS_CORETYPE") ? getenv("OPENBLAS_CORETYPE") : "unset",
           bench_load_average(), sysconf(_SC_NPROCESSORS_ONLN));
    for (int i = 0; i < nconfigs; i++) printf(" %s", configs[i].name);
    printf("\n");

    if (run_maple) err = bench_method(&m, tok, CM_METHOD_MAPLE, &o, configs, nconfigs);
    if (!err && run_mmap) err = bench_method(&m, tok, CM_METHOD_MMAP, &o, configs, nconfigs);
    cm_tokenizer_free(tok);
    cm_clip_destroy(&m);
    return cm_error_exit_status(err);
}
