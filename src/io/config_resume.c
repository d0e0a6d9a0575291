/* Whether a run may resume from files written under another configuration (cm_config_check_resume). */
#include <string.h>

#include "clipmtl/config.h"
#include "clipmtl/log.h"
#include "config_schema.h"

/* Keys that change neither what is trained nor what is measured: where outputs and inputs live,
 * how often to log and checkpoint, where a pretraining pauses or also saves its model, the watchdog,
 * evaluation batching, the zero-shot baseline evaluated beside the result. Every other key does. */
static const char *const free_on_resume[] = {"run.name", "run.out_dir", "run.log_every", "run.checkpoint_every",
                                             "run.keep_checkpoints", "run.stall_timeout", "data.root", "data.packed",
                                             "train.eval_every", "train.eval_batch_size", "train.zeroshot_baseline",
                                             "pretrain.save_model_at", "pretrain.stop_after", NULL};

static int free_key(const char *path)
{
    for (int i = 0; free_on_resume[i]; i++)
        if (strcmp(path, free_on_resume[i]) == 0) return 1;
    return 0;
}

cm_err cm_config_check_resume(const cm_config *c, const char *stored_text, const char *source, int allow_change)
{
    cm_config stored;
    CM_CHECK(cm_config_defaults(&stored));
    cm_err err = cm_config_read_string(&stored, stored_text, source);
    char keys[1024] = "";
    size_t used = 0;
    int changed = 0;
    for (int i = 0; err == CM_OK && i < cm_config_nkeys(); i++) {
        char path[256];
        const cm_config_key *k = cm_config_key_at(i, path, sizeof path);
        if (free_key(path) || cm_config_value_equal(k, cm_config_field(c, k), cm_config_field(&stored, k))) continue;
        if (used < sizeof keys) used += (size_t)snprintf(keys + used, sizeof keys - used, "%s%s", changed ? ", " : "", path);
        changed++;
    }
    cm_config_free(&stored);
    CM_CHECK(err);
    if (!changed) return CM_OK;
    if (allow_change) {
        cm_log_warn("resuming from %s, written with other values of %s (--allow-config-change)", source, keys);
        return CM_OK;
    }
    CM_ERROR(CM_ERR_CONFIG, "%s was written with other values of %s: resume with its configuration (stored in the "
             "file as `config`), or pass --allow-config-change to continue with the new values", source, keys);
}
