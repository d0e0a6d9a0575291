/* Tasks on generated trees in every layout (folder with "Real World", Office-Home with and
 * without LibMTL lists, DomainNet and MiniDomainNet split lists), on the real Fashion-MNIST files,
 * and on broken inputs (stop vs skip). Loads are compared bit for bit with decoding the file named
 * by the written splits and applying the image transforms directly. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mpi.h>

#include "clipmtl/fashion_mnist.h"
#include "clipmtl/h5io.h"
#include "clipmtl/image.h"
#include "clipmtl/tasks.h"
#include "data_test_util.h"
#include "test_util.h"

enum { S = 16 }; /* model input side: small, the transforms are the same at any size */

static const char *tmp;

/* The error must happen and its message contain both strings (NULL = no check). */
static void expect_open_error(const char *what, const char *const *sets, const char *s1, const char *s2)
{
    cm_tasks t;
    cm_err err = tasks_open_with(&t, MPI_COMM_WORLD, sets);
    const char *msg = cm_error_message();
    CM_TEST(err != CM_OK, "%s: accepted", what);
    if (err == CM_OK) {
        cm_tasks_close(&t);
        return;
    }
    CM_TEST(t.impl == NULL && t.task_names == NULL, "%s: left memory behind", what);
    if (s1) CM_TEST(strstr(msg, s1) != NULL, "%s: message lacks '%s': %s", what, s1, msg);
    if (s2) CM_TEST(strstr(msg, s2) != NULL, "%s: message lacks '%s': %s", what, s2, msg);
    cm_error_clear();
}

/* Every item of the split loads as decoding root/<name> and transforming gives, bit for bit:
 * the test transform, and the augmentation drawn from the same stream. */
static void check_loads(const cm_tasks *t, int task, int split, const char *root)
{
    int n;
    char **names = split_names(t, task, split, &n);
    if (!names) return;
    size_t floats = (size_t)3 * S * S;
    float *got = malloc(sizeof *got * floats), *want = malloc(sizeof *want * floats);
    int bad = 0;
    for (int i = 0; i < n; i++) {
        cm_image img;
        CM_TEST_OK(cm_image_read(tree_path("%s/%s", root, names[i]), &img));
        CM_TEST_OK(cm_image_preprocess_clip(&img, S, want));
        CM_TEST_OK(cm_tasks_load(t, task, split, i, NULL, got));
        bad += memcmp(got, want, sizeof *got * floats) != 0;
        cm_rng a, b;
        cm_rng_seed(&a, 11, (uint64_t)i);
        cm_rng_seed(&b, 11, (uint64_t)i);
        CM_TEST_OK(cm_image_random_resized_crop_flip(&img, S, &a, want));
        CM_TEST_OK(cm_tasks_load(t, task, split, i, &b, got));
        bad += memcmp(got, want, sizeof *got * floats) != 0;
        cm_image_free(&img);
    }
    CM_TEST(bad == 0, "task %s split %d: %d of %d loads differ from decoding the file", t->task_names[task], split, bad, 2 * n);
    free(got), free(want);
    names_free(names, n);
}

/* Names of the split start with "<domain>/<class>/" of the item's label. */
static void check_names_and_labels(const cm_tasks *t, int task, int split, const char *domain_prefix,
                                   const char *const *class_folders)
{
    int n, wrong = 0;
    char **names = split_names(t, task, split, &n);
    if (!names) return;
    for (int i = 0; i < n; i++) {
        const char *want = tree_path("%s/%s/", domain_prefix, class_folders[cm_tasks_label(t, task, split, i)]);
        wrong += strncmp(names[i], want, strlen(want)) != 0;
    }
    CM_TEST(wrong == 0, "task %s: %d names do not match their labels", t->task_names[task], wrong);
    names_free(names, n);
}

/* ---- folder ---- */

static const char *const classes3[3] = {"Alarm_Clock", "Bike", "Chair"};

static const char *build_folder(void)
{
    static char root[1024];
    snprintf(root, sizeof root, "%s/folder", tmp);
    const char *domains[2] = {"Art", "Real World"};
    for (int d = 0; d < 2; d++)
        for (int c = 0; c < 3; c++) {
            tree_mkdir(tree_path("%s/%s/%s", root, domains[d], classes3[c]));
            for (int i = 0; i < 5 + d; i++)
                tree_image(tree_path("%s/%s/%s/img %d.%s", root, domains[d], classes3[c], i, i % 2 ? "png" : "jpg"),
                           20 + 7 * i, 36 - 3 * i + c, (uint32_t)(100 * d + 10 * c + i), i % 2 == 0);
        }
    return root;
}

