#!/usr/bin/env python3
"""The PyTorch reference for weft's translation training: configs/multi30k.ini's
Transformer trained on the batches `weft train` makes from the same prepared
dataset, to compare step throughput (launch/bench-translation.sh runs both).

The model is that config's (transformer-base preset, overridden): 3 encoder
and 3 decoder post-norm layers (nn.TransformerEncoderLayer /
nn.TransformerDecoderLayer, batch_first, norm_first=False, no final norms),
d_model 384, 6 heads, d_ff 1536, ReLU, LayerNorm eps 1e-5, biases in every
linear and norm; sinusoidal positions laid out as weft's `sinusoid_layout =
halves` (sines in the first half of the features, cosines in the second);
one embedding of the shared vocabulary, scaled by sqrt(d_model), for the
source, the target and the output projection (tied, no bias). Dropout 0.3
where weft applies it (src/model/): on embeddings + positions, on every
sublayer's output before its residual sum, and on the feed-forward hidden
layer after ReLU; not on attention probabilities, so the attention modules'
own dropout is set to 0. Padding is masked as a key in every attention.
Initialisation as weft's: N(0, 0.02), the attention output and fc2
projections N(0, 0.02/sqrt(2·layers)), biases 0, norm gains 1.

The step matches weft's trainer: the mean over counted targets of
cross-entropy with label smoothing 0.1 (torch's form, which is weft's;
padding targets ignored), gradient clipping at norm 1.0, AdamW (0.9, 0.98,
eps 1e-8, weight decay 1e-4 on matrices and the embedding, not on biases and
norm gains), weft's warm-up-cosine learning rate (lr 7e-4, min 1e-5, warm-up
min(1000, steps) steps).

Batches are weft's token-budget batches (src/data/token_batches.cc,
src/data/translation_loader.cc), reproduced pair for pair and in the same
order for the same seed (train.seed, default 1337): each epoch's order is
weft's seeded permutation, sorted by (target length, source length) within
chunks of 16384 pairs, cut greedily so that pairs · (longest source + longest
target) <= max_tokens (source with EOS, target with BOS), and the batches'
order shuffled. So step k here trains on weft's step k batch.

A step is timed as weft times it: from making the batch's tensors to the
optimizer's update. tokens/s counts the targets that carry loss (each
sentence's tokens and its EOS), as weft's tok/s does, over the timed steps
(after --warmup-steps untimed ones). Threads: --threads (default: torch's,
which OMP_NUM_THREADS sets).

    python3 launch/pytorch_translation.py --data RUN_DIR/data --steps 20 \\
        --warmup-steps 3 --threads 2 [--precision bf16] [--compile]

prints one line a script can read:

    pytorch: tokens_per_s=... steps=... tokens=... seconds=... max_tokens=... precision=...

or `pytorch: not installed` (exit 0) without torch. Per-step losses go to
stderr.
"""

import argparse
import json
import math
import os
import sys
import time

try:
    import numpy as np
except ImportError:  # torch's dependency: without it, torch is not usable either
    np = None

MASK64 = (1 << 64) - 1
SORT_CHUNK = 1 << 14  # kSortChunk (include/weft/data/token_batches.h)
SHARD_HEADER_BYTES = 40


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--data", required=True, help="a dataset directory made by `weft prepare`")
    p.add_argument("--max-tokens", type=int, default=4096, help="data.max_tokens")
    p.add_argument("--steps", type=int, default=20, help="timed training steps")
    p.add_argument("--warmup-steps", type=int, default=3, help="untimed steps first")
    p.add_argument("--threads", type=int, default=0, help="torch threads (0: as torch starts)")
    p.add_argument("--precision", choices=["fp32", "bf16"], default="fp32",
                   help="bf16: CPU autocast to bf16 (weights and optimizer stay f32)")
    p.add_argument("--compile", action="store_true",
                   help="torch.compile the model, dynamic shapes (the first step: minutes)")
    p.add_argument("--seed", type=int, default=1337, help="train.seed: data order and init")
    p.add_argument("--layers", type=int, default=3, help="encoder and decoder layers each")
    p.add_argument("--d-model", type=int, default=384)
    p.add_argument("--heads", type=int, default=6)
    p.add_argument("--d-ff", type=int, default=1536)
    p.add_argument("--dropout", type=float, default=0.3)
    p.add_argument("--label-smoothing", type=float, default=0.1)
    p.add_argument("--max-seq-len", type=int, default=160, help="model.max_seq_len")
    p.add_argument("--lr", type=float, default=7e-4)
    p.add_argument("--min-lr", type=float, default=1e-5)
    p.add_argument("--lr-warmup", type=int, default=1000,
                   help="optim.warmup (capped at the run's steps, as the bench passes it to weft)")
    return p.parse_args()


