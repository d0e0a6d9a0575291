/* Rules between keys: checked once every file and override has been applied
 * (cm_config_validate), once the model is known (cm_config_check_model) and once the tasks are
 * known (cm_config_grouping_options). Each error names the key and where its value came from. */
#include <stdlib.h>
#include <string.h>

#include "clipmtl/config.h"
#include "clipmtl/log.h"
#include "clipmtl/method_config.h"
#include "config_schema.h"

/* Of two keys, the one the user set (the first if both or neither): the error points there. */
static const char *user_key(const cm_config *c, const char *first, const char *second)
{
    if (strcmp(cm_config_origin(c, first), "default") == 0 && strcmp(cm_config_origin(c, second), "default") != 0)
        return second;
    return first;
}

#define RULE_ERROR(c, key, ...)                                                                   \
    do {                                                                                          \
        const char *key_ = (key);                                                                 \
        char msg_[1024];                                                                          \
        snprintf(msg_, sizeof msg_, __VA_ARGS__);                                                 \
        CM_ERROR(CM_ERR_CONFIG, "%s: %s: %s", cm_config_origin((c), key_), key_, msg_);            \
    } while (0)

static const char *enum_name(const char *key, int value)
{
    const cm_config_key *k = cm_config_find_key(key, NULL);
    if (!k || !k->names || value < 0) return "unknown";
    for (int i = 0; k->names[i]; i++)
        if (i == value) return k->names[i];
    return "unknown";
}

const char *cm_config_method_name(cm_method_kind m) { return enum_name("method.name", (int)m); }
const char *cm_config_data_kind_name(cm_data_kind k) { return enum_name("data.kind", (int)k); }
const char *cm_config_multitask_mode_name(cm_multitask_mode m) { return enum_name("multitask.mode", (int)m); }

const char *cm_config_user_key(const cm_config *c, const char *first, const char *second)
{
    return user_key(c, first, second);
}

static cm_err validate_data(const cm_config *c)
{
    const cm_config_data *d = &c->data;
    if (d->kind != CM_DATA_FASHION_MNIST && !d->root[0])
        RULE_ERROR(c, user_key(c, "data.root", "data.kind"), "data.root is required for kind %s",
                   cm_config_data_kind_name(d->kind));
    if (d->k_shot > 0 && d->train_fraction < 1)
        RULE_ERROR(c, user_key(c, "data.k_shot", "data.train_fraction"),
                   "give k_shot (%d) or train_fraction (%g), not both", d->k_shot, d->train_fraction);
    if (d->pretrain_images.n != 2) RULE_ERROR(c, "data.pretrain_images", "give [first, end), got %d numbers", d->pretrain_images.n);
    if (d->task_images.n != 2) RULE_ERROR(c, "data.task_images", "give [first, end), got %d numbers", d->task_images.n);
    const int64_t *p = d->pretrain_images.items, *t = d->task_images.items;
    if (p[0] < t[1] && t[0] < p[1])
        RULE_ERROR(c, user_key(c, "data.task_images", "data.pretrain_images"),
                   "the task pool [%lld, %lld) overlaps the pretraining pool [%lld, %lld)", (long long)t[0],
                   (long long)t[1], (long long)p[0], (long long)p[1]);
    return CM_OK;
}

/* A template holds the garment phrase exactly once. */
static cm_err validate_templates(const cm_config *c, const char *key, const cm_config_strings *list)
{
    for (int i = 0; i < list->n; i++) {
        const char *at = strstr(list->items[i], "{}");
        if (!at || strstr(at + 2, "{}"))
            RULE_ERROR(c, key, "template \"%s\" must hold {} exactly once", list->items[i]);
    }
    return CM_OK;
}

static cm_err validate_multitask(const cm_config *c)
{
    const cm_config_multitask *t = &c->multitask;
    if (t->mode == CM_MULTITASK_GROUPED && !cm_method_makes_prompts(c->method.name))
        RULE_ERROR(c, user_key(c, "multitask.mode", "method.name"),
                   "grouped mode combines group and task prompts; method %s has none (use coop, vpt, ivlp, "
                   "maple or mmap)", cm_config_method_name(c->method.name));
    if (t->snapshot_steps.n == 0 && t->snapshot_count > t->phase1_steps)
        RULE_ERROR(c, user_key(c, "multitask.snapshot_count", "multitask.phase1_steps"),
                   "%d snapshots do not fit in %lld phase-1 steps", t->snapshot_count, (long long)t->phase1_steps);
    if (t->snapshot_steps.n > 0 && t->snapshot_steps.items[t->snapshot_steps.n - 1] > t->phase1_steps)
        RULE_ERROR(c, user_key(c, "multitask.snapshot_steps", "multitask.phase1_steps"),
                   "step %lld is after the last phase-1 step (phase1_steps = %lld)",
                   (long long)t->snapshot_steps.items[t->snapshot_steps.n - 1], (long long)t->phase1_steps);
    return CM_OK;
}

