// Token embeddings (vocabulary shards with offsets, ids outside the shard,
// repeated ids) and positions, on the GPU against the CPU in f64.

#include <gtest/gtest.h>

#include <cmath>

#include "gpu_testing.h"
#include "support/tensor_testing.h"
#include "weft/backend/embedding.h"
#include "weft/tensor/error.h"

namespace weft::testing {
namespace {

// A table shard holding rows [offset, offset + rows) of a vocabulary of
// `vocab`, looked up by ids of shape `ids` drawn from [first_id, vocab).
struct EmbeddingCase {
  int64_t vocab, rows, offset, d;
  Shape ids;
  double scale;
  int64_t first_id = 0;
};

std::string case_str(const EmbeddingCase& c) {
  return detail::concat("rows [", c.offset, ", ", c.offset + c.rows, ") of ", c.vocab, ", D ", c.d,
                        ", ids ", shape_str(c.ids), " from ", c.first_id, ", scale ", c.scale);
}

// The backward groups positions by row with a radix sort over the bits the
// shard's row count needs; the last cases shape those groups.
const std::vector<EmbeddingCase>& embedding_cases() {
  static const std::vector<EmbeddingCase> all = {
      {50, 50, 0, 67, {3, 11}, 1.0},
      {1000, 333, 334, 128, {4, 37}, std::sqrt(128.0)},
      {97, 30, 60, 13, {257}, 0.5},
      {7, 7, 0, 768, {8, 64}, 1.0},                 // every id repeated many times
      {50304, 50304, 0, 96, {8, 512}, 1.0, 50303},  // every id the last row: one run of 4096
      {50304, 16768, 16768, 64, {4, 1024}, 1.0},    // a middle shard, ids on both sides
      {50304, 50304, 0, 72, {4, 1024}, 1.0},        // 4096 ids over a GPT-2-sized table
      {(1 << 20) + 3, (1 << 20) + 3, 0, 5, {3, 333}, 1.0},  // rows need 21 key bits
  };
  return all;
}

// The ids of a case, on both devices.
Operand case_ids(const EmbeddingCase& c, uint64_t seed) {
  Tensor ids = random_ids(c.ids, static_cast<int32_t>(c.vocab - c.first_id), seed);
  for (int64_t i = 0; i < ids.numel(); ++i) {
    ids.data<int32_t>()[i] += static_cast<int32_t>(c.first_id);
  }
  return ids_operand(ids);
}

class EmbeddingGpu : public GpuPrecisionTest {};
WEFT_GPU_PRECISIONS(EmbeddingGpu);

TEST_P(EmbeddingGpu, Forward) {
  Seeds seeds;
  for (const EmbeddingCase& c : embedding_cases()) {
    SCOPED_TRACE(case_str(c));
    const Operand table = random_operand({c.rows, c.d}, dtype(), seeds.next());
    const Operand ids = case_ids(c, seeds.next());
    Shape out_shape = c.ids;
    out_shape.push_back(c.d);
    Tensor out_ref = Tensor::zeros(out_shape, DType::F64);
    ops::embedding_forward(table.ref, ids.ref, c.scale, c.offset, out_ref);
    Tensor out = poisoned(out_shape, dtype());  // rows of ids outside the shard are written 0
    ops::embedding_forward(table.gpu, ids.gpu, c.scale, c.offset, out);
    EXPECT_TRUE(close_to_cpu("embedding_forward", "out", out, out_ref, budget()));
  }
}

// dtable += the scaled rows of dout, from the random values dtable holds,
// judged by the budget of dtable's dtype.
void expect_embedding_backward(const EmbeddingCase& c, DType dout_dtype, DType dtable_dtype,
                               Seeds& seeds) {
  const Operand ids = case_ids(c, seeds.next());
  Shape out_shape = c.ids;
  out_shape.push_back(c.d);
  const Operand dout = random_operand(out_shape, dout_dtype, seeds.next());
  Operand dtable = random_operand({c.rows, c.d}, dtable_dtype, seeds.next());
  ops::embedding_backward(dout.ref, ids.ref, c.scale, c.offset, dtable.ref);
  ops::embedding_backward(dout.gpu, ids.gpu, c.scale, c.offset, dtable.gpu);
  EXPECT_TRUE(close_to_cpu("embedding_backward", "dtable", dtable.gpu, dtable.ref,
                           gpu_budget(dtable_dtype)));
}

TEST_P(EmbeddingGpu, Backward) {
  Seeds seeds;
  for (const EmbeddingCase& c : embedding_cases()) {
    SCOPED_TRACE(case_str(c));
    expect_embedding_backward(c, dtype(), dtype(), seeds);
  }
}

// Ids all below or all above the shard leave the gradient's bits as they were.
TEST_P(EmbeddingGpu, BackwardOutsideShardAddsNothing) {
  Seeds seeds;
  const std::vector<EmbeddingCase> outside = {{1000, 500, 1000, 64, {4, 300}, 1.0},
                                              {1500, 500, 0, 64, {4, 300}, 1.0, 500}};
  for (const EmbeddingCase& c : outside) {
    SCOPED_TRACE(case_str(c));
    const Operand ids = case_ids(c, seeds.next());
    const Operand dout = random_operand({4, 300, c.d}, dtype(), seeds.next());
    const Operand dtable = random_operand({c.rows, c.d}, dtype(), seeds.next());
    Tensor after = dtable.gpu.clone();
    ops::embedding_backward(dout.gpu, ids.gpu, c.scale, c.offset, after);
    EXPECT_TRUE(same_bits("embedding_backward", "dtable", after, dtable.gpu));
  }
}

// x (B,T,D) += table[start + t], and its backward, both accumulating.
struct PositionsCase {
  int64_t B, T, D, table_rows, start;
};

// The last case reads whole packs from a row other than 0.
const std::vector<PositionsCase>& positions_cases() {
  static const std::vector<PositionsCase> all = {
      {3, 9, 67, 16, 3}, {2, 64, 768, 64, 0}, {5, 1, 13, 40, 39}, {2, 8, 24, 20, 5}};
  return all;
}

std::string case_str(const PositionsCase& c) {
  return detail::concat("x (", c.B, ",", c.T, ",", c.D, "), rows from ", c.start, " of ",
                        c.table_rows);
}

// dtable[start + t] += Σ_b dx[b, t], from the random values dtable holds,
// judged by the budget of dtable's dtype.
void expect_positions_backward(const PositionsCase& c, DType dx_dtype, DType dtable_dtype,
                               Seeds& seeds) {
  const Operand dx = random_operand({c.B, c.T, c.D}, dx_dtype, seeds.next());
  Operand dtable = random_operand({c.table_rows, c.D}, dtable_dtype, seeds.next());
  ops::add_positions_backward(dx.ref, c.start, dtable.ref);
  ops::add_positions_backward(dx.gpu, c.start, dtable.gpu);
  EXPECT_TRUE(close_to_cpu("add_positions_backward", "dtable", dtable.gpu, dtable.ref,
                           gpu_budget(dtable_dtype)));
}

TEST_P(EmbeddingGpu, Positions) {
  Seeds seeds;
  for (const PositionsCase& c : positions_cases()) {
    SCOPED_TRACE(case_str(c));
    const Operand table = random_operand({c.table_rows, c.D}, dtype(), seeds.next());
    Operand x = random_operand({c.B, c.T, c.D}, dtype(), seeds.next());
    ops::add_positions(table.ref, c.start, x.ref);
    ops::add_positions(table.gpu, c.start, x.gpu);
    EXPECT_TRUE(close_to_cpu("add_positions", "x", x.gpu, x.ref, budget()));
    expect_positions_backward(c, dtype(), dtype(), seeds);
  }
}

// Main gradients: bf16 rows added into f32 tables within the f32 budget,
// which sums rounded to bf16 on the way would exceed.
class EmbeddingMainGradientGpu : public GpuTest {};

TEST_F(EmbeddingMainGradientGpu, Bf16RowsIntoF32Table) {
  Seeds seeds;
  for (const EmbeddingCase& c : embedding_cases()) {
    SCOPED_TRACE(case_str(c));
    expect_embedding_backward(c, DType::BF16, DType::F32, seeds);
  }
}

TEST_F(EmbeddingMainGradientGpu, Bf16PositionsIntoF32Table) {
  Seeds seeds;
  for (const PositionsCase& c : positions_cases()) {
    SCOPED_TRACE(case_str(c));
    expect_positions_backward(c, DType::BF16, DType::F32, seeds);
  }
}

// Angles up to 1023 radians: the budget holds only if they are formed in
// double, as on the CPU.
TEST_P(EmbeddingGpu, SinusoidalTable) {
  for (const auto layout : {ops::SinusoidLayout::Interleaved, ops::SinusoidLayout::Halves}) {
    for (const Shape& shape : std::vector<Shape>{{37, 67}, {1024, 768}, {3, 1}}) {
      SCOPED_TRACE("table " + shape_str(shape) +
                   (layout == ops::SinusoidLayout::Halves ? ", halves" : ", interleaved"));
      Tensor table_ref = Tensor::zeros(shape, DType::F64);
      ops::sinusoidal_positions(table_ref, layout);
      Tensor table = poisoned(shape, dtype());
      ops::sinusoidal_positions(table, layout);
      EXPECT_TRUE(close_to_cpu("sinusoidal_positions", "table", table, table_ref, budget()));
    }
  }
}

}  // namespace
}  // namespace weft::testing
