/* Image decoding and CLIP preprocessing against PIL + torch (tests/reference/image_reference.py,
 * fixtures in tests/fixtures/image/manifest.txt), corrupt and mutated files, the crop geometry
 * rules, and the writers.
 *
 * Tolerances: decoded pixels, resized and cropped uint8 pixels must equal PIL's exactly (max
 * |diff| 0; PIL links the same libjpeg-turbo, so JPEG too); normalised floats within rel 1e-6. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clipmtl/image.h"
#include "test_util.h"

static int jpeg_max_diff = 0, png_max_diff = 0, resample_max_diff = 0;

static uint8_t *read_all(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long size = ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *v = malloc((size_t)size + 1);
    *n = v ? fread(v, 1, (size_t)size, f) : 0;
    fclose(f);
    return v;
}

static int ends_with(const char *s, const char *suffix)
{
    size_t a = strlen(s), b = strlen(suffix);
    return a >= b && strcmp(s + a - b, suffix) == 0;
}

/* Max |a - b| over n bytes. */
static int max_byte_diff(const uint8_t *a, const uint8_t *b, size_t n)
{
    int worst = 0;
    for (size_t i = 0; i < n; i++) {
        int d = abs((int)a[i] - (int)b[i]);
        if (d > worst) worst = d;
    }
    return worst;
}

/* Compares an image with a fixture of raw uint8 HWC; requires equality. Returns the max diff. */
static int compare_u8(const char *what, const cm_image *got, int w, int h, const char *fixture)
{
    CM_TEST(got->w == w && got->h == h, "%s: size %dx%d, want %dx%d", what, got->w, got->h, w, h);
    if (got->w != w || got->h != h) return 256;
    size_t n = (size_t)w * h * 3;
    uint8_t *want = cm_test_read_exact(cm_test_fixture(fixture), n);
    CM_TEST(want, "%s: cannot read %zu bytes from fixture %s", what, n, fixture);
    if (!want) return 256;
    int d = max_byte_diff(got->rgb, want, n);
    CM_TEST(d == 0, "%s: max |diff| %d against PIL (tolerance 0)", what, d);
    free(want);
    return d;
}

static void compare_f32(const char *what, const float *got, size_t n, const char *fixture)
{
    float *want = cm_test_read_f32(cm_test_fixture(fixture), n);
    CM_TEST(want, "%s: cannot read fixture %s", what, fixture);
    if (!want) return;
    cm_test_close(what, got, want, n, 1e-6, 0.0);
    free(want);
}

static void check_decode(const char *file, int w, int h, const char *rgb)
{
    cm_image img;
    cm_err err = cm_image_read(cm_test_fixture(file), &img);
    CM_TEST(err == CM_OK, "decode %s failed", file);
    if (err != CM_OK) {
        cm_error_print(stderr);
        cm_error_clear();
        return;
    }
    char what[256];
    snprintf(what, sizeof what, "decode %s", file);
    int d = compare_u8(what, &img, w, h, rgb);
    int *worst = ends_with(file, ".jpg") ? &jpeg_max_diff : &png_max_diff;
    if (d > *worst) *worst = d;
    cm_image_free(&img);
}

static void check_preprocess(const char *file, int size, const char *u8, const char *f32)
{
    cm_image img, crop;
    CM_TEST_OK(cm_image_read(cm_test_fixture(file), &img));
    if (!img.rgb) return;
    int rw, rh;
    cm_image_resize_shorter_dims(img.w, img.h, size, &rw, &rh);
    char what[256];
    snprintf(what, sizeof what, "resize+crop %s to %d", file, size);
    cm_err err = cm_image_resample_bicubic(&img, (cm_image_box){0, 0, img.w, img.h}, rw, rh,
                                           cm_image_center_crop_box(rw, rh, size), &crop);
    CM_TEST(err == CM_OK, "%s failed", what);
    if (err == CM_OK) {
        int d = compare_u8(what, &crop, size, size, u8);
        if (d > resample_max_diff) resample_max_diff = d;
        cm_image_free(&crop);
    } else {
        cm_error_print(stderr);
        cm_error_clear();
    }
    if (strcmp(f32, "-") != 0) {
        size_t n = (size_t)3 * size * size;
        float *out = malloc(n * sizeof *out);
        CM_TEST_OK(cm_image_preprocess_clip(&img, size, out));
        snprintf(what, sizeof what, "preprocess %s to %d (normalised)", file, size);
        compare_f32(what, out, n, f32);
        free(out);
    }
    cm_image_free(&img);
}

