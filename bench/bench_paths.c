#define _GNU_SOURCE /* sched_setaffinity */
#include "bench_paths.h"

#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

double bench_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + 1e-9 * ts.tv_nsec;
}

double bench_torch_seconds(const char *args, int threads, int best_env)
{
    char cmd[4096], line[256], unset[2048] = "";
    extern char **environ;
    if (best_env)
        for (char **e = environ; *e; e++)
            if (!strncmp(*e, "OPENBLAS_", 9)) {
                size_t len = strcspn(*e, "="), at = strlen(unset);
                if (at + len + 5 < sizeof unset) snprintf(unset + at, sizeof unset - at, "-u %.*s ", (int)len, *e);
            }
    snprintf(cmd, sizeof cmd, "env %s/usr/bin/python3 %s/bench/%s --threads %d", unset, CM_SRCDIR, args, threads);
    /* A rank that mpirun bound to one core would pass that binding on: PyTorch gets every core,
     * as when it runs on its own. */
    cpu_set_t all;
    CPU_ZERO(&all);
    for (long c = 0; c < sysconf(_SC_NPROCESSORS_ONLN) && c < CPU_SETSIZE; c++) CPU_SET(c, &all);
    sched_setaffinity(0, sizeof all, &all);
    printf("pytorch %s: %s\n", best_env ? "at its best" : "as is", cmd);
    fflush(stdout);
    double best = 0;
    FILE *p = popen(cmd, "r");
    while (p && fgets(line, sizeof line, p)) {
        double v;
        if (sscanf(line, "step_seconds %lf", &v) == 1) {
            printf("  pytorch step: %.3f s (load %.2f)\n", v, bench_load_average());
            if (best == 0 || v < best) best = v;
        } else if (sscanf(line, "maxrss_mib %lf", &v) == 1) {
            printf("  pytorch peak memory: %.0f MiB\n", v);
        }
    }
    if (!p || pclose(p) != 0) best = 0;
    return best;
}

double bench_load_average(void)
{
    double l = -1;
    FILE *f = fopen("/proc/loadavg", "r");
    if (f) {
        if (fscanf(f, "%lf", &l) != 1) l = -1;
        fclose(f);
    }
    return l;
}

int bench_configs(bench_config *out, int max, const char *only)
{
    const cm_gemm_path paths[] = {CM_GEMM_OPENBLAS, CM_GEMM_ONEDNN};
    int n = 0;
    for (int p = 0; p < 2; p++)
        for (int q = CM_PRECISION_FP32; q <= CM_PRECISION_BF16 && n < max; q++) {
            if (!cm_gemm_available(paths[p], (cm_precision)q)) continue;
            bench_config c = {paths[p], (cm_precision)q, ""};
            snprintf(c.name, sizeof c.name, "%s/%s", cm_gemm_path_name(c.path), cm_precision_name(c.precision));
            if (only) {
                const char *hit = strstr(only, c.name);
                size_t len = strlen(c.name);
                if (!hit || (hit != only && hit[-1] != ',') || (hit[len] && hit[len] != ',')) continue;
            }
            out[n++] = c;
        }
    return n;
}

static int write_all(int fd, const void *buf, size_t n)
{
    for (const char *p = buf; n > 0;) {
        ssize_t w = write(fd, p, n);
        if (w <= 0) return 0;
        p += w, n -= (size_t)w;
    }
    return 1;
}

static int read_all(int fd, void *buf, size_t n)
{
    for (char *p = buf; n > 0;) {
        ssize_t r = read(fd, p, n);
        if (r <= 0) return 0;
        p += r, n -= (size_t)r;
    }
    return 1;
}

int bench_run_isolated(const bench_config *cfg, bench_fn fn, void *ctx, bench_result *r, float *extra,
                       size_t nextra)
{
    int fds[2];
    *r = (bench_result){0};
    if (pipe(fds) != 0) return 0;
    fflush(stdout);
    pid_t pid = fork();
    if (pid < 0) return 0;
    if (pid == 0) {
        close(fds[0]);
        bench_result mine = {0};
        cm_err err = cm_gemm_select(cfg->path, cfg->precision);
        if (err) cm_error_print(stderr);
        mine.ok = !err && fn(ctx, cfg, &mine, extra, nextra);
        struct rusage ru;
        getrusage(RUSAGE_SELF, &ru);
        mine.rss_mib = ru.ru_maxrss / 1024.0;
        mine.load = bench_load_average();
        fflush(stdout);
        int sent = write_all(fds[1], &mine, sizeof mine) && (!mine.ok || write_all(fds[1], extra, nextra * sizeof *extra));
        _exit(sent ? 0 : 1);
    }
    close(fds[1]);
    int got = read_all(fds[0], r, sizeof *r) && (!r->ok || read_all(fds[0], extra, nextra * sizeof *extra));
    close(fds[0]);
    int status;
    waitpid(pid, &status, 0);
    return got && r->ok && WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

double bench_ceiling(int m, int n, int k, int reps)
{
    float *a = malloc((size_t)m * k * sizeof *a), *b = malloc((size_t)n * k * sizeof *b);
    float *c = calloc((size_t)m * n, sizeof *c);
    double best = 0;
    if (a && b && c) {
        for (size_t i = 0; i < (size_t)m * k; i++) a[i] = (float)(i % 13) * 0.01f;
        for (size_t i = 0; i < (size_t)n * k; i++) b[i] = (float)(i % 7) * 0.01f;
        if (cm_gemm_freeze(b, (size_t)n * k) == CM_OK) {
            for (int r = 0; r < reps; r++) {
                double t0 = bench_now();
                cm_gemm(0, 1, m, n, k, 1.0f, a, k, b, k, 0.0f, c, n);
                double g = 2.0 * m * n * k / (bench_now() - t0) * 1e-9;
                if (g > best) best = g;
            }
            cm_gemm_unfreeze(b);
        } else {
            cm_error_clear();
        }
    }
    free(a), free(b), free(c);
    return best;
}
