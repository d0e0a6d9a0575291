#!/usr/bin/python3
"""Reference values for the CLIP encoders (tests/clip/test_encoders.c).

A tiny CLIP with random weights, written here in plain fp32 PyTorch modules that
follow OpenAI's clip/model.py (ResidualAttentionBlock with nn.MultiheadAttention,
QuickGELU, pre-LN, sequence-first layout, ln_post on the class token, EOT pooling
at argmax(ids)), plus deep prompts inserted as MaPLe/IVLP do it (spec.md 2.1):

  vision  width 64, 2 layers, 2 heads, patch 8 @ 32 px (grid 4, 17 tokens)
  text    width 64, 2 layers, 2 heads, context 77, vocabulary 500 (SOS 498, EOT 499)
  embed   32; prompts n = 2 tokens per layer, depth 2, on both towers

The heads are 2 rather than OpenAI's width/64 = 1 so that the test runs more than
one head per tower; the head count is a configuration value of the C encoders.

Written under tests/fixtures/clip/ as raw little-endian float32:
  weights.f32            every tensor in cm_clip_layout order (src/clip/clip_model.c)
  pixels.f32 [2,3,32,32], ids.f32 [3,77] (exact small integers)
  visual_prompts.f32, text_prompts.f32 [2,2,64]
  {plain,prompted}.image_features.f32 [2,32], .text_features.f32 [3,32], .logits.f32 [2,3]
  prompted.vision_block_in.f32 [2,2,19,64]  input of each block after prompt insertion
  prompted.vision_head_ln.f32  [2,64]       ln_post(class token)
  prompted.text_block_in.f32   [2,3,77,64]  input of each block after prompt insertion
  prompted.text_head_ln.f32    [3,64]       ln_final(EOT token)
Run with Debian's /usr/bin/python3 (python3-torch 1.13): `make fixtures`.
"""
import math
import os
from collections import OrderedDict

import torch
from torch import nn

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fixtures", "clip")
torch.manual_seed(0)
torch.set_num_threads(1)

VISION_WIDTH, VISION_LAYERS, VISION_HEADS, PATCH, IMAGE = 64, 2, 2, 8, 32
TEXT_WIDTH, TEXT_LAYERS, TEXT_HEADS, CONTEXT, VOCAB = 64, 2, 2, 77, 500
EMBED = 32
N_PROMPTS, PROMPT_DEPTH = 2, 2
SOS, EOT = VOCAB - 2, VOCAB - 1


class QuickGELU(nn.Module):
    def forward(self, x):
        return x * torch.sigmoid(1.702 * x)


class ResidualAttentionBlock(nn.Module):
    def __init__(self, d, heads, causal):
        super().__init__()
        self.attn = nn.MultiheadAttention(d, heads)
        self.ln_1 = nn.LayerNorm(d)
        self.mlp = nn.Sequential(OrderedDict([("c_fc", nn.Linear(d, 4 * d)), ("gelu", QuickGELU()),
                                              ("c_proj", nn.Linear(4 * d, d))]))
        self.ln_2 = nn.LayerNorm(d)
        self.causal = causal

    def forward(self, x):  # [T,B,D]
        mask = None
        if self.causal:
            T = x.shape[0]
            mask = torch.full((T, T), float("-inf")).triu_(1)
        h = self.ln_1(x)
        x = x + self.attn(h, h, h, need_weights=False, attn_mask=mask)[0]
        return x + self.mlp(self.ln_2(x))


class Transformer(nn.Module):
    def __init__(self, d, layers, heads, causal):
        super().__init__()
        self.resblocks = nn.Sequential(*[ResidualAttentionBlock(d, heads, causal) for _ in range(layers)])

    def forward(self, x, prompts, first_row, record):
        """Deep prompts of layer i in 1..depth-1 overwrite rows first_row.. before block i."""
        for i, block in enumerate(self.resblocks):
            if prompts is not None and 0 < i < prompts.shape[0]:
                n = prompts.shape[1]
                p = prompts[i].unsqueeze(1).expand(n, x.shape[1], x.shape[2])
                x = torch.cat([x[:first_row], p, x[first_row + n:]], dim=0)
            record.append(x.permute(1, 0, 2).detach().clone())
            x = block(x)
        return x


class VisionTransformer(nn.Module):
    def __init__(self):
        super().__init__()
        d, scale = VISION_WIDTH, VISION_WIDTH ** -0.5
        grid = IMAGE // PATCH
        self.conv1 = nn.Conv2d(3, d, kernel_size=PATCH, stride=PATCH, bias=False)
        self.class_embedding = nn.Parameter(scale * torch.randn(d))
        self.positional_embedding = nn.Parameter(scale * torch.randn(grid * grid + 1, d))
        self.ln_pre = nn.LayerNorm(d)
        self.transformer = Transformer(d, VISION_LAYERS, VISION_HEADS, causal=False)
        self.ln_post = nn.LayerNorm(d)
        self.proj = nn.Parameter(scale * torch.randn(d, EMBED))

    def forward(self, pixels, prompts, record):
        B = pixels.shape[0]
        x = self.conv1(pixels).reshape(B, VISION_WIDTH, -1).permute(0, 2, 1)
        cls = self.class_embedding + torch.zeros(B, 1, VISION_WIDTH)
        x = torch.cat([cls, x], dim=1) + self.positional_embedding
        if prompts is not None:  # appended after the positional embedding, before ln_pre
            x = torch.cat([x, prompts[0].unsqueeze(0).expand(B, -1, -1)], dim=1)
        x = self.ln_pre(x).permute(1, 0, 2)
        first_row = x.shape[0] - (prompts.shape[1] if prompts is not None else 0)
        x = self.transformer(x, prompts, first_row, record).permute(1, 0, 2)
        head = self.ln_post(x[:, 0, :])
        return head @ self.proj, head


