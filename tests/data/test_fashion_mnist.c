/* Fashion-MNIST from Debian's dataset-fashion-mnist: the real files load with the right
 * counts and labels, the domain transforms do what they say, and malformed IDX files give an
 * error naming the file. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "clipmtl/fashion_mnist.h"
#include "test_util.h"

static void test_real_files(void)
{
    cm_fmnist_set train, test;
    CM_TEST_OK(cm_fmnist_load(&train, NULL, 1));
    CM_TEST_OK(cm_fmnist_load(&test, NULL, 0));
    CM_TEST(train.count == 60000 && test.count == 10000 && train.rows == 28 && train.cols == 28,
            "counts %d/%d, size %dx%d", train.count, test.count, train.rows, train.cols);
    int per_class[CM_FMNIST_CLASSES] = {0};
    for (int i = 0; i < test.count; i++) per_class[test.labels[i]]++;
    for (int c = 0; c < CM_FMNIST_CLASSES; c++)
        CM_TEST(per_class[c] == 1000, "test class %d has %d images (the test split is balanced)", c, per_class[c]);

    uint8_t rgb[CM_FMNIST_DOMAINS][28 * 28 * 3];
    for (int d = 0; d < CM_FMNIST_DOMAINS; d++) cm_fmnist_render(&test, 0, (cm_fmnist_domain)d, rgb[d]);
    const uint8_t *g = test.pixels;
    int bad_orig = 0, bad_inv = 0, bad_rot = 0;
    for (int r = 0; r < 28; r++)
        for (int c = 0; c < 28; c++) {
            int i = (r * 28 + c) * 3;
            bad_orig += rgb[CM_FMNIST_ORIGINAL][i] != g[r * 28 + c] || rgb[CM_FMNIST_ORIGINAL][i + 2] != g[r * 28 + c];
            bad_inv += rgb[CM_FMNIST_INVERTED][i + 1] != 255 - g[r * 28 + c];
            bad_rot += rgb[CM_FMNIST_ROTATED][i] != g[(27 - c) * 28 + r];
        }
    CM_TEST(bad_orig == 0 && bad_inv == 0 && bad_rot == 0, "original %d, inverted %d, rotated %d wrong pixels",
            bad_orig, bad_inv, bad_rot);
    /* Sketch: the corner is flat background, so white; somewhere an edge is dark. */
    int darkest = 255;
    for (int i = 0; i < 28 * 28; i++) darkest = rgb[CM_FMNIST_SKETCH][3 * i] < darkest ? rgb[CM_FMNIST_SKETCH][3 * i] : darkest;
    CM_TEST(rgb[CM_FMNIST_SKETCH][0] == 255 && darkest < 64, "sketch corner %d, darkest edge %d", rgb[CM_FMNIST_SKETCH][0],
            darkest);
    CM_TEST(rgb[CM_FMNIST_TINTED][0] != rgb[CM_FMNIST_TINTED][2], "tinted image is grey");
    cm_fmnist_domain d;
    CM_TEST(cm_fmnist_domain_parse("sketch", &d) == CM_OK && d == CM_FMNIST_SKETCH, "parse sketch");
    CM_TEST(cm_fmnist_domain_parse("cartoon", &d) == CM_ERR_CONFIG, "unknown domain accepted");
    cm_error_clear();
    CM_TEST(strcmp(cm_fmnist_class_name(9), "ankle boot") == 0, "class 9 is '%s'", cm_fmnist_class_name(9));
    cm_fmnist_free(&train);
    cm_fmnist_free(&test);
}

static void write_gz(const char *path, const void *data, size_t n)
{
    gzFile f = gzopen(path, "wb");
    gzwrite(f, data, (unsigned)n);
    gzclose(f);
}

static void expect_error(const char *dir, const char *needle)
{
    cm_fmnist_set s;
    cm_err e = cm_fmnist_load(&s, dir, 0);
    CM_TEST(e != CM_OK && strstr(cm_error_message(), needle), "want an error naming '%s', got: %s", needle,
            cm_error_message());
    printf("  -> %s\n", cm_error_message());
    cm_error_clear();
}

static void test_malformed(void)
{
    const char *dir = cm_test_tmpdir();
    char images[4096], labels[4096];
    snprintf(images, sizeof images, "%s/t10k-images-idx3-ubyte.gz", dir);
    snprintf(labels, sizeof labels, "%s/t10k-labels-idx1-ubyte.gz", dir);
    uint8_t img[16 + 2 * 4] = {0, 0, 8, 3, 0, 0, 0, 2, 0, 0, 0, 2, 0, 0, 0, 2};
    uint8_t lab[8 + 2] = {0, 0, 8, 1, 0, 0, 0, 2, 3, 7};
    write_gz(images, img, sizeof img);
    write_gz(labels, lab, sizeof lab);
    cm_fmnist_set s;
    CM_TEST_OK(cm_fmnist_load(&s, dir, 0));
    CM_TEST(s.count == 2 && s.rows == 2 && s.labels[1] == 7, "tiny IDX read back wrong");
    cm_fmnist_free(&s);

    write_gz(images, img, sizeof img - 1);
    expect_error(dir, "truncated");
    img[3] = 2;
    write_gz(images, img, sizeof img);
    expect_error(dir, "IDX magic");
    img[3] = 3, img[7] = 3;
    write_gz(images, img, sizeof img);
    expect_error(dir, "truncated");
    img[7] = 2;
    write_gz(images, img, sizeof img);
    lab[9] = 10;
    write_gz(labels, lab, sizeof lab);
    expect_error(dir, "label 10");
    write_gz(labels, "garbage!", 8);
    expect_error(dir, labels);
    unlink(labels);
    expect_error(dir, "cannot open");
}

int main(void)
{
    test_real_files();
    test_malformed();
    return cm_test_summary();
}
