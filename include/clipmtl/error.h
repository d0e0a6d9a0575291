/* Error values and the macros that carry them up the call stack.
 *
 * Every fallible function returns cm_err. The function that detects a problem
 * raises it once with a message (CM_ERROR); every caller on the way up checks
 * the call with CM_CHECK, which appends its own file:line:function to a trace.
 * The program's entry point prints the whole trace (cm_error_print) and exits
 * with a non-zero status; library code never exits. The trace is thread-local,
 * so loader threads can fail without racing the main thread. */
#ifndef CLIPMTL_ERROR_H
#define CLIPMTL_ERROR_H

#include <stdio.h>

typedef enum {
    CM_OK = 0,
    CM_ERR_ARG,      /* bad argument or command line */
    CM_ERR_CONFIG,   /* bad configuration file or value */
    CM_ERR_IO,       /* a file could not be opened, read or written */
    CM_ERR_FORMAT,   /* a file's content is malformed */
    CM_ERR_MEM,      /* allocation failed */
    CM_ERR_MPI,      /* an MPI call failed, or another rank failed */
    CM_ERR_LIB,      /* a library call (HDF5, ScaLAPACK, libpng, ...) failed */
    CM_ERR_NUMERIC,  /* a NaN/Inf or a failed numerical routine */
    CM_ERR_INTERNAL, /* a broken invariant: a bug */
    CM_ERR_INTERRUPTED, /* stopped on a signal after saving state */
    CM_ERR_COUNT_
} cm_err;

/* Record a new error: clears any previous trace. Returns code. */
cm_err cm_error_raise(const char *file, int line, const char *func, cm_err code,
                      const char *fmt, ...) __attribute__((format(printf, 5, 6)));
/* Append a frame to the current trace. Returns code. */
cm_err cm_error_trace(const char *file, int line, const char *func, cm_err code);
/* The message given when the current error was raised ("" if none). */
const char *cm_error_message(void);
/* Print "error: <message>" and the trace to f. */
void cm_error_print(FILE *f);
/* For a program's main: prints the trace to stderr unless err is CM_OK; the exit status (0 or 1). */
int cm_error_exit_status(cm_err err);
void cm_error_clear(void);
const char *cm_error_name(cm_err code);

/* Moving an error between threads (the trace is thread-local): a worker thread saves its error,
 * the thread that waits for the worker restores it as its own and goes on adding frames. */
#define CM_ERROR_TRACE_DEPTH 32
typedef struct {
    cm_err code;
    char message[2048];
    int depth;
    struct {
        const char *file, *func;
        int line;
    } frames[CM_ERROR_TRACE_DEPTH];
} cm_error_state;

void cm_error_save(cm_error_state *s);
/* Makes s the calling thread's error; returns s->code. */
cm_err cm_error_restore(const cm_error_state *s);

#define CM_ERROR(code, ...) return cm_error_raise(__FILE__, __LINE__, __func__, (code), __VA_ARGS__)

#define CM_CHECK(call)                                                          \
    do {                                                                        \
        cm_err cm_e_ = (call);                                                  \
        if (cm_e_ != CM_OK) return cm_error_trace(__FILE__, __LINE__, __func__, cm_e_); \
    } while (0)

/* For functions that must release resources: sets `err` and jumps to `label`. */
#define CM_CHECK_GOTO(err, call, label)                                         \
    do {                                                                        \
        (err) = (call);                                                         \
        if ((err) != CM_OK) {                                                   \
            cm_error_trace(__FILE__, __LINE__, __func__, (err));                \
            goto label;                                                         \
        }                                                                       \
    } while (0)

#define CM_ERROR_GOTO(err, label, code, ...)                                    \
    do {                                                                        \
        (err) = cm_error_raise(__FILE__, __LINE__, __func__, (code), __VA_ARGS__); \
        goto label;                                                             \
    } while (0)

#define CM_ASSERT(cond, code, ...)                                              \
    do {                                                                        \
        if (!(cond)) CM_ERROR((code), __VA_ARGS__);                             \
    } while (0)

/* For MPI calls (the caller includes mpi.h; communicators return errors, see MPI_ERRORS_RETURN). */
#define CM_MPI_CHECK(call)                                                      \
    do {                                                                        \
        int cm_rc_ = (call);                                                    \
        if (cm_rc_ != MPI_SUCCESS) CM_ERROR(CM_ERR_MPI, "%s failed (MPI error %d)", #call, cm_rc_); \
    } while (0)

/* Allocation that raises CM_ERR_MEM naming what was being allocated. */
#define CM_CALLOC(ptr, count)                                                   \
    do {                                                                        \
        size_t cm_n_ = (size_t)(count);                                         \
        (ptr) = calloc(cm_n_ ? cm_n_ : 1, sizeof(*(ptr)));                      \
        if (!(ptr)) CM_ERROR(CM_ERR_MEM, "out of memory allocating %zu x %zu bytes for %s", \
                             cm_n_, sizeof(*(ptr)), #ptr);                      \
    } while (0)

#endif
