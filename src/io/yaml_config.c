/* Reading a configuration: a YAML tree (yaml_tree.c) is walked against the schema tables
 * (config_schema.c). Each value is converted and checked into a temporary and only then replaces
 * the old one, so a failed read leaves every key valid (some may already hold the file's values).
 *
 * Messages start with where the value was written: "exp.yaml:12:5" for files (1-based), the
 * override itself ("--set optim.lr=fast") for cm_config_set, then the key path. */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "clipmtl/config.h"
#include "config_schema.h"
#include "yaml_tree.h"

/* Where the values being read come from. */
typedef struct {
    const char *file;     /* file (or text) name; NULL for an override */
    const char *override; /* the whole "key=value" of an override */
} source;

/* "exp.yaml:3:7" or "--set key=value". */
static void where(const source *src, const cm_yaml_node *node, char *buf, size_t len)
{
    if (src->file)
        snprintf(buf, len, "%s:%d:%d", src->file, node ? node->line : 1, node ? node->column : 1);
    else if (src->override)
        snprintf(buf, len, "--set %s", src->override);
    else
        snprintf(buf, len, "default");
}

/* The value as the user wrote it, for "got ..." in messages. */
static void describe(const cm_yaml_node *node, char *buf, size_t len)
{
    if (node->kind != CM_YAML_SCALAR || cm_yaml_is_null(node)) {
        snprintf(buf, len, "%s", cm_yaml_kind_name(node));
        return;
    }
    if (node->length > 60)
        snprintf(buf, len, "\"%.57s...\"", node->text);
    else
        snprintf(buf, len, "\"%s\"", node->text);
}

#define VALUE_ERROR(src, node, path, ...)                                                         \
    do {                                                                                          \
        char where_[1024];                                                                        \
        where((src), (node), where_, sizeof where_);                                              \
        char msg_[1536];                                                                          \
        snprintf(msg_, sizeof msg_, __VA_ARGS__);                                                 \
        CM_ERROR(CM_ERR_CONFIG, "%s: %s: %s", where_, (path), msg_);                               \
    } while (0)

static cm_err expected(const source *src, const cm_yaml_node *node, const char *path, const char *what)
{
    char got[128];
    describe(node, got, sizeof got);
    const char *hint = node->kind == CM_YAML_SCALAR && !node->plain ? " (quoted, so a string)" : "";
    VALUE_ERROR(src, node, path, "expected %s, got %s%s", what, got, hint);
}

/* "; did you mean "x"?" when there is a near name, else "". */
static void did_you_mean(const char *suggestion, char *buf, size_t len)
{
    if (suggestion)
        snprintf(buf, len, "; did you mean \"%s\"?", suggestion);
    else
        buf[0] = '\0';
}

/* "a, b, c" of a NULL-terminated list. */
static void join_names(const char *const *names, char *buf, size_t len)
{
    buf[0] = '\0';
    for (int i = 0; names[i]; i++)
        snprintf(buf + strlen(buf), len - strlen(buf), "%s%s", i ? ", " : "", names[i]);
}

/* ---- scalars ---- */

static int parse_integer(const char *text, long long *out)
{
    const char *p = text;
    if (*p == '+' || *p == '-') p++;
    if (!*p) return 0;
    for (const char *q = p; *q; q++)
        if (*q < '0' || *q > '9') return 0;
    errno = 0;
    char *end;
    long long v = strtoll(text, &end, 10);
    if (errno == ERANGE || *end) return 0;
    *out = v;
    return 1;
}

/* Decimal numbers only: no hex, inf or nan, which strtod would take. */
static int parse_number(const char *text, double *out)
{
    int digits = 0;
    for (const char *q = text; *q; q++) {
        if (*q >= '0' && *q <= '9')
            digits = 1;
        else if (!strchr("+-.eE", *q))
            return 0;
    }
    if (!digits) return 0;
    errno = 0;
    char *end;
    double v = strtod(text, &end);
    if (*end || !isfinite(v)) return 0;
    *out = v;
    return 1;
}

static void format_bound(double v, char *buf, size_t len)
{
    snprintf(buf, len, "%.15g", v);
}

static int in_range(const cm_config_key *k, double v)
{
    if ((k->flags & CM_CFG_MIN_OPEN) ? !(v > k->min) : !(v >= k->min)) return 0;
    if ((k->flags & CM_CFG_MAX_OPEN) ? !(v < k->max) : !(v <= k->max)) return 0;
    return 1;
}

