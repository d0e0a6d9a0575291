/* DomainNet and MiniDomainNet as tasks (spec 5.2): the domains are the split lists
 * <base>/splits[_mini]/<domain>_{train,test}.txt, lines "domain/class/file.jpg label", with
 * <base> the root or root/domainnet (Dassl's layout). Classes are ordered by the lists' labels and
 * named by path component 1. */
#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "clipmtl/log.h"
#include "tasks_internal.h"

#define LIST_TRAIN "_train.txt"
#define LIST_TEST "_test.txt"

static int compare_strings(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* Domains that have both lists, sorted. */
static cm_err list_domains(const char *dir, int *n, char ***names)
{
    *n = 0;
    *names = NULL;
    DIR *d = opendir(dir);
    CM_ASSERT(d, CM_ERR_IO, "%s: cannot open the split-list folder: %s", dir, strerror(errno));
    cm_err err = CM_OK;
    int cap = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        size_t len = strlen(e->d_name), suffix = strlen(LIST_TRAIN);
        if (e->d_name[0] == '.' || len <= suffix || strcmp(e->d_name + len - suffix, LIST_TRAIN) != 0) continue;
        char test[4096];
        snprintf(test, sizeof test, "%s/%.*s%s", dir, (int)(len - suffix), e->d_name, LIST_TEST);
        if (!cm_is_file(test)) {
            cm_log_warn("%s/%s has no matching %s: domain ignored", dir, e->d_name, test);
            continue;
        }
        if (*n == cap) {
            cap = cap ? 2 * cap : 8;
            char **grown = realloc(*names, sizeof *grown * (size_t)cap);
            if (!grown) CM_ERROR_GOTO(err, done, CM_ERR_MEM, "out of memory listing %s", dir);
            *names = grown;
        }
        if (!((*names)[*n] = strndup(e->d_name, len - suffix))) CM_ERROR_GOTO(err, done, CM_ERR_MEM, "out of memory");
        (*n)++;
    }
    if (*n == 0) CM_ERROR_GOTO(err, done, CM_ERR_FORMAT, "%s: no <domain>%s / <domain>%s split lists", dir, LIST_TRAIN, LIST_TEST);
    qsort(*names, (size_t)*n, sizeof **names, compare_strings);
done:
    closedir(d);
    if (err != CM_OK) {
        for (int i = 0; i < *n; i++) free((*names)[i]);
        free(*names);
        *names = NULL;
        *n = 0;
    }
    return err;
}

typedef struct {
    cm_tasks *t;
    int task;
    const char *base;
    uint8_t split;
    /* label -> class name (from the first line that used it) */
    char **class_of;
    long nlabels;
} lists_ctx;

static cm_err list_line(void *ctx, const char *list, int line, const char *path, long label)
{
    lists_ctx *c = ctx;
    const char *s1 = strchr(path, '/'), *s2 = s1 ? strchr(s1 + 1, '/') : NULL;
    CM_ASSERT(s2, CM_ERR_FORMAT, "%s:%d: '%s' is not domain/class/file", list, line, path);
    size_t class_len = (size_t)(s2 - s1 - 1);
    if (label >= c->nlabels) {
        long n = c->nlabels ? c->nlabels : 64;
        while (n <= label) n *= 2;
        char **grown = realloc(c->class_of, sizeof *grown * (size_t)n);
        CM_ASSERT(grown, CM_ERR_MEM, "out of memory for %ld labels", n);
        memset(grown + c->nlabels, 0, sizeof *grown * (size_t)(n - c->nlabels));
        c->class_of = grown;
        c->nlabels = n;
    }
    char **name = &c->class_of[label];
    if (!*name) {
        *name = strndup(s1 + 1, class_len);
        CM_ASSERT(*name, CM_ERR_MEM, "out of memory");
    }
    CM_ASSERT(strlen(*name) == class_len && strncmp(*name, s1 + 1, class_len) == 0, CM_ERR_FORMAT,
              "%s:%d: label %ld is class '%.*s' here but class '%s' on earlier lines", list, line, label, (int)class_len,
              s1 + 1, *name);
    cm_task_item item = {.path = cm_path_join(c->base, path), .name = strdup(path), .label = (int32_t)label,
                         .ref = -1, .line = line, .official = c->split};
    if (!item.path || !item.name || cm_task_add_item(&c->t->impl->task[c->task], &item) != CM_OK) {
        free(item.path);
        free(item.name);
        CM_ERROR(CM_ERR_MEM, "out of memory for the items of %s", list);
    }
    return CM_OK;
}