/* The explicit groups against a known task list: every task exactly once, no other names. */
static cm_err check_groups_cover(const cm_config *c, int ntasks, const char *const *task_names)
{
    const cm_config_groups *g = &c->grouping.groups;
    for (int i = 0; i < g->nnames; i++) {
        int t = 0;
        while (t < ntasks && strcmp(task_names[t], g->names[i]) != 0) t++;
        if (t == ntasks) RULE_ERROR(c, "grouping.groups", "\"%s\" is not one of the tasks (data.domains)", g->names[i]);
    }
    for (int t = 0; t < ntasks; t++) {
        int i = 0;
        while (i < g->nnames && strcmp(task_names[t], g->names[i]) != 0) i++;
        if (i == g->nnames) RULE_ERROR(c, "grouping.groups", "task \"%s\" is in no group", task_names[t]);
    }
    return CM_OK;
}

/* "batch", "all" or a positive integer; -2 when it is none of them. */
static int parse_snapshot_images(const char *text)
{
    if (strcmp(text, "batch") == 0) return CM_SNAPSHOT_BATCH;
    if (strcmp(text, "all") == 0) return 0;
    char *end;
    long n = strtol(text, &end, 10);
    return *end == '\0' && end != text && n >= 1 && n <= 100000000 ? (int)n : -2;
}

int cm_config_snapshot_images(const cm_config *c) { return parse_snapshot_images(c->grouping.snapshot_images); }

static cm_err validate_grouping(const cm_config *c)
{
    const cm_config_grouping *g = &c->grouping;
    const cm_config_strings *domains = &c->data.domains;
    if (parse_snapshot_images(g->snapshot_images) == -2)
        RULE_ERROR(c, "grouping.snapshot_images", "expected batch, all or a number of images >= 1, got \"%s\"",
                   g->snapshot_images);
    if (g->options.rule == CM_GROUPING_SPECTRAL) {
        if (g->options.k < 1) RULE_ERROR(c, user_key(c, "grouping.k", "grouping.rule"), "the spectral rule needs k >= 1 groups");
        if (domains->n > 0 && g->options.k > domains->n)
            RULE_ERROR(c, user_key(c, "grouping.k", "data.domains"), "k = %d groups but only %d tasks in data.domains",
                       g->options.k, domains->n);
    }
    if (g->options.rule == CM_GROUPING_EXPLICIT) {
        if (g->groups.ngroups == 0)
            RULE_ERROR(c, user_key(c, "grouping.groups", "grouping.rule"), "the explicit rule needs the groups listed");
        if (domains->n > 0) {
            const char *names[CM_CONFIG_MAX_LIST];
            for (int i = 0; i < domains->n; i++) names[i] = domains->items[i];
            CM_CHECK(check_groups_cover(c, domains->n, names));
        }
    } else if (g->groups.ngroups > 0) {
        RULE_ERROR(c, "grouping.groups", "groups are only used by rule explicit (grouping.rule is %s)",
                   cm_grouping_rule_name(g->options.rule));
    }
    return CM_OK;
}

static cm_err validate_optim(const cm_config *c)
{
    const cm_config_optim *o = &c->optim;
    if (c->method.name == CM_METHOD_ZEROSHOT) return CM_OK; /* nothing is trained */
    if (o->steps == 0 && o->epochs == 0)
        RULE_ERROR(c, user_key(c, "optim.epochs", "optim.steps"), "no training length: set epochs or steps above 0");
    if (o->steps == 0 && o->warmup_epochs >= o->epochs)
        RULE_ERROR(c, user_key(c, "optim.warmup_epochs", "optim.epochs"),
                   "%d warm-up epochs leave none of the %d epochs to the schedule", o->warmup_epochs, o->epochs);
    return CM_OK;
}

static cm_err validate_pretrain(const cm_config *c)
{
    const cm_config_pretrain *p = &c->pretrain;
    /* save_model_at past the end only warns (cm_pretrainer_run): a shorter schedule set on the
     * command line keeps working with a configuration file that names a model to save. */
    if (p->stop_after > p->steps)
        RULE_ERROR(c, "pretrain.stop_after", "step %lld is past the %lld steps of pretrain.steps",
                   (long long)p->stop_after, (long long)p->steps);
    CM_CHECK(validate_templates(c, "pretrain.templates", &p->templates));
    CM_CHECK(validate_templates(c, "pretrain.dark_templates", &p->dark_templates));
    return CM_OK;
}

