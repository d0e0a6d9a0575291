/* The pieces of clipmtl pretrain: the symmetric contrastive loss and its gradients against torch
 * autograd and finite differences, the per-step schedule against torch's schedulers, AdamW with
 * decay on the matrix only against torch's two parameter groups
 * (tests/reference/pretrain_reference.py), and the captions: text, tokens, rendering, draws. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clipmtl/captions.h"
#include "clipmtl/loss.h"
#include "clipmtl/optimizer.h"
#include "clipmtl/tokenizer.h"
#include "test_util.h"

static double *read_f64(const char *path, size_t n)
{
    FILE *f = fopen(path, "rb");
    double *x = malloc(n * sizeof *x);
    size_t got = f && x ? fread(x, sizeof *x, n, f) : 0;
    if (f) fclose(f);
    if (got != n) { free(x); return NULL; }
    return x;
}

enum { G = 6, E = 5 };

/* Loss of features img, txt [G,E] at logit scale s, and (optional) its gradients. */
static double contrastive(const float *img, const float *txt, float s, float *d_img, float *d_txt, double *d_scale)
{
    float logits[G * G], d_logits[G * G], inv_img[G], inv_txt[G], scratch[G * G];
    cm_clip_head_forward(logits, inv_img, inv_txt, img, txt, G, G, E, s);
    double loss = cm_contrastive_loss_forward_backward(d_img ? d_logits : NULL, NULL, logits, G);
    if (!d_img) return loss;
    double g = 0;
    for (int i = 0; i < G * G; i++) g += (double)d_logits[i] * logits[i];
    *d_scale = g;
    cm_clip_head_backward(d_img, d_txt, scratch, d_logits, img, txt, inv_img, inv_txt, G, G, E, s);
    return loss;
}

static void test_contrastive(void)
{
    float *img = cm_test_read_f32(cm_test_fixture("pretrain/contrastive_img.f32"), G * E);
    float *txt = cm_test_read_f32(cm_test_fixture("pretrain/contrastive_txt.f32"), G * E);
    float *want_dimg = cm_test_read_f32(cm_test_fixture("pretrain/contrastive_dimg.f32"), G * E);
    float *want_dtxt = cm_test_read_f32(cm_test_fixture("pretrain/contrastive_dtxt.f32"), G * E);
    double *want = read_f64(cm_test_fixture("pretrain/contrastive_loss.f64"), 3); /* loss, scale, d scale */
    CM_TEST(img && txt && want_dimg && want_dtxt && want, "missing fixtures (make fixtures)");
    if (!img || !txt || !want_dimg || !want_dtxt || !want) return;
    float d_img[G * E], d_txt[G * E];
    double d_scale;
    const float s = (float)want[1];
    double loss = contrastive(img, txt, s, d_img, d_txt, &d_scale);
    CM_TEST(fabs(loss - want[0]) <= 1e-5 * fabs(want[0]), "contrastive loss %.9g, torch %.9g", loss, want[0]);
    CM_TEST(fabs(d_scale - want[2]) <= 1e-4 * fabs(want[2]) + 1e-6, "d loss / d logit_scale %.9g, torch %.9g",
            d_scale, want[2]);
    cm_test_close("contrastive d image features vs autograd", d_img, want_dimg, G * E, 1e-4, 1e-6);
    cm_test_close("contrastive d text features vs autograd", d_txt, want_dtxt, G * E, 1e-4, 1e-6);

    /* Central finite differences in double of the float loss: step 1e-2 on O(1) features. */
    const double h = 1e-2;
    float fd_img[G * E], fd_txt[G * E];
    for (int side = 0; side < 2; side++)
        for (int i = 0; i < G * E; i++) {
            float *x = side ? txt : img, keep = x[i];
            x[i] = (float)(keep + h);
            double up = contrastive(img, txt, s, NULL, NULL, NULL);
            x[i] = (float)(keep - h);
            double down = contrastive(img, txt, s, NULL, NULL, NULL);
            x[i] = keep;
            (side ? fd_txt : fd_img)[i] = (float)((up - down) / (2 * h));
        }
    cm_test_close("contrastive d image features vs finite differences", d_img, fd_img, G * E, 2e-3, 2e-4);
    cm_test_close("contrastive d text features vs finite differences", d_txt, fd_txt, G * E, 2e-3, 2e-4);
    double fd_scale = (contrastive(img, txt, (float)(s + h), NULL, NULL, NULL) -
                       contrastive(img, txt, (float)(s - h), NULL, NULL, NULL)) / (2 * h);
    CM_TEST(fabs(fd_scale - d_scale) <= 2e-3 * fabs(d_scale) + 2e-4, "d logit_scale %.6g, finite differences %.6g",
            d_scale, fd_scale);

    /* Perfectly aligned pairs at a large scale: loss near 0, every image finds its caption. */
    float logits[G * G];
    for (int i = 0; i < G * G; i++) logits[i] = i % (G + 1) == 0 ? 50.0f : 0.0f;
    int correct;
    double aligned = cm_contrastive_loss_forward_backward(NULL, &correct, logits, G);
    CM_TEST(aligned < 1e-15 + G * exp(-50.0) && correct == G, "aligned pairs: loss %g, %d/%d correct", aligned, correct, G);
    free(img), free(txt), free(want_dimg), free(want_dtxt), free(want);
}

