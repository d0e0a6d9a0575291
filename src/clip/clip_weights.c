/* Reading and writing CLIP checkpoints: naming detection, configuration
 * inference from shapes (openai/CLIP build_model, spec 1.1-1.2), exact
 * matching of the file's tensors against the inferred layout, and the copy
 * between file pieces and the model's buffer. */
#include "clipmtl/clip_weights.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clipmtl/log.h"

/* Upper bounds on inferred dimensions: far above any released CLIP, low
 * enough that a hostile header cannot make the layout overflow or allocate
 * absurd amounts before its tensors are checked. */
#define MAX_WIDTH 65536
#define MAX_LAYERS 1024
#define MAX_PATCH 4096
#define MAX_GRID 4096
#define MAX_VOCAB (1 << 24)
#define MAX_CONTEXT (1 << 20)
#define HEAD_WIDTH 64 /* OpenAI: heads = width / 64 on both towers */

/* Beyond this, a problem report is printed in full as a warning and the
 * error message (bounded by the error trace) is cut. */
#define REPORT_MAX 1500

/* The tensors the configuration is read from, in each naming. */
typedef struct {
    const char *vision_layers, *text_layers; /* block prefixes, followed by "<layer>." */
    const char *conv1, *vision_positions, *token_embedding, *text_positions, *ln_final, *text_projection;
    int embed_axis; /* the axis of text_projection that is the embedding width */
} naming_anchors;

static const naming_anchors anchors[2] = {
    [CM_NAMING_OPENAI] = {"visual.transformer.resblocks.", "transformer.resblocks.", "visual.conv1.weight",
                          "visual.positional_embedding", "token_embedding.weight", "positional_embedding",
                          "ln_final.weight", "text_projection", 1},
    [CM_NAMING_HF] = {"vision_model.encoder.layers.", "text_model.encoder.layers.",
                      "vision_model.embeddings.patch_embedding.weight",
                      "vision_model.embeddings.position_embedding.weight",
                      "text_model.embeddings.token_embedding.weight",
                      "text_model.embeddings.position_embedding.weight", "text_model.final_layer_norm.weight",
                      "text_projection.weight", 0},
};

static int starts_with(const char *s, const char *prefix) { return strncmp(s, prefix, strlen(prefix)) == 0; }

static cm_err detect_naming(const cm_safetensors *st, cm_weight_naming *naming)
{
    int openai = 0, hf = 0;
    for (int i = 0; i < st->count; i++) {
        const char *n = st->tensors[i].name;
        openai += starts_with(n, "visual.") || starts_with(n, "transformer.");
        hf += starts_with(n, "vision_model.") || starts_with(n, "text_model.");
    }
    if (openai == 0 && hf == 0)
        CM_ERROR(CM_ERR_FORMAT, "%s: no tensor named visual.* / transformer.* (OpenAI, open_clip) or "
                 "vision_model.* / text_model.* (Hugging Face CLIPModel): not a CLIP checkpoint", st->path);
    if (openai == hf)
        CM_ERROR(CM_ERR_FORMAT, "%s: as many OpenAI-style (%d) as Hugging Face-style (%d) tensor names: cannot "
                 "tell the naming", st->path, openai, hf);
    *naming = openai > hf ? CM_NAMING_OPENAI : CM_NAMING_HF;
    return CM_OK;
}

/* A problem list built with open_memstream. */
typedef struct {
    FILE *f;
    char *text;
    size_t size;
    int count;
} report;

static cm_err report_open(report *r)
{
    *r = (report){0};
    r->f = open_memstream(&r->text, &r->size);
    CM_ASSERT(r->f, CM_ERR_MEM, "out of memory for a problem report");
    return CM_OK;
}

static void report_close(report *r)
{
    if (r->f) fclose(r->f);
    free(r->text);
    *r = (report){0};
}

