/* libFuzzer target for the image decoders (built with clang, ASan and UBSan when clang exists):
 * any input must either decode to a non-empty image or fail with an error naming the input. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "clipmtl/image.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    cm_image img;
    if (cm_image_decode(data, size, "fuzz-input", &img) == CM_OK) {
        if (img.w <= 0 || img.h <= 0 || !img.rgb) abort();
        /* Touch every byte so that a short buffer shows up under ASan. */
        volatile unsigned sum = 0;
        for (size_t i = 0; i < (size_t)img.w * img.h * 3; i++) sum += img.rgb[i];
        cm_image_free(&img);
    } else {
        if (img.rgb || !strstr(cm_error_message(), "fuzz-input")) abort();
        cm_error_clear();
    }
    return 0;
}
