/* libyaml events to a cm_yaml_node tree, with positions and limits (see yaml_tree.h). */
#include "yaml_tree.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <yaml.h>

void cm_yaml_free(cm_yaml_node *node)
{
    if (!node) return;
    for (int i = 0; i < node->n; i++) cm_yaml_free(node->items[i]);
    free(node->items);
    free(node->text);
    free(node);
}

int cm_yaml_is_null(const cm_yaml_node *node)
{
    if (node->kind != CM_YAML_SCALAR || !node->plain) return 0;
    const char *t = node->text;
    return !*t || !strcmp(t, "~") || !strcmp(t, "null") || !strcmp(t, "Null") || !strcmp(t, "NULL");
}

const char *cm_yaml_kind_name(const cm_yaml_node *node)
{
    if (cm_yaml_is_null(node)) return "null";
    return node->kind == CM_YAML_SCALAR ? "a scalar" : node->kind == CM_YAML_SEQUENCE ? "a list" : "a mapping";
}

/* Line and column (1-based) of a byte offset, for reader errors that carry only an offset. */
static void position_of(const char *text, size_t length, size_t offset, int *line, int *column)
{
    *line = 1;
    *column = 1;
    for (size_t i = 0; i < offset && i < length; i++) {
        if (text[i] == '\n') {
            ++*line;
            *column = 1;
        } else if (((unsigned char)text[i] & 0xC0) != 0x80) {
            ++*column; /* count characters, not UTF-8 continuation bytes */
        }
    }
}

static cm_err syntax_error(const yaml_parser_t *p, const char *text, size_t length, const char *name)
{
    if (p->error == YAML_READER_ERROR) {
        int line, column;
        position_of(text, length, p->problem_offset, &line, &column);
        if (p->problem_value != -1)
            CM_ERROR(CM_ERR_CONFIG, "%s:%d:%d: invalid text: %s (byte 0x%02X)", name, line, column,
                     p->problem ? p->problem : "unreadable", (unsigned)p->problem_value & 0xFFu);
        CM_ERROR(CM_ERR_CONFIG, "%s:%d:%d: invalid text: %s", name, line, column,
                 p->problem ? p->problem : "unreadable");
    }
    if (p->error == YAML_MEMORY_ERROR) CM_ERROR(CM_ERR_MEM, "%s: out of memory while parsing YAML", name);
    int line = (int)p->problem_mark.line + 1, column = (int)p->problem_mark.column + 1;
    if (p->context)
        CM_ERROR(CM_ERR_CONFIG, "%s:%d:%d: YAML syntax error: %s (%s, which starts at line %d, column %d)",
                 name, line, column, p->problem ? p->problem : "unknown problem", p->context,
                 (int)p->context_mark.line + 1, (int)p->context_mark.column + 1);
    CM_ERROR(CM_ERR_CONFIG, "%s:%d:%d: YAML syntax error: %s", name, line, column,
             p->problem ? p->problem : "unknown problem");
}

static cm_err new_node(cm_yaml_kind kind, const yaml_mark_t *mark, cm_yaml_node **out)
{
    cm_yaml_node *node;
    CM_CALLOC(node, 1);
    node->kind = kind;
    node->line = (int)mark->line + 1;
    node->column = (int)mark->column + 1;
    *out = node;
    return CM_OK;
}

static cm_err append(cm_yaml_node *parent, cm_yaml_node *child)
{
    if (parent->n == parent->capacity) {
        int capacity = parent->capacity ? 2 * parent->capacity : 8;
        cm_yaml_node **items = realloc(parent->items, (size_t)capacity * sizeof *items);
        if (!items) CM_ERROR(CM_ERR_MEM, "out of memory growing a YAML node to %d items", capacity);
        parent->items = items;
        parent->capacity = capacity;
    }
    parent->items[parent->n++] = child;
    return CM_OK;
}

/* Rejects what a configuration does not use; anchors and tags of every node kind. */
static cm_err check_plain_node(const yaml_event_t *e, const char *name)
{
    const yaml_char_t *anchor = NULL, *tag = NULL;
    if (e->type == YAML_SCALAR_EVENT) {
        anchor = e->data.scalar.anchor;
        tag = e->data.scalar.tag;
    } else if (e->type == YAML_SEQUENCE_START_EVENT) {
        anchor = e->data.sequence_start.anchor;
        tag = e->data.sequence_start.tag;
    } else if (e->type == YAML_MAPPING_START_EVENT) {
        anchor = e->data.mapping_start.anchor;
        tag = e->data.mapping_start.tag;
    }
    int line = (int)e->start_mark.line + 1, column = (int)e->start_mark.column + 1;
    if (anchor)
        CM_ERROR(CM_ERR_CONFIG, "%s:%d:%d: YAML anchors (&%s) are not supported in a configuration",
                 name, line, column, (const char *)anchor);
    if (tag)
        CM_ERROR(CM_ERR_CONFIG, "%s:%d:%d: YAML tags (%s) are not supported in a configuration",
                 name, line, column, (const char *)tag);
    return CM_OK;
}

typedef struct {
    cm_yaml_node *stack[CM_YAML_MAX_DEPTH];
    int depth;
    int nodes;
    int documents;
    cm_yaml_node *root;
} builder;

/* Attaches a finished or opened node to its parent (or makes it the root). */
static cm_err attach(builder *b, cm_yaml_node *node)
{
    if (b->depth == 0) {
        b->root = node;
        return CM_OK;
    }
    return append(b->stack[b->depth - 1], node);
}

