#!/usr/bin/env python3
"""Write a synthetic PyTorch Lightning checkpoint in the layout of the official LSeg
`demo_e200.ckpt`, from the weights of a fixture safetensors file. Standard library only (no
torch, no numpy).

    python3 tests/make_lightning_ckpt.py tests/fixtures/tiny_vit16.safetensors out.ckpt

What it reproduces from a real `torch.save` of a Lightning checkpoint:
* a zip archive (stored, not compressed) with `archive/data.pkl` (pickle protocol 2),
  `archive/data/<key>` raw little-endian storages, `archive/version`, `archive/byteorder`;
* tensors pickled as `torch._utils._rebuild_tensor_v2(storage, offset, size, stride, ...)`
  with storages as persistent ids `('storage', torch.FloatStorage, key, 'cpu', numel)`;
* weights in an `OrderedDict` (with `_metadata`, as `state_dict()` sets it) under
  `state_dict`, every key prefixed with `net.`;
* the CLIP text weights that `clip.model.convert_weights` turns to fp16 (what
  `clip.load(device='cuda')` does, and so what the official GPU checkpoint holds) stored as
  `HalfStorage`; LayerNorms, embeddings and the rest stay `FloatStorage`;
* `num_batches_tracked` as `LongStorage`; a CLIP image-tower tensor and a timm classifier
  head that the converter must drop; optimizer state, a scheduler, `hyper_parameters` (an
  AttributeDict holding an argparse Namespace) and other Lightning entries to ignore;
* a transposed (non-contiguous) tensor and two tensors sharing one storage at offsets.
"""

import collections
import io
import json
import pickle
import struct
import sys
import types
import zipfile

# --- Stand-ins for the torch globals a checkpoint references (pickled by name). ---
torch = types.ModuleType("torch")
torch_utils = types.ModuleType("torch._utils")
torch.__path__ = []


def _rebuild_tensor_v2(*args):  # pragma: no cover - never called, only referenced
    raise NotImplementedError


_rebuild_tensor_v2.__module__ = "torch._utils"
torch_utils._rebuild_tensor_v2 = _rebuild_tensor_v2
torch._utils = torch_utils
for name in ("FloatStorage", "HalfStorage", "LongStorage"):
    setattr(torch, name, type(name, (), {"__module__": "torch"}))
sys.modules["torch"] = torch
sys.modules["torch._utils"] = torch_utils

pl = types.ModuleType("pytorch_lightning.utilities.parsing")


class AttributeDict(dict):
    pass


AttributeDict.__module__ = "pytorch_lightning.utilities.parsing"
pl.AttributeDict = AttributeDict
for parent in ("pytorch_lightning", "pytorch_lightning.utilities"):
    sys.modules[parent] = types.ModuleType(parent)
    sys.modules[parent].__path__ = []
sys.modules["pytorch_lightning.utilities.parsing"] = pl


class Storage:
    def __init__(self, cls, data, numel):
        self.cls, self.data, self.numel, self.key = cls, data, numel, None


class Tensor:
    def __init__(self, storage, offset, size, stride):
        self.storage, self.offset, self.size, self.stride = storage, offset, size, stride

    def __reduce_ex__(self, proto):
        return (
            _rebuild_tensor_v2,
            (self.storage, self.offset, tuple(self.size), tuple(self.stride), False,
             collections.OrderedDict()),
        )


def contiguous_stride(shape):
    stride, acc = [], 1
    for d in reversed(shape):
        stride.insert(0, acc)
        acc *= d
    return stride


class Saver(pickle.Pickler):
    def __init__(self, f):
        super().__init__(f, protocol=2)
        self.storages = []

    def persistent_id(self, obj):
        if isinstance(obj, Storage):
            if obj.key is None:
                obj.key = str(len(self.storages))
                self.storages.append(obj)
            return ("storage", obj.cls, obj.key, "cpu", obj.numel)
        return None


def read_safetensors(path):
    with open(path, "rb") as f:
        blob = f.read()
    (n,) = struct.unpack("<Q", blob[:8])
    header = json.loads(blob[8 : 8 + n])
    header.pop("__metadata__", None)
    base = 8 + n
    out = collections.OrderedDict()
    for key in sorted(header):
        info = header[key]
        a, b = info["data_offsets"]
        out[key] = (info["dtype"], info["shape"], blob[base + a : base + b])
    return out


def numel(shape):
    n = 1
    for d in shape:
        n *= d
    return n


