/* Core pieces: error traces, arena sizing, RNG streams, tensor tables, path and folder helpers. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clipmtl/arena.h"
#include "clipmtl/error.h"
#include "clipmtl/fs.h"
#include "clipmtl/progress.h"
#include "clipmtl/rng.h"
#include "clipmtl/tensor_table.h"
#include "test_util.h"

static cm_err inner(int x)
{
    CM_ASSERT(x > 0, CM_ERR_ARG, "x must be positive, got %d", x);
    return CM_OK;
}

static cm_err outer(int x)
{
    CM_CHECK(inner(x));
    return CM_OK;
}

static void test_error_trace(void)
{
    CM_TEST(outer(1) == CM_OK, "no error expected");
    CM_TEST(outer(-3) == CM_ERR_ARG, "error code must propagate");
    CM_TEST(strstr(cm_error_message(), "got -3") != NULL, "message: %s", cm_error_message());
    char buf[4096] = {0};
    FILE *f = fmemopen(buf, sizeof buf, "w");
    cm_error_print(f);
    fclose(f);
    CM_TEST(strcmp(buf, "error: x must be positive, got -3\n") == 0, "without verbose, the message alone:\n%s", buf);
    cm_error_set_verbose(1);
    f = fmemopen(buf, sizeof buf, "w");
    cm_error_print(f);
    fclose(f);
    cm_error_set_verbose(0);
    CM_TEST(strstr(buf, "inner()") && strstr(buf, "outer()") && strstr(buf, "test_core.c:"),
            "verbose: the trace must name both frames with file:line:\n%s", buf);
    cm_error_clear();
}

/* CM_RAISE is an expression: the code goes into a variable and the function goes on to its cleanup. */
static cm_err raise_then_clean(int x, int *cleaned)
{
    cm_err err = x > 0 ? CM_OK : CM_RAISE(CM_ERR_ARG, "x = %d is not positive", x);
    *cleaned = 1;
    return err;
}

static void test_error_expression(void)
{
    int cleaned = 0;
    CM_TEST(raise_then_clean(2, &cleaned) == CM_OK && cleaned, "no error expected");
    cleaned = 0;
    CM_TEST(raise_then_clean(-1, &cleaned) == CM_ERR_ARG && cleaned, "the code, after the cleanup");
    CM_TEST(strcmp(cm_error_message(), "x = -1 is not positive") == 0, "message: %s", cm_error_message());
    char buf[4096] = {0};
    cm_error_set_verbose(1);
    FILE *f = fmemopen(buf, sizeof buf, "w");
    cm_error_print(f);
    fclose(f);
    cm_error_set_verbose(0);
    CM_TEST(strstr(buf, "raised at") && strstr(buf, "raise_then_clean()") && strstr(buf, "test_core.c:"),
            "the trace names the raiser:\n%s", buf);
    cm_error_clear();
}

static cm_err sequence(cm_arena *a, float **x, float **y)
{
    CM_CHECK(cm_arena_floats(a, 10, x));
    CM_CHECK(cm_arena_floats(a, 1000, y));
    return CM_OK;
}

static void test_arena(void)
{
    cm_arena m, a;
    float *x, *y;
    cm_arena_measure(&m);
    CM_TEST_OK(sequence(&m, &x, &y));
    CM_TEST(m.used >= 1010 * sizeof(float), "measured %zu bytes", m.used);
    CM_TEST_OK(cm_arena_create(&a, m.used));
    CM_TEST_OK(sequence(&a, &x, &y));
    CM_TEST(((uintptr_t)x % CM_ARENA_ALIGN) == 0 && ((uintptr_t)y % CM_ARENA_ALIGN) == 0, "alignment");
    CM_TEST(y >= x + 10, "no overlap");
    float *z;
    CM_TEST(cm_arena_floats(&a, 1, &z) == CM_ERR_INTERNAL, "overflow must be an error");
    cm_error_clear();
    cm_arena_destroy(&a);
}

static void test_rng(void)
{
    cm_rng r1, r2, r3;
    cm_rng_seed(&r1, 42, cm_rng_stream(1, 2, 3, 4));
    cm_rng_seed(&r2, 42, cm_rng_stream(1, 2, 3, 4));
    cm_rng_seed(&r3, 42, cm_rng_stream(1, 2, 3, 5));
    int same = 1, differ = 0;
    for (int i = 0; i < 100; i++) {
        uint64_t a = cm_rng_u64(&r1), b = cm_rng_u64(&r2), c = cm_rng_u64(&r3);
        same &= a == b;
        differ += a != c;
    }
    CM_TEST(same, "same seed and stream must repeat");
    CM_TEST(differ > 95, "different streams must differ (%d/100)", differ);

    /* Moments of 200k normals and uniforms: loose 5-sigma bounds. */
    double s = 0, s2 = 0, u = 0;
    int n = 200000;
    for (int i = 0; i < n; i++) {
        double z = cm_rng_normal(&r1);
        s += z;
        s2 += z * z;
        u += cm_rng_uniform(&r1);
    }
    CM_TEST(fabs(s / n) < 5 / sqrt(n), "normal mean %g", s / n);
    CM_TEST(fabs(s2 / n - 1) < 5 * sqrt(2.0 / n), "normal variance %g", s2 / n);
    CM_TEST(fabs(u / n - 0.5) < 5 * sqrt(1.0 / 12 / n), "uniform mean %g", u / n);
    int hist[7] = {0};
    for (int i = 0; i < 70000; i++) hist[cm_rng_below(&r1, 7)]++;
    for (int i = 0; i < 7; i++) CM_TEST(hist[i] > 9500 && hist[i] < 10500, "below(7) bucket %d: %d", i, hist[i]);
}