/* The lists' labels, possibly sparse, become 0..C-1 in label order; every domain must have
 * every class. */
static cm_err set_classes(cm_tasks *t, lists_ctx *c)
{
    long *dense = malloc(sizeof *dense * (size_t)(c->nlabels ? c->nlabels : 1));
    const char **names = malloc(sizeof *names * (size_t)(c->nlabels ? c->nlabels : 1));
    int *count = NULL;
    cm_err err = CM_OK;
    if (!dense || !names) CM_ERROR_GOTO(err, done, CM_ERR_MEM, "out of memory for %ld labels", c->nlabels);
    int nclasses = 0;
    for (long l = 0; l < c->nlabels; l++) {
        dense[l] = c->class_of[l] ? nclasses : -1;
        if (c->class_of[l]) names[nclasses++] = c->class_of[l];
    }
    CM_CHECK_GOTO(err, cm_tasks_set_classes(t, nclasses, names), done);
    count = calloc((size_t)nclasses, sizeof *count);
    if (!count) CM_ERROR_GOTO(err, done, CM_ERR_MEM, "out of memory");
    for (int k = 0; k < t->ntasks; k++) {
        cm_task_data *td = &t->impl->task[k];
        memset(count, 0, sizeof *count * (size_t)nclasses);
        for (int i = 0; i < td->n_items; i++) count[td->items[i].label = (int32_t)dense[td->items[i].label]]++;
        for (int cl = 0; cl < nclasses; cl++)
            if (count[cl] == 0)
                CM_ERROR_GOTO(err, done, CM_ERR_FORMAT, "%s: domain '%s' has no image of class '%s' in its split lists",
                              t->impl->source, t->task_names[k], names[cl]);
    }
done:
    free(dense);
    free(names);
    free(count);
    return err;
}

/* Every rank looks at every P-th file; the ranks share what they found. */
static cm_err check_files_exist(cm_tasks *t, const char *splits_dir, MPI_Comm comm)
{
    int rank = 0, size = 1;
    MPI_Comm_rank(comm, &rank);
    MPI_Comm_size(comm, &size);
    long total = 0;
    for (int k = 0; k < t->ntasks; k++) total += t->impl->task[k].n_items;
    uint8_t *missing = calloc((size_t)(total ? total : 1), 1);
    CM_ASSERT(missing, CM_ERR_MEM, "out of memory for %ld file checks", total);
    long g = 0;
    for (int k = 0; k < t->ntasks; k++)
        for (int i = 0; i < t->impl->task[k].n_items; i++, g++)
            if (g % size == rank) missing[g] = !cm_is_file(t->impl->task[k].items[i].path);
    cm_err err = CM_OK;
    for (long off = 0; size > 1 && off < total; off += 1 << 30) {
        int chunk = (int)(total - off < (1 << 30) ? total - off : (1 << 30));
        if (MPI_Allreduce(MPI_IN_PLACE, missing + off, chunk, MPI_UINT8_T, MPI_MAX, comm) != MPI_SUCCESS)
            CM_ERROR_GOTO(err, done, CM_ERR_MPI, "sharing the file checks failed");
    }
    g = 0;
    for (int k = 0; k < t->ntasks; k++)
        for (int i = 0; i < t->impl->task[k].n_items; i++, g++) {
            if (!missing[g]) continue;
            const cm_task_item *it = &t->impl->task[k].items[i];
            const char *suffix = it->official == CM_SPLIT_TEST ? LIST_TEST : LIST_TRAIN;
            if (t->impl->bad_data == CM_BAD_DATA_STOP)
                CM_ERROR_GOTO(err, done, CM_ERR_IO, "%s/%s%s:%d: %s: no such file (data.bad_data = skip leaves it out)",
                              splits_dir, t->task_names[k], suffix, it->line, it->path);
            char why[4200];
            snprintf(why, sizeof why, "no such file (%s/%s%s:%d)", splits_dir, t->task_names[k], suffix, it->line);
            cm_tasks_mark_bad(t, k, i, why);
        }
done:
    free(missing);
    return err;
}

