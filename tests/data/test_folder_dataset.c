/* The folder dataset reader on trees built here (names with spaces, mixed-case extensions,
 * files to skip, broken layouts), and the generated demo dataset read back through it. */
#define _XOPEN_SOURCE 700 /* nftw */
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "clipmtl/dataset.h"
#include "clipmtl/synthetic_images.h"
#include "test_util.h"

static char *path_of(const char *a, const char *b)
{
    static char buf[8][1024];
    static int slot = 0;
    char *out = buf[slot++ & 7];
    snprintf(out, 1024, "%s/%s", a, b);
    return out;
}

static void make_dir(const char *path)
{
    if (mkdir(path, 0777) != 0) perror(path);
}

static void touch(const char *path)
{
    FILE *f = fopen(path, "w");
    if (f) fclose(f);
}

/* A tiny real image, so that the items can also be decoded. */
static void write_image(const char *path, int jpeg)
{
    cm_image img;
    if (cm_image_alloc(&img, 5, 4) != CM_OK) return;
    for (int i = 0; i < 5 * 4 * 3; i++) img.rgb[i] = (uint8_t)(i * 7);
    cm_err err = jpeg ? cm_image_write_jpeg(&img, path, 90) : cm_image_write_png(&img, path);
    if (err != CM_OK) cm_error_print(stderr);
    cm_image_free(&img);
}

/* root/{Real World, Art}/{Bike, Alarm_Clock}/ with images in mixed case and files to skip. */
static const char *build_good_tree(void)
{
    static char root[512];
    snprintf(root, sizeof root, "%s/good", cm_test_tmpdir());
    make_dir(root);
    const char *domains[] = {"Real World", "Art"}, *classes[] = {"Bike", "Alarm_Clock"};
    for (int d = 0; d < 2; d++) {
        char dom[1024];
        snprintf(dom, sizeof dom, "%s/%s", root, domains[d]);
        make_dir(dom);
        for (int c = 0; c < 2; c++) {
            char cls[1100];
            snprintf(cls, sizeof cls, "%s/%s", dom, classes[c]);
            make_dir(cls);
            write_image(path_of(cls, "b 2.JPG"), 1);
            write_image(path_of(cls, "a1.png"), 0);
            write_image(path_of(cls, "c.JpEg"), 1);
            touch(path_of(cls, "notes.txt"));
            touch(path_of(cls, ".hidden.png"));
            make_dir(path_of(cls, "sub.png")); /* a folder named like an image is not one */
        }
        touch(path_of(dom, "README"));
    }
    touch(path_of(root, "LICENSE.txt"));
    make_dir(path_of(root, ".cache"));
    return root;
}

static void check_good_tree(void)
{
    const char *root = build_good_tree();
    char with_slash[600];
    snprintf(with_slash, sizeof with_slash, "%s/", root);
    cm_dataset ds;
    CM_TEST_OK(cm_dataset_open_folder(with_slash, &ds));
    if (!ds.items) return;
    CM_TEST(ds.n_domains == 2 && strcmp(ds.domains[0], "Art") == 0 && strcmp(ds.domains[1], "Real World") == 0,
            "domains not [Art, Real World]");
    CM_TEST(ds.n_classes == 2 && strcmp(ds.classes[0], "Alarm_Clock") == 0 && strcmp(ds.classes[1], "Bike") == 0,
            "classes not [Alarm_Clock, Bike]");
    CM_TEST(ds.n_items == 12, "%d items, want 12 (3 images x 2 classes x 2 domains)", ds.n_items);
    CM_TEST(ds.domain_start[0] == 0 && ds.domain_start[1] == 6 && ds.domain_start[2] == 12,
            "domain_start %d %d %d, want 0 6 12", ds.domain_start[0], ds.domain_start[1], ds.domain_start[2]);
    static const char *want_rel[12] = {
        "Art/Alarm_Clock/a1.png", "Art/Alarm_Clock/b 2.JPG", "Art/Alarm_Clock/c.JpEg",
        "Art/Bike/a1.png", "Art/Bike/b 2.JPG", "Art/Bike/c.JpEg",
        "Real World/Alarm_Clock/a1.png", "Real World/Alarm_Clock/b 2.JPG", "Real World/Alarm_Clock/c.JpEg",
        "Real World/Bike/a1.png", "Real World/Bike/b 2.JPG", "Real World/Bike/c.JpEg"};
    for (int i = 0; i < ds.n_items && i < 12; i++) {
        const cm_dataset_item *it = &ds.items[i];
        CM_TEST(strcmp(it->rel, want_rel[i]) == 0, "item %d is '%s', want '%s'", i, it->rel, want_rel[i]);
        CM_TEST(it->domain == i / 6 && it->label == (i / 3) % 2, "item %d: domain %d label %d", i, it->domain, it->label);
        char want_path[1200];
        snprintf(want_path, sizeof want_path, "%s/%s", root, want_rel[i]);
        CM_TEST(strcmp(it->path, want_path) == 0, "item %d path '%s', want '%s'", i, it->path, want_path);
        cm_image img;
        CM_TEST_OK(cm_image_read(it->path, &img));
        CM_TEST(img.w == 5 && img.h == 4, "item %d decodes to %dx%d", i, img.w, img.h);
        cm_image_free(&img);
    }
    cm_dataset_free(&ds);
    printf("ok   good tree: 2 domains, 2 classes, 12 items in sorted order\n");
}

