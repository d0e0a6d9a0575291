#!/usr/bin/python3
"""Reference values for the parameter-updating baselines in cm_task_step
(tests/train/test_baselines.c), spec.md 2.9, on the tiny CLIP of train_step_reference.py (the
same weights, pixels and labels: tests/fixtures/train_step/{weights,pixels,labels}.*).

  full     every CLIP tensor trainable (MT full fine-tuning); the parameters are the model's own
           weights (the C side copies them from the model), the gradient of every tensor;
  bitfit   the bias vectors only (attn in_proj/out_proj, mlp c_fc/c_proj, ln_1/ln_2 of every
           block, ln_pre, ln_post, ln_final), set here to the model's biases plus noise so
           that a forward that read the frozen model instead would not match;
  adapter  CLIP-Adapter (Gao et al. 2021): Linear(E, E/4, bias=False), ReLU,
           Linear(E/4, E, bias=False), ReLU on the image and on the text features (target both),
           f' = 0.2 adapter(f) + 0.8 f before the head normalises them; CLIP frozen.

The class sentences carry no prompt slots ("a photo of a" + class words, random ids), one batch
of 4 images and 5 classes, fp32, mean cross-entropy, gradients from autograd. Written under
tests/fixtures/baselines/ (raw little-endian), per case:
  <case>.ids.i32  [5,77];  <case>.tensors.txt  "shared.<name> <numel>" per trainable tensor in
  the order of the C table;  <case>.params.f32 (not for full: the model's weights);
  <case>.grads.f32;  <case>.loss.f64  the mean loss and the number of correct images.
Run with Debian's /usr/bin/python3 (python3-torch 1.13): `make fixtures` (after
train_step_reference.py, whose weights it checks).
"""
import copy
import os
import sys

import numpy as np
import torch
from torch import nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import train_step_reference as ref  # noqa: E402

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fixtures", "baselines")
RATIO, REDUCTION = 0.2, 4

BLOCK = ("ln_1.weight", "ln_1.bias", "attn.in_proj_weight", "attn.in_proj_bias", "attn.out_proj.weight",
         "attn.out_proj.bias", "ln_2.weight", "ln_2.bias", "mlp.c_fc.weight", "mlp.c_fc.bias",
         "mlp.c_proj.weight", "mlp.c_proj.bias")


def layout_names():
    """OpenAI names in cm_clip_layout order (TinyCLIP.layout() gives the tensors)."""
    blocks = lambda prefix, layers: [f"{prefix}resblocks.{l}.{n}" for l in range(layers) for n in BLOCK]
    return (["visual.conv1.weight", "visual.class_embedding", "visual.positional_embedding",
             "visual.ln_pre.weight", "visual.ln_pre.bias"] + blocks("visual.transformer.", ref.LV) +
            ["visual.ln_post.weight", "visual.ln_post.bias", "visual.proj", "token_embedding.weight",
             "positional_embedding"] + blocks("transformer.", ref.LT) +
            ["ln_final.weight", "ln_final.bias", "text_projection", "logit_scale"])


