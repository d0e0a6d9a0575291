/* libFuzzer target for the tokenizer: any bytes must give either an error or a well-formed id row,
 * and the batch call (word cache) must agree with the single call. The first byte picks the
 * context length, truncation, and whether the rest is taken as raw bytes (UTF-8 validation) or
 * as code points, 3 bytes each, encoded as UTF-8 (reaches cleaning, NFC, lowercasing, BPE). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clipmtl/text_clean.h"
#include "clipmtl/tokenizer.h"

static cm_tokenizer *tok;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    char path[4096];
    const char *src = getenv("CLIPMTL_SRCDIR");
    snprintf(path, sizeof path, "%s/data/" CM_BPE_FILE_NAME, src && *src ? src : CM_SRCDIR);
    if (cm_tokenizer_load(&tok, path) != CM_OK) {
        cm_error_print(stderr);
        abort();
    }
    return 0;
}

static char *text_of(const uint8_t *data, size_t size, int as_codepoints)
{
    char *text = malloc(4 * size + 1);
    size_t n = 0;
    if (!as_codepoints) {
        for (size_t i = 0; i < size && data[i]; i++) text[n++] = (char)data[i];
    } else {
        for (size_t i = 0; i + 3 <= size; i += 3) {
            uint32_t cp = ((uint32_t)data[i] << 16 | (uint32_t)data[i + 1] << 8 | data[i + 2]) % 0x110000;
            if (cp == 0 || (cp >= 0xD800 && cp <= 0xDFFF)) continue;
            /* Mostly small code points, where the scripts and marks are. */
            if (data[i] & 0x80) cp %= 0x3400;
            n += cm_utf8_encode(cp, (unsigned char *)text + n);
        }
    }
    text[n] = '\0';
    return text;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) return 0;
    int context = 1 + data[0] % 80, truncate = (data[0] >> 7) & 1, as_codepoints = (data[0] >> 6) & 1;
    char *text = text_of(data + 1, size - 1, as_codepoints);
    int32_t *one = malloc(3 * context * sizeof *one);
    cm_err err = cm_tokenize(tok, text, context, truncate, one);
    if (err == CM_OK) {
        /* The row ends with EOT then zero padding. An EOT may also come earlier (the text can
         * spell "<|endoftext|>") and id 0 is a real token ("!"), so look for the last EOT. */
        int last_eot = -1;
        for (int i = 0; i < context; i++) {
            if (one[i] < 0 || one[i] >= CM_VOCAB_SIZE) abort();
            if (one[i] == CM_TOKEN_EOT) last_eot = i;
        }
        if (last_eot < 0 || (context > 1 && one[0] != CM_TOKEN_SOT)) abort();
        for (int i = last_eot + 1; i < context; i++)
            if (one[i] != 0) abort();
        const char *texts[2] = {text, text};
        if (cm_tokenize_batch(tok, texts, 2, context, truncate, one + context) != CM_OK) abort();
        if (memcmp(one, one + context, context * sizeof *one) || memcmp(one, one + 2 * context, context * sizeof *one))
            abort();
    } else {
        if (err != CM_ERR_FORMAT && err != CM_ERR_ARG) abort();
        if (as_codepoints && err == CM_ERR_FORMAT) abort(); /* valid UTF-8 by construction */
        if (err == CM_ERR_ARG && truncate) abort();         /* only over-long texts, never when truncating */
        cm_error_clear();
    }
    free(one);
    free(text);
    return 0;
}
