/* The methods' side of the configuration: each method maps its keys of the method section to
 * cm_method_options and checks them, in its own file, reached through the method table
 * (src/methods/method_impl.h). The configuration (config.h) only names the keys. */
#ifndef CLIPMTL_METHOD_CONFIG_H
#define CLIPMTL_METHOD_CONFIG_H

#include "clipmtl/config.h"
#include "clipmtl/prompt_method.h"

/* The options of a configuration's method section: the method's defaults, the common keys
 * (init_std, ctx_init, depth), then the method's own keys. */
void cm_method_options_from_config(const cm_config_method *m, cm_method_options *o);

/* The method's rules on the configuration c: without a model (model NULL; cm_config_validate),
 * and against a model's widths, depths and context (cm_config_check_model). Errors name the key
 * the user set and where its value came from. */
cm_err cm_method_check_config(const cm_config *c, const cm_clip_config *model);

/* Whether the method initialises its layer-0 text prompts from method.ctx_init's token embeddings,
 * one token per row (CoOp, IVLP, MaPLe). */
int cm_method_word_init(cm_method_kind kind);

#endif
