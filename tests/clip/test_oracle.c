/* The OpenAI oracle (../shared/data/oracle_tiny): a tiny CLIP built and run by OpenAI's own
 * clip/model.py. Loaded from both files (OpenAI names F32, Hugging Face names F16), our
 * forward must give its image features, text features and logits to a relative error of 1e-4
 * (max |ours - oracle| / max |oracle| per tensor); our tokenizer must give its token ids. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clipmtl/clip_weights.h"
#include "clipmtl/encoder.h"
#include "clipmtl/json.h"
#include "clipmtl/tokenizer.h"
#include "test_util.h"

enum { N_IMAGES = 3, N_TEXTS = 4, CTX = 77 };

static char *read_text(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    rewind(f);
    char *s = malloc((size_t)n + 1);
    *len = s ? fread(s, 1, (size_t)n, f) : 0;
    fclose(f);
    return s;
}

/* texts and token_ids of manifest.json. */
static int read_manifest(char texts[N_TEXTS][128], int32_t ids[N_TEXTS][CTX])
{
    size_t len;
    char *bytes = read_text(cm_test_shared("data/oracle_tiny/manifest.json"), &len);
    cm_json_doc doc;
    int ok = bytes && cm_json_parse(&doc, bytes, len, "manifest.json", 0) == CM_OK;
    free(bytes);
    if (!ok) return 0;
    const cm_json_node *root = cm_json_root(&doc);
    const cm_json_node *t = cm_json_first(&doc, cm_json_get(&doc, root, "texts"));
    const cm_json_node *row = cm_json_first(&doc, cm_json_get(&doc, root, "token_ids"));
    for (int i = 0; i < N_TEXTS && ok; i++, t = cm_json_next(&doc, t), row = cm_json_next(&doc, row)) {
        ok = t && row && t->type == CM_JSON_STRING && row->count == CTX;
        if (!ok) break;
        snprintf(texts[i], 128, "%s", t->string);
        const cm_json_node *v = cm_json_first(&doc, row);
        for (int k = 0; k < CTX; k++, v = cm_json_next(&doc, v)) ids[i][k] = (int32_t)v->integer;
    }
    cm_json_free(&doc);
    return ok;
}

static void check_model(const char *file, const float *pixels, const int32_t *ids, const float *want_img,
                        const float *want_txt, const float *want_logits)
{
    cm_clip_model m;
    CM_TEST_OK(cm_clip_load(&m, cm_test_shared(file)));
    if (cm_test_failures) return;
    CM_TEST(m.cfg.embed_dim == 32 && m.cfg.vision.width == 128 && m.cfg.vision.heads == 2 &&
                m.cfg.image_size == 32 && m.cfg.text.layers == 2,
            "%s: unexpected config", file);
    cm_arena arena;
    size_t ib = cm_clip_images_arena_bytes(&m.cfg, N_IMAGES, 0), tb = cm_clip_texts_arena_bytes(&m.cfg, N_TEXTS);
    CM_TEST_OK(cm_arena_create(&arena, ib > tb ? ib : tb));
    float img[N_IMAGES * 32], txt[N_TEXTS * 32], logits[N_IMAGES * N_TEXTS];
    CM_TEST_OK(cm_clip_encode_images(&m, pixels, N_IMAGES, NULL, &arena, img));
    CM_TEST_OK(cm_clip_encode_texts(&m, ids, N_TEXTS, NULL, &arena, txt));
    cm_clip_logits(img, N_IMAGES, txt, N_TEXTS, 32, m.w.logit_scale[0], logits);
    char what[256];
    snprintf(what, sizeof what, "%s image_features", file);
    cm_test_close_rel_max(what, img, want_img, N_IMAGES * 32, 1e-4);
    snprintf(what, sizeof what, "%s text_features", file);
    cm_test_close_rel_max(what, txt, want_txt, N_TEXTS * 32, 1e-4);
    snprintf(what, sizeof what, "%s logits_per_image", file);
    cm_test_close_rel_max(what, logits, want_logits, N_IMAGES * N_TEXTS, 1e-4);
    cm_arena_destroy(&arena);
    cm_clip_destroy(&m);
}

int main(void)
{
    char texts[N_TEXTS][128];
    int32_t ids[N_TEXTS][CTX];
    CM_TEST(read_manifest(texts, ids), "cannot read the oracle's manifest.json");
    float *pixels = cm_test_read_f32(cm_test_shared("data/oracle_tiny/pixels.f32"), N_IMAGES * 3 * 32 * 32);
    float *want_img = cm_test_read_f32(cm_test_shared("data/oracle_tiny/image_features.f32"), N_IMAGES * 32);
    float *want_txt = cm_test_read_f32(cm_test_shared("data/oracle_tiny/text_features.f32"), N_TEXTS * 32);
    float *want_logits = cm_test_read_f32(cm_test_shared("data/oracle_tiny/logits_per_image.f32"), N_IMAGES * N_TEXTS);
    CM_TEST(pixels && want_img && want_txt && want_logits, "missing oracle files under %s", cm_test_shared("data"));
    if (cm_test_failures) return cm_test_summary();

    /* Our tokenizer on the oracle's texts. */
    cm_tokenizer *tok;
    CM_TEST_OK(cm_tokenizer_load(&tok, NULL));
    for (int i = 0; i < N_TEXTS && !cm_test_failures; i++) {
        int32_t got[CTX];
        CM_TEST_OK(cm_tokenize(tok, texts[i], CTX, 1, got));
        CM_TEST(memcmp(got, ids[i], sizeof got) == 0, "token ids of '%s' differ from the oracle's", texts[i]);
    }
    cm_tokenizer_free(tok);

    check_model("data/oracle_tiny/model_openai.safetensors", pixels, &ids[0][0], want_img, want_txt, want_logits);
    check_model("data/oracle_tiny/model_hf.safetensors", pixels, &ids[0][0], want_img, want_txt, want_logits);
    free(pixels), free(want_img), free(want_txt), free(want_logits);
    return cm_test_summary();
}
