/* The folder dataset reader: <root>/<domain>/<class>/<image>, listed in sorted order so that
 * labels and item order do not depend on the file system. */
#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "clipmtl/dataset.h"
#include "clipmtl/fs.h"

typedef struct {
    char **names;
    int n, cap;
} name_list;

static void name_list_free(name_list *l)
{
    for (int i = 0; i < l->n; i++) free(l->names[i]);
    free(l->names);
    *l = (name_list){0};
}

static int is_image_name(const char *name)
{
    const char *dot = strrchr(name, '.');
    return dot && (strcasecmp(dot, ".jpg") == 0 || strcasecmp(dot, ".jpeg") == 0 || strcasecmp(dot, ".png") == 0);
}

static int compare_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

typedef enum { LIST_FOLDERS, LIST_IMAGES } list_kind;

/* The sorted names of dir's sub-folders or image files (following symbolic links), skipping
 * names that start with '.'. */
static cm_err list_entries(const char *dir, list_kind kind, name_list *out)
{
    *out = (name_list){0};
    DIR *d = opendir(dir);
    CM_ASSERT(d, CM_ERR_IO, "%s: cannot open folder: %s", dir, strerror(errno));
    cm_err err = CM_OK;
    char *full = NULL;
    for (;;) {
        errno = 0;
        struct dirent *e = readdir(d);
        if (!e) {
            if (errno) CM_ERROR_GOTO(err, done, CM_ERR_IO, "%s: cannot list folder: %s", dir, strerror(errno));
            break;
        }
        if (e->d_name[0] == '.' || (kind == LIST_IMAGES && !is_image_name(e->d_name))) continue;
        if (!(full = cm_path_join(dir, e->d_name))) CM_ERROR_GOTO(err, done, CM_ERR_MEM, "out of memory");
        struct stat st;
        if (stat(full, &st) != 0)
            CM_ERROR_GOTO(err, done, CM_ERR_IO, "%s: cannot read: %s", full, strerror(errno));
        free(full);
        full = NULL;
        if (kind == LIST_FOLDERS ? !S_ISDIR(st.st_mode) : !S_ISREG(st.st_mode)) continue;
        if (out->n == out->cap) {
            int cap = out->cap ? 2 * out->cap : 16;
            char **grown = realloc(out->names, sizeof(char *) * cap);
            if (!grown) CM_ERROR_GOTO(err, done, CM_ERR_MEM, "%s: out of memory listing %d entries", dir, cap);
            out->names = grown;
            out->cap = cap;
        }
        if (!(out->names[out->n] = strdup(e->d_name)))
            CM_ERROR_GOTO(err, done, CM_ERR_MEM, "%s: out of memory listing entries", dir);
        out->n++;
    }
    if (out->n > 1) qsort(out->names, out->n, sizeof(char *), compare_names);
done:
    free(full);
    closedir(d);
    if (err != CM_OK) name_list_free(out);
    return err;
}

/* Both lists are sorted: the first name in one and not the other decides the message. */
static cm_err check_same_classes(const cm_dataset *ds, const name_list *classes, int domain)
{
    const char *first = ds->domains[0], *other = ds->domains[domain];
    int i = 0, j = 0;
    while (i < ds->n_classes || j < classes->n) {
        int c = i == ds->n_classes ? 1 : j == classes->n ? -1 : strcmp(ds->classes[i], classes->names[j]);
        if (c < 0)
            CM_ERROR(CM_ERR_FORMAT, "%s: class '%s' is in domain '%s' but not in domain '%s'", ds->root, ds->classes[i],
                     first, other);
        if (c > 0)
            CM_ERROR(CM_ERR_FORMAT, "%s: class '%s' is in domain '%s' but not in domain '%s'", ds->root,
                     classes->names[j], other, first);
        i++;
        j++;
    }
    return CM_OK;
}

