/* Checked HDF5 wrappers: files, groups, datasets written and read by hyperslabs, attributes.
 * See include/clipmtl/h5io.h for the collective rules. */
#include "clipmtl/h5io.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "clipmtl/log.h"
#include "h5io_internal.h"

/* ---- errors ---- */

void cm_h5_quiet(void)
{
    static int quiet;
    if (!quiet) {
        H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
        quiet = 1;
    }
}

static herr_t first_reason(unsigned n, const H5E_error2_t *e, void *data)
{
    if (n == 0 && e->desc) snprintf(data, 512, "%s", e->desc);
    return 0;
}

/* Whether the file system holding path has no free block: the cause of a failed write that the
 * HDF5 reason does not always name (the MPI-IO driver says "file write failed"). */
static int file_system_full(const char *path)
{
    char dir[4096];
    snprintf(dir, sizeof dir, "%s", path);
    char *slash = strrchr(dir, '/');
    if (!slash) snprintf(dir, sizeof dir, ".");
    else if (slash == dir) dir[1] = '\0';
    else *slash = '\0';
    struct statvfs st;
    return statvfs(dir, &st) == 0 && (geteuid() == 0 ? st.f_bfree : st.f_bavail) == 0;
}

cm_err cm_h5_fail(const char *file, int line, const char *func, const char *path, const char *call,
                  const char *fmt, ...)
{
    char what[1024] = "";
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    char reason[512] = "";
    H5Ewalk2(H5E_DEFAULT, H5E_WALK_UPWARD, first_reason, reason); /* innermost first */
    H5Eclear2(H5E_DEFAULT);
    return cm_error_raise(file, line, func, CM_ERR_LIB, "%s: %s%s%s failed%s%s%s%s", path, what, *what ? ": " : "", call,
                          *reason ? " (HDF5: " : "", reason, *reason ? ")" : "",
                          file_system_full(path) ? ": No space left on device (its file system is full)" : "");
}

/* Every rank learns whether some rank failed; a rank that did not fail itself raises an error
 * saying so, so that no rank enters a collective HDF5 call alone. */
cm_err cm_h5_agree(const cm_h5_file *f, cm_err local, const char *what)
{
    int bad = local != CM_OK, any = bad;
    if (f->nranks > 1 && MPI_Allreduce(&bad, &any, 1, MPI_INT, MPI_MAX, f->comm) != MPI_SUCCESS)
        CM_ERROR(CM_ERR_MPI, "%s: %s: MPI_Allreduce failed", f->path, what);
    if (bad) return local; /* the rank's own error, already raised */
    if (any) CM_ERROR(CM_ERR_MPI, "%s: %s: another rank failed (see its error)", f->path, what);
    return CM_OK;
}

const char *cm_h5_type_name(cm_h5_type type)
{
    static const char *const names[] = {"float32", "float64", "int32", "int64", "uint8"};
    return (int)type >= 0 && (int)type < 5 ? names[type] : "unknown";
}

static hid_t memory_type(cm_h5_type type)
{
    switch (type) {
    case CM_H5_FLOAT: return H5T_NATIVE_FLOAT;
    case CM_H5_DOUBLE: return H5T_NATIVE_DOUBLE;
    case CM_H5_INT32: return H5T_NATIVE_INT32;
    case CM_H5_INT64: return H5T_NATIVE_INT64;
    case CM_H5_UINT8: return H5T_NATIVE_UINT8;
    }
    return H5I_INVALID_HID;
}

/* Files are written little-endian whatever the machine. */
static hid_t file_type(cm_h5_type type)
{
    switch (type) {
    case CM_H5_FLOAT: return H5T_IEEE_F32LE;
    case CM_H5_DOUBLE: return H5T_IEEE_F64LE;
    case CM_H5_INT32: return H5T_STD_I32LE;
    case CM_H5_INT64: return H5T_STD_I64LE;
    case CM_H5_UINT8: return H5T_STD_U8LE;
    }
    return H5I_INVALID_HID;
}

/* The cm_h5_type of a stored type (any byte order), or -1. */
static int stored_type(hid_t t)
{
    H5T_class_t cls = H5Tget_class(t);
    size_t size = H5Tget_size(t);
    if (cls == H5T_FLOAT) return size == 4 ? CM_H5_FLOAT : size == 8 ? CM_H5_DOUBLE : -1;
    if (cls == H5T_INTEGER && H5Tget_sign(t) == H5T_SGN_2) return size == 4 ? CM_H5_INT32 : size == 8 ? CM_H5_INT64 : -1;
    if (cls == H5T_INTEGER && H5Tget_sign(t) == H5T_SGN_NONE && size == 1) return CM_H5_UINT8;
    return -1;
}

/* ---- files ---- */

/* An in-memory file of several ranks exists on rank 0 only: the others send it their data. */
static int held_by_root(const cm_h5_file *f)
{
    return f->in_memory && f->rank != 0;
}

static cm_err file_setup(cm_h5_file *f, MPI_Comm comm, const char *path, int in_memory, hid_t *fapl)
{
    cm_h5_quiet();
    memset(f, 0, sizeof *f);
    f->id = H5I_INVALID_HID;
    f->comm = comm;
    if (MPI_Comm_rank(comm, &f->rank) != MPI_SUCCESS || MPI_Comm_size(comm, &f->nranks) != MPI_SUCCESS)
        CM_ERROR(CM_ERR_MPI, "%s: invalid communicator", path);
    f->path = strdup(path);
    if (!f->path) CM_ERROR(CM_ERR_MEM, "out of memory copying the path %s", path);
    f->in_memory = in_memory;
    *fapl = H5Pcreate(H5P_FILE_ACCESS);
    if (*fapl < 0) return cm_h5_fail(__FILE__, __LINE__, __func__, path, "H5Pcreate", "file access list");
    if (f->nranks > 1 && !in_memory && H5Pset_fapl_mpio(*fapl, comm, MPI_INFO_NULL) < 0)
        return cm_h5_fail(__FILE__, __LINE__, __func__, path, "H5Pset_fapl_mpio", "%s", "");
    if (f->in_memory && H5Pset_fapl_core(*fapl, (size_t)1 << 20, 0) < 0)
        return cm_h5_fail(__FILE__, __LINE__, __func__, path, "H5Pset_fapl_core", "%s", "");
    return CM_OK;
}

