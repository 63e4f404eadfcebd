// adamw_update_many: a list of tensors with their own weight decays steps
// exactly as adamw_update on each; a tensor with an f32 master copy steps the
// master and leaves the param equal to it; malformed lists are refused with
// the entry and the argument named.

#include <gmock/gmock.h>

#include "ops_testing.h"
#include "support/error_testing.h"
#include "weft/backend/adamw.h"

namespace weft::testing {
namespace {

// One optimizer-managed tensor: param, its moments and (optionally) master.
struct Slot {
  Tensor param, m, v, master;
  Slot(const Shape& shape, DType dtype, uint64_t seed)
      : param(random_tensor(shape, dtype, seed)),
        m(Tensor::zeros(shape, dtype)),
        v(Tensor::zeros(shape, dtype)) {}
  Slot clone() const {
    Slot c = *this;
    c.param = param.clone();
    c.m = m.clone();
    c.v = v.clone();
    if (master.defined()) c.master = master.clone();
    return c;
  }
};

ops::AdamWStep step_number(int64_t step) {
  ops::AdamWStep h;
  h.lr = 0.05;
  h.step = step;
  h.grad_scale = 0.7;
  h.weight_decay = 0.5;  // replaced by each tensor's own
  return h;
}

class AdamWMany : public FloatingTest {};

TEST_P(AdamWMany, EqualsPerTensorUpdatesWithTheirOwnWeightDecay) {
  const DType dt = GetParam();
  const std::vector<Shape> shapes = {{3, 5}, {17}, {4, 4, 3}, {1}};
  const std::vector<double> decays = {0.0, 0.1, 0.01, 0.3};
  std::vector<Slot> many, single;
  for (size_t i = 0; i < shapes.size(); ++i) {
    many.emplace_back(shapes[i], dt, 1 + i);
    single.push_back(many.back().clone());
  }
  for (int64_t step = 1; step <= 3; ++step) {
    std::vector<Tensor> grads;
    for (size_t i = 0; i < shapes.size(); ++i) {
      grads.push_back(random_tensor(shapes[i], dt, 100 * step + i, -2.0, 2.0));
    }
    const ops::AdamWStep h = step_number(step);
    std::vector<ops::AdamWTensor> list;
    for (size_t i = 0; i < shapes.size(); ++i) {
      list.push_back({&many[i].param, &grads[i], &many[i].m, &many[i].v, nullptr, decays[i]});
      ops::AdamWStep one = h;
      one.weight_decay = decays[i];
      ops::adamw_update(single[i].param, grads[i], single[i].m, single[i].v, one);
    }
    ops::adamw_update_many(list, h);
    for (size_t i = 0; i < shapes.size(); ++i) {
      SCOPED_TRACE(::testing::Message() << "step " << step << ", tensor " << i);
      EXPECT_TRUE(all_close(many[i].param, single[i].param, 0.0, 0.0));
      EXPECT_TRUE(all_close(many[i].m, single[i].m, 0.0, 0.0));
      EXPECT_TRUE(all_close(many[i].v, single[i].v, 0.0, 0.0));
    }
  }
}

WEFT_FULL_PRECISION_SUITE(AdamWMany);

// The master path in f32 (CPU has no bf16 arithmetic): the master takes the
// same step adamw_update would take on it, and the param receives it.
TEST(AdamWManyMaster, ParamEqualsMasterAfterTheStep) {
  Slot plain({6, 7}, DType::F32, 9);
  Slot mixed = plain.clone();
  mixed.master = mixed.param.clone();
  ops::fill(mixed.param, 123.0);  // overwritten with the master's new value
  for (int64_t step = 1; step <= 2; ++step) {
    const Tensor grad = random_tensor({6, 7}, DType::F32, 20 + step, -1.0, 1.0);
    const ops::AdamWStep h = step_number(step);
    ops::AdamWStep one = h;
    one.weight_decay = 0.1;
    ops::adamw_update(plain.param, grad, plain.m, plain.v, one);
    ops::adamw_update_many({{&mixed.param, &grad, &mixed.m, &mixed.v, &mixed.master, 0.1}}, h);
    SCOPED_TRACE(::testing::Message() << "step " << step);
    EXPECT_TRUE(all_close(mixed.master, plain.param, 0.0, 0.0));
    EXPECT_TRUE(all_close(mixed.param, mixed.master, 0.0, 0.0));
    EXPECT_TRUE(all_close(mixed.m, plain.m, 0.0, 0.0));
    EXPECT_TRUE(all_close(mixed.v, plain.v, 0.0, 0.0));
  }
}

TEST(AdamWManyMaster, Bf16ParamReceivesTheRoundedMaster) {
  const Tensor master0 = random_tensor({5, 3}, DType::F32, 31);
  Tensor master = master0.clone(), param = cast(master0, DType::BF16);
  Tensor m = Tensor::zeros({5, 3}), v = Tensor::zeros({5, 3});
  const Tensor grad = cast(random_tensor({5, 3}, DType::F32, 32), DType::BF16);
  Tensor expected = master0.clone(), em = zeros_like(m), ev = zeros_like(v);
  const ops::AdamWStep h = step_number(1);
  ops::AdamWStep one = h;
  one.weight_decay = 0.2;
  ops::adamw_update(expected, cast(grad, DType::F32), em, ev, one);
  ops::adamw_update_many({{&param, &grad, &m, &v, &master, 0.2}}, h);
  EXPECT_TRUE(all_close(master, expected, 0.0, 0.0));
  EXPECT_TRUE(all_close(param, cast(expected, DType::BF16), 0.0, 0.0));
}

TEST(AdamWManyChecks, RefusesMalformedLists) {
  Tensor p = Tensor::zeros({3, 5}), g = zeros_like(p), m = zeros_like(p), v = zeros_like(p);
  Tensor wrong = Tensor::zeros({5, 3}), m64 = Tensor::zeros({3, 5}, DType::F64);
  Tensor p16 = Tensor::zeros({3, 5}, DType::BF16), g16 = Tensor::zeros({3, 5}, DType::BF16);
  Tensor master = zeros_like(p), master16 = Tensor::zeros({3, 5}, DType::BF16);
  const ops::AdamWStep h;
  auto refusal = [&](std::vector<ops::AdamWTensor> list) {
    return error_of([&] { ops::adamw_update_many(list, h); });
  };
  using ::testing::HasSubstr;
  EXPECT_NO_THROW(ops::adamw_update_many({}, h));
  EXPECT_NO_THROW(ops::adamw_update_many({{&p, &g, &m, &v, nullptr, 0.1}}, h));
  EXPECT_NO_THROW(ops::adamw_update_many({{&p16, &g16, &m, &v, &master, 0.1}}, h));
  EXPECT_THAT(refusal({{&p, &g, &m, &v, nullptr, 0.0}, {&p, nullptr, &m, &v, nullptr, 0.0}}),
              HasSubstr("adamw_update_many: tensors[1] needs param, grad, m and v"));
  EXPECT_THAT(refusal({{&p, &wrong, &m, &v, nullptr, 0.0}}),
              HasSubstr("adamw_update_many: tensors[0].grad must be f32[3, 5]"));
  EXPECT_THAT(refusal({{&p, &g, &m64, &v, nullptr, 0.0}}),
              HasSubstr("adamw_update_many: tensors[0].m must be f32[3, 5]"));
  EXPECT_THAT(refusal({{&p, &g, &m, &wrong, nullptr, 0.0}}),
              HasSubstr("adamw_update_many: tensors[0].v must be f32[3, 5]"));
  EXPECT_THAT(refusal({{&p, &g, &m, &v, nullptr, -0.1}}),
              HasSubstr("adamw_update_many: tensors[0].weight_decay must be >= 0"));
  // With a master copy: f32 master, m and v; the grad of the param's dtype
  // or f32 (main gradients), nothing else.
  EXPECT_THAT(refusal({{&p16, &g16, &m, &v, &master16, 0.0}}),
              HasSubstr("adamw_update_many: tensors[0].master must be f32[3, 5]"));
  EXPECT_NO_THROW(ops::adamw_update_many({{&p16, &g, &m, &v, &master, 0.1}}, h));
  EXPECT_THAT(refusal({{&p16, &m64, &m, &v, &master, 0.0}}),
              HasSubstr("adamw_update_many: tensors[0].grad must be bf16[3, 5] on cpu (or f32)"));
  EXPECT_THAT(refusal({{&p16, &g16, &m64, &v, &master, 0.0}}),
              HasSubstr("adamw_update_many: tensors[0].m must be f32[3, 5]"));
  Tensor p64 = Tensor::zeros({3, 5}, DType::F64), g64 = Tensor::zeros({3, 5}, DType::F64);
  EXPECT_THAT(
      refusal({{&p64, &g64, &m, &v, &master, 0.0}}),
      HasSubstr("adamw_update_many: tensors[0].param with a master copy must be bf16 or f32"));
  ops::AdamWStep zero_step = h;
  zero_step.step = 0;
  EXPECT_THROW(ops::adamw_update_many({{&p, &g, &m, &v, nullptr, 0.0}}, zero_step), Error);
}

}  // namespace
}  // namespace weft::testing
