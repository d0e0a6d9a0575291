/* The run configuration: one struct with one section per concern, read from YAML.
 *
 * Life cycle:
 *   cm_config c;
 *   cm_config_defaults(&c);                 every key at its documented default
 *   cm_config_read_file(&c, "exp.yaml");    overlay a file: syntax, unknown/duplicate keys, types,
 *                                           ranges and required keys are checked here
 *   cm_config_set(&c, "optim.lr=0.01");     overlay one --set override, same per-key checks
 *   cm_config_validate(&c);                 cross-field rules (MmAP b % m, spectral needs k, ...)
 *   ...
 *   cm_config_free(&c);
 * cm_config_load / cm_config_load_string are read + validate in one call.
 *
 * Every key remembers where its value came from ("exp.yaml:12:5", "--set optim.lr=0.01" or
 * "default"), so that checks made later, once the model and the dataset are known, can still name
 * the user's line (cm_config_origin). Errors read
 *   exp.yaml:12:5: optim.lr: expected a number, got "fast"
 * with 1-based lines and columns.
 *
 * A cm_config owns its strings and lists: never copy the struct (dump and read it instead). A
 * failed read or set leaves every key valid, some perhaps already holding the new values.
 *
 * The keys, their types, ranges, defaults and documentation are one table per section
 * (src/io/config_schema.c); `clipmtl config --doc` prints it as experiments/README.md. */
#ifndef CLIPMTL_CONFIG_H
#define CLIPMTL_CONFIG_H

#include <stdint.h>
#include <stdio.h>

#include "clipmtl/clip_model.h"
#include "clipmtl/error.h"
#include "clipmtl/gemm.h"
#include "clipmtl/grouping.h"
#include "clipmtl/optimizer.h"
#include "clipmtl/prompt_method.h"

/* Owned list values (freed by cm_config_free). */
typedef struct {
    int n;
    char **items;
} cm_config_strings;

typedef struct {
    int n;
    int64_t *items;
} cm_config_ints;

/* Lists of lists of names: group g holds names[first[g] .. first[g] + size[g] - 1]. */
typedef struct {
    int ngroups;
    int *size;
    int *first;
    int nnames;
    char **names;
} cm_config_groups;

typedef enum { CM_DATA_FOLDER, CM_DATA_OFFICE_HOME, CM_DATA_DOMAINNET, CM_DATA_MINIDOMAINNET,
               CM_DATA_FASHION_MNIST } cm_data_kind;
typedef enum { CM_BAD_DATA_STOP, CM_BAD_DATA_SKIP } cm_bad_data_policy;
typedef enum { CM_AUGMENT_CROP_FLIP, CM_AUGMENT_NONE } cm_augment;
typedef enum { CM_MMAP_SCALING_ONES, CM_MMAP_SCALING_NORMAL } cm_mmap_scaling_init;
typedef enum { CM_ADAPTER_IMAGE, CM_ADAPTER_TEXT, CM_ADAPTER_BOTH } cm_adapter_target;
typedef enum { CM_MULTITASK_SINGLE, CM_MULTITASK_SHARED, CM_MULTITASK_GROUPED } cm_multitask_mode;
typedef enum { CM_COMBINE_CONCAT, CM_COMBINE_SUM } cm_prompt_combine;
typedef enum { CM_SCHEDULE_COSINE, CM_SCHEDULE_CONSTANT } cm_lr_schedule;

typedef struct {
    char *name;             /* names the output directory out_dir/name */
    int64_t seed;           /* root of every cm_rng stream of the run */
    char *out_dir;
    int log_every;          /* steps */
    int64_t checkpoint_every; /* steps; 0 = only at the end */
    int keep_checkpoints;
    double stall_timeout;   /* seconds without progress before the job is aborted; 0 = never */
} cm_config_run;

typedef struct {
    char *weights;          /* safetensors checkpoint; when empty the model is built from preset */
    char *preset;           /* architecture name for a randomly initialised model */
    int64_t init_seed;      /* seed of that random initialisation */
} cm_config_model;

