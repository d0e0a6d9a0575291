/* Every op of include/clipmtl/ops.h, both ways:
 *  - forward against PyTorch (tests/reference/ops_reference.py fixtures);
 *  - backward against PyTorch autograd for the same output gradient `dout`,
 *    and by central finite differences of L = sum(out * dout) accumulated in
 *    double (the step is the float-representable one actually taken);
 *  - the += contract: a second backward call doubles the gradients.
 *
 * Tolerances (max|got - want| / max|want| over the tensor):
 *  - forward and autograd: 1e-5 (float rounding of a different summation order);
 *  - finite differences: 1e-3 (float forward, step 1e-2: rounding ~1e-5/step
 *    plus O(step^2) truncation; the autograd check is the tight one). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clipmtl/ops.h"
#include "test_util.h"

#define TOL_REF 1e-5
#define TOL_FD 1e-3
#define FD_STEP 1e-2

/* Every buffer of the test, released at the end (the sanitizer build checks leaks). */
static void *buffers[256];
static int nbuffers;

static float *keep(float *p)
{
    if (nbuffers == (int)(sizeof buffers / sizeof *buffers)) {
        fprintf(stderr, "test_ops: too many buffers\n");
        exit(1);
    }
    buffers[nbuffers++] = p;
    return p;
}

static void release_all(void)
{
    while (nbuffers) free(buffers[--nbuffers]);
}

static float *fixture(const char *c, const char *tensor, size_t n)
{
    char rel[256];
    snprintf(rel, sizeof rel, "ops/%s.%s.f32", c, tensor);
    float *v = cm_test_read_f32(cm_test_fixture(rel), n);
    if (!v) {
        fprintf(stderr, "missing fixture %s (run `make fixtures`)\n", rel);
        exit(1);
    }
    return keep(v);
}

static float *zeros(size_t n) { return keep(calloc(n ? n : 1, sizeof(float))); }

static void check(const char *c, const char *what, const float *got, const float *want, size_t n, double tol)
{
    char label[256];
    snprintf(label, sizeof label, "%s %s", c, what);
    cm_test_close_rel_max(label, got, want, n, tol);
}

/* The second backward must have added the same gradient again. */
static void check_doubled(const char *c, const char *what, const float *got, const float *want, size_t n)
{
    float *twice = malloc(n * sizeof *twice);
    for (size_t i = 0; i < n; i++) twice[i] = 2.0f * want[i];
    char label[256];
    snprintf(label, sizeof label, "%s %s (accumulated twice)", c, what);
    cm_test_close_rel_max(label, got, twice, n, TOL_REF);
    free(twice);
}

/* ---- finite differences -------------------------------------------------- */

typedef struct {
    void (*forward)(void *ctx); /* recomputes ctx's output from its inputs */
    void *ctx;
    const float *out, *dout;
    long nout;
} fd_problem;

static double fd_loss(const fd_problem *p)
{
    p->forward(p->ctx);
    double l = 0;
    for (long i = 0; i < p->nout; i++) l += (double)p->out[i] * p->dout[i];
    return l;
}

/* Central differences of the loss with respect to every entry of `param`,
 * compared with the analytic gradient. */
static void check_fd(const char *c, const char *what, const fd_problem *p, float *param, long n,
                     const float *analytic)
{
    float *fd = malloc(n * sizeof *fd);
    for (long i = 0; i < n; i++) {
        float saved = param[i];
        float up = saved + (float)FD_STEP, down = saved - (float)FD_STEP;
        param[i] = up;
        double lp = fd_loss(p);
        param[i] = down;
        double lm = fd_loss(p);
        param[i] = saved;
        fd[i] = (float)((lp - lm) / ((double)up - down));
    }
    fd_loss(p); /* leave the output of the unperturbed inputs behind */
    char label[256];
    snprintf(label, sizeof label, "%s %s vs finite differences", c, what);
    cm_test_close_rel_max(label, analytic, fd, n, TOL_FD);
    free(fd);
}

/* ---- layernorm ----------------------------------------------------------- */

typedef struct {
    float *out, *mean, *rstd, *inp, *weight, *bias;
    int N, C;
} ln_ctx;

