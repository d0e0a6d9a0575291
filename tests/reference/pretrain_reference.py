"""Reference for tests/train/test_pretrain.c: CLIP's symmetric contrastive loss and its
gradients (torch autograd), the per-step warm-up + cosine schedule (torch's LinearLR then
CosineAnnealingLR in a SequentialLR) and AdamW with weight decay on the matrix only (two
parameter groups), written as raw little-endian files under tests/fixtures/pretrain/.
Run by `make fixtures`."""
import os
import warnings
import numpy as np
import torch

warnings.filterwarnings("ignore", message="Detected call of")  # schedulers stepped without a real update
warnings.filterwarnings("ignore", message="The epoch parameter")  # raised inside SequentialLR
out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fixtures", "pretrain")
os.makedirs(out, exist_ok=True)
torch.manual_seed(12)


def save(name, x, dtype):
    np.asarray(x, dtype=dtype).tofile(os.path.join(out, name))


# ---- contrastive loss: G pairs of E-wide features, features before normalisation ----
G, E = 6, 5
# float32 values computed in float64: the C code reads the float32 files
img = torch.randn(G, E).double().requires_grad_()
txt = torch.randn(G, E).double().requires_grad_()
scale = torch.tensor(float(np.float32(np.log(1 / 0.07))), dtype=torch.float64, requires_grad=True)
logits = scale.exp() * (img / img.norm(dim=1, keepdim=True)) @ (txt / txt.norm(dim=1, keepdim=True)).T
target = torch.arange(G)
loss = 0.5 * (torch.nn.functional.cross_entropy(logits, target) + torch.nn.functional.cross_entropy(logits.T, target))
loss.backward()
save("contrastive_img.f32", img.detach().numpy(), "<f4")
save("contrastive_txt.f32", txt.detach().numpy(), "<f4")
save("contrastive_loss.f64", [loss.item(), scale.item(), scale.grad.item()], "<f8")
save("contrastive_dimg.f32", img.grad.numpy(), "<f4")
save("contrastive_dtxt.f32", txt.grad.numpy(), "<f4")

# ---- per-step schedule: base 1e-3, 5 warm-up steps of 20 ----
base, warm, total = 1e-3, 5, 20
p = torch.nn.Parameter(torch.zeros(1))
opt = torch.optim.SGD([p], lr=base)
sched = torch.optim.lr_scheduler.SequentialLR(
    opt, [torch.optim.lr_scheduler.LinearLR(opt, start_factor=1 / warm, end_factor=1.0, total_iters=warm - 1),
          torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=total - warm)], milestones=[warm])
lrs = []
for s in range(total):
    lrs.append(opt.param_groups[0]["lr"])
    sched.step()
save("schedule_step_lr.f64", lrs, "<f8")

# ---- AdamW, decay on the matrix only, lr from the schedule above ----
matrix = torch.nn.Parameter(torch.randn(3, 4))
vector = torch.nn.Parameter(torch.randn(4))
save("adamw_p0.f32", np.concatenate([matrix.detach().numpy().ravel(), vector.detach().numpy()]), "<f4")
grads = torch.randn(8, 16)
save("adamw_grads.f32", grads.numpy(), "<f4")
opt = torch.optim.AdamW([{"params": [matrix], "weight_decay": 0.1}, {"params": [vector], "weight_decay": 0.0}],
                        lr=base, betas=(0.9, 0.98), eps=1e-6)
for s in range(8):
    for group in opt.param_groups:
        group["lr"] = lrs[s] * 100  # large enough that the decay shows
    matrix.grad = grads[s, :12].reshape(3, 4).clone()
    vector.grad = grads[s, 12:].clone()
    opt.step()
save("adamw_out.f32", np.concatenate([matrix.detach().numpy().ravel(), vector.detach().numpy()]), "<f4")
