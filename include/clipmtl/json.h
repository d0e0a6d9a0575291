/* A strict JSON (RFC 8259) parser for untrusted bytes: safetensors headers,
 * manifest files.
 *
 * The whole text is parsed into a flat array of nodes; containers link their
 * children by index. Every read is bounds-checked against the given length
 * (the input need not be NUL-terminated), nesting depth, string length and
 * node count are bounded, strings must be valid UTF-8, and duplicate keys in
 * one object are rejected. Errors are CM_ERR_FORMAT with the source name and
 * the byte offset where the problem was found. Whitespace may follow the
 * value (safetensors pads its header with spaces); anything else may not. */
#ifndef CLIPMTL_JSON_H
#define CLIPMTL_JSON_H

#include <stddef.h>
#include <stdint.h>

#include "clipmtl/error.h"

#define CM_JSON_MAX_DEPTH 64
#define CM_JSON_MAX_STRING (1u << 20)  /* bytes of one decoded string */
#define CM_JSON_MAX_NUMBER_CHARS 64

typedef enum {
    CM_JSON_NULL,
    CM_JSON_FALSE,
    CM_JSON_TRUE,
    CM_JSON_NUMBER,
    CM_JSON_STRING,
    CM_JSON_ARRAY,
    CM_JSON_OBJECT
} cm_json_type;

typedef struct {
    cm_json_type type;
    size_t offset;     /* byte offset of the value in the input */
    const char *key;   /* member name (NUL-terminated) inside an object, else NULL */
    size_t key_offset; /* byte offset of that name's opening quote */
    /* NUMBER: `number` always; `integer` too when is_integer (no fraction or
     * exponent, and within int64). */
    double number;
    int64_t integer;
    int is_integer;
    /* STRING: decoded UTF-8, NUL-terminated (a \u0000 escape is rejected). */
    const char *string;
    size_t length;
    /* ARRAY / OBJECT: number of children, index of the first; every node
     * links to its next sibling. -1 means none. */
    int count;
    int first, next;
} cm_json_node;

typedef struct {
    cm_json_node *nodes; /* nodes[0] is the root */
    int count, capacity, max_nodes;
    char *strings;       /* decoded strings and keys */
    size_t strings_used, strings_capacity;
} cm_json_doc;

/* Parses bytes[0, len). `source` names the input in error messages
 * (e.g. "model.safetensors header"); max_nodes bounds the number of values
 * (0 for a default of 1<<20). On error the document is left empty. */
cm_err cm_json_parse(cm_json_doc *doc, const char *bytes, size_t len, const char *source, int max_nodes);
void cm_json_free(cm_json_doc *doc);

const cm_json_node *cm_json_root(const cm_json_doc *doc);
/* First child / next sibling; NULL at the end. */
const cm_json_node *cm_json_first(const cm_json_doc *doc, const cm_json_node *container);
const cm_json_node *cm_json_next(const cm_json_doc *doc, const cm_json_node *node);
/* Member of an object by key (linear search); NULL when absent or not an object. */
const cm_json_node *cm_json_get(const cm_json_doc *doc, const cm_json_node *object, const char *key);
const char *cm_json_type_name(cm_json_type type);

#endif