static void check_folder(void)
{
    const char *root = build_folder();
    char set_root[1300];
    snprintf(set_root, sizeof set_root, "data.root=\"%s\"", root);
    const char *sets[] = {"data.kind=folder", set_root, "data.image_size=16", NULL};
    cm_tasks t;
    CM_TEST_OK(tasks_open_with(&t, MPI_COMM_WORLD, sets));
    if (!t.impl) return;
    CM_TEST(t.ntasks == 2 && strcmp(t.task_names[0], "Art") == 0 && strcmp(t.task_names[1], "Real World") == 0,
            "folder: tasks not [Art, Real World]");
    CM_TEST(t.nclasses == 3 && strcmp(t.class_names[0], "Alarm Clock") == 0 && strcmp(t.class_names[2], "Chair") == 0,
            "folder: class names not prompt text");
    /* hold-out 0.2 of 5 (Art) or 6 (Real World) per class: lround gives 1 test image per class */
    CM_TEST(t.n_test[0] == 3 && t.n_train[0] == 12 && t.n_test[1] == 3 && t.n_train[1] == 15,
            "folder: splits %d/%d and %d/%d, want 12/3 and 15/3", t.n_train[0], t.n_test[0], t.n_train[1], t.n_test[1]);
    CM_TEST(cm_tasks_steps_per_epoch(&t, 1, 4) == 4 && cm_tasks_steps_per_epoch(&t, 0, 4) == 3, "steps per epoch");
    for (int k = 0; k < 2; k++) {
        check_names_and_labels(&t, k, CM_SPLIT_TRAIN, t.task_names[k], classes3);
        check_names_and_labels(&t, k, CM_SPLIT_TEST, t.task_names[k], classes3);
        check_loads(&t, k, CM_SPLIT_TRAIN, root);
        check_loads(&t, k, CM_SPLIT_TEST, root);
    }
    int n0, n1;
    char **all = split_names(&t, 1, CM_SPLIT_TRAIN, &n0);
    cm_tasks_close(&t);

    /* One domain chosen: its split does not depend on the other tasks (keyed by name). */
    const char *one[] = {"data.kind=folder", set_root, "data.image_size=16", "data.domains=[\"Real World\"]", NULL};
    CM_TEST_OK(tasks_open_with(&t, MPI_COMM_WORLD, one));
    if (t.impl) {
        CM_TEST(t.ntasks == 1 && strcmp(t.task_names[0], "Real World") == 0, "domains = [Real World]");
        char **alone = split_names(&t, 0, CM_SPLIT_TRAIN, &n1);
        int same = all && alone && n0 == n1;
        for (int i = 0; same && i < n0; i++) same = strcmp(all[i], alone[i]) == 0;
        CM_TEST(same, "the split of 'Real World' changed when 'Art' was left out");
        names_free(alone, n1);
        cm_tasks_close(&t);
    }
    names_free(all, n0);
    const char *order[] = {"data.kind=folder", set_root, "data.image_size=16", "data.domains=[\"Real World\", Art]", NULL};
    CM_TEST_OK(tasks_open_with(&t, MPI_COMM_WORLD, order));
    if (t.impl) {
        CM_TEST(strcmp(t.task_names[0], "Real World") == 0 && strcmp(t.task_names[1], "Art") == 0, "domain order kept");
        cm_tasks_close(&t);
    }
    const char *fraction[] = {"data.kind=folder", set_root, "data.image_size=16", "data.train_fraction=0.5", NULL};
    CM_TEST_OK(tasks_open_with(&t, MPI_COMM_WORLD, fraction));
    if (t.impl) {
        CM_TEST(t.n_train[0] == 6 && t.n_test[0] == 3, "train_fraction 0.5: %d train %d test, want 6 and 3", t.n_train[0],
                t.n_test[0]);
        cm_tasks_close(&t);
    }
    const char *shots[] = {"data.kind=folder", set_root, "data.image_size=16", "data.k_shot=1", NULL};
    CM_TEST_OK(tasks_open_with(&t, MPI_COMM_WORLD, shots));
    if (t.impl) {
        CM_TEST(t.n_train[0] == 3 && t.n_train[1] == 3, "k_shot 1: %d and %d train, want 3", t.n_train[0], t.n_train[1]);
        cm_tasks_close(&t);
    }
    /* k_shot 5 against training pools of 4 (Art) and 5 (Real World) per class: Art's classes are
     * short, named with the count they have, in the warning and in splits.h5. */
    const char *many[] = {"data.kind=folder", set_root, "data.image_size=16", "data.k_shot=5", NULL};
    CM_TEST_OK(tasks_open_with(&t, MPI_COMM_WORLD, many));
    if (t.impl) {
        CM_TEST(t.n_train[0] == 12 && t.n_train[1] == 15, "k_shot 5: %d and %d train, want 12 and 15", t.n_train[0],
                t.n_train[1]);
        const char *path = tree_path("%s/kshot-splits.h5", tmp);
        cm_h5_file f;
        char *art = NULL, *real = NULL;
        CM_TEST_OK(cm_h5_create(&f, MPI_COMM_SELF, path));
        CM_TEST_OK(cm_tasks_write_splits(&t, &f));
        CM_TEST_OK(cm_h5_read_attr_string(&f, "splits/Art", "k_shot_short", &art));
        CM_TEST_OK(cm_h5_read_attr_string(&f, "splits/Real World", "k_shot_short", &real));
        CM_TEST_OK(cm_h5_close(&f));
        CM_TEST(art && strcmp(art, "Alarm_Clock (4), Bike (4), Chair (4)") == 0, "Art's short classes: '%s'",
                art ? art : "(none)");
        CM_TEST(real && strcmp(real, "") == 0, "Real World has no short class, got '%s'", real ? real : "(none)");
        free(art), free(real);
        remove(path);
        cm_tasks_close(&t);
    }
    const char *unknown[] = {"data.kind=folder", set_root, "data.domains=[Sketch]", NULL};
    expect_open_error("unknown domain", unknown, "'Sketch'", "available: 'Art', 'Real World'");

    /* Broken trees: a class missing from a domain, an empty class folder. */
    tree_mkdir(tree_path("%s/Art/Desk", root));
    tree_mkdir(tree_path("%s/Real World/Desk", root));
    tree_image(tree_path("%s/Real World/Desk/a.png", root), 9, 9, 1, 0);
    expect_open_error("empty class folder", sets, "Art/Desk", "no .jpg");
    tree_image(tree_path("%s/Art/Desk/a.png", root), 9, 9, 1, 0);
    tree_remove(tree_path("%s/Real World/Desk", root));
    expect_open_error("class missing from a domain", sets, "'Desk'", "'Real World'");
    printf("ok   folder: 2 tasks, hold-out split, loads bit-identical, domains chosen by name, broken trees named\n");
}

