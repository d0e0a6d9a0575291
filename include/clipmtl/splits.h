/* Train/test splits as the paper's protocol needs them (spec.md 5.3): a seeded, per-class
 * stratified hold-out for datasets without an official split, then a per-class fraction (or k
 * shots) of the training pool. Decisions depend only on (seed, domain, class, item order), so
 * every rank, and every rank count, computes the same split. */
#ifndef CLIPMTL_SPLITS_H
#define CLIPMTL_SPLITS_H

#include <stdint.h>

#include "clipmtl/error.h"

enum { CM_SPLIT_UNUSED = 0, CM_SPLIT_TRAIN = 1, CM_SPLIT_TEST = 2 };

typedef struct {
    double test_fraction;  /* held out per class when there is no official split, e.g. 0.2 */
    double train_fraction; /* of each class's training pool, (0, 1] */
    int k_shot;            /* > 0: exactly min(k, pool) per class instead of the fraction */
    uint64_t seed;
} cm_split_options;

/* assign[i] for the n items of one domain with labels[i] in 0..nclasses-1. official, when
 * not NULL, gives each item's official split and replaces the hold-out: CM_SPLIT_TEST items are
 * the test split, CM_SPLIT_TRAIN items the training pool, CM_SPLIT_UNUSED items (in neither
 * official list, e.g. a validation list) stay unused. Without official lists, every class with at
 * least 2 items keeps at least one training and one test item. */
cm_err cm_split_assign(const int *labels, int n, int nclasses, const uint8_t *official, const cm_split_options *opt,
                       int domain, uint8_t *assign);

#endif
