/* Image datasets laid out as folders: <root>/<domain>/<class>/<image> (Office-Home, DomainNet
 * and `clipmtl mkdemo` output). Every domain must hold the same classes; a class's label is its
 * index in the sorted class names, shared by all domains (as Dassl labels them). */
#ifndef CLIPMTL_DATASET_H
#define CLIPMTL_DATASET_H

#include <stddef.h>

#include "clipmtl/error.h"

typedef struct {
    char *path;      /* root/domain/class/file: what to open */
    const char *rel; /* domain/class/file, pointing into path: the form split lists use */
    int domain;      /* index into cm_dataset.domains */
    int label;       /* index into cm_dataset.classes */
} cm_dataset_item;

typedef struct {
    char *root;
    int n_domains, n_classes, n_items;
    char **domains; /* folder names, sorted bytewise (strcmp) */
    char **classes; /* folder names, sorted bytewise, the same in every domain */
    cm_dataset_item *items; /* ordered by domain, then class, then file name */
    int *domain_start;      /* n_domains + 1 offsets: domain d holds items [start[d], start[d+1]) */
} cm_dataset;

/* Reads the folder tree under root. Domains and classes are the sub-folders (names may contain
 * spaces, e.g. "Real World"); images are regular files ending in .jpg, .jpeg or .png in any
 * letter case. Names starting with '.' and other files are skipped. Errors: a class present in
 * one domain and missing from another (naming both domains and the class), a class folder
 * without images (naming the folder), a root without domain folders. The image files themselves
 * are not opened. */
cm_err cm_dataset_open_folder(const char *root, cm_dataset *ds);
void cm_dataset_free(cm_dataset *ds);

/* The class name as prompts use it: the folder name with every '_' replaced by a space, case
 * kept ("Alarm_Clock" -> "Alarm Clock"). Writes a NUL-terminated string into out[cap]. */
cm_err cm_class_prompt_name(const char *class_name, char *out, size_t cap);

#endif