static cm_err range_error(const source *src, const cm_yaml_node *node, const char *path, const cm_config_key *k)
{
    char lo[64], hi[64];
    format_bound(k->min, lo, sizeof lo);
    format_bound(k->max, hi, sizeof hi);
    VALUE_ERROR(src, node, path, "%s is out of range %s%s, %s%s", node->text, (k->flags & CM_CFG_MIN_OPEN) ? "(" : "[",
                lo, hi, (k->flags & CM_CFG_MAX_OPEN) ? ")" : "]");
}

/* An integer item of k (a scalar key or an int-list item). */
static cm_err read_integer(const source *src, const cm_yaml_node *node, const char *path, const cm_config_key *k,
                           long long *out)
{
    if (node->kind != CM_YAML_SCALAR || !node->plain || cm_yaml_is_null(node))
        return expected(src, node, path, "an integer");
    if (!parse_integer(node->text, out)) {
        double d;
        if (parse_number(node->text, &d)) {
            if (!strpbrk(node->text, ".eE")) return range_error(src, node, path, k); /* too large for 64 bits */
            VALUE_ERROR(src, node, path, "expected an integer, got %s", node->text);
        }
        return expected(src, node, path, "an integer");
    }
    if (!in_range(k, (double)*out)) return range_error(src, node, path, k);
    return CM_OK;
}

static cm_err read_string(const source *src, const cm_yaml_node *node, const char *path, unsigned flags,
                          char **out)
{
    if (node->kind != CM_YAML_SCALAR) return expected(src, node, path, "a string");
    if (cm_yaml_is_null(node)) VALUE_ERROR(src, node, path, "expected a string, got null (write \"\" for an empty one)");
    if (node->length > CM_CONFIG_MAX_STRING)
        VALUE_ERROR(src, node, path, "a string of %zu bytes is longer than %d", node->length, CM_CONFIG_MAX_STRING);
    if ((flags & CM_CFG_NONEMPTY) && node->length == 0) VALUE_ERROR(src, node, path, "may not be empty");
    if (flags & CM_CFG_NAME)
        for (const char *p = node->text; *p; p++)
            if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
                  strchr("._-", *p)))
                VALUE_ERROR(src, node, path, "\"%s\" may only hold letters, digits, '.', '_' and '-'", node->text);
    *out = strdup(node->text);
    if (!*out) CM_ERROR(CM_ERR_MEM, "out of memory copying %s", path);
    return CM_OK;
}

static cm_err read_enum(const source *src, const cm_yaml_node *node, const char *path, const cm_config_key *k,
                        int *out)
{
    for (int i = 0; k->names[i]; i++)
        if (node->kind == CM_YAML_SCALAR && strcmp(node->text, k->names[i]) == 0) {
            *out = i;
            return CM_OK;
        }
    char choices[512];
    join_names(k->names, choices, sizeof choices);
    char what[600];
    snprintf(what, sizeof what, "one of %s", choices);
    if (node->kind == CM_YAML_SCALAR && !cm_yaml_is_null(node)) {
        char got[128], hint[128];
        describe(node, got, sizeof got);
        did_you_mean(cm_config_suggest(node->text, k->names, -1), hint, sizeof hint);
        VALUE_ERROR(src, node, path, "expected %s, got %s%s", what, got, hint);
    }
    return expected(src, node, path, what);
}

/* A string key with a fixed set of values (model.preset): *v must be one of them (freed if not). */
static cm_err check_choice(const source *src, const cm_yaml_node *node, const char *path, const cm_config_key *k,
                           char **v)
{
    for (int i = 0; k->names[i]; i++)
        if (strcmp(*v, k->names[i]) == 0) return CM_OK;
    char choices[512], hint[128];
    join_names(k->names, choices, sizeof choices);
    did_you_mean(cm_config_suggest(*v, k->names, -1), hint, sizeof hint);
    free(*v);
    *v = NULL;
    VALUE_ERROR(src, node, path, "unknown name \"%s\" (known: %s)%s", node->text, choices, hint);
}

/* ---- lists ---- */

static cm_err expect_list(const source *src, const cm_yaml_node *node, const char *path, const char *what)
{
    if (node->kind != CM_YAML_SEQUENCE) return expected(src, node, path, what);
    if (node->n > CM_CONFIG_MAX_LIST)
        VALUE_ERROR(src, node, path, "a list of %d items is longer than %d", node->n, CM_CONFIG_MAX_LIST);
    return CM_OK;
}

