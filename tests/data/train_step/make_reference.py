#!/usr/bin/env python3
"""PyTorch autograd reference for `lseg train`: two optimisation steps of the tiny_vit16 fixture model.

Run from the repository root:
    ~/.cache/lseg/torchenv/bin/python tests/data/train_step/make_reference.py
It writes tests/data/train_step/tiny_vit16_steps.safetensors. The model is the PyTorch twin in
benches/pytorch_baseline.py (checked against the official fixture by its --check mode), loaded the
same way --check loads it. See README.md in this folder for the spec.
"""
import json, os, sys

import torch
import torch.nn.functional as F
from safetensors.torch import save_file

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
sys.path.insert(0, os.path.join(ROOT, "benches"))
from pytorch_baseline import load_fixture  # noqa: E402

FIXTURE = os.path.join(ROOT, "tests", "fixtures", "tiny_vit16.safetensors")
OUT = os.path.join(ROOT, "tests", "data", "train_step", "tiny_vit16_steps.safetensors")
LABELS = ["dog", "grass", "sky", "other"]
NAMES = [
    "pretrained.model.cls_token",
    "pretrained.model.pos_embed",
    "pretrained.model.patch_embed.proj.weight",
    "pretrained.model.blocks.0.attn.qkv.weight",
    "pretrained.model.blocks.0.norm1.weight",
    "pretrained.model.blocks.0.mlp.fc2.bias",
    "pretrained.act_postprocess1.0.project.0.weight",
    "pretrained.act_postprocess1.3.weight",
    "pretrained.act_postprocess1.4.weight",
    "pretrained.act_postprocess4.4.weight",
    "scratch.layer1_rn.weight",
    "scratch.refinenet1.resConfUnit1.conv1.weight",
    "scratch.refinenet1.resConfUnit1.bn1.weight",
    "scratch.refinenet1.resConfUnit1.bn1.bias",
    "scratch.refinenet4.out_conv.weight",
    "scratch.head1.weight",
    "scratch.head1.bias",
]
BN_STATS = ["scratch.refinenet1.resConfUnit1.bn1", "scratch.refinenet4.resConfUnit2.bn2"]


def fixture_tokens(sd):
    """Token ids of LABELS, taken from the fixture's input.tokens rows (the twin has no tokenizer; --check
    feeds the fixture's ids too). The fixture's labels are listed in its .json."""
    fx_labels = json.load(open(FIXTURE[: -len(".safetensors")] + ".json"))["labels"]
    return sd["input.tokens"][[fx_labels.index(l) for l in LABELS]]


def model_and_groups():
    m, sd = load_fixture(FIXTURE)
    m.train()  # BatchNorm2d: batch statistics, running stats updated (momentum 0.1)
    for p in m.clip_pretrained.parameters():  # frozen text tower
        p.requires_grad_(False)
    named = dict(m.named_parameters())
    pre = [n for n in named if n.startswith("pretrained.")]
    scr = [n for n in named if n.startswith("scratch.")]
    assert set(pre) | set(scr) | {n for n in named if n.startswith("clip_pretrained.")} == set(named)
    return m, sd, named, pre, scr


def run(make_opt, image, target, tokens):
    """Two steps on the same batch; returns (model, [loss1, loss2], step-1 grads, params with grad None)."""
    m, _, named, pre, scr = model_and_groups()
    with torch.no_grad():
        text = m.clip_pretrained.encode_text(tokens)  # raw features; m.logits L2-normalises them
    opt = make_opt([named[n] for n in pre], [named[n] for n in scr])
    losses, grads1, no_grad = [], {}, None
    for step in range(2):
        opt.zero_grad(set_to_none=True)
        logits = m.logits(image, text)
        assert logits.shape == (2, len(LABELS), 64, 96), logits.shape
        loss = F.cross_entropy(logits, target, ignore_index=-1)
        loss.backward()
        if step == 0:
            grads1 = {n: named[n].grad.detach().clone() for n in pre + scr if named[n].grad is not None}
            no_grad = [n for n in pre + scr if named[n].grad is None]
        opt.step()
        losses.append(loss.item())
    return m, losses, grads1, no_grad


