/* Packed datasets under MPI: a pack written by P ranks equals the one written by one rank, byte
 * for byte; read back on another number of ranks it gives the test split bit-identical to
 * decoding, the training split as the documented crop, the same splits and labels; preloading
 * changes nothing; mismatched configurations and unreadable images are refused or skipped.
 * Prints the pack time and the read throughput. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mpi.h>

#include "clipmtl/h5io.h"
#include "clipmtl/image.h"
#include "clipmtl/log.h"
#include "clipmtl/pack.h"
#include "data_test_util.h"
#include "test_util.h"

enum { S = 16, P = S * 8 / 7 };
static const size_t IMG = (size_t)3 * S * S;
static int rank, nranks;
static char tmp[512];

static void build_tree(const char *root, int corrupt)
{
    const char *domains[2] = {"Art", "Real World"};
    for (int d = 0; d < 2; d++)
        for (int c = 0; c < 3; c++) {
            tree_mkdir(tree_path("%s/%s/c%d", root, domains[d], c));
            for (int i = 0; i < 5; i++)
                tree_image(tree_path("%s/%s/c%d/%d.%s", root, domains[d], c, i, i % 2 ? "png" : "jpg"), 21 + 5 * i,
                           40 - 4 * i, (uint32_t)(d * 100 + c * 10 + i), i % 2 == 0);
        }
    if (corrupt) tree_truncated_jpeg(tree_path("%s/Art/c1/2b.jpg", root), 30, 30);
}

/* The configuration: defaults + the tree + extra assignments (NULL-terminated). */
static cm_err make_config(cm_config *c, const char *root, const char *const *extra)
{
    CM_CHECK(cm_config_defaults(c));
    CM_CHECK(cm_config_set(c, "data.kind=folder"));
    CM_CHECK(cm_config_set(c, tree_path("data.root=\"%s\"", root)));
    CM_CHECK(cm_config_set(c, "data.image_size=16"));
    CM_CHECK(cm_config_set(c, "data.split_seed=3"));
    for (int i = 0; extra && extra[i]; i++) CM_CHECK(cm_config_set(c, extra[i]));
    CM_CHECK(cm_config_validate(c));
    return CM_OK;
}

static cm_err pack(const char *root, const char *const *extra, int train_pool, const char *out, MPI_Comm comm,
                   cm_pack_stats *st)
{
    cm_config c;
    cm_err err = make_config(&c, root, extra);
    cm_pack_options o = {.train_pool = train_pool, .batch_bytes = 3000}; /* tiny rounds: several per rank */
    if (err == CM_OK) err = cm_pack_write(&c.data, &o, out, comm, st);
    cm_config_free(&c);
    return err;
}

static cm_err open_tasks(cm_tasks *t, const char *root, const char *packed, const char *const *extra, MPI_Comm comm)
{
    cm_config c;
    cm_err err = make_config(&c, root, extra);
    if (err == CM_OK && packed) err = cm_config_set(&c, tree_path("data.packed=\"%s\"", packed));
    if (err == CM_OK) err = cm_tasks_open(t, &c.data, 1, comm);
    cm_config_free(&c);
    return err;
}

