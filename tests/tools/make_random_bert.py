#!/usr/bin/python3
"""Random-weight BERT models in the Hugging Face / sentence-transformers
format, and a PyTorch reference forward pass for them.

Run it with Debian's /usr/bin/python3 (python3-torch, python3-numpy).

  make_random_bert.py make DIR [--layers N --hidden H --heads A ...]
      writes config.json, model.safetensors (own writer: F32, F16 or BF16),
      vocab.txt, tokenizer_config.json, modules.json, 1_Pooling/config.json.
  make_random_bert.py reference DIR --batches IN.json --out OUT.json
      IN: {"batches": [{"seq_len": S, "lengths": [...], "ids": [rows*S ints]}]}
      OUT: {"outputs": [[rows*hidden floats], ...]}: pooled (and, per the
      model, normalized) embeddings computed with torch.
  make_random_bert.py suite SPEC.json
      SPEC: {"cases": [{"dir": DIR, "model": {make options}, "batches": [...],
      "expected": OUT.json}]}: makes every model and writes its reference
      outputs, in one process (the C++ tests call this once).
"""

import argparse
import json
import math
import os
import struct
import sys

import numpy as np
import torch
import torch.nn.functional as F

MODEL_DEFAULTS = {
    "layers": 2,
    "hidden": 64,
    "heads": 4,
    "intermediate": 128,
    "vocab": 100,
    "max_positions": 512,
    "type_vocab": 2,
    "dtype": "f32",
    "pooling": "mean",
    "normalize": True,
    "seed": 0,
    "hidden_act": "gelu",
    "prefix": "bert.",
    "legacy_norm_names": False,
    "layer_norm_eps": 1e-12,
    # {tensor name (without prefix): safetensors dtype}: writes that tensor as
    # random bytes of another dtype, e.g. {"...key.weight": "I8"}.
    "dtype_overrides": {},
}

NP_DTYPES = {"F32": np.float32, "F16": np.float16, "I8": np.int8, "I32": np.int32,
             "I64": np.int64, "U8": np.uint8}


# --- safetensors ------------------------------------------------------------

def write_safetensors(path, tensors):
    """tensors: list of (name, dtype string, shape, raw little-endian bytes)."""
    header = {}
    offset = 0
    for name, dtype, shape, data in tensors:
        header[name] = {"dtype": dtype, "shape": list(shape),
                        "data_offsets": [offset, offset + len(data)]}
        offset += len(data)
    header["__metadata__"] = {"format": "pt"}
    blob = json.dumps(header, separators=(",", ":")).encode()
    blob += b" " * (-len(blob) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(blob)))
        f.write(blob)
        for _, _, _, data in tensors:
            f.write(data)


def read_safetensors(path):
    """{name: float32 numpy array} for the F32/F16/BF16 tensors."""
    with open(path, "rb") as f:
        raw = f.read()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8:8 + n])
    data = raw[8 + n:]
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        begin, end = info["data_offsets"]
        chunk = data[begin:end]
        if info["dtype"] == "F32":
            arr = np.frombuffer(chunk, dtype="<f4")
        elif info["dtype"] == "F16":
            arr = np.frombuffer(chunk, dtype="<f2").astype(np.float32)
        elif info["dtype"] == "BF16":
            arr = (np.frombuffer(chunk, dtype="<u2").astype(np.uint32) << 16).view(np.float32)
        else:
            continue
        out[name] = arr.reshape(info["shape"]).astype(np.float32)
    return out


def encode(array, dtype):
    array = np.ascontiguousarray(array, dtype=np.float32)
    if dtype == "F32":
        return array.astype("<f4").tobytes()
    if dtype == "F16":
        return array.astype("<f2").tobytes()
    if dtype == "BF16":  # round to nearest even
        bits = array.view(np.uint32).astype(np.uint64)
        rounded = (bits + 0x7FFF + ((bits >> 16) & 1)) >> 16
        return rounded.astype("<u2").tobytes()
    raise ValueError(dtype)


# --- model files -------------------------------------------------------------