static void test_schedule(void)
{
    double *want = read_f64(cm_test_fixture("pretrain/schedule_step_lr.f64"), 20);
    CM_TEST(want != NULL, "missing schedule fixture");
    if (!want) return;
    float got[20], ref[20];
    for (int s = 0; s < 20; s++) got[s] = (float)cm_schedule_step_lr(1e-3, 5, 20, s), ref[s] = (float)want[s];
    cm_test_close("per-step warm-up + cosine vs torch LinearLR + CosineAnnealingLR", got, ref, 20, 1e-6, 0);
    free(want);
}

static void test_adamw_groups(void)
{
    float *p = cm_test_read_f32(cm_test_fixture("pretrain/adamw_p0.f32"), 16);
    float *g = cm_test_read_f32(cm_test_fixture("pretrain/adamw_grads.f32"), 8 * 16);
    float *want = cm_test_read_f32(cm_test_fixture("pretrain/adamw_out.f32"), 16);
    CM_TEST(p && g && want, "missing AdamW fixtures");
    if (!p || !g || !want) return;
    cm_optim_options opt;
    cm_optim_options_default(CM_OPTIM_ADAMW, &opt);
    opt.beta2 = 0.98, opt.eps = 1e-6;
    cm_optimizer o;
    CM_TEST_OK(cm_optimizer_create(&o, &opt, 16));
    for (int s = 0; s < 8; s++) {
        const double lr = 100 * cm_schedule_step_lr(1e-3, 5, 20, s);
        cm_optimizer_count_step(&o);
        cm_optimizer_update_range_decay(&o, p, g + 16 * s, 0, 12, lr, 0.1); /* the matrix */
        cm_optimizer_update_range_decay(&o, p, g + 16 * s, 12, 4, lr, 0.0); /* the vector */
    }
    cm_test_close("AdamW, decay on the matrix only, vs torch parameter groups", p, want, 16, 1e-5, 1e-6);
    cm_optimizer_destroy(&o);
    free(p), free(g), free(want);
}

static const char *const templates[] = {"a photo of a {}.", "a picture of the {} here."};
static const char *const dark[] = {"a dark photo of a {}."};

