/* CLIP's byte-pair-encoding tokenizer, bit-exact with OpenAI's clip.tokenize (see
 * docs/tokenizer.md for what is and is not reproduced).
 *
 *   cm_tokenizer *tok;
 *   CM_CHECK(cm_tokenizer_load(&tok, NULL));              // default vocabulary lookup
 *   int32_t ids[CM_CONTEXT_LENGTH];
 *   CM_CHECK(cm_tokenize(tok, "a photo of a dog.", CM_CONTEXT_LENGTH, 1, ids));
 *   cm_tokenizer_free(tok);
 *
 * A loaded tokenizer is read-only: several threads may tokenize with it at once. */
#ifndef CLIPMTL_TOKENIZER_H
#define CLIPMTL_TOKENIZER_H

#include <stddef.h>
#include <stdint.h>

#include "clipmtl/error.h"

#define CM_BPE_FILE_NAME "bpe_simple_vocab_16e6.txt.gz"
#define CM_BPE_MERGES 48894 /* 49152 - 256 - 2 merge lines follow the header */
#define CM_TOKEN_SOT 49406  /* <|startoftext|> */
#define CM_TOKEN_EOT 49407  /* <|endoftext|> */
#define CM_VOCAB_SIZE 49408
#define CM_CONTEXT_LENGTH 77

typedef struct cm_tokenizer cm_tokenizer;

/* The vocabulary file used when none is given: $CLIPMTL_BPE if set, else the installed copy in
 * the package data directory, else data/ of the source tree. Writes the path into buf. */
cm_err cm_tokenizer_default_path(char *buf, size_t size);

/* Reads the gzip-compressed merges file (bpe_path NULL: cm_tokenizer_default_path). Every line
 * is bounds-checked; a malformed, short or corrupt file gives an error naming the file and line. */
cm_err cm_tokenizer_load(cm_tokenizer **out, const char *bpe_path);
void cm_tokenizer_free(cm_tokenizer *tok);
/* The file the tokenizer was loaded from. */
const char *cm_tokenizer_path(const cm_tokenizer *tok);

/* clip.tokenize(text, context_length, truncate) for one text: ids[0..context_length) receives
 * SOT, the BPE ids, EOT and zero padding. A text with more than context_length - 2 tokens is an
 * error naming the text, unless truncate is set: then the first context_length tokens are kept
 * and the last becomes EOT. The text is UTF-8; invalid UTF-8 is an error. */
cm_err cm_tokenize(const cm_tokenizer *tok, const char *utf8_text, int context_length, int truncate,
                   int32_t *ids);

/* The same for n texts into ids[n][context_length]. Words repeated across the batch are encoded
 * once (a word cache lives for the call). Errors name the text and its index. */
cm_err cm_tokenize_batch(const cm_tokenizer *tok, const char *const *utf8_texts, size_t n,
                         int context_length, int truncate, int32_t *ids);

/* _tokenizer.encode(text): the BPE ids without SOT/EOT or padding, in a malloc'ed array the
 * caller frees (e.g. the token count of a class name for CoOp's class-token position). */
cm_err cm_tokenizer_encode(const cm_tokenizer *tok, const char *utf8_text, int32_t **ids, size_t *count);

#endif
