/* Writing a packed dataset (pack.h): every rank decodes a contiguous block of the rows of each
 * image table, and the blocks are written in rounds of collective hyperslab writes. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clipmtl/h5io.h"
#include "clipmtl/log.h"
#include "clipmtl/pack.h"
#include "tasks_internal.h"

enum { TABLE_TRAIN = 0, TABLE_TEST = 1 };
static const char *const table_name[2] = {"images/train", "images/test"};

typedef struct {
    int rows[2];           /* rows of each table */
    int *row_task[2], *row_item[2];
    int side[2];
} pack_rows;

static void pack_rows_free(pack_rows *r)
{
    for (int k = 0; k < 2; k++) free(r->row_task[k]), free(r->row_item[k]);
}

/* Which items are stored, at which size, in which row. */
static cm_err assign_rows(cm_tasks *t, int train_pool, pack_rows *r)
{
    for (int pass = 0; pass < 2; pass++) {
        r->rows[0] = r->rows[1] = 0;
        for (int k = 0; k < t->ntasks; k++) {
            cm_task_data *td = &t->impl->task[k];
            for (int i = 0; i < td->n_items; i++) {
                cm_task_item *it = &td->items[i];
                int in_pool = it->split != CM_SPLIT_TEST && (!td->has_official || it->official == CM_SPLIT_TRAIN);
                int table = it->split == CM_SPLIT_TEST ? TABLE_TEST
                            : (train_pool ? in_pool : it->split == CM_SPLIT_TRAIN) ? TABLE_TRAIN : -1;
                it->stored = (uint8_t)(table + 1);
                it->ref = -1;
                if (table < 0) continue;
                it->ref = r->rows[table];
                if (pass == 1) r->row_task[table][it->ref] = k, r->row_item[table][it->ref] = i;
                r->rows[table]++;
            }
        }
        if (pass == 0)
            for (int k = 0; k < 2; k++) {
                r->row_task[k] = malloc(sizeof(int) * (size_t)(r->rows[k] ? r->rows[k] : 1));
                r->row_item[k] = malloc(sizeof(int) * (size_t)(r->rows[k] ? r->rows[k] : 1));
                CM_ASSERT(r->row_task[k] && r->row_item[k], CM_ERR_MEM, "out of memory for %d rows", r->rows[k]);
            }
    }
    return CM_OK;
}

/* The stored form of one image: shorter side resized to `side` (PIL bicubic), center crop. */
static cm_err square_crop(const cm_image *img, int side, uint8_t *row)
{
    int rw, rh;
    cm_image_resize_shorter_dims(img->w, img->h, side, &rw, &rh);
    cm_image crop;
    CM_CHECK(cm_image_resample_bicubic(img, (cm_image_box){0, 0, img->w, img->h}, rw, rh,
                                       cm_image_center_crop_box(rw, rh, side), &crop));
    memcpy(row, crop.rgb, (size_t)side * side * 3);
    cm_image_free(&crop);
    return CM_OK;
}

/* Decodes rows [first, first + count) of a table into buf; an unreadable image under skip is
 * marked bad and its row left black. */
static cm_err fill_rows(cm_tasks *t, const pack_rows *r, int table, int first, int count, uint8_t *buf)
{
    size_t bytes = (size_t)r->side[table] * r->side[table] * 3;
    memset(buf, 0, bytes * (size_t)count);
    for (int j = 0; j < count; j++) {
        int task = r->row_task[table][first + j], item = r->row_item[table][first + j];
        if (t->impl->task[task].bad[item]) continue; /* missing file, found when the lists were read */
        cm_image img;
        cm_err err = cm_tasks_decode(t, task, item, &img);
        if (err != CM_OK) {
            if (err == CM_ERR_MEM || t->impl->bad_data == CM_BAD_DATA_STOP) return cm_error_trace(__FILE__, __LINE__, __func__, err);
            cm_tasks_mark_bad(t, task, item, cm_error_message());
            cm_error_clear();
            continue;
        }
        err = square_crop(&img, r->side[table], buf + bytes * j);
        cm_image_free(&img);
        CM_CHECK(err);
    }
    return CM_OK;
}

