/* The tables of every configuration key: type, place in cm_config, range, default, meaning.
 * Defaults follow ../shared/docs/spec.md: MaPLe-repo optimisation (2.6, 2.7) and the MmAP
 * defaults of 3.4; what the paper did not state is marked as our choice in the doc strings. */
#include "config_schema.h"

#include <stdio.h>
#include <string.h>

#include "clipmtl/clip_weights.h"
#include "clipmtl/config.h"

/* Enum values are stored through int pointers. */
_Static_assert(sizeof(cm_data_kind) == sizeof(int) && sizeof(cm_method_kind) == sizeof(int) &&
               sizeof(cm_grouping_rule) == sizeof(int) && sizeof(cm_precision) == sizeof(int) &&
                   sizeof(cm_gemm_path) == sizeof(int),
               "configuration enums must be int-sized");

#define AT(field) offsetof(cm_config, field)
/* The largest int64 a double holds exactly: ranges are stored as doubles. */
#define BIG 1e15

static const char *const data_kinds[] = {"folder", "office_home", "domainnet", "minidomainnet",
                                         "fashion_mnist", NULL};
static const char *const bad_data_policies[] = {"stop", "skip", NULL};
static const char *const augmentations[] = {"crop_flip", "none", NULL};
static const char *const method_names[] = {"zeroshot", "coop", "vpt", "ivlp", "maple",
                                           "mmap", "full", "bitfit", "adapter", NULL};
static const char *const scaling_inits[] = {"ones", "normal", NULL};
static const char *const adapter_targets[] = {"image", "text", "both", NULL};
static const char *const multitask_modes[] = {"single", "shared", "grouped", NULL};
static const char *const combine_rules[] = {"concat", "sum", NULL};
static const char *const optimizers[] = {"sgd", "adamw", NULL};
static const char *const schedules[] = {"cosine", "constant", NULL};
static const char *const warmup_kinds[] = {"constant", "linear", NULL};
static const char *const precisions[] = {"fp32", "bf16", NULL};
/* In the order of cm_gemm_path. */
static const char *const gemm_paths[] = {"auto", "openblas", "onednn", NULL};
/* In the order of cm_grouping_rule; the tests check it against cm_grouping_rule_parse. */
static const char *const grouping_rules[] = {"partition", "threshold", "spectral", "explicit", NULL};

static const cm_config_key run_keys[] = {
    {.name = "name", .type = CM_CFG_STRING, .offset = AT(run.name), .required = 1,
     .flags = CM_CFG_NONEMPTY | CM_CFG_NAME, .default_yaml = "run",
     .doc = "Name of the run; outputs go to `out_dir/name`."},
    {.name = "seed", .type = CM_CFG_INT64, .offset = AT(run.seed), .min = 0, .max = BIG,
     .default_yaml = "0",
     .doc = "Root seed of every random stream (prompt init, sampling, augmentation)."},
    {.name = "out_dir", .type = CM_CFG_STRING, .offset = AT(run.out_dir), .flags = CM_CFG_NONEMPTY,
     .default_yaml = "runs", .doc = "Directory holding one subdirectory per run."},
    {.name = "log_every", .type = CM_CFG_INT, .offset = AT(run.log_every), .min = 1, .max = 1e9,
     .default_yaml = "10", .doc = "Steps between two log lines."},
    {.name = "checkpoint_every", .type = CM_CFG_INT64, .offset = AT(run.checkpoint_every),
     .min = 0, .max = BIG, .default_yaml = "0",
     .doc = "Steps between two checkpoints; 0 = only at the end (and on a signal)."},
    {.name = "keep_checkpoints", .type = CM_CFG_INT, .offset = AT(run.keep_checkpoints),
     .min = 1, .max = 1000, .default_yaml = "2", .doc = "Newest checkpoints kept on disk."},
    {.name = "stall_timeout", .type = CM_CFG_DOUBLE, .offset = AT(run.stall_timeout), .min = 0, .max = 1e7,
     .default_yaml = "0",
     .doc = "Seconds a rank may go without progress (a training step, a checkpoint, an evaluation "
            "batch) before the job is aborted, e.g. when a rank is stopped and the others wait for "
            "it forever; the last complete checkpoint stays intact. Longer than the slowest step and "
            "checkpoint. 0 = no watchdog."},
};