/* Every dataset of two packs holds the same bytes. */
static void compare_packs(const char *a, const char *b)
{
    static const char *const tables[] = {"images/train", "images/test", "items/label", "items/official",
                                         "items/stored", "items/row", "items/bad", "tasks/first", "tasks/official"};
    cm_h5_file fa, fb;
    CM_TEST_OK(cm_h5_open(&fa, MPI_COMM_SELF, a, 0));
    CM_TEST_OK(cm_h5_open(&fb, MPI_COMM_SELF, b, 0));
    for (size_t i = 0; i < sizeof tables / sizeof *tables; i++) {
        cm_h5_type ta, tb;
        int na, nb;
        uint64_t da[CM_H5_MAX_DIMS], db[CM_H5_MAX_DIMS];
        CM_TEST_OK(cm_h5_shape(&fa, tables[i], &ta, &na, da));
        CM_TEST_OK(cm_h5_shape(&fb, tables[i], &tb, &nb, db));
        size_t n = 1, size = ta == CM_H5_UINT8 ? 1 : 4;
        for (int d = 0; d < na; d++) n *= da[d];
        int same_shape = ta == tb && na == nb && memcmp(da, db, sizeof *da * (size_t)na) == 0;
        CM_TEST(same_shape, "%s: shapes differ", tables[i]);
        if (!same_shape) continue;
        char *va = malloc(n * size + 1), *vb = malloc(n * size + 1);
        CM_TEST_OK(cm_h5_read_all(&fa, tables[i], ta, va, n));
        CM_TEST_OK(cm_h5_read_all(&fb, tables[i], tb, vb, n));
        CM_TEST(memcmp(va, vb, n * size) == 0, "%s differs between the packs of %d ranks and of 1", tables[i], nranks);
        free(va), free(vb);
    }
    int n1, n2;
    char **s1, **s2;
    CM_TEST_OK(cm_h5_read_strings(&fa, "items/name", &n1, &s1));
    CM_TEST_OK(cm_h5_read_strings(&fb, "items/name", &n2, &s2));
    int same = n1 == n2;
    for (int i = 0; same && i < n1; i++) same = strcmp(s1[i], s2[i]) == 0;
    CM_TEST(same, "items/name differs");
    names_free(s1, n1), names_free(s2, n2);
    cm_h5_close(&fa), cm_h5_close(&fb);
}

/* Packed loads against decoding: test split bit-identical; training split = RandomResizedCrop of
 * the P x P center crop of the shorter-side resize. */
static void compare_loads(const cm_tasks *packed, const cm_tasks *decoded, const char *root)
{
    CM_TEST(packed->ntasks == decoded->ntasks && packed->nclasses == decoded->nclasses, "tasks differ");
    float *a = malloc(sizeof *a * IMG), *b = malloc(sizeof *b * IMG);
    int wrong_test = 0, wrong_train = 0, wrong_labels = 0;
    for (int k = 0; k < packed->ntasks; k++) {
        CM_TEST(packed->n_train[k] == decoded->n_train[k] && packed->n_test[k] == decoded->n_test[k],
                "task %d: split sizes differ", k);
        for (int i = 0; i < packed->n_test[k]; i++) {
            CM_TEST_OK(cm_tasks_load(packed, k, CM_SPLIT_TEST, i, NULL, a));
            CM_TEST_OK(cm_tasks_load(decoded, k, CM_SPLIT_TEST, i, NULL, b));
            wrong_test += memcmp(a, b, sizeof *a * IMG) != 0;
            wrong_labels += cm_tasks_label(packed, k, CM_SPLIT_TEST, i) != cm_tasks_label(decoded, k, CM_SPLIT_TEST, i);
        }
        int n;
        char **names = split_names(decoded, k, CM_SPLIT_TRAIN, &n);
        for (int i = 0; names && i < n; i++) {
            cm_image img, square;
            CM_TEST_OK(cm_image_read(tree_path("%s/%s", root, names[i]), &img));
            int rw, rh;
            cm_image_resize_shorter_dims(img.w, img.h, P, &rw, &rh);
            CM_TEST_OK(cm_image_resample_bicubic(&img, (cm_image_box){0, 0, img.w, img.h}, rw, rh,
                                                 cm_image_center_crop_box(rw, rh, P), &square));
            cm_rng r1, r2;
            cm_rng_seed(&r1, 4, (uint64_t)i);
            cm_rng_seed(&r2, 4, (uint64_t)i);
            CM_TEST_OK(cm_image_random_resized_crop_flip(&square, S, &r1, b));
            CM_TEST_OK(cm_tasks_load(packed, k, CM_SPLIT_TRAIN, i, &r2, a));
            wrong_train += memcmp(a, b, sizeof *a * IMG) != 0;
            CM_TEST_OK(cm_image_preprocess_clip(&square, S, b));
            CM_TEST_OK(cm_tasks_load(packed, k, CM_SPLIT_TRAIN, i, NULL, a));
            wrong_train += memcmp(a, b, sizeof *a * IMG) != 0;
            wrong_labels += cm_tasks_label(packed, k, CM_SPLIT_TRAIN, i) != cm_tasks_label(decoded, k, CM_SPLIT_TRAIN, i);
            cm_image_free(&img), cm_image_free(&square);
        }
        names_free(names, n);
    }
    CM_TEST(wrong_test == 0, "%d packed test images differ from decoding", wrong_test);
    CM_TEST(wrong_train == 0, "%d packed training images differ from the documented crop", wrong_train);
    CM_TEST(wrong_labels == 0, "%d labels differ", wrong_labels);
    free(a), free(b);
}

