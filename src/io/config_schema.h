/* The configuration schema: one table per section of cm_config. Private to src/io.
 *
 * A key's value lives at `offset` in cm_config. Its default is YAML text parsed by the same code
 * as a file, so the defaults go through every check a user's value does and the documentation
 * prints exactly what the parser reads. */
#ifndef CLIPMTL_CONFIG_SCHEMA_H
#define CLIPMTL_CONFIG_SCHEMA_H

#include <stddef.h>

#include "clipmtl/config.h"

typedef enum {
    CM_CFG_INT,         /* int */
    CM_CFG_INT64,       /* int64_t */
    CM_CFG_DOUBLE,      /* double */
    CM_CFG_BOOL,        /* int, 0 or 1 */
    CM_CFG_STRING,      /* char * */
    CM_CFG_ENUM,        /* an enum (int-sized), one of `names` */
    CM_CFG_STRING_LIST, /* cm_config_strings */
    CM_CFG_INT_LIST,    /* cm_config_ints */
    CM_CFG_GROUPS,      /* cm_config_groups */
    CM_CFG_SECTION,     /* a nested section (`section`) */
} cm_config_type;

/* Checks of one value beyond its type and range. */
enum {
    CM_CFG_MIN_OPEN = 1 << 0,   /* min is excluded */
    CM_CFG_MAX_OPEN = 1 << 1,   /* max is excluded */
    CM_CFG_NONEMPTY = 1 << 2,   /* strings (and list items) may not be "" */
    CM_CFG_NAME = 1 << 3,       /* strings: only A-Z a-z 0-9 . _ - (a file name part) */
    CM_CFG_UNIQUE = 1 << 4,     /* lists: no item twice (groups: no name twice overall) */
    CM_CFG_INCREASING = 1 << 5, /* int lists: strictly increasing */
};

struct cm_config_section;

typedef struct {
    const char *name;
    cm_config_type type;
    size_t offset;
    int required;               /* must appear in every file read */
    double min, max;            /* numbers and int-list items */
    unsigned flags;
    const char *const *names;   /* enum choices, NULL-terminated, in enum order; for a string,
                                   the values it may take (NULL: any) */
    const char *default_yaml;
    const char *doc;
    const struct cm_config_section *section; /* CM_CFG_SECTION */
} cm_config_key;

typedef struct cm_config_section {
    const char *name;
    const char *doc;
    const cm_config_key *keys;
    int nkeys;
} cm_config_section;

/* The top-level sections, in the order of the dump and the documentation. */
extern const cm_config_section cm_config_sections[];
extern const int cm_config_nsections;
/* The top level, whose keys are the sections above (same names, same order). */
extern const cm_config_section cm_config_root;

/* Introduction of the generated reference (experiments/README.md). */
extern const char cm_config_doc_intro[];

/* Every leaf key gets a number 0..cm_config_nkeys()-1 in table order (used for origins). */
int cm_config_nkeys(void);
/* The leaf key at a dotted path ("method.mmap.b") and its number; NULL if there is none. */
const cm_config_key *cm_config_find_key(const char *path, int *index);
/* The leaf key by number, with its dotted path written to path. */
const cm_config_key *cm_config_key_at(int index, char *path, size_t len);

/* Where key k's value lives in c. */
void *cm_config_field(const cm_config *c, const cm_config_key *k);
/* Releases what a value owns and zeroes it. */
void cm_config_value_free(const cm_config_key *k, void *value);
/* 1 when two values of key k are equal (doubles bit for bit, strings byte for byte). */
int cm_config_value_equal(const cm_config_key *k, const void *a, const void *b);

/* The name among `names` (n of them, or NULL-terminated when n < 0) that `word` is most likely a
 * typo of, or NULL when none is near. */
const char *cm_config_suggest(const char *word, const char *const *names, int n);

/* Longest items the parser accepts. */
#define CM_CONFIG_MAX_STRING 4096
#define CM_CONFIG_MAX_LIST 1024

#endif
