/* Tasks read from a packed file (pack.h): the tables with collective HDF5 reads, the image rows
 * later by pread from the raw offsets (thread-safe) or from a preloaded copy. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "clipmtl/pack.h"
#include "tasks_internal.h"

typedef struct {
    int ntasks, nclasses, nitems;
    char **task_names, **class_names, **item_names;
    int32_t *first, *official, *label, *item_official, *stored, *row, *bad;
    uint64_t rows[2], side[2];
} pack_tables;

static void free_strings(char **s, int n)
{
    for (int i = 0; s && i < n; i++) free(s[i]);
    free(s);
}

static void pack_tables_free(pack_tables *p)
{
    free_strings(p->task_names, p->ntasks);
    free_strings(p->class_names, p->nclasses);
    free_strings(p->item_names, p->nitems);
    free(p->first), free(p->official), free(p->label), free(p->item_official);
    free(p->stored), free(p->row), free(p->bad);
}

static cm_err read_ints(cm_h5_file *f, const char *name, int n, int32_t **v)
{
    *v = malloc(sizeof **v * (size_t)(n ? n : 1));
    CM_ASSERT(*v, CM_ERR_MEM, "%s: out of memory for %s", f->path, name);
    CM_CHECK(cm_h5_read_all(f, name, CM_H5_INT32, *v, (size_t)n));
    return CM_OK;
}

static cm_err read_attr_double(cm_h5_file *f, const char *name, double *v)
{
    char *text, *end;
    CM_CHECK(cm_h5_read_attr_string(f, "/", name, &text));
    *v = strtod(text, &end);
    int ok = end != text && *end == '\0';
    free(text);
    CM_ASSERT(ok, CM_ERR_FORMAT, "%s: attribute %s is not a number", f->path, name);
    return CM_OK;
}

/* The header: format, the dataset it packs, the sizes and the split it was made with. */
static cm_err read_header(cm_tasks *t, const cm_config_data *data, cm_h5_file *f)
{
    struct cm_tasks_impl *im = t->impl;
    char *text = NULL;
    int64_t v;
    CM_CHECK(cm_h5_read_attr_string(f, "/", "format", &text));
    int ok = strcmp(text, CM_PACK_FORMAT) == 0;
    free(text);
    CM_ASSERT(ok, CM_ERR_FORMAT, "%s: not a clipmtl pack (format attribute)", f->path);
    CM_CHECK(cm_h5_read_attr_int64(f, "/", "version", &v));
    CM_ASSERT(v == CM_PACK_VERSION, CM_ERR_FORMAT, "%s: pack version %lld, this build reads %d", f->path, (long long)v,
              CM_PACK_VERSION);
    CM_CHECK(cm_h5_read_attr_string(f, "/", "kind", &text));
    ok = strcmp(text, cm_config_data_kind_name(data->kind)) == 0;
    char kind[64];
    snprintf(kind, sizeof kind, "%s", text);
    free(text);
    CM_ASSERT(ok, CM_ERR_CONFIG, "data.packed: %s packs a %s dataset but data.kind is %s", f->path, kind,
              cm_config_data_kind_name(data->kind));
    CM_CHECK(cm_h5_read_attr_int64(f, "/", "image_size", &v));
    CM_ASSERT(v == data->image_size, CM_ERR_CONFIG, "data.packed: %s holds %lldx%lld images but data.image_size is %d",
              f->path, (long long)v, (long long)v, data->image_size);
    CM_CHECK(cm_h5_read_attr_int64(f, "/", "train_size", &v));
    CM_ASSERT(v >= 8 && v <= 4096, CM_ERR_FORMAT, "%s: train_size %lld", f->path, (long long)v);
    im->train_size = (int)v;
    CM_CHECK(cm_h5_read_attr_int64(f, "/", "split_seed", &im->pack_split_seed));
    CM_CHECK(cm_h5_read_attr_int64(f, "/", "k_shot", &im->pack_k_shot));
    CM_CHECK(cm_h5_read_attr_int64(f, "/", "train_pool", &im->pack_train_pool));
    CM_CHECK(read_attr_double(f, "test_fraction", &im->pack_test_fraction));
    CM_CHECK(read_attr_double(f, "train_fraction", &im->pack_train_fraction));
    return CM_OK;
}

