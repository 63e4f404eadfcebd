#!/usr/bin/env python3
"""Prints the sacreBLEU figures that tests/inference/bleu_test.cc expects.

weft's BLEU (src/train/bleu.cc) must equal sacreBLEU's default corpus BLEU
(13a tokenisation, exp smoothing). CI does not need sacreBLEU: the numbers
below are written into the test. To check them again:

  pip install sacrebleu
  python3 tests/reference/bleu_expected.py

The corpora here and in bleu_test.cc must stay the same.
"""

import sacrebleu
from sacrebleu.tokenizers.tokenizer_13a import Tokenizer13a

CORPORA = {
    "typical": (
        ["The cat sat on the mat.", "He read the book, slowly.",
         "It costs 3.50 dollars, or 1,000 yen.", "A well-known 5-6 result!"],
        [["The cat is sitting on the mat.", "He read the book slowly.",
          "It costs 3.50 dollars or 1,000 yen.", "A well-known 5-6 result."]],
    ),
    "perfect": (
        ["one two three four five", "six seven eight nine"],
        [["one two three four five", "six seven eight nine"]],
    ),
    "short_hypothesis": (
        ["the cat", "a quick brown fox jumps"],
        [["the cat sat on the mat today", "a quick brown fox jumps over the lazy dog"]],
    ),
    "empty_hypothesis": (
        ["", "the dog barked at the mailman loudly"],
        [["nothing here matches", "the dog barked at the mailman loudly"]],
    ),
    "all_empty": (["", ""], [["a b c", "d e"]]),
    "no_four_gram": (
        ["a b c x d e f y", "g h"],
        [["a b c d e f g", "g h i"]],
    ),
    "no_match": (["x y z"], [["a b c"]]),
    "punctuation_and_entities": (
        ["&quot;Hello,&quot; she said &amp; left (quickly) -- at 10:30.",
         "Prices: $5.00/kg; 2-3 items... <b>bold</b>"],
        [["\"Hello,\" she said & left (quickly) -- at 10:30.",
          "Prices: $5.00/kg; 2-3 items. <b>bold</b>"]],
    ),
    "unicode": (
        ["Café «déjà vu», naïve—really?\u00a0Yes.", "東京 は 大きい 。"],
        [["Café «déjà vu», naïve—really? Yes.", "東京 は 大きい ."]],
    ),
    "multiple_references": (
        ["the cat is on the mat", "there is a dog"],
        [["the cat sat on the mat", "a dog is there"],
         ["there is a cat on the mat", "there is one dog here"]],
    ),
    "trailing_whitespace": (
        ["the end  \t", " leading spaces count as nothing"],
        [["the end", "leading spaces count as nothing   "]],
    ),
}

TOKENIZE = [
    "Hello, world!", "3.14 and 1,000,000 but a.b, c,d", "state-of-the-art 1-2 x-3",
    "&lt;tag&gt; &amp;amp; &quot;q&quot;", "line-\nbreak and\nnewline", "<skipped>gone",
    "don't (stop) [now] {ever} ~tilde~ `tick` ^caret^ |pipe| \\back\\",
    "end.", ".start", "a..b", "1.a a.1 1,a a,1", "é. .é ,ü", "x\u3000y\u00a0z\u2009w",
]

for name, (hyps, refs) in CORPORA.items():
    s = sacrebleu.corpus_bleu(hyps, refs)
    print(f"{name}: score={s.score!r} precisions={s.precisions!r} bp={s.bp!r} "
          f"sys_len={s.sys_len} ref_len={s.ref_len} counts={s.counts} totals={s.totals}")

tok = Tokenizer13a()
for line in TOKENIZE:
    print(repr(line), "->", tok(line.rstrip()).split())