/* All test images of all tasks, as a block of floats (for before/after comparisons). */
static float *all_test_images(const cm_tasks *t, size_t *count)
{
    size_t n = 0;
    for (int k = 0; k < t->ntasks; k++) n += (size_t)t->n_test[k];
    float *v = malloc(sizeof *v * IMG * (n ? n : 1));
    size_t at = 0;
    for (int k = 0; k < t->ntasks; k++)
        for (int i = 0; i < t->n_test[k]; i++, at++) CM_TEST_OK(cm_tasks_load(t, k, CM_SPLIT_TEST, i, NULL, v + IMG * at));
    *count = n;
    return v;
}

static void expect_refusal(const char *what, cm_err err, const char *text)
{
    CM_TEST(err != CM_OK, "%s: accepted", what);
    if (err != CM_OK)
        CM_TEST(strstr(cm_error_message(), text) != NULL, "%s: message lacks '%s': %s", what, text, cm_error_message());
    cm_error_clear();
}

int main(int argc, char **argv)
{
    MPI_Init(&argc, &argv);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &nranks);
    cm_log_set_rank(rank, nranks);
    if (rank == 0) snprintf(tmp, sizeof tmp, "%s", cm_test_tmpdir());
    MPI_Bcast(tmp, sizeof tmp, MPI_CHAR, 0, MPI_COMM_WORLD);
    char root[600], corrupt[600], pack_p[600], pack_1[600], pack_small[600], pack_bad[600];
    snprintf(root, sizeof root, "%s/tree", tmp);
    snprintf(corrupt, sizeof corrupt, "%s/corrupt", tmp);
    snprintf(pack_p, sizeof pack_p, "%s/pack-p.h5", tmp);
    snprintf(pack_1, sizeof pack_1, "%s/pack-1.h5", tmp);
    snprintf(pack_small, sizeof pack_small, "%s/pack-half.h5", tmp);
    snprintf(pack_bad, sizeof pack_bad, "%s/pack-bad.h5", tmp);
    if (rank == 0) build_tree(root, 0), build_tree(corrupt, 1);
    MPI_Barrier(MPI_COMM_WORLD);

    /* The same pack from P ranks and from 1. */
    cm_pack_stats st = {0};
    CM_TEST_OK(pack(root, NULL, 1, pack_p, MPI_COMM_WORLD, &st));
    CM_TEST(st.images == 30 && st.test_images == 6 && st.train_images == 24 && st.skipped == 0,
            "pack: %ld images (%ld test, %ld train), want 30 (6, 24)", st.images, st.test_images, st.train_images);
    if (rank == 0) {
        printf("pack: %ld images of up to 46x40 on %d rank(s) in %.3f s (%.0f images/s)\n", st.images, nranks,
               st.seconds, st.images / st.seconds);
        cm_pack_stats one;
        CM_TEST_OK(pack(root, NULL, 1, pack_1, MPI_COMM_SELF, &one));
        compare_packs(pack_p, pack_1);
    }
    MPI_Barrier(MPI_COMM_WORLD);

    /* Read back on another number of ranks (P - 1, or 1). */
    int readers = nranks > 1 ? nranks - 1 : 1;
    MPI_Comm sub;
    MPI_Comm_split(MPI_COMM_WORLD, rank < readers ? 0 : MPI_UNDEFINED, rank, &sub);
    if (sub != MPI_COMM_NULL) {
        cm_tasks packed, decoded;
        CM_TEST_OK(open_tasks(&packed, root, pack_p, NULL, sub));
        CM_TEST_OK(open_tasks(&decoded, root, NULL, NULL, sub));
        if (packed.impl && decoded.impl) {
            compare_loads(&packed, &decoded, root);
            size_t n;
            double t0 = cm_now();
            float *before = all_test_images(&packed, &n);
            double t_pread = cm_now() - t0;
            t0 = cm_now();
            float *decoded_images = all_test_images(&decoded, &n);
            double t_decode = cm_now() - t0;
            int mine = rank % packed.ntasks;
            t0 = cm_now();
            CM_TEST_OK(cm_tasks_preload(&packed, sub, 1, &mine));
            double t_preload = cm_now() - t0;
            float *after = all_test_images(&packed, &n);
            CM_TEST(memcmp(before, after, sizeof *before * IMG * n) == 0, "preloading changed the images");
            if (rank == 0)
                printf("read %zu test images on %d rank(s): packed %.0f images/s, decoding %.0f images/s; "
                       "preload %.4f s\n",
                       n, readers, n / t_pread, n / t_decode, t_preload);
            free(before), free(after), free(decoded_images);
        }
        if (packed.impl) cm_tasks_close(&packed);
        if (decoded.impl) cm_tasks_close(&decoded);
        MPI_Comm_free(&sub);
    }
    MPI_Barrier(MPI_COMM_WORLD);

    /* Other fractions from a pool pack; refusals of packs that cannot serve the configuration. */
    const char *half[] = {"data.train_fraction=0.5", NULL};
    cm_tasks t, d;
    CM_TEST_OK(open_tasks(&t, root, pack_p, half, MPI_COMM_WORLD));
    CM_TEST_OK(open_tasks(&d, root, NULL, half, MPI_COMM_WORLD));
    if (t.impl && d.impl)
        CM_TEST(t.n_train[0] == d.n_train[0] && t.n_train[0] == 6, "fraction 0.5 from the pool pack: %d", t.n_train[0]);
    if (t.impl) cm_tasks_close(&t);
    if (d.impl) cm_tasks_close(&d);
    CM_TEST_OK(pack(root, half, 0, pack_small, MPI_COMM_WORLD, &st));
    CM_TEST(st.train_images == 12, "a pack of the split only: %ld training images, want 12", st.train_images);
    expect_refusal("other fraction, split-only pack", open_tasks(&t, root, pack_small, NULL, MPI_COMM_WORLD), "--train-pool");
    const char *seed[] = {"data.split_seed=4", NULL}, *size[] = {"data.image_size=32", NULL};
    const char *kind[] = {"data.kind=office_home", NULL};
    expect_refusal("other split seed", open_tasks(&t, root, pack_p, seed, MPI_COMM_WORLD), "split_seed = 3");
    expect_refusal("other image size", open_tasks(&t, root, pack_p, size, MPI_COMM_WORLD), "image_size");
    expect_refusal("other kind", open_tasks(&t, root, pack_p, kind, MPI_COMM_WORLD), "data.kind");
    /* A pack cut short: refused at open, naming the file. */
    char cut[700];
    snprintf(cut, sizeof cut, "%s/pack-cut.h5", tmp);
    if (rank == 0) {
        FILE *in = fopen(pack_p, "rb"), *out = fopen(cut, "wb");
        fseek(in, 0, SEEK_END);
        long length = ftell(in);
        fseek(in, 0, SEEK_SET);
        char *bytes = malloc((size_t)length);
        size_t got = fread(bytes, 1, (size_t)length, in);
        fwrite(bytes, 1, got - got / 4, out);
        free(bytes), fclose(in), fclose(out);
    }
    MPI_Barrier(MPI_COMM_WORLD);
    expect_refusal("truncated pack", open_tasks(&t, root, cut, NULL, MPI_COMM_WORLD), cut);
    char text[700];
    snprintf(text, sizeof text, "%s/Art/c0/1.png", root); /* a file, but not HDF5 */
    expect_refusal("not a pack", open_tasks(&t, root, text, NULL, MPI_COMM_WORLD), text);

    /* Unreadable images: stop fails on every rank, skip packs and reads them as skipped. */
    const char *skip[] = {"data.bad_data=skip", NULL};
    cm_err err = pack(corrupt, NULL, 1, pack_bad, MPI_COMM_WORLD, &st);
    CM_TEST(err != CM_OK, "pack under stop accepted a truncated JPEG");
    const char *msg = cm_error_message();
    CM_TEST(strstr(msg, "Art/c1/2b.jpg") || strstr(msg, "another rank"), "pack under stop: %s", msg);
    int named = strstr(msg, "Art/c1/2b.jpg") != NULL, any_named = 0;
    MPI_Allreduce(&named, &any_named, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
    CM_TEST(any_named, "no rank named the truncated JPEG");
    cm_error_clear();
    CM_TEST_OK(pack(corrupt, skip, 1, pack_bad, MPI_COMM_WORLD, &st));
    CM_TEST(st.skipped == 1, "pack under skip: %ld skipped, want 1", st.skipped);
    expect_refusal("pack with skipped images read under stop", open_tasks(&t, corrupt, pack_bad, NULL, MPI_COMM_WORLD),
                   "bad_data is stop");
    CM_TEST_OK(open_tasks(&t, corrupt, pack_bad, skip, MPI_COMM_WORLD));
    CM_TEST_OK(open_tasks(&d, corrupt, NULL, skip, MPI_COMM_WORLD));
    if (t.impl && d.impl) {
        CM_TEST(cm_tasks_skipped(&t) == 1, "packed: %ld skipped, want 1", cm_tasks_skipped(&t));
        float *a = malloc(sizeof *a * IMG), *b = malloc(sizeof *b * IMG);
        int wrong = 0;
        for (int split = CM_SPLIT_TRAIN; split <= CM_SPLIT_TEST; split++)
            for (int i = 0; i < (split == CM_SPLIT_TRAIN ? t.n_train[0] : t.n_test[0]); i++) {
                int la = -1, lb = -1;
                CM_TEST_OK(cm_tasks_load_item(&t, 0, split, i, NULL, a, &la));
                CM_TEST_OK(cm_tasks_load_item(&d, 0, split, i, NULL, b, &lb));
                wrong += la != lb || (split == CM_SPLIT_TEST && memcmp(a, b, sizeof *a * IMG) != 0);
            }
        CM_TEST(wrong == 0, "%d replacements differ between packed and decoded", wrong);
        free(a), free(b);
    }
    if (t.impl) cm_tasks_close(&t);
    if (d.impl) cm_tasks_close(&d);

    MPI_Barrier(MPI_COMM_WORLD);
    if (rank == 0) {
        tree_remove(tmp);
        printf("ok   pack on %d rank(s): equal to 1 rank, read back on %d, refusals named, skips carried\n", nranks,
               readers);
    }
    int failures = cm_test_failures, total = 0;
    MPI_Allreduce(&failures, &total, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD);
    MPI_Finalize();
    if (total > 0 && failures == 0) return 1; /* another rank failed */
    return cm_test_summary();
}
