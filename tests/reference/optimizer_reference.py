"""Reference for tests/train/test_optimizer.c: torch.optim.SGD and AdamW trajectories and the
Dassl-style schedule (constant warm-up, then CosineAnnealingLR stepped after the warm-up),
written as raw float32/float64 files under tests/fixtures/train/. Run by `make fixtures`."""
import os
import warnings
import numpy as np
import torch

warnings.filterwarnings("ignore", message="Detected call of")  # no optimizer steps needed here
out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fixtures", "train")
os.makedirs(out, exist_ok=True)
torch.manual_seed(0)
n, steps = 64, 6
p0 = torch.randn(n)
grads = torch.randn(steps, n)
p0.numpy().astype("<f4").tofile(os.path.join(out, "opt_p0.f32"))
grads.numpy().astype("<f4").tofile(os.path.join(out, "opt_grads.f32"))
lrs = [0.0035, 0.002, 0.001, 0.0035, 0.01, 0.005]

def run(make):
    p = torch.nn.Parameter(p0.clone())
    opt = make([p])
    for s in range(steps):
        for group in opt.param_groups:
            group["lr"] = lrs[s]
        p.grad = grads[s].clone()
        opt.step()
    return p.detach().numpy()

run(lambda ps: torch.optim.SGD(ps, lr=0.1, momentum=0.9, weight_decay=5e-4)).astype("<f4").tofile(
    os.path.join(out, "opt_sgd.f32"))
run(lambda ps: torch.optim.AdamW(ps, lr=0.1, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.01)).astype(
    "<f4").tofile(os.path.join(out, "opt_adamw.f32"))

# Schedule: 1 constant warm-up epoch at 1e-5, cosine over 10 epochs, base 0.0035 (spec.md 2.7).
base, max_epoch, warm = 0.0035, 10, 1
p = torch.nn.Parameter(torch.zeros(1))
opt = torch.optim.SGD([p], lr=base)
cosine = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=max_epoch)
lr = []
for epoch in range(max_epoch):
    if epoch < warm:
        lr.append(1e-5)
    else:
        lr.append(opt.param_groups[0]["lr"])
        cosine.step()
np.array(lr, dtype="<f8").tofile(os.path.join(out, "schedule_lr.f64"))

g = torch.randn(100) * 3
pp = torch.nn.Parameter(torch.zeros(100))
pp.grad = g.clone()
norm = torch.nn.utils.clip_grad_norm_([pp], 1.0)
g.numpy().astype("<f4").tofile(os.path.join(out, "clip_in.f32"))
pp.grad.numpy().astype("<f4").tofile(os.path.join(out, "clip_out.f32"))
np.array([float(norm)], dtype="<f8").tofile(os.path.join(out, "clip_norm.f64"))
