"""Reference for tests/train/test_loss.c: CLIP head (cosine logits times exp(logit_scale)) and
cross-entropy with torch autograd, fp64, stored as float32 under tests/fixtures/train/."""
import math
import os
import numpy as np
import torch

out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fixtures", "train")
os.makedirs(out, exist_ok=True)
torch.manual_seed(1)
B, C, E = 6, 5, 16
img = torch.randn(B, E, dtype=torch.float64).float().double().requires_grad_()
txt = torch.randn(C, E, dtype=torch.float64).float().double().requires_grad_()
labels = torch.tensor([0, 3, 1, 4, 2, 3])
scale = math.log(100.0)
logits = math.exp(scale) * torch.nn.functional.normalize(img, dim=1) @ torch.nn.functional.normalize(txt, dim=1).T
loss = torch.nn.functional.cross_entropy(logits, labels)
loss.backward()
for name, t in [("head_img", img), ("head_txt", txt), ("head_logits", logits), ("head_dimg", img.grad),
                ("head_dtxt", txt.grad)]:
    t.detach().numpy().astype("<f4").tofile(os.path.join(out, name + ".f32"))
labels.numpy().astype("<i4").tofile(os.path.join(out, "head_labels.i32"))
np.array([loss.item()], dtype="<f8").tofile(os.path.join(out, "head_loss.f64"))