def f32_values(raw):
    return struct.unpack("<%df" % (len(raw) // 4), raw)


def to_half(raw):
    vals = f32_values(raw)
    return struct.pack("<%de" % len(vals), *vals)


def is_fp16_in_gpu_clip(key):
    """The tensors `clip.model.convert_weights` converts: Linear / MHA weights and biases,
    and the `text_projection` / `proj` attributes."""
    if not key.startswith("clip_pretrained."):
        return False
    k = key[len("clip_pretrained.") :]
    if k in ("text_projection", "visual.proj"):
        return True
    return any(
        s in k
        for s in (".attn.in_proj_weight", ".attn.in_proj_bias", ".attn.out_proj.",
                  ".mlp.c_fc.", ".mlp.c_proj.", "visual.conv1.")
    )


def main(src, dst):
    weights = read_safetensors(src)
    sd = collections.OrderedDict()
    for key, (dtype, shape, raw) in weights.items():
        if not key.startswith(("pretrained.", "scratch.", "clip_pretrained.")):
            continue  # reference tensors of the fixture
        if dtype == "I64":
            st = Storage(torch.LongStorage, raw, numel(shape))
        elif is_fp16_in_gpu_clip(key):
            st = Storage(torch.HalfStorage, to_half(raw), numel(shape))
        else:
            assert dtype == "F32", (key, dtype)
            st = Storage(torch.FloatStorage, raw, numel(shape))
        sd["net." + key] = Tensor(st, 0, shape, contiguous_stride(shape))

    # A transposed view: storage holds W^T contiguously, the tensor reads it with swapped strides.
    k = "net.pretrained.model.blocks.0.mlp.fc1.weight"
    dtype, (o, i), raw = weights[k[4:]]
    vals = f32_values(raw)
    t = [vals[r * i + c] for c in range(i) for r in range(o)]
    sd[k] = Tensor(Storage(torch.FloatStorage, struct.pack("<%df" % len(t), *t), o * i),
                   0, [o, i], [1, o])
    # Two tensors in one storage, the second at an offset (and a spare element after it).
    ka, kb = "net.scratch.head1.bias", "net.pretrained.model.norm.bias"
    ra, rb = weights[ka[4:]][2], weights[kb[4:]][2]
    shared = Storage(torch.FloatStorage, ra + rb + struct.pack("<f", 7.0),
                     (len(ra) + len(rb)) // 4 + 1)
    sd[ka] = Tensor(shared, 0, weights[ka[4:]][1], [1])
    sd[kb] = Tensor(shared, len(ra) // 4, weights[kb[4:]][1], [1])

    # Tensors the converter must drop.
    def f32_tensor(shape, value, cls=None):
        n = numel(shape)
        raw = struct.pack("<%df" % n, *([value] * n))
        if cls is torch.HalfStorage:
            return Tensor(Storage(cls, to_half(raw), n), 0, shape, contiguous_stride(shape))
        return Tensor(Storage(torch.FloatStorage, raw, n), 0, shape, contiguous_stride(shape))

    sd["net.clip_pretrained.visual.conv1.weight"] = f32_tensor([8, 3, 4, 4], 0.5, torch.HalfStorage)
    sd["net.clip_pretrained.visual.class_embedding"] = f32_tensor([8], 0.25)
    sd["net.pretrained.model.head.weight"] = f32_tensor([10, 64], 1.0)
    sd["net.pretrained.model.head.bias"] = f32_tensor([10], 0.0)
    sd._metadata = collections.OrderedDict([("", {"version": 1}), ("net", {"version": 1})])

    hparams = AttributeDict(
        backbone="clip_vitl16_384", num_features=256, arch_option=0, block_depth=0,
        activation="lrelu", base_lr=0.004, widehead=True, no_batchnorm=False,
    )
    hparams["args"] = __import__("argparse").Namespace(dataset="ade20k", batch_size=1)
    first = next(iter(sd.values()))
    ckpt = {
        "epoch": 199,
        "global_step": 4_000_000,
        "pytorch-lightning_version": "1.3.5",
        "state_dict": sd,
        "callbacks": {},
        "optimizer_states": [
            {
                "state": {0: {"momentum_buffer": f32_tensor(first.size, 0.125)}},
                "param_groups": [{"lr": 0.004, "momentum": 0.9, "weight_decay": 1e-4,
                                  "nesterov": False, "params": [0, 1, 2]}],
            }
        ],
        "lr_schedulers": [{"base_lrs": [0.004], "last_epoch": 199, "_step_count": 200}],
        "hparams_name": "kwargs",
        "hyper_parameters": hparams,
        "loops": None,
    }

    buf = io.BytesIO()
    saver = Saver(buf)
    saver.dump(ckpt)
    with zipfile.ZipFile(dst, "w", zipfile.ZIP_STORED) as z:
        z.writestr("archive/data.pkl", buf.getvalue())
        z.writestr("archive/byteorder", "little")
        for st in saver.storages:
            z.writestr("archive/data/" + st.key, st.data)
        z.writestr("archive/version", "3\n")
        z.writestr("archive/.data/serialization_id", "0123456789")


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit("usage: make_lightning_ckpt.py FIXTURE.safetensors OUT.ckpt")
    main(sys.argv[1], sys.argv[2])