static cm_err read_string_list(const source *src, const cm_yaml_node *node, const char *path, const cm_config_key *k,
                               cm_config_strings *out)
{
    CM_CHECK(expect_list(src, node, path, "a list of strings, e.g. [a, b]"));
    cm_config_strings l = {0};
    cm_err err = CM_OK;
    CM_CALLOC(l.items, node->n);
    for (int i = 0; i < node->n; i++) {
        char item[300];
        snprintf(item, sizeof item, "%s[%d]", path, i);
        CM_CHECK_GOTO(err, read_string(src, node->items[i], item, k->flags, &l.items[i]), fail);
        l.n++;
        if (k->flags & CM_CFG_UNIQUE)
            for (int j = 0; j < i; j++)
                if (strcmp(l.items[j], l.items[i]) == 0) {
                    char w[1024];
                    where(src, node->items[i], w, sizeof w);
                    CM_ERROR_GOTO(err, fail, CM_ERR_CONFIG, "%s: %s: \"%s\" is already item %d", w, item,
                                  l.items[i], j);
                }
    }
    *out = l;
    return CM_OK;
fail:
    cm_config_value_free(k, &l);
    return err;
}

static cm_err read_int_list(const source *src, const cm_yaml_node *node, const char *path, const cm_config_key *k,
                            cm_config_ints *out)
{
    CM_CHECK(expect_list(src, node, path, "a list of integers, e.g. [10, 20]"));
    cm_config_ints l = {0};
    cm_err err = CM_OK;
    CM_CALLOC(l.items, node->n);
    for (int i = 0; i < node->n; i++) {
        char item[300];
        snprintf(item, sizeof item, "%s[%d]", path, i);
        long long v;
        CM_CHECK_GOTO(err, read_integer(src, node->items[i], item, k, &v), fail);
        if ((k->flags & CM_CFG_INCREASING) && i > 0 && v <= l.items[i - 1]) {
            char w[1024];
            where(src, node->items[i], w, sizeof w);
            CM_ERROR_GOTO(err, fail, CM_ERR_CONFIG, "%s: %s: %lld is not larger than the item before it (%" PRId64 ")",
                          w, item, v, l.items[i - 1]);
        }
        l.items[l.n++] = v;
    }
    *out = l;
    return CM_OK;
fail:
    cm_config_value_free(k, &l);
    return err;
}

static cm_err read_groups(const source *src, const cm_yaml_node *node, const char *path, const cm_config_key *k,
                          cm_config_groups *out)
{
    CM_CHECK(expect_list(src, node, path, "a list of groups, e.g. [[a, b], [c]]"));
    int nnames = 0;
    for (int g = 0; g < node->n; g++) {
        char group[300];
        snprintf(group, sizeof group, "%s[%d]", path, g);
        CM_CHECK(expect_list(src, node->items[g], group, "a group as a list of names, e.g. [a, b]"));
        if ((k->flags & CM_CFG_NONEMPTY) && node->items[g]->n == 0)
            VALUE_ERROR(src, node->items[g], group, "a group may not be empty");
        nnames += node->items[g]->n;
    }
    cm_config_groups out_groups = {.ngroups = node->n};
    cm_err err = CM_OK;
    CM_CALLOC(out_groups.size, node->n);
    CM_CALLOC(out_groups.first, node->n);
    CM_CALLOC(out_groups.names, nnames);
    for (int g = 0; g < node->n; g++) {
        const cm_yaml_node *list = node->items[g];
        out_groups.first[g] = out_groups.nnames;
        out_groups.size[g] = list->n;
        for (int i = 0; i < list->n; i++) {
            char item[300];
            snprintf(item, sizeof item, "%s[%d][%d]", path, g, i);
            char **name = &out_groups.names[out_groups.nnames];
            CM_CHECK_GOTO(err, read_string(src, list->items[i], item, k->flags, name), fail);
            out_groups.nnames++;
            if (!(k->flags & CM_CFG_UNIQUE)) continue;
            for (int j = 0; j + 1 < out_groups.nnames; j++)
                if (strcmp(out_groups.names[j], *name) == 0) {
                    int h = 0;
                    while (h < g && out_groups.first[h + 1] <= j) h++;
                    char w[1024];
                    where(src, list->items[i], w, sizeof w);
                    CM_ERROR_GOTO(err, fail, CM_ERR_CONFIG, "%s: %s: \"%s\" is already in group %d", w, item, *name, h);
                }
        }
    }
    *out = out_groups;
    return CM_OK;
fail:
    cm_config_value_free(k, &out_groups);
    return err;
}