static void report_item(report *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void report_item(report *r, const char *fmt, ...)
{
    if (r->count++) fputs(", ", r->f);
    va_list ap;
    va_start(ap, fmt);
    vfprintf(r->f, fmt, ap);
    va_end(ap);
}

static const char *report_text(report *r)
{
    fflush(r->f);
    return r->text ? r->text : "";
}

/* 1 + the largest "<prefix><layer>." index; names whose layer is not a plain
 * number are left for the unexpected-tensor check to report. */
static cm_err count_layers(const cm_safetensors *st, const char *prefix, int *layers)
{
    int top = -1;
    size_t plen = strlen(prefix);
    for (int i = 0; i < st->count; i++) {
        const char *n = st->tensors[i].name;
        if (strncmp(n, prefix, plen) != 0) continue;
        const char *p = n + plen;
        int digits = 0;
        long index = 0;
        while (p[digits] >= '0' && p[digits] <= '9' && digits < 6) index = index * 10 + (p[digits++] - '0');
        if (digits == 0 || p[digits] != '.' || (digits > 1 && p[0] == '0')) continue;
        if (index >= MAX_LAYERS)
            CM_ERROR(CM_ERR_FORMAT, "%s: tensor \"%s\": layer %ld is beyond the limit of %d layers", st->path, n,
                     index, MAX_LAYERS);
        if (index > top) top = (int)index;
    }
    *layers = top + 1;
    return CM_OK;
}

/* The anchor tensor `name`, if present with `ndim` dimensions; else notes the problem. */
static const cm_st_tensor *anchor(const cm_safetensors *st, const char *name, int ndim, report *r)
{
    const cm_st_tensor *t = cm_safetensors_find(st, name);
    if (!t) {
        report_item(r, "%s is missing", name);
        return NULL;
    }
    if (t->ndim != ndim) {
        char s[256];
        report_item(r, "%s has shape %s, not %d dimensions", name, cm_shape_str(t->ndim, t->shape, s, sizeof s), ndim);
        return NULL;
    }
    return t;
}

/* Reads one dimension into an int, noting it when outside [1, limit]. */
static int dimension(const cm_st_tensor *t, int axis, int64_t limit, const char *what, report *r)
{
    if (!t) return 0;
    int64_t v = t->shape[axis];
    if (v < 1 || v > limit) {
        report_item(r, "%s %lld (from %s) is outside [1, %lld]", what, (long long)v, t->name, (long long)limit);
        return 0;
    }
    return (int)v;
}

static void set_tower(cm_tower_dims *t, int width, int layers, const char *tower, report *r)
{
    t->width = width;
    t->layers = layers;
    t->heads = width / HEAD_WIDTH;
    t->mlp_width = 4 * width;
    if (width && width % HEAD_WIDTH)
        report_item(r, "%s width %d is not a multiple of %d (heads = width / %d)", tower, width, HEAD_WIDTH,
                    HEAD_WIDTH);
}

cm_err cm_clip_infer_config(const cm_safetensors *st, cm_weight_naming *naming, cm_clip_config *cfg)
{
    CM_CHECK(detect_naming(st, naming));
    const naming_anchors *a = &anchors[*naming];
    cm_clip_config c;
    memset(&c, 0, sizeof c);
    int vision_layers, text_layers;
    CM_CHECK(count_layers(st, a->vision_layers, &vision_layers));
    CM_CHECK(count_layers(st, a->text_layers, &text_layers));
    report r;
    CM_CHECK(report_open(&r));
    if (!vision_layers) report_item(&r, "no %s<layer>.* tensors", a->vision_layers);
    if (!text_layers) report_item(&r, "no %s<layer>.* tensors", a->text_layers);

    const cm_st_tensor *conv1 = anchor(st, a->conv1, 4, &r);
    set_tower(&c.vision, dimension(conv1, 0, MAX_WIDTH, "vision width", &r), vision_layers, "vision", &r);
    c.patch_size = dimension(conv1, 3, MAX_PATCH, "patch size", &r);
    const cm_st_tensor *positions = anchor(st, a->vision_positions, 2, &r);
    int tokens = dimension(positions, 0, (int64_t)MAX_GRID * MAX_GRID + 1, "image tokens", &r);
    if (tokens) {
        int grid = (int)lround(sqrt((double)(tokens - 1)));
        if (grid < 1 || grid * grid != tokens - 1)
            report_item(&r, "%s has %d rows: %d patches do not form a square grid", a->vision_positions, tokens,
                        tokens - 1);
        else {
            c.grid = grid;
            c.image_size = grid * c.patch_size;
        }
    }
    const cm_st_tensor *ln_final = anchor(st, a->ln_final, 1, &r);
    set_tower(&c.text, dimension(ln_final, 0, MAX_WIDTH, "text width", &r), text_layers, "text", &r);
    c.context_length = dimension(anchor(st, a->text_positions, 2, &r), 0, MAX_CONTEXT, "context length", &r);
    c.vocab_size = dimension(anchor(st, a->token_embedding, 2, &r), 0, MAX_VOCAB, "vocabulary", &r);
    c.embed_dim = dimension(anchor(st, a->text_projection, 2, &r), a->embed_axis, MAX_WIDTH, "embed dim", &r);
    if (r.count) {
        cm_err err = CM_RAISE(CM_ERR_FORMAT,
                              "%s: cannot infer the CLIP configuration (%s names): %s", st->path,
                              cm_weight_naming_name(*naming), report_text(&r));
        report_close(&r);
        return err;
    }
    report_close(&r);
    if (cm_clip_config_validate(&c) != CM_OK) {
        char why[1024];
        snprintf(why, sizeof why, "%s", cm_error_message());
        CM_ERROR(CM_ERR_FORMAT, "%s: the configuration inferred from the shapes is invalid: %s", st->path, why);
    }
    *cfg = c;
    return CM_OK;
}

static int shape_matches(const cm_weight_piece *p, const cm_st_tensor *t)
{
    if (p->ndim == 0 && t->ndim == 1 && t->shape[0] == 1) return 1; /* a scalar saved as [1] */
    if (p->ndim != t->ndim) return 0;
    for (int i = 0; i < p->ndim; i++)
        if (p->shape[i] != t->shape[i]) return 0;
    return 1;
}

/* Compares the file with the pieces of `layout`; on success returns them. */
static cm_err match_pieces(const cm_safetensors *st, cm_weight_naming naming, const cm_clip_config *cfg,
                           const cm_tensor_table *layout, cm_weight_piece **pieces_out, int *count_out)
{
    cm_weight_piece *pieces = NULL;
    int count = 0;
    CM_CHECK(cm_clip_weight_pieces(layout, naming, &pieces, &count));
    char *used = calloc((size_t)st->count + 1, 1);
    report missing = {0}, unexpected = {0}, wrong = {0};
    cm_err err = CM_OK;
    if (!used) CM_ERROR_GOTO(err, done, CM_ERR_MEM, "out of memory checking %s", st->path);
    CM_CHECK_GOTO(err, report_open(&missing), done);
    CM_CHECK_GOTO(err, report_open(&unexpected), done);
    CM_CHECK_GOTO(err, report_open(&wrong), done);
    for (int i = 0; i < count; i++) {
        const cm_weight_piece *p = &pieces[i];
        const cm_st_tensor *t = cm_safetensors_find(st, p->file_name);
        if (!t) {
            report_item(&missing, "%s", p->file_name);
            continue;
        }
        used[t - st->tensors] = 1;
        char got[256], want[256];
        if (!shape_matches(p, t))
            report_item(&wrong, "%s %s (expected %s)", p->file_name, cm_shape_str(t->ndim, t->shape, got, sizeof got),
                        cm_shape_str(p->ndim, p->shape, want, sizeof want));
        else if (!cm_dtype_is_float(t->dtype))
            report_item(&wrong, "%s has dtype %s (expected F32, F16 or BF16)", p->file_name, cm_dtype_name(t->dtype));
    }
    for (int i = 0; i < st->count; i++)
        if (!used[i] && !cm_clip_ignorable_tensor(naming, st->tensors[i].name))
            report_item(&unexpected, "%s", st->tensors[i].name);
    if (missing.count || unexpected.count || wrong.count) {
        char config[256];
        char *full = NULL;
        size_t full_size = 0;
        FILE *f = open_memstream(&full, &full_size);
        if (!f) CM_ERROR_GOTO(err, done, CM_ERR_MEM, "out of memory reporting on %s", st->path);
        fprintf(f, "%s: the tensors do not match the CLIP layout inferred from them (%s names; %s):", st->path,
                cm_weight_naming_name(naming), cm_clip_config_str(cfg, config, sizeof config));
        if (missing.count) fprintf(f, " %d missing: %s;", missing.count, report_text(&missing));
        if (unexpected.count) fprintf(f, " %d unexpected: %s;", unexpected.count, report_text(&unexpected));
        if (wrong.count) fprintf(f, " %d mis-shaped or mistyped: %s;", wrong.count, report_text(&wrong));
        fclose(f);
        if (full_size > REPORT_MAX) {
            cm_log_warn("%s", full);
            err = CM_RAISE(CM_ERR_FORMAT, "%.*s ... (the full list is printed above)", REPORT_MAX, full);
        } else {
            err = CM_RAISE(CM_ERR_FORMAT, "%s", full);
        }
        free(full);
        goto done;
    }
done:
    report_close(&missing);
    report_close(&unexpected);
    report_close(&wrong);
    free(used);
    if (err == CM_OK) {
        *pieces_out = pieces;
        *count_out = count;
    } else {
        free(pieces);
    }
    return err;
}

cm_err cm_clip_check_file(const cm_safetensors *st, cm_weight_naming *naming, cm_clip_config *cfg)
{
    CM_CHECK(cm_clip_infer_config(st, naming, cfg));
    cm_tensor_table layout;
    cm_table_init(&layout);
    cm_weight_piece *pieces = NULL;
    int count = 0;
    cm_err err;
    CM_CHECK_GOTO(err, cm_clip_layout(cfg, &layout), done);
    CM_CHECK_GOTO(err, match_pieces(st, *naming, cfg, &layout, &pieces, &count), done);
done:
    free(pieces);
    cm_table_free(&layout);
    return err;
}

/* [rows, cols] -> [cols, rows] */
static void transpose(const float *src, int64_t rows, int64_t cols, float *dst)
{
    for (int64_t r = 0; r < rows; r++)
        for (int64_t c = 0; c < cols; c++) dst[c * rows + r] = src[r * cols + c];
}

static size_t piece_numel(const cm_weight_piece *p)
{
    size_t n = 1;
    for (int i = 0; i < p->ndim; i++) n *= (size_t)p->shape[i];
    return n;
}

cm_err cm_clip_load_from(cm_clip_model *m, const cm_safetensors *st)
{
    cm_weight_naming naming;
    cm_clip_config cfg;
    memset(m, 0, sizeof *m);
    CM_CHECK(cm_clip_infer_config(st, &naming, &cfg));
    /* Match before allocating: once every tensor is accounted for, the
     * model is no larger than the file, whatever its header claims. */
    cm_tensor_table layout;
    cm_table_init(&layout);
    cm_weight_piece *pieces = NULL;
    int count = 0;
    float *scratch = NULL;
    cm_err err;
    err = cm_clip_layout(&cfg, &layout);
    if (err == CM_OK) err = match_pieces(st, naming, &cfg, &layout, &pieces, &count);
    cm_table_free(&layout);
    if (err != CM_OK) return cm_error_trace(__FILE__, __LINE__, __func__, err);
    CM_CHECK_GOTO(err, cm_clip_create(m, &cfg), fail);
    for (int i = 0; i < count; i++) {
        const cm_weight_piece *p = &pieces[i];
        const cm_st_tensor *t = cm_safetensors_find(st, p->file_name);
        float *dst = m->params + m->table.entries[p->target].offset + p->target_offset;
        if (!p->transposed) {
            CM_CHECK_GOTO(err, cm_safetensors_read_f32(st, t, dst), fail);
            continue;
        }
        free(scratch);
        scratch = malloc(piece_numel(p) * sizeof *scratch);
        if (!scratch) CM_ERROR_GOTO(err, fail, CM_ERR_MEM, "out of memory reading %s from %s", p->file_name, st->path);
        CM_CHECK_GOTO(err, cm_safetensors_read_f32(st, t, scratch), fail);
        transpose(scratch, p->shape[0], p->shape[1], dst);
    }
    free(scratch);
    free(pieces);
    return CM_OK;
fail:
    free(scratch);
    free(pieces);
    cm_clip_destroy(m);
    return err;
}

cm_err cm_clip_load(cm_clip_model *m, const char *path)
{
    cm_safetensors st;
    memset(m, 0, sizeof *m);
    CM_CHECK(cm_safetensors_open(&st, path));
    cm_err err;
    CM_CHECK_GOTO(err, cm_clip_load_from(m, &st), done);
done:
    cm_safetensors_close(&st);
    return err;
}

cm_err cm_clip_save(const cm_clip_model *m, const char *path, cm_weight_naming naming, cm_dtype dtype)
{
    char config[256];
    cm_st_metadata metadata[] = {{"generator", "clipmtl"},
                                 {"clipmtl_config", cm_clip_config_str(&m->cfg, config, sizeof config)}};
    int nmeta = sizeof metadata / sizeof metadata[0];
    if (naming == CM_NAMING_OPENAI) { /* the model's own table: write the buffer as it is */
        CM_CHECK(cm_safetensors_write(path, &m->table, m->params, dtype, metadata, nmeta));
        return CM_OK;
    }
    cm_weight_piece *pieces = NULL;
    int count = 0;
    cm_tensor_table out;
    cm_table_init(&out);
    float *buffer = NULL;
    cm_err err;
    CM_CHECK_GOTO(err, cm_clip_weight_pieces(&m->table, naming, &pieces, &count), done);
    for (int i = 0; i < count; i++)
        CM_CHECK_GOTO(err, cm_table_add(&out, pieces[i].file_name, pieces[i].ndim, pieces[i].shape, NULL), done);
    buffer = malloc((out.total ? out.total : 1) * sizeof *buffer);
    if (!buffer) CM_ERROR_GOTO(err, done, CM_ERR_MEM, "out of memory saving %s", path);
    for (int i = 0; i < count; i++) {
        const cm_weight_piece *p = &pieces[i];
        const float *src = m->params + m->table.entries[p->target].offset + p->target_offset;
        float *dst = buffer + out.entries[i].offset;
        if (p->transposed) transpose(src, p->shape[1], p->shape[0], dst);
        else memcpy(dst, src, out.entries[i].numel * sizeof *dst);
    }
    CM_CHECK_GOTO(err, cm_safetensors_write(path, &out, buffer, dtype, metadata, nmeta), done);
done:
    free(buffer);
    free(pieces);
    cm_table_free(&out);
    return err;
}