/* ---- Office-Home, with and without LibMTL lists ---- */

static void check_office_home(void)
{
    char parent[1024];
    snprintf(parent, sizeof parent, "%s/oh", tmp);
    char root[1100];
    snprintf(root, sizeof root, "%s/OfficeHomeDataset_10072016", parent);
    const char *domains[2] = {"Art", "Real World"}, *stems[2] = {"Art", "Real_World"};
    const char *classes[2] = {"Alarm_Clock", "Bike"};
    for (int d = 0; d < 2; d++)
        for (int c = 0; c < 2; c++) {
            tree_mkdir(tree_path("%s/%s/%s", root, domains[d], classes[c]));
            for (int i = 0; i < 6; i++)
                tree_image(tree_path("%s/%s/%s/%05d.jpg", root, domains[d], classes[c], i + 1), 24 + i, 30, (uint32_t)(7 * d + 3 * c + i), 1);
        }
    char set_root[1300];
    snprintf(set_root, sizeof set_root, "data.root=\"%s\"", parent);
    const char *sets[] = {"data.kind=office_home", set_root, "data.image_size=16", NULL};
    cm_tasks t;
    /* No lists: the seeded hold-out, root given as the folder above the dataset. */
    CM_TEST_OK(tasks_open_with(&t, MPI_COMM_WORLD, sets));
    if (t.impl) {
        CM_TEST(t.ntasks == 2 && t.n_test[0] == 2 && t.n_train[0] == 10, "office_home hold-out: %d/%d", t.n_train[0],
                t.n_test[0]);
        cm_tasks_close(&t);
    }
    /* LibMTL lists: images 1-3 train, 4 val, 5-6 test; LibMTL numbers Bike 0 and Alarm_Clock 1. */
    char lists[1100];
    snprintf(lists, sizeof lists, "%s/data_txt/office-home", parent);
    tree_mkdir(lists);
    const char *mode[3] = {"train", "val", "test"};
    for (int d = 0; d < 2; d++)
        for (int m = 0; m < 3; m++) {
            char text[4096] = "";
            for (int c = 0; c < 2; c++)
                for (int i = 0; i < 6; i++) {
                    int which = i < 3 ? 0 : i == 3 ? 1 : 2;
                    if (which == m)
                        snprintf(text + strlen(text), sizeof text - strlen(text), "%s/%s/%05d.jpg %d\n", stems[d],
                                 classes[c], i + 1, 1 - c);
                }
            tree_text(tree_path("%s/%s_%s.txt", lists, stems[d], mode[m]), text);
        }
    CM_TEST_OK(tasks_open_with(&t, MPI_COMM_WORLD, sets));
    if (t.impl) {
        CM_TEST(t.n_train[1] == 6 && t.n_test[1] == 4, "LibMTL lists: %d train %d test, want 6 and 4", t.n_train[1], t.n_test[1]);
        CM_TEST(strcmp(t.class_names[0], "Alarm Clock") == 0, "labels must stay alphabetical, not LibMTL's");
        int n, wrong = 0;
        char **names = split_names(&t, 1, CM_SPLIT_TEST, &n);
        for (int i = 0; names && i < n; i++) {
            int number = atoi(strrchr(names[i], '/') + 1);
            wrong += number < 5;
        }
        CM_TEST(names && wrong == 0, "test split holds images outside the test list");
        names_free(names, n);
        check_names_and_labels(&t, 1, CM_SPLIT_TRAIN, "Real World", classes);
        check_loads(&t, 1, CM_SPLIT_TEST, root);
        cm_tasks_close(&t);
    }
    /* Root given as the dataset folder itself: the lists beside it are found too. */
    char set_dataset[1300];
    snprintf(set_dataset, sizeof set_dataset, "data.root=\"%s\"", root);
    const char *itself[] = {"data.kind=office_home", set_dataset, "data.image_size=16", NULL};
    CM_TEST_OK(tasks_open_with(&t, MPI_COMM_WORLD, itself));
    if (t.impl) {
        CM_TEST(t.n_train[1] == 6 && t.n_test[1] == 4, "lists beside the dataset root: %d/%d", t.n_train[1], t.n_test[1]);
        cm_tasks_close(&t);
    }
    /* A list line naming no image: an error naming list:line (stop), a counted skip (skip). */
    char art_test[1200];
    snprintf(art_test, sizeof art_test, "%s/Art_test.txt", lists);
    FILE *f = fopen(art_test, "a");
    if (f) fputs("Art/Bike/09999.jpg 0\n", f), fclose(f);
    expect_open_error("LibMTL line naming no image", sets, "Art_test.txt:5", "Art/Bike/09999.jpg");
    const char *skip[] = {"data.kind=office_home", set_root, "data.image_size=16", "data.bad_data=skip", NULL};
    CM_TEST_OK(tasks_open_with(&t, MPI_COMM_WORLD, skip));
    if (t.impl) {
        CM_TEST(cm_tasks_skipped(&t) == 1 && t.n_test[0] == 4, "skip: %ld skipped, %d test", cm_tasks_skipped(&t), t.n_test[0]);
        cm_tasks_close(&t);
    }
    /* A label that names two classes. */
    tree_text(art_test, "Art/Alarm_Clock/00005.jpg 0\n");
    expect_open_error("LibMTL labels inconsistent", sets, "Art_test.txt:1", "label 0");
    tree_remove(tree_path("%s/Real_World_test.txt", lists));
    tree_text(art_test, "Art/Alarm_Clock/00005.jpg 1\n");
    expect_open_error("LibMTL list missing for a domain", sets, "Real_World_test.txt", "every domain");
    printf("ok   office_home: parent or dataset root, LibMTL train/test lists (val unused), bad lists named\n");
}

