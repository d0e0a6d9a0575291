/* The run configuration: defaults validate, good files load with the values written, every class
 * of bad input gives the exact message (FILE:LINE:COLUMN, 1-based, and the key path), --set
 * overrides (good and bad), rules that need the model or the task list, and dump -> read round
 * trips on random configurations touching every key. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "clipmtl/clip_weights.h"
#include "clipmtl/config.h"
#include "clipmtl/rng.h"
#include "config_schema.h"
#include "test_util.h"

/* Every file below states the required keys; the cases add to it. */
#define REQUIRED "run:\n  name: t\ndata:\n  kind: fashion_mnist\nmethod:\n  name: mmap\n"
/* The same keys with data last, for cases that add data keys at line 7. */
#define REQUIRED_DATA "run:\n  name: t\nmethod:\n  name: mmap\ndata:\n  kind: fashion_mnist\n"

/* Loads text (read + validate) named exp.yaml and expects exactly `want` as the message. */
static void expect_error(const char *text, const char *want)
{
    cm_config c;
    CM_TEST_OK(cm_config_defaults(&c));
    cm_err err = cm_config_load_string(&c, text, "exp.yaml");
    CM_TEST(err == CM_ERR_CONFIG, "expected a configuration error for\n%s\ngot %s", text, cm_error_name(err));
    CM_TEST(strcmp(cm_error_message(), want) == 0, "message\n  got:  %s\n  want: %s", cm_error_message(), want);
    cm_error_clear();
    cm_config_free(&c);
}

/* Applies the overrides in order after the defaults, then validates; expects `want`. */
static void expect_set_error(const char *const *sets, int nsets, const char *want)
{
    cm_config c;
    CM_TEST_OK(cm_config_defaults(&c));
    cm_err err = CM_OK;
    for (int i = 0; i < nsets && err == CM_OK; i++) err = cm_config_set(&c, sets[i]);
    if (err == CM_OK) err = cm_config_validate(&c);
    CM_TEST(err == CM_ERR_CONFIG, "expected a configuration error for --set %s", sets[nsets - 1]);
    CM_TEST(strcmp(cm_error_message(), want) == 0, "message\n  got:  %s\n  want: %s", cm_error_message(), want);
    cm_error_clear();
    cm_config_free(&c);
}

static void test_defaults(void)
{
    CM_TEST(cm_config_nkeys() <= CM_CONFIG_MAX_KEYS, "%d keys > CM_CONFIG_MAX_KEYS", cm_config_nkeys());
    cm_config c;
    CM_TEST_OK(cm_config_defaults(&c));
    CM_TEST_OK(cm_config_validate(&c));
    /* spec 2.7 / 3.4 defaults */
    CM_TEST(c.optim.name == CM_OPTIM_SGD && c.optim.lr == 0.0035 && c.optim.momentum == 0.9 &&
                c.optim.weight_decay == 5e-4 && c.optim.warmup_epochs == 1 && c.optim.warmup == CM_WARMUP_CONSTANT &&
                c.optim.warmup_lr == 1e-5 && c.optim.schedule == CM_SCHEDULE_COSINE,
            "optimizer defaults are not MaPLe's");
    CM_TEST(c.method.name == CM_METHOD_MMAP && c.method.mmap.b == 4 && c.method.mmap.m == 4 && c.method.mmap.n == 256 &&
                c.method.depth == 9 && !c.method.mmap.shared_source && c.method.mmap.scaling_init == CM_MMAP_SCALING_ONES &&
                c.method.init_std == 0.02,
            "MmAP defaults differ from spec 3.4");
    CM_TEST(c.grouping.options.rule == CM_GROUPING_PARTITION && c.grouping.options.singleton_score == -1e6,
            "grouping defaults differ from spec 4.3");
    CM_TEST(strcmp(cm_config_origin(&c, "optim.lr"), "default") == 0, "origin of a default: %s",
            cm_config_origin(&c, "optim.lr"));
    CM_TEST(cm_config_origin(&c, "optim.nothing") == NULL, "origin of an unknown key");

    /* The grouping rule names are those of grouping.h, in its enum order. */
    const cm_config_key *rule = cm_config_find_key("grouping.rule", NULL);
    for (int i = 0; rule && rule->names[i]; i++) {
        cm_grouping_rule r;
        CM_TEST_OK(cm_grouping_rule_parse(rule->names[i], &r));
        CM_TEST((int)r == i, "grouping rule %s is %d in grouping.h, %d in the schema", rule->names[i], (int)r, i);
    }
    /* Root keys and sections agree. */
    CM_TEST(cm_config_root.nkeys == cm_config_nsections, "root has %d keys for %d sections", cm_config_root.nkeys,
            cm_config_nsections);
    for (int s = 0; s < cm_config_root.nkeys && s < cm_config_nsections; s++)
        CM_TEST(strcmp(cm_config_root.keys[s].name, cm_config_sections[s].name) == 0 &&
                    cm_config_root.keys[s].section == &cm_config_sections[s],
                "root key %d is %s, section %s", s, cm_config_root.keys[s].name, cm_config_sections[s].name);
    /* Numbering and lookup are inverse. */
    for (int i = 0; i < cm_config_nkeys(); i++) {
        char path[256];
        int back = -1;
        const cm_config_key *k = cm_config_key_at(i, path, sizeof path);
        CM_TEST(k && cm_config_find_key(path, &back) == k && back == i, "key %d (%s) does not look up to itself", i, path);
    }
    cm_config_free(&c);
}

