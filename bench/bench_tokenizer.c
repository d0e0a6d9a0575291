/* Speed of the tokenizer on class prompts: 4 domains x 65 Office-Home classes x 40 templates =
 * 10400 distinct prompts, tokenized one call per prompt (no word cache: the baseline) and in one
 * cm_tokenize_batch call (word cache). Prints prompts/s and BPE tokens/s of both and their ratio.
 * The same prompts in curly quotes (non-ASCII: the whole of ftfy's fixing runs, where ASCII text
 * takes a shortcut) give the cost of ftfy per text, as a ratio to the plain prompts.
 *
 *   bench_tokenizer [--repeat N]     (default 5; the best run of each is reported) */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "clipmtl/error.h"
#include "clipmtl/tokenizer.h"

static const char *const classes[] = {
    "alarm clock", "backpack", "batteries", "bed", "bike", "bottle", "bucket", "calculator", "calendar", "candles",
    "chair", "clipboards", "computer", "couch", "curtains", "desk lamp", "drill", "eraser", "exit sign", "fan",
    "file cabinet", "flipflops", "flowers", "folder", "fork", "glasses", "hammer", "helmet", "kettle", "keyboard",
    "knives", "lamp shade", "laptop", "marker", "monitor", "mop", "mouse", "mug", "notebook", "oven", "pan",
    "paper clip", "pen", "pencil", "postit notes", "printer", "push pin", "radio", "refrigerator", "ruler",
    "scissors", "screwdriver", "shelf", "sink", "sneakers", "soda", "speaker", "spoon", "tv", "table", "telephone",
    "toothbrush", "toys", "trash can", "webcam"};
static const char *const domains[] = {"art", "clipart", "product", "real world"};
static const char *const templates[] = {
    "a photo of a %s, a type of %s.", "a bad photo of the %s in %s style.", "a sketch of a %s, %s.",
    "itap of a %s (%s).", "a painting of the %s as %s.", "a photo of the large %s in %s.",
    "a photo of the small %s in %s.", "a close-up photo of a %s, %s.", "a bright photo of the %s, %s.",
    "a dark photo of a %s, %s.", "a cropped photo of the %s, %s.", "a blurry photo of a %s; %s.",
    "a pixelated photo of the %s: %s.", "a jpeg corrupted photo of a %s, %s.", "a good photo of the %s, %s.",
    "a rendering of a %s in %s.", "graffiti of the %s, %s.", "a tattoo of a %s, %s.", "the embroidered %s, %s.",
    "a drawing of the %s, %s.", "a plastic %s in %s.", "the origami %s, %s.", "a toy %s in %s.",
    "a cartoon %s, %s.", "art of the %s in %s.", "a black and white photo of a %s, %s.",
    "a low resolution photo of the %s, %s.", "a photo of a clean %s, %s.", "a photo of a dirty %s, %s.",
    "a photo of my %s, %s.", "a photo of one %s, %s.", "a doodle of a %s, %s.", "a 3d model of the %s, %s.",
    "a sculpture of a %s, %s.", "the %s in a video game, %s.", "a photo of the weird %s, %s.",
    "a photo of a nice %s, %s.", "a close-up photo of the %s, %s.", "a photo of the cool %s, %s.",
    "there is a %s in the scene, %s."};

enum { N_CLASSES = sizeof classes / sizeof classes[0], N_DOMAINS = sizeof domains / sizeof domains[0],
       N_TEMPLATES = sizeof templates / sizeof templates[0], N_PROMPTS = N_CLASSES * N_DOMAINS * N_TEMPLATES };

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + 1e-9 * ts.tv_nsec;
}

static size_t bpe_tokens(const int32_t *ids, size_t n)
{
    size_t count = 0;
    for (size_t i = 0; i < n * CM_CONTEXT_LENGTH; i++) count += ids[i] != 0 && ids[i] != CM_TOKEN_SOT && ids[i] != CM_TOKEN_EOT;
    return count;
}

