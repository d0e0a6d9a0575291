/* Folder datasets as tasks: `folder` (root/<domain>/<class>/<image>) and `office_home` (the same
 * layout, optionally with LibMTL's split lists). */
#include <stdlib.h>
#include <string.h>

#include "clipmtl/dataset.h"
#include "clipmtl/log.h"
#include "tasks_internal.h"

#define OFFICE_HOME_FOLDER "OfficeHomeDataset_10072016"
#define OFFICE_HOME_CLASSES 65
#define LIBMTL_LISTS "data_txt/office-home"

/* ---- LibMTL lists: <root>/data_txt/office-home/<Domain>_{train,test}.txt ---- */

struct named {
    const char *rest; /* "Class/file" */
    int item;
};

typedef struct {
    cm_tasks *t;
    int task;
    const char *stem;    /* domain name with '_' for ' ', as LibMTL spells it */
    const struct named *sorted; /* the task's items sorted by their name after the domain */
    int *label_map;      /* LibMTL label -> ours; -1 unseen */
    uint8_t split;       /* what the list being read assigns */
} libmtl_ctx;

static const char *after_domain(const char *name)
{
    const char *slash = strchr(name, '/');
    return slash ? slash + 1 : name;
}

static int compare_named(const void *a, const void *b)
{
    return strcmp(((const struct named *)a)->rest, ((const struct named *)b)->rest);
}

static int find_item(const libmtl_ctx *c, const char *rest)
{
    int lo = 0, hi = c->t->impl->task[c->task].n_items - 1;
    while (lo <= hi) {
        int mid = (lo + hi) / 2, cmp = strcmp(c->sorted[mid].rest, rest);
        if (cmp == 0) return c->sorted[mid].item;
        if (cmp < 0) lo = mid + 1;
        else hi = mid - 1;
    }
    return -1;
}

static cm_err libmtl_line(void *ctx, const char *list, int line, const char *path, long label)
{
    libmtl_ctx *c = ctx;
    cm_tasks *t = c->t;
    const char *domain = t->task_names[c->task];
    const char *slash = strchr(path, '/');
    size_t first = slash ? (size_t)(slash - path) : strlen(path);
    int same = slash && ((first == strlen(c->stem) && strncmp(path, c->stem, first) == 0) ||
                         (first == strlen(domain) && strncmp(path, domain, first) == 0));
    CM_ASSERT(same, CM_ERR_FORMAT, "%s:%d: '%s' is not in domain '%s'", list, line, path, domain);
    int item = find_item(c, slash + 1);
    if (item < 0) {
        CM_ASSERT(t->impl->bad_data == CM_BAD_DATA_SKIP, CM_ERR_FORMAT,
                  "%s:%d: '%s' names no image of %s/%s (data.bad_data = skip leaves such lines out)", list, line, path,
                  t->impl->source, domain);
        __atomic_add_fetch(&t->impl->skipped, 1, __ATOMIC_RELAXED);
        cm_log_warn("%s:%d: '%s' names no image, left out", list, line, path);
        return CM_OK;
    }
    cm_task_item *it = &t->impl->task[c->task].items[item];
    CM_ASSERT(it->official == CM_SPLIT_UNUSED, CM_ERR_FORMAT, "%s:%d: '%s' is listed a second time (line %d)", list,
              line, path, it->line);
    CM_ASSERT(label < t->nclasses, CM_ERR_FORMAT, "%s:%d: label %ld but the dataset has %d classes", list, line, label,
              t->nclasses);
    /* LibMTL's label ids are not alphabetical: ours are kept, theirs must name one class. */
    if (c->label_map[label] < 0) c->label_map[label] = it->label;
    CM_ASSERT(c->label_map[label] == it->label, CM_ERR_FORMAT,
              "%s:%d: label %ld is class '%s' here but class '%s' on earlier lines", list, line, label,
              t->class_names[it->label], t->class_names[c->label_map[label]]);
    it->official = c->split;
    it->line = line;
    return CM_OK;
}

static cm_err read_libmtl_lists(cm_tasks *t, const char *dir, int *label_map)
{
    for (int k = 0; k < t->ntasks; k++) {
        cm_task_data *td = &t->impl->task[k];
        char *stem = strdup(t->task_names[k]);
        struct named *sorted = malloc(sizeof *sorted * (size_t)(td->n_items ? td->n_items : 1));
        cm_err err = CM_OK;
        if (!stem || !sorted) CM_ERROR_GOTO(err, done, CM_ERR_MEM, "out of memory reading the LibMTL lists");
        for (char *p = stem; *p; p++)
            if (*p == ' ') *p = '_';
        for (int i = 0; i < td->n_items; i++) sorted[i] = (struct named){after_domain(td->items[i].name), i};
        qsort(sorted, (size_t)td->n_items, sizeof *sorted, compare_named);
        td->has_official = 1;
        for (int i = 0; i < td->n_items; i++) td->items[i].official = CM_SPLIT_UNUSED;
        static const char *const suffix[2] = {"_train.txt", "_test.txt"};
        for (int s = 0; s < 2; s++) {
            char list[4096];
            snprintf(list, sizeof list, "%s/%s%s", dir, stem, suffix[s]);
            if (!cm_is_file(list))
                CM_ERROR_GOTO(err, done, CM_ERR_FORMAT,
                              "%s: missing: the LibMTL lists in %s must cover every domain used ('%s')", list, dir,
                              t->task_names[k]);
            libmtl_ctx c = {t, k, stem, sorted, label_map, s == 0 ? CM_SPLIT_TRAIN : CM_SPLIT_TEST};
            CM_CHECK_GOTO(err, cm_split_list_read(list, libmtl_line, &c), done);
        }
    done:
        free(stem);
        free(sorted);
        CM_CHECK(err);
    }
    return CM_OK;
}

