#!/usr/bin/env python3
"""Builds the PyTorch reference fixtures that tests/model/parity_test.cc compares weft to.

An independent float64 implementation of weft's model families, written
from the papers' equations and weft's documented semantics (names, shapes,
norm placement, masks, loss), not from its kernels:

  reference_gpt.safetensors     tiny GPT: learned positions, pre-LN, GELU
                                (tanh), tied output projection
  reference_encdec.safetensors  tiny 2017 Transformer: sinusoidal positions,
                                post-LN, ReLU, scaled embeddings, untied
                                lm_head, label smoothing 0.1, padding
  reference_llama.safetensors   tiny LLaMA: RMS norms, rotary positions
                                (rotate-half), SwiGLU, grouped-query attention
                                (4 query heads over 2 key/value heads), no
                                biases, untied lm_head
  reference_bert.safetensors    tiny BERT masked LM: bidirectional, padding,
                                learned positions, two segments (counted in
                                [SEP] tokens), the embeddings' layer norm,
                                post-LN, GELU, the masked-LM head (transform,
                                GELU, layer norm, tied decoder with a bias),
                                loss on the masked positions only

Each file holds, in float64: every parameter ("param.<name>"), the batch
("source", "input", "target", i32), the logits of the first forward
("logits"), the training loss (sum over counted tokens, "loss_sum"; count,
"tokens"; mean, "loss"), the evaluation loss without label smoothing
("eval_loss"), the gradient of the mean training loss ("grad.<name>"), the
mean loss before each of 5 AdamW steps with gradient clipping ("train_losses")
and the parameters after them ("final.<name>"). The configuration is in
__metadata__. Needs only torch; writes safetensors with struct + json.

Usage: python3 tests/reference/make_fixture.py [--out tests/fixtures]
"""

import argparse
import json
import math
import os
import struct
from collections import OrderedDict

import torch
import torch.nn.functional as F

torch.set_default_dtype(torch.float64)

OPTIM = dict(lr=3e-3, beta1=0.9, beta2=0.95, eps=1e-8, weight_decay=0.1, max_grad_norm=0.5,
             steps=5)

GPT = OrderedDict(
    architecture="decoder-only", vocab_size=23, d_model=16, n_heads=2, d_ff=40, n_layers=2,
    n_encoder_layers=0, max_seq_len=12, norm="pre", activation="gelu", positions="learned",
    tie_embeddings=1, scale_embeddings=0, label_smoothing=0.0, norm_eps=1e-5, pad_id=-1,
    batch=3, seq=7, seed=20240611)

LLAMA = OrderedDict(
    architecture="decoder-only", vocab_size=23, d_model=16, n_heads=4, n_kv_heads=2, d_ff=24,
    n_layers=2, n_encoder_layers=0, max_seq_len=12, norm="pre", norm_type="rmsnorm",
    ffn="swiglu", activation="gelu", positions="rotary", rope_theta=100.0, bias=0,
    tie_embeddings=0, scale_embeddings=0, label_smoothing=0.0, norm_eps=1e-5, pad_id=-1,
    batch=3, seq=7, seed=20240613)

BERT = OrderedDict(
    architecture="encoder-only", vocab_size=23, d_model=16, n_heads=2, d_ff=24, n_layers=2,
    n_encoder_layers=0, max_seq_len=12, norm="post", activation="gelu", positions="learned",
    n_token_types=2, sep_id=2, tie_embeddings=1, scale_embeddings=0, label_smoothing=0.0,
    norm_eps=1e-5, pad_id=0, batch=3, seq=9, seed=20240614)

ENCDEC = OrderedDict(
    architecture="encoder-decoder", vocab_size=19, d_model=12, n_heads=3, d_ff=20, n_layers=2,
    n_encoder_layers=2, max_seq_len=10, norm="post", activation="relu", positions="sinusoidal",
    tie_embeddings=0, scale_embeddings=1, label_smoothing=0.1, norm_eps=1e-5, pad_id=0,
    batch=3, source_len=6, target_len=5, seed=20240612)


# --- parameters -------------------------------------------------------------
# Names, shapes, order and weight-decay flags as weft's Module::parameters().
# Values are random everywhere (biases and norm gains too) so that every path
# carries a gradient.

