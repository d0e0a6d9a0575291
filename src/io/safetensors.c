/* safetensors reader (validating, memory-mapped) and writer (atomic).
 * The format: https://github.com/huggingface/safetensors (README, "Format"). */
#include "clipmtl/safetensors.h"

#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "clipmtl/atomic_file.h"
#include "clipmtl/half.h"

_Static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "safetensors data is little-endian; so must the host be");

#define MAX_HEADER_NODES (1 << 22)

static const struct {
    const char *name;
    size_t size;
    int is_float;
} dtype_info[CM_DTYPE_COUNT_] = {
    [CM_DTYPE_F32] = {"F32", 4, 1}, [CM_DTYPE_F16] = {"F16", 2, 1}, [CM_DTYPE_BF16] = {"BF16", 2, 1},
    [CM_DTYPE_I64] = {"I64", 8, 0}, [CM_DTYPE_I32] = {"I32", 4, 0},
};

const char *cm_dtype_name(cm_dtype d) { return (unsigned)d < CM_DTYPE_COUNT_ ? dtype_info[d].name : "?"; }
size_t cm_dtype_size(cm_dtype d) { return (unsigned)d < CM_DTYPE_COUNT_ ? dtype_info[d].size : 0; }
int cm_dtype_is_float(cm_dtype d) { return (unsigned)d < CM_DTYPE_COUNT_ && dtype_info[d].is_float; }

cm_err cm_dtype_parse(const char *text, const char *what, cm_dtype *dtype)
{
    for (int d = 0; d < CM_DTYPE_COUNT_; d++)
        if (text && strcasecmp(text, dtype_info[d].name) == 0) {
            *dtype = (cm_dtype)d;
            return CM_OK;
        }
    CM_ERROR(CM_ERR_ARG, "%s: unknown dtype '%s' (expected f32, f16 or bf16)", what, text ? text : "(none)");
}

/* ------------------------------------------------------------------ reader */

static cm_err read_index(const cm_safetensors *st, const char *tensor, const char *field, const cm_json_node *n,
                         uint64_t *out)
{
    if (n->type != CM_JSON_NUMBER || !n->is_integer || n->integer < 0)
        CM_ERROR(CM_ERR_FORMAT, "%s: tensor \"%s\": %s must hold integers in [0, 2^63) (header byte %zu)",
                 st->path, tensor, field, n->offset);
    *out = (uint64_t)n->integer;
    return CM_OK;
}

static cm_err parse_dtype(const cm_safetensors *st, const char *tensor, const cm_json_node *n, cm_dtype *out)
{
    if (n->type != CM_JSON_STRING)
        CM_ERROR(CM_ERR_FORMAT, "%s: tensor \"%s\": dtype must be a string, found %s", st->path, tensor,
                 cm_json_type_name(n->type));
    for (int d = 0; d < CM_DTYPE_COUNT_; d++)
        if (strcmp(n->string, dtype_info[d].name) == 0) {
            *out = (cm_dtype)d;
            return CM_OK;
        }
    CM_ERROR(CM_ERR_FORMAT, "%s: tensor \"%s\": unsupported dtype \"%s\" (supported: F32, F16, BF16; I64, I32 "
             "for index buffers)", st->path, tensor, n->string);
}