static void ln_run(void *v)
{
    ln_ctx *c = v;
    cm_layernorm_forward(c->out, c->mean, c->rstd, c->inp, c->weight, c->bias, c->N, c->C);
}

static void test_layernorm(void)
{
    const char *k = "layernorm";
    int N = 5, C = 16;
    size_t nx = (size_t)N * C;
    ln_ctx c = {zeros(nx), zeros(N), zeros(N), fixture(k, "inp", nx), fixture(k, "weight", C),
                fixture(k, "bias", C), N, C};
    float *dout = fixture(k, "dout", nx);
    ln_run(&c);
    check(k, "out", c.out, fixture(k, "out", nx), nx, TOL_REF);
    check(k, "mean", c.mean, fixture(k, "mean", N), N, TOL_REF);
    check(k, "rstd", c.rstd, fixture(k, "rstd", N), N, TOL_REF);

    float *dinp = zeros(nx), *dw = zeros(C), *db = zeros(C);
    float *ref_dinp = fixture(k, "dinp", nx), *ref_dw = fixture(k, "dweight", C), *ref_db = fixture(k, "dbias", C);
    cm_layernorm_backward(dinp, dw, db, dout, c.inp, c.weight, c.mean, c.rstd, N, C);
    check(k, "dinp", dinp, ref_dinp, nx, TOL_REF);
    check(k, "dweight", dw, ref_dw, C, TOL_REF);
    check(k, "dbias", db, ref_db, C, TOL_REF);
    cm_layernorm_backward(dinp, NULL, NULL, dout, c.inp, c.weight, c.mean, c.rstd, N, C);
    check_doubled(k, "dinp (weight gradients skipped)", dinp, ref_dinp, nx);

    fd_problem p = {ln_run, &c, c.out, dout, (long)nx};
    check_fd(k, "dinp", &p, c.inp, nx, ref_dinp);
    check_fd(k, "dweight", &p, c.weight, C, ref_dw);
    check_fd(k, "dbias", &p, c.bias, C, ref_db);
}

/* ---- matmul and projection ----------------------------------------------- */

typedef struct {
    float *out, *inp, *weight, *bias;
    int N, C, OC;
} mm_ctx;

static void mm_run(void *v)
{
    mm_ctx *c = v;
    cm_matmul_forward(c->out, c->inp, c->weight, c->bias, c->N, c->C, c->OC);
}

static void test_matmul(void)
{
    const char *k = "matmul";
    int N = 6, C = 12, OC = 10;
    size_t nx = (size_t)N * C, ny = (size_t)N * OC, nw = (size_t)OC * C;
    mm_ctx c = {zeros(ny), fixture(k, "inp", nx), fixture(k, "weight", nw), fixture(k, "bias", OC), N, C, OC};
    float *dout = fixture(k, "dout", ny);
    mm_run(&c);
    check(k, "out", c.out, fixture(k, "out", ny), ny, TOL_REF);

    float *dinp = zeros(nx), *dw = zeros(nw), *db = zeros(OC);
    float *ref_dinp = fixture(k, "dinp", nx), *ref_dw = fixture(k, "dweight", nw), *ref_db = fixture(k, "dbias", OC);
    cm_matmul_backward(dinp, dw, db, dout, c.inp, c.weight, N, C, OC);
    check(k, "dinp", dinp, ref_dinp, nx, TOL_REF);
    check(k, "dweight", dw, ref_dw, nw, TOL_REF);
    check(k, "dbias", db, ref_db, OC, TOL_REF);
    cm_matmul_backward(dinp, dw, db, dout, c.inp, c.weight, N, C, OC);
    check(k, "dinp (overwritten, not accumulated)", dinp, ref_dinp, nx, TOL_REF);
    check_doubled(k, "dweight", dw, ref_dw, nw);
    check_doubled(k, "dbias", db, ref_db, OC);
    float *dinp_only = zeros(nx);
    for (size_t i = 0; i < nx; i++) dinp_only[i] = NAN; /* whatever the buffer held */
    cm_matmul_backward(dinp_only, NULL, NULL, dout, c.inp, c.weight, N, C, OC);
    check(k, "dinp (frozen weights)", dinp_only, ref_dinp, nx, TOL_REF);

    fd_problem p = {mm_run, &c, c.out, dout, (long)ny};
    check_fd(k, "dinp", &p, c.inp, nx, ref_dinp);
    check_fd(k, "dweight", &p, c.weight, nw, ref_dw);
    check_fd(k, "dbias", &p, c.bias, OC, ref_db);

    /* Without bias the output is the product alone. */
    float *nobias = zeros(ny), *want = fixture(k, "out", ny);
    cm_matmul_forward(nobias, c.inp, c.weight, NULL, N, C, OC);
    for (int n = 0; n < N; n++)
        for (int o = 0; o < OC; o++) want[n * OC + o] -= c.bias[o];
    check(k, "out without bias", nobias, want, ny, TOL_REF);
}