static cm_err write_images(cm_tasks *t, const pack_rows *r, cm_h5_file *f, long batch_bytes, cm_pack_stats *st)
{
    for (int table = 0; table < 2; table++) {
        int side = r->side[table], rows = r->rows[table];
        size_t bytes = (size_t)side * side * 3;
        int lo = (int)((long)rows * f->rank / f->nranks), hi = (int)((long)rows * (f->rank + 1) / f->nranks);
        int per_round = (int)(batch_bytes / (long)bytes) > 0 ? (int)(batch_bytes / (long)bytes) : 1;
        int largest = (rows + f->nranks - 1) / f->nranks;
        int rounds = (largest + per_round - 1) / per_round;
        uint8_t *buf = malloc(bytes * (size_t)(per_round < hi - lo ? per_round : (hi - lo > 0 ? hi - lo : 1)));
        cm_err err = buf ? CM_OK : CM_RAISE(CM_ERR_MEM, "out of memory for a round of rows");
        uint64_t dims[4] = {(uint64_t)rows, (uint64_t)side, (uint64_t)side, 3};
        for (int round = 0; round < rounds || (round == 0 && rows == 0); round++) {
            int first = lo + round * per_round, count = hi - first < per_round ? hi - first : per_round;
            if (count < 0) count = 0;
            double t0 = cm_now();
            if (err == CM_OK && count > 0) err = fill_rows(t, r, table, first, count, buf);
            st->decode_seconds += cm_now() - t0;
            /* every rank writes in every round (collective), possibly nothing */
            err = cm_tasks_agree(f->comm, err, table_name[table]);
            uint64_t start[4] = {(uint64_t)(count > 0 ? first : 0), 0, 0, 0};
            uint64_t cnt[4] = {(uint64_t)count, (uint64_t)side, (uint64_t)side, 3};
            if (err == CM_OK) err = cm_h5_write(f, table_name[table], CM_H5_UINT8, 4, dims, start, cnt, buf);
            if (err != CM_OK) break;
        }
        free(buf);
        CM_CHECK(err);
        st->bytes += (double)bytes * rows;
    }
    return CM_OK;
}

static cm_err write_int_table(cm_h5_file *f, const char *name, const cm_tasks *t, int n, int (*get)(const cm_task_item *, const cm_task_data *, int))
{
    int32_t *v = malloc(sizeof *v * (size_t)(n ? n : 1));
    CM_ASSERT(v, CM_ERR_MEM, "out of memory for %s", name);
    int at = 0;
    for (int k = 0; k < t->ntasks; k++) {
        const cm_task_data *td = &t->impl->task[k];
        for (int i = 0; i < td->n_items; i++) v[at++] = get(&td->items[i], td, i);
    }
    uint64_t dims[1] = {(uint64_t)n};
    cm_err err = cm_h5_write_owner(f, name, CM_H5_INT32, 1, dims, 0, v);
    free(v);
    CM_CHECK(err);
    return CM_OK;
}

static int get_label(const cm_task_item *it, const cm_task_data *td, int i) { return it->label; }
static int get_official(const cm_task_item *it, const cm_task_data *td, int i) { return it->official; }
static int get_stored(const cm_task_item *it, const cm_task_data *td, int i) { return it->stored; }
static int get_row(const cm_task_item *it, const cm_task_data *td, int i) { return it->ref; }
static int get_bad(const cm_task_item *it, const cm_task_data *td, int i) { return td->bad[i]; }

static cm_err write_tables(cm_tasks *t, cm_h5_file *f, MPI_Comm comm)
{
    int n = 0;
    for (int k = 0; k < t->ntasks; k++) n += t->impl->task[k].n_items;
    /* The bad flags were found by the rank that decoded each row: share them. */
    for (int k = 0; k < t->ntasks; k++) {
        cm_task_data *td = &t->impl->task[k];
        if (f->nranks > 1 && td->n_items > 0 &&
            MPI_Allreduce(MPI_IN_PLACE, td->bad, td->n_items, MPI_UINT8_T, MPI_MAX, comm) != MPI_SUCCESS)
            CM_ERROR(CM_ERR_MPI, "%s: sharing the unreadable-image flags failed", f->path);
    }
    const char **names = malloc(sizeof *names * (size_t)(n ? n : 1));
    int32_t *first = malloc(sizeof *first * (size_t)(t->ntasks + 1)), *official = malloc(sizeof *official * (size_t)t->ntasks);
    cm_err err = names && first && official ? CM_OK : CM_RAISE(CM_ERR_MEM, "out of memory");
    int at = 0;
    for (int k = 0; err == CM_OK && k < t->ntasks; k++) {
        first[k] = at;
        official[k] = t->impl->task[k].has_official;
        for (int i = 0; i < t->impl->task[k].n_items; i++) names[at++] = t->impl->task[k].items[i].name;
    }
    if (err == CM_OK) first[t->ntasks] = at;
    uint64_t tdims[1] = {(uint64_t)t->ntasks + 1}, odims[1] = {(uint64_t)t->ntasks};
    if (err == CM_OK) err = cm_h5_write_strings(f, "tasks/name", t->ntasks, (const char *const *)t->task_names, 0);
    if (err == CM_OK) err = cm_h5_write_owner(f, "tasks/first", CM_H5_INT32, 1, tdims, 0, first);
    if (err == CM_OK) err = cm_h5_write_owner(f, "tasks/official", CM_H5_INT32, 1, odims, 0, official);
    if (err == CM_OK)
        err = cm_h5_write_strings(f, "classes/name", t->nclasses, (const char *const *)t->impl->class_dataset_names, 0);
    if (err == CM_OK) err = cm_h5_write_strings(f, "items/name", n, names, 0);
    if (err == CM_OK) err = write_int_table(f, "items/label", t, n, get_label);
    if (err == CM_OK) err = write_int_table(f, "items/official", t, n, get_official);
    if (err == CM_OK) err = write_int_table(f, "items/stored", t, n, get_stored);
    if (err == CM_OK) err = write_int_table(f, "items/row", t, n, get_row);
    if (err == CM_OK) err = write_int_table(f, "items/bad", t, n, get_bad);
    free(names);
    free(first);
    free(official);
    CM_CHECK(err);
    return CM_OK;
}

