// BLEU against sacreBLEU 2.6.0's corpus_bleu (defaults: 13a, exp smoothing)
// on fixed corpora. The expected figures come from
// tests/reference/bleu_expected.py, which holds the same corpora.

#include "weft/inference/bleu.h"

#include <gtest/gtest.h>

#include "weft/tensor/error.h"

namespace weft {
namespace {

using Lines = std::vector<std::string>;

struct Expected {
  double score;
  std::array<double, 4> precisions;
  double bp;
  int64_t sys_len, ref_len;
  std::array<int64_t, 4> matches, totals;
};

void expect_bleu(const Lines& hyps, const std::vector<Lines>& refs, const Expected& e) {
  const BleuScore s = corpus_bleu(hyps, refs);
  EXPECT_NEAR(s.score, e.score, 1e-9);
  for (int n = 0; n < 4; ++n) {
    EXPECT_NEAR(s.precisions[n], e.precisions[n], 1e-9) << "order " << n + 1;
    EXPECT_EQ(s.matches[n], e.matches[n]) << "order " << n + 1;
    EXPECT_EQ(s.totals[n], e.totals[n]) << "order " << n + 1;
  }
  EXPECT_NEAR(s.brevity_penalty, e.bp, 1e-12);
  EXPECT_EQ(s.hypothesis_length, e.sys_len);
  EXPECT_EQ(s.reference_length, e.ref_len);
}

TEST(Bleu, TypicalCorpus) {
  expect_bleu({"The cat sat on the mat.", "He read the book, slowly.",
               "It costs 3.50 dollars, or 1,000 yen.", "A well-known 5-6 result!"},
              {{"The cat is sitting on the mat.", "He read the book slowly.",
                "It costs 3.50 dollars or 1,000 yen.", "A well-known 5-6 result."}},
              {60.54163028349909,
               {86.66666666666667, 73.07692307692308, 54.54545454545455, 38.888888888888886},
               1.0,
               30,
               29,
               {26, 19, 12, 7},
               {30, 26, 22, 18}});
}

TEST(Bleu, PerfectMatchIsOneHundred) {
  expect_bleu({"one two three four five", "six seven eight nine"},
              {{"one two three four five", "six seven eight nine"}},
              {100.00000000000004, {100, 100, 100, 100}, 1.0, 9, 9, {9, 7, 5, 3}, {9, 7, 5, 3}});
}

TEST(Bleu, ShortHypothesesPayTheBrevityPenalty) {
  expect_bleu({"the cat", "a quick brown fox jumps"},
              {{"the cat sat on the mat today", "a quick brown fox jumps over the lazy dog"}},
              {27.645304662956455,
               {100, 100, 100, 100},
               0.27645304662956444,
               7,
               16,
               {7, 5, 3, 2},
               {7, 5, 3, 2}});
}

TEST(Bleu, EmptyHypothesesCountTheirReferencesLength) {
  expect_bleu({"", "the dog barked at the mailman loudly"},
              {{"nothing here matches", "the dog barked at the mailman loudly"}},
              {65.14390575310559,
               {100, 100, 100, 100},
               0.6514390575310556,
               7,
               10,
               {7, 6, 5, 4},
               {7, 6, 5, 4}});
  expect_bleu({"", ""}, {{"a b c", "d e"}},
              {0.0, {0, 0, 0, 0}, 0.0, 0, 5, {0, 0, 0, 0}, {0, 0, 0, 0}});
}

TEST(Bleu, ExpSmoothingForOrdersWithoutMatches) {
  expect_bleu({"a b c x d e f y", "g h"}, {{"a b c d e f g", "g h i"}},
              {35.930411196308434,
               {80.0, 62.5, 33.333333333333336, 10.0},
               1.0,
               10,
               10,
               {8, 5, 2, 0},
               {10, 8, 6, 5}});
  expect_bleu({"x y z"}, {{"a b c"}}, {0.0, {0, 0, 0, 0}, 1.0, 3, 3, {0, 0, 0, 0}, {3, 2, 1, 0}});
}

TEST(Bleu, PunctuationEntitiesAndUnicode) {
  expect_bleu({"&quot;Hello,&quot; she said &amp; left (quickly) -- at 10:30.",
               "Prices: $5.00/kg; 2-3 items... <b>bold</b>"},
              {{"\"Hello,\" she said & left (quickly) -- at 10:30.",
                "Prices: $5.00/kg; 2-3 items. <b>bold</b>"}},
              {92.1493672237676,
               {94.87179487179488, 94.5945945945946, 91.42857142857143, 87.87878787878788},
               1.0,
               39,
               37,
               {37, 35, 32, 29},
               {39, 37, 35, 33}});
  expect_bleu({"Café «déjà vu», naïve—really?\u00a0Yes.", "東京 は 大きい 。"},
              {{"Café «déjà vu», naïve—really? Yes.", "東京 は 大きい ."}},
              {88.06841674939027,
               {91.66666666666667, 90.0, 87.5, 83.33333333333333},
               1.0,
               12,
               12,
               {11, 9, 7, 5},
               {12, 10, 8, 6}});
}

TEST(Bleu, MultipleReferencesClipByTheBestAndTakeTheClosestLength) {
  expect_bleu({"the cat is on the mat", "there is a dog"},
              {{"the cat sat on the mat", "a dog is there"},
               {"there is a cat on the mat", "there is one dog here"}},
              {33.78000387017587,
               {100.0, 62.5, 16.666666666666668, 12.5},
               1.0,
               10,
               10,
               {10, 5, 1, 0},
               {10, 8, 6, 4}});
}

TEST(Bleu, SurroundingWhitespaceIsIgnored) {
  expect_bleu({"the end  \t", " leading spaces count as nothing"},
              {{"the end", "leading spaces count as nothing   "}},
              {100.00000000000004, {100, 100, 100, 100}, 1.0, 7, 7, {7, 5, 3, 2}, {7, 5, 3, 2}});
}

TEST(Tokenize13a, MatchesSacreBleu) {
  const std::vector<std::pair<std::string, Lines>> cases = {
      {"Hello, world!", {"Hello", ",", "world", "!"}},
      {"3.14 and 1,000,000 but a.b, c,d",
       {"3.14", "and", "1,000,000", "but", "a", ".", "b", ",", "c", ",", "d"}},
      {"state-of-the-art 1-2 x-3", {"state-of-the-art", "1", "-", "2", "x-3"}},
      {"&lt;tag&gt; &amp;amp; &quot;q&quot;", {"<", "tag", ">", "&", "amp", ";", "\"", "q", "\""}},
      {"line-\nbreak and\nnewline", {"linebreak", "and", "newline"}},
      {"<skipped>gone", {"gone"}},
      {"don't (stop) [now] {ever} ~tilde~ `tick` ^caret^ |pipe| \\back\\",
       {"don't", "(", "stop",  ")", "[",  "now",  "]", "{", "ever",
        "}",     "~", "tilde", "~", "`",  "tick", "`", "^", "caret",
        "^",     "|", "pipe",  "|", "\\", "back", "\\"}},
      {"end.", {"end", "."}},
      {".start", {".", "start"}},
      {"a..b", {"a", ".", ".", "b"}},
      {"1.a a.1 1,a a,1", {"1", ".", "a", "a", ".", "1", "1", ",", "a", "a", ",", "1"}},
      {"é. .é ,ü", {"é", ".", ".", "é", ",", "ü"}},
      {"x\u3000y\u00a0z\u2009w", {"x", "y", "z", "w"}},
  };
  for (const auto& [line, tokens] : cases) EXPECT_EQ(tokenize_13a(line), tokens) << line;
}

TEST(ExactMatch, ShareOfIdenticalLines) {
  EXPECT_DOUBLE_EQ(exact_match({"a b", " c d ", "e"}, {"a b", "c d", "e f"}), 2.0 / 3.0);
  EXPECT_DOUBLE_EQ(exact_match({}, {}), 0.0);
  EXPECT_THROW(exact_match({"a"}, {}), Error);
  EXPECT_THROW(corpus_bleu(Lines{"a", "b"}, Lines{"a"}), Error);
}

}  // namespace
}  // namespace weft