static void test_table(void)
{
    cm_tensor_table t;
    cm_table_init(&t);
    int64_t s1[2] = {3, 4}, s2[1] = {5};
    size_t off;
    CM_TEST_OK(cm_table_add(&t, "a", 2, s1, &off));
    CM_TEST(off == 0, "first offset");
    CM_TEST_OK(cm_table_addf(&t, &off, 1, s2, "layer.%d.b", 7));
    CM_TEST(off == 12 && t.total == 17, "offset %zu total %zu", off, t.total);
    const cm_tensor_desc *d = cm_table_find(&t, "layer.7.b");
    CM_TEST(d && d->numel == 5, "find");
    CM_TEST(cm_table_add(&t, "a", 1, s2, NULL) == CM_ERR_INTERNAL, "duplicate names are refused");
    cm_error_clear();
    char buf[64];
    CM_TEST(strcmp(cm_shape_str(2, s1, buf, sizeof buf), "[3,4]") == 0, "shape string %s", buf);
    cm_table_free(&t);
}

static void test_fs(void)
{
    char *joined = cm_path_join("runs", "demo");
    CM_TEST(joined && strcmp(joined, "runs/demo") == 0, "joined: %s", joined ? joined : "(null)");
    free(joined);
    char deep[512], file[512], below_file[600];
    snprintf(deep, sizeof deep, "%s/a/b/c/", cm_test_tmpdir());
    snprintf(file, sizeof file, "%s/a/file", cm_test_tmpdir());
    snprintf(below_file, sizeof below_file, "%s/inside", file);
    CM_TEST_OK(cm_mkdir_p(deep));
    CM_TEST(cm_is_directory(deep) && !cm_is_file(deep), "%s was not created", deep);
    CM_TEST_OK(cm_mkdir_p(deep)); /* existing folders are fine */
    FILE *f = fopen(file, "w");
    if (f) fclose(f);
    CM_TEST(cm_is_file(file) && !cm_is_directory(file), "%s is a file", file);
    CM_TEST(cm_mkdir_p(file) == CM_ERR_IO && strstr(cm_error_message(), "is not a folder"), "a file in the way: %s",
            cm_error_message());
    CM_TEST(cm_mkdir_p(below_file) == CM_ERR_IO && strstr(cm_error_message(), "cannot create"),
            "a file as a parent: %s", cm_error_message());
    CM_TEST(cm_mkdir_p("") == CM_ERR_ARG, "an empty name is refused");
    cm_error_clear();
    remove(file);
    const char *made[] = {"a/b/c", "a/b", "a"};
    for (int i = 0; i < 3; i++) {
        snprintf(deep, sizeof deep, "%s/%s", cm_test_tmpdir(), made[i]);
        remove(deep);
    }
    remove(cm_test_tmpdir());
}

/* Progress lines: counts, percentage, elapsed time and the time left at the rate so far. */
static void test_progress(void)
{
    cm_progress p;
    char line[256];
    cm_progress_start(&p, "evaluation", "test images", 64);
    p.start = 100.0;
    cm_progress_format(&p, 101.0, line, sizeof line);
    CM_TEST(strcmp(line, "evaluation: 0/64 test images, 1.0 s") == 0, "nothing done: %s", line);
    p.done = 16;
    cm_progress_format(&p, 105.0, line, sizeof line);
    CM_TEST(strcmp(line, "evaluation: 16/64 test images (25%), 5.0 s, about 15.0 s left") == 0, "a quarter: %s", line);
    p.done = 1;
    cm_progress_format(&p, 110.0, line, sizeof line);
    CM_TEST(strcmp(line, "evaluation: 1/64 test images (2%), 10.0 s, about 10.5 min left") == 0, "minutes: %s", line);
    p.done = 64;
    cm_progress_format(&p, 100.0 + 3 * 3600, line, sizeof line);
    CM_TEST(strcmp(line, "evaluation: 64 test images in 3.0 h") == 0, "done: %s", line);
}

int main(void)
{
    test_error_trace();
    test_error_expression();
    test_fs();
    test_arena();
    test_rng();
    test_table();
    test_progress();
    return cm_test_summary();
}