class Params:
    def __init__(self, gen):
        self.gen = gen
        self.values = OrderedDict()
        self.decay = {}

    def normal(self, name, shape, std, mean=0.0, decay=True):
        t = torch.randn(*shape, generator=self.gen) * std + mean
        self.values[name] = t.requires_grad_()
        self.decay[name] = decay

    def linear(self, name, n_in, n_out, bias=True):
        self.normal(name + ".weight", (n_out, n_in), 1.0 / math.sqrt(n_in))
        if bias:
            self.normal(name + ".bias", (n_out,), 0.1, decay=False)

    def layer_norm(self, name, d, rms=False):
        self.normal(name + ".weight", (d,), 0.2, mean=1.0, decay=False)
        if not rms:
            self.normal(name + ".bias", (d,), 0.1, decay=False)

    def attention(self, name, c):
        d, bias = c["d_model"], c.get("bias", 1)
        kv = c.get("n_kv_heads", c["n_heads"]) * (d // c["n_heads"])
        self.layer_norm(name + ".norm", d, rms=is_rms(c))  # the Residual's norm comes first
        for proj, n_out in (("q", d), ("k", kv), ("v", kv), ("o", d)):
            self.linear(f"{name}.{proj}", d, n_out, bias)

    def block(self, name, c, cross):
        d, f, bias = c["d_model"], c["d_ff"], c.get("bias", 1)
        self.attention(name + ".self_attn", c)
        if cross:
            self.attention(name + ".cross_attn", c)
        self.layer_norm(name + ".ffn.norm", d, rms=is_rms(c))
        if c.get("ffn") == "swiglu":
            self.linear(name + ".ffn.gate", d, f, bias)
            self.linear(name + ".ffn.up", d, f, bias)
            self.linear(name + ".ffn.down", f, d, bias)
        else:
            self.linear(name + ".ffn.fc1", d, f, bias)
            self.linear(name + ".ffn.fc2", f, d, bias)

    def __getitem__(self, name):
        return self.values[name]


def is_rms(c):
    return c.get("norm_type") == "rmsnorm"


def gpt_params(c, gen):
    """Both decoder-only families: GPT and LLaMA."""
    p = Params(gen)
    d = c["d_model"]
    p.normal("decoder.embed_tokens.weight", (c["vocab_size"], d), 0.5)
    if c["positions"] == "learned":
        p.normal("decoder.embed_positions.weight", (c["max_seq_len"], d), 0.2)
    for i in range(c["n_layers"]):
        p.block(f"decoder.layers.{i}", c, cross=False)
    p.layer_norm("decoder.final_norm", d, rms=is_rms(c))
    if not c["tie_embeddings"]:
        p.normal("lm_head.weight", (c["vocab_size"], d), 0.5)
    return p


def bert_params(c, gen):
    p = Params(gen)
    d = c["d_model"]
    p.normal("encoder.embed_tokens.weight", (c["vocab_size"], d), 0.5)
    p.normal("encoder.embed_positions.weight", (c["max_seq_len"], d), 0.2)
    p.normal("encoder.embed_segments.weight", (c["n_token_types"], d), 0.2)
    p.layer_norm("encoder.embed_norm", d)
    for i in range(c["n_layers"]):
        p.block(f"encoder.layers.{i}", c, cross=False)
    p.linear("mlm_head.transform", d, d)
    p.layer_norm("mlm_head.norm", d)
    p.normal("mlm_head.decoder.bias", (c["vocab_size"],), 0.1, decay=False)
    return p


def encdec_params(c, gen):
    p = Params(gen)
    d = c["d_model"]
    p.normal("decoder.embed_tokens.weight", (c["vocab_size"], d), 0.3)  # shared with the encoder
    for i in range(c["n_encoder_layers"]):
        p.block(f"encoder.layers.{i}", c, cross=False)
    for i in range(c["n_layers"]):
        p.block(f"decoder.layers.{i}", c, cross=True)
    p.normal("lm_head.weight", (c["vocab_size"], d), 0.5)
    return p


# --- the model ----------------------------------------------------------------

def linear(p, name, x):
    bias = p.values.get(name + ".bias")
    return x @ p[name + ".weight"].T + (bias if bias is not None else 0.0)


def layer_norm(p, name, x, c):
    if is_rms(c):
        # LLaMA's RMSNorm: no centring, no bias.
        rms = torch.sqrt((x * x).mean(-1, keepdim=True) + c["norm_eps"])
        return x / rms * p[name + ".weight"]
    return F.layer_norm(x, (x.shape[-1],), p[name + ".weight"], p[name + ".bias"], c["norm_eps"])


def rotate(x, c):
    """Rotary positions on x (B,H,T,Dh): pairs (i, i + Dh/2) turn by position · theta^(-2i/Dh)."""
    T, Dh = x.shape[2], x.shape[3]
    inv_freq = 1.0 / c["rope_theta"] ** (torch.arange(0, Dh, 2, dtype=torch.float64) / Dh)
    angle = torch.arange(T, dtype=torch.float64)[:, None] * inv_freq[None, :]  # (T, Dh/2)
    cos, sin = torch.cos(angle), torch.sin(angle)
    x1, x2 = x[..., : Dh // 2], x[..., Dh // 2:]
    return torch.cat([x1 * cos - x2 * sin, x2 * cos + x1 * sin], dim=-1)


def attention(p, name, x, kv, key_valid, causal, c):
    """x (B,T,d) queries, kv (B,S,d); key_valid (B,S) bool or None."""
    B, T, d = x.shape
    S = kv.shape[1]
    H = c["n_heads"]
    Hkv = c.get("n_kv_heads", H)
    Dh = d // H
    # Heads are contiguous slices of the model dimension: head h is [h·Dh, (h+1)·Dh).
    q = linear(p, name + ".q", x).view(B, T, H, Dh).transpose(1, 2)
    k = linear(p, name + ".k", kv).view(B, S, Hkv, Dh).transpose(1, 2)
    v = linear(p, name + ".v", kv).view(B, S, Hkv, Dh).transpose(1, 2)
    if c["positions"] == "rotary":
        q, k = rotate(q, c), rotate(k, c)
    # Grouped-query: query head h reads key/value head h // (H / Hkv).
    k = k.repeat_interleave(H // Hkv, dim=1)
    v = v.repeat_interleave(H // Hkv, dim=1)
    scores = (q @ k.transpose(-1, -2)) / math.sqrt(Dh)  # (B,H,T,S)
    hidden = torch.zeros(B, 1, T, S, dtype=torch.bool)
    if key_valid is not None:
        hidden = hidden | ~key_valid[:, None, None, :]
    if causal:
        hidden = hidden | torch.ones(T, S, dtype=torch.bool).triu(1)[None, None]
    assert not hidden.all(-1).any(), "a query that sees no key: weft defines it as 0, torch as NaN"
    probs = torch.softmax(scores.masked_fill(hidden, float("-inf")), dim=-1)
    out = (probs @ v).transpose(1, 2).reshape(B, T, d)
    return linear(p, name + ".o", out)


def feed_forward(p, name, x, c):
    if c.get("ffn") == "swiglu":
        return linear(p, name + ".down", F.silu(linear(p, name + ".gate", x)) *
                      linear(p, name + ".up", x))
    h = linear(p, name + ".fc1", x)
    h = F.gelu(h, approximate="tanh") if c["activation"] == "gelu" else F.relu(h)
    return linear(p, name + ".fc2", h)


def residual(p, name, x, sublayer, c):
    if c["norm"] == "pre":
        return x + sublayer(layer_norm(p, name + ".norm", x, c))
    return layer_norm(p, name + ".norm", x + sublayer(x), c)


def sinusoidal_table(n, d):
    pos = torch.arange(n, dtype=torch.float64)[:, None]
    pair = (torch.arange(d) // 2 * 2).to(torch.float64)  # 2i for columns 2i and 2i+1
    angle = pos / torch.pow(torch.tensor(10000.0), pair / d)
    return torch.where(torch.arange(d) % 2 == 0, torch.sin(angle), torch.cos(angle))


def embed(p, prefix, ids, c):
    d = c["d_model"]
    scale = math.sqrt(d) if c["scale_embeddings"] else 1.0
    table = "encoder" if c["architecture"] == "encoder-only" else "decoder"
    x = p[table + ".embed_tokens.weight"][ids] * scale  # one table: shared vocabulary / GPT
    T = ids.shape[1]
    if c["positions"] == "learned":
        return x + p[prefix + ".embed_positions.weight"][:T]
    if c["positions"] == "rotary":
        return x  # the attention rotates queries and keys instead
    return x + sinusoidal_table(c["max_seq_len"], d)[:T]


def segments(ids, c):
    """BERT's token types: the [SEP] tokens before each position, at most n_token_types - 1."""
    sep = (ids == c["sep_id"]).long()
    return (torch.cumsum(sep, dim=1) - sep).clamp(max=c["n_token_types"] - 1)


def stack(p, prefix, ids, valid, causal, memory, memory_valid, n_layers, c):
    h = embed(p, prefix, ids, c)
    if c["architecture"] == "encoder-only":
        h = h + p[prefix + ".embed_segments.weight"][segments(ids, c)]
        h = layer_norm(p, prefix + ".embed_norm", h, c)
    for i in range(n_layers):
        name = f"{prefix}.layers.{i}"
        h = residual(p, name + ".self_attn", h,
                     lambda x: attention(p, name + ".self_attn", x, x, valid, causal, c), c)
        if memory is not None:
            h = residual(p, name + ".cross_attn", h,
                         lambda x: attention(p, name + ".cross_attn", x, memory, memory_valid,
                                             False, c), c)
        h = residual(p, name + ".ffn", h, lambda x: feed_forward(p, name + ".ffn", x, c), c)
    if c["norm"] == "pre":
        h = layer_norm(p, prefix + ".final_norm", h, c)
    return h


def logits_of(p, batch, c):
    pad = c["pad_id"]
    key_valid = (lambda ids: ids != pad) if pad >= 0 else (lambda ids: None)
    if c["architecture"] == "encoder-only":
        h = stack(p, "encoder", batch["input"], key_valid(batch["input"]), False, None, None,
                  c["n_layers"], c)
        h = layer_norm(p, "mlm_head.norm",
                       F.gelu(linear(p, "mlm_head.transform", h), approximate="tanh"), c)
        return h @ p["encoder.embed_tokens.weight"].T + p["mlm_head.decoder.bias"]
    if c["architecture"] == "decoder-only":
        h = stack(p, "decoder", batch["input"], key_valid(batch["input"]), True, None, None,
                  c["n_layers"], c)
        out_weight = p["decoder.embed_tokens.weight" if c["tie_embeddings"] else "lm_head.weight"]
    else:
        src_valid = key_valid(batch["source"])
        memory = stack(p, "encoder", batch["source"], src_valid, False, None, None,
                       c["n_encoder_layers"], c)
        h = stack(p, "decoder", batch["input"], key_valid(batch["input"]), True, memory,
                  src_valid, c["n_layers"], c)
        out_weight = p["lm_head.weight"]
    return h @ out_weight.T


def loss_sum(logits, target, smoothing):
    V = logits.shape[-1]
    return F.cross_entropy(logits.reshape(-1, V), target.reshape(-1).long(), ignore_index=-1,
                           label_smoothing=smoothing, reduction="sum")


# --- batches ----------------------------------------------------------------

def gpt_batch(c, gen):
    B, T, V = c["batch"], c["seq"], c["vocab_size"]
    tokens = torch.randint(0, V, (B, T + 1), generator=gen, dtype=torch.int32)
    target = tokens[:, 1:].clone()
    target[0, 0] = -1  # ignored targets (e.g. a prompt) carry no loss
    target[2, 4] = -1
    return {"input": tokens[:, :-1].contiguous(), "target": target}


def bert_batch(c, gen):
    """[CLS] (1) tokens [SEP] (2), padding (0) after; row 0 has two segments;
    about one ordinary position in four is a masked-LM target."""
    B, T, V = c["batch"], c["seq"], c["vocab_size"]
    inp = torch.randint(3, V, (B, T), generator=gen, dtype=torch.int32)
    target = torch.full((B, T), -1, dtype=torch.int32)
    for b, length in enumerate([9, 7, 5]):
        inp[b, 0] = 1
        inp[b, length - 1] = 2
        inp[b, length:] = 0
        for t in range(1, length - 1):
            if (b + 3 * t) % 4 == 1:
                target[b, t] = int(torch.randint(3, V, (1,), generator=gen))
    inp[0, 4] = 2  # [CLS] a [SEP] b [SEP]
    target[0, 4] = -1
    return {"input": inp, "target": target}


def encdec_batch(c, gen):
    B, S, T, V, pad = c["batch"], c["source_len"], c["target_len"], c["vocab_size"], c["pad_id"]
    source = torch.randint(1, V, (B, S), generator=gen, dtype=torch.int32)
    inp = torch.randint(1, V, (B, T), generator=gen, dtype=torch.int32)
    target = torch.randint(1, V, (B, T), generator=gen, dtype=torch.int32)
    for b, (src_len, tgt_len) in enumerate([(6, 5), (4, 3), (3, 4)]):
        source[b, src_len:] = pad
        inp[b, tgt_len:] = pad
        target[b, tgt_len:] = -1
    return {"source": source, "input": inp, "target": target}


# --- the fixture --------------------------------------------------------------

def build(c):
    gen = torch.Generator().manual_seed(c["seed"])
    arch = c["architecture"]
    params, batches = {"decoder-only": (gpt_params, gpt_batch),
                       "encoder-decoder": (encdec_params, encdec_batch),
                       "encoder-only": (bert_params, bert_batch)}[arch]
    p = params(c, gen)
    batch = batches(c, gen)
    names = list(p.values)
    out = OrderedDict()
    for k in ("source", "input", "target"):
        if k in batch:
            out[k] = batch[k]
    for n in names:
        out["param." + n] = p[n].detach().clone()

    tokens = int((batch["target"] != -1).sum())
    logits = logits_of(p, batch, c)
    train_sum = loss_sum(logits, batch["target"], c["label_smoothing"])
    eval_sum = loss_sum(logits, batch["target"], 0.0)
    (train_sum / tokens).backward()
    out["logits"] = logits.detach().clone()
    out["loss_sum"] = train_sum.detach().reshape(1)
    out["tokens"] = torch.tensor([tokens], dtype=torch.int32)
    out["loss"] = (train_sum / tokens).detach().reshape(1)
    out["eval_loss"] = (eval_sum / tokens).detach().reshape(1)
    for n in names:
        out["grad." + n] = p[n].grad.detach().clone()

    params = [p[n] for n in names]
    groups = [
        {"params": [p[n] for n in names if p.decay[n]], "weight_decay": OPTIM["weight_decay"]},
        {"params": [p[n] for n in names if not p.decay[n]], "weight_decay": 0.0},
    ]
    opt = torch.optim.AdamW(groups, lr=OPTIM["lr"], betas=(OPTIM["beta1"], OPTIM["beta2"]),
                            eps=OPTIM["eps"])
    losses = []
    for _ in range(OPTIM["steps"]):
        opt.zero_grad()
        mean = loss_sum(logits_of(p, batch, c), batch["target"], c["label_smoothing"]) / tokens
        mean.backward()
        losses.append(mean.item())
        torch.nn.utils.clip_grad_norm_(params, max_norm=OPTIM["max_grad_norm"])
        opt.step()
    out["train_losses"] = torch.tensor(losses)
    for n in names:
        out["final." + n] = p[n].detach().clone()

    meta = OrderedDict((k, str(v)) for k, v in c.items())
    meta.update((k, str(v)) for k, v in OPTIM.items())
    meta["parameters"] = ",".join(names)
    meta["decay"] = ",".join(n for n in names if p.decay[n])
    meta["torch_version"] = torch.__version__
    meta["generator"] = "tests/reference/make_fixture.py"
    return out, meta


DTYPES = {torch.float64: ("F64", "d"), torch.int32: ("I32", "i")}


def save_safetensors(path, tensors, metadata):
    """The safetensors layout: u64 header length, JSON header, raw data."""
    header = OrderedDict([("__metadata__", metadata)])
    chunks, offset = [], 0
    for name, t in tensors.items():
        t = t.detach().contiguous()
        dtype, code = DTYPES[t.dtype]
        values = t.reshape(-1).tolist()
        data = struct.pack(f"<{len(values)}{code}", *values)
        header[name] = {"dtype": dtype, "shape": list(t.shape),
                        "data_offsets": [offset, offset + len(data)]}
        chunks.append(data)
        offset += len(data)
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for data in chunks:
            f.write(data)
    os.replace(tmp, path)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    here = os.path.dirname(os.path.abspath(__file__))
    parser.add_argument("--out", default=os.path.join(here, "..", "data"))
    args = parser.parse_args()
    os.makedirs(args.out, exist_ok=True)
    for name, c in (("gpt", GPT), ("encdec", ENCDEC), ("llama", LLAMA), ("bert", BERT)):
        tensors, meta = build(c)
        path = os.path.normpath(os.path.join(args.out, f"reference_{name}.safetensors"))
        save_safetensors(path, tensors, meta)
        losses = ", ".join(f"{x:.6f}" for x in tensors["train_losses"].tolist())
        print(f"{path}: {os.path.getsize(path)} bytes, {len(tensors)} tensors, "
              f"loss {tensors['loss'].item():.6f}, train losses [{losses}]")


if __name__ == "__main__":
    main()