/* ---- DomainNet and MiniDomainNet split lists ---- */

static void write_domainnet(const char *base, const char *splits, const char *const *domains, int ndomains,
                            const int *labels)
{
    const char *classes[2] = {"zebra", "apple"};
    tree_mkdir(tree_path("%s/%s", base, splits));
    for (int d = 0; d < ndomains; d++) {
        char train[4096] = "", test[4096] = "";
        for (int c = 0; c < 2; c++) {
            tree_mkdir(tree_path("%s/%s/%s", base, domains[d], classes[c]));
            for (int i = 0; i < 5; i++) {
                const char *rel = tree_path("%s/%s/%s_%03d.jpg", domains[d], classes[c], domains[d], i);
                tree_image(tree_path("%s/%s", base, rel), 18 + i, 22, (uint32_t)(d * 31 + c * 7 + i), 1);
                char *list = i < 3 ? train : test;
                snprintf(list + strlen(list), 4096 - strlen(list), "%s %d\n", rel, labels[c]);
            }
        }
        tree_text(tree_path("%s/%s/%s_train.txt", base, splits, domains[d]), train);
        tree_text(tree_path("%s/%s/%s_test.txt", base, splits, domains[d]), test);
    }
}

static void check_domainnet(void)
{
    char root[1024], base[1024];
    snprintf(root, sizeof root, "%s/dn", tmp);
    snprintf(base, sizeof base, "%s/dn/domainnet", tmp);
    const char *domains[2] = {"clipart", "sketch"};
    const int labels[2] = {0, 1}, sparse[2] = {9, 4};
    write_domainnet(base, "splits", domains, 2, labels);
    write_domainnet(base, "splits_mini", domains, 1, sparse);
    char set_root[1300];
    snprintf(set_root, sizeof set_root, "data.root=\"%s\"", root);
    const char *sets[] = {"data.kind=domainnet", set_root, "data.image_size=16", NULL};
    cm_tasks t;
    CM_TEST_OK(tasks_open_with(&t, MPI_COMM_WORLD, sets));
    if (t.impl) {
        CM_TEST(t.ntasks == 2 && strcmp(t.task_names[1], "sketch") == 0, "domainnet: tasks");
        CM_TEST(t.nclasses == 2 && strcmp(t.class_names[0], "zebra") == 0, "domainnet: classes ordered by the lists' labels");
        CM_TEST(t.n_train[0] == 6 && t.n_test[0] == 4, "domainnet: %d/%d, want 6/4", t.n_train[0], t.n_test[0]);
        const char *by_label[2] = {"zebra", "apple"};
        check_names_and_labels(&t, 1, CM_SPLIT_TEST, "sketch", by_label);
        check_loads(&t, 0, CM_SPLIT_TRAIN, base);
        cm_tasks_close(&t);
    }
    const char *mini[] = {"data.kind=minidomainnet", set_root, "data.image_size=16", NULL};
    CM_TEST_OK(tasks_open_with(&t, MPI_COMM_WORLD, mini));
    if (t.impl) {
        /* sparse labels 9 (zebra) and 4 (apple) become 1 and 0 */
        CM_TEST(t.ntasks == 1 && t.nclasses == 2 && strcmp(t.class_names[0], "apple") == 0, "minidomainnet: classes");
        const char *by_label[2] = {"apple", "zebra"};
        check_names_and_labels(&t, 0, CM_SPLIT_TRAIN, "clipart", by_label);
        cm_tasks_close(&t);
    }
    /* Root given as the domainnet folder itself works too. */
    char set_base[1300];
    snprintf(set_base, sizeof set_base, "data.root=\"%s\"", base);
    const char *direct[] = {"data.kind=minidomainnet", set_base, "data.image_size=16", NULL};
    CM_TEST_OK(tasks_open_with(&t, MPI_COMM_WORLD, direct));
    if (t.impl) cm_tasks_close(&t);

    /* A missing file: stop names list:line; skip keeps the item, marks it and loads the next. */
    remove(tree_path("%s/sketch/apple/sketch_003.jpg", base));
    expect_open_error("missing file", sets, "sketch_test.txt:3", "sketch/apple/sketch_003.jpg: no such file");
    const char *skip[] = {"data.kind=domainnet", set_root, "data.image_size=16", "data.bad_data=skip", NULL};
    CM_TEST_OK(tasks_open_with(&t, MPI_COMM_WORLD, skip));
    if (t.impl) {
        CM_TEST(cm_tasks_skipped(&t) == 1 && t.n_test[1] == 4, "skip: %ld skipped", cm_tasks_skipped(&t));
        int n, missing = -1;
        char **names = split_names(&t, 1, CM_SPLIT_TEST, &n);
        for (int i = 0; names && i < n; i++)
            if (strcmp(names[i], "sketch/apple/sketch_003.jpg") == 0) missing = i;
        CM_TEST(missing >= 0, "the missing item left the split");
        float *px = malloc(sizeof *px * 3 * S * S);
        int loaded = -1;
        if (missing >= 0) CM_TEST_OK(cm_tasks_load_item(&t, 1, CM_SPLIT_TEST, missing, NULL, px, &loaded));
        CM_TEST(loaded == (missing + 1) % n, "skipped item %d replaced by %d, want the next", missing, loaded);
        CM_TEST(cm_tasks_skipped(&t) == 1, "a known skip counted twice");
        free(px);
        names_free(names, n);
        cm_tasks_close(&t);
    }
    tree_image(tree_path("%s/sketch/apple/sketch_003.jpg", base), 20, 20, 1, 1);
    /* Malformed lines, a class missing from a domain, a label naming two classes. */
    char list[1100];
    snprintf(list, sizeof list, "%s/splits/sketch_train.txt", base);
    tree_text(list, "sketch/zebra/sketch_000.jpg\n");
    expect_open_error("line without a label", sets, "sketch_train.txt:1", "path label");
    tree_text(list, "sketch/zebra/sketch_000.jpg 0\n../x.jpg 1\n");
    expect_open_error("path leaving the root", sets, "sketch_train.txt:2", "relative path");
    tree_text(list, "sketch/zebra/sketch_000.jpg 1\n");
    expect_open_error("label naming two classes", sets, "sketch_train.txt:1", "label 1");
    tree_text(list, "sketch/zebra/sketch_000.jpg 0\n");
    tree_text(tree_path("%s/splits/sketch_test.txt", base), "sketch/zebra/sketch_004.jpg 0\n");
    expect_open_error("class missing from a domain", sets, "'sketch'", "'apple'");
    printf("ok   domainnet/minidomainnet: split lists, label order, missing files stop or skip, bad lines named\n");
}