/* ---- one key ---- */

static cm_err set_origin(cm_config *c, int index, const source *src, const cm_yaml_node *node)
{
    char buf[1200];
    where(src, node, buf, sizeof buf);
    char *origin = strdup(buf);
    if (!origin) CM_ERROR(CM_ERR_MEM, "out of memory recording where a value came from");
    free(c->origin[index]);
    c->origin[index] = origin;
    return CM_OK;
}

/* Converts and checks node as the value of leaf key k (number `index`, path `path`), then stores it. */
static cm_err apply_value(cm_config *c, const source *src, const cm_config_key *k, int index, const char *path,
                          const cm_yaml_node *node)
{
    void *field = cm_config_field(c, k);
    switch (k->type) {
    case CM_CFG_INT:
    case CM_CFG_INT64: {
        long long v;
        CM_CHECK(read_integer(src, node, path, k, &v));
        if (k->type == CM_CFG_INT)
            *(int *)field = (int)v;
        else
            *(int64_t *)field = v;
        break;
    }
    case CM_CFG_DOUBLE: {
        double v;
        if (node->kind != CM_YAML_SCALAR || !node->plain || !parse_number(node->text, &v))
            return expected(src, node, path, "a number");
        if (!in_range(k, v)) return range_error(src, node, path, k);
        *(double *)field = v;
        break;
    }
    case CM_CFG_BOOL: {
        static const char *const yes[] = {"true", "True", "TRUE"}, *const no[] = {"false", "False", "FALSE"};
        int v = -1;
        for (int i = 0; i < 3 && node->kind == CM_YAML_SCALAR && node->plain; i++) {
            if (!strcmp(node->text, yes[i])) v = 1;
            if (!strcmp(node->text, no[i])) v = 0;
        }
        if (v < 0) return expected(src, node, path, "true or false");
        *(int *)field = v;
        break;
    }
    case CM_CFG_STRING: {
        char *v;
        CM_CHECK(read_string(src, node, path, k->flags, &v));
        if (k->names) CM_CHECK(check_choice(src, node, path, k, &v));
        cm_config_value_free(k, field);
        *(char **)field = v;
        break;
    }
    case CM_CFG_ENUM:
        CM_CHECK(read_enum(src, node, path, k, (int *)field));
        break;
    case CM_CFG_STRING_LIST: {
        cm_config_strings v;
        CM_CHECK(read_string_list(src, node, path, k, &v));
        cm_config_value_free(k, field);
        *(cm_config_strings *)field = v;
        break;
    }
    case CM_CFG_INT_LIST: {
        cm_config_ints v;
        CM_CHECK(read_int_list(src, node, path, k, &v));
        cm_config_value_free(k, field);
        *(cm_config_ints *)field = v;
        break;
    }
    case CM_CFG_GROUPS: {
        cm_config_groups v;
        CM_CHECK(read_groups(src, node, path, k, &v));
        cm_config_value_free(k, field);
        *(cm_config_groups *)field = v;
        break;
    }
    case CM_CFG_SECTION:
        CM_ERROR(CM_ERR_INTERNAL, "%s is a section, not a value", path);
    }
    if (src->file || src->override) CM_CHECK(set_origin(c, index, src, node));
    return CM_OK;
}

/* ---- mappings ---- */

static void key_list(const cm_config_section *s, char *buf, size_t len)
{
    buf[0] = '\0';
    for (int i = 0; i < s->nkeys; i++)
        snprintf(buf + strlen(buf), len - strlen(buf), "%s%s", i ? ", " : "", s->keys[i].name);
}

static void join_path(const char *prefix, const char *name, char *buf, size_t len)
{
    snprintf(buf, len, "%s%s%s", prefix, *prefix ? "." : "", name);
}

/* Every required key below section s is missing: the error points at (line, column) of the
 * mapping that should have held it. */
