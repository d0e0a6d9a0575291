/* safetensors files: an 8-byte little-endian header length, a JSON header
 * mapping tensor names to {dtype, shape, data_offsets}, then the raw data.
 *
 * The reader maps the file and trusts nothing in it: the header length, the
 * JSON, every dtype, shape and offset are checked before any tensor is
 * handed out, and the tensors must tile the data section exactly (no
 * overlap, no gap, no trailing bytes), as the reference implementation
 * requires. Each error names the file and the tensor. Float tensors are read
 * as fp32 (F16/BF16 widen exactly); integer tensors (I64/I32, e.g. HF's
 * position_ids buffers) are accepted in the file but cannot be read as floats.
 *
 * The writer stores a tensor table in F32, F16 or BF16 (round to nearest
 * even), atomically (see atomic_file.h), with "format": "pt" in the metadata
 * as Hugging Face's loaders expect. */
#ifndef CLIPMTL_SAFETENSORS_H
#define CLIPMTL_SAFETENSORS_H

#include <stddef.h>
#include <stdint.h>

#include "clipmtl/error.h"
#include "clipmtl/json.h"
#include "clipmtl/tensor_table.h"

#define CM_ST_MAX_DIMS 8
#define CM_ST_MAX_HEADER ((size_t)100 << 20) /* bytes; the reference limit */

typedef enum { CM_DTYPE_F32, CM_DTYPE_F16, CM_DTYPE_BF16, CM_DTYPE_I64, CM_DTYPE_I32, CM_DTYPE_COUNT_ } cm_dtype;

/* "F32", "F16", ... as written in safetensors headers. */
const char *cm_dtype_name(cm_dtype dtype);
size_t cm_dtype_size(cm_dtype dtype);
int cm_dtype_is_float(cm_dtype dtype);
/* Case-insensitive: "f32", "F16", "bf16", ...; NULL-safe error naming `what`. */
cm_err cm_dtype_parse(const char *text, const char *what, cm_dtype *dtype);

typedef struct {
    const char *name; /* into the parsed header */
    cm_dtype dtype;
    int ndim;
    int64_t shape[CM_ST_MAX_DIMS];
    size_t numel;
    size_t begin, end; /* byte range inside the data section */
} cm_st_tensor;

typedef struct {
    char *path;                  /* for messages */
    unsigned char *map;          /* the mapped file (NULL for in-memory input) */
    size_t map_size;
    const unsigned char *data;   /* data section */
    size_t data_size;
    size_t header_len;
    cm_json_doc header;
    const cm_json_node *metadata; /* the __metadata__ object, or NULL */
    cm_st_tensor *tensors;       /* in header order */
    int count;
    int *by_name;                /* indices of tensors sorted by name */
} cm_safetensors;

cm_err cm_safetensors_open(cm_safetensors *st, const char *path);
/* The same checks on bytes already in memory (they must outlive st);
 * `name` stands for the file in messages. Used by the fuzz target. */
cm_err cm_safetensors_open_memory(cm_safetensors *st, const void *bytes, size_t size, const char *name);
void cm_safetensors_close(cm_safetensors *st);

/* NULL when absent (binary search). */
const cm_st_tensor *cm_safetensors_find(const cm_safetensors *st, const char *name);
/* Converts the tensor to fp32 into dst[0, numel). */
cm_err cm_safetensors_read_f32(const cm_safetensors *st, const cm_st_tensor *t, float *dst);
/* A __metadata__ value, or NULL. */
const char *cm_safetensors_metadata(const cm_safetensors *st, const char *key);

typedef struct {
    const char *key, *value;
} cm_st_metadata;

/* Writes every tensor of `table` (data in `buffer` at the table's offsets)
 * in table order; `metadata` (may be NULL) adds to "format": "pt". */
cm_err cm_safetensors_write(const char *path, const cm_tensor_table *table, const float *buffer, cm_dtype dtype,
                            const cm_st_metadata *metadata, int metadata_count);

#endif