static cm_err open_or_create(cm_h5_file *f, MPI_Comm comm, const char *path, int create, int writable, int in_memory)
{
    hid_t fapl = H5I_INVALID_HID;
    cm_err err = file_setup(f, comm, path, in_memory, &fapl);
    if (err == CM_OK && !held_by_root(f)) {
        f->id = create ? H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, fapl)
                       : H5Fopen(path, writable ? H5F_ACC_RDWR : H5F_ACC_RDONLY, fapl);
        if (f->id < 0)
            err = cm_h5_fail(__FILE__, __LINE__, __func__, path, create ? "H5Fcreate" : "H5Fopen", "%s", "");
    }
    if (fapl >= 0) H5Pclose(fapl);
    if (in_memory) err = cm_h5_agree(f, err, "create"); /* only rank 0 created it */
    if (err != CM_OK) {
        if (f->id >= 0) H5Fclose(f->id);
        f->id = H5I_INVALID_HID;
        free(f->path);
        f->path = NULL;
        return cm_error_trace(__FILE__, __LINE__, __func__, err);
    }
    return CM_OK;
}

cm_err cm_h5_create(cm_h5_file *f, MPI_Comm comm, const char *path)
{
    CM_CHECK(open_or_create(f, comm, path, 1, 1, 0));
    return CM_OK;
}

cm_err cm_h5_create_small(cm_h5_file *f, MPI_Comm comm, const char *path)
{
    CM_CHECK(open_or_create(f, comm, path, 1, 1, 1));
    return CM_OK;
}

cm_err cm_h5_open(cm_h5_file *f, MPI_Comm comm, const char *path, int writable)
{
    CM_CHECK(open_or_create(f, comm, path, 0, writable, 0));
    return CM_OK;
}

static cm_err write_whole(const char *path, const void *data, size_t size)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0666);
    if (fd < 0) CM_ERROR(CM_ERR_IO, "%s: cannot create: %s", path, strerror(errno));
    const char *p = data;
    int saved = 0;
    for (size_t done = 0; done < size && !saved;) {
        ssize_t n = write(fd, p + done, size - done);
        if (n < 0 && errno != EINTR) saved = errno;
        if (n > 0) done += (size_t)n;
    }
    if (close(fd) != 0 && !saved) saved = errno;
    if (saved) {
        unlink(path);
        CM_ERROR(CM_ERR_IO, "%s: writing %zu bytes failed: %s", path, size, strerror(saved));
    }
    return CM_OK;
}

/* An in-memory file: its image goes to disk with plain writes, whose errors leave nothing behind. */
static cm_err close_in_memory(cm_h5_file *f, int keep)
{
    cm_err err = CM_OK;
    void *image = NULL;
    /* the image is what the driver holds: cached metadata goes there first */
    ssize_t size = !keep ? 0 : H5Fflush(f->id, H5F_SCOPE_LOCAL) < 0 ? -1 : H5Fget_file_image(f->id, NULL, 0);
    if (size < 0 || (size > 0 && !(image = malloc((size_t)size))) ||
        (size > 0 && H5Fget_file_image(f->id, image, (size_t)size) < 0))
        err = cm_h5_fail(__FILE__, __LINE__, __func__, f->path, "H5Fget_file_image", "%zd bytes", size);
    if (H5Fclose(f->id) < 0 && err == CM_OK) err = cm_h5_fail(__FILE__, __LINE__, __func__, f->path, "H5Fclose", "%s", "");
    if (err == CM_OK && keep) err = write_whole(f->path, image, (size_t)size);
    free(image);
    return err;
}

static cm_err close_file(cm_h5_file *f, int keep)
{
    if (!f->path) return CM_OK;
    cm_err err = CM_OK;
    if (f->in_memory) err = held_by_root(f) ? CM_OK : close_in_memory(f, keep);
    else if (f->id >= 0 && H5Fclose(f->id) < 0) err = cm_h5_fail(__FILE__, __LINE__, __func__, f->path, "H5Fclose", "%s", "");
    if (!keep && f->rank == 0 && unlink(f->path) != 0 && errno != ENOENT && err == CM_OK)
        err = CM_RAISE(CM_ERR_IO, "%s: cannot remove: %s", f->path, strerror(errno));
    err = cm_h5_agree(f, err, "close");
    f->id = H5I_INVALID_HID;
    free(f->path);
    f->path = NULL;
    return err;
}

cm_err cm_h5_close(cm_h5_file *f)
{
    CM_CHECK(close_file(f, 1));
    return CM_OK;
}

void cm_h5_discard(cm_h5_file *f)
{
    cm_error_state cause;
    cm_error_save(&cause);
    if (close_file(f, 0) != CM_OK) cm_log_warn("while discarding a file: %s", cm_error_message());
    cm_error_restore(&cause);
}

/* ---- groups ---- */