static cm_err parse_shape(const cm_safetensors *st, const char *tensor, const cm_json_node *n, cm_st_tensor *t)
{
    if (n->type != CM_JSON_ARRAY)
        CM_ERROR(CM_ERR_FORMAT, "%s: tensor \"%s\": shape must be an array, found %s", st->path, tensor,
                 cm_json_type_name(n->type));
    if (n->count > CM_ST_MAX_DIMS)
        CM_ERROR(CM_ERR_FORMAT, "%s: tensor \"%s\": shape has %d dimensions, more than %d", st->path, tensor,
                 n->count, CM_ST_MAX_DIMS);
    t->ndim = 0;
    uint64_t numel = 1;
    int overflow = 0;
    for (const cm_json_node *d = cm_json_first(&st->header, n); d; d = cm_json_next(&st->header, d)) {
        uint64_t dim = 0;
        CM_CHECK(read_index(st, tensor, "shape", d, &dim));
        if (dim > INT64_MAX || __builtin_mul_overflow(numel, dim, &numel)) overflow = 1;
        t->shape[t->ndim++] = (int64_t)dim;
    }
    uint64_t bytes;
    if (overflow || numel > SIZE_MAX || __builtin_mul_overflow(numel, (uint64_t)cm_dtype_size(t->dtype), &bytes)) {
        char shape[256];
        CM_ERROR(CM_ERR_FORMAT, "%s: tensor \"%s\": shape %s has too many elements (size overflows)", st->path,
                 tensor, cm_shape_str(t->ndim, t->shape, shape, sizeof shape));
    }
    t->numel = (size_t)numel;
    return CM_OK;
}

static cm_err parse_offsets(const cm_safetensors *st, const char *tensor, const cm_json_node *n, cm_st_tensor *t)
{
    if (n->type != CM_JSON_ARRAY || n->count != 2)
        CM_ERROR(CM_ERR_FORMAT, "%s: tensor \"%s\": data_offsets must be an array [begin, end]", st->path, tensor);
    uint64_t begin = 0, end = 0;
    const cm_json_node *b = cm_json_first(&st->header, n);
    CM_CHECK(read_index(st, tensor, "data_offsets", b, &begin));
    CM_CHECK(read_index(st, tensor, "data_offsets", cm_json_next(&st->header, b), &end));
    if (begin > end)
        CM_ERROR(CM_ERR_FORMAT, "%s: tensor \"%s\": data_offsets [%llu, %llu]: begin is after end", st->path,
                 tensor, (unsigned long long)begin, (unsigned long long)end);
    if (end > st->data_size)
        CM_ERROR(CM_ERR_FORMAT, "%s: tensor \"%s\": data_offsets [%llu, %llu] run past the data section (%zu "
                 "bytes): the file is truncated or the offsets are wrong", st->path, tensor,
                 (unsigned long long)begin, (unsigned long long)end, st->data_size);
    t->begin = (size_t)begin;
    t->end = (size_t)end;
    return CM_OK;
}

static cm_err parse_tensor_entry(const cm_safetensors *st, const cm_json_node *entry, cm_st_tensor *t)
{
    const char *name = entry->key;
    memset(t, 0, sizeof *t);
    t->name = name;
    if (entry->type != CM_JSON_OBJECT)
        CM_ERROR(CM_ERR_FORMAT, "%s: tensor \"%s\": expected an object {dtype, shape, data_offsets}, found %s",
                 st->path, name, cm_json_type_name(entry->type));
    const cm_json_node *dtype = NULL, *shape = NULL, *offsets = NULL;
    for (const cm_json_node *f = cm_json_first(&st->header, entry); f; f = cm_json_next(&st->header, f)) {
        if (strcmp(f->key, "dtype") == 0) dtype = f;
        else if (strcmp(f->key, "shape") == 0) shape = f;
        else if (strcmp(f->key, "data_offsets") == 0) offsets = f;
        else CM_ERROR(CM_ERR_FORMAT, "%s: tensor \"%s\": unknown field \"%s\"", st->path, name, f->key);
    }
    if (!dtype || !shape || !offsets)
        CM_ERROR(CM_ERR_FORMAT, "%s: tensor \"%s\": missing field \"%s\"", st->path, name,
                 !dtype ? "dtype" : !shape ? "shape" : "data_offsets");
    CM_CHECK(parse_dtype(st, name, dtype, &t->dtype));
    CM_CHECK(parse_shape(st, name, shape, t));
    CM_CHECK(parse_offsets(st, name, offsets, t));
    size_t want = t->numel * cm_dtype_size(t->dtype); /* no overflow: checked in parse_shape */
    if (t->end - t->begin != want) {
        char s[256];
        CM_ERROR(CM_ERR_FORMAT, "%s: tensor \"%s\": data_offsets [%zu, %zu] hold %zu bytes but %s %s needs %zu",
                 st->path, name, t->begin, t->end, t->end - t->begin, cm_dtype_name(t->dtype),
                 cm_shape_str(t->ndim, t->shape, s, sizeof s), want);
    }
    return CM_OK;
}