typedef struct {
    cm_data_kind kind;
    char *root;                 /* empty: the dataset's standard place (fashion_mnist only) */
    cm_config_strings domains;  /* tasks, in this order; empty = every domain of the dataset */
    double train_fraction;      /* per-class fraction of the training split */
    int k_shot;                 /* images per class per task; 0 = use train_fraction */
    double test_fraction;       /* held-out share where the dataset has no official split */
    int64_t split_seed;
    int image_size;
    cm_bad_data_policy bad_data;
    cm_augment augment;         /* training images: random resized crop + flip, or the test transform */
    char *packed;               /* packed (preprocessed) data file; empty = decode images */
    /* fashion_mnist image pools, [first, end) of the 60000 training images: pretraining reads
     * only pretrain_images, the tasks only task_images, so no task image is seen in pretraining */
    cm_config_ints pretrain_images, task_images;
} cm_config_data;

typedef struct {
    int b, m, n;                /* prompts per modality, source prompt [m x n] (spec 3.3) */
    int shared_source;          /* one source prompt for all layers (per-layer W) */
    cm_mmap_scaling_init scaling_init;
} cm_config_mmap;

typedef struct {
    int reduction;              /* bottleneck width = feature width / reduction */
    double ratio;               /* residual ratio alpha */
    cm_adapter_target target;
} cm_config_adapter;

typedef struct {
    cm_method_kind name;
    int n_text, n_visual;       /* prompt tokens per layer, keys n_ctx_text and n_ctx_visual (CoOp, VPT,
                                 * IVLP, MaPLe; MmAP names its count mmap.b) */
    int depth;                  /* prompted layers J, counting layer 0 */
    char *ctx_init;             /* words initialising the layer-0 text context; "" = random */
    double init_std;            /* std of every N(0, std^2) initialisation */
    cm_config_mmap mmap;
    cm_config_adapter adapter;
} cm_config_method;

typedef struct {
    cm_multitask_mode mode;
    int64_t phase1_steps;       /* grouped mode: steps of the shared-prompt phase */
    int snapshot_count;         /* similarity snapshots evenly spaced over phase 1; 0 = every step */
    cm_config_ints snapshot_steps; /* explicit snapshot steps; when given, replace snapshot_count */
    cm_prompt_combine combine;  /* how group and task prompts meet (spec 4.4) */
} cm_config_multitask;

typedef struct {
    /* rule, tau, k, max_groups, max_group_size and singleton_score come from the file; the
     * explicit_* members stay empty until cm_config_grouping_options resolves `groups`. */
    cm_grouping_options options;
    cm_config_groups groups;    /* explicit rule: groups of task (domain) names */
    char *similarity_file;      /* phase-1 output to group from; "" = run phase 1 */
    char *snapshot_images;      /* what a snapshot's task gradient is taken over: batch, all or N */
} cm_config_grouping;

typedef struct {
    cm_optim_kind name;
    double lr, momentum, weight_decay;
    double beta1, beta2, eps;   /* adamw */
    cm_lr_schedule schedule;
    int warmup_epochs;
    cm_warmup_kind warmup;
    double warmup_lr;
    double clip_grad_norm;      /* 0 = no clipping */
    int batch_size;             /* images per task per step */
    int epochs;
    int64_t steps;              /* when > 0, the run length in steps; epochs is then ignored */
} cm_config_optim;

typedef struct {
    int64_t eval_every;         /* steps; 0 = only at the end */
    int eval_batch_size;
    int test_images;            /* per task: test_images of its test split after test_skip; 0 = all */
    int test_skip;              /* per task: test images passed over first (a validation window) */
    int zeroshot_baseline;      /* 1: also evaluate the frozen CLIP zero-shot on the same images */
} cm_config_train;

typedef struct {
    cm_precision precision;     /* of the products with frozen weights (gemm.h) */
    cm_gemm_path gemm;          /* auto = resolved by cm_gemm_select */
} cm_config_compute;

/* clipmtl pretrain: CLIP's contrastive pretraining on captioned Fashion-MNIST images. */
typedef struct {
    int64_t steps;
    int batch_size;             /* global batch: image/caption pairs per step over all ranks */
    double lr, weight_decay;    /* AdamW; decay on matrices only */
    double beta1, beta2, eps;
    int64_t warmup_steps;       /* linear warm-up, then cosine to 0, per step */
    cm_config_strings templates; /* caption templates, each with one {} for the garment phrase */
    cm_config_strings dark_templates; /* templates of a darkened image */
    double colour_prob, small_prob, dark_prob; /* attribute augmentations named in the caption */
    int64_t eval_every;         /* steps between zero-shot evaluations; 0 = only at the end */
    int eval_images;            /* test images of an evaluation before the end (the end: all) */
    int sparse_embedding;       /* 1: only the token-embedding rows captions have used (pretrain.h) */
    int64_t save_model_at;      /* also write model-step<N>.safetensors at this step; 0 = none */
    int64_t stop_after;         /* end this invocation after this step (resume continues); 0 = none */
} cm_config_pretrain;