cm_err cm_h5_intermediate_groups(const cm_h5_file *f, const char *name, hid_t *lcpl)
{
    *lcpl = H5Pcreate(H5P_LINK_CREATE);
    if (*lcpl < 0 || H5Pset_create_intermediate_group(*lcpl, 1) < 0) {
        if (*lcpl >= 0) H5Pclose(*lcpl);
        *lcpl = H5I_INVALID_HID;
        return cm_h5_fail(__FILE__, __LINE__, __func__, f->path, "H5Pset_create_intermediate_group", "%s", name);
    }
    return CM_OK;
}

cm_err cm_h5_exists(cm_h5_file *f, const char *path, int *exists)
{
    *exists = 1;
    size_t len = strlen(path);
    char *prefix = malloc(len + 1);
    if (!prefix) CM_ERROR(CM_ERR_MEM, "out of memory for the path %s", path);
    /* H5Lexists fails on a missing intermediate link: test each prefix in turn. */
    for (size_t i = 1; i <= len && *exists; i++) {
        if (i < len && path[i] != '/') continue;
        memcpy(prefix, path, i);
        prefix[i] = '\0';
        if (strcmp(prefix, "/") == 0) continue;
        htri_t e = H5Lexists(f->id, prefix, H5P_DEFAULT);
        if (e < 0) {
            free(prefix);
            return cm_h5_fail(__FILE__, __LINE__, __func__, f->path, "H5Lexists", "%s", path);
        }
        *exists = e > 0;
    }
    free(prefix);
    return CM_OK;
}

static cm_err create_group(cm_h5_file *f, const char *path)
{
    int exists;
    CM_CHECK(cm_h5_exists(f, path, &exists));
    if (exists) return CM_OK;
    hid_t lcpl;
    CM_CHECK(cm_h5_intermediate_groups(f, path, &lcpl));
    hid_t g = H5Gcreate2(f->id, path, lcpl, H5P_DEFAULT, H5P_DEFAULT);
    H5Pclose(lcpl);
    if (g < 0) return cm_h5_fail(__FILE__, __LINE__, __func__, f->path, "H5Gcreate2", "group %s", path);
    H5Gclose(g);
    return CM_OK;
}

cm_err cm_h5_create_group(cm_h5_file *f, const char *path)
{
    CM_CHECK(cm_h5_agree(f, held_by_root(f) ? CM_OK : create_group(f, path), path));
    return CM_OK;
}

/* ---- datasets ---- */

static cm_err check_shape(const cm_h5_file *f, const char *name, int ndims, const uint64_t *dims)
{
    if (ndims < 1 || ndims > CM_H5_MAX_DIMS)
        CM_ERROR(CM_ERR_ARG, "%s: dataset %s: %d dimensions (1..%d)", f->path, name, ndims, CM_H5_MAX_DIMS);
    for (int d = 0; d < ndims; d++)
        if (dims[d] > (uint64_t)1 << 62) CM_ERROR(CM_ERR_ARG, "%s: dataset %s: dimension %d is %llu", f->path, name, d,
                                                   (unsigned long long)dims[d]);
    return CM_OK;
}

/* Checks one rank's slab against the shape; *nvalues = prod(count). */
static cm_err check_slab(const cm_h5_file *f, const char *name, int ndims, const uint64_t *dims, const uint64_t *start,
                         const uint64_t *count, const void *data, size_t *nvalues)
{
    size_t n = 1;
    for (int d = 0; d < ndims; d++) {
        if (start[d] > dims[d] || count[d] > dims[d] - start[d])
            CM_ERROR(CM_ERR_ARG, "%s: dataset %s: rank %d's slab [%llu, %llu) in dimension %d is outside 0..%llu",
                     f->path, name, f->rank, (unsigned long long)start[d], (unsigned long long)(start[d] + count[d]), d,
                     (unsigned long long)dims[d]);
        n *= (size_t)count[d];
    }
    if (n > 0 && !data) CM_ERROR(CM_ERR_ARG, "%s: dataset %s: rank %d passed no buffer for %zu values", f->path, name, f->rank, n);
    *nvalues = n;
    return CM_OK;
}

/* Opens a dataset and reads its type and shape. */
static cm_err open_dataset(cm_h5_file *f, const char *name, hid_t *dset, int *type, int *ndims, hsize_t *dims)
{
    int exists;
    CM_CHECK(cm_h5_exists(f, name, &exists));
    if (!exists) CM_ERROR(CM_ERR_FORMAT, "%s: dataset %s: not found", f->path, name);
    *dset = H5Dopen2(f->id, name, H5P_DEFAULT);
    if (*dset < 0) return cm_h5_fail(__FILE__, __LINE__, __func__, f->path, "H5Dopen2", "dataset %s", name);
    hid_t t = H5Dget_type(*dset), space = H5Dget_space(*dset);
    cm_err err = CM_OK;
    if (t < 0 || space < 0) {
        err = cm_h5_fail(__FILE__, __LINE__, __func__, f->path, "H5Dget_type/H5Dget_space", "dataset %s", name);
    } else {
        *type = stored_type(t);
        *ndims = H5Sget_simple_extent_ndims(space);
        if (*ndims < 0 || *ndims > CM_H5_MAX_DIMS)
            err = CM_RAISE(CM_ERR_FORMAT, "%s: dataset %s: %d dimensions (at most %d)",
                           f->path, name, *ndims, CM_H5_MAX_DIMS);
        else if (H5Sget_simple_extent_dims(space, dims, NULL) < 0)
            err = cm_h5_fail(__FILE__, __LINE__, __func__, f->path, "H5Sget_simple_extent_dims", "dataset %s", name);
    }
    if (t >= 0) H5Tclose(t);
    if (space >= 0) H5Sclose(space);
    if (err != CM_OK) {
        H5Dclose(*dset);
        return err;
    }
    return CM_OK;
}