static cm_err check_metadata(const cm_safetensors *st, const cm_json_node *m)
{
    if (m->type != CM_JSON_OBJECT)
        CM_ERROR(CM_ERR_FORMAT, "%s: __metadata__ must be an object of strings, found %s", st->path,
                 cm_json_type_name(m->type));
    for (const cm_json_node *v = cm_json_first(&st->header, m); v; v = cm_json_next(&st->header, v))
        if (v->type != CM_JSON_STRING)
            CM_ERROR(CM_ERR_FORMAT, "%s: __metadata__ \"%s\" must be a string, found %s", st->path, v->key,
                     cm_json_type_name(v->type));
    return CM_OK;
}

typedef struct {
    size_t begin, end;
    int index;
} extent;

static int by_offsets(const void *a, const void *b)
{
    const extent *x = a, *y = b;
    if (x->begin != y->begin) return x->begin < y->begin ? -1 : 1;
    return (x->end > y->end) - (x->end < y->end);
}

typedef struct {
    const char *name;
    int index;
} named;

static int by_name(const void *a, const void *b) { return strcmp(((const named *)a)->name, ((const named *)b)->name); }

/* The tensors must tile [0, data_size) in offset order, as in the reference
 * implementation: an overlap would alias two tensors, a gap or trailing bytes
 * mean the header and the data disagree. */
static cm_err check_tiling(const cm_safetensors *st)
{
    extent *order;
    CM_CALLOC(order, st->count);
    for (int i = 0; i < st->count; i++) order[i] = (extent){st->tensors[i].begin, st->tensors[i].end, i};
    qsort(order, (size_t)st->count, sizeof *order, by_offsets);
    size_t covered = 0;
    const cm_st_tensor *previous = NULL;
    cm_err err = CM_OK;
    for (int i = 0; i < st->count; i++) {
        const cm_st_tensor *t = &st->tensors[order[i].index];
        if (t->begin < covered)
            CM_ERROR_GOTO(err, done, CM_ERR_FORMAT,
                          "%s: tensor \"%s\" (bytes [%zu, %zu)) overlaps tensor \"%s\" (bytes [%zu, %zu))", st->path,
                          t->name, t->begin, t->end, previous->name, previous->begin, previous->end);
        if (t->begin > covered)
            CM_ERROR_GOTO(err, done, CM_ERR_FORMAT,
                          "%s: tensor \"%s\": %zu unused bytes before its data_offsets [%zu, %zu)", st->path,
                          t->name, t->begin - covered, t->begin, t->end);
        covered = t->end;
        previous = t;
    }
    if (covered != st->data_size)
        CM_ERROR_GOTO(err, done, CM_ERR_FORMAT,
                      "%s: the tensors cover %zu bytes of the %zu-byte data section (trailing data)", st->path,
                      covered, st->data_size);
done:
    free(order);
    return err;
}

/* Names are unique (the JSON parser rejects duplicate keys); sorting them
 * makes lookups logarithmic in headers of thousands of tensors. */
static cm_err index_names(cm_safetensors *st)
{
    named *order;
    CM_CALLOC(order, st->count);
    for (int i = 0; i < st->count; i++) order[i] = (named){st->tensors[i].name, i};
    qsort(order, (size_t)st->count, sizeof *order, by_name);
    st->by_name = malloc((size_t)(st->count ? st->count : 1) * sizeof *st->by_name);
    if (st->by_name)
        for (int i = 0; i < st->count; i++) st->by_name[i] = order[i].index;
    free(order);
    CM_ASSERT(st->by_name, CM_ERR_MEM, "%s: out of memory indexing %d tensors", st->path, st->count);
    return CM_OK;
}