static void test_good_files(void)
{
    cm_config c;
    char path[4096];
    snprintf(path, sizeof path, "%s/experiments/demo.yaml", CM_SRCDIR);
    CM_TEST_OK(cm_config_defaults(&c));
    CM_TEST_OK(cm_config_load(&c, path));
    CM_TEST(strcmp(c.model.weights, "runs/pretrain-fmnist-small/model-step1000.safetensors") == 0 && c.method.depth == 4 && c.method.mmap.n == 64 &&
                c.data.image_size == 28 && c.optim.steps == 100,
            "demo.yaml values");
    cm_clip_config small;
    CM_TEST_OK(cm_clip_preset("fmnist-small", &small));
    CM_TEST_OK(cm_config_check_model(&c, &small));
    cm_config_free(&c);

    snprintf(path, sizeof path, "%s/experiments/office_home.yaml", CM_SRCDIR);
    CM_TEST_OK(cm_config_defaults(&c));
    CM_TEST_OK(cm_config_load(&c, path));
    CM_TEST(c.data.kind == CM_DATA_OFFICE_HOME && c.data.domains.n == 4 &&
                strcmp(c.data.domains.items[3], "Real World") == 0 && c.method.mmap.b == 8 && c.method.depth == 12,
            "office_home.yaml values");
    cm_clip_config vitb16 = {.embed_dim = 512, .vision = {768, 12, 12, 3072}, .text = {512, 12, 8, 2048},
                             .patch_size = 16, .image_size = 224, .grid = 14, .context_length = 77, .vocab_size = 49408};
    CM_TEST_OK(cm_config_check_model(&c, &vitb16));
    char origin[4200];
    snprintf(origin, sizeof origin, "%s:31:8", path);
    CM_TEST(strcmp(cm_config_origin(&c, "method.mmap.b"), origin) == 0, "origin %s, want %s",
            cm_config_origin(&c, "method.mmap.b"), origin);
    cm_config_free(&c);

    /* Every type, block and flow style, comments, an empty section, quoted strings. */
    const char *text =
        REQUIRED
        "model: {weights: \"w.safetensors\", init_seed: 7}\n"
        "train:\n"
        "multitask:\n"
        "  snapshot_steps:\n"
        "    - 10\n"
        "    - 25\n"
        "  phase1_steps: 25   # comment\n"
        "grouping:\n"
        "  rule: explicit\n"
        "  groups: [[Art, \"Real World\"], [Clipart]]\n"
        "method:\n"
        "  mmap: {shared_source: TRUE, b: 8}\n"
        "  ctx_init: 'a photo of a'\n";
    CM_TEST_OK(cm_config_defaults(&c));
    cm_err err = cm_config_load_string(&c, text, "exp.yaml");
    CM_TEST(err == CM_ERR_CONFIG && strstr(cm_error_message(), "method: duplicate key"),
            "a repeated section is a duplicate key: %s", cm_error_message());
    cm_error_clear();
    cm_config_free(&c);
    const char *text2 =
        REQUIRED
        "model: {weights: \"w.safetensors\", init_seed: 7}\n"
        "train:\n"
        "multitask:\n"
        "  snapshot_steps:\n"
        "    - 10\n"
        "    - 25\n"
        "  phase1_steps: 25   # comment\n"
        "grouping:\n"
        "  rule: explicit\n"
        "  groups: [[Art, \"Real World\"], [Clipart]]\n";
    CM_TEST_OK(cm_config_defaults(&c));
    CM_TEST_OK(cm_config_load_string(&c, REQUIRED "compute: {precision: bf16, gemm: onednn}\n", "exp.yaml"));
    CM_TEST(c.compute.precision == CM_PRECISION_BF16 && c.compute.gemm == CM_GEMM_ONEDNN, "compute values");
    cm_config_free(&c);
    CM_TEST_OK(cm_config_defaults(&c));
    CM_TEST_OK(cm_config_load_string(&c, text2, "exp.yaml"));
    CM_TEST(strcmp(c.model.weights, "w.safetensors") == 0 && c.model.init_seed == 7, "model values");
    CM_TEST(c.compute.precision == CM_PRECISION_FP32 && c.compute.gemm == CM_GEMM_AUTO, "compute defaults");
    CM_TEST(c.multitask.snapshot_steps.n == 2 && c.multitask.snapshot_steps.items[1] == 25, "snapshot steps");
    CM_TEST(c.grouping.groups.ngroups == 2 && c.grouping.groups.size[0] == 2 && c.grouping.groups.size[1] == 1 &&
                strcmp(c.grouping.groups.names[1], "Real World") == 0 && strcmp(c.grouping.groups.names[2], "Clipart") == 0,
            "explicit groups");
    CM_TEST(strcmp(cm_config_origin(&c, "multitask.snapshot_steps"), "exp.yaml:11:5") == 0, "origin of a block list: %s",
            cm_config_origin(&c, "multitask.snapshot_steps"));

    /* Explicit groups resolved against the tasks of a run. */
    const char *tasks[] = {"Clipart", "Art", "Real World"};
    cm_grouping_options options;
    int sizes[3], members[3];
    CM_TEST_OK(cm_config_grouping_options(&c, 3, tasks, &options, sizes, members));
    CM_TEST(options.rule == CM_GROUPING_EXPLICIT && options.explicit_ngroups == 2 && sizes[0] == 2 && sizes[1] == 1 &&
                members[0] == 1 && members[1] == 2 && members[2] == 0,
            "explicit groups resolved to task indices");
    const char *other[] = {"Art", "Real World", "Clipart", "Product"};
    err = cm_config_grouping_options(&c, 4, other, &options, sizes, members);
    CM_TEST(err == CM_ERR_CONFIG && strcmp(cm_error_message(), "exp.yaml:16:11: grouping.groups: task \"Product\" is in no group") == 0,
            "task missing from the groups: %s", cm_error_message());
    cm_error_clear();
    cm_config_free(&c);

    /* An empty file and one with only comments: only the required keys are missing. */
    expect_error("", "exp.yaml:1:1: run.name: required key is missing");
    expect_error("# nothing\n", "exp.yaml:1:1: run.name: required key is missing");
}

