#include "weft/inference/metric_signature.h"

#include <cstdio>

namespace weft {
namespace {

// printf into a string; Python's f"{x:.2f}" rounds as printf does.
template <typename... Args>
std::string format(const char* pattern, Args... args) {
  const int size = std::snprintf(nullptr, 0, pattern, args...);
  std::string out(static_cast<size_t>(size) + 1, '\0');
  std::snprintf(out.data(), out.size(), pattern, args...);
  out.pop_back();
  return out;
}

}  // namespace

std::string bleu_signature(int64_t references) {
  return format("nrefs:%ld|case:mixed|eff:no|tok:13a|smooth:exp|version:%s",
                static_cast<long>(references), kSacreBleuVersion);
}

std::string chrf_signature(int64_t references) {
  return format("nrefs:%ld|case:mixed|eff:yes|nc:%d|nw:0|space:no|version:%s",
                static_cast<long>(references), kChrfCharOrder, kSacreBleuVersion);
}

std::string bleu_line(const BleuScore& s, int64_t references) {
  const double ratio = s.reference_length > 0 ? static_cast<double>(s.hypothesis_length) /
                                                    static_cast<double>(s.reference_length)
                                              : 0.0;
  return format(
      "BLEU|%s = %.2f %.1f/%.1f/%.1f/%.1f (BP = %.3f ratio = %.3f hyp_len = %ld "
      "ref_len = %ld)",
      bleu_signature(references).c_str(), s.score, s.precisions[0], s.precisions[1],
      s.precisions[2], s.precisions[3], s.brevity_penalty, ratio,
      static_cast<long>(s.hypothesis_length), static_cast<long>(s.reference_length));
}

std::string chrf_line(const ChrfScore& s, int64_t references) {
  return format("chrF%d|%s = %.2f", kChrfBeta, chrf_signature(references).c_str(), s.score);
}

}  // namespace weft
