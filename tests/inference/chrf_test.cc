// chrF against sacreBLEU 2.6.0's CHRF() defaults, and BLEU and chrF as
// sacreBLEU prints them (score line with signature), on fixed corpora. The
// rows are printed by tests/reference/bleu_expected.py, which holds the same
// corpora.

#include "weft/inference/chrf.h"

#include <gtest/gtest.h>

#include "weft/inference/metric_signature.h"
#include "weft/tensor/error.h"

namespace weft {
namespace {

using Lines = std::vector<std::string>;
using OrderCounts = std::array<int64_t, kChrfCharOrder>;

struct Corpus {
  std::string name;
  Lines hypotheses;
  std::vector<Lines> references;
  double chrf;
  OrderCounts hypothesis_ngrams, reference_ngrams, matches;
  std::string bleu_line, chrf_line;  // sacreBLEU's, signature included
};

const std::vector<Corpus> kCorpora = {
    {"typical",
     {"The cat sat on the mat.", "He read the book, slowly.",
      "It costs 3.50 dollars, or 1,000 yen.", "A well-known 5-6 result!"},
     {{"The cat is sitting on the mat.", "He read the book slowly.",
       "It costs 3.50 dollars or 1,000 yen.", "A well-known 5-6 result."}},
     79.6372269812868,
     {90, 86, 82, 78, 74, 70},
     {94, 90, 86, 82, 78, 74},
     {86, 77, 70, 63, 56, 49},
     "BLEU|nrefs:1|case:mixed|eff:no|tok:13a|smooth:exp|version:2.6.0 = 60.54 86.7/73.1/54.5/38.9 "
     "(BP = 1.000 ratio = 1.034 hyp_len = 30 ref_len = 29)",
     "chrF2|nrefs:1|case:mixed|eff:yes|nc:6|nw:0|space:no|version:2.6.0 = 79.64"},
    {"perfect",
     {"one two three four five", "six seven eight nine"},
     {{"one two three four five", "six seven eight nine"}},
     100.0,
     {36, 34, 32, 30, 28, 26},
     {36, 34, 32, 30, 28, 26},
     {36, 34, 32, 30, 28, 26},
     "BLEU|nrefs:1|case:mixed|eff:no|tok:13a|smooth:exp|version:2.6.0 = 100.00 "
     "100.0/100.0/100.0/100.0 (BP = 1.000 ratio = 1.000 hyp_len = 9 ref_len = 9)",
     "chrF2|nrefs:1|case:mixed|eff:yes|nc:6|nw:0|space:no|version:2.6.0 = 100.00"},
    {"short_hypothesis",
     {"the cat", "a quick brown fox jumps"},
     {{"the cat sat on the mat today", "a quick brown fox jumps over the lazy dog"}},
     45.16274302061486,
     {25, 23, 21, 19, 17, 15},
     {55, 53, 51, 49, 47, 45},
     {25, 23, 21, 19, 17, 15},
     "BLEU|nrefs:1|case:mixed|eff:no|tok:13a|smooth:exp|version:2.6.0 = 27.65 "
     "100.0/100.0/100.0/100.0 (BP = 0.276 ratio = 0.438 hyp_len = 7 ref_len = 16)",
     "chrF2|nrefs:1|case:mixed|eff:yes|nc:6|nw:0|space:no|version:2.6.0 = 45.16"},
    {"empty_hypothesis",
     {"", "the dog barked at the mailman loudly"},
     {{"nothing here matches", "the dog barked at the mailman loudly"}},
     69.004998777984,
     {30, 29, 28, 27, 26, 25},
     {48, 46, 44, 42, 40, 38},
     {30, 29, 28, 27, 26, 25},
     "BLEU|nrefs:1|case:mixed|eff:no|tok:13a|smooth:exp|version:2.6.0 = 65.14 "
     "100.0/100.0/100.0/100.0 (BP = 0.651 ratio = 0.700 hyp_len = 7 ref_len = 10)",
     "chrF2|nrefs:1|case:mixed|eff:yes|nc:6|nw:0|space:no|version:2.6.0 = 69.00"},
    {"all_empty",
     {"", ""},
     {{"a b c", "d e"}},
     0.0,
     {0, 0, 0, 0, 0, 0},
     {5, 3, 1, 0, 0, 0},
     {0, 0, 0, 0, 0, 0},
     "BLEU|nrefs:1|case:mixed|eff:no|tok:13a|smooth:exp|version:2.6.0 = 0.00 0.0/0.0/0.0/0.0 (BP = "
     "0.000 ratio = 0.000 hyp_len = 0 ref_len = 5)",
     "chrF2|nrefs:1|case:mixed|eff:yes|nc:6|nw:0|space:no|version:2.6.0 = 0.00"},
    {"no_four_gram",
     {"a b c x d e f y", "g h"},
     {{"a b c d e f g", "g h i"}},
     29.305555555555557,
     {10, 8, 6, 5, 4, 3},
     {10, 8, 6, 4, 3, 2},
     {8, 5, 2, 0, 0, 0},
     "BLEU|nrefs:1|case:mixed|eff:no|tok:13a|smooth:exp|version:2.6.0 = 35.93 80.0/62.5/33.3/10.0 "
     "(BP = 1.000 ratio = 1.000 hyp_len = 10 ref_len = 10)",
     "chrF2|nrefs:1|case:mixed|eff:yes|nc:6|nw:0|space:no|version:2.6.0 = 29.31"},
    {"no_match",
     {"x y z"},
     {{"a b c"}},
     0.0,
     {3, 2, 1, 0, 0, 0},
     {3, 2, 1, 0, 0, 0},
     {0, 0, 0, 0, 0, 0},
     "BLEU|nrefs:1|case:mixed|eff:no|tok:13a|smooth:exp|version:2.6.0 = 0.00 0.0/0.0/0.0/0.0 (BP = "
     "1.000 ratio = 1.000 hyp_len = 3 ref_len = 3)",
     "chrF2|nrefs:1|case:mixed|eff:yes|nc:6|nw:0|space:no|version:2.6.0 = 0.00"},
    {"punctuation_and_entities",
     {"&quot;Hello,&quot; she said &amp; left (quickly) -- at 10:30.",
      "Prices: $5.00/kg; 2-3 items... <b>bold</b>"},
     {{"\"Hello,\" she said & left (quickly) -- at 10:30.",
       "Prices: $5.00/kg; 2-3 items. <b>bold</b>"}},
     83.4417163862544,
     {91, 89, 87, 85, 83, 81},
     {75, 73, 71, 69, 67, 65},
     {73, 69, 64, 59, 54, 49},
     "BLEU|nrefs:1|case:mixed|eff:no|tok:13a|smooth:exp|version:2.6.0 = 92.15 94.9/94.6/91.4/87.9 "
     "(BP = 1.000 ratio = 1.054 hyp_len = 39 ref_len = 37)",
     "chrF2|nrefs:1|case:mixed|eff:yes|nc:6|nw:0|space:no|version:2.6.0 = 83.44"},
    {"unicode",
     {"Café «déjà vu», naïve—really?\u00a0Yes.", "東京 は 大きい 。"},
     {{"Café «déjà vu», naïve—really? Yes.", "東京 は 大きい ."}},
     96.83867756541098,
     {37, 35, 33, 31, 29, 27},
     {37, 35, 33, 31, 29, 27},
     {36, 34, 32, 30, 28, 26},
     "BLEU|nrefs:1|case:mixed|eff:no|tok:13a|smooth:exp|version:2.6.0 = 88.07 91.7/90.0/87.5/83.3 "
     "(BP = 1.000 ratio = 1.000 hyp_len = 12 ref_len = 12)",
     "chrF2|nrefs:1|case:mixed|eff:yes|nc:6|nw:0|space:no|version:2.6.0 = 96.84"},
    {"multiple_references",
     {"the cat is on the mat", "there is a dog"},
     {{"the cat sat on the mat", "a dog is there"},
      {"there is a cat on the mat", "there is one dog here"}},
     57.05931922313584,
     {27, 25, 23, 21, 19, 17},
     {28, 26, 24, 22, 20, 18},
     {26, 20, 15, 11, 7, 4},
     "BLEU|nrefs:2|case:mixed|eff:no|tok:13a|smooth:exp|version:2.6.0 = 33.78 100.0/62.5/16.7/12.5 "
     "(BP = 1.000 ratio = 1.000 hyp_len = 10 ref_len = 10)",
     "chrF2|nrefs:2|case:mixed|eff:yes|nc:6|nw:0|space:no|version:2.6.0 = 57.06"},
    {"trailing_whitespace",
     {"the end  \t", " leading spaces count as nothing"},
     {{"the end", "leading spaces count as nothing   "}},
     100.0,
     {33, 31, 29, 27, 25, 23},
     {33, 31, 29, 27, 25, 23},
     {33, 31, 29, 27, 25, 23},
     "BLEU|nrefs:1|case:mixed|eff:no|tok:13a|smooth:exp|version:2.6.0 = 100.00 "
     "100.0/100.0/100.0/100.0 (BP = 1.000 ratio = 1.000 hyp_len = 7 ref_len = 7)",
     "chrF2|nrefs:1|case:mixed|eff:yes|nc:6|nw:0|space:no|version:2.6.0 = 100.00"},
    {"umlauts_cjk_emoji",
     {"Über die Brücke gehen Mädchen und Jungen, größer als ihre Väter.", "我们明天去北京。",
      "Das Spiel war super 👍🏽 und die Fans 👨\u200d👩\u200d👧 sangen 🇩🇪!"},
     {{"Über die Brücke gingen Mädchen und Jungen, größer als die Väter.", "我们明天要去北京。",
       "Das Spiel war großartig 👍 und die Fans 👨\u200d👩\u200d👧 sangen 🇩🇪!"}},
     75.29134084321451,
     {104, 101, 98, 95, 92, 89},
     {108, 105, 102, 99, 96, 93},
     {95, 86, 78, 71, 64, 59},
     "BLEU|nrefs:1|case:mixed|eff:no|tok:13a|smooth:exp|version:2.6.0 = 57.38 80.8/69.6/52.4/36.8 "
     "(BP = 1.000 ratio = 1.000 hyp_len = 26 ref_len = 26)",
     "chrF2|nrefs:1|case:mixed|eff:yes|nc:6|nw:0|space:no|version:2.6.0 = 75.29"},
    {"one_line",
     {"Die Katze sitzt auf der Matte."},
     {{"Die Katze saß auf der Matte."}},
     75.72179010040591,
     {25, 24, 23, 22, 21, 20},
     {23, 22, 21, 20, 19, 18},
     {21, 19, 17, 15, 13, 11},
     "BLEU|nrefs:1|case:mixed|eff:no|tok:13a|smooth:exp|version:2.6.0 = 48.89 85.7/66.7/40.0/25.0 "
     "(BP = 1.000 ratio = 1.000 hyp_len = 7 ref_len = 7)",
     "chrF2|nrefs:1|case:mixed|eff:yes|nc:6|nw:0|space:no|version:2.6.0 = 75.72"},
    {"empty_reference",
     {"something here", "ok", ""},
     {{"", "ok", ""}},
     100.0,
     {2, 1, 0, 0, 0, 0},
     {2, 1, 0, 0, 0, 0},
     {2, 1, 0, 0, 0, 0},
     "BLEU|nrefs:1|case:mixed|eff:no|tok:13a|smooth:exp|version:2.6.0 = 0.00 33.3/50.0/0.0/0.0 (BP "
     "= 1.000 ratio = 3.000 hyp_len = 3 ref_len = 1)",
     "chrF2|nrefs:1|case:mixed|eff:yes|nc:6|nw:0|space:no|version:2.6.0 = 100.00"},
    {"punctuation_heavy",
     {"...!!! ??? --- (a), [b]; {c}: \"d\" 'e' / f \\ g | h @ i # j $ k % l ^ m & n * o",
      "«Nein!», rief sie — „wirklich?“ … (ja) [sic]!"},
     {{"..!! ?? -- (a) [b] {c} \"d\" 'e' / f \\ g | h @ i # j $ k % l ^ m & n * o",
       "«Nein!», rief sie – „wirklich?“ ... (ja) [sic]."}},
     74.10091554003489,
     {88, 86, 84, 82, 80, 78},
     {83, 81, 79, 77, 75, 73},
     {78, 71, 64, 54, 46, 41},
     "BLEU|nrefs:1|case:mixed|eff:no|tok:13a|smooth:exp|version:2.6.0 = 66.73 84.4/74.2/63.3/50.0 "
     "(BP = 1.000 ratio = 1.067 hyp_len = 64 ref_len = 60)",
     "chrF2|nrefs:1|case:mixed|eff:yes|nc:6|nw:0|space:no|version:2.6.0 = 74.10"},
    {"realistic",
     {"Der Präsident traf sich am Montag mit Vertretern der Industrie, um über neue Zölle zu "
      "sprechen.",
      "Die Polizei hat einen Mann festgenommen, der verdächtigt wird, das Auto gestohlen zu haben.",
      "Nach Angaben des Ministeriums stieg die Arbeitslosenquote im März auf 5,2 Prozent.",
      "Das Museum ist ab nächster Woche wieder für Besucher geöffnet.",
      "Wissenschaftler haben eine neue Art von Frosch im Regenwald entdeckt.",
      "Er sagte, dass er das Angebot nicht annehmen werde."},
     {{"Der Präsident hat sich am Montag mit Industrievertretern getroffen, um über neue Zölle zu "
       "diskutieren.",
       "Die Polizei nahm einen Mann fest, der verdächtigt wird, das Auto gestohlen zu haben.",
       "Laut dem Ministerium ist die Arbeitslosenquote im März auf 5,2 Prozent gestiegen.",
       "Das Museum wird ab nächster Woche wieder für Besucher geöffnet sein.",
       "Forscher haben im Regenwald eine neue Froschart entdeckt.",
       "Er sagte, er werde das Angebot nicht annehmen."}},
     73.74740805771822,
     {385, 379, 373, 367, 361, 355},
     {376, 370, 364, 358, 352, 346},
     {349, 305, 273, 250, 228, 207},
     "BLEU|nrefs:1|case:mixed|eff:no|tok:13a|smooth:exp|version:2.6.0 = 49.27 77.8/56.0/40.6/33.3 "
     "(BP = 1.000 ratio = 1.038 hyp_len = 81 ref_len = 78)",
     "chrF2|nrefs:1|case:mixed|eff:yes|nc:6|nw:0|space:no|version:2.6.0 = 73.75"},
};

TEST(Chrf, MatchesSacreBleuOnEveryCorpus) {
  for (const Corpus& c : kCorpora) {
    const ChrfScore s = corpus_chrf(c.hypotheses, c.references);
    EXPECT_NEAR(s.score, c.chrf, 1e-9) << c.name;
    EXPECT_EQ(s.hypothesis_ngrams, c.hypothesis_ngrams) << c.name;
    EXPECT_EQ(s.reference_ngrams, c.reference_ngrams) << c.name;
    EXPECT_EQ(s.matches, c.matches) << c.name;
  }
}

// The score lines compare every printed figure (to 0.01 for the scores) and
// the signatures.
TEST(MetricSignature, ScoreLinesMatchSacreBleu) {
  for (const Corpus& c : kCorpora) {
    const int64_t streams = static_cast<int64_t>(c.references.size());
    EXPECT_EQ(bleu_line(corpus_bleu(c.hypotheses, c.references), streams), c.bleu_line) << c.name;
    EXPECT_EQ(chrf_line(corpus_chrf(c.hypotheses, c.references), streams), c.chrf_line) << c.name;
  }
}

TEST(MetricSignature, DefaultsAsSacreBleuPrintsThem) {
  EXPECT_EQ(bleu_signature(), "nrefs:1|case:mixed|eff:no|tok:13a|smooth:exp|version:2.6.0");
  EXPECT_EQ(chrf_signature(), "nrefs:1|case:mixed|eff:yes|nc:6|nw:0|space:no|version:2.6.0");
  EXPECT_EQ(chrf_signature(3), "nrefs:3|case:mixed|eff:yes|nc:6|nw:0|space:no|version:2.6.0");
}

TEST(Chrf, CharactersAreCodePoints) {
  // "ä" is two bytes and one character: one unigram, as Python counts it.
  const ChrfScore s = corpus_chrf(Lines{"ä ä"}, Lines{"ää"});
  EXPECT_EQ(s.hypothesis_ngrams, (OrderCounts{2, 1, 0, 0, 0, 0}));
  EXPECT_DOUBLE_EQ(s.score, 100.0);
  // Python's whitespace beyond ASCII (no-break, ideographic space) is removed.
  EXPECT_DOUBLE_EQ(corpus_chrf(Lines{"a\u00a0b\u3000c"}, Lines{"abc"}).score, 100.0);
}

TEST(Chrf, RefusesUnequalCounts) {
  EXPECT_THROW(corpus_chrf(Lines{"a", "b"}, Lines{"a"}), Error);
  EXPECT_DOUBLE_EQ(corpus_chrf(Lines{}, Lines{}).score, 0.0);
}

}  // namespace
}  // namespace weft
