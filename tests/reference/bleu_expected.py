#!/usr/bin/env python3
"""Prints the sacreBLEU figures that tests/inference/bleu_test.cc and
tests/inference/chrf_test.cc expect.

weft's BLEU (src/inference/bleu.cc) and chrF (src/inference/chrf.cc) must
equal sacreBLEU's defaults: BLEU() (13a tokenisation, exp smoothing) and
CHRF() (chrF2: 6 character orders, no word orders, whitespace removed,
effective order). CI does not need sacreBLEU: the numbers below are written
into the tests. To check them again:

  python3 -m venv /tmp/sbvenv && /tmp/sbvenv/bin/pip install sacrebleu
  /tmp/sbvenv/bin/python tests/reference/bleu_expected.py

The first part prints BLEU's details for bleu_test.cc; the second prints, as
C++ rows for chrf_test.cc's table, every corpus with its chrF statistics and
sacreBLEU's score lines (signature included) for BLEU and chrF. The corpora
here and in the tests must stay the same.
"""

import json
import unicodedata

import sacrebleu
from sacrebleu.metrics import BLEU, CHRF
from sacrebleu.utils import sum_of_lists
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

# Every corpus above, and more text for chrF: words in other scripts, emoji
# of several code points, one line, and sentences as a real test set has.
CHRF_CORPORA = dict(CORPORA)
CHRF_CORPORA.update({
    "umlauts_cjk_emoji": (
        ["Über die Brücke gehen Mädchen und Jungen, größer als ihre Väter.",
         "我们明天去北京。", "Das Spiel war super 👍🏽 und die Fans 👨‍👩‍👧 sangen 🇩🇪!"],
        [["Über die Brücke gingen Mädchen und Jungen, größer als die Väter.",
          "我们明天要去北京。", "Das Spiel war großartig 👍 und die Fans 👨‍👩‍👧 sangen 🇩🇪!"]],
    ),
    "one_line": (
        ["Die Katze sitzt auf der Matte."],
        [["Die Katze saß auf der Matte."]],
    ),
    "empty_reference": (
        ["something here", "ok", ""],
        [["", "ok", ""]],
    ),
    "punctuation_heavy": (
        ["...!!! ??? --- (a), [b]; {c}: \"d\" 'e' / f \\ g | h @ i # j $ k % l ^ m & n * o",
         "«Nein!», rief sie — „wirklich?“ … (ja) [sic]!"],
        [["..!! ?? -- (a) [b] {c} \"d\" 'e' / f \\ g | h @ i # j $ k % l ^ m & n * o",
          "«Nein!», rief sie – „wirklich?“ ... (ja) [sic]."]],
    ),
    "realistic": (
        ["Der Präsident traf sich am Montag mit Vertretern der Industrie, um über neue Zölle zu sprechen.",
         "Die Polizei hat einen Mann festgenommen, der verdächtigt wird, das Auto gestohlen zu haben.",
         "Nach Angaben des Ministeriums stieg die Arbeitslosenquote im März auf 5,2 Prozent.",
         "Das Museum ist ab nächster Woche wieder für Besucher geöffnet.",
         "Wissenschaftler haben eine neue Art von Frosch im Regenwald entdeckt.",
         "Er sagte, dass er das Angebot nicht annehmen werde."],
        [["Der Präsident hat sich am Montag mit Industrievertretern getroffen, um über neue Zölle zu diskutieren.",
          "Die Polizei nahm einen Mann fest, der verdächtigt wird, das Auto gestohlen zu haben.",
          "Laut dem Ministerium ist die Arbeitslosenquote im März auf 5,2 Prozent gestiegen.",
          "Das Museum wird ab nächster Woche wieder für Besucher geöffnet sein.",
          "Forscher haben im Regenwald eine neue Froschart entdeckt.",
          "Er sagte, er werde das Angebot nicht annehmen."]],
    ),
})


def cpp_string(line):
    """A C++ literal; invisible characters (no-break space, zero-width joiner)
    as universal character names."""
    text = json.dumps(line, ensure_ascii=False)
    return "".join(f"\\u{ord(c):04x}" if unicodedata.category(c)[0] in "ZC" and c != " "
                   else c for c in text)


def cpp_strings(lines):
    return "{" + ", ".join(cpp_string(line) for line in lines) + "}"


def cpp_ints(values):
    return "{" + ", ".join(str(v) for v in values) + "}"


print()
print("// chrf_test.cc rows: name, hypotheses, reference streams, chrF, its")
print("// per-order statistics (hypothesis, reference, matches), sacreBLEU's lines.")
for name, (hyps, refs) in CHRF_CORPORA.items():
    bleu, chrf = BLEU(), CHRF()
    b = bleu.corpus_score(hyps, refs)
    c = chrf.corpus_score(hyps, refs)
    stats = sum_of_lists(chrf._extract_corpus_statistics(hyps, refs))
    print(f"    {{{json.dumps(name)},")
    print(f"     {cpp_strings(hyps)},")
    print(f"     {{{', '.join(cpp_strings(r) for r in refs)}}},")
    print(f"     {c.score!r},")
    print(f"     {cpp_ints(stats[0::3])}, {cpp_ints(stats[1::3])}, {cpp_ints(stats[2::3])},")
    print(f"     {json.dumps(b.format(signature=str(bleu.get_signature())))},")
    print(f"     {json.dumps(c.format(signature=str(chrf.get_signature())))}}},")