/* The dataset, created if missing; an existing one must have exactly this type and shape. */
static cm_err dataset_for_write(cm_h5_file *f, const char *name, cm_h5_type type, int ndims, const uint64_t *dims,
                                hid_t *dset)
{
    int exists;
    CM_CHECK(cm_h5_exists(f, name, &exists));
    if (exists) {
        int stored, stored_ndims;
        hsize_t stored_dims[CM_H5_MAX_DIMS];
        CM_CHECK(open_dataset(f, name, dset, &stored, &stored_ndims, stored_dims));
        int same = stored == (int)type && stored_ndims == ndims;
        for (int d = 0; same && d < ndims; d++) same = stored_dims[d] == dims[d];
        if (!same) {
            H5Dclose(*dset);
            CM_ERROR(CM_ERR_FORMAT, "%s: dataset %s: exists with another type or shape than the %s[%d dims] written",
                     f->path, name, cm_h5_type_name(type), ndims);
        }
        return CM_OK;
    }
    hsize_t hdims[CM_H5_MAX_DIMS];
    for (int d = 0; d < ndims; d++) hdims[d] = dims[d];
    hid_t space = H5Screate_simple(ndims, hdims, NULL);
    if (space < 0) return cm_h5_fail(__FILE__, __LINE__, __func__, f->path, "H5Screate_simple", "dataset %s", name);
    hid_t lcpl;
    cm_err err = cm_h5_intermediate_groups(f, name, &lcpl);
    if (err != CM_OK) {
        H5Sclose(space);
        return err;
    }
    *dset = H5Dcreate2(f->id, name, file_type(type), space, lcpl, H5P_DEFAULT, H5P_DEFAULT);
    H5Pclose(lcpl);
    H5Sclose(space);
    if (*dset < 0) return cm_h5_fail(__FILE__, __LINE__, __func__, f->path, "H5Dcreate2", "dataset %s", name);
    return CM_OK;
}

cm_err cm_h5_transfer_list(const cm_h5_file *f, const char *name, hid_t *dxpl)
{
    *dxpl = H5P_DEFAULT;
    if (f->nranks == 1 || f->in_memory) return CM_OK;
    *dxpl = H5Pcreate(H5P_DATASET_XFER);
    if (*dxpl < 0 || H5Pset_dxpl_mpio(*dxpl, H5FD_MPIO_COLLECTIVE) < 0) {
        if (*dxpl >= 0) H5Pclose(*dxpl);
        *dxpl = H5P_DEFAULT;
        return cm_h5_fail(__FILE__, __LINE__, __func__, f->path, "H5Pset_dxpl_mpio", "dataset %s", name);
    }
    return CM_OK;
}

/* Selects this rank's slab in the file space and makes the matching memory space; a rank with
 * nothing to transfer selects nothing but still takes part in the collective call. */
static cm_err select_slab(const cm_h5_file *f, const char *name, hid_t dset, int ndims, const uint64_t *start,
                          const uint64_t *count, size_t nvalues, hid_t *filespace, hid_t *memspace)
{
    hsize_t hstart[CM_H5_MAX_DIMS], hcount[CM_H5_MAX_DIMS];
    for (int d = 0; d < ndims; d++) {
        hstart[d] = start[d];
        hcount[d] = count[d];
    }
    *filespace = H5Dget_space(dset);
    *memspace = H5Screate_simple(ndims, hcount, NULL);
    herr_t status = *filespace < 0 || *memspace < 0 ? -1 : 0;
    if (status >= 0 && nvalues == 0) status = H5Sselect_none(*filespace) < 0 || H5Sselect_none(*memspace) < 0 ? -1 : 0;
    else if (status >= 0) status = H5Sselect_hyperslab(*filespace, H5S_SELECT_SET, hstart, NULL, hcount, NULL);
    if (status < 0) {
        if (*filespace >= 0) H5Sclose(*filespace);
        if (*memspace >= 0) H5Sclose(*memspace);
        return cm_h5_fail(__FILE__, __LINE__, __func__, f->path, "H5Sselect_hyperslab", "dataset %s", name);
    }
    return CM_OK;
}

/* One collective transfer of this rank's slab (write or read). */
static cm_err transfer(cm_h5_file *f, const char *name, hid_t dset, cm_h5_type type, int ndims, const uint64_t *start,
                       const uint64_t *count, size_t nvalues, void *data, int writing)
{
    hid_t filespace, memspace, dxpl;
    CM_CHECK(select_slab(f, name, dset, ndims, start, count, nvalues, &filespace, &memspace));
    cm_err err = cm_h5_transfer_list(f, name, &dxpl);
    if (err == CM_OK) {
        herr_t status = writing ? H5Dwrite(dset, memory_type(type), memspace, filespace, dxpl, data)
                                : H5Dread(dset, memory_type(type), memspace, filespace, dxpl, data);
        if (status < 0)
            err = cm_h5_fail(__FILE__, __LINE__, __func__, f->path, writing ? "H5Dwrite" : "H5Dread", "dataset %s", name);
    }
    if (dxpl != H5P_DEFAULT) H5Pclose(dxpl);
    H5Sclose(filespace);
    H5Sclose(memspace);
    return err;
}

/* An in-memory file of several ranks: rank 0 writes every rank's slab into it in turn. local is
 * this rank's verdict on its arguments. */