static void check_resize(const char *file, int w, int h, const char *u8)
{
    cm_image img, out;
    CM_TEST_OK(cm_image_read(cm_test_fixture(file), &img));
    if (!img.rgb) return;
    char what[256];
    snprintf(what, sizeof what, "resize %s to %dx%d", file, w, h);
    CM_TEST_OK(cm_image_resize_bicubic(&img, w, h, &out));
    if (out.rgb) {
        int d = compare_u8(what, &out, w, h, u8);
        if (d > resample_max_diff) resample_max_diff = d;
    }
    cm_image_free(&out);
    cm_image_free(&img);
}

static void check_crop_resize(const char *file, cm_image_box box, int size, const char *u8, const char *f32)
{
    cm_image img, out;
    CM_TEST_OK(cm_image_read(cm_test_fixture(file), &img));
    if (!img.rgb) return;
    char what[256];
    snprintf(what, sizeof what, "crop (%d,%d) %dx%d of %s, resize to %d", box.left, box.top, box.w, box.h, file, size);
    CM_TEST_OK(cm_image_resample_bicubic(&img, box, size, size, (cm_image_box){0, 0, size, size}, &out));
    if (out.rgb) {
        int d = compare_u8(what, &out, size, size, u8);
        if (d > resample_max_diff) resample_max_diff = d;
        size_t n = (size_t)3 * size * size;
        float *v = malloc(n * sizeof *v);
        cm_image_normalize_clip(&out, 1, v);
        snprintf(what, sizeof what, "flipped, normalised crop (%d,%d) %dx%d to %d", box.left, box.top, box.w, box.h, size);
        compare_f32(what, v, n, f32);
        free(v);
    }
    cm_image_free(&out);
    cm_image_free(&img);
}

static void check_corrupt(const char *file)
{
    const char *path = cm_test_fixture(file);
    cm_image img;
    cm_err err = cm_image_read(path, &img);
    CM_TEST(err != CM_OK, "corrupt %s was accepted", file);
    CM_TEST(img.rgb == NULL, "corrupt %s left an image behind", file);
    CM_TEST(strstr(cm_error_message(), path) != NULL, "error for %s does not name the file: %s", file,
            cm_error_message());
    printf("ok   corrupt %s -> %s\n", file, cm_error_message());
    cm_error_clear();
    cm_image_free(&img);
}

static void run_manifest(void)
{
    const char *path = cm_test_fixture("image/manifest.txt");
    FILE *f = fopen(path, "r");
    CM_TEST(f, "cannot open %s (run `make fixtures`)", path);
    if (!f) return;
    char line[1024];
    int cases = 0, kinds = 0;
    while (fgets(line, sizeof line, f)) {
        char file[256], a[256], b[256];
        int w, h, l, t, s;
        if (line[0] == '#') continue;
        if (sscanf(line, "decode %255s %d %d %255s", file, &w, &h, a) == 4) {
            char img[300], rgb[300];
            snprintf(img, sizeof img, "image/%s", file);
            snprintf(rgb, sizeof rgb, "image/%s", a);
            check_decode(img, w, h, rgb);
            kinds |= 1;
        } else if (sscanf(line, "preprocess %255s %d %255s %255s", file, &s, a, b) == 4) {
            char img[300], u8[300], f32[300];
            snprintf(img, sizeof img, "image/%s", file);
            snprintf(u8, sizeof u8, "image/%s", a);
            if (strcmp(b, "-") == 0)
                snprintf(f32, sizeof f32, "-");
            else
                snprintf(f32, sizeof f32, "image/%s", b);
            check_preprocess(img, s, u8, f32);
            kinds |= 2;
        } else if (sscanf(line, "resize %255s %d %d %255s", file, &w, &h, a) == 4) {
            char img[300], u8[300];
            snprintf(img, sizeof img, "image/%s", file);
            snprintf(u8, sizeof u8, "image/%s", a);
            check_resize(img, w, h, u8);
            kinds |= 4;
        } else if (sscanf(line, "crop_resize %255s %d %d %d %d %d %255s %255s", file, &l, &t, &w, &h, &s, a, b) == 8) {
            char img[300], u8[300], f32[300];
            snprintf(img, sizeof img, "image/%s", file);
            snprintf(u8, sizeof u8, "image/%s", a);
            snprintf(f32, sizeof f32, "image/%s", b);
            check_crop_resize(img, (cm_image_box){l, t, w, h}, s, u8, f32);
            kinds |= 8;
        } else if (sscanf(line, "corrupt %255s", file) == 1) {
            char img[300];
            snprintf(img, sizeof img, "image/%s", file);
            check_corrupt(img);
            kinds |= 16;
        } else {
            CM_TEST(0, "%s: unreadable line: %s", path, line);
            continue;
        }
        cases++;
    }
    fclose(f);
    CM_TEST(kinds == 0x1F, "manifest lacks some kinds of case (found mask 0x%x of 0x1f)", kinds);
    printf("manifest: %d cases; max |diff| against PIL: JPEG decode %d, PNG decode %d, resize/crop %d\n", cases,
           jpeg_max_diff, png_max_diff, resample_max_diff);
}