static void test_bad_input(void)
{
    /* unknown keys */
    expect_error(REQUIRED "optim:\n  learning_rate: 0.1\n",
                 "exp.yaml:8:3: optim.learning_rate: unknown key; optim has name, lr, momentum, weight_decay, beta1, "
                 "beta2, eps, schedule, warmup_epochs, warmup, warmup_lr, clip_grad_norm, batch_size, epochs, steps");
    expect_error(REQUIRED "optimizer:\n  lr: 0.1\n",
                 "exp.yaml:7:1: optimizer: unknown key; the top level has run, model, data, method, multitask, grouping, "
                 "optim, train, compute, pretrain");
    expect_error(REQUIRED "train:\n  precision: fp32\n",
                 "exp.yaml:8:3: train.precision: unknown key; train has eval_every, eval_batch_size, test_images, test_skip, "
                 "zeroshot_baseline");
    expect_error(REQUIRED "compute:\n  gemm: mkl\n",
                 "exp.yaml:8:9: compute.gemm: expected one of auto, openblas, onednn, got \"mkl\"");
    expect_error(REQUIRED "  mmap:\n    c: 3\n",
                 "exp.yaml:8:5: method.mmap.c: unknown key; method.mmap has b, m, n, shared_source, scaling_init");
    /* wrong types */
    expect_error(REQUIRED "optim:\n  lr: fast\n", "exp.yaml:8:7: optim.lr: expected a number, got \"fast\"");
    expect_error(REQUIRED "optim:\n  lr: \"0.01\"\n",
                 "exp.yaml:8:7: optim.lr: expected a number, got \"0.01\" (quoted, so a string)");
    expect_error(REQUIRED "optim:\n  batch_size: 1.5\n", "exp.yaml:8:15: optim.batch_size: expected an integer, got 1.5");
    expect_error(REQUIRED "optim:\n  batch_size: [4]\n", "exp.yaml:8:15: optim.batch_size: expected an integer, got a list");
    expect_error(REQUIRED "optim:\n  epochs:\n", "exp.yaml:8:10: optim.epochs: expected an integer, got null");
    expect_error(REQUIRED "run:\n", "exp.yaml:7:1: run: duplicate key (first given at line 1, column 1)");
    expect_error("run: 5\n", "exp.yaml:1:6: run: expected a mapping of keys (name, seed, out_dir, log_every, "
                             "checkpoint_every, keep_checkpoints, stall_timeout), got \"5\"");
    expect_error("- run\n", "exp.yaml:1:1: (top level): expected a mapping of keys (run, model, data, method, multitask, "
                            "grouping, optim, train, compute, pretrain), got a list");
    expect_error(REQUIRED "  mmap:\n    shared_source: yes\n",
                 "exp.yaml:8:20: method.mmap.shared_source: expected true or false, got \"yes\"");
    expect_error(REQUIRED_DATA "  domains: Art\n",
                 "exp.yaml:7:12: data.domains: expected a list of strings, e.g. [a, b], got \"Art\"");
    expect_error(REQUIRED_DATA "  domains: [Art, {a: 1}]\n",
                 "exp.yaml:7:18: data.domains[1]: expected a string, got a mapping");
    expect_error(REQUIRED "model:\n  weights:\n",
                 "exp.yaml:8:11: model.weights: expected a string, got null (write \"\" for an empty one)");
    expect_error(REQUIRED "multitask:\n  snapshot_steps: [1, x]\n",
                 "exp.yaml:8:23: multitask.snapshot_steps[1]: expected an integer, got \"x\"");
    expect_error(REQUIRED "grouping:\n  rule: explicit\n  groups: [a, b]\n",
                 "exp.yaml:9:12: grouping.groups[0]: expected a group as a list of names, e.g. [a, b], got \"a\"");
    expect_error(REQUIRED "[a]: 1\n", "exp.yaml:7:1: (top level): keys must be plain names, got a list");
    /* out of range */
    expect_error(REQUIRED "optim:\n  lr: 0\n", "exp.yaml:8:7: optim.lr: 0 is out of range (0, 10]");
    expect_error(REQUIRED "optim:\n  lr: 1e3\n", "exp.yaml:8:7: optim.lr: 1e3 is out of range (0, 10]");
    expect_error(REQUIRED "optim:\n  momentum: 1\n", "exp.yaml:8:13: optim.momentum: 1 is out of range [0, 1)");
    expect_error("run:\n  name: t\n  seed: -1\n", "exp.yaml:3:9: run.seed: -1 is out of range [0, 1e+15]");
    expect_error("run:\n  name: t\n  log_every: 99999999999999999999\n",
                 "exp.yaml:3:14: run.log_every: 99999999999999999999 is out of range [1, 1000000000]");
    expect_error(REQUIRED "  depth: 65\n", "exp.yaml:7:10: method.depth: 65 is out of range [1, 64]");
    expect_error(REQUIRED_DATA "  train_fraction: 0\n",
                 "exp.yaml:7:19: data.train_fraction: 0 is out of range (0, 1]");
    expect_error(REQUIRED "optim:\n  lr: .inf\n", "exp.yaml:8:7: optim.lr: expected a number, got \".inf\"");
    expect_error(REQUIRED "optim:\n  lr: 0x10\n", "exp.yaml:8:7: optim.lr: expected a number, got \"0x10\"");
    expect_error(REQUIRED "multitask:\n  snapshot_steps: [10, 10]\n",
                 "exp.yaml:8:24: multitask.snapshot_steps[1]: 10 is not larger than the item before it (10)");
    expect_error(REQUIRED "multitask:\n  snapshot_steps: [0]\n",
                 "exp.yaml:8:20: multitask.snapshot_steps[0]: 0 is out of range [1, 1e+15]");
    /* strings */
    expect_error("run:\n  name: \"a/b\"\n",
                 "exp.yaml:2:9: run.name: \"a/b\" may only hold letters, digits, '.', '_' and '-'");
    expect_error("run:\n  name: \"\"\n", "exp.yaml:2:9: run.name: may not be empty");
    expect_error(REQUIRED_DATA "  domains: [Art, Clipart, Art]\n",
                 "exp.yaml:7:27: data.domains[2]: \"Art\" is already item 0");
    expect_error(REQUIRED "grouping:\n  rule: explicit\n  groups: [[a, b], [c, b]]\n",
                 "exp.yaml:9:24: grouping.groups[1][1]: \"b\" is already in group 0");
    expect_error(REQUIRED "grouping:\n  rule: explicit\n  groups: [[a, b], []]\n",
                 "exp.yaml:9:20: grouping.groups[1]: a group may not be empty");
    /* bad enum */
    expect_error("run:\n  name: t\ndata:\n  kind: imagenet\n",
                 "exp.yaml:4:9: data.kind: expected one of folder, office_home, domainnet, minidomainnet, fashion_mnist, "
                 "got \"imagenet\"");
    expect_error(REQUIRED "optim:\n  name: [sgd]\n",
                 "exp.yaml:8:9: optim.name: expected one of sgd, adamw, got a list");
    /* duplicate keys */
    expect_error(REQUIRED "optim:\n  lr: 0.1\n  momentum: 0.5\n  lr: 0.2\n",
                 "exp.yaml:10:3: optim.lr: duplicate key (first given at line 8, column 3)");
    expect_error(REQUIRED "  mmap: {b: 2, b: 2}\n", "exp.yaml:7:16: method.mmap.b: duplicate key (first given at line 7, column 10)");
    /* syntax errors: where libyaml noticed, and the context it was in */
    expect_error(REQUIRED "optim:\n  lr: [0.1\n  name: sgd\n",
                 "exp.yaml:9:7: YAML syntax error: did not find expected ',' or ']' (while parsing a flow sequence, "
                 "which starts at line 8, column 7)");
    expect_error(REQUIRED "optim:\n  lr: 0.1\n   name: sgd\n",
                 "exp.yaml:9:8: YAML syntax error: mapping values are not allowed in this context");
    expect_error(REQUIRED "optim:\n\tlr: 0.1\n",
                 "exp.yaml:8:1: YAML syntax error: found character that cannot start any token (while scanning for the "
                 "next token, which starts at line 8, column 1)");
    expect_error(REQUIRED "optim: &a\n  lr: 0.1\n", "exp.yaml:7:8: YAML anchors (&a) are not supported in a configuration");
    expect_error(REQUIRED "train: *a\n", "exp.yaml:7:8: YAML aliases (*a) are not supported in a configuration");
    expect_error(REQUIRED "optim:\n  lr: !!float 1\n", "exp.yaml:8:7: YAML tags (tag:yaml.org,2002:float) are not supported in a configuration");
    expect_error(REQUIRED "---\nrun: {name: u}\n", "exp.yaml:7:1: a configuration is one YAML document; a second one starts here");
    expect_error(REQUIRED "model:\n  weights: \"a\\x00b\"\n", "exp.yaml:8:12: a value contains a NUL character");
    expect_error("run:\n  name: \xff\n", "exp.yaml:2:9: invalid text: invalid leading UTF-8 octet (byte 0xFF)");
    /* missing required keys: at the mapping that should hold them */
    expect_error("data:\n  kind: folder\n  root: /d\nmethod:\n  name: vpt\n",
                 "exp.yaml:1:1: run.name: required key is missing");
    expect_error("run:\n  seed: 3\n  out_dir: o\n", "exp.yaml:2:3: run.name: required key is missing");
    expect_error("run:\n  name: t\nmethod:\n  name: mmap\n", "exp.yaml:1:1: data.kind: required key is missing");
    expect_error("run:\n  name: t\ndata:\n", "exp.yaml:3:1: data.kind: required key is missing");
    /* cross-field rules: at the key the user wrote */
    expect_error(REQUIRED "  mmap:\n    b: 6\n",
                 "exp.yaml:8:8: method.mmap.b: b = 6 is not a multiple of m = 4 (the scaling matrices have b/m rows)");
    expect_error(REQUIRED "  mmap:\n    m: 3\n",
                 "exp.yaml:8:8: method.mmap.m: b = 4 is not a multiple of m = 3 (the scaling matrices have b/m rows)");
    expect_error(REQUIRED "grouping:\n  rule: spectral\n",
                 "exp.yaml:8:9: grouping.rule: the spectral rule needs k >= 1 groups");
    expect_error(REQUIRED_DATA "  domains: [a, b]\ngrouping:\n  rule: spectral\n  k: 3\n",
                 "exp.yaml:10:6: grouping.k: k = 3 groups but only 2 tasks in data.domains");
    expect_error(REQUIRED "grouping:\n  rule: explicit\n",
                 "exp.yaml:8:9: grouping.rule: the explicit rule needs the groups listed");
    expect_error(REQUIRED "grouping:\n  groups: [[a]]\n",
                 "exp.yaml:8:11: grouping.groups: groups are only used by rule explicit (grouping.rule is partition)");
    expect_error(REQUIRED_DATA "  domains: [a, b, c]\ngrouping:\n  rule: explicit\n  groups: [[a, b], [d]]\n",
                 "exp.yaml:10:11: grouping.groups: \"d\" is not one of the tasks (data.domains)");
    expect_error(REQUIRED_DATA "  domains: [a, b, c]\ngrouping:\n  rule: explicit\n  groups: [[a, b]]\n",
                 "exp.yaml:10:11: grouping.groups: task \"c\" is in no group");
    expect_error("run:\n  name: t\ndata:\n  kind: office_home\nmethod:\n  name: mmap\n",
                 "exp.yaml:4:9: data.kind: data.root is required for kind office_home");
    expect_error(REQUIRED "  name: maple\n",
                 "exp.yaml:7:3: method.name: duplicate key (first given at line 6, column 3)");
    expect_error("run:\n  name: t\ndata:\n  kind: fashion_mnist\nmethod:\n  name: maple\n  n_ctx_visual: 3\n",
                 "exp.yaml:7:17: method.n_ctx_visual: maple projects each text token to a visual one, so n_ctx_visual "
                 "(3) must equal n_ctx_text (2)");
    expect_error("run:\n  name: t\ndata:\n  kind: fashion_mnist\nmethod:\n  name: coop\n",
                 "default: method.depth: coop prompts layer 0 only; set depth to 1 (got 9)");
    expect_error("run:\n  name: t\ndata:\n  kind: fashion_mnist\nmethod:\n  name: full\n",
                 "exp.yaml:6:9: method.name: grouped mode combines group and task prompts; method full has none (use "
                 "coop, vpt, ivlp, maple or mmap)");
    expect_error(REQUIRED_DATA "  k_shot: 16\n  train_fraction: 0.5\n",
                 "exp.yaml:7:11: data.k_shot: give k_shot (16) or train_fraction (0.5), not both");
    expect_error(REQUIRED "multitask:\n  snapshot_steps: [10, 200]\n",
                 "exp.yaml:8:19: multitask.snapshot_steps: step 200 is after the last phase-1 step (phase1_steps = 100)");
    expect_error(REQUIRED "optim:\n  epochs: 1\n",
                 "exp.yaml:8:11: optim.epochs: 1 warm-up epochs leave none of the 1 epochs to the schedule");
    expect_error(REQUIRED "optim:\n  epochs: 0\n", "exp.yaml:8:11: optim.epochs: no training length: set epochs or steps above 0");

    /* a real file: the path as given, and a missing file */
    char path[512];
    snprintf(path, sizeof path, "%s/bad.yaml", cm_test_tmpdir());
    FILE *f = fopen(path, "w");
    CM_TEST(f != NULL, "cannot write %s", path);
    if (f) {
        fputs(REQUIRED "optim:\n  warmup: cosine\n", f);
        fclose(f);
        cm_config c;
        CM_TEST_OK(cm_config_defaults(&c));
        char want[1024];
        snprintf(want, sizeof want, "%s:8:11: optim.warmup: expected one of constant, linear, got \"cosine\"", path);
        CM_TEST(cm_config_load(&c, path) == CM_ERR_CONFIG && strcmp(cm_error_message(), want) == 0,
                "file message\n  got:  %s\n  want: %s", cm_error_message(), want);
        cm_error_clear();
        remove(path);
        rmdir(cm_test_tmpdir());
        snprintf(want, sizeof want, "%s: cannot open: No such file or directory", path);
        CM_TEST(cm_config_load(&c, path) == CM_ERR_IO && strcmp(cm_error_message(), want) == 0,
                "missing file message\n  got:  %s\n  want: %s", cm_error_message(), want);
        cm_error_clear();
        cm_config_free(&c);
    }
}