static void pj_run(void *v)
{
    mm_ctx *c = v;
    cm_project_forward(c->out, c->inp, c->weight, c->N, c->C, c->OC);
}

static void test_project(void)
{
    const char *k = "project";
    int N = 3, C = 12, OC = 8;
    size_t nx = (size_t)N * C, ny = (size_t)N * OC, np = (size_t)C * OC;
    mm_ctx c = {zeros(ny), fixture(k, "inp", nx), fixture(k, "proj", np), NULL, N, C, OC};
    float *dout = fixture(k, "dout", ny);
    pj_run(&c);
    check(k, "out", c.out, fixture(k, "out", ny), ny, TOL_REF);
    float *dinp = zeros(nx), *dp = zeros(np);
    float *ref_dinp = fixture(k, "dinp", nx), *ref_dp = fixture(k, "dproj", np);
    cm_project_backward(dinp, dp, dout, c.inp, c.weight, N, C, OC);
    check(k, "dinp", dinp, ref_dinp, nx, TOL_REF);
    check(k, "dproj", dp, ref_dp, np, TOL_REF);
    cm_project_backward(dinp, NULL, dout, c.inp, c.weight, N, C, OC);
    check_doubled(k, "dinp (frozen projection)", dinp, ref_dinp, nx);
    fd_problem p = {pj_run, &c, c.out, dout, (long)ny};
    check_fd(k, "dinp", &p, c.inp, nx, ref_dinp);
    check_fd(k, "dproj", &p, c.weight, np, ref_dp);
}

/* ---- attention ----------------------------------------------------------- */

typedef struct {
    float *out, *probs, *scratch, *qkv;
    int B, T, D, H, causal;
} att_ctx;

static void att_run(void *v)
{
    att_ctx *c = v;
    cm_attention_forward(c->out, c->probs, c->scratch, c->qkv, c->B, c->T, c->D, c->H, c->causal);
}

static void test_attention(const char *k, int B, int T, int D, int H, int causal)
{
    size_t nqkv = (size_t)B * T * 3 * D, ny = (size_t)B * T * D, np = (size_t)B * H * T * T;
    float *scratch = zeros(CM_ATTENTION_SCRATCH(T));
    att_ctx c = {zeros(ny), zeros(np), scratch, fixture(k, "qkv", nqkv), B, T, D, H, causal};
    float *dout = fixture(k, "dout", ny);
    att_run(&c);
    check(k, "out", c.out, fixture(k, "out", ny), ny, TOL_REF);
    check(k, "probs", c.probs, fixture(k, "probs", np), np, TOL_REF);
    if (causal) {
        int masked_nonzero = 0;
        for (int bh = 0; bh < B * H; bh++)
            for (int t = 0; t < T; t++)
                for (int j = t + 1; j < T; j++) masked_nonzero += c.probs[((size_t)bh * T + t) * T + j] != 0.0f;
        CM_TEST(masked_nonzero == 0, "%s: %d masked probabilities are not exactly zero", k, masked_nonzero);
    }
    /* Without saved probs (the training step's way) the output is bitwise the same. */
    float *unsaved = zeros(ny);
    cm_attention_forward(unsaved, NULL, scratch, c.qkv, B, T, D, H, causal);
    CM_TEST(!memcmp(unsaved, c.out, ny * sizeof(float)), "%s: out without saved probs differs", k);
    float *dqkv = zeros(nqkv), *ref = fixture(k, "dqkv", nqkv);
    cm_attention_backward(dqkv, scratch, dout, c.qkv, c.probs, B, T, D, H, causal);
    check(k, "dqkv", dqkv, ref, nqkv, TOL_REF);
    cm_attention_backward(dqkv, scratch, dout, c.qkv, c.probs, B, T, D, H, causal);
    check_doubled(k, "dqkv", dqkv, ref, nqkv);
    /* Recomputing the probs in the backward gives bitwise the gradient of saved probs. */
    float *recomputed = zeros(nqkv);
    cm_attention_backward(recomputed, scratch, dout, c.qkv, NULL, B, T, D, H, causal);
    cm_attention_backward(recomputed, scratch, dout, c.qkv, NULL, B, T, D, H, causal);
    CM_TEST(!memcmp(recomputed, dqkv, nqkv * sizeof(float)), "%s: dqkv with recomputed probs differs", k);
    fd_problem p = {att_run, &c, c.out, dout, (long)ny};
    check_fd(k, "dqkv", &p, c.qkv, nqkv, ref);
}

