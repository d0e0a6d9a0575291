/* Shared by h5io.c and h5_checkpoint.c: HDF5 error capture and rank agreement. */
#ifndef CLIPMTL_H5IO_INTERNAL_H
#define CLIPMTL_H5IO_INTERNAL_H

#include "clipmtl/h5io.h"

/* Switches HDF5's automatic error printing off (once): errors come back as cm_err. */
void cm_h5_quiet(void);
/* Raises "<path>: <what>: <call> failed (HDF5: <innermost reason>)" and clears HDF5's stack. */
cm_err cm_h5_fail(const char *file, int line, const char *func, const char *path, const char *call,
                  const char *fmt, ...) __attribute__((format(printf, 6, 7)));
/* Collective: CM_OK only if every rank's `local` is CM_OK (see h5io.c). */
cm_err cm_h5_agree(const cm_h5_file *f, cm_err local, const char *what);

#endif