static cm_err read_tables(cm_h5_file *f, pack_tables *p)
{
    int n;
    CM_CHECK(cm_h5_read_strings(f, "tasks/name", &p->ntasks, &p->task_names));
    CM_CHECK(cm_h5_read_strings(f, "classes/name", &p->nclasses, &p->class_names));
    CM_CHECK(cm_h5_read_strings(f, "items/name", &p->nitems, &p->item_names));
    CM_ASSERT(p->ntasks > 0 && p->nclasses > 0, CM_ERR_FORMAT, "%s: %d tasks, %d classes", f->path, p->ntasks, p->nclasses);
    n = p->nitems;
    CM_CHECK(read_ints(f, "tasks/first", p->ntasks + 1, &p->first));
    CM_CHECK(read_ints(f, "tasks/official", p->ntasks, &p->official));
    CM_CHECK(read_ints(f, "items/label", n, &p->label));
    CM_CHECK(read_ints(f, "items/official", n, &p->item_official));
    CM_CHECK(read_ints(f, "items/stored", n, &p->stored));
    CM_CHECK(read_ints(f, "items/row", n, &p->row));
    CM_CHECK(read_ints(f, "items/bad", n, &p->bad));
    static const char *const table[2] = {"images/train", "images/test"};
    for (int k = 0; k < 2; k++) {
        cm_h5_type type;
        int ndims;
        uint64_t dims[CM_H5_MAX_DIMS];
        CM_CHECK(cm_h5_shape(f, table[k], &type, &ndims, dims));
        CM_ASSERT(type == CM_H5_UINT8 && ndims == 4 && dims[1] == dims[2] && dims[3] == 3, CM_ERR_FORMAT,
                  "%s: %s is not a uint8 table [rows, side, side, 3]", f->path, table[k]);
        p->rows[k] = dims[0];
        p->side[k] = dims[1];
    }
    /* Bounds of every index before any is used. */
    CM_ASSERT(p->first[0] == 0 && p->first[p->ntasks] == n, CM_ERR_FORMAT, "%s: tasks/first does not cover the %d items",
              f->path, n);
    for (int k = 0; k < p->ntasks; k++)
        CM_ASSERT(p->first[k] <= p->first[k + 1], CM_ERR_FORMAT, "%s: tasks/first decreases at task %d", f->path, k);
    for (int i = 0; i < n; i++) {
        CM_ASSERT(p->label[i] >= 0 && p->label[i] < p->nclasses, CM_ERR_FORMAT, "%s: item %d has label %d", f->path, i,
                  p->label[i]);
        CM_ASSERT(p->item_official[i] >= CM_SPLIT_UNUSED && p->item_official[i] <= CM_SPLIT_TEST, CM_ERR_FORMAT,
                  "%s: item %d has official split %d", f->path, i, p->item_official[i]);
        CM_ASSERT(p->stored[i] >= 0 && p->stored[i] <= 2, CM_ERR_FORMAT, "%s: item %d stored as %d", f->path, i, p->stored[i]);
        CM_ASSERT(p->stored[i] == 0 || (p->row[i] >= 0 && (uint64_t)p->row[i] < p->rows[p->stored[i] - 1]),
                  CM_ERR_FORMAT, "%s: item %d: row %d outside its table", f->path, i, p->row[i]);
    }
    return CM_OK;
}

static cm_err take_tasks(cm_tasks *t, const cm_config_data *data, const pack_tables *p)
{
    struct cm_tasks_impl *im = t->impl;
    int n, *chosen;
    CM_CHECK(cm_tasks_choose_domains(data, im->source, p->ntasks, (const char *const *)p->task_names, &n, &chosen));
    const char **names = calloc((size_t)n, sizeof *names);
    cm_err err = names ? CM_OK : CM_RAISE(CM_ERR_MEM, "out of memory");
    for (int k = 0; err == CM_OK && k < n; k++) names[k] = p->task_names[chosen[k]];
    if (err == CM_OK) err = cm_tasks_alloc(t, n, names);
    if (err == CM_OK) err = cm_tasks_set_classes(t, p->nclasses, (const char *const *)p->class_names);
    for (int k = 0; err == CM_OK && k < n; k++) {
        int pt = chosen[k];
        cm_task_data *td = &im->task[k];
        td->has_official = p->official[pt] != 0;
        for (int i = p->first[pt]; err == CM_OK && i < p->first[pt + 1]; i++) {
            cm_task_item item = {.name = strdup(p->item_names[i]), .label = p->label[i], .ref = p->row[i],
                                 .official = (uint8_t)p->item_official[i], .stored = (uint8_t)p->stored[i]};
            err = item.name ? cm_task_add_item(td, &item)
                            : CM_RAISE(CM_ERR_MEM, "out of memory");
            if (err != CM_OK) free(item.name);
            else if (p->bad[i]) cm_tasks_mark_bad(t, k, td->n_items - 1, "unreadable when the pack was made");
        }
    }
    if (err == CM_OK && im->skipped > 0 && data->bad_data == CM_BAD_DATA_STOP)
        err = CM_RAISE(CM_ERR_CONFIG,
                       "data.packed: %s holds %ld unreadable image(s) (packed with bad_data = skip) but "
                       "data.bad_data is stop",
                       im->source, im->skipped);
    free(names);
    free(chosen);
    return err;
}