static void test_set(void)
{
    cm_config c;
    CM_TEST_OK(cm_config_defaults(&c));
    CM_TEST_OK(cm_config_read_string(&c, REQUIRED "optim:\n  lr: 0.1\n", "exp.yaml"));
    CM_TEST(c.optim.lr == 0.1 && strcmp(cm_config_origin(&c, "optim.lr"), "exp.yaml:8:7") == 0, "file value");
    CM_TEST_OK(cm_config_set(&c, "optim.lr=0.01"));
    CM_TEST_OK(cm_config_set(&c, "data.domains=[Art, \"Real World\"]"));
    CM_TEST_OK(cm_config_set(&c, "method.ctx_init=a photo of a"));
    CM_TEST_OK(cm_config_set(&c, "method.mmap.shared_source=true"));
    CM_TEST_OK(cm_config_set(&c, "model.weights=\"\""));
    CM_TEST_OK(cm_config_validate(&c));
    CM_TEST(c.optim.lr == 0.01 && strcmp(cm_config_origin(&c, "optim.lr"), "--set optim.lr=0.01") == 0,
            "override value %g, origin %s", c.optim.lr, cm_config_origin(&c, "optim.lr"));
    CM_TEST(c.data.domains.n == 2 && strcmp(c.data.domains.items[1], "Real World") == 0, "list override");
    CM_TEST(strcmp(c.method.ctx_init, "a photo of a") == 0 && c.method.mmap.shared_source == 1, "string and bool overrides");

    /* A failed override leaves the previous value. */
    CM_TEST(cm_config_set(&c, "optim.lr=-1") == CM_ERR_CONFIG, "negative lr accepted");
    cm_error_clear();
    CM_TEST(c.optim.lr == 0.01, "a rejected override changed the value to %g", c.optim.lr);
    cm_config_free(&c);

    const char *s1[] = {"optim.lr=fast"};
    expect_set_error(s1, 1, "--set optim.lr=fast: optim.lr: expected a number, got \"fast\"");
    const char *s2[] = {"optim.learning_rate=0.1"};
    expect_set_error(s2, 1, "--set optim.learning_rate=0.1: optim.learning_rate: unknown key (`clipmtl config --doc` lists them)");
    const char *s3[] = {"optim.lr"};
    expect_set_error(s3, 1, "--set optim.lr: expected key=value, e.g. optim.lr=0.01");
    const char *s4[] = {"data.domains=[a,"};
    expect_set_error(s4, 1, "--set data.domains=[a,:2:1: YAML syntax error: did not find expected node content (while "
                            "parsing a flow node, which starts at line 2, column 1)");
    const char *s5[] = {"method.mmap={b: 2}"};
    expect_set_error(s5, 1, "--set method.mmap={b: 2}: method.mmap: unknown key (`clipmtl config --doc` lists them); "
                            "did you mean \"method.mmap.b\"?");
    const char *s6[] = {"optim.lr="};
    expect_set_error(s6, 1, "--set optim.lr=: optim.lr: expected a number, got null");
    const char *s7[] = {"method.mmap.m=8", "method.mmap.b=12"};
    expect_set_error(s7, 2, "--set method.mmap.b=12: method.mmap.b: b = 12 is not a multiple of m = 8 (the scaling "
                            "matrices have b/m rows)");
    const char *s8[] = {"grouping.rule=spectral"};
    expect_set_error(s8, 1, "--set grouping.rule=spectral: grouping.rule: the spectral rule needs k >= 1 groups");
    /* Names: presets are checked here, not when the model is built; near misses get a suggestion. */
    const char *s10[] = {"model.preset=vit_b16"};
    expect_set_error(s10, 1, "--set model.preset=vit_b16: model.preset: unknown name \"vit_b16\" (known: tiny, "
                             "fmnist-small, vit-b32, vit-b16, vit-l14); did you mean \"vit-b16\"?");
    const char *s11[] = {"model.preset=resnet50"};
    expect_set_error(s11, 1, "--set model.preset=resnet50: model.preset: unknown name \"resnet50\" (known: tiny, "
                             "fmnist-small, vit-b32, vit-b16, vit-l14)");
    const char *s12[] = {"grouping.rule=parition"};
    expect_set_error(s12, 1, "--set grouping.rule=parition: grouping.rule: expected one of partition, threshold, "
                             "spectral, explicit, got \"parition\"; did you mean \"partition\"?");
    const char *s13[] = {"grouping.tua=0.3"};
    expect_set_error(s13, 1, "--set grouping.tua=0.3: grouping.tua: unknown key (`clipmtl config --doc` lists them); "
                             "did you mean \"grouping.tau\"?");
    expect_error(REQUIRED "  dept: 3\n",
                 "exp.yaml:7:3: method.dept: unknown key; method has name, n_ctx_text, n_ctx_visual, depth, ctx_init, "
                 "init_std, mmap, adapter; did you mean \"depth\"?");
    for (int i = 0; cm_clip_preset_list[i]; i++) {
        cm_clip_config mc;
        CM_TEST_OK(cm_clip_preset(cm_clip_preset_list[i], &mc));
    }
    const char *s9[] = {"data.kind=cifar"};
    expect_set_error(s9, 1, "--set data.kind=cifar: data.kind: expected one of folder, office_home, domainnet, "
                            "minidomainnet, fashion_mnist, got \"cifar\"");
}

