/* Fashion-MNIST as tasks: each chosen domain transform is a task, and the N tasks share out the
 * training images of the task pool data.task_images (default [50000, 60000): image first + i to
 * task i % N) and the 10000 test images (image i to task i % N), so that no two tasks show the
 * same picture and none shows an image of the pretraining pool (data.pretrain_images). The
 * official train/test files are the split.
 *
 * Each domain also exists primed, `<domain>2` (inverted2 = inverted'): the same transform, so as a
 * second task it is the same domain on disjoint images. A planted-similarity study lists both
 * (inverted, inverted2, rotated, rotated2, ...) and expects the grouping to pair them. Primes are
 * only tasks when named: an empty data.domains still means the five domains. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tasks_internal.h"

cm_err cm_tasks_read_fmnist(cm_tasks *t, const cm_config_data *data)
{
    struct cm_tasks_impl *im = t->impl;
    const char *dir = data->root && data->root[0] ? data->root : CM_FMNIST_DEFAULT_DIR;
    im->source = strdup(dir);
    CM_ASSERT(im->source, CM_ERR_MEM, "out of memory");
    char primes[CM_FMNIST_DOMAINS][32];
    const char *available[2 * CM_FMNIST_DOMAINS];
    for (int d = 0; d < CM_FMNIST_DOMAINS; d++) {
        available[d] = cm_fmnist_domain_name((cm_fmnist_domain)d);
        snprintf(primes[d], sizeof primes[d], "%s2", available[d]);
        available[CM_FMNIST_DOMAINS + d] = primes[d];
    }
    int n, *chosen;
    CM_CHECK(cm_tasks_choose_domains(data, "Fashion-MNIST", data->domains.n > 0 ? 2 * CM_FMNIST_DOMAINS : CM_FMNIST_DOMAINS,
                                     available, &n, &chosen));
    const char *names[2 * CM_FMNIST_DOMAINS];
    cm_err err = CM_OK;
    for (int k = 0; k < n; k++) names[k] = available[chosen[k]];
    CM_CHECK_GOTO(err, cm_tasks_alloc(t, n, names), done);
    const char *classes[CM_FMNIST_CLASSES];
    for (int c = 0; c < CM_FMNIST_CLASSES; c++) classes[c] = cm_fmnist_class_name(c);
    CM_CHECK_GOTO(err, cm_tasks_set_classes(t, CM_FMNIST_CLASSES, classes), done);
    if (!(im->fmnist_domain = calloc((size_t)n, sizeof *im->fmnist_domain)))
        CM_ERROR_GOTO(err, done, CM_ERR_MEM, "out of memory");
    for (int k = 0; k < n; k++) im->fmnist_domain[k] = (cm_fmnist_domain)(chosen[k] % CM_FMNIST_DOMAINS);
    CM_CHECK_GOTO(err, cm_fmnist_load(&im->fmnist[1], dir, 1), done);
    CM_CHECK_GOTO(err, cm_fmnist_load(&im->fmnist[0], dir, 0), done);
    for (int k = 0; k < n; k++) t->impl->task[k].has_official = 1;
    const int64_t *pool = data->task_images.items;
    if (data->task_images.n != 2 || pool[1] > im->fmnist[1].count)
        CM_ERROR_GOTO(err, done, CM_ERR_CONFIG, "data.task_images must be [first, end) within the %d training images of %s",
                      im->fmnist[1].count, dir);
    /* Training images of the pool first, then test images, each in file order. */
    for (int set = 1; set >= 0; set--) {
        const cm_fmnist_set *fs = &im->fmnist[set];
        const int first = set ? (int)pool[0] : 0, end = set ? (int)pool[1] : fs->count;
        for (int i = first; i < end; i++) {
            char name[32];
            snprintf(name, sizeof name, "%s/%d", set ? "train" : "t10k", i);
            cm_task_item item = {.name = strdup(name), .label = fs->labels[i], .ref = i,
                                 .official = set ? CM_SPLIT_TRAIN : CM_SPLIT_TEST};
            if (!item.name) CM_ERROR_GOTO(err, done, CM_ERR_MEM, "out of memory for the Fashion-MNIST items");
            cm_err add = cm_task_add_item(&im->task[(i - first) % n], &item);
            if (add != CM_OK) {
                free(item.name);
                CM_CHECK_GOTO(err, add, done);
            }
        }
    }
done:
    free(chosen);
    return err;
}