static cm_err run(int repeat)
{
    static char text[N_PROMPTS][160], quoted_text[N_PROMPTS][170];
    const char *prompts[N_PROMPTS], *quoted[N_PROMPTS];
    size_t k = 0;
    for (int d = 0; d < N_DOMAINS; d++)
        for (int c = 0; c < N_CLASSES; c++)
            for (int t = 0; t < N_TEMPLATES; t++, k++) {
                snprintf(text[k], sizeof text[k], templates[t], classes[c], domains[d]);
                snprintf(quoted_text[k], sizeof quoted_text[k], "\u201c%s\u201d", text[k]);
                prompts[k] = text[k];
                quoted[k] = quoted_text[k];
            }
    cm_tokenizer *tok;
    double t0 = now();
    CM_CHECK(cm_tokenizer_load(&tok, NULL));
    double load = now() - t0;
    int32_t *single, *batch, *quoted_ids;
    CM_CALLOC(single, (size_t)N_PROMPTS * CM_CONTEXT_LENGTH);
    CM_CALLOC(batch, (size_t)N_PROMPTS * CM_CONTEXT_LENGTH);
    CM_CALLOC(quoted_ids, (size_t)N_PROMPTS * CM_CONTEXT_LENGTH);
    double best_single = 1e30, best_batch = 1e30, best_quoted = 1e30;
    for (int r = 0; r < repeat; r++) {
        t0 = now();
        for (size_t i = 0; i < N_PROMPTS; i++)
            CM_CHECK(cm_tokenize(tok, prompts[i], CM_CONTEXT_LENGTH, 1, single + i * CM_CONTEXT_LENGTH));
        double t1 = now();
        CM_CHECK(cm_tokenize_batch(tok, prompts, N_PROMPTS, CM_CONTEXT_LENGTH, 1, batch));
        double t2 = now();
        for (size_t i = 0; i < N_PROMPTS; i++)
            CM_CHECK(cm_tokenize(tok, quoted[i], CM_CONTEXT_LENGTH, 1, quoted_ids + i * CM_CONTEXT_LENGTH));
        double t3 = now();
        if (t1 - t0 < best_single) best_single = t1 - t0;
        if (t2 - t1 < best_batch) best_batch = t2 - t1;
        if (t3 - t2 < best_quoted) best_quoted = t3 - t2;
    }
    CM_ASSERT(memcmp(single, batch, (size_t)N_PROMPTS * CM_CONTEXT_LENGTH * sizeof *single) == 0, CM_ERR_INTERNAL,
              "batch and single-text results differ");
    size_t tokens = bpe_tokens(batch, N_PROMPTS);
    printf("vocabulary load: %.1f ms (%s)\n", 1e3 * load, cm_tokenizer_path(tok));
    printf("%d prompts, %zu BPE tokens (best of %d runs)\n", N_PROMPTS, tokens, repeat);
    printf("one call per prompt: %8.0f prompts/s %10.0f tokens/s\n", N_PROMPTS / best_single, tokens / best_single);
    printf("one batch call:      %8.0f prompts/s %10.0f tokens/s\n", N_PROMPTS / best_batch, tokens / best_batch);
    printf("ratio batch / single: %.2f\n", best_single / best_batch);
    printf("in curly quotes, one call per prompt: %8.0f prompts/s, %.2f us per prompt (plain: %.2f us)\n",
           N_PROMPTS / best_quoted, 1e6 * best_quoted / N_PROMPTS, 1e6 * best_single / N_PROMPTS);
    printf("ratio curly-quoted / plain cost: %.2f\n", best_quoted / best_single);
    free(single);
    free(batch);
    free(quoted_ids);
    cm_tokenizer_free(tok);
    return CM_OK;
}

int main(int argc, char **argv)
{
    int repeat = 5;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--repeat") == 0 && i + 1 < argc)
            repeat = atoi(argv[++i]);
        else {
            fprintf(stderr, "usage: bench_tokenizer [--repeat N]\n");
            return 2;
        }
    }
    if (repeat < 1) repeat = 1;
    return cm_error_exit_status(run(repeat));
}