# weft's counter-based generator (include/weft/tensor/counter_rng.h) and
# data::below (src/data/loader_common.h), on Python integers.
def mix64(x):
    x = (x + 0x9E3779B97F4A7C15) & MASK64
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & MASK64
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & MASK64
    return x ^ (x >> 31)


def stream_key(seed, a, b):
    return mix64(mix64(mix64(seed) ^ a) ^ b)


def hash_name(s):
    h = 0xCBF29CE484222325
    for c in s.encode():
        h = ((h ^ c) * 0x100000001B3) & MASK64
    return h


def fisher_yates(items, key):
    for i in range(len(items) - 1, 0, -1):
        j = (mix64(key ^ mix64(i)) * (i + 1)) >> 64
        items[i], items[j] = items[j], items[i]
    return items


def read_shard(path):
    """A token shard (include/weft/data/shard.h) as an int64 array."""
    with open(path, "rb") as f:
        header = f.read(SHARD_HEADER_BYTES)
        if header[:8] != b"WEFTTOKS":
            sys.exit(f"{path}: not a weft token shard")
        token_bytes = int.from_bytes(header[12:16], "little")
        count = int.from_bytes(header[16:24], "little")
        tokens = np.fromfile(f, dtype="<u2" if token_bytes == 2 else "<u4", count=count)
    if tokens.size != count:
        sys.exit(f"{path}: the header says {count} tokens, the file holds {tokens.size}")
    return tokens.astype(np.int64)


class TokenBatches:
    """weft's TranslationLoader with data.max_tokens > 0, on one rank."""

    def __init__(self, data_dir, max_tokens, seed):
        with open(os.path.join(data_dir, "meta.json")) as f:
            meta = json.load(f)
        if meta.get("kind") != "translation" or not meta.get("shared_vocabulary"):
            sys.exit(f"{data_dir}: needs a translation dataset with one shared vocabulary")
        src_tok, tgt_tok = meta["source_tokenizer"], meta["target_tokenizer"]
        self.vocab = tgt_tok["vocab_size"]
        self.source_pad, self.target_pad = src_tok["pad_id"], tgt_tok["pad_id"]
        self.bos = tgt_tok["bos_id"]
        self.source = read_shard(os.path.join(data_dir, "train.src.bin"))
        self.target = read_shard(os.path.join(data_dir, "train.tgt.bin"))
        # Each sentence ends with its EOS; starts[i] .. starts[i+1] holds it.
        self.source_starts = np.flatnonzero(np.r_[True, self.source == src_tok["eos_id"]])
        self.target_starts = np.flatnonzero(np.r_[True, self.target == tgt_tok["eos_id"]])
        if self.source_starts[-1] != self.source.size or self.target_starts[-1] != self.target.size:
            sys.exit(f"{data_dir}: a train shard does not end with EOS; prepare the data again")
        if len(self.source_starts) != len(self.target_starts):
            sys.exit(f"{data_dir}: the source and target shards hold different sentence counts")
        self.source_len = np.diff(self.source_starts).tolist()   # with EOS
        self.target_len = np.diff(self.target_starts).tolist()   # tokens + EOS = BOS + tokens
        self.max_tokens, self.seed = max_tokens, seed
        longest = max(s + t for s, t in zip(self.source_len, self.target_len))
        if longest > max_tokens:
            sys.exit(f"--max-tokens {max_tokens} is smaller than the longest pair ({longest})")

    def sentences(self):
        return len(self.source_len)

    def plan(self, epoch):
        """The epoch's batches, each a list of pair ids, in training order."""
        n = self.sentences()
        order = fisher_yates(list(range(n)),
                             stream_key(self.seed, hash_name("train"), epoch))
        src, tgt = self.source_len, self.target_len
        ordered = []
        for c0 in range(0, n, SORT_CHUNK):  # sorted() is stable: ties keep the order
            ordered += sorted(order[c0:c0 + SORT_CHUNK], key=lambda i: (tgt[i], src[i]))
        batches, begin = [], 0
        while begin < n:
            longest_s = longest_t = 0
            end = begin
            while end < n:
                s, t = max(longest_s, src[ordered[end]]), max(longest_t, tgt[ordered[end]])
                if (end - begin + 1) * (s + t) > self.max_tokens:
                    break
                longest_s, longest_t, end = s, t, end + 1
            batches.append(ordered[begin:end])
            begin = end
        batch_key = stream_key(self.seed, hash_name("batches of train"), epoch)
        return [batches[b] for b in fisher_yates(list(range(len(batches))), batch_key)]

    def __iter__(self):
        epoch = 0
        while True:
            yield from self.plan(epoch)
            epoch += 1

    def arrays(self, pairs):
        """source (B,S), decoder input (B,T), target (B,T) with -1 at padding, counted targets."""
        rows = len(pairs)
        S = max(self.source_len[p] for p in pairs)
        T = max(self.target_len[p] for p in pairs)
        source = np.full((rows, S), self.source_pad, dtype=np.int64)
        inputs = np.full((rows, T), self.target_pad, dtype=np.int64)
        target = np.full((rows, T), -1, dtype=np.int64)
        counted = 0
        for r, p in enumerate(pairs):
            s = self.source[self.source_starts[p]:self.source_starts[p + 1]]
            t = self.target[self.target_starts[p]:self.target_starts[p + 1]]
            source[r, :len(s)] = s
            target[r, :len(t)] = t
            inputs[r, 0] = self.bos
            inputs[r, 1:len(t)] = t[:-1]
            counted += len(t)
        return source, inputs, target, counted