/* ---- the folder tree ---- */

static cm_err add_domain_items(cm_tasks *t, int k, const cm_dataset *ds, int d)
{
    cm_task_data *td = &t->impl->task[k];
    for (int i = ds->domain_start[d]; i < ds->domain_start[d + 1]; i++) {
        cm_task_item item = {.path = strdup(ds->items[i].path), .name = strdup(ds->items[i].rel),
                             .label = ds->items[i].label, .ref = -1};
        if (!item.path || !item.name || cm_task_add_item(td, &item) != CM_OK) {
            free(item.path);
            free(item.name);
            CM_ERROR(CM_ERR_MEM, "out of memory for the items of %s", ds->root);
        }
    }
    return CM_OK;
}

static cm_err read_tree(cm_tasks *t, const cm_config_data *data, const char *root, cm_dataset *ds)
{
    CM_CHECK(cm_dataset_open_folder(root, ds));
    int n, *chosen;
    CM_CHECK(cm_tasks_choose_domains(data, ds->root, ds->n_domains, (const char *const *)ds->domains, &n, &chosen));
    const char **names = calloc((size_t)n, sizeof *names);
    cm_err err = CM_OK;
    if (!names) CM_ERROR_GOTO(err, done, CM_ERR_MEM, "out of memory for %d domains", n);
    for (int k = 0; k < n; k++) names[k] = ds->domains[chosen[k]];
    CM_CHECK_GOTO(err, cm_tasks_alloc(t, n, names), done);
    CM_CHECK_GOTO(err, cm_tasks_set_classes(t, ds->n_classes, (const char *const *)ds->classes), done);
    for (int k = 0; k < n; k++) CM_CHECK_GOTO(err, add_domain_items(t, k, ds, chosen[k]), done);
done:
    free(names);
    free(chosen);
    return err;
}

/* The LibMTL lists beside the dataset: <root>/data_txt/office-home, where root is the folder
 * given, or the folder above the dataset when root is the dataset itself. NULL when absent. */
static char *libmtl_lists_dir(const char *root, const char *dataset)
{
    char *dir = cm_path_join(root, LIBMTL_LISTS);
    if (dir && cm_is_directory(dir)) return dir;
    free(dir);
    if (strcmp(root, dataset) != 0) return NULL; /* root was the folder above: looked there */
    char *parent = strdup(dataset), *slash = parent ? strrchr(parent, '/') : NULL;
    while (slash && slash > parent && slash[1] == '\0') { /* "a/b/" */
        *slash = '\0';
        slash = strrchr(parent, '/');
    }
    if (slash) *slash = '\0';
    dir = parent ? cm_path_join(!slash ? "." : slash == parent ? "/" : parent, LIBMTL_LISTS) : NULL;
    if (dir && !cm_is_directory(dir)) free(dir), dir = NULL;
    free(parent);
    return dir;
}

cm_err cm_tasks_read_folder(cm_tasks *t, const cm_config_data *data)
{
    struct cm_tasks_impl *im = t->impl;
    CM_ASSERT(data->root && data->root[0], CM_ERR_CONFIG, "data.root: required for kind %s",
              cm_config_data_kind_name(data->kind));
    char *nested = cm_path_join(data->root, OFFICE_HOME_FOLDER);
    CM_ASSERT(nested, CM_ERR_MEM, "out of memory");
    int office = data->kind == CM_DATA_OFFICE_HOME;
    /* Office-Home: root may be the dataset folder or the folder that holds it. */
    im->source = strdup(office && cm_is_directory(nested) ? nested : data->root);
    free(nested);
    CM_ASSERT(im->source, CM_ERR_MEM, "out of memory");
    cm_dataset ds = {0};
    cm_err err = read_tree(t, data, im->source, &ds);
    if (err == CM_OK && office) {
        if (t->nclasses != OFFICE_HOME_CLASSES)
            cm_log_warn("%s: %d classes, Office-Home has %d", im->source, t->nclasses, OFFICE_HOME_CLASSES);
        char *lists = libmtl_lists_dir(data->root, im->source);
        int *label_map = calloc((size_t)t->nclasses, sizeof *label_map);
        if (!label_map) err = CM_RAISE(CM_ERR_MEM, "out of memory");
        else if (lists) {
            for (int c = 0; c < t->nclasses; c++) label_map[c] = -1;
            err = read_libmtl_lists(t, lists, label_map);
            if (err == CM_OK) cm_log_info("%s: split from the LibMTL lists in %s", im->source, lists);
        }
        free(lists);
        free(label_map);
    }
    cm_dataset_free(&ds);
    CM_CHECK(err);
    return CM_OK;
}