/* The error must happen and its message must contain each of the given strings. */
static void expect_error(const char *root, const char *what, const char *s1, const char *s2, const char *s3)
{
    cm_dataset ds;
    cm_err err = cm_dataset_open_folder(root, &ds);
    const char *msg = cm_error_message();
    CM_TEST(err != CM_OK, "%s: accepted", what);
    CM_TEST(ds.items == NULL && ds.domains == NULL && ds.classes == NULL, "%s: left memory behind", what);
    const char *parts[3] = {s1, s2, s3};
    for (int i = 0; i < 3; i++)
        if (parts[i]) CM_TEST(strstr(msg, parts[i]) != NULL, "%s: message lacks '%s': %s", what, parts[i], msg);
    printf("ok   %s -> %s\n", what, msg);
    cm_error_clear();
}

static void check_bad_trees(void)
{
    const char *tmp = cm_test_tmpdir();
    char root[600], dir[1200];

    /* Domain "Clipart" lacks class "Bike" that "Art" has. */
    snprintf(root, sizeof root, "%s/mismatch", tmp);
    make_dir(root);
    make_dir(path_of(root, "Art"));
    make_dir(path_of(root, "Clipart"));
    const char *art[] = {"Bike", "Mug"}, *clip[] = {"Mug", "Pen"};
    for (int i = 0; i < 2; i++) {
        snprintf(dir, sizeof dir, "%s/Art/%s", root, art[i]);
        make_dir(dir);
        write_image(path_of(dir, "x.png"), 0);
        snprintf(dir, sizeof dir, "%s/Clipart/%s", root, clip[i]);
        make_dir(dir);
        write_image(path_of(dir, "x.png"), 0);
    }
    expect_error(root, "class missing from a domain", "'Bike'", "'Art'", "'Clipart'");
    /* The other direction: "Pen" in Clipart only, once Bike is there too. */
    snprintf(dir, sizeof dir, "%s/Clipart/Bike", root);
    make_dir(dir);
    write_image(path_of(dir, "x.png"), 0);
    expect_error(root, "class only in a later domain", "'Pen'", "'Clipart'", "'Art'");

    /* An empty class folder (only a text file in it). */
    snprintf(root, sizeof root, "%s/empty_class", tmp);
    make_dir(root);
    make_dir(path_of(root, "Product"));
    snprintf(dir, sizeof dir, "%s/Product/Lamp", root);
    make_dir(dir);
    write_image(path_of(dir, "x.jpg"), 1);
    snprintf(dir, sizeof dir, "%s/Product/Empty_Thing", root);
    make_dir(dir);
    touch(path_of(dir, "readme.txt"));
    expect_error(root, "empty class folder", dir, "no .jpg", NULL);

    /* No domains, a domain without classes, a missing root. */
    snprintf(root, sizeof root, "%s/no_domains", tmp);
    make_dir(root);
    touch(path_of(root, "file.png"));
    expect_error(root, "root without domain folders", root, "no domain folders", NULL);
    snprintf(root, sizeof root, "%s/no_classes", tmp);
    make_dir(root);
    make_dir(path_of(root, "Art"));
    expect_error(root, "domain without class folders", "no_classes/Art", "no class folders", NULL);
    snprintf(root, sizeof root, "%s/does_not_exist", tmp);
    expect_error(root, "missing root", root, NULL, NULL);
}

static void check_prompt_names(void)
{
    char out[64];
    CM_TEST_OK(cm_class_prompt_name("Alarm_Clock", out, sizeof out));
    CM_TEST(strcmp(out, "Alarm Clock") == 0, "prompt name of Alarm_Clock is '%s'", out);
    CM_TEST_OK(cm_class_prompt_name("_a__b_", out, sizeof out));
    CM_TEST(strcmp(out, " a  b ") == 0, "prompt name of _a__b_ is '%s'", out);
    CM_TEST_OK(cm_class_prompt_name("TV", out, 3));
    CM_TEST(strcmp(out, "TV") == 0, "prompt name of TV is '%s'", out);
    CM_TEST(cm_class_prompt_name("Laptop", out, 6) == CM_ERR_ARG, "a 6-byte buffer accepted 'Laptop' and its NUL");
    cm_error_clear();
}

