#!/usr/bin/env python3
"""The PyTorch reference for weft's benchmarks: training steps of GPT-2
124M as a strong PyTorch user writes them (bf16 autocast, torch.compile,
F.scaled_dot_product_attention, fused AdamW), on random tokens. With
--device cpu (and --layers/--d-model/--heads/--vocab/--dropout for
gpt-shakespeare-char's 6x384 shape) it is the CPU reference of
`weft bench --device cpu`: eager unless asked (--compile), bf16 autocast or
fp32 (--precision), torch's threads as OMP_NUM_THREADS says.

The model is weft's gpt2-124m preset (src/model/config.cc): 12 pre-norm
blocks of d_model 768, 12 heads, d_ff 3072, learned positions, GELU (tanh
form), biases in every linear and norm, a final norm, the output projection
tied to the token embedding, vocabulary 50257. Q, K and V are one fused
linear here (the same function as weft's three). The step matches weft's
trainer: mean cross-entropy, gradient clipping at norm 1.0, AdamW
(0.9, 0.95, eps 1e-8, weight decay 0.1 on matrices and embeddings).

    python3 launch/pytorch_gpt2.py --batch 32 --seq 1024 --steps 20 --warmup 3

prints one line a script can read:

    pytorch: tokens_per_s=... peak_mem_gib=... batch=... seq=...

or `pytorch: not installed` (exit 0) without torch, `pytorch: no CUDA ...`
(exit 0) without a GPU torch can use, and `pytorch: out_of_memory batch=...
seq=...` (exit 0) when the batch does not fit.
"""

import argparse
import math
import sys
import time


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--batch", type=int, default=8, help="sequences per step")
    p.add_argument("--seq", type=int, default=1024, help="tokens per sequence")
    p.add_argument("--steps", type=int, default=20, help="timed training steps")
    p.add_argument("--warmup", type=int, default=3, help="untimed steps first (compilation)")
    p.add_argument("--vocab", type=int, default=50257, help="vocabulary size (weft's preset: 50257)")
    p.add_argument("--dropout", type=float, default=0.0, help="weft's gpt2-124m: 0")
    p.add_argument("--no-compile", action="store_true", help="skip torch.compile")
    p.add_argument("--compile", action="store_true", help="cpu: torch.compile too (slow to build)")
    p.add_argument("--device", choices=["cuda", "cpu"], default="cuda")
    p.add_argument("--precision", choices=["bf16", "fp32"], default="bf16",
                   help="bf16: autocast to bf16 (weights and optimizer stay f32)")
    p.add_argument("--layers", type=int, default=12)
    p.add_argument("--d-model", type=int, default=768)
    p.add_argument("--heads", type=int, default=12)
    p.add_argument("--d-ff", type=int, default=0, help="0: 4 x d-model")
    args = p.parse_args()
    if args.device == "cpu" and not args.compile:
        args.no_compile = True
    return args


