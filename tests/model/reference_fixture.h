#pragma once
// A PyTorch reference fixture (tests/reference/make_fixture.py): the model's
// config in the file's metadata, its float64 parameters, a batch, and what
// PyTorch computed from them (logits, losses, gradients, parameters after
// AdamW steps). Builds the weft model that the fixture describes.

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "weft/model/model.h"
#include "weft/tensor/safetensors.h"

namespace weft::testing {

// The optimiser settings the fixture was made with.
struct ReferenceOptim {
  double lr = 0, beta1 = 0, beta2 = 0, eps = 0, weight_decay = 0, max_grad_norm = 0;
  int steps = 0;
};

class ReferenceFixture {
 public:
  // Loads WEFT_FIXTURES_DIR/<file> (or <file>, an absolute path); throws weft::Error when it is
  // missing, malformed or lacks a metadata key.
  explicit ReferenceFixture(const std::string& file);

  const ModelConfig& config() const { return config_; }
  const ReferenceOptim& optim() const { return optim_; }
  const Batch& batch() const { return batch_; }
  int64_t tokens() const { return tokens_; }
  // A float64 tensor of the fixture, e.g. "logits", "grad.lm_head.weight".
  const Tensor& at(const std::string& name) const { return file_.at(name); }
  double scalar(const std::string& name) const;
  const std::string& meta(const std::string& key) const { return file_.meta(key); }

  // The model of the fixture's config, built in `dtype`, with every
  // parameter set from "param.<name>". Fails the assertion, naming them, when
  // a weft parameter is missing from the fixture or the fixture holds one
  // weft lacks, or when shapes or weight-decay flags differ.
  ::testing::AssertionResult build(DType dtype, std::unique_ptr<Model>& model) const;

 private:
  SafetensorsFile file_;
  ModelConfig config_;
  ReferenceOptim optim_;
  Batch batch_;
  int64_t tokens_ = 0;
};

// `actual` (any floating dtype) against the float64 reference: every element
// within rel · (|expected| + max|expected|), so elements near zero are judged
// on the tensor's scale. `floor` raises that scale for tensors whose values
// are all near zero (pass the gradients' overall scale). Names the tensor.
::testing::AssertionResult matches_reference(const std::string& what, const Tensor& actual,
                                             const Tensor& expected, double rel,
                                             double floor = 0.0);

// Largest |x| of a tensor.
double max_abs(const Tensor& t);

// A host copy of `t` in `dtype` (F32 or F64).
Tensor converted(const Tensor& t, DType dtype);

}  // namespace weft::testing
