/* CLIP checkpoints: the two oracle files (OpenAI names in F32, Hugging Face
 * names in F16, written by PyTorch) must load to bit-identical models; saving
 * must reproduce the oracle's bytes; round trips in both namings and all
 * dtypes; every kind of mismatch is reported by tensor name; presets and the
 * random initialisation. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clipmtl/clip_weights.h"
#include "clipmtl/half.h"
#include "clipmtl/log.h"
#include "st_files.h"
#include "test_util.h"

static size_t count_differences(const float *a, const float *b, size_t n)
{
    size_t d = 0;
    for (size_t i = 0; i < n; i++) d += memcmp(&a[i], &b[i], sizeof *a) != 0;
    return d;
}

static void test_oracle(void)
{
    const char *openai = cm_test_shared("data/oracle_tiny/model_openai.safetensors");
    const char *hf = cm_test_shared("data/oracle_tiny/model_hf.safetensors");
    FILE *probe = fopen(openai, "rb");
    if (!probe) {
        printf("skip oracle: %s not found\n", openai);
        return;
    }
    fclose(probe);
    cm_clip_model a, b;
    double t0 = cm_now();
    CM_TEST_OK(cm_clip_load(&a, openai));
    double t1 = cm_now();
    CM_TEST_OK(cm_clip_load(&b, hf));
    double t2 = cm_now();
    printf("load: %s %.1f ms, %s %.1f ms\n", "model_openai (F32)", 1e3 * (t1 - t0), "model_hf (F16)", 1e3 * (t2 - t1));
    if (!a.params || !b.params) return;
    const cm_clip_config *c = &a.cfg;
    CM_TEST(c->embed_dim == 32 && c->vision.width == 128 && c->vision.layers == 2 && c->vision.heads == 2 &&
                c->patch_size == 8 && c->image_size == 32 && c->grid == 4 && c->text.width == 128 &&
                c->text.layers == 2 && c->text.heads == 2 && c->context_length == 77 && c->vocab_size == 49408 &&
                c->vision.mlp_width == 512 && c->text.mlp_width == 512,
            "oracle config (manifest.json)");
    CM_TEST(memcmp(&a.cfg, &b.cfg, sizeof a.cfg) == 0, "both namings infer the same config");
    CM_TEST(a.table.total == b.table.total && a.table.total == 7163009, "7,163,009 parameters (%zu)", a.table.total);
    size_t diff = count_differences(a.params, b.params, a.table.total);
    CM_TEST(diff == 0, "OpenAI F32 and HF F16 files load bit-identically (%zu of %zu values differ)", diff,
            a.table.total);
    size_t not_half = 0;
    for (size_t i = 0; i < a.table.total; i++) not_half += cm_f16_to_f32(cm_f32_to_f16(a.params[i])) != a.params[i];
    CM_TEST(not_half == 0, "the oracle weights are fp16 values (%zu are not)", not_half);

    /* Saving in each naming gives the oracle's bytes for every tensor. */
    const struct {
        const char *oracle;
        cm_weight_naming naming;
        cm_dtype dtype;
    } saves[] = {{openai, CM_NAMING_OPENAI, CM_DTYPE_F32}, {hf, CM_NAMING_HF, CM_DTYPE_F16}};
    for (int s = 0; s < 2; s++) {
        const char *path = st_temp_path("resaved.safetensors");
        CM_TEST_OK(cm_clip_save(&a, path, saves[s].naming, saves[s].dtype));
        cm_safetensors mine, theirs;
        CM_TEST_OK(cm_safetensors_open(&mine, path));
        CM_TEST_OK(cm_safetensors_open(&theirs, saves[s].oracle));
        CM_TEST(mine.count == theirs.count, "%s: %d tensors written, oracle has %d",
                cm_weight_naming_name(saves[s].naming), mine.count, theirs.count);
        int mismatched = 0;
        for (int i = 0; i < theirs.count; i++) {
            const cm_st_tensor *t = &theirs.tensors[i], *m = cm_safetensors_find(&mine, t->name);
            if (!m || m->dtype != t->dtype || m->numel != t->numel ||
                memcmp(mine.data + m->begin, theirs.data + t->begin, t->end - t->begin) != 0) {
                if (mismatched++ < 5) printf("  %s differs from the oracle\n", t->name);
            }
        }
        CM_TEST(mismatched == 0, "%s save: %d tensors differ from the oracle's bytes",
                cm_weight_naming_name(saves[s].naming), mismatched);
        const cm_st_tensor *ls = cm_safetensors_find(&mine, "logit_scale");
        CM_TEST(ls && ls->ndim == 0, "logit_scale is saved as a 0-d tensor, as in PyTorch");
        cm_safetensors_close(&mine);
        cm_safetensors_close(&theirs);
    }
    cm_clip_destroy(&a);
    cm_clip_destroy(&b);
}

