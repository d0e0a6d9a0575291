/* Test helpers that write safetensors files byte by byte, including broken
 * ones the library's writer would never produce. */
#ifndef CLIPMTL_TEST_ST_FILES_H
#define CLIPMTL_TEST_ST_FILES_H

#include <stddef.h>

/* <test tmpdir>/<name> */
const char *st_temp_path(const char *name);
/* Writes the 8-byte header length (length_field, or strlen(header) when
 * negative), the header text and the data. Returns 0 on success. */
int st_write_raw(const char *path, const char *header, long long length_field, const void *data, size_t data_len);
/* Copies the valid file `src` to `dst` with one more tensor appended after
 * the data: `dtype` and `shape_json` (e.g. "[1,77]") go into the header as
 * given, `bytes` into the data. Returns 0 on success. */
int st_append_tensor(const char *src, const char *dst, const char *name, const char *dtype, const char *shape_json,
                     const void *bytes, size_t n);

/* Removes the test's temporary directory and everything in it. */
void st_remove_temp_dir(void);

#endif