/* The image tables have the sides the header announces and lie inside the file: pread relies on it. */
static cm_err check_storage(const cm_tasks *t, const pack_tables *p, const char *path)
{
    const struct cm_tasks_impl *im = t->impl;
    struct stat st;
    CM_ASSERT(stat(path, &st) == 0, CM_ERR_IO, "%s: cannot stat: %s", path, strerror(errno));
    static const char *const table[2] = {"images/train", "images/test"};
    for (int k = 0; k < 2; k++) {
        uint64_t side = k == 0 ? (uint64_t)im->train_size : (uint64_t)t->image_size;
        CM_ASSERT(p->side[k] == side, CM_ERR_FORMAT, "%s: %s holds %llux%llu images, the header says %llu", path, table[k],
                  (unsigned long long)p->side[k], (unsigned long long)p->side[k], (unsigned long long)side);
        if (p->rows[k] == 0) continue;
        uint64_t bytes = p->rows[k] * side * side * 3;
        CM_ASSERT(im->offset[k] != UINT64_MAX && im->offset[k] + bytes <= (uint64_t)st.st_size, CM_ERR_FORMAT,
                  "%s: %s (%llu bytes) does not lie inside the file", path, table[k], (unsigned long long)bytes);
    }
    return CM_OK;
}

cm_err cm_tasks_read_packed(cm_tasks *t, const cm_config_data *data, MPI_Comm comm)
{
    struct cm_tasks_impl *im = t->impl;
    im->packed = 1;
    im->source = strdup(data->packed);
    CM_ASSERT(im->source, CM_ERR_MEM, "out of memory");
    cm_h5_file f = {0};
    pack_tables p = {0};
    /* Every call below is collective and fails alike on every rank (same file). */
    cm_err err = cm_h5_open(&f, comm, im->source, 0);
    if (err == CM_OK) err = read_header(t, data, &f);
    if (err == CM_OK) err = read_tables(&f, &p);
    if (err == CM_OK) err = cm_h5_raw_offset(&f, "images/train", &im->offset[0]);
    if (err == CM_OK) err = cm_h5_raw_offset(&f, "images/test", &im->offset[1]);
    if (err == CM_OK) err = check_storage(t, &p, f.path);
    cm_err closed = f.path ? cm_h5_close(&f) : CM_OK;
    if (err == CM_OK) err = closed;
    if (err == CM_OK) err = take_tasks(t, data, &p);
    if (err == CM_OK) {
        im->fd = open(im->source, O_RDONLY);
        if (im->fd < 0)
            err = CM_RAISE(CM_ERR_IO, "%s: cannot open: %s", im->source, strerror(errno));
    }
    pack_tables_free(&p);
    CM_CHECK(err);
    return CM_OK;
}

cm_err cm_tasks_check_packed(const cm_tasks *t, const cm_config_data *data)
{
    const struct cm_tasks_impl *im = t->impl;
    for (int k = 0; k < t->ntasks; k++) {
        const cm_task_data *td = &im->task[k];
        for (int i = 0; i < td->n_items; i++) {
            const cm_task_item *it = &td->items[i];
            int want = it->split == CM_SPLIT_TEST ? 2 : it->split == CM_SPLIT_TRAIN ? 1 : -1;
            if (want < 0 || it->stored == want) continue;
            if (want == 2 || im->pack_train_pool)
                CM_ERROR(CM_ERR_CONFIG,
                         "data.packed: %s was packed with data.split_seed = %lld and data.test_fraction = %g, which "
                         "give another test split than this run's %lld and %g (task '%s', image %s): use the pack's "
                         "values or pack again",
                         im->source, (long long)im->pack_split_seed, im->pack_test_fraction, (long long)data->split_seed,
                         data->test_fraction, t->task_names[k], it->name);
            CM_ERROR(CM_ERR_CONFIG,
                     "data.packed: %s holds only the training images of train_fraction = %g, k_shot = %lld, "
                     "split_seed = %lld; this run also trains on %s (task '%s'): pack with --train-pool to reuse "
                     "a pack across fractions",
                     im->source, im->pack_train_fraction, (long long)im->pack_k_shot, (long long)im->pack_split_seed,
                     it->name, t->task_names[k]);
        }
    }
    return CM_OK;
}