cm_err cm_config_validate(const cm_config *c)
{
    CM_CHECK(validate_data(c));
    CM_CHECK(cm_method_check_config(c, NULL)); /* each method's own rules (src/methods) */
    CM_CHECK(validate_multitask(c));
    CM_CHECK(validate_grouping(c));
    CM_CHECK(validate_optim(c));
    CM_CHECK(validate_pretrain(c));
    return CM_OK;
}

cm_err cm_config_check_model(const cm_config *c, const cm_clip_config *model)
{
    if (c->data.image_size != model->image_size)
        RULE_ERROR(c, "data.image_size", "%d but the model takes %dx%d images", c->data.image_size,
                   model->image_size, model->image_size);
    CM_CHECK(cm_method_check_config(c, model));
    return CM_OK;
}

cm_err cm_config_grouping_options(const cm_config *c, int ntasks, const char *const *task_names,
                                  cm_grouping_options *options, int *sizes, int *members)
{
    *options = c->grouping.options;
    options->explicit_ngroups = 0;
    options->explicit_sizes = NULL;
    options->explicit_members = NULL;
    if (options->rule == CM_GROUPING_SPECTRAL && options->k > ntasks)
        RULE_ERROR(c, "grouping.k", "k = %d groups but the run has %d tasks", options->k, ntasks);
    if (options->rule != CM_GROUPING_EXPLICIT) return CM_OK;
    const cm_config_groups *g = &c->grouping.groups;
    if (g->ngroups > ntasks)
        RULE_ERROR(c, "grouping.groups", "%d groups for %d tasks", g->ngroups, ntasks);
    CM_CHECK(check_groups_cover(c, ntasks, task_names));
    for (int i = 0; i < g->nnames; i++) {
        int t = 0;
        while (strcmp(task_names[t], g->names[i]) != 0) t++;
        members[i] = t;
    }
    for (int k = 0; k < g->ngroups; k++) sizes[k] = g->size[k];
    options->explicit_ngroups = g->ngroups;
    options->explicit_sizes = sizes;
    options->explicit_members = members;
    return CM_OK;
}

/* ---- keys that were set but have no effect ---- */

static int grouped(const cm_config *c) { return c->multitask.mode == CM_MULTITASK_GROUPED; }
static int rule_is(const cm_config *c, cm_grouping_rule r) { return c->grouping.options.rule == r; }
/* The partition rule falls back to the threshold rule above CM_GROUPING_EXHAUSTIVE_MAX_TASKS
 * tasks; an empty data.domains means every domain, whose number is not known yet. */
static int uses_tau(const cm_config *c)
{
    return rule_is(c, CM_GROUPING_THRESHOLD) ||
           (rule_is(c, CM_GROUPING_PARTITION) &&
            (c->data.domains.n == 0 || c->data.domains.n > CM_GROUPING_EXHAUSTIVE_MAX_TASKS));
}
static int uses_k(const cm_config *c) { return rule_is(c, CM_GROUPING_SPECTRAL); }
static int uses_partition(const cm_config *c) { return rule_is(c, CM_GROUPING_PARTITION); }
static int uses_group_size(const cm_config *c) { return uses_partition(c) || uses_tau(c); }
static int uses_similarity(const cm_config *c) { return !rule_is(c, CM_GROUPING_EXPLICIT); }
static int runs_phase1(const cm_config *c)
{
    return grouped(c) && !rule_is(c, CM_GROUPING_EXPLICIT) && !(c->grouping.similarity_file && c->grouping.similarity_file[0]);
}
static int counts_snapshots(const cm_config *c) { return c->multitask.snapshot_steps.n == 0; }
static int has_text_tokens(const cm_config *c)
{
    cm_method_kind m = c->method.name;
    return m == CM_METHOD_COOP || m == CM_METHOD_IVLP || m == CM_METHOD_MAPLE;
}
static int has_visual_tokens(const cm_config *c)
{
    cm_method_kind m = c->method.name;
    return m == CM_METHOD_VPT || m == CM_METHOD_IVLP || m == CM_METHOD_MAPLE;
}
static int prompted(const cm_config *c) { return cm_method_makes_prompts(c->method.name); }
static int is_mmap(const cm_config *c) { return c->method.name == CM_METHOD_MMAP; }
static int is_adapter(const cm_config *c) { return c->method.name == CM_METHOD_ADAPTER; }
static int trains(const cm_config *c) { return c->method.name != CM_METHOD_ZEROSHOT; }
static int is_sgd(const cm_config *c) { return c->optim.name == CM_OPTIM_SGD; }
static int is_adamw(const cm_config *c) { return c->optim.name == CM_OPTIM_ADAMW; }
static int warms_up(const cm_config *c) { return c->optim.warmup_epochs > 0; }
static int counts_epochs(const cm_config *c) { return c->optim.steps == 0; }
static int random_model(const cm_config *c) { return !(c->model.weights && c->model.weights[0]); }
static int holds_out(const cm_config *c)
{
    return c->data.kind == CM_DATA_FOLDER || c->data.kind == CM_DATA_OFFICE_HOME;
}
static int samples_fraction(const cm_config *c) { return c->data.k_shot == 0; }

