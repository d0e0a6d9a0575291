#include "clipmtl/tensor_table.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void cm_table_init(cm_tensor_table *t) { *t = (cm_tensor_table){0}; }

void cm_table_free(cm_tensor_table *t)
{
    free(t->entries);
    *t = (cm_tensor_table){0};
}

cm_err cm_table_add(cm_tensor_table *t, const char *name, int ndim, const int64_t *shape, size_t *offset)
{
    CM_ASSERT(ndim >= 0 && ndim <= CM_MAX_DIMS, CM_ERR_INTERNAL, "tensor %s: %d dimensions", name, ndim);
    CM_ASSERT(strlen(name) < CM_NAME_MAX, CM_ERR_INTERNAL, "tensor name too long: %s", name);
    CM_ASSERT(!cm_table_find(t, name), CM_ERR_INTERNAL, "tensor %s added twice", name);
    if (t->count == t->capacity) {
        int cap = t->capacity ? 2 * t->capacity : 64;
        cm_tensor_desc *e = realloc(t->entries, (size_t)cap * sizeof *e);
        if (!e) CM_ERROR(CM_ERR_MEM, "out of memory growing a tensor table");
        t->entries = e;
        t->capacity = cap;
    }
    cm_tensor_desc *d = &t->entries[t->count++];
    memset(d, 0, sizeof *d);
    snprintf(d->name, sizeof d->name, "%s", name);
    d->ndim = ndim;
    d->numel = 1;
    for (int i = 0; i < ndim; i++) {
        CM_ASSERT(shape[i] >= 0, CM_ERR_INTERNAL, "tensor %s: negative dimension", name);
        d->shape[i] = shape[i];
        d->numel *= (size_t)shape[i];
    }
    d->offset = t->total;
    t->total += d->numel;
    if (offset) *offset = d->offset;
    return CM_OK;
}

cm_err cm_table_addf(cm_tensor_table *t, size_t *offset, int ndim, const int64_t *shape, const char *fmt, ...)
{
    char name[CM_NAME_MAX];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(name, sizeof name, fmt, ap);
    va_end(ap);
    CM_ASSERT(n > 0 && n < (int)sizeof name, CM_ERR_INTERNAL, "tensor name too long");
    CM_CHECK(cm_table_add(t, name, ndim, shape, offset));
    return CM_OK;
}

const cm_tensor_desc *cm_table_find(const cm_tensor_table *t, const char *name)
{
    for (int i = 0; i < t->count; i++)
        if (strcmp(t->entries[i].name, name) == 0) return &t->entries[i];
    return NULL;
}

const char *cm_shape_str(int ndim, const int64_t *shape, char *buf, size_t len)
{
    size_t used = 0;
    used += (size_t)snprintf(buf + used, len - used, "[");
    for (int i = 0; i < ndim && used < len; i++)
        used += (size_t)snprintf(buf + used, len - used, i ? ",%lld" : "%lld", (long long)shape[i]);
    if (used < len) snprintf(buf + used, len - used, "]");
    return buf;
}