static cm_err write_attributes(const cm_tasks *t, const cm_config_data *data, const pack_rows *r, int train_pool,
                               long skipped, cm_h5_file *f)
{
    char number[64];
    CM_CHECK(cm_h5_write_attr_string(f, "/", "format", CM_PACK_FORMAT));
    CM_CHECK(cm_h5_write_attr_int64(f, "/", "version", CM_PACK_VERSION));
    CM_CHECK(cm_h5_write_attr_string(f, "/", "kind", cm_config_data_kind_name(data->kind)));
    CM_CHECK(cm_h5_write_attr_string(f, "/", "source", t->impl->source));
    CM_CHECK(cm_h5_write_attr_int64(f, "/", "image_size", t->image_size));
    CM_CHECK(cm_h5_write_attr_int64(f, "/", "train_size", r->side[TABLE_TRAIN]));
    CM_CHECK(cm_h5_write_attr_int64(f, "/", "split_seed", data->split_seed));
    snprintf(number, sizeof number, "%.17g", data->test_fraction);
    CM_CHECK(cm_h5_write_attr_string(f, "/", "test_fraction", number));
    snprintf(number, sizeof number, "%.17g", data->train_fraction);
    CM_CHECK(cm_h5_write_attr_string(f, "/", "train_fraction", number));
    CM_CHECK(cm_h5_write_attr_int64(f, "/", "k_shot", data->k_shot));
    CM_CHECK(cm_h5_write_attr_int64(f, "/", "train_pool", train_pool));
    CM_CHECK(cm_h5_write_attr_int64(f, "/", "skipped", skipped));
    return CM_OK;
}

cm_err cm_pack_write(const cm_config_data *data, const cm_pack_options *options, const char *path, MPI_Comm comm,
                     cm_pack_stats *stats)
{
    double t0 = cm_now();
    cm_pack_stats st = {0};
    cm_config_data decoded = *data;
    decoded.packed = (char *)""; /* read the images, not a pack */
    cm_tasks t;
    CM_CHECK(cm_tasks_open(&t, &decoded, 0, comm));
    pack_rows r = {.side = {options->train_size > 0 ? options->train_size : t.image_size * 8 / 7, t.image_size}};
    long batch_bytes = options->batch_bytes > 0 ? options->batch_bytes : 64L << 20;
    cm_h5_file f = {0};
    cm_err err = r.side[TABLE_TRAIN] >= 8 && r.side[TABLE_TRAIN] <= 4096
                     ? assign_rows(&t, options->train_pool, &r)
                     : CM_RAISE(CM_ERR_ARG, "pack: train size %d outside 8..4096", r.side[TABLE_TRAIN]);
    err = cm_tasks_agree(comm, err, path);
    if (err == CM_OK) err = cm_h5_create(&f, comm, path);
    if (err == CM_OK) err = write_images(&t, &r, &f, batch_bytes, &st);
    if (err == CM_OK) err = write_tables(&t, &f, comm);
    long skipped = 0;
    if (err == CM_OK) {
        for (int k = 0; k < t.ntasks; k++)
            for (int i = 0; i < t.impl->task[k].n_items; i++) skipped += t.impl->task[k].bad[i];
        err = write_attributes(&t, data, &r, options->train_pool, skipped, &f);
    }
    cm_err closed = f.path ? cm_h5_close(&f) : CM_OK;
    if (err == CM_OK) err = closed;
    if (err == CM_OK) {
        double decode = st.decode_seconds;
        if (MPI_Allreduce(&decode, &st.decode_seconds, 1, MPI_DOUBLE, MPI_MAX, comm) != MPI_SUCCESS)
            err = CM_RAISE(CM_ERR_MPI, "MPI_Allreduce of the decode time failed");
        st.train_images = r.rows[TABLE_TRAIN];
        st.test_images = r.rows[TABLE_TEST];
        st.images = st.train_images + st.test_images;
        st.skipped = skipped;
        st.seconds = cm_now() - t0;
        if (stats) *stats = st;
    }
    pack_rows_free(&r);
    cm_tasks_close(&t);
    CM_CHECK(err);
    return CM_OK;
}