static cm_err handle_event(builder *b, const yaml_event_t *e, const char *name)
{
    int line = (int)e->start_mark.line + 1, column = (int)e->start_mark.column + 1;
    cm_yaml_node *node = NULL;
    switch (e->type) {
    case YAML_DOCUMENT_START_EVENT:
        if (++b->documents > 1)
            CM_ERROR(CM_ERR_CONFIG, "%s:%d:%d: a configuration is one YAML document; a second one starts here",
                     name, line, column);
        return CM_OK;
    case YAML_ALIAS_EVENT:
        CM_ERROR(CM_ERR_CONFIG, "%s:%d:%d: YAML aliases (*%s) are not supported in a configuration", name,
                 line, column, (const char *)e->data.alias.anchor);
    case YAML_SCALAR_EVENT:
    case YAML_SEQUENCE_START_EVENT:
    case YAML_MAPPING_START_EVENT:
        CM_CHECK(check_plain_node(e, name));
        if (++b->nodes > CM_YAML_MAX_NODES)
            CM_ERROR(CM_ERR_CONFIG, "%s:%d:%d: more than %d YAML values; not a configuration file", name, line,
                     column, CM_YAML_MAX_NODES);
        break;
    case YAML_SEQUENCE_END_EVENT:
    case YAML_MAPPING_END_EVENT:
        b->depth--;
        return CM_OK;
    default:
        return CM_OK;
    }

    if (e->type == YAML_SCALAR_EVENT) {
        size_t len = e->data.scalar.length;
        if (memchr(e->data.scalar.value, '\0', len))
            CM_ERROR(CM_ERR_CONFIG, "%s:%d:%d: a value contains a NUL character", name, line, column);
        CM_CHECK(new_node(CM_YAML_SCALAR, &e->start_mark, &node));
        node->text = malloc(len + 1);
        if (!node->text) {
            cm_yaml_free(node);
            CM_ERROR(CM_ERR_MEM, "%s:%d:%d: out of memory for a value of %zu bytes", name, line, column, len);
        }
        memcpy(node->text, e->data.scalar.value, len);
        node->text[len] = '\0';
        node->length = len;
        node->plain = e->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
    } else {
        if (b->depth == CM_YAML_MAX_DEPTH)
            CM_ERROR(CM_ERR_CONFIG, "%s:%d:%d: YAML nested deeper than %d levels", name, line, column,
                     CM_YAML_MAX_DEPTH);
        CM_CHECK(new_node(e->type == YAML_SEQUENCE_START_EVENT ? CM_YAML_SEQUENCE : CM_YAML_MAPPING,
                          &e->start_mark, &node));
    }
    cm_err err = attach(b, node);
    if (err != CM_OK) {
        cm_yaml_free(node);
        return cm_error_trace(__FILE__, __LINE__, __func__, err);
    }
    if (node->kind != CM_YAML_SCALAR) b->stack[b->depth++] = node;
    return CM_OK;
}

cm_err cm_yaml_parse(const char *text, size_t length, const char *name, cm_yaml_node **root)
{
    *root = NULL;
    if (length > CM_YAML_MAX_BYTES)
        CM_ERROR(CM_ERR_CONFIG, "%s: %zu bytes is too large for a configuration (limit %u)", name, length,
                 CM_YAML_MAX_BYTES);
    yaml_parser_t parser;
    if (!yaml_parser_initialize(&parser)) CM_ERROR(CM_ERR_MEM, "%s: cannot initialise the YAML parser", name);
    yaml_parser_set_input_string(&parser, (const unsigned char *)text, length);

    builder b = {.depth = 0};
    cm_err err = CM_OK;
    for (int done = 0; !done;) {
        yaml_event_t event;
        if (!yaml_parser_parse(&parser, &event)) {
            err = syntax_error(&parser, text, length, name);
            break;
        }
        done = event.type == YAML_STREAM_END_EVENT;
        err = handle_event(&b, &event, name);
        yaml_event_delete(&event);
        if (err != CM_OK) break;
    }
    yaml_parser_delete(&parser);
    if (err != CM_OK) {
        cm_yaml_free(b.root);
        return cm_error_trace(__FILE__, __LINE__, __func__, err);
    }
    *root = b.root;
    return CM_OK;
}

cm_err cm_yaml_parse_file(const char *path, cm_yaml_node **root)
{
    *root = NULL;
    FILE *f = fopen(path, "rb");
    if (!f) CM_ERROR(CM_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    cm_err err = CM_OK;
    char *text = NULL;
    size_t length = 0, capacity = 0;
    for (;;) {
        if (length == capacity) {
            if (capacity > CM_YAML_MAX_BYTES)
                CM_ERROR_GOTO(err, done, CM_ERR_CONFIG, "%s: larger than %u bytes; not a configuration file",
                              path, CM_YAML_MAX_BYTES);
            capacity = capacity ? 2 * capacity : 4096;
            char *grown = realloc(text, capacity);
            if (!grown) CM_ERROR_GOTO(err, done, CM_ERR_MEM, "%s: out of memory reading %zu bytes", path, capacity);
            text = grown;
        }
        size_t got = fread(text + length, 1, capacity - length, f);
        length += got;
        if (got == 0) break;
    }
    if (ferror(f)) CM_ERROR_GOTO(err, done, CM_ERR_IO, "%s: read error", path);
    CM_CHECK_GOTO(err, cm_yaml_parse(text, length, path, root), done);
done:
    fclose(f);
    free(text);
    return err;
}