static cm_err write_through_root(cm_h5_file *f, const char *name, cm_h5_type type, int ndims, const uint64_t *dims,
                                 const uint64_t *start, const uint64_t *count, const void *data, size_t nvalues,
                                 cm_err local)
{
    enum { SLAB = 2 * CM_H5_MAX_DIMS };
    const size_t value_bytes = H5Tget_size(memory_type(type));
    if (local == CM_OK && nvalues * value_bytes > INT_MAX)
        local = CM_RAISE(CM_ERR_ARG, "%s: dataset %s: rank %d's slab of %zu values "
                         "is too large for one message", f->path, name, f->rank, nvalues);
    uint64_t mine[SLAB] = {0}, *slabs = NULL;
    hid_t dset = H5I_INVALID_HID;
    void *received = NULL;
    if (local == CM_OK && f->rank == 0) {
        size_t whole = value_bytes; /* room for any rank's slab */
        for (int d = 0; d < ndims; d++) whole *= (size_t)dims[d];
        slabs = calloc((size_t)f->nranks * SLAB, sizeof *slabs);
        received = malloc(whole ? whole : 1);
        if (!slabs || !received)
            local = CM_RAISE(CM_ERR_MEM, "%s: dataset %s: out of memory", f->path, name);
    }
    if (local == CM_OK && f->rank == 0 && (local = dataset_for_write(f, name, type, ndims, dims, &dset)) != CM_OK)
        dset = H5I_INVALID_HID;
    cm_err err = cm_h5_agree(f, local, name);
    for (int d = 0; d < ndims; d++) mine[d] = start[d], mine[CM_H5_MAX_DIMS + d] = count[d];
    if (err == CM_OK && MPI_Gather(mine, SLAB, MPI_UINT64_T, slabs, SLAB, MPI_UINT64_T, 0, f->comm) != MPI_SUCCESS)
        err = CM_RAISE(CM_ERR_MPI, "%s: dataset %s: MPI_Gather failed", f->path, name);
    if (err == CM_OK && f->rank != 0 && nvalues > 0 &&
        MPI_Send(data, (int)(nvalues * value_bytes), MPI_BYTE, 0, 0, f->comm) != MPI_SUCCESS)
        err = CM_RAISE(CM_ERR_MPI, "%s: dataset %s: MPI_Send failed", f->path, name);
    /* Once the slabs are gathered every sender's message is received, even after a failed write:
     * the senders wait for it. */
    const int gathered = err == CM_OK;
    for (int r = 0; gathered && f->rank == 0 && r < f->nranks; r++) {
        const uint64_t *s = slabs + (size_t)r * SLAB, *c = s + CM_H5_MAX_DIMS;
        size_t n = 1;
        for (int d = 0; d < ndims; d++) n *= (size_t)c[d];
        if (n == 0) continue;
        if (r > 0 && MPI_Recv(received, (int)(n * value_bytes), MPI_BYTE, r, 0, f->comm, MPI_STATUS_IGNORE) != MPI_SUCCESS &&
            err == CM_OK)
            err = CM_RAISE(CM_ERR_MPI, "%s: dataset %s: MPI_Recv failed", f->path, name);
        if (err == CM_OK) err = transfer(f, name, dset, type, ndims, s, c, n, r == 0 ? (void *)data : received, 1);
    }
    if (dset >= 0 && H5Dclose(dset) < 0 && err == CM_OK)
        err = cm_h5_fail(__FILE__, __LINE__, __func__, f->path, "H5Dclose", "dataset %s", name);
    free(slabs), free(received);
    CM_CHECK(cm_h5_agree(f, err, name));
    return CM_OK;
}

cm_err cm_h5_write(cm_h5_file *f, const char *name, cm_h5_type type, int ndims, const uint64_t *dims,
                   const uint64_t *start, const uint64_t *count, const void *data)
{
    size_t nvalues = 0;
    cm_err local = check_shape(f, name, ndims, dims);
    if (local == CM_OK) local = check_slab(f, name, ndims, dims, start, count, data, &nvalues);
    if (f->in_memory && f->nranks > 1) {
        CM_CHECK(write_through_root(f, name, type, ndims, dims, start, count, data, nvalues, local));
        return CM_OK;
    }
    hid_t dset = H5I_INVALID_HID;
    if (local == CM_OK && (local = dataset_for_write(f, name, type, ndims, dims, &dset)) != CM_OK) dset = H5I_INVALID_HID;
    cm_err err = cm_h5_agree(f, local, name);
    if (err == CM_OK) err = transfer(f, name, dset, type, ndims, start, count, nvalues, (void *)data, 1);
    if (dset >= 0 && H5Dclose(dset) < 0 && err == CM_OK)
        err = cm_h5_fail(__FILE__, __LINE__, __func__, f->path, "H5Dclose", "dataset %s", name);
    /* A full disk fails the write on the ranks that hold the data: all must know before the next call. */
    CM_CHECK(cm_h5_agree(f, err, name));
    return CM_OK;
}

cm_err cm_h5_write_owner(cm_h5_file *f, const char *name, cm_h5_type type, int ndims, const uint64_t *dims,
                         int owner, const void *data)
{
    if (owner < 0 || owner >= f->nranks)
        CM_ERROR(CM_ERR_ARG, "%s: dataset %s: owner rank %d outside 0..%d", f->path, name, owner, f->nranks - 1);
    uint64_t start[CM_H5_MAX_DIMS] = {0}, count[CM_H5_MAX_DIMS] = {0};
    for (int d = 0; d < ndims && d < CM_H5_MAX_DIMS; d++) count[d] = f->rank == owner ? dims[d] : 0;
    CM_CHECK(cm_h5_write(f, name, type, ndims, dims, start, count, f->rank == owner ? data : NULL));
    return CM_OK;
}

