#pragma once
// BLEU and chrF reported as sacreBLEU reports them: its signature (what was
// computed, so a reader can reproduce it) and its score line, e.g.
//   BLEU|nrefs:1|case:mixed|eff:no|tok:13a|smooth:exp|version:2.6.0 = 42.38 85.7/66.7/40.0/25.0 (BP
//   = 0.867 ratio = 0.875 hyp_len = 7 ref_len = 8)
//   chrF2|nrefs:1|case:mixed|eff:yes|nc:6|nw:0|space:no|version:2.6.0 = 66.49

#include <cstdint>
#include <string>

#include "weft/inference/bleu.h"
#include "weft/inference/chrf.h"

namespace weft {

// The sacreBLEU release whose defaults corpus_bleu and corpus_chrf match
// (tests/reference/bleu_expected.py checks them against it).
inline constexpr const char* kSacreBleuVersion = "2.6.0";

std::string bleu_signature(int64_t references = 1);
std::string chrf_signature(int64_t references = 1);

// "BLEU|<signature> = <score> <p1>/<p2>/<p3>/<p4> (BP = … hyp_len = … ref_len = …)".
std::string bleu_line(const BleuScore& s, int64_t references = 1);
// "chrF2|<signature> = <score>".
std::string chrf_line(const ChrfScore& s, int64_t references = 1);

}  // namespace weft
