/* Ownership of configuration values: where they live, how they are freed and compared, and the
 * origin of every key. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "clipmtl/config.h"
#include "config_schema.h"

void *cm_config_field(const cm_config *c, const cm_config_key *k)
{
    return (char *)c + k->offset;
}

void cm_config_value_free(const cm_config_key *k, void *value)
{
    switch (k->type) {
    case CM_CFG_STRING: {
        char **s = value;
        free(*s);
        *s = NULL;
        break;
    }
    case CM_CFG_STRING_LIST: {
        cm_config_strings *l = value;
        for (int i = 0; i < l->n; i++) free(l->items[i]);
        free(l->items);
        *l = (cm_config_strings){0};
        break;
    }
    case CM_CFG_INT_LIST: {
        cm_config_ints *l = value;
        free(l->items);
        *l = (cm_config_ints){0};
        break;
    }
    case CM_CFG_GROUPS: {
        cm_config_groups *g = value;
        for (int i = 0; i < g->nnames; i++) free(g->names[i]);
        free(g->names);
        free(g->size);
        free(g->first);
        *g = (cm_config_groups){0};
        break;
    }
    default:
        break;
    }
}

static int strings_equal(const char *a, const char *b)
{
    return strcmp(a ? a : "", b ? b : "") == 0;
}

int cm_config_value_equal(const cm_config_key *k, const void *a, const void *b)
{
    switch (k->type) {
    case CM_CFG_INT:
    case CM_CFG_BOOL:
    case CM_CFG_ENUM:
        return *(const int *)a == *(const int *)b;
    case CM_CFG_INT64:
        return *(const int64_t *)a == *(const int64_t *)b;
    case CM_CFG_DOUBLE: {
        double x = *(const double *)a, y = *(const double *)b;
        return x == y && signbit(x) == signbit(y);
    }
    case CM_CFG_STRING:
        return strings_equal(*(char *const *)a, *(char *const *)b);
    case CM_CFG_STRING_LIST: {
        const cm_config_strings *x = a, *y = b;
        if (x->n != y->n) return 0;
        for (int i = 0; i < x->n; i++)
            if (!strings_equal(x->items[i], y->items[i])) return 0;
        return 1;
    }
    case CM_CFG_INT_LIST: {
        const cm_config_ints *x = a, *y = b;
        return x->n == y->n && (x->n == 0 || memcmp(x->items, y->items, (size_t)x->n * sizeof *x->items) == 0);
    }
    case CM_CFG_GROUPS: {
        const cm_config_groups *x = a, *y = b;
        if (x->ngroups != y->ngroups || x->nnames != y->nnames) return 0;
        for (int g = 0; g < x->ngroups; g++)
            if (x->size[g] != y->size[g]) return 0;
        for (int i = 0; i < x->nnames; i++)
            if (!strings_equal(x->names[i], y->names[i])) return 0;
        return 1;
    }
    case CM_CFG_SECTION:
        return 1;
    }
    return 0;
}

void cm_config_free(cm_config *c)
{
    int nkeys = cm_config_nkeys();
    for (int i = 0; i < nkeys; i++) {
        const cm_config_key *k = cm_config_key_at(i, NULL, 0);
        cm_config_value_free(k, cm_config_field(c, k));
        free(c->origin[i]);
    }
    memset(c, 0, sizeof *c);
}

int cm_config_equal(const cm_config *a, const cm_config *b)
{
    int nkeys = cm_config_nkeys();
    for (int i = 0; i < nkeys; i++) {
        const cm_config_key *k = cm_config_key_at(i, NULL, 0);
        if (!cm_config_value_equal(k, cm_config_field(a, k), cm_config_field(b, k))) return 0;
    }
    return 1;
}

const char *cm_config_origin(const cm_config *c, const char *key)
{
    int index;
    if (!cm_config_find_key(key, &index)) return NULL;
    return c->origin[index] ? c->origin[index] : "default";
}