static const cm_config_key model_keys[] = {
    {.name = "weights", .type = CM_CFG_STRING, .offset = AT(model.weights), .default_yaml = "\"\"",
     .doc = "CLIP checkpoint (safetensors, OpenAI or Hugging Face names). When empty, the model "
            "is built from `preset` with random weights."},
    {.name = "preset", .type = CM_CFG_STRING, .offset = AT(model.preset),
     .names = cm_clip_preset_list, .default_yaml = "vit-b16",
     .doc = "Architecture of a randomly initialised model, used when `weights` is empty."},
    {.name = "init_seed", .type = CM_CFG_INT64, .offset = AT(model.init_seed), .min = 0,
     .max = BIG, .default_yaml = "0", .doc = "Seed of the random weights of a preset model."},
};

static const cm_config_key data_keys[] = {
    {.name = "kind", .type = CM_CFG_ENUM, .offset = AT(data.kind), .required = 1,
     .names = data_kinds, .default_yaml = "fashion_mnist",
     .doc = "Dataset reader. `folder`: `root/<domain>/<class>/*.jpg|png`; `office_home`: "
            "OfficeHomeDataset_10072016 layout; `domainnet`/`minidomainnet`: Dassl split files; "
            "`fashion_mnist`: the Debian dataset-fashion-mnist files."},
    {.name = "root", .type = CM_CFG_STRING, .offset = AT(data.root), .default_yaml = "\"\"",
     .doc = "Dataset directory. Empty means the standard place, which only `fashion_mnist` has "
            "(/usr/share/datasets/fashion-mnist)."},
    {.name = "domains", .type = CM_CFG_STRING_LIST, .offset = AT(data.domains),
     .flags = CM_CFG_NONEMPTY | CM_CFG_UNIQUE, .default_yaml = "[]",
     .doc = "Domains used as tasks, in task order. Empty = every domain of the dataset."},
    {.name = "train_fraction", .type = CM_CFG_DOUBLE, .offset = AT(data.train_fraction), .min = 0,
     .max = 1, .flags = CM_CFG_MIN_OPEN, .default_yaml = "1",
     .doc = "Per-class fraction of each domain's training split that is used (spec 5.3)."},
    {.name = "k_shot", .type = CM_CFG_INT, .offset = AT(data.k_shot), .min = 0, .max = 1e6,
     .default_yaml = "0",
     .doc = "Training images per class and task; 0 = use `train_fraction` instead."},
    {.name = "test_fraction", .type = CM_CFG_DOUBLE, .offset = AT(data.test_fraction), .min = 0,
     .max = 1, .flags = CM_CFG_MAX_OPEN, .default_yaml = "0.2",
     .doc = "Held-out per-class share for datasets without an official split (office_home, "
            "folder); our choice, the paper's split is unknown."},
    {.name = "split_seed", .type = CM_CFG_INT64, .offset = AT(data.split_seed), .min = 0,
     .max = BIG, .default_yaml = "1", .doc = "Seed of the train/test split and of the sampling."},
    {.name = "image_size", .type = CM_CFG_INT, .offset = AT(data.image_size), .min = 8,
     .max = 4096, .default_yaml = "224",
     .doc = "Side of the square model input; must equal the model's input resolution."},
    {.name = "bad_data", .type = CM_CFG_ENUM, .offset = AT(data.bad_data),
     .names = bad_data_policies, .default_yaml = "stop",
     .doc = "An unreadable image stops the run (`stop`) or is logged and left out (`skip`)."},
    {.name = "augment", .type = CM_CFG_ENUM, .offset = AT(data.augment), .names = augmentations,
     .default_yaml = "crop_flip",
     .doc = "Training images: `crop_flip` is Dassl's random resized crop (8-100% of the area) and "
            "horizontal flip; `none` gives them the test transform. A crop of 8% of a 28x28 "
            "Fashion-MNIST garment is a few pixels of it: the Fashion-MNIST study uses `none`."},
    {.name = "packed", .type = CM_CFG_STRING, .offset = AT(data.packed), .default_yaml = "\"\"",
     .doc = "Packed file of preprocessed images to read instead of decoding; empty = decode."},
    {.name = "pretrain_images", .type = CM_CFG_INT_LIST, .offset = AT(data.pretrain_images), .min = 0,
     .max = 60000, .flags = CM_CFG_INCREASING, .default_yaml = "[0, 50000]",
     .doc = "fashion_mnist: `[first, end)` of the training images `clipmtl pretrain` reads (original "
            "domain only)."},
    {.name = "task_images", .type = CM_CFG_INT_LIST, .offset = AT(data.task_images), .min = 0,
     .max = 60000, .flags = CM_CFG_INCREASING, .default_yaml = "[50000, 60000]",
     .doc = "fashion_mnist: `[first, end)` of the training images the tasks share out; must not "
            "overlap `pretrain_images`. Tasks test on the t10k images."},
};