/* Mutated copies of every valid fixture image (bytes flipped, data cut short, runs overwritten)
 * must decode or fail with an error naming the input; run under --enable-sanitizers this checks
 * the decoders' memory safety. */
static void fuzz_decoders(void)
{
    const char *list = cm_test_fixture("image/manifest.txt");
    FILE *f = fopen(list, "r");
    if (!f) return;
    cm_rng rng;
    cm_rng_seed(&rng, 7, 0);
    char line[1024], file[256];
    int decoded = 0, rejected = 0, unnamed = 0;
    while (fgets(line, sizeof line, f)) {
        if (sscanf(line, "decode %255s", file) != 1) continue;
        char rel[300];
        snprintf(rel, sizeof rel, "image/%s", file);
        size_t n;
        uint8_t *orig = read_all(cm_test_fixture(rel), &n);
        if (!orig || n < 16) {
            free(orig);
            continue;
        }
        uint8_t *buf = malloc(n);
        for (int trial = 0; trial < 60; trial++) {
            memcpy(buf, orig, n);
            size_t len = n;
            switch (trial % 3) {
            case 0: /* flip a few bytes after the signature */
                for (int k = 0; k < 1 + trial % 5; k++) buf[8 + cm_rng_below(&rng, n - 8)] ^= (uint8_t)(1 + cm_rng_below(&rng, 255));
                break;
            case 1: /* cut short */
                len = 1 + cm_rng_below(&rng, n - 1);
                break;
            default: { /* overwrite a run with one value (0x00 or 0xFF resemble markers and padding) */
                size_t at = 2 + cm_rng_below(&rng, n - 2), run = 1 + cm_rng_below(&rng, 64);
                if (at + run > n) run = n - at;
                memset(buf + at, trial % 2 ? 0xFF : 0x00, run);
            }
            }
            cm_image img;
            cm_err err = cm_image_decode(buf, len, "fuzz-input", &img);
            if (err == CM_OK) {
                decoded++;
                if (img.w <= 0 || img.h <= 0 || !img.rgb) unnamed++;
                cm_image_free(&img);
            } else {
                rejected++;
                if (!strstr(cm_error_message(), "fuzz-input")) {
                    unnamed++;
                    printf("     unnamed error: %s\n", cm_error_message());
                }
                cm_error_clear();
            }
        }
        free(buf);
        free(orig);
    }
    fclose(f);
    CM_TEST(unnamed == 0, "%d mutated inputs gave an error without the input's name or an empty image", unnamed);
    CM_TEST(rejected > 0 && decoded > 0, "mutations: %d decoded, %d rejected (both expected)", decoded, rejected);
    printf("ok   fuzz: %d mutated files decoded, %d rejected, all errors named the input\n", decoded, rejected);
}

