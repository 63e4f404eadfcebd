#pragma once
// Shared by the inference tests: small models of both families, slicing id
// tensors, and a check that a call is refused with a message naming the
// problem.

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <map>
#include <string>
#include <tuple>
#include <vector>

#include "support/tensor_testing.h"
#include "weft/backend/elementwise.h"
#include "weft/model/factory.h"
#include "weft/tensor/error.h"
#include "weft/tensor/safetensors.h"

namespace weft::testing {

// Columns [begin, end) of ids (B,T) i32 as a new (B, end−begin) tensor.
inline Tensor columns(const Tensor& ids, int64_t begin, int64_t end) {
  const int64_t B = ids.dim(0), T = ids.dim(1);
  std::vector<int32_t> out;
  for (int64_t b = 0; b < B; ++b) {
    for (int64_t t = begin; t < end; ++t) out.push_back(ids.data<int32_t>()[b * T + t]);
  }
  return Tensor::from_vector(out, {B, end - begin});
}

// Position t of logits (B,T,V) as (B,V).
inline Tensor position(const Tensor& logits, int64_t t) {
  const int64_t B = logits.dim(0), T = logits.dim(1), V = logits.dim(2);
  Tensor out = Tensor::empty({B, V}, logits.dtype());
  for (int64_t b = 0; b < B; ++b) {
    Tensor row = out.rows(b, b + 1);
    row.copy_from(logits.rows(b, b + 1).view({T, V}).rows(t, t + 1));
  }
  return out;
}

// A model of `preset`'s shape, small, with weights drawn from `seed`.
inline std::unique_ptr<Model> tiny_model(ModelConfig c, uint64_t seed, DType dtype = DType::F32) {
  LayerContext ctx;
  ctx.dtype = dtype;
  auto model = make_model(c, ctx);
  initialize_parameters(model->parameters(), seed);
  return model;
}

// tiny_model with every parameter moved off its initial value, biases and
// norm gains too, so that an export's transposes and concatenations cannot
// pass unchecked.
inline std::unique_ptr<Model> random_model(const ModelConfig& c, uint64_t seed) {
  auto model = tiny_model(c, seed);
  uint64_t k = seed * 1000;
  for (Parameter* p : model->parameters()) {
    ops::axpy(0.1, random_tensor(p->value.shape(), p->value.dtype(), ++k), p->value);
  }
  return model;
}

// An empty directory path under the system's temp directory, for an export.
inline std::string temp_dir(const std::string& name) {
  const auto dir = std::filesystem::temp_directory_path() /
                   ("weft-export-" + name + "-" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  return dir.string();
}

// call() throws weft::Error whose message contains `needle`.
template <typename Fn>
void expect_refused(Fn&& call, const std::string& needle) {
  try {
    call();
    ADD_FAILURE() << "no error; expected one mentioning '" << needle << "'";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
  }
}

// What an export copies as it is: each Hugging Face name with its shape and
// the weft parameter it holds.
using ExportedCopies = std::vector<std::tuple<std::string, Shape, std::string>>;

// The file holds exactly the `expected` tensors, f32, each equal to its weft
// parameter's real rows (a padded vocabulary's padding is not exported).
inline void expect_copied_exactly(Model& model, const SafetensorsFile& file,
                                  const ExportedCopies& expected) {
  std::map<std::string, std::vector<double>> weft;
  for (Parameter* p : model.parameters()) {
    const Tensor real = p->padded_rows > 0 ? p->value.rows(0, p->real_rows()) : p->value;
    weft[p->name] = real.to_double_vector();
  }
  EXPECT_EQ(file.tensors.size(), expected.size());
  for (const auto& [name, shape, from] : expected) {
    ASSERT_NE(file.find(name), nullptr) << name;
    const Tensor& t = *file.find(name);
    EXPECT_EQ(t.shape(), shape) << name;
    EXPECT_EQ(t.dtype(), DType::F32) << name;
    ASSERT_TRUE(weft.count(from)) << from;
    EXPECT_EQ(t.to_double_vector(), weft.at(from)) << name << " from " << from;
  }
}

}  // namespace weft::testing