cm_err cm_h5_shape(cm_h5_file *f, const char *name, cm_h5_type *type, int *ndims, uint64_t *dims)
{
    hid_t dset;
    int stored;
    hsize_t hdims[CM_H5_MAX_DIMS];
    CM_CHECK(open_dataset(f, name, &dset, &stored, ndims, hdims));
    H5Dclose(dset);
    if (stored < 0) CM_ERROR(CM_ERR_FORMAT, "%s: dataset %s: not float32, float64, int32, int64 or uint8", f->path, name);
    *type = (cm_h5_type)stored;
    for (int d = 0; d < *ndims; d++) dims[d] = hdims[d];
    return CM_OK;
}

/* Opens a dataset for reading and checks that it is stored as `type`. */
static cm_err dataset_for_read(cm_h5_file *f, const char *name, cm_h5_type type, hid_t *dset, int *ndims,
                               uint64_t *dims)
{
    int stored;
    hsize_t hdims[CM_H5_MAX_DIMS];
    CM_CHECK(open_dataset(f, name, dset, &stored, ndims, hdims));
    if (stored != (int)type) {
        H5Dclose(*dset);
        CM_ERROR(CM_ERR_FORMAT, "%s: dataset %s: holds %s, expected %s", f->path, name,
                 stored < 0 ? "another type" : cm_h5_type_name((cm_h5_type)stored), cm_h5_type_name(type));
    }
    for (int d = 0; d < *ndims; d++) dims[d] = hdims[d];
    return CM_OK;
}

cm_err cm_h5_read(cm_h5_file *f, const char *name, cm_h5_type type, const uint64_t *start, const uint64_t *count,
                  void *data)
{
    hid_t dset = H5I_INVALID_HID;
    int ndims;
    uint64_t dims[CM_H5_MAX_DIMS];
    size_t nvalues = 0;
    cm_err err = dataset_for_read(f, name, type, &dset, &ndims, dims);
    if (err == CM_OK) err = check_slab(f, name, ndims, dims, start, count, data, &nvalues);
    else dset = H5I_INVALID_HID;
    err = cm_h5_agree(f, err, name);
    if (err == CM_OK) err = transfer(f, name, dset, type, ndims, start, count, nvalues, data, 0);
    if (dset >= 0) H5Dclose(dset);
    CM_CHECK(cm_h5_agree(f, err, name));
    return CM_OK;
}

cm_err cm_h5_read_all(cm_h5_file *f, const char *name, cm_h5_type type, void *data, size_t nvalues)
{
    hid_t dset = H5I_INVALID_HID;
    int ndims;
    uint64_t dims[CM_H5_MAX_DIMS], start[CM_H5_MAX_DIMS] = {0};
    cm_err err = dataset_for_read(f, name, type, &dset, &ndims, dims);
    if (err != CM_OK) dset = H5I_INVALID_HID;
    size_t stored = 1;
    for (int d = 0; err == CM_OK && d < ndims; d++) stored *= (size_t)dims[d];
    if (err == CM_OK && stored != nvalues)
        err = CM_RAISE(CM_ERR_FORMAT, "%s: dataset %s: holds %zu values, expected %zu", f->path, name, stored, nvalues);
    err = cm_h5_agree(f, err, name);
    if (err == CM_OK) err = transfer(f, name, dset, type, ndims, start, dims, nvalues, data, 0);
    if (dset >= 0) H5Dclose(dset);
    CM_CHECK(cm_h5_agree(f, err, name));
    return CM_OK;
}

/* ---- attributes ---- */

static cm_err open_object(cm_h5_file *f, const char *object, const char *name, hid_t *obj)
{
    *obj = H5Oopen(f->id, object, H5P_DEFAULT);
    if (*obj < 0) return cm_h5_fail(__FILE__, __LINE__, __func__, f->path, "H5Oopen", "attribute %s of %s", name, object);
    return CM_OK;
}

/* Writes a scalar attribute, replacing an existing one of that name. */
static cm_err write_attr(cm_h5_file *f, const char *object, const char *name, hid_t stored, hid_t memory,
                         const void *value)
{
    hid_t obj;
    CM_CHECK(open_object(f, object, name, &obj));
    cm_err err = CM_OK;
    hid_t space = H5I_INVALID_HID, attr = H5I_INVALID_HID;
    htri_t exists = H5Aexists(obj, name);
    if (exists < 0 || (exists > 0 && H5Adelete(obj, name) < 0)) {
        err = cm_h5_fail(__FILE__, __LINE__, __func__, f->path, "H5Adelete", "attribute %s of %s", name, object);
        goto done;
    }
    space = H5Screate(H5S_SCALAR);
    attr = space < 0 ? H5I_INVALID_HID : H5Acreate2(obj, name, stored, space, H5P_DEFAULT, H5P_DEFAULT);
    if (attr < 0) {
        err = cm_h5_fail(__FILE__, __LINE__, __func__, f->path, "H5Acreate2", "attribute %s of %s", name, object);
        goto done;
    }
    if (H5Awrite(attr, memory, value) < 0)
        err = cm_h5_fail(__FILE__, __LINE__, __func__, f->path, "H5Awrite", "attribute %s of %s", name, object);
done:
    if (attr >= 0) H5Aclose(attr);
    if (space >= 0) H5Sclose(space);
    H5Oclose(obj);
    return err;
}

