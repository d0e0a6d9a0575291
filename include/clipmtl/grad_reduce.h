/* Where the gradients of a prompt set meet (issue 4, item 4; spec.md 4.4):
 *   shared prompts  summed over all ranks (world): every task's loss reaches them;
 *   group prompts   summed over the group communicator: the group's tasks;
 *   task prompts    summed over the task communicator: the task's data-parallel shards.
 * Each rank's local gradient must already be its shard's share of the task's mean loss, so that
 * sums are the gradients of sum_i L_i. Collective over every communicator the rank is in. */
#ifndef CLIPMTL_GRAD_REDUCE_H
#define CLIPMTL_GRAD_REDUCE_H

#include "clipmtl/layout.h"
#include "clipmtl/prompt_set.h"

cm_err cm_reduce_prompt_gradients(const cm_prompt_set *s, const cm_layout *l, const cm_comms *c, float *grads);

#endif