static float stored(float x, cm_dtype dtype)
{
    if (dtype == CM_DTYPE_F16) return cm_f16_to_f32(cm_f32_to_f16(x));
    if (dtype == CM_DTYPE_BF16) return cm_bf16_to_f32(cm_f32_to_bf16(x));
    return x;
}

static void test_round_trips(const cm_clip_model *m)
{
    const cm_dtype dtypes[] = {CM_DTYPE_F32, CM_DTYPE_F16, CM_DTYPE_BF16};
    float *want = malloc(m->table.total * sizeof *want);
    for (int n = 0; n < 2; n++)
        for (int k = 0; k < 3; k++) {
            cm_weight_naming naming = n ? CM_NAMING_HF : CM_NAMING_OPENAI;
            const char *path = st_temp_path("trip.safetensors");
            CM_TEST_OK(cm_clip_save(m, path, naming, dtypes[k]));
            cm_safetensors st;
            CM_TEST_OK(cm_safetensors_open(&st, path));
            cm_weight_naming found;
            cm_clip_config cfg;
            CM_TEST_OK(cm_clip_check_file(&st, &found, &cfg));
            CM_TEST(found == naming && memcmp(&cfg, &m->cfg, sizeof cfg) == 0, "%s/%s: naming and config recovered",
                    cm_weight_naming_name(naming), cm_dtype_name(dtypes[k]));
            CM_TEST(st.count == (naming == CM_NAMING_HF ? m->table.count + 2 * (2 * m->cfg.vision.layers +
                                                                               2 * m->cfg.text.layers)
                                                        : m->table.count),
                    "%s: %d tensors", cm_weight_naming_name(naming), st.count);
            cm_safetensors_close(&st);
            cm_clip_model r;
            CM_TEST_OK(cm_clip_load(&r, path));
            if (!r.params) continue;
            for (size_t i = 0; i < m->table.total; i++) want[i] = stored(m->params[i], dtypes[k]);
            size_t diff = count_differences(r.params, want, m->table.total);
            CM_TEST(diff == 0, "%s/%s round trip: %zu values differ from the %s rounding",
                    cm_weight_naming_name(naming), cm_dtype_name(dtypes[k]), diff, cm_dtype_name(dtypes[k]));
            cm_clip_destroy(&r);
        }
    free(want);
}

/* Rewrites a valid checkpoint as F32, dropping the tensors in `drop` and
 * giving `reshape_name` (if any) the shape `shape` (data zero-padded). */
