/* Prompt generators: parameter counts against spec.md's formulas (ViT-B/16 widths), the
 * Kronecker op, finite-difference checks of every generator's backward, and config errors. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clipmtl/kron.h"
#include "clipmtl/prompt_method.h"
#include "test_util.h"

static size_t count_params(cm_method_kind kind, int n_text, int n_visual, int depth, int m, int n)
{
    cm_method_options o;
    cm_method_options_default(kind, &o);
    o.n_text = n_text, o.n_visual = n_visual, o.depth_text = o.depth_visual = depth;
    if (m) o.mmap_m = m, o.mmap_n = n;
    cm_tensor_table t;
    cm_table_init(&t);
    cm_prompt_method pm;
    cm_err e = cm_method_create(&pm, &o, 512, 768, 12, 12, &t, "");
    if (e != CM_OK) cm_error_print(stderr);
    size_t count = e == CM_OK ? pm.count : 0;
    CM_TEST(e != CM_OK || count == t.total, "table total %zu != method count %zu", t.total, count);
    cm_method_destroy(&pm);
    cm_table_free(&t);
    return count;
}

static void test_parameter_counts(void)
{
    struct { const char *what; size_t got, want; } cases[] = {
        /* spec.md 2.3-2.6 */
        {"CoOp n=16", count_params(CM_METHOD_COOP, 16, 0, 1, 0, 0), 8192},
        {"CoOp n=4", count_params(CM_METHOD_COOP, 4, 0, 1, 0, 0), 2048},
        {"VPT n=8 J=12", count_params(CM_METHOD_VPT, 0, 8, 12, 0, 0), 73728},
        {"VPT n=4 J=12", count_params(CM_METHOD_VPT, 0, 4, 12, 0, 0), 36864},
        {"VPT n=2 J=9", count_params(CM_METHOD_VPT, 0, 2, 9, 0, 0), 13824},
        {"IVLP 2+2 J=12", count_params(CM_METHOD_IVLP, 2, 2, 12, 0, 0), 30720},
        {"IVLP 2+2 J=9", count_params(CM_METHOD_IVLP, 2, 2, 9, 0, 0), 23040},
        {"IVLP language-only 4 J=12", count_params(CM_METHOD_IVLP, 4, 0, 12, 0, 0), 24576},
        {"MaPLe n=2 J=9", count_params(CM_METHOD_MAPLE, 2, 2, 9, 0, 0), 3555072},
        {"MaPLe n=2 J=12", count_params(CM_METHOD_MAPLE, 2, 2, 12, 0, 0), 4740096},
        /* spec.md 3.3 table: J (m n + b 1280 / (m n)) */
        {"MmAP b2 m2 n256 J9", count_params(CM_METHOD_MMAP, 2, 2, 9, 2, 256), 4653},
        {"MmAP b4 m4 n256 J9", count_params(CM_METHOD_MMAP, 4, 4, 9, 4, 256), 9261},
        {"MmAP b4 m2 n32 J9", count_params(CM_METHOD_MMAP, 4, 4, 9, 2, 32), 1296},
        {"MmAP b8 m8 n256 J12", count_params(CM_METHOD_MMAP, 8, 8, 12, 8, 256), 24636},
        {"MmAP b8 m4 n64 J12", count_params(CM_METHOD_MMAP, 8, 8, 12, 4, 64), 3552},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        printf("%-28s %9zu (spec %zu)\n", cases[i].what, cases[i].got, cases[i].want);
        CM_TEST(cases[i].got == cases[i].want, "%s: %zu parameters, spec.md says %zu", cases[i].what, cases[i].got,
                cases[i].want);
    }
}

static void test_kron(void)
{
    float A[6] = {1, 2, 3, 4, 5, 6}, B[4] = {0.5f, -1, 2, 3}; /* A 2x3, B 2x2 */
    float out[24];
    cm_kron_forward(out, A, 2, 3, B, 2, 2);
    int bad = 0;
    for (int i = 0; i < 2; i++)
        for (int k = 0; k < 3; k++)
            for (int r = 0; r < 2; r++)
                for (int s = 0; s < 2; s++)
                    bad += out[(i * 2 + r) * 6 + k * 2 + s] != A[i * 3 + k] * B[r * 2 + s];
    CM_TEST(bad == 0, "cm_kron_forward disagrees with (A(x)B)[i c + r, k d + s] = A[i,k] B[r,s] at %d places", bad);
}

/* Loss L = sum(text * R_t) + sum(visual * R_v) for fixed random R: d(prompts) = R, so the
 * generator's backward must equal the finite-difference gradient of L in its parameters. */
static double probe_loss(const cm_prompt_method *pm, const float *params, cm_prompt_stack *t, cm_prompt_stack *v,
                         const float *Rt, const float *Rv)
{
    cm_method_prompts_forward(pm, params, t, v);
    double L = 0;
    for (size_t i = 0; i < (size_t)t->n * t->depth * t->width; i++) L += (double)t->values[i] * Rt[i];
    for (size_t i = 0; i < (size_t)v->n * v->depth * v->width; i++) L += (double)v->values[i] * Rv[i];
    return L;
}