/* ---- elementwise: quick_gelu, residual ----------------------------------- */

typedef struct {
    float *out, *a, *b;
    long n;
} ew_ctx;

static void gelu_run(void *v)
{
    ew_ctx *c = v;
    cm_quick_gelu_forward(c->out, c->a, c->n);
}

static void test_quick_gelu(void)
{
    const char *k = "quick_gelu";
    long n = 64;
    ew_ctx c = {zeros(n), fixture(k, "inp", n), NULL, n};
    float *dout = fixture(k, "dout", n), *ref = fixture(k, "dinp", n);
    gelu_run(&c);
    check(k, "out", c.out, fixture(k, "out", n), n, TOL_REF);
    float *dinp = zeros(n);
    cm_quick_gelu_backward(dinp, dout, c.a, n);
    check(k, "dinp", dinp, ref, n, TOL_REF);
    cm_quick_gelu_backward(dinp, dout, c.a, n);
    check_doubled(k, "dinp", dinp, ref, n);
    fd_problem p = {gelu_run, &c, c.out, dout, n};
    check_fd(k, "dinp", &p, c.a, n, ref);
    /* In place, as the MLP may run it. */
    float *inplace = keep(malloc(n * sizeof *inplace));
    memcpy(inplace, c.a, n * sizeof *inplace);
    cm_quick_gelu_forward(inplace, inplace, n);
    check(k, "out in place", inplace, c.out, n, 0.0);
    /* The in-place backward against the same reference, and bitwise the += of a zeroed buffer. */
    memcpy(inplace, dout, n * sizeof *inplace);
    cm_quick_gelu_backward_inplace(inplace, c.a, n);
    check(k, "dinp in place", inplace, ref, n, TOL_REF);
    float *added = zeros(n);
    cm_quick_gelu_backward(added, dout, c.a, n);
    check(k, "dinp in place vs added", inplace, added, n, 0.0);
}

/* Over a wide range against the formula evaluated in double from the float
 * argument 1.702f * x (as PyTorch forms it): the vectorised exp behind
 * QuickGELU (and softmax) must stay within a few float ulps everywhere,
 * including where sigmoid saturates (rtol 1e-6; atol 1e-30 for the results
 * below FLT_MIN that the clamped exp does not produce as denormals). */