static int rewrite(const char *src, const char *dst, const char *const *drop, const char *reshape_name, int ndim,
                   const int64_t *shape)
{
    cm_safetensors st;
    if (cm_safetensors_open(&st, src) != CM_OK) return -1;
    cm_tensor_table t;
    cm_table_init(&t);
    for (int i = 0; i < st.count; i++) {
        const cm_st_tensor *s = &st.tensors[i];
        int dropped = 0;
        for (int k = 0; drop && drop[k]; k++) dropped |= strcmp(drop[k], s->name) == 0;
        if (dropped) continue;
        if (reshape_name && strcmp(s->name, reshape_name) == 0) cm_table_add(&t, s->name, ndim, shape, NULL);
        else cm_table_add(&t, s->name, s->ndim, s->shape, NULL);
    }
    float *buffer = calloc(t.total + 1, sizeof *buffer);
    for (int i = 0; i < t.count; i++) {
        const cm_st_tensor *s = cm_safetensors_find(&st, t.entries[i].name);
        float *tmp = calloc(s->numel + 1, sizeof *tmp);
        cm_safetensors_read_f32(&st, s, tmp);
        size_t n = s->numel < t.entries[i].numel ? s->numel : t.entries[i].numel;
        memcpy(buffer + t.entries[i].offset, tmp, n * sizeof *tmp);
        free(tmp);
    }
    cm_err err = cm_safetensors_write(dst, &t, buffer, CM_DTYPE_F32, NULL, 0);
    free(buffer);
    cm_table_free(&t);
    cm_safetensors_close(&st);
    return err == CM_OK ? 0 : -1;
}

/* Loading `path` must fail with every string of `expect` in the message. */
static void expect_load_error(const char *what, const char *path, const char *const *expect)
{
    cm_clip_model m;
    cm_err err = cm_clip_load(&m, path);
    const char *msg = cm_error_message();
    int ok = err == CM_ERR_FORMAT && strstr(msg, path);
    for (int k = 0; expect[k]; k++)
        if (!strstr(msg, expect[k])) {
            ok = 0;
            printf("  %s: missing '%s'\n", what, expect[k]);
        }
    CM_TEST(ok, "%s: got: %s", what, msg);
    CM_TEST(m.params == NULL && m.table.entries == NULL, "%s: a failed load leaves the model empty", what);
    cm_error_clear();
}

