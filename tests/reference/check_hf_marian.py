#!/usr/bin/env python3
"""Checks by hand that transformers loads weft's Marian export (model and
tokenizer) and translates as weft does: the same greedy translations and the
same teacher-forced logits.

Not run by CI (it needs torch, transformers and sentencepiece). Steps:

  pip install torch transformers sentencepiece safetensors
  cmake --build build --target weft write_marian_logits
  python3 tests/reference/check_hf_marian.py RUN SOURCE_FILE

RUN is a weft run directory (or checkpoint) of an encoder-decoder trained
with model.sinusoid_layout = halves and a SentencePiece vocabulary; SOURCE_FILE
holds source sentences, one per line. The script

  1. exports RUN with `weft export --format hf-marian` (into --out, default a
     temporary directory),
  2. translates the first --lines lines with `weft translate --beam 1
     --alpha 0` (greedy: with one beam and no length penalty the search keeps
     the most probable token at each step),
  3. loads the export with MarianMTModel and MarianTokenizer, encodes each
     line with MarianTokenizer (compared with weft's encoding: the
     SentencePiece ids plus EOS), runs greedy generate() with weft's length
     limit (min(source + 50, max_seq_len) tokens, EOS forced at the last),
     and compares the output line by line with weft's: decoded with the
     target SentencePiece model as weft decodes, and with MarianTokenizer
     (which strips the line's outer spaces),
  4. writes the first --batch sources with [BOS] + their greedy translations
     as decoder inputs, has write_marian_logits compute weft's logits on
     them, and compares transformers' logits on the same ids at every real
     (unpadded) position.

Exit status 0 when every line is identical and the logits agree to float32
rounding.
"""

import argparse
import os
import subprocess
import sys
import tempfile

import sentencepiece
import torch
from safetensors.torch import load_file, save_file
from transformers import MarianMTModel, MarianTokenizer
from transformers.utils import logging


def weft_greedy(weft, run, lines, max_extra, workdir):
    source = os.path.join(workdir, "source.txt")
    with open(source, "w", encoding="utf-8") as f:
        f.write("".join(line + "\n" for line in lines))
    out = subprocess.run([weft, "translate", "--checkpoint", run, "--input", source,
                          "--beam", "1", "--alpha", "0", "--max-extra", str(max_extra)],
                         check=True, capture_output=True, text=True, encoding="utf-8").stdout
    translations = out.split("\n")[:-1]
    if len(translations) != len(lines):
        sys.exit(f"weft translate gave {len(translations)} lines for {len(lines)}")
    return translations


def padded(rows, pad):
    width = max(len(r) for r in rows)
    return torch.tensor([r + [pad] * (width - len(r)) for r in rows], dtype=torch.int32)


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("run", help="weft run directory or checkpoint")
    parser.add_argument("source", help="source sentences, one per line")
    parser.add_argument("--lines", type=int, default=100, help="lines translated (first N)")
    parser.add_argument("--batch", type=int, default=16, help="sentences in the logits batch")
    parser.add_argument("--max-extra", type=int, default=50, help="weft translate --max-extra")
    parser.add_argument("--weft", default="build/weft")
    parser.add_argument("--logits-tool", default="build/tests/write_marian_logits")
    parser.add_argument("--out", help="export directory (default: a temporary one)")
    return parser.parse_args()