/* ---- Fashion-MNIST (Debian's files) ---- */

static void check_fmnist(void)
{
    cm_fmnist_set probe;
    if (cm_fmnist_load(&probe, NULL, 0) != CM_OK) {
        cm_error_clear();
        printf("skip fashion_mnist: %s not installed\n", CM_FMNIST_DEFAULT_DIR);
        return;
    }
    const char *sets[] = {"data.kind=fashion_mnist", "data.image_size=16", NULL};
    cm_tasks t;
    CM_TEST_OK(tasks_open_with(&t, MPI_COMM_WORLD, sets));
    if (t.impl) {
        CM_TEST(t.ntasks == 5 && t.nclasses == 10 && strcmp(t.task_names[3], "sketch") == 0 &&
                    strcmp(t.class_names[9], "ankle boot") == 0,
                "fashion_mnist: 5 domains, 10 classes");
        for (int k = 0; k < 5; k++)
            CM_TEST(t.n_train[k] == 2000 && t.n_test[k] == 2000, "task %d: %d/%d, want 2000/2000", k, t.n_train[k],
                    t.n_test[k]);
        /* Pool separation: every training image of a task is in the task pool [50000, 60000),
         * none in the pretraining pool [0, 50000). */
        for (int k = 0; k < 5; k++) {
            int count, outside = 0;
            char **train = split_names(&t, k, CM_SPLIT_TRAIN, &count);
            for (int i = 0; train && i < count; i++)
                outside += strncmp(train[i], "train/", 6) != 0 || atoi(train[i] + 6) < 50000 ||
                           atoi(train[i] + 6) >= 60000 || (atoi(train[i] + 6) - 50000) % 5 != k;
            CM_TEST(train && count == 2000 && outside == 0, "task %d: %d of %d training images outside its share of [50000, 60000)",
                    k, outside, count);
            names_free(train, count);
        }
        /* Disjoint: task k holds exactly the images i with i % 5 == k. */
        int n, wrong = 0;
        char **names = split_names(&t, 2, CM_SPLIT_TEST, &n);
        for (int i = 0; names && i < n; i++) wrong += strncmp(names[i], "t10k/", 5) != 0 || atoi(names[i] + 5) % 5 != 2;
        CM_TEST(names && wrong == 0, "rotated task holds %d test images of other tasks", wrong);
        /* Loads equal rendering the image in the task's domain and transforming it. */
        float got[3 * S * S], want[3 * S * S];
        cm_image img;
        for (int i = 0; names && i < 3; i++) {
            int index = atoi(names[i] + 5);
            CM_TEST_OK(cm_image_alloc(&img, probe.cols, probe.rows));
            cm_fmnist_render(&probe, index, CM_FMNIST_ROTATED, img.rgb);
            CM_TEST_OK(cm_image_preprocess_clip(&img, S, want));
            CM_TEST_OK(cm_tasks_load(&t, 2, CM_SPLIT_TEST, i, NULL, got));
            CM_TEST(memcmp(got, want, sizeof got) == 0, "fashion_mnist test item %d differs", i);
            CM_TEST(cm_tasks_label(&t, 2, CM_SPLIT_TEST, i) == probe.labels[index], "label of item %d", i);
            cm_image_free(&img);
        }
        names_free(names, n);
        cm_tasks_close(&t);
    }
    const char *two[] = {"data.kind=fashion_mnist", "data.image_size=16", "data.domains=[sketch, original]",
                         "data.k_shot=3", NULL};
    CM_TEST_OK(tasks_open_with(&t, MPI_COMM_WORLD, two));
    if (t.impl) {
        CM_TEST(t.ntasks == 2 && t.n_train[0] == 30 && t.n_test[0] == 5000, "two domains, 3 shots: %d/%d", t.n_train[0],
                t.n_test[0]);
        cm_tasks_close(&t);
    }
    const char *pooled[] = {"data.kind=fashion_mnist", "data.image_size=16", "data.domains=[original]",
                            "data.pretrain_images=[0, 100]", "data.task_images=[100, 130]", NULL};
    CM_TEST_OK(tasks_open_with(&t, MPI_COMM_WORLD, pooled));
    if (t.impl) {
        int count, outside = 0;
        char **train = split_names(&t, 0, CM_SPLIT_TRAIN, &count);
        for (int i = 0; train && i < count; i++) outside += atoi(train[i] + 6) < 100 || atoi(train[i] + 6) >= 130;
        CM_TEST(train && count == 30 && outside == 0, "task pool [100, 130): %d images, %d outside", count, outside);
        names_free(train, count);
        cm_tasks_close(&t);
    }
    const char *bad[] = {"data.kind=fashion_mnist", "data.domains=[blurred]", NULL};
    expect_open_error("unknown Fashion-MNIST domain", bad, "'blurred'", "'tinted'");
    cm_fmnist_free(&probe);
    printf("ok   fashion_mnist: 5 disjoint tasks of 2000/2000 images from the task pool, loads = render + transform\n");
}

