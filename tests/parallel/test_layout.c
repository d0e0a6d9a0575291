/* Rank/task layout: every task has ranks, blocks are contiguous and even to one, shards tile
 * the batch; under MPI the task and group communicators have the expected members. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clipmtl/grad_reduce.h"
#include "clipmtl/layout.h"
#include "test_util.h"

static void check_pure(int P, int N)
{
    int *owner_count = calloc((size_t)N, sizeof(int));
    int min_block = 1 << 30, max_block = 0, min_load = 1 << 30, max_load = 0;
    for (int r = 0; r < P; r++) {
        cm_layout l;
        CM_TEST_OK(cm_layout_compute(&l, P, N, r));
        CM_TEST(l.nlocal >= 1, "P=%d N=%d: rank %d has no task", P, N, r);
        if (l.nlocal < min_load) min_load = l.nlocal;
        if (l.nlocal > max_load) max_load = l.nlocal;
        for (int i = 0; i < l.nlocal; i++) {
            int t = l.local_tasks[i];
            owner_count[t]++;
            CM_TEST(r >= l.task_first_rank[t] && r < l.task_first_rank[t] + l.task_nranks[t],
                    "P=%d N=%d: rank %d runs task %d outside its block", P, N, r, t);
        }
        if (r == 0)
            for (int t = 0; t < N; t++) {
                if (l.task_nranks[t] < min_block) min_block = l.task_nranks[t];
                if (l.task_nranks[t] > max_block) max_block = l.task_nranks[t];
                if (P >= N && t > 0)
                    CM_TEST(l.task_first_rank[t] == l.task_first_rank[t - 1] + l.task_nranks[t - 1],
                            "P=%d N=%d: task %d's block is not contiguous", P, N, t);
            }
        cm_layout_free(&l);
    }
    for (int t = 0; t < N; t++)
        CM_TEST(owner_count[t] == (P >= N ? P / N + (t < P % N) : 1), "P=%d N=%d: task %d run by %d ranks", P, N, t,
                owner_count[t]);
    CM_TEST(max_block - min_block <= 1 && max_load - min_load <= 1, "P=%d N=%d: uneven (blocks %d..%d, load %d..%d)",
            P, N, min_block, max_block, min_load, max_load);
    free(owner_count);
}

static void test_shards(void)
{
    for (int B = 0; B <= 9; B++)
        for (int k = 1; k <= 4; k++) {
            int next = 0, ok = 1;
            for (int s = 0; s < k; s++) {
                int start, count;
                cm_layout_shard(B, s, k, &start, &count);
                ok &= start == next && count >= B / k && count <= B / k + 1;
                next = start + count;
            }
            CM_TEST(ok && next == B, "shards of a batch of %d over %d ranks do not tile it", B, k);
        }
}

static void test_comms(void)
{
    int P, rank;
    MPI_Comm_size(MPI_COMM_WORLD, &P);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    const int N = 3, group_of_task[3] = {0, 1, 0};
    cm_layout l;
    CM_TEST_OK(cm_layout_compute(&l, P, N, rank));
    cm_comms c;
    CM_TEST_OK(cm_comms_create(&c, MPI_COMM_WORLD, &l, group_of_task, 2));
    int task_size;
    MPI_Comm_size(c.task, &task_size);
    CM_TEST(task_size == (P >= N ? l.task_nranks[l.local_tasks[0]] : 1), "rank %d: task communicator of %d", rank,
            task_size);
    for (int g = 0; g < 2; g++) {
        /* Members of group g: the ranks that run a task of g. Count them from the layout. */
        int want = 0;
        for (int r = 0; r < P; r++) {
            cm_layout lr;
            cm_layout_compute(&lr, P, N, r);
            int member = 0;
            for (int i = 0; i < lr.nlocal; i++) member |= group_of_task[lr.local_tasks[i]] == g;
            want += member;
            if (r == rank) CM_TEST((c.group[g] != MPI_COMM_NULL) == member, "rank %d: membership of group %d", rank, g);
            cm_layout_free(&lr);
        }
        if (c.group[g] != MPI_COMM_NULL) {
            int size;
            MPI_Comm_size(c.group[g], &size);
            CM_TEST(size == want, "group %d communicator has %d ranks, want %d", g, size, want);
        }
    }
    if (rank == 0) {
        const char *names[3] = {"original", "inverted", "sketch"};
        cm_layout_print(&l, names, 10, stdout);
    }
    cm_comms_free(&c);
    cm_layout_free(&l);
}

/* Every rank adds (task + 1) * (shard + 1) to each parameter of the methods its tasks use;
 * after the reduction each method holds the sum over the tasks (and shards) that use it. */
