/* A named layout of tensors inside one contiguous float buffer.
 *
 * Model weights, the trainable parameters of a prompt method, their gradients
 * and optimizer moments are each one buffer described by a table: the table
 * gives every tensor a name (the checkpoint name), a shape and an offset. An
 * optimizer step, a gradient allreduce or a checksum is then one loop over
 * one buffer, and a checkpoint is one dataset per table entry. */
#ifndef CLIPMTL_TENSOR_TABLE_H
#define CLIPMTL_TENSOR_TABLE_H

#include <stddef.h>
#include <stdint.h>

#include "clipmtl/error.h"

#define CM_MAX_DIMS 4
#define CM_NAME_MAX 128

typedef struct {
    char name[CM_NAME_MAX];
    int ndim;
    int64_t shape[CM_MAX_DIMS];
    size_t numel;
    size_t offset; /* in floats from the start of the buffer */
} cm_tensor_desc;

typedef struct {
    cm_tensor_desc *entries;
    int count, capacity;
    size_t total; /* floats */
} cm_tensor_table;

void cm_table_init(cm_tensor_table *t);
void cm_table_free(cm_tensor_table *t);
/* Append a tensor after the last one; *offset (optional) receives its offset. */
cm_err cm_table_add(cm_tensor_table *t, const char *name, int ndim, const int64_t *shape, size_t *offset);
/* printf-style name. */
cm_err cm_table_addf(cm_tensor_table *t, size_t *offset, int ndim, const int64_t *shape,
                     const char *fmt, ...) __attribute__((format(printf, 5, 6)));
/* NULL when absent. */
const cm_tensor_desc *cm_table_find(const cm_tensor_table *t, const char *name);
/* "[768,3,16,16]" into buf. */
const char *cm_shape_str(int ndim, const int64_t *shape, char *buf, size_t len);

#endif