def check(args, workdir):
    out_dir = args.out or os.path.join(workdir, "export")
    subprocess.run([args.weft, "export", "--format", "hf-marian", "--checkpoint", args.run,
                    "--out", out_dir], check=True)
    with open(args.source, encoding="utf-8") as f:
        lines = [line.rstrip("\r\n") for _, line in zip(range(args.lines), f)]
    weft_lines = weft_greedy(args.weft, args.run, lines, args.max_extra, workdir)

    model = MarianMTModel.from_pretrained(out_dir).eval()
    tokenizer = MarianTokenizer.from_pretrained(out_dir)
    source_sp = sentencepiece.SentencePieceProcessor(model_file=os.path.join(out_dir, "source.spm"))
    target_sp = sentencepiece.SentencePieceProcessor(model_file=os.path.join(out_dir, "target.spm"))
    config = model.config
    pad, eos, start = config.pad_token_id, config.eos_token_id, config.decoder_start_token_id
    print(f"transformers loaded {out_dir}: {sum(p.numel() for p in model.parameters())} "
          f"parameters, {config.encoder_layers}+{config.decoder_layers} layers, d_model "
          f"{config.d_model}, vocabularies {config.vocab_size}/{config.decoder_vocab_size}")

    same_ids = same_lines = same_tokenizer_text = at_limit = 0
    sources, outputs = [], []
    for i, line in enumerate(lines):
        ids = tokenizer(line)["input_ids"]
        same_ids += ids == source_sp.encode(line) + [eos]
        # weft's limit on tokens after BOS; max_length counts the start token.
        limit = min(len(ids) + args.max_extra, config.max_position_embeddings)
        with torch.no_grad():
            out = model.generate(torch.tensor([ids]), attention_mask=torch.ones(1, len(ids)),
                                 max_length=limit + 1, num_beams=1, do_sample=False)[0].tolist()
        assert out[0] == start, out
        at_limit += len(out) == limit + 1
        tokens = out[1:-1] if out[-1] == eos else out[1:]
        text = target_sp.decode([t for t in tokens if t not in (pad, start, eos)])
        same = text == weft_lines[i]
        same_lines += same
        hf_text = tokenizer.decode(out, skip_special_tokens=True)
        same_tokenizer_text += hf_text == weft_lines[i].strip()
        if not same:
            print(f"line {i + 1} differs:\n  weft         {weft_lines[i]!r}\n"
                  f"  transformers {text!r}")
        sources.append(ids)
        outputs.append(tokens)
    n = len(lines)
    print(f"source ids: MarianTokenizer = weft's (SentencePiece + EOS) on {same_ids}/{n} lines")
    print(f"greedy translations: {same_lines}/{n} lines identical "
          f"(target SentencePiece decode, as weft's); {at_limit} of them end at the length limit")
    print(f"MarianTokenizer.decode(skip_special_tokens=True) = weft's line (outer spaces "
          f"stripped) on {same_tokenizer_text}/{n} lines")

    # Teacher forcing: the first sentences with [BOS] + their translation.
    b = min(args.batch, n)
    source = padded(sources[:b], pad)
    decoder_input = padded([[start] + t for t in outputs[:b]], pad)
    ids_path = os.path.join(workdir, "ids.safetensors")
    logits_path = os.path.join(workdir, "logits.safetensors")
    save_file({"source": source, "input": decoder_input}, ids_path)
    subprocess.run([args.logits_tool, args.run, ids_path, logits_path], check=True)
    weft_logits = load_file(logits_path)["logits"].double()
    width = decoder_input.shape[1]
    valid = torch.tensor([[j <= len(t) for j in range(width)] for t in outputs[:b]])
    with torch.no_grad():
        hf_logits = model(input_ids=source.long(), attention_mask=(source != pad).long(),
                          decoder_input_ids=decoder_input.long(),
                          decoder_attention_mask=valid.long()).logits.double()
    diff = (hf_logits - weft_logits).abs()[valid].max().item()
    scale = weft_logits[valid].abs().max().item()
    print(f"teacher-forced logits, {b} sentences, {int(valid.sum())} positions: "
          f"max |difference| {diff:.2e} (largest |logit| {scale:.2f})")

    ok = same_lines == n and diff < 1e-4 * max(1.0, scale)
    print("OK: same translations, same function" if ok else "MISMATCH")
    return 0 if ok else 1


def main():
    args = parse_args()
    logging.set_verbosity_error()
    with tempfile.TemporaryDirectory(prefix="weft-marian-check-") as workdir:
        return check(args, workdir)


if __name__ == "__main__":
    sys.exit(main())
