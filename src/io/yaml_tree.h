/* A small YAML document tree built from libyaml's events, keeping the 1-based position of every
 * node. Private to src/io. Aliases, anchors, tags and multi-document streams are rejected: a
 * configuration never needs them and they make positions ambiguous (and aliases allow
 * exponential expansion). */
#ifndef CLIPMTL_YAML_TREE_H
#define CLIPMTL_YAML_TREE_H

#include <stddef.h>

#include "clipmtl/error.h"

typedef enum { CM_YAML_SCALAR, CM_YAML_SEQUENCE, CM_YAML_MAPPING } cm_yaml_kind;

typedef struct cm_yaml_node {
    cm_yaml_kind kind;
    int line, column;            /* 1-based position of the node's first character */
    char *text;                  /* scalars: the value, NUL-terminated (no NUL inside) */
    size_t length;
    int plain;                   /* scalars: written without quotes (may be a number or null) */
    struct cm_yaml_node **items; /* sequences: items; mappings: key, value, key, value, ... */
    int n, capacity;
} cm_yaml_node;

/* Limits on what is accepted from untrusted text. */
#define CM_YAML_MAX_BYTES (16u << 20)
#define CM_YAML_MAX_DEPTH 32
#define CM_YAML_MAX_NODES 100000

/* Parses text[0..length) as one document named `name` in messages ("exp.yaml:3:7: ...").
 * *root is NULL when the text holds no document (empty or only comments). */
cm_err cm_yaml_parse(const char *text, size_t length, const char *name, cm_yaml_node **root);
/* Reads a whole file (at most CM_YAML_MAX_BYTES) and parses it under its path. */
cm_err cm_yaml_parse_file(const char *path, cm_yaml_node **root);
void cm_yaml_free(cm_yaml_node *node);

/* "null", "Null", "NULL", "~" or nothing, written plain. */
int cm_yaml_is_null(const cm_yaml_node *node);
/* "a scalar", "a list", "a mapping", "null" for messages. */
const char *cm_yaml_kind_name(const cm_yaml_node *node);

#endif