def bert_tensors(m, rng):
    """(name, shape, float32 values) of a BERT encoder, scaled so that every
    part of the network matters: O(1) activations, non-uniform attention."""
    h, inter = m["hidden"], m["intermediate"]
    g = "gamma" if m["legacy_norm_names"] else "weight"
    b = "beta" if m["legacy_norm_names"] else "bias"

    def normal(shape, std):
        return rng.standard_normal(shape).astype(np.float32) * np.float32(std)

    def norm(prefix):
        return [(f"{prefix}.LayerNorm.{g}", (h,), 1 + normal((h,), 0.2)),
                (f"{prefix}.LayerNorm.{b}", (h,), normal((h,), 0.2))]

    def linear(prefix, out_dim, in_dim):
        return [(f"{prefix}.weight", (out_dim, in_dim), normal((out_dim, in_dim), 1 / math.sqrt(in_dim))),
                (f"{prefix}.bias", (out_dim,), normal((out_dim,), 0.2))]

    t = [("embeddings.word_embeddings.weight", (m["vocab"], h), normal((m["vocab"], h), 1.0)),
         ("embeddings.position_embeddings.weight", (m["max_positions"], h),
          normal((m["max_positions"], h), 0.5)),
         ("embeddings.token_type_embeddings.weight", (m["type_vocab"], h),
          normal((m["type_vocab"], h), 0.5))]
    t += norm("embeddings")
    for i in range(m["layers"]):
        p = f"encoder.layer.{i}"
        for part in ("query", "key", "value"):
            t += linear(f"{p}.attention.self.{part}", h, h)
        t += linear(f"{p}.attention.output.dense", h, h)
        t += norm(f"{p}.attention.output")
        t += linear(f"{p}.intermediate.dense", inter, h)
        t += linear(f"{p}.output.dense", h, inter)
        t += norm(f"{p}.output")
    return t