/* Primed domains: inverted2 renders like inverted but holds other images, train and test. */
static void check_fmnist_primes(void)
{
    cm_fmnist_set probe;
    if (cm_fmnist_load(&probe, NULL, 0) != CM_OK) {
        cm_error_clear();
        printf("skip fashion_mnist primes: %s not installed\n", CM_FMNIST_DEFAULT_DIR);
        return;
    }
    const char *sets[] = {"data.kind=fashion_mnist", "data.image_size=16", "data.k_shot=16",
                          "data.domains=[inverted, inverted2, rotated, rotated2, tinted, tinted2]", NULL};
    cm_tasks t;
    CM_TEST_OK(tasks_open_with(&t, MPI_COMM_WORLD, sets));
    if (t.impl) {
        CM_TEST(t.ntasks == 6 && strcmp(t.task_names[1], "inverted2") == 0 && strcmp(t.task_names[5], "tinted2") == 0,
                "six tasks named as listed");
        for (int split = CM_SPLIT_TRAIN; split <= CM_SPLIT_TEST; split++) {
            /* Every image (train/<i> or t10k/<i>) belongs to at most one of the six tasks. */
            char *owner = calloc(70000, 1);
            int clashes = 0, total = 0, pretraining = 0;
            for (int task = 0; owner && task < 6; task++) {
                int n;
                char **names = split_names(&t, task, split, &n);
                for (int i = 0; names && i < n; i++, total++) {
                    int index = atoi(strchr(names[i], '/') + 1) + (strncmp(names[i], "t10k/", 5) == 0 ? 60000 : 0);
                    clashes += owner[index] != 0;
                    pretraining += split == CM_SPLIT_TRAIN && index < 50000; /* default data.task_images */
                    owner[index] = 1;
                }
                names_free(names, n);
            }
            CM_TEST(owner && clashes == 0 && total > 0, "split %d: %d of %d images in two tasks", split, clashes, total);
            CM_TEST(pretraining == 0, "%d task images are in the pretraining pool [0, 50000)", pretraining);
            free(owner);
        }
        /* The prime renders its images in the same domain: inverted2's first test item. */
        int n;
        char **names = split_names(&t, 1, CM_SPLIT_TEST, &n);
        float got[3 * S * S], want[3 * S * S];
        cm_image img;
        if (names && n > 0) {
            int index = atoi(names[0] + 5);
            CM_TEST_OK(cm_image_alloc(&img, probe.cols, probe.rows));
            cm_fmnist_render(&probe, index, CM_FMNIST_INVERTED, img.rgb);
            CM_TEST_OK(cm_image_preprocess_clip(&img, S, want));
            CM_TEST_OK(cm_tasks_load(&t, 1, CM_SPLIT_TEST, 0, NULL, got));
            CM_TEST(memcmp(got, want, sizeof got) == 0, "inverted2 test item 0 is not the inverted rendering");
            cm_image_free(&img);
        }
        names_free(names, n);
        cm_tasks_close(&t);
    }
    /* data.augment none: a training image loads with the test transform whatever the rng. */
    const char *none[] = {"data.kind=fashion_mnist", "data.image_size=16", "data.k_shot=1", "data.augment=none", NULL};
    const char *crop[] = {"data.kind=fashion_mnist", "data.image_size=16", "data.k_shot=1", NULL};
    for (int augment = 0; augment < 2; augment++) {
        CM_TEST_OK(tasks_open_with(&t, MPI_COMM_WORLD, augment ? crop : none));
        if (!t.impl) continue;
        float plain[3 * S * S], drawn[3 * S * S];
        cm_rng rng;
        cm_rng_seed(&rng, 5, 1);
        CM_TEST_OK(cm_tasks_load(&t, 0, CM_SPLIT_TRAIN, 0, NULL, plain));
        int differ = 0;
        for (int draw = 0; draw < 4; draw++) {
            CM_TEST_OK(cm_tasks_load(&t, 0, CM_SPLIT_TRAIN, 0, &rng, drawn));
            differ += memcmp(plain, drawn, sizeof plain) != 0;
        }
        CM_TEST(augment ? differ > 0 : differ == 0, "augment %s: %d of 4 random loads differ from the test transform",
                augment ? "crop_flip" : "none", differ);
        cm_tasks_close(&t);
    }
    /* Primes are tasks only when named: the default stays the five domains. */
    const char *plain[] = {"data.kind=fashion_mnist", "data.image_size=16", NULL};
    CM_TEST_OK(tasks_open_with(&t, MPI_COMM_WORLD, plain));
    if (t.impl) {
        CM_TEST(t.ntasks == 5, "default domains: %d tasks, want 5", t.ntasks);
        cm_tasks_close(&t);
    }
    cm_fmnist_free(&probe);
    printf("ok   fashion_mnist primes: inverted2 renders as inverted, six tasks hold disjoint train and test images, none from the pretraining pool; augment none = test transform\n");
}