def build_model(torch, args):
    nn = torch.nn
    F = torch.nn.functional
    d, heads, layers = args.d_model, args.heads, args.layers
    d_ff = args.d_ff or 4 * d

    class SelfAttention(nn.Module):
        def __init__(self):
            super().__init__()
            self.qkv = nn.Linear(d, 3 * d)
            self.o = nn.Linear(d, d)

        def forward(self, x):  # x (B,T,d)
            B, T, _ = x.shape
            q, k, v = self.qkv(x).split(d, dim=2)
            q, k, v = (t.view(B, T, heads, d // heads).transpose(1, 2) for t in (q, k, v))
            y = F.scaled_dot_product_attention(
                q, k, v, is_causal=True, dropout_p=args.dropout if self.training else 0.0)
            return self.o(y.transpose(1, 2).reshape(B, T, d))

    class Block(nn.Module):
        def __init__(self):
            super().__init__()
            self.norm1 = nn.LayerNorm(d, eps=1e-5)
            self.attn = SelfAttention()
            self.norm2 = nn.LayerNorm(d, eps=1e-5)
            self.fc1 = nn.Linear(d, d_ff)
            self.fc2 = nn.Linear(d_ff, d)
            self.drop = nn.Dropout(args.dropout)

        def forward(self, x):
            x = x + self.drop(self.attn(self.norm1(x)))
            return x + self.drop(self.fc2(F.gelu(self.fc1(self.norm2(x)), approximate="tanh")))

    class GPT(nn.Module):
        def __init__(self):
            super().__init__()
            self.tokens = nn.Embedding(args.vocab, d)
            self.positions = nn.Embedding(args.seq, d)
            self.drop = nn.Dropout(args.dropout)
            self.blocks = nn.ModuleList(Block() for _ in range(layers))
            self.final_norm = nn.LayerNorm(d, eps=1e-5)
            # GPT-2's initialisation, as weft's: N(0, 0.02), residual
            # projections scaled by 1/sqrt(2·layers), biases 0, norm gains 1.
            for name, p in self.named_parameters():
                if p.dim() >= 2:
                    std = 0.02 / math.sqrt(2 * layers) if name.endswith((".o.weight", ".fc2.weight")) else 0.02
                    nn.init.normal_(p, 0.0, std)
                elif "norm" not in name:
                    nn.init.zeros_(p)

        def forward(self, ids, target):  # ids, target (B,T)
            T = ids.shape[1]
            x = self.drop(self.tokens(ids) + self.positions(torch.arange(T, device=ids.device)))
            for block in self.blocks:
                x = block(x)
            logits = self.final_norm(x) @ self.tokens.weight.T  # tied output projection
            return F.cross_entropy(logits.view(-1, logits.shape[-1]), target.view(-1))

    return GPT()


def main():
    args = parse_args()
    try:
        import torch
    except ImportError:
        print("pytorch: not installed")
        return 0
    on_gpu = args.device == "cuda"
    if on_gpu and not torch.cuda.is_available():
        print(f"pytorch: no CUDA device torch {torch.__version__} can use")
        return 0

    torch.manual_seed(0)
    # On a GPU, "high" is TF32 for f32 GEMMs (bf16 runs are unaffected). On a
    # CPU with AMX, "high" would let oneDNN run f32 GEMMs in bf16: an f32
    # reference there keeps "highest".
    torch.set_float32_matmul_precision("high" if on_gpu else "highest")
    device = torch.device(args.device)
    if on_gpu:
        torch.cuda.reset_peak_memory_stats()
    model = build_model(torch, args).to(device)
    decay = [p for p in model.parameters() if p.dim() >= 2]
    no_decay = [p for p in model.parameters() if p.dim() < 2]
    optimizer = torch.optim.AdamW(
        [{"params": decay, "weight_decay": 0.1}, {"params": no_decay, "weight_decay": 0.0}],
        lr=1e-4, betas=(0.9, 0.95), eps=1e-8, fused=on_gpu, foreach=not on_gpu)
    step_model = model if args.no_compile else torch.compile(model)
    where = torch.cuda.get_device_name() if on_gpu else f"cpu, {torch.get_num_threads()} threads"
    print(f"pytorch: torch {torch.__version__} on {where}, {args.precision}, "
          f"{sum(p.numel() for p in model.parameters()) / 1e6:.2f}M parameters, "
          f"batch {args.batch} x {args.seq}, compile {not args.no_compile}", file=sys.stderr)

    def step():
        ids = torch.randint(0, args.vocab, (args.batch, args.seq), device=device)
        target = torch.randint(0, args.vocab, (args.batch, args.seq), device=device)
        with torch.autocast(args.device, dtype=torch.bfloat16,
                            enabled=args.precision == "bf16"):
            loss = step_model(ids, target)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        return loss

    try:
        for _ in range(args.warmup):
            step()
        if on_gpu:
            torch.cuda.synchronize()
        seconds = 0.0
        for i in range(args.steps):
            start = time.perf_counter()
            loss = step()
            if on_gpu:
                torch.cuda.synchronize()  # as weft's step time: synchronised every step
            seconds += time.perf_counter() - start
            print(f"pytorch step {i + 1}: loss {loss.item():.4f}", file=sys.stderr)
    except torch.cuda.OutOfMemoryError:
        print(f"pytorch: out_of_memory batch={args.batch} seq={args.seq}")
        return 0

    tokens_per_s = args.batch * args.seq * args.steps / seconds
    peak = torch.cuda.max_memory_allocated() / 2**30 if on_gpu else float("nan")
    print(f"pytorch: tokens_per_s={tokens_per_s:.0f} peak_mem_gib={peak:.2f} "
          f"batch={args.batch} seq={args.seq}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