static const cm_config_key mmap_keys[] = {
    {.name = "b", .type = CM_CFG_INT, .offset = AT(method.mmap.b), .min = 1, .max = 256,
     .default_yaml = "4", .doc = "Prompt vectors per modality and layer."},
    {.name = "m", .type = CM_CFG_INT, .offset = AT(method.mmap.m), .min = 1, .max = 256,
     .default_yaml = "4", .doc = "Rows of the source prompt [m x n]; must divide b."},
    {.name = "n", .type = CM_CFG_INT, .offset = AT(method.mmap.n), .min = 1, .max = 8192,
     .default_yaml = "256",
     .doc = "Columns of the source prompt; must divide both widths (512 and 768 for ViT-B/16). "
            "Scaling matrices are [b/m x 512/n] and [b/m x 768/n]."},
    {.name = "shared_source", .type = CM_CFG_BOOL, .offset = AT(method.mmap.shared_source),
     .default_yaml = "false",
     .doc = "One source prompt for all layers (own scaling matrices per layer) instead of one "
            "per layer (spec 7, item 2; our choice)."},
    {.name = "scaling_init", .type = CM_CFG_ENUM, .offset = AT(method.mmap.scaling_init),
     .names = scaling_inits, .default_yaml = "ones",
     .doc = "Initial scaling matrices: all ones (prompts start as the tiled source prompt) or "
            "N(0, init_std^2)."},
};

static const cm_config_key adapter_keys[] = {
    {.name = "reduction", .type = CM_CFG_INT, .offset = AT(method.adapter.reduction), .min = 1,
     .max = 1024, .default_yaml = "4", .doc = "Bottleneck width = feature width / reduction."},
    {.name = "ratio", .type = CM_CFG_DOUBLE, .offset = AT(method.adapter.ratio), .min = 0,
     .max = 1, .default_yaml = "0.2", .doc = "Residual ratio alpha of CLIP-Adapter."},
    {.name = "target", .type = CM_CFG_ENUM, .offset = AT(method.adapter.target),
     .names = adapter_targets, .default_yaml = "image", .doc = "Feature(s) the adapter acts on."},
};

static const cm_config_section mmap_section = {
    "mmap", "MmAP: a source prompt and two scaling matrices per prompted layer (spec 3).",
    mmap_keys, (int)(sizeof mmap_keys / sizeof mmap_keys[0])};
static const cm_config_section adapter_section = {
    "adapter", "CLIP-Adapter (spec 2.9).", adapter_keys,
    (int)(sizeof adapter_keys / sizeof adapter_keys[0])};

static const cm_config_key method_keys[] = {
    {.name = "name", .type = CM_CFG_ENUM, .offset = AT(method.name), .required = 1,
     .names = method_names, .default_yaml = "mmap",
     .doc = "What is trained: prompts (`coop`, `vpt`, `ivlp`, `maple`, `mmap`), nothing "
            "(`zeroshot`) or weights: `full` every CLIP tensor, `bitfit` the attention, MLP and LayerNorm "
            "biases, `adapter` CLIP-Adapter (multitask.mode single or shared)."},
    {.name = "n_ctx_text", .type = CM_CFG_INT, .offset = AT(method.n_text), .min = 0,
     .max = 75, .default_yaml = "2",
     .doc = "Text prompt tokens per layer (CoOp 16, IVLP and MaPLe 2). MmAP uses `mmap.b`."},
    {.name = "n_ctx_visual", .type = CM_CFG_INT, .offset = AT(method.n_visual), .min = 0,
     .max = 1024, .default_yaml = "2",
     .doc = "Visual prompt tokens per layer (VPT 8, IVLP 2; MaPLe needs `n_ctx_text`)."},
    {.name = "depth", .type = CM_CFG_INT, .offset = AT(method.depth), .min = 1, .max = 64,
     .default_yaml = "9",
     .doc = "Prompted layers J, counting layer 0 (MaPLe 9; CoOp 1; VPT-deep 12)."},
    {.name = "ctx_init", .type = CM_CFG_STRING, .offset = AT(method.ctx_init),
     .default_yaml = "\"\"",
     .doc = "The words before the class name in the class sentence (MaPLe: `a photo of a`). The text "
            "prompt rows take the place of its first tokens (grouped mode: the group's rows, then the "
            "task's), `X` placeholders standing for rows past its end. CoOp, IVLP and MaPLe initialise "
            "their rows from its token embeddings (one token per row, so it needs as many); empty = "
            "N(0, init_std^2)."},
    {.name = "init_std", .type = CM_CFG_DOUBLE, .offset = AT(method.init_std), .min = 0, .max = 1,
     .flags = CM_CFG_MIN_OPEN, .default_yaml = "0.02",
     .doc = "Standard deviation of every random prompt initialisation."},
    {.name = "mmap", .type = CM_CFG_SECTION, .section = &mmap_section},
    {.name = "adapter", .type = CM_CFG_SECTION, .section = &adapter_section},
};

