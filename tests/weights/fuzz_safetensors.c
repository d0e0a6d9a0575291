/* libFuzzer target: arbitrary bytes through the JSON parser, the
 * safetensors reader (as a whole file) and, when the file is valid, CLIP
 * configuration inference, tensor matching and loading. Nothing may crash,
 * leak, read out of bounds or allocate beyond what the input justifies. */
#include <stdint.h>
#include <stdlib.h>

#include "clipmtl/clip_weights.h"
#include "clipmtl/json.h"
#include "clipmtl/log.h"
#include "clipmtl/safetensors.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    cm_log_set_quiet(1);
    cm_json_doc doc;
    if (cm_json_parse(&doc, (const char *)data, size, "fuzz json", 0) == CM_OK) cm_json_free(&doc);
    cm_error_clear();

    cm_safetensors st;
    if (cm_safetensors_open_memory(&st, data, size, "fuzz.safetensors") != CM_OK) {
        cm_error_clear();
        return 0;
    }
    for (int i = 0; i < st.count; i++) {
        const cm_st_tensor *t = &st.tensors[i];
        /* numel is bounded by the data actually present. */
        float *values = malloc((t->numel ? t->numel : 1) * sizeof *values);
        if (values) cm_safetensors_read_f32(&st, t, values);
        free(values);
        cm_error_clear();
    }
    cm_safetensors_metadata(&st, "format");
    cm_clip_model m;
    if (cm_clip_load_from(&m, &st) == CM_OK) cm_clip_destroy(&m);
    cm_error_clear();
    cm_safetensors_close(&st);
    return 0;
}
