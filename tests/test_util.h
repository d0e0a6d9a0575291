/* Helpers for the C tests: checks that count failures, tensor comparison that
 * reports the worst error, and paths to fixtures and to ../shared.
 * A test's main() ends with `return cm_test_summary();` (0 pass, 1 fail). */
#ifndef CLIPMTL_TEST_UTIL_H
#define CLIPMTL_TEST_UTIL_H

#include <stddef.h>

#include "clipmtl/error.h"

extern int cm_test_failures, cm_test_checks;

#define CM_TEST(cond, ...)                                                        \
    do {                                                                          \
        cm_test_checks++;                                                         \
        if (!(cond)) {                                                            \
            cm_test_failures++;                                                   \
            fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__);                  \
            fprintf(stderr, __VA_ARGS__);                                         \
            fprintf(stderr, "\n");                                                \
        }                                                                         \
    } while (0)

/* Checks that a cm_err-returning call succeeds; prints the trace if not. */
#define CM_TEST_OK(call)                                                          \
    do {                                                                          \
        cm_err cm_t_ = (call);                                                    \
        CM_TEST(cm_t_ == CM_OK, "%s failed", #call);                             \
        if (cm_t_ != CM_OK) { cm_error_print(stderr); cm_error_clear(); }         \
    } while (0)

/* Compares n floats: passes when |got-want| <= atol + rtol*|want| everywhere.
 * Prints the worst absolute and relative errors either way. Returns 1 on pass. */
int cm_test_close(const char *what, const float *got, const float *want, size_t n, double rtol, double atol);
/* Relative error of the whole tensor: max|got-want| / max|want|. */
int cm_test_close_rel_max(const char *what, const float *got, const float *want, size_t n, double tol);

/* $CLIPMTL_SHARED/<rel> (default ../shared beside the source tree). */
const char *cm_test_shared(const char *rel);
/* $CLIPMTL_SRCDIR/tests/fixtures/<rel>. */
const char *cm_test_fixture(const char *rel);
/* A fresh temporary directory for this test (removed by the caller if wanted). */
const char *cm_test_tmpdir(void);
/* Reads a file of exactly `bytes` bytes (malloc): the raw little-endian arrays of tests/fixtures
 * (.f32, .f64, .i32, .u8). NULL, after a message naming the file, if it is missing or of another size. */
void *cm_test_read_exact(const char *path, size_t bytes);
/* The same for n float32 values. */
float *cm_test_read_f32(const char *path, size_t n);

int cm_test_summary(void);

#endif
