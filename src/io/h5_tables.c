/* String tables (names of tasks, classes and images) and the raw file offset of a dataset, for
 * readers that bypass the HDF5 library. See include/clipmtl/h5io.h. */
#include <stdlib.h>
#include <string.h>

#include "clipmtl/h5io.h"
#include "h5io_internal.h"

/* A fixed-length, NUL-terminated UTF-8 string type of `size` bytes (NUL included). */
static cm_err string_type(const cm_h5_file *f, const char *name, size_t size, hid_t *t)
{
    *t = H5Tcopy(H5T_C_S1);
    if (*t < 0 || H5Tset_size(*t, size) < 0 || H5Tset_strpad(*t, H5T_STR_NULLTERM) < 0 ||
        H5Tset_cset(*t, H5T_CSET_UTF8) < 0) {
        if (*t >= 0) H5Tclose(*t);
        return cm_h5_fail(__FILE__, __LINE__, __func__, f->path, "H5Tset_size", "dataset %s", name);
    }
    return CM_OK;
}

cm_err cm_h5_write_strings(cm_h5_file *f, const char *name, int n, const char *const *strings, int owner)
{
    /* The owner decides the string length; every rank must agree on n and the owner. */
    cm_err local = CM_OK;
    if (owner < 0 || owner >= f->nranks)
        local = CM_RAISE(CM_ERR_ARG, "%s: dataset %s: owner rank %d outside 0..%d",
                         f->path, name, owner, f->nranks - 1);
    else if (n < 0)
        local = CM_RAISE(CM_ERR_ARG, "%s: dataset %s: %d strings", f->path, name, n);
    else if (f->in_memory && owner != 0) /* rank 0 holds the file */
        local = CM_RAISE(CM_ERR_ARG, "%s: dataset %s: owner rank %d of an in-memory "
                         "file (rank 0 writes it)", f->path, name, owner);
    CM_CHECK(cm_h5_agree(f, local, name));
    long long shape[2] = {n, 0};
    if (f->rank == owner)
        for (int i = 0; i < n; i++) {
            size_t len = strlen(strings[i]);
            if ((long long)len > shape[1]) shape[1] = (long long)len;
        }
    if (f->nranks > 1 && MPI_Bcast(shape, 2, MPI_LONG_LONG, owner, f->comm) != MPI_SUCCESS)
        CM_ERROR(CM_ERR_MPI, "%s: dataset %s: MPI_Bcast of the string length failed", f->path, name);
    local = shape[0] == n ? CM_OK
                          : CM_RAISE(CM_ERR_ARG,
                                     "%s: dataset %s: rank %d writes %d strings, the owner %lld", f->path, name,
                                     f->rank, n, shape[0]);
    CM_CHECK(cm_h5_agree(f, local, name));
    const size_t width = (size_t)shape[1] + 1;
    char *packed = NULL;
    cm_err err = CM_OK;
    hid_t t = H5I_INVALID_HID, space = H5I_INVALID_HID, lcpl = H5I_INVALID_HID, dset = H5I_INVALID_HID;
    hid_t memspace = H5I_INVALID_HID, dxpl = H5P_DEFAULT;
    if (f->in_memory && f->rank != 0) goto done; /* rank 0 holds the file */
    int exists;
    CM_CHECK_GOTO(err, cm_h5_exists(f, name, &exists), done);
    if (exists)
        CM_ERROR_GOTO(err, done, CM_ERR_FORMAT, "%s: dataset %s: exists already (string tables are written once)", f->path,
                      name);
    if (f->rank == owner) {
        packed = calloc(n > 0 ? (size_t)n * width : 1, 1);
        if (!packed) CM_ERROR_GOTO(err, done, CM_ERR_MEM, "%s: dataset %s: out of memory for %d strings", f->path, name, n);
        for (int i = 0; i < n; i++) memcpy(packed + (size_t)i * width, strings[i], strlen(strings[i]));
    }
    CM_CHECK_GOTO(err, string_type(f, name, width, &t), done);
    hsize_t dims[1] = {(hsize_t)n};
    space = H5Screate_simple(1, dims, NULL);
    memspace = H5Screate_simple(1, dims, NULL);
    if (space < 0 || memspace < 0) {
        err = cm_h5_fail(__FILE__, __LINE__, __func__, f->path, "H5Screate_simple", "dataset %s", name);
        goto done;
    }
    CM_CHECK_GOTO(err, cm_h5_intermediate_groups(f, name, &lcpl), done);
    dset = H5Dcreate2(f->id, name, t, space, lcpl, H5P_DEFAULT, H5P_DEFAULT);
    if (dset < 0) {
        err = cm_h5_fail(__FILE__, __LINE__, __func__, f->path, "H5Dcreate2", "dataset %s", name);
        goto done;
    }
    if (f->rank != owner || n == 0) {
        if (H5Sselect_none(space) < 0 || H5Sselect_none(memspace) < 0) {
            err = cm_h5_fail(__FILE__, __LINE__, __func__, f->path, "H5Sselect_none", "dataset %s", name);
            goto done;
        }
    }
    CM_CHECK_GOTO(err, cm_h5_transfer_list(f, name, &dxpl), done);
    if (H5Dwrite(dset, t, memspace, space, dxpl, packed) < 0)
        err = cm_h5_fail(__FILE__, __LINE__, __func__, f->path, "H5Dwrite", "dataset %s", name);
done:
    if (dxpl != H5P_DEFAULT) H5Pclose(dxpl);
    if (dset >= 0) H5Dclose(dset);
    if (lcpl >= 0) H5Pclose(lcpl);
    if (memspace >= 0) H5Sclose(memspace);
    if (space >= 0) H5Sclose(space);
    if (t >= 0) H5Tclose(t);
    free(packed);
    CM_CHECK(cm_h5_agree(f, err, name));
    return CM_OK;
}