def sinusoid_halves(max_len, d):
    """weft's sinusoid_layout = halves (src/backend/sinusoid.h), formed in double."""
    sines = (d + 1) // 2
    pos = np.arange(max_len, dtype=np.float64)[:, None]
    j = np.arange(d)
    i = np.where(j < sines, j, j - sines)
    angle = pos / np.power(10000.0, 2.0 * i / d)
    return np.where(j < sines, np.sin(angle), np.cos(angle)).astype(np.float32)


def build_model(torch, args, vocab):
    nn = torch.nn
    d = args.d_model

    def layers(make):
        out = nn.ModuleList()
        for _ in range(args.layers):
            layer = make(d, args.heads, args.d_ff, args.dropout, activation="relu",
                         layer_norm_eps=1e-5, batch_first=True, norm_first=False)
            # weft drops no attention probabilities: dropout1/2/3 (sublayer
            # outputs) and .dropout (after ReLU) remain.
            layer.self_attn.dropout = 0.0
            if hasattr(layer, "multihead_attn"):
                layer.multihead_attn.dropout = 0.0
            out.append(layer)
        return out

    class Translator(nn.Module):
        def __init__(self):
            super().__init__()
            self.embed = nn.Embedding(vocab, d)  # source, target and output projection
            table = sinusoid_halves(args.max_seq_len, d)
            self.register_buffer("positions", torch.from_numpy(table))
            self.drop = nn.Dropout(args.dropout)
            self.encoder = layers(nn.TransformerEncoderLayer)
            self.decoder = layers(nn.TransformerDecoderLayer)
            out_std = 0.02 / math.sqrt(2 * args.layers)
            for name, p in self.named_parameters():
                if name.endswith(("out_proj.weight", "linear2.weight")):
                    nn.init.normal_(p, 0.0, out_std)
                elif p.dim() >= 2:
                    nn.init.normal_(p, 0.0, 0.02)
                elif "norm" in name and name.endswith(".weight"):
                    nn.init.ones_(p)
                else:
                    nn.init.zeros_(p)

        def embed_tokens(self, ids):  # ids (B,T) -> (B,T,d)
            x = self.embed(ids) * math.sqrt(d) + self.positions[: ids.shape[1]]
            return self.drop(x)

        def forward(self, source, inputs, target, source_pad, target_pad):
            T = inputs.shape[1]
            causal = torch.triu(torch.ones(T, T, dtype=torch.bool, device=inputs.device), 1)
            memory = self.embed_tokens(source)
            for layer in self.encoder:
                memory = layer(memory, src_key_padding_mask=source_pad)
            h = self.embed_tokens(inputs)
            for layer in self.decoder:
                h = layer(h, memory, tgt_mask=causal, tgt_is_causal=True,
                          tgt_key_padding_mask=target_pad, memory_key_padding_mask=source_pad)
            logits = h @ self.embed.weight.T  # tied output projection, no bias
            return torch.nn.functional.cross_entropy(
                logits.reshape(-1, logits.shape[-1]).float(), target.reshape(-1),
                ignore_index=-1, label_smoothing=args.label_smoothing)

    return Translator()