static void check_geometry(void)
{
    int w, h;
    cm_image_resize_shorter_dims(500, 375, 224, &w, &h);
    CM_TEST(w == 298 && h == 224, "Resize(224) of 500x375 gives %dx%d, want 298x224", w, h);
    cm_image_resize_shorter_dims(375, 500, 224, &w, &h);
    CM_TEST(w == 224 && h == 298, "Resize(224) of 375x500 gives %dx%d, want 224x298", w, h);
    cm_image_resize_shorter_dims(300, 5, 16, &w, &h);
    CM_TEST(w == 960 && h == 16, "Resize(16) of 300x5 gives %dx%d, want 960x16", w, h);
    cm_image_resize_shorter_dims(7, 3, 224, &w, &h); /* int(224 * 7 / 3) = int(522.67) */
    CM_TEST(w == 522 && h == 224, "Resize(224) of 7x3 gives %dx%d, want 522x224", w, h);

    /* CenterCrop: int(round((h - size) / 2.0)), Python rounding half to even. */
    cm_image_box b = cm_image_center_crop_box(225, 224, 224);
    CM_TEST(b.left == 0 && b.top == 0, "center crop of 225x224: left %d top %d, want 0 0 (round(0.5) = 0)", b.left, b.top);
    b = cm_image_center_crop_box(227, 229, 224);
    CM_TEST(b.left == 2 && b.top == 2, "center crop of 227x229: left %d top %d, want 2 2 (round(1.5) = round(2.5) = 2)",
            b.left, b.top);
    b = cm_image_center_crop_box(298, 224, 224);
    CM_TEST(b.left == 37 && b.top == 0 && b.w == 224 && b.h == 224, "center crop of 298x224: (%d,%d) %dx%d", b.left,
            b.top, b.w, b.h);

    /* RandomResizedCrop falls back to the central crop when no attempt fits: a 1000x10 strip
     * cannot hold 8% of its area at an aspect ratio within [3/4, 4/3]. */
    cm_rng rng;
    cm_rng_seed(&rng, 1, 2);
    b = cm_image_random_resized_crop_box(1000, 10, &rng);
    CM_TEST(b.left == 493 && b.top == 0 && b.w == 13 && b.h == 10, "fallback crop of 1000x10: (%d,%d) %dx%d, want (493,0) 13x10",
            b.left, b.top, b.w, b.h);
    b = cm_image_random_resized_crop_box(10, 1000, &rng);
    CM_TEST(b.left == 0 && b.top == 493 && b.w == 10 && b.h == 13, "fallback crop of 10x1000: (%d,%d) %dx%d, want (0,493) 10x13",
            b.left, b.top, b.w, b.h);

    /* Sampled crops of a 160x120 image: inside the image, area fraction in [0.08, 1] and aspect
     * ratio in [3/4, 4/3] up to the rounding of each side, and the ranges actually explored. */
    double min_frac = 1, max_frac = 0, min_ratio = 10, max_ratio = 0;
    int bad = 0;
    for (int i = 0; i < 4000; i++) {
        b = cm_image_random_resized_crop_box(160, 120, &rng);
        if (b.left < 0 || b.top < 0 || b.w < 1 || b.h < 1 || b.left + b.w > 160 || b.top + b.h > 120) bad++;
        double frac = (double)b.w * b.h / (160.0 * 120.0), ratio = (double)b.w / b.h;
        double slack = 1.0 / b.w + 1.0 / b.h; /* relative effect of rounding each side by 1/2 */
        if (frac < 0.08 * (1 - slack) || frac > 1 || ratio < 0.75 * (1 - slack) || ratio > (4.0 / 3) * (1 + slack)) bad++;
        if (frac < min_frac) min_frac = frac;
        if (frac > max_frac) max_frac = frac;
        if (ratio < min_ratio) min_ratio = ratio;
        if (ratio > max_ratio) max_ratio = ratio;
    }
    CM_TEST(bad == 0, "%d of 4000 random resized crops outside the rules", bad);
    CM_TEST(min_frac < 0.1 && max_frac > 0.9 && min_ratio < 0.8 && max_ratio > 1.25,
            "random resized crops explore area %.3f..%.3f, ratio %.3f..%.3f", min_frac, max_frac, min_ratio, max_ratio);
    printf("ok   geometry: random resized crops area %.3f..%.3f, ratio %.3f..%.3f\n", min_frac, max_frac, min_ratio, max_ratio);
}

/* The training transform is the composition of its parts, drawn from the rng in torchvision's
 * order (crop box, then flip), and repeats exactly from the same stream. */