static void test_mismatches(const cm_clip_model *m)
{
    const char *base = st_temp_path("base_openai.safetensors"), *base_hf = st_temp_path("base_hf.safetensors");
    const char *bad = st_temp_path("bad.safetensors");
    CM_TEST_OK(cm_clip_save(m, base, CM_NAMING_OPENAI, CM_DTYPE_F32));
    CM_TEST_OK(cm_clip_save(m, base_hf, CM_NAMING_HF, CM_DTYPE_F16));

    const char *drop_one[] = {"visual.ln_post.bias", NULL};
    rewrite(base, bad, drop_one, NULL, 0, NULL);
    expect_load_error("missing", bad, (const char *[]){"1 missing: visual.ln_post.bias", NULL});

    float junk[3] = {1, 2, 3};
    st_append_tensor(base, bad, "visual.extra_scale", "F32", "[3]", junk, sizeof junk);
    expect_load_error("unexpected", bad, (const char *[]){"1 unexpected: visual.extra_scale", NULL});

    int64_t wrong[2] = {128, 2};
    rewrite(base, bad, NULL, "transformer.resblocks.1.mlp.c_fc.bias", 2, wrong);
    expect_load_error("mis-shaped", bad,
                      (const char *[]){"transformer.resblocks.1.mlp.c_fc.bias [128,2] (expected [256])", NULL});

    /* Everything at once, in HF names: all problems listed, not just the first. */
    const char *drop_hf[] = {"text_model.encoder.layers.1.self_attn.k_proj.bias",
                             "vision_model.encoder.layers.0.mlp.fc2.weight", NULL};
    int64_t wrong_proj[2] = {64, 32};
    const char *stage = st_temp_path("stage.safetensors");
    rewrite(base_hf, stage, drop_hf, "visual_projection.weight", 2, wrong_proj);
    st_append_tensor(stage, bad, "text_model.encoder.layers.0.self_attn.qkv.weight", "F32", "[3]", junk, sizeof junk);
    expect_load_error("several", bad,
                      (const char *[]){"hf names", "2 missing:", "text_model.encoder.layers.1.self_attn.k_proj.bias",
                                       "vision_model.encoder.layers.0.mlp.fc2.weight",
                                       "1 unexpected: text_model.encoder.layers.0.self_attn.qkv.weight",
                                       "visual_projection.weight [64,32] (expected [32,64])", NULL});

    /* An integer tensor where weights belong. */
    const char *drop_bias[] = {"text_model.encoder.layers.0.mlp.fc1.bias", NULL};
    rewrite(base_hf, stage, drop_bias, NULL, 0, NULL);
    int64_t ints[256] = {0};
    st_append_tensor(stage, bad, "text_model.encoder.layers.0.mlp.fc1.bias", "I64", "[256]", ints, sizeof ints);
    expect_load_error("mistyped", bad,
                      (const char *[]){"text_model.encoder.layers.0.mlp.fc1.bias has dtype I64", NULL});

    /* HF's position_ids buffers are ignored, whatever their dtype. */
    int64_t ids[77];
    for (int i = 0; i < 77; i++) ids[i] = i;
    st_append_tensor(base_hf, bad, "text_model.embeddings.position_ids", "I64", "[1,77]", ids, sizeof ids);
    cm_clip_model with_ids, without;
    CM_TEST_OK(cm_clip_load(&with_ids, bad));
    CM_TEST_OK(cm_clip_load(&without, base_hf));
    CM_TEST(with_ids.params && without.params &&
                count_differences(with_ids.params, without.params, without.table.total) == 0,
            "position_ids ignored");
    cm_clip_destroy(&with_ids);
    cm_clip_destroy(&without);

    /* Problems that prevent inferring the configuration. */
    const char *drop_final[] = {"ln_final.weight", "token_embedding.weight", NULL};
    rewrite(base, bad, drop_final, NULL, 0, NULL);
    expect_load_error("anchors", bad, (const char *[]){"cannot infer the CLIP configuration", "ln_final.weight is missing",
                                                      "token_embedding.weight is missing", NULL});
    int64_t rows[2] = {18, 64};
    rewrite(base, bad, NULL, "visual.positional_embedding", 2, rows);
    expect_load_error("grid", bad, (const char *[]){"17 patches do not form a square grid", NULL});
    int64_t conv[4] = {100, 3, 8, 8};
    rewrite(base, bad, NULL, "visual.conv1.weight", 4, conv);
    expect_load_error("width", bad, (const char *[]){"vision width 100 is not a multiple of 64", NULL});

    int64_t one_position[2] = {1, 64};
    rewrite(base, bad, NULL, "positional_embedding", 2, one_position);
    expect_load_error("context", bad, (const char *[]){"inferred from the shapes is invalid", "context length 1", NULL});

    /* A gap in the layers: block 0 gone, block 1 present, so block 0 is missing. */
    const char *drop_block[13];
    char names[12][CM_NAME_MAX];
    int n = 0;
    for (int i = 0; i < m->table.count && n < 12; i++)
        if (strncmp(m->table.entries[i].name, "visual.transformer.resblocks.0.", 31) == 0) {
            snprintf(names[n], CM_NAME_MAX, "%s", m->table.entries[i].name);
            drop_block[n] = names[n];
            n++;
        }
    drop_block[n] = NULL;
    rewrite(base, bad, drop_block, NULL, 0, NULL);
    expect_load_error("layer gap", bad,
                      (const char *[]){"12 missing:", "visual.transformer.resblocks.0.attn.in_proj_weight",
                                       "visual.transformer.resblocks.0.mlp.c_proj.bias", NULL});

    /* Not CLIP at all. */
    float w[2] = {0, 0};
    st_write_raw(bad, "{\"encoder.weight\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", -1, w, 8);
    expect_load_error("not clip", bad, (const char *[]){"not a CLIP checkpoint", NULL});

    /* A very long report is cut in the message and printed in full. */
    const char *stage2 = st_temp_path("stage2.safetensors");
    rewrite(base, stage, NULL, NULL, 0, NULL);
    for (int i = 0; i < 40; i++) {
        char name[64];
        snprintf(name, sizeof name, "visual.transformer.resblocks.0.adapter_%02d.weight", i);
        st_append_tensor(stage, stage2, name, "F32", "[1]", w, 4);
        rename(stage2, stage);
    }
    expect_load_error("long report", stage, (const char *[]){"40 unexpected", "the full list is printed above", NULL});
    CM_TEST(strlen(cm_error_message()) < 2047, "message fits the error buffer");
}