static void test_quick_gelu_range(void)
{
    enum { n = 12001 };
    static float x[n], got[n], want[n];
    for (int i = 0; i < n; i++) {
        x[i] = -60.0f + 0.01f * i;
        float arg = -1.702f * x[i];
        want[i] = (float)(x[i] / (1.0 + exp((double)arg)));
    }
    cm_quick_gelu_forward(got, x, n);
    cm_test_close("quick_gelu on [-60, 60] vs double formula", got, want, n, 1e-6, 1e-30);
    /* The backward (added and in place) on the same range with dout = 1: s + a x s (1 - s).
     * It cancels near x = -0.6, hence the absolute tolerance: a few float ulps of the gradient's
     * largest values (about 1.1; both loop widths measured 9.5e-7). */
    static float grad[n], inplace[n];
    for (int i = 0; i < n; i++) {
        double sig = 1.0 / (1.0 + exp((double)(-1.702f * x[i])));
        want[i] = (float)(sig + 1.702 * x[i] * sig * (1.0 - sig));
        grad[i] = 0.0f;
        inplace[i] = 1.0f;
        got[i] = 1.0f;
    }
    cm_quick_gelu_backward(grad, got, x, n);
    cm_test_close("quick_gelu backward on [-60, 60] vs double formula", grad, want, n, 1e-6, 2e-6);
    cm_quick_gelu_backward_inplace(inplace, x, n);
    cm_test_close("quick_gelu backward in place on [-60, 60] vs double formula", inplace, want, n, 1e-6, 2e-6);
}

/* Softmax rows longer than the vector width (the fixtures' T of 5 and 6 are not): a 37-token
 * sequence, 2 heads of 16, against the probabilities computed in double from the same q, k. */
static void test_attention_long_rows(int causal)
{
    enum { T = 37, D = 32, H = 2, hd = D / H };
    static float qkv[T * 3 * D], out[T * D], probs[H * T * T], want[H * T * T];
    float *scratch = zeros(CM_ATTENTION_SCRATCH(T));
    uint32_t state = 99;
    for (int i = 0; i < T * 3 * D; i++) {
        state = state * 1664525u + 1013904223u;
        qkv[i] = 4.0f * ((float)(state >> 8) / (1 << 24) - 0.5f);
    }
    for (int h = 0; h < H; h++)
        for (int t = 0; t < T; t++) {
            double row[T], max = -INFINITY, sum = 0;
            int keep = causal ? t + 1 : T;
            for (int j = 0; j < keep; j++) {
                double dot = 0;
                for (int i = 0; i < hd; i++) dot += (double)qkv[t * 3 * D + h * hd + i] * qkv[j * 3 * D + D + h * hd + i];
                row[j] = dot / sqrt((double)hd);
                max = fmax(max, row[j]);
            }
            for (int j = 0; j < keep; j++) sum += row[j] = exp(row[j] - max);
            for (int j = 0; j < T; j++) want[(h * T + t) * T + j] = j < keep ? (float)(row[j] / sum) : 0.0f;
        }
    cm_attention_forward(out, probs, scratch, qkv, 1, T, D, H, causal);
    cm_test_close(causal ? "attention probs, 37 causal tokens vs double" : "attention probs, 37 tokens vs double",
                  probs, want, H * T * T, 1e-5, 1e-7);
}

static void res_run(void *v)
{
    ew_ctx *c = v;
    cm_residual_forward(c->out, c->a, c->b, c->n);
}

static void test_residual(void)
{
    const char *k = "residual";
    long n = 32;
    ew_ctx c = {zeros(n), fixture(k, "a", n), fixture(k, "b", n), n};
    float *dout = fixture(k, "dout", n), *ref_da = fixture(k, "da", n), *ref_db = fixture(k, "db", n);
    res_run(&c);
    check(k, "out", c.out, fixture(k, "out", n), n, TOL_REF);
    float *da = zeros(n), *db = zeros(n);
    cm_residual_backward(da, db, dout, n);
    check(k, "da", da, ref_da, n, TOL_REF);
    check(k, "db", db, ref_db, n, TOL_REF);
    cm_residual_backward(da, NULL, dout, n);
    check_doubled(k, "da", da, ref_da, n);
    check(k, "db untouched when NULL is passed for it", db, ref_db, n, TOL_REF);
    fd_problem p = {res_run, &c, c.out, dout, n};
    check_fd(k, "da", &p, c.a, n, ref_da);
    check_fd(k, "db", &p, c.b, n, ref_db);
    /* A long odd length, split over threads with a tail: every sum exact, in place too. */
    const long big = (1L << 20) + 3;
    float *x = zeros((size_t)big), *y = zeros((size_t)big), *sum = zeros((size_t)big);
    for (long i = 0; i < big; i++) x[i] = (float)(i % 1000) * 0.25f, y[i] = (float)(i % 7) - 3.0f;
    cm_residual_forward(sum, x, y, big);
    cm_residual_backward(y, NULL, x, big);
    long wrong = 0;
    for (long i = 0; i < big; i++) {
        float want = x[i] + ((float)(i % 7) - 3.0f);
        wrong += sum[i] != want || y[i] != want;
    }
    CM_TEST(wrong == 0, "residual over %ld values: %ld sums wrong", big, wrong);
}

