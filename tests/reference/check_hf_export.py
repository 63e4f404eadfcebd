#!/usr/bin/env python3
"""Checks by hand that transformers loads weft's GPT-2 or LLaMA export and
computes the same function: same logits and the same loss on the same tokens,
and the same greedy continuation.

Not run by CI (it needs torch and transformers). Steps:

  pip install torch transformers
  cmake --build build --target write_hf_fixture
  ./build/tests/write_hf_fixture /tmp/weft-hf            # GPT2LMHeadModel
  python3 tests/reference/check_hf_export.py /tmp/weft-hf
  ./build/tests/write_hf_fixture /tmp/weft-llama llama   # LlamaForCausalLM
  python3 tests/reference/check_hf_export.py /tmp/weft-llama

The test exports a random weft model (every weight, bias and norm gain
random) with export_hf_gpt2 or export_hf_llama and writes weft_reference.safetensors
beside it: the tokens (2, 25), weft's logits on the first 24 of each row and
weft's mean cross-entropy loss predicting tokens 1..24, and a greedy
continuation by weft's generate() (KV cache). This script loads the
directory with GPT2LMHeadModel.from_pretrained, runs the same tokens, and
compares HF's own loss (labels = tokens, which HF shifts), its logits and its
greedy generate() (50 tokens). AutoModelForCausalLM picks the class from
config.json. Exit status 0 when all agree (float32 rounding).
"""

import sys

import torch
from safetensors.torch import load_file
from transformers import AutoModelForCausalLM


def main(directory):
    reference = load_file(f"{directory}/weft_reference.safetensors")
    tokens = reference["tokens"].long()
    weft_logits = reference["logits"].double()
    weft_loss = reference["loss"].item()

    model = AutoModelForCausalLM.from_pretrained(directory).eval()
    with torch.no_grad():
        # HF predicts token t+1 from tokens 0..t: the logits of the first 24
        # positions see exactly weft's 24 inputs (causal attention).
        out = model(input_ids=tokens, labels=tokens)
    hf_loss = out.loss.item()
    hf_logits = out.logits[:, :-1].double()

    logit_diff = (hf_logits - weft_logits).abs().max().item()
    logit_scale = weft_logits.abs().max().item()
    loss_rel = abs(hf_loss - weft_loss) / abs(weft_loss)
    print(f"transformers loaded {directory} as {type(model).__name__}: "
          f"{sum(p.numel() for p in model.parameters())} parameters")
    print(f"weft loss         {weft_loss:.8f}")
    print(f"transformers loss {hf_loss:.8f}   relative difference {loss_rel:.2e}")
    print(f"logits: max |difference| {logit_diff:.2e} (largest |logit| {logit_scale:.2f})")
    # weft's generate (KV cache, temperature 0) against transformers' greedy
    # generate (its own KV cache).
    prompt = reference["greedy_prompt"].long()
    weft_greedy = reference["greedy_tokens"].long()
    with torch.no_grad():
        hf_greedy = model.generate(prompt, attention_mask=torch.ones_like(prompt),
                                   max_new_tokens=weft_greedy.shape[1], do_sample=False,
                                   pad_token_id=0)[:, prompt.shape[1]:]
    same_greedy = torch.equal(hf_greedy, weft_greedy)
    print(f"greedy continuation of {prompt.tolist()[0]}: "
          f"{'identical' if same_greedy else 'DIFFERENT'} ({weft_greedy.shape[1]} tokens)")
    ok = loss_rel < 1e-5 and logit_diff < 1e-4 * max(1.0, logit_scale) and same_greedy
    print("OK: same function" if ok else "MISMATCH")
    return 0 if ok else 1


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    sys.exit(main(sys.argv[1]))