static void test_model_rules(void)
{
    cm_clip_config vitb16 = {.embed_dim = 512, .vision = {768, 12, 12, 3072}, .text = {512, 12, 8, 2048},
                             .patch_size = 16, .image_size = 224, .grid = 14, .context_length = 77, .vocab_size = 49408};
    struct {
        const char *set, *want;
    } cases[] = {
        {"method.mmap.n=128", NULL}, /* divides 512 and 768 */
        {"method.mmap.n=100", "--set method.mmap.n=100: method.mmap.n: n = 100 must divide the text width 512 and the vision width 768"},
        {"method.mmap.n=512", "--set method.mmap.n=512: method.mmap.n: n = 512 must divide the text width 512 and the vision width 768"},
        {"method.depth=13", "--set method.depth=13: method.depth: 13 prompted layers but the model has 12 text and 12 vision layers"},
        {"data.image_size=336", "--set data.image_size=336: data.image_size: 336 but the model takes 224x224 images"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        cm_config c;
        CM_TEST_OK(cm_config_defaults(&c));
        CM_TEST_OK(cm_config_set(&c, cases[i].set));
        CM_TEST_OK(cm_config_validate(&c));
        cm_err err = cm_config_check_model(&c, &vitb16);
        if (!cases[i].want) {
            CM_TEST(err == CM_OK, "%s: %s", cases[i].set, cm_error_message());
        } else {
            CM_TEST(err == CM_ERR_CONFIG && strcmp(cm_error_message(), cases[i].want) == 0,
                    "model rule\n  got:  %s\n  want: %s", cm_error_message(), cases[i].want);
        }
        cm_error_clear();
        cm_config_free(&c);
    }
}

/* ---- round trip ---- */

/* A random string of valid UTF-8 without NUL, rich in what YAML quoting must handle. */
static char *random_string(cm_rng *rng, int allow_empty)
{
    static const unsigned specials[] = {'"', '\\', '\n', '\t', '\r', ' ', '#', ':', '-', '[', '{', ',', '\'', '&', '*',
                                        '!', '%', '@', '`', 0x01, 0x1F, 0x7F, 0x80, 0x85, 0x9F, 0xA0, 0xE9, 0x2028,
                                        0x2029, 0xFEFF, 0xFFFD, 0xFFFE, 0xFFFF, 0x1F600, 0x10FFFF};
    int n = (int)(cm_rng_uniform_double(rng) * 12) + (allow_empty ? 0 : 1);
    char *s = malloc((size_t)n * 4 + 1), *p = s;
    for (int i = 0; i < n; i++) {
        double u = cm_rng_uniform_double(rng);
        unsigned cp = u < 0.4 ? specials[(int)(cm_rng_uniform_double(rng) * (sizeof specials / sizeof specials[0]))]
                    : u < 0.8 ? 'a' + (unsigned)(cm_rng_uniform_double(rng) * 26)
                              : 0x20 + (unsigned)(cm_rng_uniform_double(rng) * 0x2000);
        if (cp >= 0xD800 && cp <= 0xDFFF) cp = 'x';
        if (cp < 0x80) *p++ = (char)cp;
        else if (cp < 0x800) { *p++ = (char)(0xC0 | cp >> 6); *p++ = (char)(0x80 | (cp & 0x3F)); }
        else if (cp < 0x10000) { *p++ = (char)(0xE0 | cp >> 12); *p++ = (char)(0x80 | (cp >> 6 & 0x3F)); *p++ = (char)(0x80 | (cp & 0x3F)); }
        else { *p++ = (char)(0xF0 | cp >> 18); *p++ = (char)(0x80 | (cp >> 12 & 0x3F)); *p++ = (char)(0x80 | (cp >> 6 & 0x3F)); *p++ = (char)(0x80 | (cp & 0x3F)); }
    }
    *p = '\0';
    return s;
}

static char *random_name(cm_rng *rng)
{
    static const char chars[] = "abcXYZ019._-";
    int n = 1 + (int)(cm_rng_uniform_double(rng) * 10);
    char *s = malloc((size_t)n + 1);
    for (int i = 0; i < n; i++) s[i] = chars[(int)(cm_rng_uniform_double(rng) * (sizeof chars - 1))];
    s[n] = '\0';
    return s;
}

static double random_in_range(cm_rng *rng, const cm_config_key *k)
{
    double lo = k->min, hi = k->max > 1e9 ? 1e9 : k->max;
    for (;;) {
        double v = lo + (hi - lo) * cm_rng_uniform_double(rng);
        if (k->type != CM_CFG_DOUBLE) v = floor(v);
        if (((k->flags & CM_CFG_MIN_OPEN) ? v > k->min : v >= k->min) && ((k->flags & CM_CFG_MAX_OPEN) ? v < k->max : v <= k->max))
            return v;
    }
}

/* Writes a random valid value into every key of c (bypassing the reader on purpose). */
static void randomize(cm_config *c, cm_rng *rng)
{
    for (int i = 0; i < cm_config_nkeys(); i++) {
        const cm_config_key *k = cm_config_key_at(i, NULL, 0);
        void *field = cm_config_field(c, k);
        cm_config_value_free(k, field);
        int n = (int)(cm_rng_uniform_double(rng) * 4);
        switch (k->type) {
        case CM_CFG_INT: *(int *)field = (int)random_in_range(rng, k); break;
        case CM_CFG_INT64: *(int64_t *)field = (int64_t)random_in_range(rng, k); break;
        case CM_CFG_DOUBLE: *(double *)field = random_in_range(rng, k); break;
        case CM_CFG_BOOL: *(int *)field = cm_rng_uniform_double(rng) < 0.5; break;
        case CM_CFG_ENUM: {
            int count = 0;
            while (k->names[count]) count++;
            *(int *)field = (int)(cm_rng_uniform_double(rng) * count);
            break;
        }
        case CM_CFG_STRING:
            if (k->names) { /* one of a fixed set (model.preset) */
                int count = 0;
                while (k->names[count]) count++;
                *(char **)field = strdup(k->names[(int)(cm_rng_uniform_double(rng) * count)]);
                break;
            }
            *(char **)field = (k->flags & CM_CFG_NAME) ? random_name(rng) : random_string(rng, !(k->flags & CM_CFG_NONEMPTY));
            break;
        case CM_CFG_STRING_LIST: {
            cm_config_strings *l = field;
            l->items = calloc((size_t)n + 1, sizeof *l->items);
            for (l->n = 0; l->n < n; l->n++) { /* distinct: a numbered suffix */
                char *s = random_string(rng, 0), *t = malloc(strlen(s) + 16);
                sprintf(t, "%s%d", s, l->n);
                free(s);
                l->items[l->n] = t;
            }
            break;
        }
        case CM_CFG_INT_LIST: {
            cm_config_ints *l = field;
            l->items = calloc((size_t)n + 1, sizeof *l->items);
            int64_t v = (int64_t)k->min;
            /* increasing steps that keep n items within the key's range */
            const double span = (k->max - k->min) / (n + 1) < 1e6 ? (k->max - k->min) / (n + 1) : 1e6;
            for (l->n = 0; l->n < n; l->n++) l->items[l->n] = v += 1 + (int64_t)(cm_rng_uniform_double(rng) * (span - 1));
            break;
        }
        case CM_CFG_GROUPS: {
            cm_config_groups *g = field;
            g->ngroups = n;
            g->size = calloc((size_t)n + 1, sizeof *g->size);
            g->first = calloc((size_t)n + 1, sizeof *g->first);
            g->names = calloc((size_t)n * 3 + 1, sizeof *g->names);
            for (int h = 0; h < n; h++) {
                g->first[h] = g->nnames;
                g->size[h] = 1 + (int)(cm_rng_uniform_double(rng) * 3);
                for (int j = 0; j < g->size[h]; j++) {
                    char *s = random_string(rng, 0), *t = malloc(strlen(s) + 16);
                    sprintf(t, "%s%d", s, g->nnames);
                    free(s);
                    g->names[g->nnames++] = t;
                }
            }
            break;
        }
        case CM_CFG_SECTION: break;
        }
    }
}

static char *dump_to_string(const cm_config *c)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    cm_err err = cm_config_dump(c, f);
    fclose(f);
    CM_TEST(err == CM_OK, "dump failed");
    return text;
}