static const cm_config_key multitask_keys[] = {
    {.name = "mode", .type = CM_CFG_ENUM, .offset = AT(multitask.mode), .names = multitask_modes,
     .default_yaml = "grouped",
     .doc = "`single`: one model per task; `shared`: one prompt set for all tasks (X-MT); "
            "`grouped`: phase 1 shared, then group-shared + task-specific prompts (spec 4)."},
    {.name = "phase1_steps", .type = CM_CFG_INT64, .offset = AT(multitask.phase1_steps),
     .min = 1, .max = BIG, .default_yaml = "100",
     .doc = "Steps of phase 1 (one shared prompt set) in `grouped` mode; our choice."},
    {.name = "snapshot_count", .type = CM_CFG_INT, .offset = AT(multitask.snapshot_count),
     .min = 0, .max = 1e6, .default_yaml = "5",
     .doc = "Gradient-similarity snapshots, evenly spaced over phase 1, ending at its last step; "
            "0 = a snapshot at every step."},
    {.name = "snapshot_steps", .type = CM_CFG_INT_LIST, .offset = AT(multitask.snapshot_steps),
     .min = 1, .max = BIG, .flags = CM_CFG_INCREASING, .default_yaml = "[]",
     .doc = "Explicit snapshot steps of phase 1 (increasing); when given, `snapshot_count` is "
            "not used."},
    {.name = "combine", .type = CM_CFG_ENUM, .offset = AT(multitask.combine),
     .names = combine_rules, .default_yaml = "concat",
     .doc = "Group and task prompts are concatenated along tokens or summed (spec 4.4)."},
};

static const cm_config_key grouping_keys[] = {
    {.name = "rule", .type = CM_CFG_ENUM, .offset = AT(grouping.options.rule),
     .names = grouping_rules, .default_yaml = "partition",
     .doc = "From the averaged similarity to disjoint groups: best partition under TAG's "
            "objective, complete linkage at `tau`, spectral into `k` groups, or `groups`."},
    {.name = "tau", .type = CM_CFG_DOUBLE, .offset = AT(grouping.options.tau), .min = -1,
     .max = 1, .default_yaml = "0",
     .doc = "threshold: every pair in a group has similarity > tau (also the partition rule's "
            "fallback above 12 tasks)."},
    {.name = "k", .type = CM_CFG_INT, .offset = AT(grouping.options.k), .min = 0, .max = 4096,
     .default_yaml = "0", .doc = "spectral: number of groups; 0 = not set."},
    {.name = "max_groups", .type = CM_CFG_INT, .offset = AT(grouping.options.max_groups),
     .min = 0, .max = 4096, .default_yaml = "0",
     .doc = "partition: at most this many groups; 0 = no limit."},
    {.name = "max_group_size", .type = CM_CFG_INT, .offset = AT(grouping.options.max_group_size),
     .min = 0, .max = 4096, .default_yaml = "0",
     .doc = "partition and threshold: at most this many tasks per group; 0 = no limit."},
    {.name = "singleton_score", .type = CM_CFG_DOUBLE,
     .offset = AT(grouping.options.singleton_score), .min = -1e12, .max = 1,
     .default_yaml = "-1000000", .doc = "partition: score of a task alone (TAG: -1e6)."},
    {.name = "groups", .type = CM_CFG_GROUPS, .offset = AT(grouping.groups),
     .flags = CM_CFG_NONEMPTY | CM_CFG_UNIQUE, .default_yaml = "[]",
     .doc = "explicit: the groups as lists of task (domain) names, each task exactly once, "
            "e.g. `[[Art, Clipart], [Product, Real World]]`."},
    {.name = "similarity_file", .type = CM_CFG_STRING, .offset = AT(grouping.similarity_file),
     .default_yaml = "\"\"",
     .doc = "A similarity file written by `clipmtl group`: phase 2 applies `rule` to its average "
            "instead of running phase 1 (threshold sweeps); empty = run phase 1."},
    {.name = "snapshot_images", .type = CM_CFG_STRING, .offset = AT(grouping.snapshot_images),
     .flags = CM_CFG_NONEMPTY, .default_yaml = "all",
     .doc = "Images a snapshot's task gradient is taken over: `batch` (the step's own batch, no extra "
            "compute), `all` (every training image of the task) or a number N (the task's first N "
            "training images), summed over micro-batches of `optim.batch_size` split among the "
            "task's ranks. One 16-image batch was too noisy to recover a planted grouping in our "
            "tests; the whole few-shot set recovered it, hence the default `all`."},
};

