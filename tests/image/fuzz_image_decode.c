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
        /* Touch both ends of every row so that a short buffer shows up under ASan; every byte
         * would cost seconds for the largest images the limits allow. */
        volatile unsigned sum = 0;
        const size_t row = (size_t)img.w * 3;
        for (size_t y = 0; y < (size_t)img.h; y++) sum += img.rgb[y * row] + img.rgb[y * row + row - 1];
        cm_image_free(&img);
    } else {
        if (img.rgb || !strstr(cm_error_message(), "fuzz-input")) abort();
        cm_error_clear();
    }
    return 0;
}