static cm_err read_strings(cm_h5_file *f, const char *name, int *n, char ***strings)
{
    *n = 0;
    *strings = NULL;
    int exists;
    CM_CHECK(cm_h5_exists(f, name, &exists));
    if (!exists) CM_ERROR(CM_ERR_FORMAT, "%s: dataset %s: not found", f->path, name);
    hid_t dset = H5Dopen2(f->id, name, H5P_DEFAULT);
    if (dset < 0) return cm_h5_fail(__FILE__, __LINE__, __func__, f->path, "H5Dopen2", "dataset %s", name);
    cm_err err = CM_OK;
    char *packed = NULL, **out = NULL;
    hsize_t count = 0;
    hid_t t = H5Dget_type(dset), space = H5Dget_space(dset), memory = H5I_INVALID_HID;
    if (t < 0 || space < 0) {
        err = cm_h5_fail(__FILE__, __LINE__, __func__, f->path, "H5Dget_type", "dataset %s", name);
        goto done;
    }
    if (H5Tget_class(t) != H5T_STRING || H5Tis_variable_str(t) > 0 || H5Sget_simple_extent_ndims(space) != 1) {
        err = CM_RAISE(CM_ERR_FORMAT, "%s: dataset %s: not a 1-D table of fixed-length strings", f->path, name);
        goto done;
    }
    H5Sget_simple_extent_dims(space, &count, NULL);
    size_t width = H5Tget_size(t);
    if (count > (1u << 30) || width == 0 || width > (1u << 20) || (size_t)count * width > ((size_t)1 << 32)) {
        err = CM_RAISE(CM_ERR_FORMAT,
                       "%s: dataset %s: %llu strings of %zu bytes is not a table of names", f->path, name,
                       (unsigned long long)count, width);
        goto done;
    }
    packed = calloc(count ? (size_t)count * width : 1, 1);
    out = calloc(count ? (size_t)count : 1, sizeof *out);
    if (!packed || !out) {
        err = CM_RAISE(CM_ERR_MEM, "%s: dataset %s: out of memory", f->path, name);
        goto done;
    }
    /* Strings are bounded by the width below (strnlen), whatever their padding. */
    memory = H5Tcopy(t);
    if (memory < 0 || (count > 0 && H5Dread(dset, memory, H5S_ALL, H5S_ALL, H5P_DEFAULT, packed) < 0)) {
        err = cm_h5_fail(__FILE__, __LINE__, __func__, f->path, "H5Dread", "dataset %s", name);
        goto done;
    }
    for (hsize_t i = 0; i < count; i++) {
        const char *s = packed + (size_t)i * width;
        size_t len = strnlen(s, width);
        out[i] = malloc(len + 1);
        if (!out[i]) {
            err = CM_RAISE(CM_ERR_MEM, "%s: dataset %s: out of memory", f->path, name);
            goto done;
        }
        memcpy(out[i], s, len);
        out[i][len] = '\0';
    }
done:
    if (memory >= 0) H5Tclose(memory);
    if (t >= 0) H5Tclose(t);
    if (space >= 0) H5Sclose(space);
    H5Dclose(dset);
    free(packed);
    if (err != CM_OK) {
        for (hsize_t i = 0; out && i < count; i++) free(out[i]);
        free(out);
        return err;
    }
    *n = (int)count;
    *strings = out;
    return CM_OK;
}

cm_err cm_h5_read_strings(cm_h5_file *f, const char *name, int *n, char ***strings)
{
    cm_err err = cm_h5_agree(f, read_strings(f, name, n, strings), name);
    if (err != CM_OK) {
        for (int i = 0; *strings && i < *n; i++) free((*strings)[i]);
        free(*strings);
        *strings = NULL;
        *n = 0;
    }
    CM_CHECK(err);
    return CM_OK;
}

cm_err cm_h5_raw_offset(cm_h5_file *f, const char *name, uint64_t *offset)
{
    *offset = UINT64_MAX;
    int exists;
    CM_CHECK(cm_h5_exists(f, name, &exists));
    if (!exists) CM_ERROR(CM_ERR_FORMAT, "%s: dataset %s: not found", f->path, name);
    hid_t dset = H5Dopen2(f->id, name, H5P_DEFAULT);
    if (dset < 0) return cm_h5_fail(__FILE__, __LINE__, __func__, f->path, "H5Dopen2", "dataset %s", name);
    cm_err err = CM_OK;
    hid_t dcpl = H5Dget_create_plist(dset);
    if (dcpl < 0) {
        err = cm_h5_fail(__FILE__, __LINE__, __func__, f->path, "H5Dget_create_plist", "dataset %s", name);
    } else if (H5Pget_layout(dcpl) != H5D_CONTIGUOUS || H5Pget_nfilters(dcpl) != 0) {
        err = CM_RAISE(CM_ERR_FORMAT, "%s: dataset %s: not stored contiguously without filters", f->path, name);
    } else {
        haddr_t at = H5Dget_offset(dset);
        H5Eclear2(H5E_DEFAULT); /* HADDR_UNDEF (no storage yet) leaves an error on the stack */
        if (at != HADDR_UNDEF) *offset = (uint64_t)at;
    }
    if (dcpl >= 0) H5Pclose(dcpl);
    H5Dclose(dset);
    return err;
}