static const cm_config_key optim_keys[] = {
    {.name = "name", .type = CM_CFG_ENUM, .offset = AT(optim.name), .names = optimizers,
     .default_yaml = "sgd", .doc = "Optimizer (MaPLe: SGD)."},
    {.name = "lr", .type = CM_CFG_DOUBLE, .offset = AT(optim.lr), .min = 0, .max = 10,
     .flags = CM_CFG_MIN_OPEN, .default_yaml = "0.0035",
     .doc = "Peak learning rate (MaPLe 0.0035, CoOp 0.002, VPT 0.0025)."},
    {.name = "momentum", .type = CM_CFG_DOUBLE, .offset = AT(optim.momentum), .min = 0, .max = 1,
     .flags = CM_CFG_MAX_OPEN, .default_yaml = "0.9", .doc = "SGD momentum (Dassl 0.9)."},
    {.name = "weight_decay", .type = CM_CFG_DOUBLE, .offset = AT(optim.weight_decay), .min = 0,
     .max = 1, .default_yaml = "0.0005",
     .doc = "Weight decay on the trained parameters (Dassl 5e-4; decoupled for adamw)."},
    {.name = "beta1", .type = CM_CFG_DOUBLE, .offset = AT(optim.beta1), .min = 0, .max = 1,
     .flags = CM_CFG_MAX_OPEN, .default_yaml = "0.9", .doc = "adamw: first-moment decay."},
    {.name = "beta2", .type = CM_CFG_DOUBLE, .offset = AT(optim.beta2), .min = 0, .max = 1,
     .flags = CM_CFG_MAX_OPEN, .default_yaml = "0.999", .doc = "adamw: second-moment decay."},
    {.name = "eps", .type = CM_CFG_DOUBLE, .offset = AT(optim.eps), .min = 0, .max = 1,
     .flags = CM_CFG_MIN_OPEN, .default_yaml = "1e-08", .doc = "adamw: denominator epsilon."},
    {.name = "schedule", .type = CM_CFG_ENUM, .offset = AT(optim.schedule), .names = schedules,
     .default_yaml = "cosine",
     .doc = "Learning-rate schedule after warm-up, stepped once per epoch (Dassl cosine)."},
    {.name = "warmup_epochs", .type = CM_CFG_INT, .offset = AT(optim.warmup_epochs), .min = 0,
     .max = 1e6, .default_yaml = "1", .doc = "Warm-up epochs (MaPLe 1); 0 = none."},
    {.name = "warmup", .type = CM_CFG_ENUM, .offset = AT(optim.warmup), .names = warmup_kinds,
     .default_yaml = "constant",
     .doc = "Warm-up at `warmup_lr` (constant) or rising from it to `lr` (linear)."},
    {.name = "warmup_lr", .type = CM_CFG_DOUBLE, .offset = AT(optim.warmup_lr), .min = 0,
     .max = 10, .default_yaml = "1e-05", .doc = "Warm-up learning rate (MaPLe 1e-5)."},
    {.name = "clip_grad_norm", .type = CM_CFG_DOUBLE, .offset = AT(optim.clip_grad_norm),
     .min = 0, .max = 1e12, .default_yaml = "0",
     .doc = "Clip the global gradient norm to this value; 0 = no clipping."},
    {.name = "batch_size", .type = CM_CFG_INT, .offset = AT(optim.batch_size), .min = 1,
     .max = 1e6, .default_yaml = "4",
     .doc = "Images per task per step (MaPLe 4; the paper's is unknown)."},
    {.name = "epochs", .type = CM_CFG_INT, .offset = AT(optim.epochs), .min = 0, .max = 1e6,
     .default_yaml = "5", .doc = "Training epochs (MaPLe 5); not used when `steps` > 0."},
    {.name = "steps", .type = CM_CFG_INT64, .offset = AT(optim.steps), .min = 0, .max = BIG,
     .default_yaml = "0", .doc = "Training steps; when > 0 they replace `epochs`."},
};

