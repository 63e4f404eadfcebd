#pragma once
// Helpers for the checkpoint tests: a scratch run directory under /tmp, a
// tiny model with non-trivial optimizer state, and byte-level comparisons.

#include <gtest/gtest.h>

#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "support/tensor_testing.h"
#include "weft/model/factory.h"
#include "support/error_testing.h"
#include "weft/tensor/error.h"
#include "weft/train/adamw.h"

namespace weft::testing {

// A fresh directory, removed with everything in it when the test ends.
class ScratchDir {
 public:
  ScratchDir() {
    std::string name = (std::filesystem::temp_directory_path() / "weft-ckpt-XXXXXX").string();
    if (::mkdtemp(name.data()) == nullptr) throw Error("mkdtemp failed for " + name);
    path_ = name;
  }
  ~ScratchDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;
  const std::string& path() const { return path_; }
  std::string operator/(const std::string& rel) const { return path_ + "/" + rel; }

 private:
  std::string path_;
};

// A model with its optimizer, after `steps` AdamW updates from seeded random
// gradients, so that values and both moments are all distinct and non-zero.
struct TrainedModel {
  std::unique_ptr<Model> model;
  std::unique_ptr<AdamW> optimizer;
};

inline TrainedModel trained_model(const ModelConfig& config, uint64_t seed, int steps = 2) {
  TrainedModel t;
  t.model = make_model(config);
  initialize_parameters(t.model->parameters(), seed);
  t.optimizer = std::make_unique<AdamW>(t.model->parameters(), AdamWOptions{0.9, 0.95, 1e-8, 0.1});
  for (int s = 0; s < steps; ++s) {
    uint64_t k = seed * 1000 + static_cast<uint64_t>(s) * 100;
    for (Parameter* p : t.model->parameters()) {
      p->grad.copy_from(random_tensor(p->grad.shape(), p->grad.dtype(), ++k));
    }
    t.optimizer->step(1e-2);
  }
  return t;
}

inline bool same_bytes(const Tensor& a, const Tensor& b) {
  return a.shape() == b.shape() && a.dtype() == b.dtype() &&
         std::memcmp(a.raw(), b.raw(), a.nbytes()) == 0;
}

inline std::string read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

inline void write_text(const std::string& path, const std::string& text) {
  std::ofstream(path, std::ios::binary | std::ios::trunc) << text;
}

}  // namespace weft::testing