class TinyCLIP(nn.Module):
    def __init__(self):
        super().__init__()
        self.visual = VisionTransformer()
        self.transformer = Transformer(TEXT_WIDTH, TEXT_LAYERS, TEXT_HEADS, causal=True)
        self.token_embedding = nn.Embedding(VOCAB, TEXT_WIDTH)
        self.positional_embedding = nn.Parameter(0.1 * torch.randn(CONTEXT, TEXT_WIDTH))
        self.ln_final = nn.LayerNorm(TEXT_WIDTH)
        self.text_projection = nn.Parameter(TEXT_WIDTH ** -0.5 * torch.randn(TEXT_WIDTH, EMBED))
        self.logit_scale = nn.Parameter(torch.tensor(math.log(1 / 0.07)))

    def encode_text(self, ids, prompts, record):
        B = ids.shape[0]
        x = self.token_embedding(ids)
        if prompts is not None:  # rows 1..n after SOS; the positional embedding is added to all rows
            n = prompts.shape[1]
            x = torch.cat([x[:, :1], prompts[0].unsqueeze(0).expand(B, -1, -1), x[:, 1 + n:]], dim=1)
        x = (x + self.positional_embedding).permute(1, 0, 2)
        x = self.transformer(x, prompts, 1, record).permute(1, 0, 2)
        x = self.ln_final(x)
        head = x[torch.arange(B), ids.argmax(dim=-1)]
        return head @ self.text_projection, head


def randomise(model):
    """Default init leaves LayerNorm at 1/0 and attention biases at 0, which would
    hide a swapped weight/bias or a forgotten bias: make every tensor random."""
    with torch.no_grad():
        for name, p in model.named_parameters():
            if "ln_" in name and name.endswith("weight"):  # ln_1, ln_2, ln_pre, ln_post, ln_final
                p.copy_(1.0 + 0.2 * torch.randn_like(p))
            elif name.endswith("bias"):
                p.copy_(0.1 * torch.randn_like(p))


def layout_names(model):
    """The tensor order of cm_clip_layout (src/clip/clip_model.c)."""
    block = ["ln_1.weight", "ln_1.bias", "attn.in_proj_weight", "attn.in_proj_bias", "attn.out_proj.weight",
             "attn.out_proj.bias", "ln_2.weight", "ln_2.bias", "mlp.c_fc.weight", "mlp.c_fc.bias",
             "mlp.c_proj.weight", "mlp.c_proj.bias"]
    names = ["visual.conv1.weight", "visual.class_embedding", "visual.positional_embedding",
             "visual.ln_pre.weight", "visual.ln_pre.bias"]
    names += [f"visual.transformer.resblocks.{l}.{s}" for l in range(VISION_LAYERS) for s in block]
    names += ["visual.ln_post.weight", "visual.ln_post.bias", "visual.proj", "token_embedding.weight",
              "positional_embedding"]
    names += [f"transformer.resblocks.{l}.{s}" for l in range(TEXT_LAYERS) for s in block]
    names += ["ln_final.weight", "ln_final.bias", "text_projection", "logit_scale"]
    state = model.state_dict()
    assert sorted(names) == sorted(state.keys()), set(names) ^ set(state.keys())
    return [state[n] for n in names]


def token_ids():
    """Three texts of different lengths: SOS, random words, EOT, zero padding."""
    ids = torch.zeros(3, CONTEXT, dtype=torch.long)
    for row, eot_pos in enumerate([5, 9, 7]):
        ids[row, 0] = SOS
        ids[row, 1:eot_pos] = torch.randint(1, SOS, (eot_pos - 1,))
        ids[row, eot_pos] = EOT
    return ids


def logits(img, txt, logit_scale):
    img = img / img.norm(dim=-1, keepdim=True)
    txt = txt / txt.norm(dim=-1, keepdim=True)
    return logit_scale.exp() * img @ txt.t()


def save(name, t):
    t.detach().to(torch.float32).contiguous().numpy().tofile(os.path.join(OUT, name + ".f32"))


def main():
    os.makedirs(OUT, exist_ok=True)
    model = TinyCLIP()
    randomise(model)
    model.eval()
    torch.cat([t.reshape(-1) for t in layout_names(model)]).numpy().tofile(os.path.join(OUT, "weights.f32"))

    pixels = torch.randn(2, 3, IMAGE, IMAGE)
    ids = token_ids()
    visual_prompts = 0.5 * torch.randn(PROMPT_DEPTH, N_PROMPTS, VISION_WIDTH)
    text_prompts = 0.5 * torch.randn(PROMPT_DEPTH, N_PROMPTS, TEXT_WIDTH)
    save("pixels", pixels)
    save("ids", ids.float())
    save("visual_prompts", visual_prompts)
    save("text_prompts", text_prompts)

    with torch.no_grad():
        for case, vp, tp in [("plain", None, None), ("prompted", visual_prompts, text_prompts)]:
            vrec, trec = [], []
            img, vhead = model.visual(pixels, vp, vrec)
            txt, thead = model.encode_text(ids, tp, trec)
            save(f"{case}.image_features", img)
            save(f"{case}.text_features", txt)
            save(f"{case}.logits", logits(img, txt, model.logit_scale))
            if case == "prompted":
                save(f"{case}.vision_block_in", torch.stack(vrec))
                save(f"{case}.vision_head_ln", vhead)
                save(f"{case}.text_block_in", torch.stack(trec))
                save(f"{case}.text_head_ln", thead)


if __name__ == "__main__":
    main()