static const cm_config_key train_keys[] = {
    {.name = "eval_every", .type = CM_CFG_INT64, .offset = AT(train.eval_every), .min = 0,
     .max = BIG, .default_yaml = "0",
     .doc = "Steps between two evaluations on the test splits; 0 = only at the end."},
    {.name = "eval_batch_size", .type = CM_CFG_INT, .offset = AT(train.eval_batch_size),
     .min = 1, .max = 1e6, .default_yaml = "64", .doc = "Images per evaluation batch."},
    {.name = "test_images", .type = CM_CFG_INT, .offset = AT(train.test_images), .min = 0,
     .max = 1e9, .default_yaml = "0",
     .doc = "Test images evaluated per task: the first `test_images` of its test split (a fixed "
            "subset, the same for every method and seed); 0 = all."},
    {.name = "test_skip", .type = CM_CFG_INT, .offset = AT(train.test_skip), .min = 0,
     .max = 1e9, .default_yaml = "0",
     .doc = "Test images of each task passed over before the evaluated ones: with test_images, a "
            "window [test_skip, test_skip + test_images) of the test split, e.g. a validation "
            "window disjoint from the reported one for choosing hyper-parameters."},
    {.name = "zeroshot_baseline", .type = CM_CFG_BOOL, .offset = AT(train.zeroshot_baseline),
     .default_yaml = "false",
     .doc = "Also evaluate the frozen CLIP zero-shot (method zeroshot, the same class sentences "
            "and test images) after training, and report it and the gain per task next to the "
            "result (results.h5: zeroshot_accuracy). Costs one more evaluation pass, counted in the "
            "run's wall_time."},
};

static const cm_config_key compute_keys[] = {
    {.name = "precision", .type = CM_CFG_ENUM, .offset = AT(compute.precision),
     .names = precisions, .default_yaml = "fp32",
     .doc = "Arithmetic of the products with the frozen CLIP weights. `fp32`: everything in fp32. "
            "`bf16`: those weights kept as a bfloat16 copy and the products' other operand rounded to "
            "bfloat16, accumulated in fp32; prompts, gradients and optimizer state stay fp32 (needs "
            "the `onednn` path on a CPU with AVX512-BF16). The reference runs fp16."},
    {.name = "gemm", .type = CM_CFG_ENUM, .offset = AT(compute.gemm), .names = gemm_paths,
     .default_yaml = "auto",
     .doc = "GEMM path. `openblas`: cblas_sgemm (portable). `onednn`: oneDNN, which picks "
            "AVX-512 / AVX512-BF16 kernels by itself (build with libdnnl-dev). `auto`: `onednn` when "
            "built in and the CPU has AVX-512, else `openblas`. The path used is recorded in the "
            "log and in every output file (attribute `compute`)."},
};