static void check_backward(const char *what, cm_method_options o)
{
    const int Dt = 16, Dv = 24;
    cm_tensor_table table;
    cm_table_init(&table);
    cm_prompt_method pm;
    /* A leading tensor of another method checks that offsets are absolute in the shared buffer. */
    int64_t pad_shape[1] = {5};
    CM_TEST_OK(cm_table_add(&table, "other.pad", 1, pad_shape, NULL));
    cm_err e = cm_method_create(&pm, &o, Dt, Dv, 4, 4, &table, "task0.");
    CM_TEST(e == CM_OK, "%s: create failed", what);
    if (e != CM_OK) { cm_error_print(stderr); cm_error_clear(); cm_table_free(&table); return; }
    cm_prompt_stack t, v;
    cm_method_prompt_shapes(&pm, &t, &v);
    size_t nt = (size_t)t.n * t.depth * t.width, nv = (size_t)v.n * v.depth * v.width;
    float *params = calloc(table.total, sizeof(float)), *grad = calloc(table.total, sizeof(float));
    float *Rt = malloc((nt + 1) * sizeof(float)), *Rv = malloc((nv + 1) * sizeof(float));
    t.values = malloc((nt + 1) * sizeof(float));
    v.values = malloc((nv + 1) * sizeof(float));
    cm_rng rng;
    cm_rng_seed(&rng, 7, 1);
    cm_method_init(&pm, params, &rng, NULL);
    /* Move away from the all-ones scaling init so that both Kronecker factors matter. */
    for (size_t i = pm.first; i < pm.first + pm.count; i++) params[i] += 0.3f * cm_rng_normal(&rng);
    for (size_t i = 0; i < nt; i++) Rt[i] = cm_rng_normal(&rng);
    for (size_t i = 0; i < nv; i++) Rv[i] = cm_rng_normal(&rng);
    cm_prompt_stack dt = t, dv = v;
    dt.values = Rt, dv.values = Rv;
    cm_method_prompts_backward(&pm, params, &dt, &dv, grad);
    float *fd = calloc(table.total, sizeof(float));
    const float h = 1e-2f; /* L is polynomial of degree <= 2 in each parameter: central differences are exact up to rounding */
    for (size_t i = 0; i < table.total; i++) {
        float keep = params[i];
        params[i] = keep + h;
        double up = probe_loss(&pm, params, &t, &v, Rt, Rv);
        params[i] = keep - h;
        double down = probe_loss(&pm, params, &t, &v, Rt, Rv);
        params[i] = keep;
        fd[i] = (float)((up - down) / (2.0 * h));
    }
    char label[128];
    snprintf(label, sizeof label, "%s backward vs finite differences (%zu params)", what, pm.count);
    cm_test_close(label, grad, fd, table.total, 1e-4, 1e-4);
    CM_TEST(grad[0] == 0 && fd[0] == 0, "%s: gradient leaked outside the method's range", what);
    free(params), free(grad), free(fd), free(Rt), free(Rv), free(t.values), free(v.values);
    cm_method_destroy(&pm);
    cm_table_free(&table);
}

static void test_backwards(void)
{
    cm_method_options o;
    cm_method_options_default(CM_METHOD_COOP, &o), o.n_text = 3;
    check_backward("coop", o);
    cm_method_options_default(CM_METHOD_VPT, &o), o.n_visual = 2, o.depth_visual = 3;
    check_backward("vpt", o);
    cm_method_options_default(CM_METHOD_IVLP, &o), o.depth_text = 2, o.depth_visual = 3;
    check_backward("ivlp", o);
    cm_method_options_default(CM_METHOD_MAPLE, &o), o.depth_text = o.depth_visual = 3;
    check_backward("maple", o);
    cm_method_options_default(CM_METHOD_MMAP, &o);
    o.n_text = o.n_visual = 4, o.depth_text = o.depth_visual = 3, o.mmap_m = 2, o.mmap_n = 4;
    check_backward("mmap per-layer source", o);
    o.mmap_shared_source = 1, o.mmap_scale_init_normal = 1;
    check_backward("mmap shared source", o);
}

static void expect_config_error(const char *what, cm_method_options o, const char *needle)
{
    cm_tensor_table t;
    cm_table_init(&t);
    cm_prompt_method pm;
    cm_err e = cm_method_create(&pm, &o, 512, 768, 12, 12, &t, "");
    CM_TEST(e == CM_ERR_CONFIG && strstr(cm_error_message(), needle), "%s: want a config error containing '%s', got %s: %s",
            what, needle, cm_error_name(e), cm_error_message());
    printf("%-26s -> %s\n", what, cm_error_message());
    cm_error_clear();
    if (e == CM_OK) cm_method_destroy(&pm);
    cm_table_free(&t);
}