static void test_presets(void)
{
    cm_clip_config c;
    cm_tensor_table t;
    CM_TEST_OK(cm_clip_preset("vit-b16", &c));
    cm_table_init(&t);
    CM_TEST_OK(cm_clip_layout(&c, &t));
    size_t vision, text, other;
    cm_clip_count_params(&t, &vision, &text, &other);
    /* spec 1.4: visual 86,192,640; text 63,428,096; logit_scale 1; total 149,620,737 */
    CM_TEST(t.total == 149620737 && vision == 86192640 && text == 63428096 && other == 1,
            "ViT-B/16 parameters: %zu (vision %zu, text %zu, other %zu)", t.total, vision, text, other);
    CM_TEST(t.count == 4 + 1 + 12 * 12 + 2 + 1 + 2 + 12 * 12 + 2 + 1 + 1, "ViT-B/16 has %d tensors", t.count);
    cm_table_free(&t);
    CM_TEST(c.vision.heads == 12 && c.text.heads == 8 && c.grid == 14 && c.embed_dim == 512, "ViT-B/16 dims");
    CM_TEST_OK(cm_clip_preset("vit-b32", &c));
    CM_TEST(c.patch_size == 32 && c.grid == 7 && c.vision.width == 768 && c.text.width == 512, "ViT-B/32 dims");
    CM_TEST_OK(cm_clip_preset("vit-l14", &c));
    CM_TEST(c.patch_size == 14 && c.grid == 16 && c.vision.width == 1024 && c.vision.layers == 24 &&
                c.vision.heads == 16 && c.text.width == 768 && c.text.heads == 12 && c.embed_dim == 768,
            "ViT-L/14 dims");
    CM_TEST_OK(cm_clip_preset("tiny", &c));
    CM_TEST(c.vision.width == 64 && c.vision.layers == 2 && c.patch_size == 8 && c.image_size == 32 &&
                c.text.width == 64 && c.text.layers == 2 && c.context_length == 77 && c.vocab_size == 49408 &&
                c.embed_dim == 32 && c.vision.heads == 1,
            "tiny dims");
    CM_TEST(cm_clip_preset("vit-h14", &c) == CM_ERR_ARG && strstr(cm_error_message(), "vit-b16"),
            "unknown preset lists the known ones: %s", cm_error_message());
    cm_error_clear();
}

static double mean_of(const float *x, size_t n, double *std)
{
    double s = 0, s2 = 0;
    for (size_t i = 0; i < n; i++) s += x[i];
    double mean = s / (double)n;
    for (size_t i = 0; i < n; i++) s2 += (x[i] - mean) * (x[i] - mean);
    *std = sqrt(s2 / (double)n);
    return mean;
}

static const cm_tensor_desc *entry(const cm_clip_model *m, const char *name) { return cm_table_find(&m->table, name); }