/* ---- patch embedding ----------------------------------------------------- */

typedef struct {
    float *out, *patches, *pixels, *weight;
    int B, C, H, W, P, D;
} pe_ctx;

static void pe_run(void *v)
{
    pe_ctx *c = v;
    cm_patch_embed_forward(c->out, c->patches, c->pixels, c->weight, c->B, c->C, c->H, c->W, c->P, c->D);
}

static void test_patch_embed(void)
{
    const char *k = "patch_embed";
    int B = 2, C = 3, H = 8, W = 12, P = 4, D = 6; /* a non-square grid: 2 x 3 patches */
    int G = (H / P) * (W / P), K = C * P * P;
    size_t nx = (size_t)B * C * H * W, nw = (size_t)D * K, ny = (size_t)B * G * D, npatch = (size_t)B * G * K;
    pe_ctx c = {zeros(ny), zeros(npatch), fixture(k, "pixels", nx), fixture(k, "weight", nw), B, C, H, W, P, D};
    float *dout = fixture(k, "dout", ny);
    float *ref_dx = fixture(k, "dpixels", nx), *ref_dw = fixture(k, "dweight", nw);
    pe_run(&c);
    check(k, "out", c.out, fixture(k, "out", ny), ny, TOL_REF);
    float *dx = zeros(nx), *dw = zeros(nw), *dpatches = zeros(npatch);
    cm_patch_embed_backward(dx, dw, dpatches, dout, c.patches, c.weight, B, C, H, W, P, D);
    check(k, "dpixels", dx, ref_dx, nx, TOL_REF);
    check(k, "dweight", dw, ref_dw, nw, TOL_REF);
    cm_patch_embed_backward(dx, dw, dpatches, dout, c.patches, c.weight, B, C, H, W, P, D);
    check_doubled(k, "dpixels", dx, ref_dx, nx);
    check_doubled(k, "dweight", dw, ref_dw, nw);
    float *dw_only = zeros(nw);
    cm_patch_embed_backward(NULL, dw_only, NULL, dout, c.patches, c.weight, B, C, H, W, P, D);
    check(k, "dweight without pixel gradient", dw_only, ref_dw, nw, TOL_REF);
    fd_problem p = {pe_run, &c, c.out, dout, (long)ny};
    check_fd(k, "dpixels", &p, c.pixels, nx, ref_dx);
    check_fd(k, "dweight", &p, c.weight, nw, ref_dw);
}

/* ---- token embedding ----------------------------------------------------- */

typedef struct {
    float *out, *table;
    int32_t *ids;
    int N, D;
} emb_ctx;

static void emb_run(void *v)
{
    emb_ctx *c = v;
    cm_embedding_forward(c->out, c->ids, c->table, c->N, c->D);
}

static void test_embedding(void)
{
    const char *k = "embedding";
    int V = 10, D = 8, N = 7;
    size_t nt = (size_t)V * D, ny = (size_t)N * D;
    float *idsf = fixture(k, "ids", N);
    int32_t ids[7];
    for (int i = 0; i < N; i++) ids[i] = (int32_t)idsf[i];
    emb_ctx c = {zeros(ny), fixture(k, "table", nt), ids, N, D};
    float *dout = fixture(k, "dout", ny), *ref = fixture(k, "dtable", nt);
    emb_run(&c);
    check(k, "out", c.out, fixture(k, "out", ny), ny, 0.0);
    float *dt = zeros(nt);
    cm_embedding_backward(dt, dout, ids, N, D);
    check(k, "dtable", dt, ref, nt, TOL_REF);
    cm_embedding_backward(dt, dout, ids, N, D);
    check_doubled(k, "dtable", dt, ref, nt);
    fd_problem p = {emb_run, &c, c.out, dout, (long)ny};
    check_fd(k, "dtable", &p, c.table, nt, ref);
}