static void check_training_transform(void)
{
    cm_image img;
    CM_TEST_OK(cm_image_read(cm_test_fixture("image/resize_src_160x120.png"), &img));
    if (!img.rgb) return;
    const int size = 24;
    size_t n = (size_t)3 * size * size;
    float *a = malloc(n * sizeof *a), *b = malloc(n * sizeof *b), *c = malloc(n * sizeof *c);
    int flips = 0;
    for (int i = 0; i < 40; i++) {
        cm_rng r1, r2, r3;
        cm_rng_seed(&r1, 11, (uint64_t)i);
        r2 = r1;
        r3 = r1;
        CM_TEST_OK(cm_image_random_resized_crop_flip(&img, size, &r1, a));
        CM_TEST_OK(cm_image_random_resized_crop_flip(&img, size, &r3, c));
        cm_image_box box = cm_image_random_resized_crop_box(img.w, img.h, &r2);
        int flip = cm_rng_uniform_double(&r2) < 0.5;
        flips += flip;
        cm_image crop;
        CM_TEST_OK(cm_image_resample_bicubic(&img, box, size, size, (cm_image_box){0, 0, size, size}, &crop));
        if (!crop.rgb) break;
        cm_image_normalize_clip(&crop, flip, b);
        cm_image_free(&crop);
        CM_TEST(memcmp(a, b, n * sizeof *a) == 0, "training transform %d differs from crop + resize + flip", i);
        CM_TEST(memcmp(a, c, n * sizeof *a) == 0, "training transform %d does not repeat from the same stream", i);
    }
    CM_TEST(flips > 5 && flips < 35, "%d flips in 40 draws with p = 0.5", flips);
    printf("ok   training transform: 40 draws equal their parts, %d flipped\n", flips);
    free(a);
    free(b);
    free(c);
    cm_image_free(&img);
}

static void check_writers(void)
{
    cm_image img, back;
    CM_TEST_OK(cm_image_read(cm_test_fixture("image/rgb420_53x37.jpg"), &img));
    if (!img.rgb) return;
    char png[512], jpg[512];
    snprintf(png, sizeof png, "%s/roundtrip.png", cm_test_tmpdir());
    snprintf(jpg, sizeof jpg, "%s/roundtrip.jpg", cm_test_tmpdir());
    CM_TEST_OK(cm_image_write_png(&img, png));
    CM_TEST_OK(cm_image_read(png, &back));
    CM_TEST(back.rgb && back.w == img.w && back.h == img.h &&
                memcmp(back.rgb, img.rgb, (size_t)img.w * img.h * 3) == 0,
            "PNG written and read back differs");
    cm_image_free(&back);
    CM_TEST_OK(cm_image_write_jpeg(&img, jpg, 95));
    CM_TEST_OK(cm_image_read(jpg, &back));
    if (back.rgb) {
        double sum = 0;
        size_t n = (size_t)img.w * img.h * 3;
        for (size_t i = 0; i < n; i++) sum += abs((int)back.rgb[i] - (int)img.rgb[i]);
        /* Quality 95 on smooth content: the mean error is a few levels at most. */
        CM_TEST(back.w == img.w && back.h == img.h && sum / n < 4.0, "JPEG at quality 95 read back with mean |diff| %.2f",
                sum / n);
        printf("ok   writers: PNG round trip exact, JPEG q95 mean |diff| %.2f\n", sum / n);
    }
    cm_image_free(&back);
    cm_err err = cm_image_write_png(&img, "/nonexistent-dir/x.png");
    CM_TEST(err != CM_OK && strstr(cm_error_message(), "/nonexistent-dir/x.png"), "writing to a missing directory: %s",
            cm_error_message());
    cm_error_clear();
    err = cm_image_read("/nonexistent-dir/x.png", &back);
    CM_TEST(err == CM_ERR_IO && strstr(cm_error_message(), "/nonexistent-dir/x.png"), "reading a missing file: %s",
            cm_error_message());
    cm_error_clear();
    cm_image_free(&img);
}

int main(void)
{
    run_manifest();
    fuzz_decoders();
    check_geometry();
    check_training_transform();
    check_writers();
    return cm_test_summary();
}