static cm_err parse_file(cm_safetensors *st, const unsigned char *bytes, size_t size)
{
    const char *file = st->path;
    if (size < 8)
        CM_ERROR(CM_ERR_FORMAT, "%s: truncated: %zu bytes, shorter than the 8-byte header length", file, size);
    uint64_t header_len = 0;
    for (int i = 7; i >= 0; i--) header_len = header_len << 8 | bytes[i];
    if (header_len > CM_ST_MAX_HEADER)
        CM_ERROR(CM_ERR_FORMAT, "%s: header length %llu exceeds the %zu-byte limit: not a safetensors file?", file,
                 (unsigned long long)header_len, CM_ST_MAX_HEADER);
    if (header_len > size - 8)
        CM_ERROR(CM_ERR_FORMAT, "%s: header length %llu runs past the end of the file (%zu bytes): truncated?", file,
                 (unsigned long long)header_len, size);
    if (header_len < 2 || bytes[8] != '{')
        CM_ERROR(CM_ERR_FORMAT, "%s: the header is not a JSON object (it must start with '{')", file);
    st->header_len = (size_t)header_len;
    st->data = bytes + 8 + header_len;
    st->data_size = size - 8 - (size_t)header_len;

    char source[4200];
    snprintf(source, sizeof source, "%s: JSON header", file);
    int max_nodes = header_len < MAX_HEADER_NODES ? (int)header_len : MAX_HEADER_NODES;
    CM_CHECK(cm_json_parse(&st->header, (const char *)bytes + 8, st->header_len, source, max_nodes));
    const cm_json_node *root = cm_json_root(&st->header);

    CM_CALLOC(st->tensors, root->count);
    for (const cm_json_node *m = cm_json_first(&st->header, root); m; m = cm_json_next(&st->header, m)) {
        if (strcmp(m->key, "__metadata__") == 0) {
            CM_CHECK(check_metadata(st, m));
            st->metadata = m;
            continue;
        }
        CM_CHECK(parse_tensor_entry(st, m, &st->tensors[st->count]));
        st->count++;
    }
    CM_CHECK(check_tiling(st));
    CM_CHECK(index_names(st));
    return CM_OK;
}

static cm_err set_path(cm_safetensors *st, const char *path)
{
    memset(st, 0, sizeof *st);
    st->path = strdup(path);
    if (!st->path) CM_ERROR(CM_ERR_MEM, "out of memory opening %s", path);
    return CM_OK;
}

cm_err cm_safetensors_open_memory(cm_safetensors *st, const void *bytes, size_t size, const char *name)
{
    CM_CHECK(set_path(st, name));
    cm_err err;
    CM_CHECK_GOTO(err, parse_file(st, bytes, size), fail);
    return CM_OK;
fail:
    cm_safetensors_close(st);
    return err;
}

cm_err cm_safetensors_open(cm_safetensors *st, const char *path)
{
    CM_CHECK(set_path(st, path));
    cm_err err = CM_OK;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) CM_ERROR_GOTO(err, fail, CM_ERR_IO, "cannot open %s: %s", path, strerror(errno));
    struct stat sb;
    if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
        close(fd);
        CM_ERROR_GOTO(err, fail, CM_ERR_IO, "%s is not a regular file", path);
    }
    size_t size = (size_t)sb.st_size;
    if (size >= 8) {
        void *map = mmap(NULL, size, PROT_READ, MAP_PRIVATE, fd, 0);
        if (map == MAP_FAILED) {
            int e = errno;
            close(fd);
            CM_ERROR_GOTO(err, fail, CM_ERR_IO, "cannot map %s (%zu bytes): %s", path, size, strerror(e));
        }
        st->map = map;
        st->map_size = size;
        madvise(map, size, MADV_SEQUENTIAL);
    }
    close(fd);
    static const unsigned char nothing[1];
    CM_CHECK_GOTO(err, parse_file(st, st->map ? st->map : nothing, size), fail);
    return CM_OK;