static void test_config_errors(void)
{
    cm_method_options o;
    /* The rules of the method table, as configurations get them (tests/config) but naming the key only. */
    cm_method_options_default(CM_METHOD_MMAP, &o), o.mmap_m = 3;
    expect_config_error("mmap m does not divide b", o, "method.mmap.b: b = 4 is not a multiple of m = 3");
    cm_method_options_default(CM_METHOD_MMAP, &o), o.mmap_n = 48;
    expect_config_error("mmap n does not divide 512", o, "n = 48");
    cm_method_options_default(CM_METHOD_VPT, &o), o.depth_visual = 13;
    expect_config_error("depth beyond the layers", o, "13 prompted layers");
    cm_method_options_default(CM_METHOD_MAPLE, &o), o.n_visual = 3;
    expect_config_error("maple uneven towers", o, "must equal n_ctx_text");
    cm_method_options_default(CM_METHOD_COOP, &o), o.depth_text = 2;
    expect_config_error("coop deep", o, "layer 0");
    cm_method_options_default(CM_METHOD_MMAP, &o), o.n_visual = 2;
    expect_config_error("mmap uneven towers", o, "counts (4, 2)");
    cm_method_options_default(CM_METHOD_COOP, &o), o.n_visual = 2, o.depth_visual = 1;
    expect_config_error("coop visual prompts", o, "coop has no visual prompts");
    cm_method_options_default(CM_METHOD_VPT, &o), o.n_text = 2, o.depth_text = 1;
    expect_config_error("vpt text prompts", o, "vpt has no text prompts");
    cm_method_options_default(CM_METHOD_IVLP, &o), o.n_text = o.n_visual = 0;
    expect_config_error("ivlp no prompts", o, "ivlp needs text or visual tokens");
    cm_method_options_default(CM_METHOD_IVLP, &o), o.depth_visual = 0;
    expect_config_error("prompts without a layer", o, "at least one prompted layer");
}

static void test_sentences(void)
{
    cm_tokenizer *tok;
    CM_TEST_OK(cm_tokenizer_load(&tok, NULL));
    cm_tensor_table t;
    cm_table_init(&t);
    cm_prompt_method pm;
    char buf[256];
    cm_method_options o;
    cm_method_options_default(CM_METHOD_MAPLE, &o);
    CM_TEST_OK(cm_method_create(&pm, &o, 512, 768, 12, 12, &t, ""));
    CM_TEST_OK(cm_class_sentence(tok, pm.opt.ctx_init, pm.opt.n_text, "alarm_clock", buf, sizeof buf));
    CM_TEST(strcmp(buf, "a photo of a alarm clock.") == 0, "maple sentence '%s'", buf);
    cm_method_destroy(&pm);
    cm_method_options_default(CM_METHOD_COOP, &o), o.n_text = 4;
    CM_TEST_OK(cm_method_create(&pm, &o, 512, 768, 12, 12, &t, "x."));
    CM_TEST_OK(cm_class_sentence(tok, pm.opt.ctx_init, pm.opt.n_text, "Real_World", buf, sizeof buf));
    CM_TEST(strcmp(buf, "X X X X Real World.") == 0, "coop sentence '%s'", buf);
    CM_TEST(cm_table_find(&t, "x.coop.text.0") != NULL, "coop tensor not named x.coop.text.0");
    cm_method_destroy(&pm);
    cm_method_options_default(CM_METHOD_ZEROSHOT, &o);
    CM_TEST_OK(cm_method_create(&pm, &o, 512, 768, 12, 12, &t, ""));
    CM_TEST_OK(cm_class_sentence(tok, pm.opt.ctx_init, pm.opt.n_text, "dog", buf, sizeof buf));
    CM_TEST(strcmp(buf, "a photo of a dog.") == 0 && pm.count == 0, "zero-shot sentence '%s'", buf);
    CM_TEST(cm_class_sentence(tok, pm.opt.ctx_init, pm.opt.n_text, "dog", buf, 8) == CM_ERR_ARG, "a short buffer must be an error");
    cm_error_clear();
    cm_method_destroy(&pm);
    cm_table_free(&t);

    /* More prompt rows than ctx_init tokens (a grouped task's group + task rows): placeholders fill
     * the difference, and the rows after SOS end where the class name begins. */
    CM_TEST_OK(cm_class_sentence(tok, "a photo of", 6, "ankle_boot", buf, sizeof buf));
    CM_TEST(strcmp(buf, "a photo of X X X ankle boot.") == 0, "padded sentence '%s'", buf);
    int32_t ids[77], cls[77];
    CM_TEST_OK(cm_tokenize(tok, buf, 77, 1, ids));
    CM_TEST_OK(cm_tokenize(tok, "ankle boot.", 77, 1, cls));
    for (int i = 1; cls[i] != cls[0] + 1; i++) /* up to EOT (SOS + 1) */
        CM_TEST(ids[6 + i] == cls[i], "class token %d of the padded sentence is %d, not %d", i, ids[6 + i], cls[i]);
    CM_TEST_OK(cm_class_sentence(tok, "a photo of a", 2, "bag", buf, sizeof buf));
    CM_TEST(strcmp(buf, "a photo of a bag.") == 0, "sentence with words left '%s'", buf);
    cm_tokenizer_free(tok);
}

int main(void)
{
    test_parameter_counts();
    test_kron();
    test_backwards();
    test_config_errors();
    test_sentences();
    return cm_test_summary();
}