static const cm_config_key pretrain_keys[] = {
    {.name = "steps", .type = CM_CFG_INT64, .offset = AT(pretrain.steps), .min = 1, .max = BIG,
     .default_yaml = "1000", .doc = "Pretraining steps."},
    {.name = "batch_size", .type = CM_CFG_INT, .offset = AT(pretrain.batch_size), .min = 2,
     .max = 1e6, .default_yaml = "128",
     .doc = "Image/caption pairs per step over all ranks (the contrastive loss's in-batch negatives)."},
    {.name = "lr", .type = CM_CFG_DOUBLE, .offset = AT(pretrain.lr), .min = 0, .max = 10,
     .flags = CM_CFG_MIN_OPEN, .default_yaml = "0.001", .doc = "Peak AdamW learning rate (our choice)."},
    {.name = "weight_decay", .type = CM_CFG_DOUBLE, .offset = AT(pretrain.weight_decay), .min = 0,
     .max = 1, .default_yaml = "0.1",
     .doc = "Decoupled weight decay of the matrices (linear, conv and projection weights); gains, "
            "biases, embeddings and logit_scale are not decayed."},
    {.name = "beta1", .type = CM_CFG_DOUBLE, .offset = AT(pretrain.beta1), .min = 0, .max = 1,
     .flags = CM_CFG_MAX_OPEN, .default_yaml = "0.9", .doc = "AdamW first-moment decay."},
    {.name = "beta2", .type = CM_CFG_DOUBLE, .offset = AT(pretrain.beta2), .min = 0, .max = 1,
     .flags = CM_CFG_MAX_OPEN, .default_yaml = "0.98", .doc = "AdamW second-moment decay (CLIP's 0.98)."},
    {.name = "eps", .type = CM_CFG_DOUBLE, .offset = AT(pretrain.eps), .min = 0, .max = 1,
     .flags = CM_CFG_MIN_OPEN, .default_yaml = "1e-06", .doc = "AdamW denominator epsilon (CLIP's 1e-6)."},
    {.name = "warmup_steps", .type = CM_CFG_INT64, .offset = AT(pretrain.warmup_steps), .min = 0,
     .max = BIG, .default_yaml = "50",
     .doc = "Steps of linear warm-up (lr (s+1)/W at step s), then cosine decay to 0, per step."},
    {.name = "templates", .type = CM_CFG_STRING_LIST, .offset = AT(pretrain.templates),
     .flags = CM_CFG_NONEMPTY | CM_CFG_UNIQUE,
     .default_yaml = "[\"a photo of a {}.\", \"a picture of a {}.\", \"an image of a {}.\", "
                     "\"a photo of the {}.\", \"a close-up photo of a {}.\", \"a cropped photo of a {}.\", "
                     "\"a good photo of a {}.\", \"a low resolution photo of a {}.\"]",
     .doc = "Caption templates; `{}` becomes the garment phrase `[small] [colour] class [on the left]`."},
    {.name = "dark_templates", .type = CM_CFG_STRING_LIST, .offset = AT(pretrain.dark_templates),
     .flags = CM_CFG_NONEMPTY | CM_CFG_UNIQUE,
     .default_yaml = "[\"a dark photo of a {}.\", \"a dark picture of a {}.\"]",
     .doc = "Templates of a darkened image (see `dark_prob`)."},
    {.name = "colour_prob", .type = CM_CFG_DOUBLE, .offset = AT(pretrain.colour_prob), .min = 0,
     .max = 1, .default_yaml = "0.5",
     .doc = "Share of images whose garment is tinted red, green, blue, yellow or purple (named in "
            "the caption)."},
    {.name = "small_prob", .type = CM_CFG_DOUBLE, .offset = AT(pretrain.small_prob), .min = 0,
     .max = 1, .default_yaml = "0.3",
     .doc = "Share of images whose garment is shrunk to 60% and placed in the centre or on the "
            "left, right, top or bottom of the canvas (\"a small ... on the left\")."},
    {.name = "dark_prob", .type = CM_CFG_DOUBLE, .offset = AT(pretrain.dark_prob), .min = 0,
     .max = 1, .default_yaml = "0.2",
     .doc = "Share of images darkened to 40% brightness and captioned with `dark_templates`."},
    {.name = "eval_every", .type = CM_CFG_INT64, .offset = AT(pretrain.eval_every), .min = 0,
     .max = BIG, .default_yaml = "200",
     .doc = "Steps between zero-shot evaluations on original-domain test images; 0 = only at the end."},
    {.name = "eval_images", .type = CM_CFG_INT, .offset = AT(pretrain.eval_images), .min = 1,
     .max = 10000, .default_yaml = "2000",
     .doc = "t10k images of an evaluation during pretraining; the final one uses all 10000."},
    {.name = "sparse_embedding", .type = CM_CFG_BOOL, .offset = AT(pretrain.sparse_embedding),
     .default_yaml = "true",
     .doc = "Zero, sum over the ranks and update only the token-embedding rows that captions have "
            "used so far (on any rank). Every other row has had a zero gradient and zero AdamW "
            "moments since the start, and embeddings are not decayed, so the result is the dense "
            "update's (bitwise on 1 and 2 ranks). `false`: every one of the 49408 rows, as "
            "torch's AdamW loops."},
    {.name = "save_model_at", .type = CM_CFG_INT64, .offset = AT(pretrain.save_model_at), .min = 0,
     .max = BIG, .default_yaml = "0",
     .doc = "Also write `model-step<N>.safetensors`, an ordinary CLIP checkpoint, when the run reaches "
            "step N (zero-shot evaluated on all 10000 test images then), so that a shorter-trained "
            "model comes out of the same run; 0 = none. The demo's CLIP is step 1000 of the study's "
            "2000."},
    {.name = "stop_after", .type = CM_CFG_INT64, .offset = AT(pretrain.stop_after), .min = 0,
     .max = BIG, .default_yaml = "0",
     .doc = "End this invocation after step N with a checkpoint and exit 0; `--resume` continues. "
            "The schedule still spans `pretrain.steps`, so a stopped and resumed run writes the "
            "model of one uninterrupted run. 0 = run to `pretrain.steps`."},
};

#define SECTION(name, doc, keys) {name, doc, keys, (int)(sizeof keys / sizeof keys[0])}
const cm_config_section cm_config_sections[] = {
    SECTION("run", "Naming, seeding and output of the run.", run_keys),
    SECTION("model", "The frozen CLIP model.", model_keys),
    SECTION("data", "Datasets, tasks and splits (spec 5).", data_keys),
    SECTION("method", "The trained parameters (spec 2 and 3).", method_keys),
    SECTION("multitask", "How tasks share parameters (spec 4).", multitask_keys),
    SECTION("grouping", "From task similarity to groups (spec 4.3).", grouping_keys),
    SECTION("optim", "Optimizer and learning-rate schedule (spec 2.7).", optim_keys),
    SECTION("train", "Evaluation.", train_keys),
    SECTION("compute", "How the matrix products are computed.", compute_keys),
    SECTION("pretrain", "`clipmtl pretrain`: CLIP's contrastive pretraining on captioned "
            "Fashion-MNIST (model.preset, data.pretrain_images).", pretrain_keys),
};
const int cm_config_nsections = (int)(sizeof cm_config_sections / sizeof cm_config_sections[0]);