fail:
    cm_safetensors_close(st);
    return err;
}

void cm_safetensors_close(cm_safetensors *st)
{
    if (st->map) munmap(st->map, st->map_size);
    cm_json_free(&st->header);
    free(st->tensors);
    free(st->by_name);
    free(st->path);
    memset(st, 0, sizeof *st);
}

const cm_st_tensor *cm_safetensors_find(const cm_safetensors *st, const char *name)
{
    int lo = 0, hi = st->count - 1;
    while (lo <= hi) {
        int mid = lo + (hi - lo) / 2;
        const cm_st_tensor *t = &st->tensors[st->by_name[mid]];
        int c = strcmp(name, t->name);
        if (c == 0) return t;
        if (c < 0) hi = mid - 1;
        else lo = mid + 1;
    }
    return NULL;
}

cm_err cm_safetensors_read_f32(const cm_safetensors *st, const cm_st_tensor *t, float *dst)
{
    const unsigned char *src = st->data + t->begin;
    switch (t->dtype) {
    case CM_DTYPE_F32: memcpy(dst, src, t->numel * sizeof(float)); return CM_OK;
    case CM_DTYPE_F16:
        for (size_t i = 0; i < t->numel; i++) {
            uint16_t h;
            memcpy(&h, src + 2 * i, 2);
            dst[i] = cm_f16_to_f32(h);
        }
        return CM_OK;
    case CM_DTYPE_BF16:
        for (size_t i = 0; i < t->numel; i++) {
            uint16_t h;
            memcpy(&h, src + 2 * i, 2);
            dst[i] = cm_bf16_to_f32(h);
        }
        return CM_OK;
    default:
        CM_ERROR(CM_ERR_FORMAT, "%s: tensor \"%s\" has integer dtype %s and cannot be read as floats", st->path,
                 t->name, cm_dtype_name(t->dtype));
    }
}

const char *cm_safetensors_metadata(const cm_safetensors *st, const char *key)
{
    const cm_json_node *v = cm_json_get(&st->header, st->metadata, key);
    return v ? v->string : NULL;
}

/* ------------------------------------------------------------------ writer */

typedef struct {
    char *text;
    size_t len, cap;
} text_buffer;

static cm_err append(text_buffer *b, const char *s, size_t n)
{
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        while (cap < b->len + n + 1) cap *= 2;
        char *t = realloc(b->text, cap);
        if (!t) CM_ERROR(CM_ERR_MEM, "out of memory building a safetensors header (%zu bytes)", cap);
        b->text = t;
        b->cap = cap;
    }
    memcpy(b->text + b->len, s, n);
    b->len += n;
    b->text[b->len] = '\0';
    return CM_OK;
}

static cm_err appendf(text_buffer *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static cm_err appendf(text_buffer *b, const char *fmt, ...)
{
    char tmp[256];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    CM_ASSERT(n >= 0 && n < (int)sizeof tmp, CM_ERR_INTERNAL, "header fragment too long");
    CM_CHECK(append(b, tmp, (size_t)n));
    return CM_OK;
}

static cm_err append_json_string(text_buffer *b, const char *s)
{
    CM_CHECK(append(b, "\"", 1));
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '"' || *p == '\\') {
            char esc[2] = {'\\', (char)*p};
            CM_CHECK(append(b, esc, 2));
        } else if (*p < 0x20) {
            CM_CHECK(appendf(b, "\\u%04x", *p));
        } else {
            CM_CHECK(append(b, (const char *)p, 1));
        }
    }
    CM_CHECK(append(b, "\"", 1));
    return CM_OK;
}