static cm_err check_missing(const cm_config_section *s, const char *prefix, const source *src, int line, int column,
                            const int *seen)
{
    for (int i = 0; i < s->nkeys; i++) {
        if (seen && seen[i]) continue;
        char path[256];
        join_path(prefix, s->keys[i].name, path, sizeof path);
        if (s->keys[i].type == CM_CFG_SECTION)
            CM_CHECK(check_missing(s->keys[i].section, path, src, line, column, NULL));
        else if (s->keys[i].required)
            CM_ERROR(CM_ERR_CONFIG, "%s:%d:%d: %s: required key is missing", src->file, line, column, path);
    }
    return CM_OK;
}

static cm_err apply_mapping(cm_config *c, const source *src, const cm_config_section *s, const char *prefix,
                            const cm_yaml_node *map, int line, int column);

static cm_err apply_pair(cm_config *c, const source *src, const cm_config_section *s, const char *prefix,
                         const cm_yaml_node *key, const cm_yaml_node *value, int *seen, const cm_yaml_node **first)
{
    char path[256];
    if (key->kind != CM_YAML_SCALAR || cm_yaml_is_null(key)) {
        char w[1024];
        where(src, key, w, sizeof w);
        CM_ERROR(CM_ERR_CONFIG, "%s: %s: keys must be plain names, got %s", w, *prefix ? prefix : "(top level)",
                 cm_yaml_kind_name(key));
    }
    join_path(prefix, key->text, path, sizeof path);
    int i = 0;
    while (i < s->nkeys && strcmp(s->keys[i].name, key->text) != 0) i++;
    if (i == s->nkeys) {
        char keys[512], hint[128];
        const char *names[64];
        for (int j = 0; j < s->nkeys && j < 64; j++) names[j] = s->keys[j].name;
        key_list(s, keys, sizeof keys);
        did_you_mean(cm_config_suggest(key->text, names, s->nkeys < 64 ? s->nkeys : 64), hint, sizeof hint);
        VALUE_ERROR(src, key, path, "unknown key; %s has %s%s", *prefix ? prefix : "the top level", keys, hint);
    }
    if (seen[i])
        VALUE_ERROR(src, key, path, "duplicate key (first given at line %d, column %d)", first[i]->line,
                    first[i]->column);
    seen[i] = 1;
    first[i] = key;
    const cm_config_key *k = &s->keys[i];
    if (k->type == CM_CFG_SECTION)
        return apply_mapping(c, src, k->section, path, cm_yaml_is_null(value) ? NULL : value, key->line, key->column);
    int index;
    if (!cm_config_find_key(path, &index)) CM_ERROR(CM_ERR_INTERNAL, "%s is in a table but has no number", path);
    CM_CHECK(apply_value(c, src, k, index, path, value));
    return CM_OK;
}

/* Applies the keys of `map` (NULL: an absent or empty section written at line, column). */
static cm_err apply_mapping(cm_config *c, const source *src, const cm_config_section *s, const char *prefix,
                            const cm_yaml_node *map, int line, int column)
{
    if (!map) return check_missing(s, prefix, src, line, column, NULL);
    if (map->kind != CM_YAML_MAPPING) {
        char keys[1024];
        key_list(s, keys, sizeof keys);
        char what[1100];
        snprintf(what, sizeof what, "a mapping of keys (%s)", keys);
        return expected(src, map, *prefix ? prefix : "(top level)", what);
    }
    int seen[64] = {0};
    const cm_yaml_node *first[64] = {0};
    if (s->nkeys > 64) CM_ERROR(CM_ERR_INTERNAL, "section %s has more than 64 keys", prefix);
    for (int i = 0; i + 1 < map->n; i += 2)
        CM_CHECK(apply_pair(c, src, s, prefix, map->items[i], map->items[i + 1], seen, first));
    return check_missing(s, prefix, src, map->line, map->column, seen);
}

static cm_err apply_document(cm_config *c, const char *name, const cm_yaml_node *doc)
{
    source src = {.file = name};
    if (doc && cm_yaml_is_null(doc)) doc = NULL;
    CM_CHECK(apply_mapping(c, &src, &cm_config_root, "", doc, 1, 1));
    return CM_OK;
}

cm_err cm_config_read_string(cm_config *c, const char *text, const char *name)
{
    cm_yaml_node *doc;
    CM_CHECK(cm_yaml_parse(text, strlen(text), name, &doc));
    cm_err err = apply_document(c, name, doc);
    cm_yaml_free(doc);
    CM_CHECK(err);
    return CM_OK;
}

