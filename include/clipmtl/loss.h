/* The CLIP head and the training loss (spec.md 1.3): logits = exp(logit_scale) * cos(image,
 * class text), cross-entropy over the classes of the image's task. */
#ifndef CLIPMTL_LOSS_H
#define CLIPMTL_LOSS_H

/* logits[B,C] = exp(logit_scale) * (img_b / |img_b|) . (txt_c / |txt_c|).
 * inv_norm_img[B] and inv_norm_txt[C] are saved for the backward. */
void cm_clip_head_forward(float *logits, float *inv_norm_img, float *inv_norm_txt, const float *img, const float *txt,
                       int B, int C, int E, float logit_scale);
/* d_img[B,E] and d_txt[C,E] are overwritten; either may be NULL (frozen side).
 * scratch holds B*C floats. */
void cm_clip_head_backward(float *d_img, float *d_txt, float *scratch, const float *d_logits, const float *img,
                        const float *txt, const float *inv_norm_img, const float *inv_norm_txt, int B, int C, int E,
                        float logit_scale);

/* Mean cross-entropy over B rows of logits[B,C] with integer labels; *correct counts the rows
 * whose arg-max is the label (optional). d_logits (optional) receives d(mean loss)/d(logits). */
double cm_cross_entropy_forward_backward(float *d_logits, int *correct, const float *logits, const int *labels, int B,
                                      int C);

/* CLIP's contrastive loss over G in-batch pairs, logits[G,G] (row i: image i against every
 * caption; pair i is the diagonal): the mean of the image->text cross-entropy (rows) and the
 * text->image one (columns). d_logits (optional) receives its gradient; *correct (optional)
 * counts the images whose own caption has the largest logit of their row. */
double cm_contrastive_loss_forward_backward(float *d_logits, int *correct, const float *logits, int G);

#endif
