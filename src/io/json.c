/* Recursive-descent JSON parser; see include/clipmtl/json.h for the rules.
 * Nodes live in one growing array and refer to each other by index, because
 * the array moves when it grows. */
#include "clipmtl/json.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    const unsigned char *text;
    size_t len, pos;
    const char *source;
    cm_json_doc *doc;
} parser;

#define PARSE_ERROR(ps, at, ...)                                                       \
    do {                                                                               \
        char what_[512];                                                               \
        snprintf(what_, sizeof what_, __VA_ARGS__);                                    \
        CM_ERROR(CM_ERR_FORMAT, "%s: byte %zu: %s", (ps)->source, (size_t)(at), what_); \
    } while (0)

const char *cm_json_type_name(cm_json_type type)
{
    static const char *const names[] = {"null", "false", "true", "number", "string", "array", "object"};
    return (unsigned)type < sizeof names / sizeof names[0] ? names[type] : "?";
}

static void skip_whitespace(parser *ps)
{
    while (ps->pos < ps->len) {
        unsigned char c = ps->text[ps->pos];
        if (c != ' ' && c != '\t' && c != '\n' && c != '\r') break;
        ps->pos++;
    }
}

static int at_end(const parser *ps) { return ps->pos >= ps->len; }

static cm_err new_node(parser *ps, cm_json_type type, size_t offset, int *index)
{
    cm_json_doc *d = ps->doc;
    if (d->count >= d->max_nodes)
        PARSE_ERROR(ps, offset, "more than %d values (limit)", d->max_nodes);
    if (d->count == d->capacity) {
        int cap = d->capacity ? (d->capacity > d->max_nodes / 2 ? d->max_nodes : 2 * d->capacity) : 64;
        cm_json_node *n = realloc(d->nodes, (size_t)cap * sizeof *n);
        if (!n) CM_ERROR(CM_ERR_MEM, "%s: out of memory for %d JSON values", ps->source, cap);
        d->nodes = n;
        d->capacity = cap;
    }
    *index = d->count++;
    d->nodes[*index] = (cm_json_node){.type = type, .offset = offset, .first = -1, .next = -1};
    return CM_OK;
}