/* Two writes with one seed give identical files; the tree reads back as a dataset; every image
 * decodes to the rendered pixels (PNG) or close to them (JPEG). */
static void check_demo_dataset(void)
{
    char a[600], b[600], c[600];
    snprintf(a, sizeof a, "%s/demo_a", cm_test_tmpdir());
    snprintf(b, sizeof b, "%s/demo_b", cm_test_tmpdir());
    snprintf(c, sizeof c, "%s/demo_c", cm_test_tmpdir());
    CM_TEST_OK(cm_demo_write_dataset(a, 4, 8, 3, 32, 5));
    CM_TEST_OK(cm_demo_write_dataset(b, 4, 8, 3, 32, 5));
    CM_TEST_OK(cm_demo_write_dataset(c, 4, 8, 3, 32, 6));
    CM_TEST(cm_demo_write_dataset(a, 1, 1, 1, 32, 5) == CM_ERR_ARG, "writing into a non-empty folder was accepted");
    cm_error_clear();
    cm_dataset da, db, dc;
    CM_TEST_OK(cm_dataset_open_folder(a, &da));
    CM_TEST_OK(cm_dataset_open_folder(b, &db));
    CM_TEST_OK(cm_dataset_open_folder(c, &dc));
    if (!da.items || !db.items || !dc.items) return;
    CM_TEST(da.n_domains == 4 && da.n_classes == 8 && da.n_items == 96, "demo dataset: %d domains %d classes %d items",
            da.n_domains, da.n_classes, da.n_items);
    int same_files = 1, differing_seed_files = 0, pixel_errors = 0;
    for (int i = 0; i < da.n_items && i < db.n_items && i < dc.n_items; i++) {
        FILE *fa = fopen(da.items[i].path, "rb"), *fb = fopen(db.items[i].path, "rb"), *fc = fopen(dc.items[i].path, "rb");
        int x, y, z, same_ab = 1, same_ac = 1;
        do {
            x = fgetc(fa), y = fgetc(fb), z = fgetc(fc);
            if (x != y) same_ab = 0;
            if (x != z) same_ac = 0;
        } while (x != EOF || y != EOF || z != EOF);
        fclose(fa), fclose(fb), fclose(fc);
        same_files &= same_ab;
        differing_seed_files += !same_ac;

        /* Which domain, class and index the file holds, from its place in the sorted tree. */
        const cm_dataset_item *it = &da.items[i];
        int domain = -1, label = -1;
        for (int d = 0; d < 4; d++)
            if (strcmp(da.domains[it->domain], cm_demo_domain_name(d)) == 0) domain = d;
        for (int k = 0; k < 8; k++)
            if (strcmp(da.classes[it->label], cm_demo_class_name(k)) == 0) label = k;
        int index = atoi(strrchr(it->path, '_') + 1);
        cm_image want, got, want_jpeg = {0};
        CM_TEST_OK(cm_demo_render(domain, label, index, 32, 5, &want));
        CM_TEST_OK(cm_image_read(it->path, &got));
        if (index % 2 == 1 && want.rgb) {
            /* A JPEG must hold exactly what encoding the rendered image gives. */
            char jpg[700];
            snprintf(jpg, sizeof jpg, "%s/reencoded.jpg", cm_test_tmpdir());
            CM_TEST_OK(cm_image_write_jpeg(&want, jpg, CM_DEMO_JPEG_QUALITY));
            CM_TEST_OK(cm_image_read(jpg, &want_jpeg));
            cm_image_free(&want);
            want = want_jpeg;
        }
        if (!want.rgb || !got.rgb || want.w != got.w || want.h != got.h ||
            memcmp(want.rgb, got.rgb, (size_t)want.w * want.h * 3) != 0)
            pixel_errors++;
        cm_image_free(&want);
        cm_image_free(&got);
    }
    CM_TEST(same_files, "the same seed wrote different files");
    CM_TEST(differing_seed_files == da.n_items, "only %d of %d files change with the seed", differing_seed_files, da.n_items);
    CM_TEST(pixel_errors == 0, "%d demo images do not decode to what was rendered (JPEG: rendered and encoded)",
            pixel_errors);
    printf("ok   demo dataset: 96 files, repeatable, seed-dependent, each decodes to its rendering\n");
    cm_dataset_free(&da);
    cm_dataset_free(&db);
    cm_dataset_free(&dc);
}

static int remove_entry(const char *path, const struct stat *st, int type, struct FTW *ftw) { return remove(path); }

int main(void)
{
    check_good_tree();
    check_bad_trees();
    check_prompt_names();
    check_demo_dataset();
    nftw(cm_test_tmpdir(), remove_entry, 16, FTW_DEPTH | FTW_PHYS);
    return cm_test_summary();
}