class Adapter(nn.Module):
    """CLIP-Adapter's module (its ImageNet code): two bias-free Linear layers, each followed by ReLU."""

    def __init__(self, c_in, reduction):
        super().__init__()
        self.fc = nn.Sequential(nn.Linear(c_in, c_in // reduction, bias=False), nn.ReLU(inplace=True),
                                nn.Linear(c_in // reduction, c_in, bias=False), nn.ReLU(inplace=True))
        with torch.no_grad():  # larger than PyTorch's default so that the residual branch matters
            for lin in (self.fc[0], self.fc[2]):
                lin.weight.copy_(0.6 * torch.randn_like(lin.weight))

    def forward(self, x):
        return self.fc(x)


def head_loss(model, img, txt, labels):
    img = img / img.norm(dim=-1, keepdim=True)
    txt = txt / txt.norm(dim=-1, keepdim=True)
    logits = model.logit_scale.exp() * img @ txt.t()
    return nn.functional.cross_entropy(logits, labels), int((logits.argmax(dim=1) == labels).sum())


def save(name, array):
    array.tofile(os.path.join(OUT, name))


def write_case(case, ids, tensors, loss, correct, with_params=True):
    save(f"{case}.ids.i32", ids.numpy().astype("<i4"))
    with open(os.path.join(OUT, f"{case}.tensors.txt"), "w") as f:
        for name, p in tensors:
            f.write(f"shared.{name} {p.numel()}\n")
    flat = lambda ts: np.concatenate([t.detach().reshape(-1).numpy() for t in ts])
    if with_params:
        save(f"{case}.params.f32", flat([p for _, p in tensors]).astype("<f4"))
    save(f"{case}.grads.f32", flat([p.grad for _, p in tensors]).astype("<f4"))
    save(f"{case}.loss.f64", np.array([loss.item(), correct], dtype="<f8"))
    print(f"{case}: loss {loss.item():.6f}, {correct}/{ref.B} correct, {sum(p.numel() for _, p in tensors)} parameters")


def main():
    os.makedirs(OUT, exist_ok=True)
    torch.set_num_threads(1)
    torch.manual_seed(1234)  # as train_step_reference.main: the same model and pixels
    model = ref.TinyCLIP()
    pixels = torch.randn(ref.B, 3, ref.IMAGE, ref.IMAGE)
    labels = torch.tensor(ref.LABELS)
    weights = np.fromfile(os.path.join(ref.OUT, "weights.f32"), dtype="<f4")
    assert np.array_equal(weights, torch.cat([t.detach().reshape(-1) for t in model.layout()]).numpy()), \
        "train_step fixtures are from another model: run train_step_reference.py first"
    torch.manual_seed(2024)
    names = layout_names()
    assert len(names) == len(model.layout())

    # full: every tensor of a copy of the model is trainable.
    full = copy.deepcopy(model)
    tensors = list(zip(names, full.layout()))
    for _, p in tensors:
        p.requires_grad_(True)
    ids = ref.class_sentences(4)
    loss, correct = head_loss(full, full.encode_image(pixels, None), full.encode_text(ids, None), labels)
    loss.backward()
    write_case("full", ids, tensors, loss, correct, with_params=False)

    # bitfit: the biases of a copy, moved away from the model's values, are the only trainable tensors.
    bitfit = copy.deepcopy(model)
    for p in bitfit.parameters():
        p.requires_grad_(False)
    tensors = [(n, p) for n, p in zip(names, bitfit.layout()) if n.endswith("bias")]
    with torch.no_grad():
        for _, p in tensors:
            p.add_(0.05 * torch.randn_like(p))
    for _, p in tensors:
        p.requires_grad_(True)
    ids = ref.class_sentences(4)
    loss, correct = head_loss(bitfit, bitfit.encode_image(pixels, None), bitfit.encode_text(ids, None), labels)
    loss.backward()
    write_case("bitfit", ids, tensors, loss, correct)

    # adapter on both features, the model frozen.
    for p in model.parameters():
        p.requires_grad_(False)
    image_adapter, text_adapter = Adapter(ref.EMBED, REDUCTION), Adapter(ref.EMBED, REDUCTION)
    tensors = [("adapter.image.fc1.weight", image_adapter.fc[0].weight),
               ("adapter.image.fc2.weight", image_adapter.fc[2].weight),
               ("adapter.text.fc1.weight", text_adapter.fc[0].weight),
               ("adapter.text.fc2.weight", text_adapter.fc[2].weight)]
    ids = ref.class_sentences(4)
    img, txt = model.encode_image(pixels, None), model.encode_text(ids, None)
    img = RATIO * image_adapter(img) + (1 - RATIO) * img
    txt = RATIO * text_adapter(txt) + (1 - RATIO) * txt
    loss, correct = head_loss(model, img, txt, labels)
    loss.backward()
    active = [(p.grad != 0).float().mean().item() for _, p in tensors]
    assert all(0 < a < 1 for a in active), f"ReLUs all on or all off: {active}"
    write_case("adapter", ids, tensors, loss, correct)


if __name__ == "__main__":
    main()
