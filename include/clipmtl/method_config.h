/* The methods' side of the configuration: each method maps its keys of the method section to
 * cm_method_options and checks them, in its own file, reached through the method table
 * (src/methods/method_impl.h). The configuration (config.h) only names the keys. */
#ifndef CLIPMTL_METHOD_CONFIG_H
#define CLIPMTL_METHOD_CONFIG_H

#include "clipmtl/config.h"
#include "clipmtl/prompt_method.h"
#include "clipmtl/tokenizer.h"

/* The options of a configuration's method section: the method's defaults, the common keys
 * (init_std, ctx_init, depth), then the method's own keys. */
void cm_method_options_from_config(const cm_config_method *m, cm_method_options *o);

/* The method's rules on the configuration c: without a model (model NULL; cm_config_validate),
 * and against a model's widths, depths and context (cm_config_check_model). Errors name the key
 * the user set and where its value came from. */
cm_err cm_method_check_config(const cm_config *c, const cm_clip_config *model);

/* Methods that initialise their text prompts from method.ctx_init (cm_method_word_init: CoOp, IVLP,
 * MaPLe) take one word per row: an error naming the key when it has tokens, but fewer than
 * `rows`. Other methods, and an empty ctx_init, pass. */
int cm_method_word_init(cm_method_kind kind);
cm_err cm_method_check_ctx_init(const cm_config *c, const cm_tokenizer *tok, int rows);

#endif