static void test_captions(void)
{
    cm_caption_options o = {.templates = templates, .ntemplates = 2, .dark_templates = dark, .ndark = 1,
                            .colour_prob = 0.5, .small_prob = 0.3, .dark_prob = 0.2};
    struct {
        cm_caption_attrs a;
        const char *want;
    } cases[] = {
        {{.colour = -1, .place = CM_PLACE_CENTRE}, "a photo of a coat."},
        {{.colour = 0, .small = 1, .place = CM_PLACE_LEFT, .template_index = 1}, "a picture of the small red coat on the left here."},
        {{.colour = 4, .dark = 1}, "a dark photo of a purple coat."},
        {{.colour = -1, .small = 1, .place = CM_PLACE_BOTTOM}, "a photo of a small coat at the bottom."},
    };
    char buf[256];
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        CM_TEST_OK(cm_caption_text(&o, &cases[i].a, "coat", buf, sizeof buf));
        CM_TEST(strcmp(buf, cases[i].want) == 0, "caption %zu: \"%s\", want \"%s\"", i, buf, cases[i].want);
    }
    CM_TEST(cm_caption_text(&o, &cases[1].a, "coat", buf, 20) != CM_OK, "a caption longer than its buffer is an error");
    cm_error_clear();

    /* Tokenized with the real BPE tokenizer: SOT, one id per word here, the period, EOT. */
    cm_tokenizer *tok;
    CM_TEST_OK(cm_tokenizer_load(&tok, NULL));
    if (tok) {
        int32_t ids[77], alone[77];
        CM_TEST_OK(cm_caption_text(&o, &cases[1].a, "ankle boot", buf, sizeof buf));
        CM_TEST_OK(cm_tokenize(tok, buf, 77, 0, ids));
        CM_TEST(ids[0] == 49406 && ids[14] == 49407 && ids[15] == 0, "\"%s\": SOT, 13 tokens, EOT (got %d at 14)", buf, ids[14]);
        /* The attribute words are the tokens the text tower learns: "red" as in a lone "red". */
        CM_TEST_OK(cm_tokenize(tok, "red", 77, 0, alone));
        CM_TEST(ids[6] == alone[1], "the token of red in the caption (%d) is the word's (%d)", ids[6], alone[1]);
        cm_tokenizer_free(tok);
    }

    /* Draws: the attribute shares follow the options (4 sigma of 20000 Bernoulli draws). */
    cm_rng rng;
    cm_rng_seed(&rng, 7, 0);
    int coloured = 0, small = 0, darkened = 0, placed_off_centre_when_large = 0, n = 20000;
    for (int i = 0; i < n; i++) {
        cm_caption_attrs a;
        cm_caption_draw(&o, &rng, &a);
        coloured += a.colour >= 0, small += a.small, darkened += a.dark;
        placed_off_centre_when_large += !a.small && a.place != CM_PLACE_CENTRE;
    }
    CM_TEST(fabs(coloured / (double)n - 0.5) < 4 * sqrt(0.25 / n) && fabs(small / (double)n - 0.3) < 4 * sqrt(0.21 / n) &&
                fabs(darkened / (double)n - 0.2) < 4 * sqrt(0.16 / n) && placed_off_centre_when_large == 0,
            "draw shares: colour %d, small %d, dark %d of %d; %d large garments off centre", coloured, small, darkened, n,
            placed_off_centre_when_large);

    /* Rendering: a white 28 x 28 square stands for the garment. */
    enum { S = 28 };
    uint8_t grey[S * S], rgb[S * S * 3];
    memset(grey, 255, sizeof grey);
    cm_caption_attrs plain = {.colour = -1};
    cm_caption_render(grey, S, S, &plain, rgb);
    int same = 1;
    for (int i = 0; i < S * S * 3; i++) same &= rgb[i] == 255;
    CM_TEST(same, "no attribute: the grey image replicated");
    cm_caption_attrs red_dark = {.colour = 0, .dark = 1};
    cm_caption_render(grey, S, S, &red_dark, rgb);
    CM_TEST(rgb[0] == 92 && rgb[1] == 16 && rgb[2] == 16, "dark red: (%d,%d,%d), want 0.4 * (230,40,40)", rgb[0], rgb[1], rgb[2]);
    cm_caption_attrs left = {.colour = -1, .small = 1, .place = CM_PLACE_LEFT};
    cm_caption_render(grey, S, S, &left, rgb);
    /* 60% of 28 = 16.8 columns from the left edge, vertically centred (rows 5.6 .. 22.4). */
    const int row = S / 2;
    CM_TEST(rgb[(row * S + 2) * 3] == 255 && rgb[(row * S + 20) * 3] == 0 && rgb[(1 * S + 2) * 3] == 0,
            "small on the left: garment at column 2 (%d), background at column 20 (%d) and row 1 (%d)",
            rgb[(row * S + 2) * 3], rgb[(row * S + 20) * 3], rgb[(1 * S + 2) * 3]);
}

int main(void)
{
    test_contrastive();
    test_schedule();
    test_adamw_groups();
    test_captions();
    return cm_test_summary();
}