def warmup_cosine(args, total_steps):
    """weft's WarmupCosineSchedule (src/train/schedule.cc) as a LambdaLR factor."""
    warmup = min(args.lr_warmup, total_steps)

    def factor(k):  # LambdaLR's k is the number of steps taken; weft's step is k + 1
        step = k + 1
        if step <= warmup:
            lr = args.lr * step / warmup
        elif step >= total_steps:
            lr = args.min_lr
        else:
            ratio = (step - warmup) / (total_steps - warmup)
            lr = args.min_lr + 0.5 * (1.0 + math.cos(math.pi * ratio)) * (args.lr - args.min_lr)
        return lr / args.lr

    return factor


def main():
    args = parse_args()
    try:
        import torch
    except ImportError:
        torch = None
    if torch is None or np is None:
        print("pytorch: not installed")
        return 0
    if args.threads > 0:
        torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    # On a CPU with AMX, "high" would let oneDNN run f32 GEMMs in bf16: the
    # f32 reference keeps "highest".
    torch.set_float32_matmul_precision("highest")

    data = TokenBatches(args.data, args.max_tokens, args.seed)
    model = build_model(torch, args, data.vocab)
    model.train()
    decay = [p for p in model.parameters() if p.dim() >= 2]
    no_decay = [p for p in model.parameters() if p.dim() < 2]
    optimizer = torch.optim.AdamW(
        [{"params": decay, "weight_decay": 1e-4}, {"params": no_decay, "weight_decay": 0.0}],
        lr=args.lr, betas=(0.9, 0.98), eps=1e-8, foreach=True)
    total_steps = args.warmup_steps + args.steps
    schedule = torch.optim.lr_scheduler.LambdaLR(optimizer, warmup_cosine(args, total_steps))
    step_model = torch.compile(model, dynamic=True) if args.compile else model
    print(f"pytorch: torch {torch.__version__} on cpu, {torch.get_num_threads()} threads, "
          f"{args.precision}, {sum(p.numel() for p in model.parameters()) / 1e6:.2f}M parameters "
          f"({sum(p.numel() for p in model.parameters())}), {data.sentences()} pairs, "
          f"max_tokens {args.max_tokens}, compile {args.compile}", file=sys.stderr)

    def step(pairs):
        source, inputs, target, counted = data.arrays(pairs)
        source, inputs, target = (torch.from_numpy(a) for a in (source, inputs, target))
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=args.precision == "bf16"):
            loss = step_model(source, inputs, target,
                              source == data.source_pad, inputs == data.target_pad)
        loss.backward()
        grad_norm = torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        schedule.step()
        optimizer.zero_grad(set_to_none=True)
        return loss.item(), grad_norm.item(), counted, source.shape, inputs.shape

    seconds, tokens = 0.0, 0
    batches = iter(data)
    for k in range(total_steps):
        pairs = next(batches)
        start = time.perf_counter()
        loss, grad_norm, counted, s_shape, t_shape = step(pairs)
        elapsed = time.perf_counter() - start
        timed = k >= args.warmup_steps
        if timed:
            seconds += elapsed
            tokens += counted
        print(f"pytorch step {k + 1}{'' if timed else ' (warm-up)'}: loss {loss:.4f} "
              f"grad-norm {grad_norm:.3f} source {tuple(s_shape)} target {tuple(t_shape)} "
              f"tokens {counted} {counted / elapsed:.0f} tok/s", file=sys.stderr)

    tokens_per_s = tokens / seconds if seconds > 0 else 0.0
    print(f"pytorch: tokens_per_s={tokens_per_s:.0f} steps={args.steps} tokens={tokens} "
          f"seconds={seconds:.3f} max_tokens={args.max_tokens} precision={args.precision}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
