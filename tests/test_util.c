#include "test_util.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int cm_test_failures = 0, cm_test_checks = 0;

int cm_test_close(const char *what, const float *got, const float *want, size_t n, double rtol, double atol)
{
    double worst_abs = 0, worst_rel = 0, worst_excess = -1;
    size_t worst_i = 0;
    int finite = 1;
    for (size_t i = 0; i < n; i++) {
        double g = got[i], w = want[i], d = fabs(g - w);
        if (!isfinite(g)) finite = 0;
        double rel = d / (fabs(w) > 1e-30 ? fabs(w) : 1e-30);
        if (d > worst_abs) worst_abs = d;
        if (rel > worst_rel && fabs(w) > atol) worst_rel = rel;
        double excess = d - (atol + rtol * fabs(w));
        if (excess > worst_excess) { worst_excess = excess; worst_i = i; }
    }
    int ok = finite && worst_excess <= 0;
    printf("%s %s: n=%zu max_abs=%.3g max_rel=%.3g (rtol %.1g atol %.1g)\n", ok ? "ok  " : "FAIL", what, n,
           worst_abs, worst_rel, rtol, atol);
    cm_test_checks++;
    if (!ok) {
        cm_test_failures++;
        printf("     worst at %zu: got %.9g want %.9g%s\n", worst_i, got[worst_i], want[worst_i],
               finite ? "" : " (non-finite values present)");
    }
    return ok;
}

int cm_test_close_rel_max(const char *what, const float *got, const float *want, size_t n, double tol)
{
    double max_diff = 0, max_ref = 0;
    int finite = 1;
    for (size_t i = 0; i < n; i++) {
        if (!isfinite(got[i])) finite = 0;
        double d = fabs((double)got[i] - want[i]);
        if (d > max_diff) max_diff = d;
        if (fabs(want[i]) > max_ref) max_ref = fabs(want[i]);
    }
    double rel = max_diff / (max_ref > 0 ? max_ref : 1);
    int ok = finite && rel <= tol;
    printf("%s %s: n=%zu max|diff|/max|ref| = %.3g (tol %.1g)\n", ok ? "ok  " : "FAIL", what, n, rel, tol);
    cm_test_checks++;
    if (!ok) cm_test_failures++;
    return ok;
}

static const char *join(const char *env, const char *fallback_suffix, const char *rel)
{
    static _Thread_local char buf[4][4096];
    static _Thread_local int slot = 0;
    char *out = buf[slot++ & 3];
    const char *base = getenv(env);
    if (base && *base)
        snprintf(out, 4096, "%s/%s", base, rel);
    else
        snprintf(out, 4096, "%s/%s/%s", CM_SRCDIR, fallback_suffix, rel);
    return out;
}

const char *cm_test_shared(const char *rel) { return join("CLIPMTL_SHARED", "../shared", rel); }

const char *cm_test_fixture(const char *rel)
{
    static _Thread_local char out[4096];
    const char *src = getenv("CLIPMTL_SRCDIR");
    snprintf(out, sizeof out, "%s/tests/fixtures/%s", src && *src ? src : CM_SRCDIR, rel);
    return out;
}

const char *cm_test_tmpdir(void)
{
    static char dir[256];
    if (!dir[0]) {
        const char *base = getenv("TMPDIR");
        snprintf(dir, sizeof dir, "%s/clipmtl-test-XXXXXX", base && *base ? base : "/tmp");
        if (!mkdtemp(dir)) {
            perror("mkdtemp");
            exit(1);
        }
    }
    return dir;
}

void *cm_test_read_exact(const char *path, size_t bytes)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "cannot open %s (run `make fixtures`?)\n", path);
        return NULL;
    }
    unsigned char *v = malloc(bytes + 1);
    size_t got = v ? fread(v, 1, bytes, f) : 0;
    int extra = fgetc(f) != EOF;
    fclose(f);
    if (got != bytes || extra) {
        fprintf(stderr, "%s: expected exactly %zu bytes\n", path, bytes);
        free(v);
        return NULL;
    }
    return v;
}

float *cm_test_read_f32(const char *path, size_t n) { return cm_test_read_exact(path, n * sizeof(float)); }

int cm_test_summary(void)
{
    printf("%d checks, %d failed\n", cm_test_checks, cm_test_failures);
    return cm_test_failures ? 1 : 0;
}