cm_err cm_h5_write_attr_string(cm_h5_file *f, const char *object, const char *name, const char *text)
{
    /* Larger attributes need HDF5's dense attribute storage, whose parallel writes were seen to
     * leave the ranks with different file sizes (a hang in H5Fclose): texts go to datasets. */
    if (strlen(text) > CM_H5_MAX_ATTR_BYTES)
        CM_ERROR(CM_ERR_ARG, "%s: attribute %s of %s: %zu bytes is more than %d; use cm_h5_write_text", f->path, name,
                 object, strlen(text), CM_H5_MAX_ATTR_BYTES);
    hid_t t = H5Tcopy(H5T_C_S1);
    if (t < 0 || H5Tset_size(t, strlen(text) + 1) < 0 || H5Tset_strpad(t, H5T_STR_NULLTERM) < 0 ||
        H5Tset_cset(t, H5T_CSET_UTF8) < 0) {
        if (t >= 0) H5Tclose(t);
        return cm_h5_fail(__FILE__, __LINE__, __func__, f->path, "H5Tset_size", "attribute %s of %s", name, object);
    }
    cm_err err = held_by_root(f) ? CM_OK : write_attr(f, object, name, t, t, text);
    H5Tclose(t);
    CM_CHECK(cm_h5_agree(f, err, name));
    return CM_OK;
}

cm_err cm_h5_write_attr_int64(cm_h5_file *f, const char *object, const char *name, int64_t value)
{
    cm_err err = held_by_root(f) ? CM_OK : write_attr(f, object, name, H5T_STD_I64LE, H5T_NATIVE_INT64, &value);
    CM_CHECK(cm_h5_agree(f, err, name));
    return CM_OK;
}

static cm_err open_attr(cm_h5_file *f, const char *object, const char *name, hid_t *obj, hid_t *attr)
{
    CM_CHECK(open_object(f, object, name, obj));
    htri_t exists = H5Aexists(*obj, name);
    if (exists <= 0) {
        H5Oclose(*obj);
        if (exists < 0) return cm_h5_fail(__FILE__, __LINE__, __func__, f->path, "H5Aexists", "attribute %s of %s", name, object);
        CM_ERROR(CM_ERR_FORMAT, "%s: attribute %s of %s: not found", f->path, name, object);
    }
    *attr = H5Aopen(*obj, name, H5P_DEFAULT);
    if (*attr < 0) {
        H5Oclose(*obj);
        return cm_h5_fail(__FILE__, __LINE__, __func__, f->path, "H5Aopen", "attribute %s of %s", name, object);
    }
    return CM_OK;
}

static cm_err read_attr_string(cm_h5_file *f, const char *object, const char *name, char **text)
{
    *text = NULL;
    hid_t obj, attr;
    CM_CHECK(open_attr(f, object, name, &obj, &attr));
    cm_err err = CM_OK;
    hid_t t = H5Aget_type(attr), memory = H5I_INVALID_HID;
    if (t < 0 || H5Tget_class(t) != H5T_STRING) {
        err = CM_RAISE(CM_ERR_FORMAT, "%s: attribute %s of %s: not a string", f->path, name, object);
        goto done;
    }
    if (H5Tis_variable_str(t) > 0) { /* as h5py writes str attributes */
        char *vl = NULL;
        memory = H5Tcopy(H5T_C_S1);
        if (memory < 0 || H5Tset_size(memory, H5T_VARIABLE) < 0 || H5Aread(attr, memory, &vl) < 0) {
            err = cm_h5_fail(__FILE__, __LINE__, __func__, f->path, "H5Aread", "attribute %s of %s", name, object);
            goto done;
        }
        *text = strdup(vl ? vl : "");
        H5free_memory(vl);
    } else {
        size_t size = H5Tget_size(t);
        char *buf = calloc(size + 1, 1);
        memory = H5Tcopy(t);
        if (!buf || memory < 0 || H5Aread(attr, memory, buf) < 0) {
            free(buf);
            err = cm_h5_fail(__FILE__, __LINE__, __func__, f->path, "H5Aread", "attribute %s of %s", name, object);
            goto done;
        }
        *text = buf; /* calloc'd one byte longer: terminated even if stored without a NUL */
    }
    if (!*text) err = CM_RAISE(CM_ERR_MEM, "out of memory reading attribute %s", name);
done:
    if (memory >= 0) H5Tclose(memory);
    if (t >= 0) H5Tclose(t);
    H5Aclose(attr);
    H5Oclose(obj);
    return err;
}

cm_err cm_h5_read_attr_string(cm_h5_file *f, const char *object, const char *name, char **text)
{
    cm_err err = cm_h5_agree(f, read_attr_string(f, object, name, text), name);
    if (err != CM_OK) {
        free(*text);
        *text = NULL;
    }
    CM_CHECK(err);
    return CM_OK;
}

static cm_err read_attr_int64(cm_h5_file *f, const char *object, const char *name, int64_t *value)
{
    hid_t obj, attr;
    CM_CHECK(open_attr(f, object, name, &obj, &attr));
    cm_err err = CM_OK;
    hid_t t = H5Aget_type(attr);
    if (t < 0 || H5Tget_class(t) != H5T_INTEGER)
        err = CM_RAISE(CM_ERR_FORMAT, "%s: attribute %s of %s: not an integer", f->path, name, object);
    else if (H5Aread(attr, H5T_NATIVE_INT64, value) < 0)
        err = cm_h5_fail(__FILE__, __LINE__, __func__, f->path, "H5Aread", "attribute %s of %s", name, object);
    if (t >= 0) H5Tclose(t);
    H5Aclose(attr);
    H5Oclose(obj);
    return err;
}

cm_err cm_h5_read_attr_int64(cm_h5_file *f, const char *object, const char *name, int64_t *value)
{
    CM_CHECK(cm_h5_agree(f, read_attr_int64(f, object, name, value), name));
    return CM_OK;
}

/* ---- texts ---- */

/* A fixed-length string type of `size` bytes (NUL included). */
static hid_t string_type(size_t size)
{
    hid_t t = H5Tcopy(H5T_C_S1);
    if (t >= 0 && (H5Tset_size(t, size) < 0 || H5Tset_strpad(t, H5T_STR_NULLTERM) < 0 || H5Tset_cset(t, H5T_CSET_UTF8) < 0)) {
        H5Tclose(t);
        return H5I_INVALID_HID;
    }
    return t;
}

