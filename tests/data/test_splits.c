/* Splits: per-class counts, disjointness, determinism, seeds, k-shot, official lists. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clipmtl/splits.h"
#include "test_util.h"

enum { N = 230, C = 5 };

static void counts(const int *labels, const uint8_t *assign, int per[C][3])
{
    memset(per, 0, sizeof(int) * C * 3);
    for (int i = 0; i < N; i++) per[labels[i]][assign[i]]++;
}

int main(void)
{
    int labels[N], size[C] = {0};
    for (int i = 0; i < N; i++) labels[i] = (i * 7 + i / 11) % C, size[labels[i]]++;
    uint8_t a[N], b[N], c[N];
    cm_split_options o = {.test_fraction = 0.2, .train_fraction = 0.5, .seed = 1};
    CM_TEST_OK(cm_split_assign(labels, N, C, NULL, &o, 0, a));
    CM_TEST_OK(cm_split_assign(labels, N, C, NULL, &o, 0, b));
    CM_TEST(memcmp(a, b, N) == 0, "the same seed gave a different split");
    int per[C][3];
    counts(labels, a, per);
    for (int k = 0; k < C; k++) {
        int test = (int)(0.2 * size[k] + 0.5), pool = size[k] - test, train = (int)(0.5 * pool + 0.5);
        CM_TEST(per[k][CM_SPLIT_TEST] == test && per[k][CM_SPLIT_TRAIN] == train,
                "class %d of %d: %d test (want %d), %d train (want %d)", k, size[k], per[k][CM_SPLIT_TEST], test,
                per[k][CM_SPLIT_TRAIN], train);
    }
    o.seed = 2;
    CM_TEST_OK(cm_split_assign(labels, N, C, NULL, &o, 0, c));
    CM_TEST(memcmp(a, c, N) != 0, "a different seed gave the same split");
    CM_TEST_OK(cm_split_assign(labels, N, C, NULL, &o, 1, b));
    CM_TEST(memcmp(b, c, N) != 0, "two domains drew the same split");
    o.k_shot = 4;
    CM_TEST_OK(cm_split_assign(labels, N, C, NULL, &o, 0, b));
    counts(labels, b, per);
    for (int k = 0; k < C; k++) CM_TEST(per[k][CM_SPLIT_TRAIN] == 4, "k-shot class %d: %d", k, per[k][CM_SPLIT_TRAIN]);
    int same_test = 1;
    for (int i = 0; i < N; i++) same_test &= (b[i] == CM_SPLIT_TEST) == (c[i] == CM_SPLIT_TEST);
    CM_TEST(same_test, "k-shot changed the held-out test set");
    /* Official lists: test items stay test, training is drawn from the official train items. */
    uint8_t official[N];
    for (int i = 0; i < N; i++) official[i] = i % 3 == 0 ? CM_SPLIT_TEST : CM_SPLIT_TRAIN;
    o.k_shot = 0, o.train_fraction = 1.0;
    CM_TEST_OK(cm_split_assign(labels, N, C, official, &o, 0, b));
    CM_TEST(memcmp(b, official, N) == 0, "fraction 1 of an official split must be the split itself");
    /* Items in neither official list (a validation list) are never drawn for training. */
    for (int i = 0; i < N; i++) official[i] = i % 3 == 0 ? CM_SPLIT_TEST : i % 3 == 1 ? CM_SPLIT_TRAIN : CM_SPLIT_UNUSED;
    CM_TEST_OK(cm_split_assign(labels, N, C, official, &o, 0, b));
    CM_TEST(memcmp(b, official, N) == 0, "official unused items entered the split");
    /* Bad input. */
    o.train_fraction = 0;
    CM_TEST(cm_split_assign(labels, N, C, NULL, &o, 0, b) == CM_ERR_CONFIG, "fraction 0 accepted");
    cm_error_clear();
    o.train_fraction = 0.5;
    labels[3] = C;
    CM_TEST(cm_split_assign(labels, N, C, NULL, &o, 0, b) != CM_OK, "a label outside the classes accepted");
    cm_error_clear();
    return cm_test_summary();
}