static void test_init(cm_clip_model *m)
{
    cm_clip_model again;
    CM_TEST_OK(cm_clip_create(&again, &m->cfg));
    CM_TEST_OK(cm_clip_init_random(&again, 7));
    CM_TEST(count_differences(m->params, again.params, m->table.total) == 0, "same seed, same weights");
    CM_TEST_OK(cm_clip_init_random(&again, 8));
    CM_TEST(count_differences(m->params, again.params, m->table.total) > m->table.total / 2, "another seed differs");
    cm_clip_destroy(&again);

    /* Normal draws: the sample std must be within 1% of the target. For n > 10^4
     * samples the standard error of the std is below 0.71%/sqrt(n/10^4): 1% is > 4 sigma
     * for the smallest tensor checked (16K values). */
    const struct {
        const char *name;
        double std;
    } normals[] = {
        {"token_embedding.weight", 0.02},
        {"transformer.resblocks.0.attn.in_proj_weight", 1 / 8.0},                 /* 64^-0.5 */
        {"transformer.resblocks.1.attn.out_proj.weight", 1 / 8.0 / 2.0},         /* 64^-0.5 (2*2)^-0.5 */
        {"transformer.resblocks.0.mlp.c_fc.weight", 0.08838834764831845},        /* (2*64)^-0.5 */
        {"transformer.resblocks.0.mlp.c_proj.weight", 1 / 16.0},
    };
    for (size_t i = 0; i < sizeof normals / sizeof normals[0]; i++) {
        const cm_tensor_desc *d = entry(m, normals[i].name);
        double std, mean = mean_of(m->params + d->offset, d->numel, &std);
        CM_TEST(fabs(std / normals[i].std - 1) < 0.01 && fabs(mean) < 5 * normals[i].std / sqrt((double)d->numel),
                "%s: mean %.3g std %.5g, want 0 and %.5g", normals[i].name, mean, std, normals[i].std);
    }
    /* Uniform draws stay within their bound and reach near it. */
    const struct {
        const char *name;
        double bound;
    } uniforms[] = {
        {"visual.conv1.weight", 1 / sqrt(3.0 * 64)},
        {"visual.transformer.resblocks.0.attn.in_proj_weight", sqrt(6.0 / 256)},
        {"visual.transformer.resblocks.1.mlp.c_proj.weight", 1 / 16.0},
        {"transformer.resblocks.0.mlp.c_fc.bias", 1 / 8.0},
    };
    for (size_t i = 0; i < sizeof uniforms / sizeof uniforms[0]; i++) {
        const cm_tensor_desc *d = entry(m, uniforms[i].name);
        double top = 0;
        for (size_t k = 0; k < d->numel; k++) top = fmax(top, fabs(m->params[d->offset + k]));
        CM_TEST(top <= uniforms[i].bound && top > 0.95 * uniforms[i].bound, "%s: max |w| %.5g, bound %.5g",
                uniforms[i].name, top, uniforms[i].bound);
    }
    const char *ones[] = {"visual.ln_pre.weight", "transformer.resblocks.1.ln_2.weight", "ln_final.weight"};
    const char *zeros[] = {"visual.ln_post.bias", "transformer.resblocks.0.attn.in_proj_bias",
                           "visual.transformer.resblocks.1.attn.out_proj.bias"};
    for (int i = 0; i < 3; i++) {
        const cm_tensor_desc *a = entry(m, ones[i]), *b = entry(m, zeros[i]);
        int ok = 1;
        for (size_t k = 0; k < a->numel; k++) ok &= m->params[a->offset + k] == 1.0f;
        for (size_t k = 0; k < b->numel; k++) ok &= m->params[b->offset + k] == 0.0f;
        CM_TEST(ok, "%s all 1, %s all 0", ones[i], zeros[i]);
    }
    CM_TEST(*m->w.logit_scale == (float)log(1 / 0.07), "logit_scale = ln(1/0.07), got %.7g", *m->w.logit_scale);
}

int main(void)
{
    test_oracle();
    cm_clip_config cfg;
    cm_clip_model m;
    CM_TEST_OK(cm_clip_preset("tiny", &cfg));
    CM_TEST_OK(cm_clip_create(&m, &cfg));
    CM_TEST_OK(cm_clip_init_random(&m, 7));
    test_init(&m);
    cm_clip_destroy(&m);
    /* The file tests need no 49408-word vocabulary: 1000 keeps each file
     * small (the many atomic writes fsync) without changing any block shape. */
    cfg.vocab_size = 1000;
    CM_TEST_OK(cm_clip_create(&m, &cfg));
    CM_TEST_OK(cm_clip_init_random(&m, 7));
    test_round_trips(&m);
    test_mismatches(&m);
    cm_clip_destroy(&m);
    test_presets();
    st_remove_temp_dir();
    return cm_test_summary();
}