static cm_err write_text(cm_h5_file *f, const char *name, const char *text)
{
    int exists;
    CM_CHECK(cm_h5_exists(f, name, &exists));
    if (exists) CM_ERROR(CM_ERR_FORMAT, "%s: text %s: exists already", f->path, name);
    cm_err err = CM_OK;
    hid_t t = string_type(strlen(text) + 1), space = H5Screate(H5S_SCALAR), lcpl = H5I_INVALID_HID;
    hid_t dset = H5I_INVALID_HID, filespace = H5I_INVALID_HID, memspace = H5I_INVALID_HID, dxpl = H5P_DEFAULT;
    if (t < 0 || space < 0) {
        err = cm_h5_fail(__FILE__, __LINE__, __func__, f->path, "H5Tset_size", "text %s", name);
        goto done;
    }
    CM_CHECK_GOTO(err, cm_h5_intermediate_groups(f, name, &lcpl), done);
    dset = H5Dcreate2(f->id, name, t, space, lcpl, H5P_DEFAULT, H5P_DEFAULT);
    if (dset < 0) {
        err = cm_h5_fail(__FILE__, __LINE__, __func__, f->path, "H5Dcreate2", "text %s", name);
        goto done;
    }
    /* rank 0 writes, the others take part in the collective call with nothing selected */
    filespace = H5Dget_space(dset);
    memspace = H5Screate(H5S_SCALAR);
    if (filespace < 0 || memspace < 0 ||
        (f->rank != 0 && (H5Sselect_none(filespace) < 0 || H5Sselect_none(memspace) < 0))) {
        err = cm_h5_fail(__FILE__, __LINE__, __func__, f->path, "H5Sselect_none", "text %s", name);
        goto done;
    }
    CM_CHECK_GOTO(err, cm_h5_transfer_list(f, name, &dxpl), done);
    if (H5Dwrite(dset, t, memspace, filespace, dxpl, text) < 0)
        err = cm_h5_fail(__FILE__, __LINE__, __func__, f->path, "H5Dwrite", "text %s", name);
done:
    if (dxpl != H5P_DEFAULT) H5Pclose(dxpl);
    if (memspace >= 0) H5Sclose(memspace);
    if (filespace >= 0) H5Sclose(filespace);
    if (dset >= 0 && H5Dclose(dset) < 0 && err == CM_OK)
        err = cm_h5_fail(__FILE__, __LINE__, __func__, f->path, "H5Dclose", "text %s", name);
    if (lcpl >= 0) H5Pclose(lcpl);
    if (space >= 0) H5Sclose(space);
    if (t >= 0) H5Tclose(t);
    return err;
}

cm_err cm_h5_write_text(cm_h5_file *f, const char *name, const char *text)
{
    CM_CHECK(cm_h5_agree(f, held_by_root(f) ? CM_OK : write_text(f, name, text), name));
    return CM_OK;
}

static cm_err read_text(cm_h5_file *f, const char *name, char **text)
{
    *text = NULL;
    int exists;
    CM_CHECK(cm_h5_exists(f, name, &exists));
    if (!exists) CM_ERROR(CM_ERR_FORMAT, "%s: text %s: not found", f->path, name);
    hid_t dset = H5Dopen2(f->id, name, H5P_DEFAULT);
    if (dset < 0) return cm_h5_fail(__FILE__, __LINE__, __func__, f->path, "H5Dopen2", "text %s", name);
    cm_err err = CM_OK;
    hid_t stored = H5Dget_type(dset), space = H5Dget_space(dset), memory = H5I_INVALID_HID, dxpl = H5P_DEFAULT;
    char *buf = NULL;
    if (stored < 0 || space < 0) {
        err = cm_h5_fail(__FILE__, __LINE__, __func__, f->path, "H5Dget_type", "text %s", name);
        goto done;
    }
    if (H5Tget_class(stored) != H5T_STRING || H5Tis_variable_str(stored) != 0 ||
        H5Sget_simple_extent_type(space) != H5S_SCALAR) {
        err = CM_RAISE(CM_ERR_FORMAT, "%s: text %s: not a fixed-length string", f->path, name);
        goto done;
    }
    size_t size = H5Tget_size(stored);
    buf = calloc(size + 1, 1); /* one byte more: terminated even without a stored NUL */
    memory = string_type(size);
    if (!buf || memory < 0) {
        err = CM_RAISE(CM_ERR_MEM, "%s: text %s: out of memory for %zu bytes", f->path, name, size);
        goto done;
    }
    CM_CHECK_GOTO(err, cm_h5_transfer_list(f, name, &dxpl), done);
    if (H5Dread(dset, memory, H5S_ALL, H5S_ALL, dxpl, buf) < 0) {
        err = cm_h5_fail(__FILE__, __LINE__, __func__, f->path, "H5Dread", "text %s", name);
        goto done;
    }
    *text = buf;
    buf = NULL;
done:
    free(buf);
    if (dxpl != H5P_DEFAULT) H5Pclose(dxpl);
    if (memory >= 0) H5Tclose(memory);
    if (space >= 0) H5Sclose(space);
    if (stored >= 0) H5Tclose(stored);
    H5Dclose(dset);
    return err;
}

cm_err cm_h5_read_text(cm_h5_file *f, const char *name, char **text)
{
    cm_err err = cm_h5_agree(f, read_text(f, name, text), name);
    if (err != CM_OK) {
        free(*text);
        *text = NULL;
    }
    CM_CHECK(err);
    return CM_OK;
}