/* "Key X only matters when Y". A key ending in '.' stands for every key below it; the first row
 * that matches and does not hold gives the warning, so general rows come first. */
static const struct {
    const char *key;
    int (*holds)(const cm_config *);
    const char *when;
} key_conditions[] = {
    {"grouping.", grouped, "multitask.mode is grouped"},
    {"grouping.tau", uses_tau, "grouping.rule is threshold (or partition with more than 12 tasks)"},
    {"grouping.k", uses_k, "grouping.rule is spectral"},
    {"grouping.max_groups", uses_partition, "grouping.rule is partition"},
    {"grouping.singleton_score", uses_partition, "grouping.rule is partition"},
    {"grouping.max_group_size", uses_group_size, "grouping.rule is partition or threshold"},
    {"grouping.similarity_file", uses_similarity, "grouping.rule is not explicit"},
    {"multitask.phase1_steps", runs_phase1, "phase 1 runs (mode grouped, rule not explicit, no similarity_file)"},
    {"multitask.snapshot_count", runs_phase1, "phase 1 runs (mode grouped, rule not explicit, no similarity_file)"},
    {"multitask.snapshot_steps", runs_phase1, "phase 1 runs (mode grouped, rule not explicit, no similarity_file)"},
    {"multitask.snapshot_count", counts_snapshots, "multitask.snapshot_steps is empty"},
    {"multitask.combine", grouped, "multitask.mode is grouped"},
    {"method.n_ctx_text", has_text_tokens, "method.name is coop, ivlp or maple (mmap uses method.mmap.b)"},
    {"method.n_ctx_visual", has_visual_tokens, "method.name is vpt, ivlp or maple (mmap uses method.mmap.b)"},
    {"method.depth", prompted, "method.name is a prompt method (coop, vpt, ivlp, maple, mmap)"},
    {"method.ctx_init", prompted, "method.name is a prompt method (coop, vpt, ivlp, maple, mmap)"},
    {"method.init_std", prompted, "method.name is a prompt method (coop, vpt, ivlp, maple, mmap)"},
    {"method.mmap.", is_mmap, "method.name is mmap"},
    {"method.adapter.", is_adapter, "method.name is adapter"},
    {"optim.", trains, "method.name trains something (not zeroshot)"},
    {"optim.momentum", is_sgd, "optim.name is sgd"},
    {"optim.beta1", is_adamw, "optim.name is adamw"},
    {"optim.beta2", is_adamw, "optim.name is adamw"},
    {"optim.eps", is_adamw, "optim.name is adamw"},
    {"optim.epochs", counts_epochs, "optim.steps is 0"},
    {"optim.warmup", warms_up, "optim.warmup_epochs > 0"},
    {"optim.warmup_lr", warms_up, "optim.warmup_epochs > 0"},
    {"model.preset", random_model, "model.weights is empty"},
    {"model.init_seed", random_model, "model.weights is empty"},
    {"data.test_fraction", holds_out, "data.kind is folder or office_home (the others have official splits)"},
    {"data.train_fraction", samples_fraction, "data.k_shot is 0"},
};

static int key_matches(const char *pattern, const char *key)
{
    size_t n = strlen(pattern);
    return pattern[n - 1] == '.' ? strncmp(pattern, key, n) == 0 : strcmp(pattern, key) == 0;
}

int cm_config_warn_ineffective(const cm_config *c)
{
    /* A key written with its default value changes nothing either way (e.g. a whole dump of
     * `clipmtl config` used as a file): only values that differ from the default are named. */
    cm_config defaults;
    if (cm_config_defaults(&defaults) != CM_OK) {
        cm_error_clear();
        return 0;
    }
    int warnings = 0;
    for (int i = 0; i < cm_config_nkeys(); i++) {
        char key[256];
        const cm_config_key *k = cm_config_key_at(i, key, sizeof key);
        const char *origin = cm_config_origin(c, key);
        if (strcmp(origin, "default") == 0 ||
            cm_config_value_equal(k, cm_config_field(c, k), cm_config_field(&defaults, k)))
            continue;
        for (size_t r = 0; r < sizeof key_conditions / sizeof key_conditions[0]; r++)
            if (key_matches(key_conditions[r].key, key) && !key_conditions[r].holds(c)) {
                cm_log_warn_rank0("%s: %s is set but has no effect: it only matters when %s", origin, key,
                                  key_conditions[r].when);
                warnings++;
                break;
            }
    }
    cm_config_free(&defaults);
    return warnings;
}