cm_err cm_config_read_file(cm_config *c, const char *path)
{
    cm_yaml_node *doc;
    CM_CHECK(cm_yaml_parse_file(path, &doc));
    cm_err err = apply_document(c, path, doc);
    cm_yaml_free(doc);
    CM_CHECK(err);
    return CM_OK;
}

/* "Did you mean" over every key path, for an override's unknown key. */
static void suggest_path(const char *path, char *hint, size_t len)
{
    char paths[CM_CONFIG_MAX_KEYS][256];
    const char *names[CM_CONFIG_MAX_KEYS];
    int n = cm_config_nkeys();
    for (int i = 0; i < n; i++) {
        cm_config_key_at(i, paths[i], sizeof paths[i]);
        names[i] = paths[i];
    }
    did_you_mean(cm_config_suggest(path, names, n), hint, len);
}

/* Parses value_text as YAML and applies it to the key at path; src names the override. */
static cm_err apply_text(cm_config *c, const source *src, const char *path, const char *value_text)
{
    int index;
    const cm_config_key *k = cm_config_find_key(path, &index);
    if (!k) {
        char w[1024], hint[300];
        where(src, NULL, w, sizeof w);
        suggest_path(path, hint, sizeof hint);
        CM_ERROR(CM_ERR_CONFIG, "%s: %s: unknown key (`clipmtl config --doc` lists them)%s", w, path, hint);
    }
    char name[1100];
    where(src, NULL, name, sizeof name);
    cm_yaml_node *doc;
    CM_CHECK(cm_yaml_parse(value_text, strlen(value_text), name, &doc));
    cm_yaml_node empty = {.kind = CM_YAML_SCALAR, .text = "", .plain = 1, .line = 1, .column = 1};
    cm_err err = apply_value(c, src, k, index, path, doc ? doc : &empty);
    cm_yaml_free(doc);
    CM_CHECK(err);
    return CM_OK;
}

cm_err cm_config_set(cm_config *c, const char *assignment)
{
    source src = {.override = assignment};
    const char *eq = strchr(assignment, '=');
    if (!eq || eq == assignment)
        CM_ERROR(CM_ERR_CONFIG, "--set %s: expected key=value, e.g. optim.lr=0.01", assignment);
    char path[256];
    size_t len = (size_t)(eq - assignment);
    if (len >= sizeof path) CM_ERROR(CM_ERR_CONFIG, "--set %s: the key is too long", assignment);
    memcpy(path, assignment, len);
    path[len] = '\0';
    CM_CHECK(apply_text(c, &src, path, eq + 1));
    return CM_OK;
}

cm_err cm_config_defaults(cm_config *c)
{
    memset(c, 0, sizeof *c);
    int nkeys = cm_config_nkeys();
    if (nkeys > CM_CONFIG_MAX_KEYS)
        CM_ERROR(CM_ERR_INTERNAL, "the schema has %d keys; CM_CONFIG_MAX_KEYS is %d", nkeys, CM_CONFIG_MAX_KEYS);
    source src = {0}; /* neither file nor override: origins stay NULL ("default") */
    for (int i = 0; i < nkeys; i++) {
        char path[256];
        const cm_config_key *k = cm_config_key_at(i, path, sizeof path);
        cm_yaml_node *doc;
        cm_err err = cm_yaml_parse(k->default_yaml, strlen(k->default_yaml), path, &doc);
        if (err == CM_OK) {
            err = doc ? apply_value(c, &src, k, i, path, doc) : CM_ERR_INTERNAL;
            cm_yaml_free(doc);
        }
        if (err != CM_OK) {
            char why[1024];
            snprintf(why, sizeof why, "%s", cm_error_message());
            cm_config_free(c);
            CM_ERROR(CM_ERR_INTERNAL, "the default of %s (%s) is invalid: %s", path, k->default_yaml, why);
        }
    }
    return CM_OK;
}

cm_err cm_config_load(cm_config *c, const char *path)
{
    CM_CHECK(cm_config_read_file(c, path));
    CM_CHECK(cm_config_validate(c));
    return CM_OK;
}

cm_err cm_config_load_string(cm_config *c, const char *text, const char *name)
{
    CM_CHECK(cm_config_read_string(c, text, name));
    CM_CHECK(cm_config_validate(c));
    return CM_OK;
}