static cm_err add_class_images(cm_dataset *ds, int domain, int label, int *cap)
{
    char *domain_dir = NULL, *class_dir = NULL;
    name_list files = {0};
    cm_err err = CM_OK;
    domain_dir = cm_path_join(ds->root, ds->domains[domain]);
    class_dir = domain_dir ? cm_path_join(domain_dir, ds->classes[label]) : NULL;
    if (!class_dir) CM_ERROR_GOTO(err, done, CM_ERR_MEM, "out of memory");
    CM_CHECK_GOTO(err, list_entries(class_dir, LIST_IMAGES, &files), done);
    if (files.n == 0)
        CM_ERROR_GOTO(err, done, CM_ERR_FORMAT, "%s: class folder holds no .jpg, .jpeg or .png images", class_dir);
    for (int f = 0; f < files.n; f++) {
        if (ds->n_items == *cap) {
            int grown_cap = *cap ? 2 * *cap : 256;
            cm_dataset_item *grown = realloc(ds->items, sizeof *grown * grown_cap);
            if (!grown) CM_ERROR_GOTO(err, done, CM_ERR_MEM, "%s: out of memory for %d items", ds->root, grown_cap);
            ds->items = grown;
            *cap = grown_cap;
        }
        cm_dataset_item *item = &ds->items[ds->n_items];
        if (!(item->path = cm_path_join(class_dir, files.names[f]))) CM_ERROR_GOTO(err, done, CM_ERR_MEM, "out of memory");
        item->rel = item->path + strlen(ds->root) + 1;
        item->domain = domain;
        item->label = label;
        ds->n_items++;
    }
done:
    name_list_free(&files);
    free(class_dir);
    free(domain_dir);
    return err;
}

cm_err cm_dataset_open_folder(const char *root, cm_dataset *ds)
{
    *ds = (cm_dataset){0};
    cm_err err = CM_OK;
    name_list domains = {0}, classes = {0};
    char *dir = NULL;
    size_t len = strlen(root);
    while (len > 1 && root[len - 1] == '/') len--; /* "root/" and "root" give the same paths */
    CM_CALLOC(ds->root, len + 1);
    memcpy(ds->root, root, len);

    CM_CHECK_GOTO(err, list_entries(ds->root, LIST_FOLDERS, &domains), fail);
    if (domains.n == 0)
        CM_ERROR_GOTO(err, fail, CM_ERR_FORMAT, "%s: no domain folders (expected <root>/<domain>/<class>/<image>)",
                      ds->root);
    ds->domains = domains.names;
    ds->n_domains = domains.n;
    domains = (name_list){0};
    for (int d = 0; d < ds->n_domains; d++) {
        if (!(dir = cm_path_join(ds->root, ds->domains[d]))) CM_ERROR_GOTO(err, fail, CM_ERR_MEM, "out of memory");
        CM_CHECK_GOTO(err, list_entries(dir, LIST_FOLDERS, &classes), fail);
        if (classes.n == 0) CM_ERROR_GOTO(err, fail, CM_ERR_FORMAT, "%s: domain folder holds no class folders", dir);
        free(dir);
        dir = NULL;
        if (d == 0) {
            ds->classes = classes.names;
            ds->n_classes = classes.n;
            classes = (name_list){0};
        } else {
            CM_CHECK_GOTO(err, check_same_classes(ds, &classes, d), fail);
            name_list_free(&classes);
        }
    }

    ds->domain_start = calloc((size_t)ds->n_domains + 1, sizeof *ds->domain_start);
    if (!ds->domain_start) CM_ERROR_GOTO(err, fail, CM_ERR_MEM, "%s: out of memory", ds->root);
    int cap = 0;
    for (int d = 0; d < ds->n_domains; d++) {
        ds->domain_start[d] = ds->n_items;
        for (int c = 0; c < ds->n_classes; c++) CM_CHECK_GOTO(err, add_class_images(ds, d, c, &cap), fail);
    }
    ds->domain_start[ds->n_domains] = ds->n_items;
    return CM_OK;
fail:
    free(dir);
    name_list_free(&domains);
    name_list_free(&classes);
    cm_dataset_free(ds);
    return err;
}

void cm_dataset_free(cm_dataset *ds)
{
    for (int i = 0; i < ds->n_items; i++) free(ds->items[i].path);
    for (int d = 0; d < ds->n_domains; d++) free(ds->domains[d]);
    for (int c = 0; c < ds->n_classes; c++) free(ds->classes[c]);
    free(ds->items);
    free(ds->domains);
    free(ds->classes);
    free(ds->domain_start);
    free(ds->root);
    *ds = (cm_dataset){0};
}

cm_err cm_class_prompt_name(const char *class_name, char *out, size_t cap)
{
    size_t n = strlen(class_name);
    CM_ASSERT(n < cap, CM_ERR_ARG, "class name '%s' longer than the %zu bytes given for it", class_name, cap);
    for (size_t i = 0; i <= n; i++) out[i] = class_name[i] == '_' ? ' ' : class_name[i];
    return CM_OK;
}