def main():
    torch.manual_seed(0)
    torch.set_num_threads(2)
    torch.use_deterministic_algorithms(True)
    torch.set_default_dtype(torch.float32)

    _, sd, named, _, _ = model_and_groups()
    tokens = fixture_tokens(sd)
    missing = [n for n in NAMES if n not in named]
    names = [n for n in NAMES if n in named]
    if missing:
        print("skipped (not in the twin):", missing)

    image = torch.rand(2, 3, 64, 96, generator=torch.Generator().manual_seed(1)) * 2 - 1
    target = torch.randint(0, 4, (2, 64, 96), generator=torch.Generator().manual_seed(2))
    target[:, :8, :] = -1
    target[1, :, :10] = -1

    sgd = lambda pre, scr: torch.optim.SGD([{"params": pre, "lr": 0.01}, {"params": scr, "lr": 0.1}],
                                           lr=0.01, momentum=0.9, weight_decay=1e-4)
    adamw = lambda pre, scr: torch.optim.AdamW([{"params": pre, "lr": 1e-3}, {"params": scr, "lr": 1e-2}],
                                               lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.01)
    ms, sgd_losses, grads1, no_grad = run(sgd, image, target, tokens)
    ma, adamw_losses, _, no_grad_b = run(adamw, image, target, tokens)
    assert no_grad == no_grad_b

    out = {"input.image": image.contiguous(), "input.target": target.float().contiguous(),
           "sgd.loss1": torch.tensor([sgd_losses[0]]), "sgd.loss2": torch.tensor([sgd_losses[1]]),
           "adamw.loss2": torch.tensor([adamw_losses[1]])}
    ps, pa = dict(ms.named_parameters()), dict(ma.named_parameters())
    for n in names:
        assert n in grads1, f"{n} got no gradient"
        out[f"grad1.{n}"] = grads1[n]
        out[f"sgd2.{n}"] = ps[n].detach().clone()
        out[f"adamw2.{n}"] = pa[n].detach().clone()
    bs = dict(ms.named_buffers())
    for b in BN_STATS:
        out[f"sgd2.{b}.running_mean"] = bs[f"{b}.running_mean"].clone()
        out[f"sgd2.{b}.running_var"] = bs[f"{b}.running_var"].clone()
    out["sgd2.scratch.refinenet1.resConfUnit1.bn1.num_batches_tracked"] = \
        bs["scratch.refinenet1.resConfUnit1.bn1.num_batches_tracked"].float().reshape(1)
    out = {k: v.to(torch.float32).contiguous() for k, v in out.items()}

    meta = {"no_grad": json.dumps(no_grad), "labels": json.dumps(LABELS), "torch_version": torch.__version__,
            "tokens": json.dumps(tokens[:, :8].tolist()), "skipped": json.dumps(missing)}
    save_file(out, OUT, metadata=meta)

    print(json.dumps({"sgd.loss1": sgd_losses[0], "sgd.loss2": sgd_losses[1], "adamw.loss1": adamw_losses[0],
                      "adamw.loss2": adamw_losses[1], "ignored_pixels": int((target < 0).sum())}))
    for n in ["pretrained.model.patch_embed.proj.weight", "pretrained.model.cls_token",
              "pretrained.act_postprocess4.4.weight", "scratch.refinenet1.resConfUnit1.conv1.weight", "scratch.head1.weight"]:
        print(f"|grad1 {n}| = {grads1[n].norm().item():.6e}")
    print("no_grad:", no_grad)
    print(f"wrote {os.path.relpath(OUT, ROOT)} ({os.path.getsize(OUT)} bytes, {len(out)} tensors)")


if __name__ == "__main__":
    main()