/* The largest number of keys the schema may have (checked by the tests). */
#define CM_CONFIG_MAX_KEYS 128

typedef struct {
    cm_config_run run;
    cm_config_model model;
    cm_config_data data;
    cm_config_method method;
    cm_config_multitask multitask;
    cm_config_grouping grouping;
    cm_config_optim optim;
    cm_config_train train;
    cm_config_compute compute;
    cm_config_pretrain pretrain;
    /* where each key's value came from, indexed by the schema's key number; NULL = default */
    char *origin[CM_CONFIG_MAX_KEYS];
} cm_config;

/* Every key at its default. On failure (memory) c is left freed. */
cm_err cm_config_defaults(cm_config *c);
void cm_config_free(cm_config *c);

/* Overlay a YAML file / text (named `name` in messages) onto c: per-key checks and required keys. */
cm_err cm_config_read_file(cm_config *c, const char *path);
cm_err cm_config_read_string(cm_config *c, const char *text, const char *name);
/* One override "section.key=value"; value is YAML ("0.01", "[Art, Clipart]", "\"a b\""). */
cm_err cm_config_set(cm_config *c, const char *assignment);
/* Cross-field rules; the error names the key and where its value came from. */
cm_err cm_config_validate(const cm_config *c);
/* read + validate. */
cm_err cm_config_load(cm_config *c, const char *path);
cm_err cm_config_load_string(cm_config *c, const char *text, const char *name);

/* Warns (rank 0, once per key) about each key set in a file or override to a value other than
 * its default that has no effect with the other keys' values, e.g. grouping.tau under rule
 * partition. Returns the number of warnings. */
int cm_config_warn_ineffective(const cm_config *c);
/* Rules that need the model: image size, and the method's (cm_method_check_config: prompt depth
 * and lengths against the towers, MmAP n dividing both widths). */
cm_err cm_config_check_model(const cm_config *c, const cm_clip_config *model);
/* The grouping options of the run with explicit groups resolved against the task names (the
 * dataset's domains in task order). sizes and members must hold ntasks ints each; the options
 * point into them. */
cm_err cm_config_grouping_options(const cm_config *c, int ntasks, const char *const *task_names,
                                  cm_grouping_options *options, int *sizes, int *members);

/* grouping.snapshot_images as a number: CM_SNAPSHOT_BATCH (the step's batch), 0 (every training
 * image of the task) or N > 0 (the task's first N training images). Valid after cm_config_validate. */
#define CM_SNAPSHOT_BATCH (-1)
int cm_config_snapshot_images(const cm_config *c);

/* YAML of every key; cm_config_read_string of it into defaults gives back an equal config. */
cm_err cm_config_dump(const cm_config *c, FILE *f);
/* 1 when every key holds the same value. */
int cm_config_equal(const cm_config *a, const cm_config *b);
/* Resuming from a file (checkpoint, similarity file, named `source`) that stored stored_text:
 * an error naming every key whose value differs, except the keys that change neither what is
 * trained nor what is measured (paths, logging, checkpointing, the watchdog, evaluation
 * batching); with allow_change a warning instead. */
cm_err cm_config_check_resume(const cm_config *c, const char *stored_text, const char *source, int allow_change);
/* Markdown reference of every key: type, default, range or choices, meaning. */
cm_err cm_config_doc(FILE *f);

/* "exp.yaml:12:5", "--set optim.lr=0.01" or "default" for a key path such as "optim.lr";
 * NULL if there is no such key. */
const char *cm_config_origin(const cm_config *c, const char *key);
/* Of two keys a rule relates, the one the user set (the first if both or neither): where an
 * error points. */
const char *cm_config_user_key(const cm_config *c, const char *first, const char *second);

/* Names of the enum values (for logs and file names). */
const char *cm_config_method_name(cm_method_kind m);
const char *cm_config_data_kind_name(cm_data_kind k);
const char *cm_config_multitask_mode_name(cm_multitask_mode m);

#endif
