#include "clipmtl/splits.h"

#include <math.h>
#include <stdlib.h>

#include "clipmtl/rng.h"

/* Stream purposes, so that hold-out and sub-sampling draw independent numbers. */
enum { PURPOSE_HOLDOUT = 1, PURPOSE_SUBSAMPLE = 2 };

static void shuffle_class(int *idx, int count, uint64_t seed, int purpose, int domain, int cls)
{
    cm_rng rng;
    cm_rng_seed(&rng, seed, cm_rng_stream(0x53504c4954ull /* "SPLIT" */, (uint64_t)purpose, (uint64_t)domain, (uint64_t)cls));
    cm_rng_shuffle(&rng, idx, count);
}

cm_err cm_split_assign(const int *labels, int n, int nclasses, const uint8_t *official, const cm_split_options *o,
                       int domain, uint8_t *assign)
{
    CM_ASSERT(o->train_fraction > 0 && o->train_fraction <= 1, CM_ERR_CONFIG, "train fraction %g not in (0, 1]",
              o->train_fraction);
    CM_ASSERT(o->test_fraction >= 0 && o->test_fraction < 1, CM_ERR_CONFIG, "test fraction %g not in [0, 1)",
              o->test_fraction);
    CM_ASSERT(o->k_shot >= 0, CM_ERR_CONFIG, "k_shot %d is negative", o->k_shot);
    for (int i = 0; i < n; i++)
        CM_ASSERT(labels[i] >= 0 && labels[i] < nclasses, CM_ERR_INTERNAL, "item %d has label %d outside 0..%d", i,
                  labels[i], nclasses - 1);
    int *idx = malloc((size_t)(n > 0 ? n : 1) * sizeof *idx);
    if (!idx) CM_ERROR(CM_ERR_MEM, "out of memory for a split of %d items", n);
    for (int c = 0; c < nclasses; c++) {
        int count = 0;
        for (int i = 0; i < n; i++)
            if (labels[i] == c) idx[count++] = i;
        int pool = count;
        if (official) {
            /* Official split: the training pool is the class's official training items, in order;
             * items in neither official list stay unused. */
            pool = 0;
            for (int j = 0; j < count; j++) {
                int i = idx[j];
                assign[i] = official[i] == CM_SPLIT_TEST ? CM_SPLIT_TEST : CM_SPLIT_UNUSED;
                if (official[i] == CM_SPLIT_TRAIN) idx[pool++] = i;
            }
        } else {
            shuffle_class(idx, count, o->seed, PURPOSE_HOLDOUT, domain, c);
            int test = (int)lround(o->test_fraction * count);
            if (count >= 2 && o->test_fraction > 0 && test == 0) test = 1;
            if (test >= count && count >= 2) test = count - 1;
            for (int j = 0; j < test; j++) assign[idx[count - 1 - j]] = CM_SPLIT_TEST;
            pool = count - test;
        }
        shuffle_class(idx, pool, o->seed, PURPOSE_SUBSAMPLE, domain, c);
        int take = o->k_shot > 0 ? (o->k_shot < pool ? o->k_shot : pool) : (int)lround(o->train_fraction * pool);
        if (take == 0 && pool > 0) take = 1;
        for (int j = 0; j < pool; j++) assign[idx[j]] = j < take ? CM_SPLIT_TRAIN : CM_SPLIT_UNUSED;
    }
    free(idx);
    return CM_OK;
}
