#!/usr/bin/env python3
"""PyTorch eager baseline for the lseg benchmarks: the LSeg network (CLIP text tower, timm
ViT, DPT reassemble + RefineNet fusion with BatchNorm, head) re-implemented with the official
module names and the official op sequence (timm 0.4.12 attention, 77-position text encoding,
final ViT norm computed as `forward_flex` does, refinenet4 as in the official code).

  python benches/pytorch_baseline.py --check tests/fixtures/tiny_vit16.safetensors
      verifies the re-implementation against the official fixture (same op sequence);
  python benches/pytorch_baseline.py --bench [--models vitl16,vitb32] [--threads 2]
      prints JSON timings with random weights of the real shapes;
  python benches/pytorch_baseline.py --bench-train [--models vitb32] [--size 384] [--batch 2] [--labels 150]
      times one SGD training step (forward, cross-entropy, backward, step; frozen text tower), JSON per model.
"""
import argparse, json, math, time

import torch
import torch.nn as nn
import torch.nn.functional as F


class Attn(nn.Module):
    def __init__(s, d, h):
        super().__init__(); s.h = h; s.qkv = nn.Linear(d, 3 * d); s.proj = nn.Linear(d, d)

    def forward(s, x):
        b, n, c = x.shape
        qkv = s.qkv(x).reshape(b, n, 3, s.h, c // s.h).permute(2, 0, 3, 1, 4)
        q, k, v = qkv[0], qkv[1], qkv[2]
        a = (q @ k.transpose(-2, -1)) * (c // s.h) ** -0.5
        return s.proj((a.softmax(-1) @ v).transpose(1, 2).reshape(b, n, c))


class Mlp(nn.Module):
    def __init__(s, d, m):
        super().__init__(); s.fc1 = nn.Linear(d, m); s.fc2 = nn.Linear(m, d)

    def forward(s, x):
        return s.fc2(F.gelu(s.fc1(x)))


class Block(nn.Module):
    def __init__(s, d, h, m):
        super().__init__()
        s.norm1 = nn.LayerNorm(d, eps=1e-6); s.attn = Attn(d, h)
        s.norm2 = nn.LayerNorm(d, eps=1e-6); s.mlp = Mlp(d, m)

    def forward(s, x):
        x = x + s.attn(s.norm1(x))
        return x + s.mlp(s.norm2(x))


class PatchEmbed(nn.Module):
    def __init__(s, p, d):
        super().__init__(); s.proj = nn.Conv2d(3, d, p, p)


class ViT(nn.Module):
    def __init__(s, c):
        super().__init__()
        d, g = c["embed_dim"], c["pos_grid"]
        s.p = c["patch_size"]
        s.patch_embed = PatchEmbed(s.p, d)
        s.cls_token = nn.Parameter(torch.zeros(1, 1, d))
        s.pos_embed = nn.Parameter(torch.zeros(1, 1 + g * g, d))
        s.blocks = nn.ModuleList([Block(d, c["num_heads"], c["mlp_dim"]) for _ in range(c["depth"])])
        s.norm = nn.LayerNorm(d, eps=1e-6)


class ProjectReadout(nn.Module):
    def __init__(s, d):
        super().__init__(); s.project = nn.Sequential(nn.Linear(2 * d, d), nn.GELU())

    def forward(s, x):
        r = x[:, 0].unsqueeze(1).expand_as(x[:, 1:])
        return s.project(torch.cat((x[:, 1:], r), -1))


class Pretrained(nn.Module):
    def __init__(s, c):
        super().__init__()
        s.model = ViT(c["vit"]); d = c["vit"]["embed_dim"]; f = c["reassemble"]
        p32 = c["vit"]["patch_size"] == 32
        for i in range(4):
            layers = [ProjectReadout(d), nn.Identity(), nn.Identity(), nn.Conv2d(d, f[i], 1)]
            k = ([8, 4, 2, None] if p32 else [4, 2, None, "down"])[i]
            if k == "down":
                layers.append(nn.Conv2d(f[i], f[i], 3, 2, 1))
            elif k is not None:
                layers.append(nn.ConvTranspose2d(f[i], f[i], k, k))
            setattr(s, f"act_postprocess{i + 1}", nn.Sequential(*layers))


class RCU(nn.Module):
    def __init__(s, f):
        super().__init__()
        s.conv1 = nn.Conv2d(f, f, 3, 1, 1, bias=False); s.bn1 = nn.BatchNorm2d(f)
        s.conv2 = nn.Conv2d(f, f, 3, 1, 1, bias=False); s.bn2 = nn.BatchNorm2d(f)

    def forward(s, x):
        out = s.bn1(s.conv1(F.relu(x)))
        return s.bn2(s.conv2(F.relu(out))) + x


class Fusion(nn.Module):
    def __init__(s, f):
        super().__init__(); s.out_conv = nn.Conv2d(f, f, 1); s.resConfUnit1 = RCU(f); s.resConfUnit2 = RCU(f)

    def forward(s, *xs):
        out = xs[0]
        if len(xs) == 2:
            out = out + s.resConfUnit1(xs[1])
        out = F.interpolate(s.resConfUnit2(out), scale_factor=2, mode="bilinear", align_corners=True)
        return s.out_conv(out)


class Scratch(nn.Module):
    def __init__(s, c):
        super().__init__()
        f, fs = c["reassemble"], c["features"]
        for i in range(4):
            setattr(s, f"layer{i + 1}_rn", nn.Conv2d(f[i], fs, 3, 1, 1, bias=False))
            setattr(s, f"refinenet{i + 1}", Fusion(fs))
        s.head1 = nn.Conv2d(fs, c["out_dim"], 1)


class ResBlock(nn.Module):
    def __init__(s, w, h):
        super().__init__()
        s.ln_1 = nn.LayerNorm(w); s.attn = nn.MultiheadAttention(w, h); s.ln_2 = nn.LayerNorm(w)
        s.mlp = nn.Sequential()
        s.mlp.add_module("c_fc", nn.Linear(w, 4 * w)); s.mlp.add_module("c_proj", nn.Linear(4 * w, w))

    def forward(s, x, mask):
        y = s.ln_1(x)
        x = x + s.attn(y, y, y, need_weights=False, attn_mask=mask)[0]
        h = s.mlp.c_fc(s.ln_2(x))
        return x + s.mlp.c_proj(h * torch.sigmoid(1.702 * h))


class Transformer(nn.Module):
    def __init__(s, t):
        super().__init__(); s.resblocks = nn.ModuleList([ResBlock(t["width"], t["heads"]) for _ in range(t["layers"])])


class ClipText(nn.Module):
    def __init__(s, t):
        super().__init__()
        w = t["width"]
        s.token_embedding = nn.Embedding(t["vocab_size"], w)
        s.positional_embedding = nn.Parameter(torch.zeros(t["context_length"], w))
        s.transformer = Transformer(t)
        s.ln_final = nn.LayerNorm(w)
        s.text_projection = nn.Parameter(torch.zeros(w, t["embed_dim"]))
        n = t["context_length"]
        s.register_buffer("mask", torch.full((n, n), float("-inf")).triu_(1), persistent=False)

    def encode_text(s, tokens):
        x = (s.token_embedding(tokens) + s.positional_embedding).permute(1, 0, 2)
        for b in s.transformer.resblocks:
            x = b(x, s.mask)
        x = s.ln_final(x.permute(1, 0, 2))
        return x[torch.arange(x.shape[0]), tokens.argmax(dim=-1)] @ s.text_projection


class LSeg(nn.Module):
    def __init__(s, c):
        super().__init__()
        s.c = c
        s.clip_pretrained = ClipText(c["text"])
        s.pretrained = Pretrained(c)
        s.scratch = Scratch(c)
        s.logit_scale = torch.tensor(1 / 0.07).log().exp()

    def image(s, x):
        m = s.pretrained.model
        b, _, h, w = x.shape
        gh, gw = h // m.p, w // m.p
        pe = m.pos_embed
        g = int(math.sqrt(pe.shape[1] - 1))
        grid = pe[0, 1:].reshape(1, g, g, -1).permute(0, 3, 1, 2)
        grid = F.interpolate(grid, size=(gh, gw), mode="bilinear").permute(0, 2, 3, 1).reshape(1, gh * gw, -1)
        pos = torch.cat([pe[:, :1], grid], 1)
        t = m.patch_embed.proj(x).flatten(2).transpose(1, 2)
        t = torch.cat([m.cls_token.expand(b, -1, -1), t], 1) + pos
        hooks = s.c["hooks"]; outs = []
        for i, blk in enumerate(m.blocks):
            t = blk(t)
            if i in hooks:
                outs.append(t)
        m.norm(t)  # computed and discarded, as forward_flex does
        layers = []
        for i, o in enumerate(outs):
            ap = getattr(s.pretrained, f"act_postprocess{i + 1}")
            y = ap[0](o).transpose(1, 2).reshape(b, -1, gh, gw)
            for mod in list(ap)[3:]:
                y = mod(y)
            layers.append(y)
        sc = s.scratch
        rn = [getattr(sc, f"layer{i + 1}_rn")(l) for i, l in enumerate(layers)]
        p4 = sc.refinenet4(rn[3]); p3 = sc.refinenet3(p4, rn[2])
        p2 = sc.refinenet2(p3, rn[1]); p1 = sc.refinenet1(p2, rn[0])
        return sc.head1(p1)

    def forward(s, x, tokens):
        return s.logits(x, s.clip_pretrained.encode_text(tokens))

    def logits(s, x, text):
        """Full-resolution logits [B, L, H, W] from the raw (unnormalised) text features [L, 512]."""
        f = s.image(x)
        b, c, h, w = f.shape
        f = f.permute(0, 2, 3, 1).reshape(-1, c)
        f = f / f.norm(dim=-1, keepdim=True)
        text = text / text.norm(dim=-1, keepdim=True)
        logits = (s.logit_scale * f) @ text.t()
        out = logits.view(b, h, w, -1).permute(0, 3, 1, 2)
        return F.interpolate(out, scale_factor=2, mode="bilinear", align_corners=True)


TEXT = dict(width=512, heads=8, layers=12, context_length=77, vocab_size=49408, embed_dim=512)
PRESETS = {
    "vitl16": dict(vit=dict(patch_size=16, embed_dim=1024, depth=24, num_heads=16, mlp_dim=4096, pos_grid=24),
                   hooks=[5, 11, 17, 23], reassemble=[256, 512, 1024, 1024], features=256, out_dim=512, text=TEXT),
    "vitb32": dict(vit=dict(patch_size=32, embed_dim=768, depth=12, num_heads=12, mlp_dim=3072, pos_grid=12),
                   hooks=[2, 5, 8, 11], reassemble=[96, 192, 384, 768], features=256, out_dim=512, text=TEXT),
}


def timeit(fn, reps):
    fn()
    ts = []
    for _ in range(reps):
        t0 = time.perf_counter(); fn(); ts.append(time.perf_counter() - t0)
    ts.sort()
    return ts[len(ts) // 2]


def tokens(n, length=3):
    t = torch.zeros(n, 77, dtype=torch.long)
    t[:, 0] = 49406; t[:, 1:length - 1] = 320; t[:, length - 1] = 49407
    return t


def fixture_config(json_path):
    """The twin's config from a fixture's .json (its `config` block)."""
    c = json.load(open(json_path))["config"]
    v, k = c["vit"], c["clip"]
    g = v["pos_embed_grid"]
    assert g[0] == g[1], g
    return dict(vit=dict(patch_size=v["patch_size"], embed_dim=v["embed_dim"], depth=v["depth"], num_heads=v["num_heads"],
                         mlp_dim=int(v["embed_dim"] * v["mlp_ratio"]), pos_grid=g[0]),
                hooks=c["hooks"], reassemble=c["reassemble_features"], features=c["features"], out_dim=c["out_c"],
                text=dict(width=k["transformer_width"], heads=k["transformer_heads"], layers=k["transformer_layers"],
                          context_length=k["context_length"], vocab_size=k["vocab_size"], embed_dim=k["embed_dim"]))


def load_fixture(path):
    """(model in eval mode, the file's tensors) for a fixture .safetensors; the config comes from the .json beside it.
    The file also holds reference tensors, hence strict=False; every module key must be present."""
    from safetensors.torch import load_file
    sd = load_file(path)
    m = LSeg(fixture_config(path[: -len(".safetensors")] + ".json")).eval()
    missing, _ = m.load_state_dict(sd, strict=False)
    assert not missing, missing
    return m, sd


def check(path):
    m, sd = load_fixture(path)
    with torch.no_grad():
        out = m(sd["input.image"], sd["input.tokens"])
    err = (out - sd["output"]).abs().max().item()
    print(json.dumps({"check": path, "max_abs_vs_official": err}))
    assert err < 1e-4


def bench(models, threads, reps, multiscale, dtype):
    torch.set_num_threads(threads)
    res = {"torch": torch.__version__, "threads": threads, "dtype": dtype}
    with torch.no_grad():
        for name in models:
            c = PRESETS[name]
            t0 = time.perf_counter(); m = LSeg(c).eval(); res[f"{name}/build"] = time.perf_counter() - t0
            if dtype == "bf16":
                m = m.to(torch.bfloat16)
            s = 384 if name == "vitb32" else 480
            x = torch.randn(1, 3, s, s, dtype=next(m.parameters()).dtype)
            if dtype == "f32":
                res[f"{name}/text_5_labels"] = timeit(lambda: m.clip_pretrained.encode_text(tokens(5)), reps)
                res[f"{name}/text_150_ade20k"] = timeit(lambda: m.clip_pretrained.encode_text(tokens(150)), max(1, reps // 2))
            res[f"{name}/embed_{s}x{s}"] = timeit(lambda: m.image(x), reps)
            res[f"{name}/segment_single_{s}x{s}"] = timeit(lambda: m(x, tokens(5)).argmax(1), reps)
            if multiscale and name == "vitl16":
                # 360x480 image, official protocol: 36 forwards of 480x480 crops (18 windows x flip).
                crop = torch.randn(1, 3, 480, 480, dtype=x.dtype)
                t = tokens(5)
                def ms():
                    for _ in range(36):
                        m(crop, t)
                res[f"{name}/segment_multiscale_360x480"] = timeit(ms, 1)
    print(json.dumps(res))


def param_groups(m, lr):
    """The official LSeg recipe: `pretrained.*` at lr, `scratch.*` at 10x; the text tower and logit_scale untrained."""
    named = list(m.named_parameters())
    return [{"params": [p for n, p in named if n.startswith("pretrained.")], "lr": lr},
            {"params": [p for n, p in named if n.startswith("scratch.")], "lr": 10 * lr}]


def random_tokens(n, gen):
    """n random labels of 1-4 random BPE ids each: SOT, ids, EOT, zero padding."""
    t = torch.zeros(n, 77, dtype=torch.long)
    for i in range(n):
        k = int(torch.randint(1, 5, (1,), generator=gen))
        t[i, 0] = 49406; t[i, 1:k + 1] = torch.randint(1, 49406, (k,), generator=gen); t[i, k + 1] = 49407
    return t


def bench_train(models, threads, reps, size, batch, labels):
    """One SGD training step (forward, cross-entropy, backward, step) on a random batch, random weights."""
    torch.set_num_threads(threads)
    gen = torch.Generator().manual_seed(0)
    for name in models:
        m = LSeg(PRESETS[name])
        with torch.no_grad():  # the zero-initialised parameters would make the text features 0 (NaN after norm)
            for p in m.parameters():
                if not p.any():
                    p.normal_(0, 0.02, generator=gen)
        for p in m.clip_pretrained.parameters():
            p.requires_grad_(False)
        m.train()
        with torch.no_grad():  # frozen text tower: features precomputed once
            text = m.clip_pretrained.encode_text(random_tokens(labels, gen))
        x = torch.rand(batch, 3, size, size, generator=gen) * 2 - 1
        target = torch.randint(-1, labels, (batch, size, size), generator=gen)
        opt = torch.optim.SGD(param_groups(m, 0.01), lr=0.01, momentum=0.9, weight_decay=1e-4)

        def step():
            opt.zero_grad(set_to_none=True)
            loss = F.cross_entropy(m.logits(x, text), target, ignore_index=-1)
            loss.backward()
            opt.step()
            return loss.item()

        step()  # warm-up
        ts = []
        for _ in range(reps):
            t0 = time.perf_counter(); step(); ts.append(time.perf_counter() - t0)
        print(json.dumps({"mode": "train_step_sgd", "model": name, "size": size, "batch": batch, "labels": labels,
                          "threads": threads, "torch": torch.__version__, "step_s": ts,
                          "median_s": sorted(ts)[len(ts) // 2]}))


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--check")
    ap.add_argument("--bench", action="store_true")
    ap.add_argument("--bench-train", action="store_true")
    ap.add_argument("--models", help="default: vitl16,vitb32 for --bench, vitb32 for --bench-train")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--reps", type=int, help="default: 5 for --bench, 3 for --bench-train")
    ap.add_argument("--multiscale", action="store_true")
    ap.add_argument("--dtype", default="f32")
    ap.add_argument("--size", type=int, default=384, help="--bench-train: square input side")
    ap.add_argument("--batch", type=int, default=2, help="--bench-train: batch size")
    ap.add_argument("--labels", type=int, default=150, help="--bench-train: number of (random) labels")
    a = ap.parse_args()
    if a.check:
        check(a.check)
    if a.bench:
        bench((a.models or "vitl16,vitb32").split(","), a.threads, a.reps or 5, a.multiscale, a.dtype)
    if a.bench_train:
        bench_train((a.models or "vitb32").split(","), a.threads, a.reps or 3, a.size, a.batch, a.labels)