/* ---- bfloat16 storage ---------------------------------------------------- */

static float from_bits(uint32_t u)
{
    float x;
    memcpy(&x, &u, sizeof x);
    return x;
}

/* Round to nearest even decided by distances in double: of the two bfloat16 values around x
 * (x's upper half truncated, and the next one away from zero) the nearer, the even one on a
 * tie. Independent of cm_bf16_store's carry trick. */
static uint16_t bf16_reference(float x)
{
    uint32_t u;
    memcpy(&u, &x, sizeof u);
    uint16_t lo = (uint16_t)(u >> 16), hi = (uint16_t)(lo + 1);
    double dlo = fabs((double)x - from_bits((uint32_t)lo << 16));
    double dhi = fabs((double)from_bits((uint32_t)hi << 16) - x);
    if (dlo < dhi) return lo;
    if (dhi < dlo) return hi;
    return (lo & 1) ? hi : lo;
}

static void test_bf16_storage(void)
{
    /* exact, tie to even (down and up), above and below the tie, negative, overflow to inf */
    const uint32_t bits[] = {0x3f800000, 0x3f808000, 0x3f818000, 0x3f808001, 0x3f807fff, 0xbf808001, 0x7f7fffff,
                             0x7f800000, 0x00000000, 0x80000000};
    const uint16_t want[] = {0x3f80, 0x3f80, 0x3f82, 0x3f81, 0x3f80, 0xbf81, 0x7f80, 0x7f80, 0x0000, 0x8000};
    enum { CASES = sizeof bits / sizeof *bits };
    float x[CASES];
    uint16_t h[CASES];
    for (int i = 0; i < CASES; i++) x[i] = from_bits(bits[i]);
    cm_bf16_store(h, x, CASES);
    for (int i = 0; i < CASES; i++)
        CM_TEST(h[i] == want[i], "bf16 of 0x%08x: 0x%04x, want 0x%04x", bits[i], h[i], want[i]);
    /* A long odd length: split over threads, with a tail. Every value's copy is the nearest
     * bfloat16 and reads back exactly as that value. */
    const long n = (1L << 20) + 3;
    float *v = keep(malloc((size_t)n * sizeof *v)), *back = zeros((size_t)n);
    uint16_t *half = (uint16_t *)keep(malloc((size_t)n * sizeof *half));
    uint32_t state = 12345;
    for (long i = 0; i < n; i++) {
        state = state * 1664525u + 1013904223u;
        v[i] = ldexpf((float)(state >> 8) / (1 << 24) - 0.5f, (int)(state % 40) - 20);
    }
    cm_bf16_store(half, v, n);
    cm_bf16_load(back, half, n);
    long wrong = 0, inexact = 0;
    for (long i = 0; i < n; i++) {
        wrong += half[i] != bf16_reference(v[i]);
        inexact += back[i] != from_bits((uint32_t)half[i] << 16);
    }
    CM_TEST(wrong == 0, "bf16 store: %ld of %ld values not rounded to the nearest even", wrong, n);
    CM_TEST(inexact == 0, "bf16 load: %ld of %ld values not read back exactly", inexact, n);
}

int main(void)
{
    test_layernorm();
    test_matmul();
    test_project();
    test_attention("attention_small", 2, 6, 16, 4, 0);
    test_attention("attention_small_causal", 2, 6, 16, 4, 1);
    test_attention("attention_hd64", 2, 5, 128, 2, 0);
    test_attention("attention_hd64_causal", 2, 5, 128, 2, 1);
    test_attention_long_rows(0);
    test_attention_long_rows(1);
    test_quick_gelu();
    test_quick_gelu_range();
    test_residual();
    test_patch_embed();
    test_embedding();
    test_bf16_storage();
    release_all();
    return cm_test_summary();
}
