#!/usr/bin/env python3
"""Checks by hand that transformers loads weft's BERT export and computes the
same function: the same logits at every position and the same masked-LM loss
on the same masked batch.

Not run by CI (it needs torch and transformers). Steps:

  pip install torch transformers
  cmake --build build --target write_hf_fixture
  ./build/tests/write_hf_fixture /tmp/weft-bert bert
  python3 tests/reference/check_hf_bert.py /tmp/weft-bert

The fixture holds a padded batch (pad 0) whose first row has two segments
([CLS] a [SEP] b [SEP]; [SEP] is 2), the masked-LM labels (-1 where not
masked), and weft's logits and mean loss over the masked tokens. This script
derives the token types as BERT defines them (0 up to and including the first
[SEP], 1 after), masks the padding keys, and asks BertForMaskedLM for its own
loss (labels with -100) and logits. Exit status 0 when all agree.
"""

import sys

import torch
from safetensors.torch import load_file
from transformers import BertForMaskedLM

SEP, PAD = 2, 0


def main(directory):
    reference = load_file(f"{directory}/weft_reference.safetensors")
    tokens = reference["tokens"].long()
    labels = reference["labels"].long()
    labels[labels == -1] = -100
    weft_logits = reference["logits"].double()
    weft_loss = reference["loss"].item()

    seps_before = torch.cumsum((tokens == SEP).long(), dim=1) - (tokens == SEP).long()
    token_types = seps_before.clamp(max=1)
    model = BertForMaskedLM.from_pretrained(directory).eval()
    with torch.no_grad():
        out = model(input_ids=tokens, token_type_ids=token_types,
                    attention_mask=(tokens != PAD).long(), labels=labels)
    hf_logits = out.logits.double()
    logit_diff = (hf_logits - weft_logits).abs().max().item()
    logit_scale = weft_logits.abs().max().item()
    loss_rel = abs(out.loss.item() - weft_loss) / abs(weft_loss)
    print(f"transformers loaded {directory} as {type(model).__name__}: "
          f"{sum(p.numel() for p in model.parameters())} parameters")
    print(f"weft masked-LM loss         {weft_loss:.8f} ({int((labels != -100).sum())} masked tokens)")
    print(f"transformers masked-LM loss {out.loss.item():.8f}   relative difference {loss_rel:.2e}")
    print(f"logits: max |difference| {logit_diff:.2e} (largest |logit| {logit_scale:.2f})")
    ok = loss_rel < 1e-5 and logit_diff < 1e-4 * max(1.0, logit_scale)
    print("OK: same function" if ok else "MISMATCH")
    return 0 if ok else 1


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    sys.exit(main(sys.argv[1]))