static void test_round_trip(void)
{
    cm_rng rng;
    cm_rng_seed(&rng, 12345, 0);
    int trials = 300, failures = 0;
    for (int trial = 0; trial < trials; trial++) {
        cm_config a, b;
        CM_TEST_OK(cm_config_defaults(&a));
        if (trial > 0) randomize(&a, &rng); /* trial 0: the defaults themselves */
        char *text = dump_to_string(&a);
        CM_TEST_OK(cm_config_defaults(&b));
        cm_err err = cm_config_read_string(&b, text, "dump.yaml");
        if (err != CM_OK) {
            cm_error_print(stderr);
            cm_error_clear();
        }
        char *again = dump_to_string(&b);
        int same = err == CM_OK && cm_config_equal(&a, &b) && strcmp(text, again) == 0;
        if (!same && failures++ < 3) fprintf(stderr, "round trip %d differs; dump:\n%s\nreloaded:\n%s\n", trial, text, again);
        /* every key compared, so cm_config_equal must see a changed key */
        if (trial == 1) {
            cm_config d;
            CM_TEST_OK(cm_config_defaults(&d));
            int differing = 0;
            for (int i = 0; i < cm_config_nkeys(); i++) {
                const cm_config_key *k = cm_config_key_at(i, NULL, 0);
                differing += !cm_config_value_equal(k, cm_config_field(&a, k), cm_config_field(&d, k));
            }
            CM_TEST(differing > cm_config_nkeys() / 2 && !cm_config_equal(&a, &d), "random config differs in %d of %d keys",
                    differing, cm_config_nkeys());
            cm_config_free(&d);
        }
        free(text);
        free(again);
        cm_config_free(&a);
        cm_config_free(&b);
    }
    CM_TEST(failures == 0, "%d of %d round trips differ", failures, trials);
    printf("round trip: %d random configurations, %d keys each, %d differ\n", trials, cm_config_nkeys(), failures);
}

int main(void)
{
    test_defaults();
    test_good_files();
    test_bad_input();
    test_set();
    test_model_rules();
    test_round_trip();
    return cm_test_summary();
}