static void test_reduction(cm_set_mode mode)
{
    int P, rank;
    MPI_Comm_size(MPI_COMM_WORLD, &P);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    const int N = 3, groups[3] = {0, 1, 0};
    cm_method_options o;
    cm_method_options_default(CM_METHOD_COOP, &o), o.n_text = 1;
    cm_prompt_set s;
    CM_TEST_OK(cm_prompt_set_create(&s, mode, &o, N, groups, 2, 4, 6, 1, 1));
    cm_layout l;
    CM_TEST_OK(cm_layout_compute(&l, P, N, rank));
    cm_comms c;
    CM_TEST_OK(cm_comms_create(&c, MPI_COMM_WORLD, &l, mode == CM_SET_GROUPED ? groups : NULL, 2));
    float *g = calloc(s.table.total, sizeof(float));
    for (int i = 0; i < l.nlocal; i++) {
        const cm_prompt_method *m[2];
        int t = l.local_tasks[i], k = cm_prompt_set_task_methods(&s, t, m);
        for (int j = 0; j < k; j++)
            for (size_t x = m[j]->first; x < m[j]->first + m[j]->count; x++) g[x] += (float)((t + 1) * (l.shard + 1));
    }
    CM_TEST_OK(cm_reduce_prompt_gradients(&s, &l, &c, g));
    /* Expected: over tasks t using the method, sum over t's shards k of (t+1)(k+1). */
    for (int i = 0; i < l.nlocal; i++) {
        const cm_prompt_method *m[2];
        int t = l.local_tasks[i], k = cm_prompt_set_task_methods(&s, t, m);
        for (int j = 0; j < k; j++) {
            double want = 0;
            for (int u = 0; u < N; u++) {
                int uses = mode == CM_SET_SHARED || (mode == CM_SET_GROUPED && j == 0 ? groups[u] == groups[t] : u == t);
                int n = l.task_nranks[u];
                if (uses) want += (u + 1) * n * (n + 1) / 2.0;
            }
            CM_TEST(g[m[j]->first] == (float)want, "mode %d rank %d task %d method %d: %g, want %g", (int)mode, rank, t, j,
                    g[m[j]->first], want);
        }
    }
    free(g);
    cm_comms_free(&c);
    cm_layout_free(&l);
    cm_prompt_set_destroy(&s);
}

/* CM_MPI_CHECK_GOTO: a failing MPI call (a root outside the communicator) raises CM_ERR_MPI naming
 * the call, and the function still releases what it holds. */
static cm_err bcast_then_clean(MPI_Comm comm, int root, int *cleaned)
{
    cm_err err = CM_OK;
    int *value = calloc(1, sizeof *value);
    if (!value) return CM_RAISE(CM_ERR_MEM, "out of memory");
    CM_MPI_CHECK_GOTO(err, MPI_Bcast(value, 1, MPI_INT, root, comm), done);
    *cleaned = -1; /* only reached when the call succeeded */
done:
    free(value);
    if (err != CM_OK) *cleaned = 1;
    return err;
}

static void test_mpi_errors(void)
{
    int P, rank;
    MPI_Comm_size(MPI_COMM_WORLD, &P);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm comm;
    MPI_Comm_dup(MPI_COMM_WORLD, &comm);
    MPI_Comm_set_errhandler(comm, MPI_ERRORS_RETURN); /* as the CLI sets it on MPI_COMM_WORLD */
    int cleaned = 0;
    CM_TEST_OK(bcast_then_clean(comm, 0, &cleaned));
    CM_TEST(cleaned == -1, "a valid root: the call went through");
    cleaned = 0;
    CM_TEST(bcast_then_clean(comm, P, &cleaned) == CM_ERR_MPI && cleaned == 1, "root %d of %d ranks: an MPI error, "
            "after the cleanup", P, P);
    CM_TEST(strstr(cm_error_message(), "MPI_Bcast(value, 1, MPI_INT, root, comm) failed"), "message: %s",
            cm_error_message());
    cm_error_clear();

    /* cm_comms_create: a split that MPI refuses (a negative colour) leaves nothing to free. */
    const int N = 2, group_of_task[2] = {0, 1};
    cm_layout l;
    CM_TEST_OK(cm_layout_compute(&l, P, N, rank));
    if (P >= N) {
        l.local_tasks[0] = -5;
        cm_comms c;
        CM_TEST(cm_comms_create(&c, comm, &l, group_of_task, 2) == CM_ERR_MPI, "rank %d: a refused split", rank);
        CM_TEST(c.task == MPI_COMM_NULL && c.group == NULL && c.ngroups == 0, "rank %d: comms left after a failure",
                rank);
        cm_error_clear();
        cm_comms_free(&c); /* what a caller's cleanup does: safe on what a failure left */
    }
    cm_layout_free(&l);
    MPI_Comm_free(&comm);
}

int main(int argc, char **argv)
{
    MPI_Init(&argc, &argv);
    int rank;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    if (rank == 0) {
        for (int P = 1; P <= 9; P++)
            for (int N = 1; N <= 7; N++) check_pure(P, N);
        test_shards();
    }
    test_comms();
    test_reduction(CM_SET_SHARED);
    test_reduction(CM_SET_SINGLE);
    test_reduction(CM_SET_GROUPED);
    test_mpi_errors();
    int failures = cm_test_summary();
    int any;
    MPI_Allreduce(&failures, &any, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
    MPI_Finalize();
    return any;
}