static int hex_value(unsigned char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* Reads the 4 hex digits after "\u" at ps->pos. */
static cm_err read_hex4(parser *ps, unsigned *out)
{
    size_t start = ps->pos;
    if (ps->len - ps->pos < 4) PARSE_ERROR(ps, start, "truncated \\u escape");
    unsigned v = 0;
    for (int i = 0; i < 4; i++) {
        int h = hex_value(ps->text[ps->pos + i]);
        if (h < 0) PARSE_ERROR(ps, ps->pos + i, "bad hex digit in \\u escape");
        v = v * 16 + (unsigned)h;
    }
    ps->pos += 4;
    *out = v;
    return CM_OK;
}

/* Length of the valid UTF-8 sequence starting at ps->pos (a byte >= 0x80),
 * or 0 if invalid (overlong forms, surrogates and > U+10FFFF are invalid). */
static size_t utf8_sequence_length(const parser *ps)
{
    const unsigned char *s = ps->text + ps->pos;
    size_t avail = ps->len - ps->pos;
    unsigned char c = s[0], lo = 0x80, hi = 0xbf;
    size_t n;
    if (c >= 0xc2 && c <= 0xdf) n = 2;
    else if (c >= 0xe0 && c <= 0xef) {
        n = 3;
        if (c == 0xe0) lo = 0xa0;
        if (c == 0xed) hi = 0x9f;
    } else if (c >= 0xf0 && c <= 0xf4) {
        n = 4;
        if (c == 0xf0) lo = 0x90;
        if (c == 0xf4) hi = 0x8f;
    } else
        return 0;
    if (avail < n) return 0;
    if (s[1] < lo || s[1] > hi) return 0;
    for (size_t i = 2; i < n; i++)
        if (s[i] < 0x80 || s[i] > 0xbf) return 0;
    return n;
}

static size_t encode_utf8(unsigned cp, char *out)
{
    if (cp < 0x80) { out[0] = (char)cp; return 1; }
    if (cp < 0x800) {
        out[0] = (char)(0xc0 | (cp >> 6));
        out[1] = (char)(0x80 | (cp & 0x3f));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (char)(0xe0 | (cp >> 12));
        out[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
        out[2] = (char)(0x80 | (cp & 0x3f));
        return 3;
    }
    out[0] = (char)(0xf0 | (cp >> 18));
    out[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
    out[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
    out[3] = (char)(0x80 | (cp & 0x3f));
    return 4;
}

/* Parses a string token at ps->pos (the opening quote) into doc->strings.
 * The decoded text is never longer than the token minus its quotes, and the
 * buffer holds the input length plus one, so it cannot overflow; the check
 * below states that rather than trusting it. */
static cm_err parse_string(parser *ps, const char **out, size_t *out_len)
{
    cm_json_doc *d = ps->doc;
    size_t start = ps->pos;
    ps->pos++; /* opening quote */
    char *dst = d->strings + d->strings_used;
    size_t n = 0;
    for (;;) {
        if (at_end(ps)) PARSE_ERROR(ps, start, "unterminated string");
        if (n > CM_JSON_MAX_STRING) PARSE_ERROR(ps, start, "string longer than %u bytes", CM_JSON_MAX_STRING);
        if (d->strings_used + n + 5 > d->strings_capacity)
            CM_ERROR(CM_ERR_INTERNAL, "%s: JSON string buffer too small", ps->source);
        unsigned char c = ps->text[ps->pos];
        if (c == '"') { ps->pos++; break; }
        if (c < 0x20) PARSE_ERROR(ps, ps->pos, "control character 0x%02x inside a string", c);
        if (c == '\\') {
            if (ps->len - ps->pos < 2) PARSE_ERROR(ps, ps->pos, "truncated escape");
            unsigned char e = ps->text[ps->pos + 1];
            ps->pos += 2;
            switch (e) {
            case '"': dst[n++] = '"'; break;
            case '\\': dst[n++] = '\\'; break;
            case '/': dst[n++] = '/'; break;
            case 'b': dst[n++] = '\b'; break;
            case 'f': dst[n++] = '\f'; break;
            case 'n': dst[n++] = '\n'; break;
            case 'r': dst[n++] = '\r'; break;
            case 't': dst[n++] = '\t'; break;
            case 'u': {
                size_t escape_at = ps->pos - 2;
                unsigned cp;
                CM_CHECK(read_hex4(ps, &cp));
                if (cp >= 0xdc00 && cp <= 0xdfff) PARSE_ERROR(ps, escape_at, "lone low surrogate \\u%04x", cp);
                if (cp >= 0xd800 && cp <= 0xdbff) {
                    unsigned low;
                    if (ps->len - ps->pos < 2 || ps->text[ps->pos] != '\\' || ps->text[ps->pos + 1] != 'u')
                        PARSE_ERROR(ps, escape_at, "high surrogate \\u%04x not followed by a low one", cp);
                    ps->pos += 2;
                    CM_CHECK(read_hex4(ps, &low));
                    if (low < 0xdc00 || low > 0xdfff)
                        PARSE_ERROR(ps, escape_at, "high surrogate \\u%04x followed by \\u%04x", cp, low);
                    cp = 0x10000 + ((cp - 0xd800) << 10) + (low - 0xdc00);
                }
                if (cp == 0) PARSE_ERROR(ps, escape_at, "\\u0000 inside a string is not supported");
                n += encode_utf8(cp, dst + n);
                break;
            }
            default: PARSE_ERROR(ps, ps->pos - 2, "invalid escape '\\%c'", e >= 0x20 && e < 0x7f ? e : '?');
            }
            continue;
        }
        if (c < 0x80) {
            dst[n++] = (char)c;
            ps->pos++;
            continue;
        }
        size_t seq = utf8_sequence_length(ps);
        if (!seq) PARSE_ERROR(ps, ps->pos, "invalid UTF-8 in string");
        memcpy(dst + n, ps->text + ps->pos, seq);
        n += seq;
        ps->pos += seq;
    }
    if (n > CM_JSON_MAX_STRING) PARSE_ERROR(ps, start, "string longer than %u bytes", CM_JSON_MAX_STRING);
    dst[n] = '\0';
    d->strings_used += n + 1;
    *out = dst;
    *out_len = n;
    return CM_OK;
}

static int is_digit(unsigned char c) { return c >= '0' && c <= '9'; }

static cm_err parse_number(parser *ps, int index)
{
    size_t start = ps->pos;
    const unsigned char *t = ps->text;
    int negative = 0, integral = 1;
    uint64_t magnitude = 0;
    int overflow = 0;
    if (t[ps->pos] == '-') { negative = 1; ps->pos++; }
    if (at_end(ps) || !is_digit(t[ps->pos])) PARSE_ERROR(ps, start, "a number needs digits");
    if (t[ps->pos] == '0' && ps->pos + 1 < ps->len && is_digit(t[ps->pos + 1]))
        PARSE_ERROR(ps, start, "leading zero in a number");
    while (!at_end(ps) && is_digit(t[ps->pos])) {
        unsigned digit = t[ps->pos] - '0';
        if (magnitude > (UINT64_MAX - digit) / 10) overflow = 1;
        else magnitude = magnitude * 10 + digit;
        ps->pos++;
    }
    if (!at_end(ps) && t[ps->pos] == '.') {
        integral = 0;
        ps->pos++;
        if (at_end(ps) || !is_digit(t[ps->pos])) PARSE_ERROR(ps, ps->pos, "digits expected after '.'");
        while (!at_end(ps) && is_digit(t[ps->pos])) ps->pos++;
    }
    if (!at_end(ps) && (t[ps->pos] == 'e' || t[ps->pos] == 'E')) {
        integral = 0;
        ps->pos++;
        if (!at_end(ps) && (t[ps->pos] == '+' || t[ps->pos] == '-')) ps->pos++;
        if (at_end(ps) || !is_digit(t[ps->pos])) PARSE_ERROR(ps, ps->pos, "digits expected in the exponent");
        while (!at_end(ps) && is_digit(t[ps->pos])) ps->pos++;
    }
    size_t n = ps->pos - start;
    if (n > CM_JSON_MAX_NUMBER_CHARS)
        PARSE_ERROR(ps, start, "number longer than %d characters", CM_JSON_MAX_NUMBER_CHARS);
    char copy[CM_JSON_MAX_NUMBER_CHARS + 1];
    memcpy(copy, t + start, n);
    copy[n] = '\0';
    cm_json_node *node = &ps->doc->nodes[index];
    node->number = strtod(copy, NULL);
    if (!isfinite(node->number)) PARSE_ERROR(ps, start, "number %s is out of range", copy);
    if (integral && !overflow) {
        if (!negative && magnitude <= (uint64_t)INT64_MAX) {
            node->is_integer = 1;
            node->integer = (int64_t)magnitude;
        } else if (negative && magnitude <= (uint64_t)INT64_MAX + 1) {
            node->is_integer = 1;
            node->integer = magnitude == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)magnitude;
        }
    }
    return CM_OK;
}

static cm_err parse_literal(parser *ps, const char *word, cm_json_type type, int *index)
{
    size_t n = strlen(word);
    if (ps->len - ps->pos < n || memcmp(ps->text + ps->pos, word, n) != 0)
        PARSE_ERROR(ps, ps->pos, "invalid literal (expected %s)", word);
    CM_CHECK(new_node(ps, type, ps->pos, index));
    ps->pos += n;
    return CM_OK;
}

static cm_err parse_value(parser *ps, int depth, int *index);

typedef struct {
    const char *key;
    size_t offset;
} key_at;

static int compare_keys(const void *a, const void *b)
{
    const key_at *x = a, *y = b;
    int c = strcmp(x->key, y->key);
    if (c) return c;
    return (x->offset > y->offset) - (x->offset < y->offset);
}

/* Sorting the keys finds duplicates in n log n even in huge headers. */
static cm_err reject_duplicate_keys(parser *ps, int object)
{
    cm_json_doc *d = ps->doc;
    int count = d->nodes[object].count;
    if (count < 2) return CM_OK;
    key_at *keys = malloc((size_t)count * sizeof *keys);
    if (!keys) CM_ERROR(CM_ERR_MEM, "%s: out of memory checking %d keys", ps->source, count);
    int i = 0;
    for (int c = d->nodes[object].first; c >= 0; c = d->nodes[c].next, i++)
        keys[i] = (key_at){d->nodes[c].key, d->nodes[c].key_offset};
    qsort(keys, (size_t)count, sizeof *keys, compare_keys);
    for (i = 1; i < count; i++)
        if (strcmp(keys[i - 1].key, keys[i].key) == 0) {
            char key[256];
            snprintf(key, sizeof key, "%s", keys[i].key);
            size_t at = keys[i].offset;
            free(keys);
            PARSE_ERROR(ps, at, "duplicate key \"%s\" in the object at byte %zu", key, d->nodes[object].offset);
        }
    free(keys);
    return CM_OK;
}

/* Appends `child` to the children of `container`; `last` tracks the tail. */
static void link_child(cm_json_doc *d, int container, int *last, int child)
{
    if (*last < 0) d->nodes[container].first = child;
    else d->nodes[*last].next = child;
    *last = child;
    d->nodes[container].count++;
}

static cm_err parse_container(parser *ps, int depth, int *index)
{
    unsigned char open = ps->text[ps->pos];
    int is_object = open == '{';
    unsigned char close = is_object ? '}' : ']';
    if (depth >= CM_JSON_MAX_DEPTH) PARSE_ERROR(ps, ps->pos, "nesting deeper than %d", CM_JSON_MAX_DEPTH);
    CM_CHECK(new_node(ps, is_object ? CM_JSON_OBJECT : CM_JSON_ARRAY, ps->pos, index));
    int container = *index, last = -1;
    ps->pos++;
    skip_whitespace(ps);
    if (!at_end(ps) && ps->text[ps->pos] == close) {
        ps->pos++;
        return CM_OK;
    }
    for (;;) {
        const char *key = NULL;
        size_t key_len, key_offset = 0;
        skip_whitespace(ps);
        if (is_object) {
            key_offset = ps->pos;
            if (at_end(ps) || ps->text[ps->pos] != '"') PARSE_ERROR(ps, ps->pos, "expected a string key");
            CM_CHECK(parse_string(ps, &key, &key_len));
            skip_whitespace(ps);
            if (at_end(ps) || ps->text[ps->pos] != ':') PARSE_ERROR(ps, ps->pos, "expected ':' after key \"%s\"", key);
            ps->pos++;
        }
        int child;
        CM_CHECK(parse_value(ps, depth + 1, &child));
        ps->doc->nodes[child].key = key;
        ps->doc->nodes[child].key_offset = key_offset;
        link_child(ps->doc, container, &last, child);
        skip_whitespace(ps);
        if (at_end(ps)) PARSE_ERROR(ps, ps->doc->nodes[container].offset, "unterminated %s", is_object ? "object" : "array");
        unsigned char c = ps->text[ps->pos++];
        if (c == close) break;
        if (c != ',') PARSE_ERROR(ps, ps->pos - 1, "expected ',' or '%c'", close);
    }
    if (is_object) CM_CHECK(reject_duplicate_keys(ps, container));
    return CM_OK;
}

static cm_err parse_value(parser *ps, int depth, int *index)
{
    skip_whitespace(ps);
    if (at_end(ps)) PARSE_ERROR(ps, ps->pos, "unexpected end of input, a value was expected");
    unsigned char c = ps->text[ps->pos];
    switch (c) {
    case '{':
    case '[': CM_CHECK(parse_container(ps, depth, index)); return CM_OK;
    case '"': {
        CM_CHECK(new_node(ps, CM_JSON_STRING, ps->pos, index));
        const char *s;
        size_t n;
        CM_CHECK(parse_string(ps, &s, &n));
        ps->doc->nodes[*index].string = s;
        ps->doc->nodes[*index].length = n;
        return CM_OK;
    }
    case 't': CM_CHECK(parse_literal(ps, "true", CM_JSON_TRUE, index)); return CM_OK;
    case 'f': CM_CHECK(parse_literal(ps, "false", CM_JSON_FALSE, index)); return CM_OK;
    case 'n': CM_CHECK(parse_literal(ps, "null", CM_JSON_NULL, index)); return CM_OK;
    default:
        if (c == '-' || is_digit(c)) {
            CM_CHECK(new_node(ps, CM_JSON_NUMBER, ps->pos, index));
            CM_CHECK(parse_number(ps, *index));
            return CM_OK;
        }
        if (c >= 0x20 && c < 0x7f) PARSE_ERROR(ps, ps->pos, "unexpected character '%c'", c);
        PARSE_ERROR(ps, ps->pos, "unexpected byte 0x%02x", c);
    }
}

void cm_json_free(cm_json_doc *doc)
{
    free(doc->nodes);
    free(doc->strings);
    memset(doc, 0, sizeof *doc);
}

cm_err cm_json_parse(cm_json_doc *doc, const char *bytes, size_t len, const char *source, int max_nodes)
{
    memset(doc, 0, sizeof *doc);
    doc->max_nodes = max_nodes > 0 ? max_nodes : (1 << 20);
    doc->strings_capacity = len + 8;
    doc->strings = malloc(doc->strings_capacity);
    if (!doc->strings) CM_ERROR(CM_ERR_MEM, "%s: out of memory for %zu bytes of JSON", source, len);
    parser ps = {(const unsigned char *)bytes, len, 0, source, doc};
    int root;
    cm_err err;
    CM_CHECK_GOTO(err, parse_value(&ps, 0, &root), fail);
    skip_whitespace(&ps);
    if (!at_end(&ps)) {
        size_t at = ps.pos;
        err = CM_RAISE(CM_ERR_FORMAT, "%s: byte %zu: unexpected data after the JSON value", source, at);
        goto fail;
    }
    return CM_OK;
fail:
    cm_json_free(doc);
    return err;
}

const cm_json_node *cm_json_root(const cm_json_doc *doc) { return doc->count ? &doc->nodes[0] : NULL; }

const cm_json_node *cm_json_first(const cm_json_doc *doc, const cm_json_node *c)
{
    return c && c->first >= 0 ? &doc->nodes[c->first] : NULL;
}

const cm_json_node *cm_json_next(const cm_json_doc *doc, const cm_json_node *n)
{
    return n && n->next >= 0 ? &doc->nodes[n->next] : NULL;
}

const cm_json_node *cm_json_get(const cm_json_doc *doc, const cm_json_node *object, const char *key)
{
    if (!object || object->type != CM_JSON_OBJECT) return NULL;
    for (const cm_json_node *c = cm_json_first(doc, object); c; c = cm_json_next(doc, c))
        if (strcmp(c->key, key) == 0) return c;
    return NULL;
}