cm_err cm_tasks_read_lists(cm_tasks *t, const cm_config_data *data, MPI_Comm comm)
{
    struct cm_tasks_impl *im = t->impl;
    const char *splits = data->kind == CM_DATA_MINIDOMAINNET ? "splits_mini" : "splits";
    CM_ASSERT(data->root && data->root[0], CM_ERR_CONFIG, "data.root: required for kind %s",
              cm_config_data_kind_name(data->kind));
    char probe[4096];
    snprintf(probe, sizeof probe, "%s/domainnet/%s", data->root, splits);
    im->source = cm_is_directory(probe) ? cm_path_join(data->root, "domainnet") : strdup(data->root);
    CM_ASSERT(im->source, CM_ERR_MEM, "out of memory");
    char *dir = cm_path_join(im->source, splits);
    CM_ASSERT(dir, CM_ERR_MEM, "out of memory");
    cm_err err = CM_OK;
    int navailable = 0, n = 0, *chosen = NULL;
    char **available = NULL;
    const char **names = NULL;
    lists_ctx c = {.t = t, .base = im->source};
    if (!cm_is_directory(dir))
        CM_ERROR_GOTO(err, done, CM_ERR_FORMAT, "%s: no such folder (kind %s reads <root>/%s/<domain>%s)", dir,
                      cm_config_data_kind_name(data->kind), splits, LIST_TRAIN);
    CM_CHECK_GOTO(err, list_domains(dir, &navailable, &available), done);
    CM_CHECK_GOTO(err, cm_tasks_choose_domains(data, dir, navailable, (const char *const *)available, &n, &chosen), done);
    if (!(names = calloc((size_t)n, sizeof *names))) CM_ERROR_GOTO(err, done, CM_ERR_MEM, "out of memory");
    for (int k = 0; k < n; k++) names[k] = available[chosen[k]];
    CM_CHECK_GOTO(err, cm_tasks_alloc(t, n, names), done);
    for (int k = 0; k < n; k++) {
        t->impl->task[k].has_official = 1;
        for (int s = 0; s < 2; s++) {
            char list[4096];
            snprintf(list, sizeof list, "%s/%s%s", dir, names[k], s == 0 ? LIST_TRAIN : LIST_TEST);
            c.task = k;
            c.split = s == 0 ? CM_SPLIT_TRAIN : CM_SPLIT_TEST;
            CM_CHECK_GOTO(err, cm_split_list_read(list, list_line, &c), done);
        }
    }
    CM_CHECK_GOTO(err, set_classes(t, &c), done);
done:
    /* The file checks are collective: every rank must get there, or none. */
    err = cm_tasks_agree(comm, err, dir);
    if (err == CM_OK) err = check_files_exist(t, dir, comm);
    for (long l = 0; l < c.nlabels; l++) free(c.class_of[l]);
    free(c.class_of);
    for (int i = 0; i < navailable; i++) free(available[i]);
    free(available);
    free(names);
    free(chosen);
    free(dir);
    CM_CHECK(err);
    return CM_OK;
}