/* ---- unreadable images ---- */

static void check_bad_images(void)
{
    char root[1024];
    snprintf(root, sizeof root, "%s/bad", tmp);
    for (int c = 0; c < 2; c++) {
        tree_mkdir(tree_path("%s/A/c%d", root, c));
        for (int i = 0; i < 3; i++) tree_image(tree_path("%s/A/c%d/%d.png", root, c, i), 12, 12, (uint32_t)(c * 3 + i), 0);
    }
    tree_truncated_jpeg(tree_path("%s/A/c0/1b.jpg", root), 40, 40); /* between 1.png and 2.png */
    tree_text(tree_path("%s/A/c1/0b.png", root), "not an image\n");
    char set_root[1300];
    snprintf(set_root, sizeof set_root, "data.root=\"%s\"", root);
    const char *stop[] = {"data.kind=folder", set_root, "data.image_size=16", "data.test_fraction=0", NULL};
    const char *skip[] = {"data.kind=folder", set_root, "data.image_size=16", "data.test_fraction=0", "data.bad_data=skip", NULL};
    float px[3 * S * S];
    cm_tasks t;
    CM_TEST_OK(tasks_open_with(&t, MPI_COMM_WORLD, stop));
    if (!t.impl) return;
    /* items in order: c0/0.png 1.png 1b.jpg 2.png, c1/0.png 0b.png 1.png 2.png */
    CM_TEST(t.n_train[0] == 8, "%d training items, want 8", t.n_train[0]);
    cm_err err = cm_tasks_load(&t, 0, CM_SPLIT_TRAIN, 2, NULL, px);
    CM_TEST(err != CM_OK && strstr(cm_error_message(), "A/c0/1b.jpg"), "truncated JPEG under stop: %s", cm_error_message());
    cm_error_clear();
    err = cm_tasks_load(&t, 0, CM_SPLIT_TRAIN, 5, NULL, px);
    CM_TEST(err != CM_OK && strstr(cm_error_message(), "A/c1/0b.png"), "text file under stop: %s", cm_error_message());
    cm_error_clear();
    cm_tasks_close(&t);
    CM_TEST_OK(tasks_open_with(&t, MPI_COMM_WORLD, skip));
    if (!t.impl) return;
    int loaded = -1;
    CM_TEST_OK(cm_tasks_load_item(&t, 0, CM_SPLIT_TRAIN, 2, NULL, px, &loaded));
    CM_TEST(loaded == 3 && cm_tasks_skipped(&t) == 1, "skip: loaded %d (want 3), %ld skipped", loaded, cm_tasks_skipped(&t));
    CM_TEST(cm_tasks_label(&t, 0, CM_SPLIT_TRAIN, loaded) == 0, "label of the replacement");
    CM_TEST_OK(cm_tasks_load_item(&t, 0, CM_SPLIT_TRAIN, 2, NULL, px, &loaded));
    CM_TEST(cm_tasks_skipped(&t) == 1, "the same bad image counted twice");
    CM_TEST_OK(cm_tasks_load_item(&t, 0, CM_SPLIT_TRAIN, 5, NULL, px, &loaded));
    CM_TEST(loaded == 6 && cm_tasks_skipped(&t) == 2, "skip of the text file: loaded %d, %ld skipped", loaded,
            cm_tasks_skipped(&t));
    cm_tasks_close(&t);
    /* A split of unreadable images only. */
    char all_bad[1024];
    snprintf(all_bad, sizeof all_bad, "%s/allbad", tmp);
    tree_mkdir(tree_path("%s/D/c", all_bad));
    tree_text(tree_path("%s/D/c/a.png", all_bad), "x");
    tree_text(tree_path("%s/D/c/b.png", all_bad), "y");
    snprintf(set_root, sizeof set_root, "data.root=\"%s\"", all_bad);
    const char *none[] = {"data.kind=folder", set_root, "data.image_size=16", "data.test_fraction=0", "data.bad_data=skip", NULL};
    CM_TEST_OK(tasks_open_with(&t, MPI_COMM_WORLD, none));
    if (t.impl) {
        err = cm_tasks_load(&t, 0, CM_SPLIT_TRAIN, 0, NULL, px);
        CM_TEST(err != CM_OK && strstr(cm_error_message(), "every image"), "all unreadable: %s", cm_error_message());
        cm_error_clear();
        cm_tasks_close(&t);
    }
    printf("ok   unreadable images: stop names the file, skip counts once and loads the next item\n");
}

int main(int argc, char **argv)
{
    MPI_Init(&argc, &argv);
    tmp = cm_test_tmpdir();
    check_folder();
    check_office_home();
    check_domainnet();
    check_fmnist();
    check_fmnist_primes();
    check_bad_images();
    tree_remove(tmp);
    MPI_Finalize();
    return cm_test_summary();
}