def make_model(directory, **options):
    m = dict(MODEL_DEFAULTS)
    m.update(options)
    os.makedirs(os.path.join(directory, "1_Pooling"), exist_ok=True)
    rng = np.random.default_rng(m["seed"])
    dtype = m["dtype"].upper()
    tensors = []
    for name, shape, values in bert_tensors(m, rng):
        override = m["dtype_overrides"].get(name)
        if override:
            raw = rng.integers(0, 100, size=shape).astype(NP_DTYPES[override]).tobytes()
            tensors.append((m["prefix"] + name, override, shape, raw))
        else:
            tensors.append((m["prefix"] + name, dtype, shape, encode(values, dtype)))
    # Real checkpoints carry extra tensors that the encoder must ignore.
    tensors.append((m["prefix"] + "embeddings.position_ids", "I64", (1, m["max_positions"]),
                    np.arange(m["max_positions"], dtype="<i8").tobytes()))
    write_safetensors(os.path.join(directory, "model.safetensors"), tensors)

    config = {
        "architectures": ["BertModel"], "model_type": "bert",
        "hidden_size": m["hidden"], "num_hidden_layers": m["layers"],
        "num_attention_heads": m["heads"], "intermediate_size": m["intermediate"],
        "max_position_embeddings": m["max_positions"], "type_vocab_size": m["type_vocab"],
        "vocab_size": m["vocab"], "hidden_act": m["hidden_act"],
        "layer_norm_eps": m["layer_norm_eps"], "position_embedding_type": "absolute",
        "hidden_dropout_prob": 0.1, "attention_probs_dropout_prob": 0.1,
        "torch_dtype": {"F32": "float32", "F16": "float16", "BF16": "bfloat16"}[dtype],
    }
    write_json(os.path.join(directory, "config.json"), config)
    specials = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    with open(os.path.join(directory, "vocab.txt"), "w") as f:
        for i in range(m["vocab"]):
            f.write((specials[i] if i < len(specials) else f"tok{i}") + "\n")
    write_json(os.path.join(directory, "tokenizer_config.json"),
               {"do_lower_case": True, "strip_accents": None, "tokenize_chinese_chars": True,
                "model_max_length": m["max_positions"], "tokenizer_class": "BertTokenizer"})
    modules = [{"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
               {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"}]
    if m["normalize"]:
        modules.append({"idx": 2, "name": "2", "path": "2_Normalize",
                        "type": "sentence_transformers.models.Normalize"})
        os.makedirs(os.path.join(directory, "2_Normalize"), exist_ok=True)
    write_json(os.path.join(directory, "modules.json"), modules)
    write_json(os.path.join(directory, "1_Pooling", "config.json"), {
        "word_embedding_dimension": m["hidden"],
        "pooling_mode_cls_token": m["pooling"] == "cls",
        "pooling_mode_mean_tokens": m["pooling"] == "mean",
        "pooling_mode_max_tokens": False,
        "pooling_mode_mean_sqrt_len_tokens": False,
    })


def write_json(path, value):
    with open(path, "w") as f:
        json.dump(value, f, indent=1)


# --- reference forward ---------------------------------------------------------

class Reference:
    """A model directory's encoder in plain torch ops, as Hugging Face's
    BertModel computes it (padded batch, additive attention mask)."""

    def __init__(self, directory):
        with open(os.path.join(directory, "config.json")) as f:
            self.config = json.load(f)
        with open(os.path.join(directory, "modules.json")) as f:
            modules = json.load(f)
        self.normalize = any(m["type"].endswith("Normalize") for m in modules)
        pooling_path = next(m["path"] for m in modules if m["type"].endswith("Pooling"))
        with open(os.path.join(directory, pooling_path, "config.json")) as f:
            self.cls = json.load(f)["pooling_mode_cls_token"]
        raw = read_safetensors(os.path.join(directory, "model.safetensors"))
        self.w = {}
        for name, value in raw.items():
            key = name[5:] if name.startswith("bert.") else name
            key = key.replace("LayerNorm.gamma", "LayerNorm.weight").replace("LayerNorm.beta", "LayerNorm.bias")
            self.w[key] = torch.from_numpy(value.copy())

    def forward(self, ids, lengths):
        """ids: (B, S) int64 tensor, lengths: (B,) int64 tensor."""
        c, w = self.config, self.w
        h, heads = c["hidden_size"], c["num_attention_heads"]
        dh = h // heads
        eps = c.get("layer_norm_eps", 1e-12)
        approximate = "none" if c.get("hidden_act", "gelu") == "gelu" else "tanh"
        b, s = ids.shape
        mask = torch.arange(s)[None, :] < lengths[:, None]
        x = w["embeddings.word_embeddings.weight"][ids]
        x = x + w["embeddings.token_type_embeddings.weight"][0]
        x = x + w["embeddings.position_embeddings.weight"][:s]
        x = F.layer_norm(x, (h,), w["embeddings.LayerNorm.weight"], w["embeddings.LayerNorm.bias"], eps)
        extended = (1.0 - mask[:, None, None, :].float()) * torch.finfo(torch.float32).min

        def lin(t, name):
            return F.linear(t, w[name + ".weight"], w[name + ".bias"])

        def split(t):
            return t.view(b, s, heads, dh).permute(0, 2, 1, 3)

        for i in range(c["num_hidden_layers"]):
            p = f"encoder.layer.{i}."
            q = split(lin(x, p + "attention.self.query"))
            k = split(lin(x, p + "attention.self.key"))
            v = split(lin(x, p + "attention.self.value"))
            scores = q @ k.transpose(-1, -2) / math.sqrt(dh) + extended
            context = (torch.softmax(scores, dim=-1) @ v).permute(0, 2, 1, 3).reshape(b, s, h)
            a = lin(context, p + "attention.output.dense")
            x = F.layer_norm(a + x, (h,), w[p + "attention.output.LayerNorm.weight"],
                             w[p + "attention.output.LayerNorm.bias"], eps)
            inter = F.gelu(lin(x, p + "intermediate.dense"), approximate=approximate)
            o = lin(inter, p + "output.dense")
            x = F.layer_norm(o + x, (h,), w[p + "output.LayerNorm.weight"],
                             w[p + "output.LayerNorm.bias"], eps)
        if self.cls:
            pooled = x[:, 0]
        else:
            m = mask[:, :, None].float()
            pooled = (x * m).sum(1) / m.sum(1).clamp(min=1e-9)
        if self.normalize:
            pooled = F.normalize(pooled, p=2, dim=1)
        return pooled


def reference_outputs(directory, batches):
    ref = Reference(directory)
    outputs = []
    with torch.inference_mode():
        for batch in batches:
            s = batch["seq_len"]
            lengths = torch.tensor(batch["lengths"], dtype=torch.int64)
            ids = torch.tensor(batch["ids"], dtype=torch.int64).view(len(batch["lengths"]), s)
            outputs.append([float(v) for v in ref.forward(ids, lengths).reshape(-1)])
    return outputs


# --- command line ----------------------------------------------------------------

def add_model_arguments(parser):
    for key, value in MODEL_DEFAULTS.items():
        flag = "--" + key.replace("_", "-")
        if key == "dtype_overrides":
            parser.add_argument(flag, default=[], action="append", metavar="NAME=DTYPE")
        elif isinstance(value, bool):
            parser.add_argument(flag, default=value, action=argparse.BooleanOptionalAction)
        else:
            parser.add_argument(flag, default=value, type=type(value))


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    make = sub.add_parser("make")
    make.add_argument("dir")
    add_model_arguments(make)
    ref = sub.add_parser("reference")
    ref.add_argument("dir")
    ref.add_argument("--batches", required=True)
    ref.add_argument("--out", required=True)
    suite = sub.add_parser("suite")
    suite.add_argument("spec")
    args = parser.parse_args()
    torch.set_num_threads(1)

    if args.command == "make":
        options = {k: getattr(args, k) for k in MODEL_DEFAULTS}
        options["dtype_overrides"] = dict(o.split("=", 1) for o in args.dtype_overrides)
        make_model(args.dir, **options)
    elif args.command == "reference":
        with open(args.batches) as f:
            batches = json.load(f)["batches"]
        write_json(args.out, {"outputs": reference_outputs(args.dir, batches)})
    else:
        with open(args.spec) as f:
            spec = json.load(f)
        for case in spec["cases"]:
            make_model(case["dir"], **case.get("model", {}))
            if case.get("batches"):
                write_json(case["expected"], {"outputs": reference_outputs(case["dir"], case["batches"])})
    return 0


if __name__ == "__main__":
    sys.exit(main())
