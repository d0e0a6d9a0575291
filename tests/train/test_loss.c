/* CLIP head + cross-entropy against torch autograd (tests/reference/loss_reference.py, fp64
 * reference stored as float32). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "clipmtl/loss.h"
#include "test_util.h"

int main(void)
{
    enum { B = 6, C = 5, E = 16 };
    float *img = cm_test_read_f32(cm_test_fixture("train/head_img.f32"), B * E);
    float *txt = cm_test_read_f32(cm_test_fixture("train/head_txt.f32"), C * E);
    float *want_logits = cm_test_read_f32(cm_test_fixture("train/head_logits.f32"), B * C);
    float *want_dimg = cm_test_read_f32(cm_test_fixture("train/head_dimg.f32"), B * E);
    float *want_dtxt = cm_test_read_f32(cm_test_fixture("train/head_dtxt.f32"), C * E);
    int32_t *labels = cm_test_read_exact(cm_test_fixture("train/head_labels.i32"), B * sizeof(int32_t));
    double *want_loss = cm_test_read_exact(cm_test_fixture("train/head_loss.f64"), sizeof(double));
    int ok = labels && want_loss && img && txt && want_logits && want_dimg && want_dtxt;
    CM_TEST(ok, "missing fixtures (make fixtures)");
    if (!ok) return cm_test_summary();

    const float logit_scale = logf(100.0f);
    float logits[B * C], inv_img[B], inv_txt[C], d_logits[B * C], scratch[B * C], d_img[B * E], d_txt[C * E];
    cm_clip_head_forward(logits, inv_img, inv_txt, img, txt, B, C, E, logit_scale);
    cm_test_close("logits vs torch", logits, want_logits, B * C, 1e-5, 1e-5);
    int correct;
    double loss = cm_cross_entropy_forward_backward(d_logits, &correct, logits, labels, B, C);
    CM_TEST(fabs(loss - *want_loss) <= 1e-5 * fabs(*want_loss), "loss %.9g, torch %.9g", loss, *want_loss);
    printf("loss %.9g (torch %.9g), %d/%d correct\n", loss, *want_loss, correct, B);
    cm_clip_head_backward(d_img, d_txt, scratch, d_logits, img, txt, inv_img, inv_txt, B, C, E, logit_scale);
    cm_test_close("d image features vs autograd", d_img, want_dimg, B * E, 1e-4, 1e-6);
    cm_test_close("d text features vs autograd", d_txt, want_dtxt, C * E, 1e-4, 1e-6);
    free(img), free(txt), free(want_logits), free(want_dimg), free(want_dtxt), free(labels), free(want_loss);
    return cm_test_summary();
}