/* The top level: a section whose keys are the sections. */
static const cm_config_key root_keys[] = {
    {.name = "run", .type = CM_CFG_SECTION, .section = &cm_config_sections[0]},
    {.name = "model", .type = CM_CFG_SECTION, .section = &cm_config_sections[1]},
    {.name = "data", .type = CM_CFG_SECTION, .section = &cm_config_sections[2]},
    {.name = "method", .type = CM_CFG_SECTION, .section = &cm_config_sections[3]},
    {.name = "multitask", .type = CM_CFG_SECTION, .section = &cm_config_sections[4]},
    {.name = "grouping", .type = CM_CFG_SECTION, .section = &cm_config_sections[5]},
    {.name = "optim", .type = CM_CFG_SECTION, .section = &cm_config_sections[6]},
    {.name = "train", .type = CM_CFG_SECTION, .section = &cm_config_sections[7]},
    {.name = "compute", .type = CM_CFG_SECTION, .section = &cm_config_sections[8]},
    {.name = "pretrain", .type = CM_CFG_SECTION, .section = &cm_config_sections[9]},
};
const cm_config_section cm_config_root = {"", "", root_keys, (int)(sizeof root_keys / sizeof root_keys[0])};

const char cm_config_doc_intro[] =
    "A run is described by one YAML file with the sections below. Every key is optional unless "
    "marked required;\n"
    "a key left out keeps its default. Unknown keys, duplicate keys, values of the wrong type or "
    "out of range are\n"
    "errors that name the file, line and column. Show the effective configuration of a file "
    "(with overrides) by\n\n"
    "    clipmtl config experiments/demo.yaml --set optim.lr=0.01\n\n"
    "Defaults follow the MaPLe repository (optimizer) and the MmAP defaults of the specification "
    "(section 3.4);\n"
    "the paper's own hyper-parameters are unknown. Ranges: `[a, b]` closed, `(a, b]` excludes a.\n\n"
    "Examples: `demo.yaml` (a small multi-task run on the Fashion-MNIST domains with the fmnist-small\n"
    "CLIP that `pretrain_fmnist.yaml` makes), `fmnist_study.yaml` (the study of `run_fmnist_study.sh`)\n"
    "and `office_home.yaml` (the paper's setup: CLIP ViT-B/16, the four Office-Home domains).\n";

/* ---- key numbering and lookup ---- */

typedef struct {
    const char *want;    /* path searched, or NULL */
    int want_index;      /* index searched, or -1 */
    int next;            /* running index */
    const cm_config_key *found;
    int found_index;
    char *path;          /* where the found key's path is written (may be NULL) */
    size_t len;
} key_walk;

static void walk_section(const cm_config_section *s, const char *prefix, key_walk *w)
{
    for (int i = 0; i < s->nkeys && !w->found; i++) {
        const cm_config_key *k = &s->keys[i];
        char path[256];
        snprintf(path, sizeof path, "%s%s%s", prefix, *prefix ? "." : "", k->name);
        if (k->type == CM_CFG_SECTION) {
            walk_section(k->section, path, w);
            continue;
        }
        int index = w->next++;
        if ((w->want && strcmp(w->want, path) == 0) || index == w->want_index) {
            w->found = k;
            w->found_index = index;
            if (w->path) snprintf(w->path, w->len, "%s", path);
        }
    }
}

/* Sections are not keys: the walk numbers the leaves below them. */
static const cm_config_key *walk_root(key_walk *w)
{
    walk_section(&cm_config_root, "", w);
    return w->found;
}

int cm_config_nkeys(void)
{
    key_walk w = {.want_index = -1};
    walk_root(&w);
    return w.next;
}

const cm_config_key *cm_config_find_key(const char *path, int *index)
{
    key_walk w = {.want = path, .want_index = -1};
    const cm_config_key *k = walk_root(&w);
    if (k && index) *index = w.found_index;
    return k;
}

const cm_config_key *cm_config_key_at(int index, char *path, size_t len)
{
    key_walk w = {.want_index = index, .path = path, .len = len};
    return index >= 0 ? walk_root(&w) : NULL;
}
