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

/* The text prompt rows of a task take the place of the tokens of method.ctx_init (when set):
 * an error naming the key when it has fewer than `rows` tokens. In grouped mode a task's rows
 * are its group's then its own (the message says so). */
cm_err cm_method_check_ctx_init(const cm_config *c, const cm_tokenizer *tok, int rows);

#endif
