#include "clipmtl/error.h"

#include <stdarg.h>
#include <string.h>

#define CM_TRACE_DEPTH CM_ERROR_TRACE_DEPTH

typedef struct {
    const char *file;
    const char *func;
    int line;
} cm_frame;

static _Thread_local struct {
    cm_err code;
    char message[2048];
    cm_frame frames[CM_TRACE_DEPTH];
    int depth;
} error_state;

static const char *const error_names[CM_ERR_COUNT_] = {
    [CM_OK] = "ok",
    [CM_ERR_ARG] = "bad argument",
    [CM_ERR_CONFIG] = "configuration error",
    [CM_ERR_IO] = "I/O error",
    [CM_ERR_FORMAT] = "malformed input",
    [CM_ERR_MEM] = "out of memory",
    [CM_ERR_MPI] = "MPI error",
    [CM_ERR_LIB] = "library error",
    [CM_ERR_NUMERIC] = "numerical error",
    [CM_ERR_INTERNAL] = "internal error",
    [CM_ERR_INTERRUPTED] = "interrupted",
};

const char *cm_error_name(cm_err code)
{
    return (code >= 0 && code < CM_ERR_COUNT_) ? error_names[code] : "unknown error";
}

static void push_frame(const char *file, int line, const char *func)
{
    if (error_state.depth < CM_TRACE_DEPTH)
        error_state.frames[error_state.depth++] = (cm_frame){file, func, line};
}

cm_err cm_error_raise(const char *file, int line, const char *func, cm_err code, const char *fmt, ...)
{
    error_state.code = code;
    error_state.depth = 0;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(error_state.message, sizeof error_state.message, fmt, ap);
    va_end(ap);
    push_frame(file, line, func);
    return code;
}

cm_err cm_error_trace(const char *file, int line, const char *func, cm_err code)
{
    if (error_state.code == CM_OK) {
        /* A callee returned an error without raising it: keep the trace useful. */
        error_state.code = code;
        snprintf(error_state.message, sizeof error_state.message, "%s", cm_error_name(code));
        error_state.depth = 0;
    }
    push_frame(file, line, func);
    return code;
}

const char *cm_error_message(void) { return error_state.message; }

void cm_error_print(FILE *f)
{
    fprintf(f, "error: %s\n", error_state.message);
    for (int i = 0; i < error_state.depth; i++)
        fprintf(f, "  %s %s:%d %s()\n", i == 0 ? "raised at" : "called from",
                error_state.frames[i].file, error_state.frames[i].line, error_state.frames[i].func);
}

void cm_error_clear(void)
{
    error_state.code = CM_OK;
    error_state.message[0] = '\0';
    error_state.depth = 0;
}

void cm_error_save(cm_error_state *s)
{
    s->code = error_state.code;
    memcpy(s->message, error_state.message, sizeof s->message);
    s->depth = error_state.depth;
    for (int i = 0; i < error_state.depth; i++) {
        s->frames[i].file = error_state.frames[i].file;
        s->frames[i].func = error_state.frames[i].func;
        s->frames[i].line = error_state.frames[i].line;
    }
}

cm_err cm_error_restore(const cm_error_state *s)
{
    error_state.code = s->code;
    memcpy(error_state.message, s->message, sizeof error_state.message);
    error_state.depth = s->depth < CM_TRACE_DEPTH ? s->depth : CM_TRACE_DEPTH;
    for (int i = 0; i < error_state.depth; i++)
        error_state.frames[i] = (cm_frame){s->frames[i].file, s->frames[i].func, s->frames[i].line};
    return s->code;
}

int cm_error_exit_status(cm_err err)
{
    if (err == CM_OK) return 0;
    cm_error_print(stderr);
    return 1;
}