static cm_err build_header(text_buffer *b, const cm_tensor_table *table, cm_dtype dtype,
                           const cm_st_metadata *metadata, int metadata_count)
{
    static const char opening[] = "{\"__metadata__\":{\"format\":\"pt\"";
    CM_CHECK(append(b, opening, sizeof opening - 1));
    for (int i = 0; i < metadata_count; i++) {
        CM_ASSERT(strcmp(metadata[i].key, "format") != 0, CM_ERR_ARG, "metadata key \"format\" is reserved");
        CM_CHECK(append(b, ",", 1));
        CM_CHECK(append_json_string(b, metadata[i].key));
        CM_CHECK(append(b, ":", 1));
        CM_CHECK(append_json_string(b, metadata[i].value));
    }
    CM_CHECK(append(b, "}", 1));
    size_t offset = 0, elem = cm_dtype_size(dtype);
    for (int i = 0; i < table->count; i++) {
        const cm_tensor_desc *d = &table->entries[i];
        CM_CHECK(append(b, ",", 1));
        CM_CHECK(append_json_string(b, d->name));
        CM_CHECK(appendf(b, ":{\"dtype\":\"%s\",\"shape\":[", cm_dtype_name(dtype)));
        for (int k = 0; k < d->ndim; k++) CM_CHECK(appendf(b, k ? ",%lld" : "%lld", (long long)d->shape[k]));
        CM_CHECK(appendf(b, "],\"data_offsets\":[%zu,%zu]}", offset, offset + d->numel * elem));
        offset += d->numel * elem;
    }
    CM_CHECK(append(b, "}", 1));
    /* Pad with spaces so the data section starts 8-byte aligned. */
    while (b->len % 8) CM_CHECK(append(b, " ", 1));
    return CM_OK;
}

static cm_err write_tensor(cm_atomic_file *f, const float *src, size_t n, cm_dtype dtype, uint16_t *staging,
                           size_t staging_count)
{
    if (dtype == CM_DTYPE_F32) {
        CM_CHECK(cm_atomic_write(f, src, n * sizeof(float)));
        return CM_OK;
    }
    for (size_t done = 0; done < n;) {
        size_t chunk = n - done < staging_count ? n - done : staging_count;
        for (size_t i = 0; i < chunk; i++)
            staging[i] = dtype == CM_DTYPE_F16 ? cm_f32_to_f16(src[done + i]) : cm_f32_to_bf16(src[done + i]);
        CM_CHECK(cm_atomic_write(f, staging, chunk * sizeof *staging));
        done += chunk;
    }
    return CM_OK;
}

cm_err cm_safetensors_write(const char *path, const cm_tensor_table *table, const float *buffer, cm_dtype dtype,
                            const cm_st_metadata *metadata, int metadata_count)
{
    CM_ASSERT(cm_dtype_is_float(dtype), CM_ERR_ARG, "%s: cannot write tensors as %s (use F32, F16 or BF16)", path,
              cm_dtype_name(dtype));
    cm_err err = CM_OK;
    text_buffer header = {0};
    uint16_t *staging = NULL;
    enum { STAGING = 1 << 16 };
    cm_atomic_file f = {.fd = -1};
    CM_CHECK_GOTO(err, build_header(&header, table, dtype, metadata, metadata_count), done);
    staging = malloc(STAGING * sizeof *staging);
    if (!staging) CM_ERROR_GOTO(err, done, CM_ERR_MEM, "out of memory writing %s", path);
    CM_CHECK_GOTO(err, cm_atomic_open(&f, path), done);
    unsigned char length[8];
    for (int i = 0; i < 8; i++) length[i] = (unsigned char)((uint64_t)header.len >> (8 * i));
    CM_CHECK_GOTO(err, cm_atomic_write(&f, length, 8), done);
    CM_CHECK_GOTO(err, cm_atomic_write(&f, header.text, header.len), done);
    for (int i = 0; i < table->count; i++) {
        const cm_tensor_desc *d = &table->entries[i];
        CM_CHECK_GOTO(err, write_tensor(&f, buffer + d->offset, d->numel, dtype, staging, STAGING), done);
    }
    CM_CHECK_GOTO(err, cm_atomic_commit(&f), done);
done:
    if (err != CM_OK && f.path) cm_atomic_abort(&f);
    free(staging);
    free(header.text);
    return err;
}
