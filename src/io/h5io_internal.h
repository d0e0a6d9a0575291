/* Shared by h5io.c, h5_tables.c and h5_checkpoint.c: HDF5 error capture, property lists, rank
 * agreement. */
#ifndef CLIPMTL_H5IO_INTERNAL_H
#define CLIPMTL_H5IO_INTERNAL_H

#include "clipmtl/h5io.h"

/* Switches HDF5's automatic error printing off (once): errors come back as cm_err. */
void cm_h5_quiet(void);
/* Raises "<path>: <what>: <call> failed (HDF5: <innermost reason>)" and clears HDF5's stack. */
cm_err cm_h5_fail(const char *file, int line, const char *func, const char *path, const char *call,
                  const char *fmt, ...) __attribute__((format(printf, 6, 7)));
/* A link creation list that makes the missing groups on the way (H5I_INVALID_HID on error). */
cm_err cm_h5_intermediate_groups(const cm_h5_file *f, const char *name, hid_t *lcpl);
/* The transfer list of a dataset read or write: collective when the file is shared by several
 * ranks, else H5P_DEFAULT. The caller closes it unless it is H5P_DEFAULT. */
cm_err cm_h5_transfer_list(const cm_h5_file *f, const char *name, hid_t *dxpl);
/* Collective: CM_OK only if every rank's `local` is CM_OK (see h5io.c). */
cm_err cm_h5_agree(const cm_h5_file *f, cm_err local, const char *what);

#endif
