// Every CPU reduction gives bit-identical results for any OpenMP thread
// count: simulated ranks, MPI ranks and a single process may run with
// different counts, and their losses must still agree.

#include <omp.h>

#include "ops_testing.h"
#include "weft/backend/embedding.h"
#include "weft/backend/layer_norm.h"
#include "weft/backend/rms_norm.h"

namespace weft::testing {
namespace {

// Runs fn() under 1, 2 and 3 threads and expects identical outputs.
void expect_thread_count_independent(const std::function<std::vector<Tensor>()>& fn) {
  const int saved = omp_get_max_threads();
  omp_set_num_threads(1);
  const std::vector<Tensor> reference = fn();
  for (int threads : {2, 3}) {
    omp_set_num_threads(threads);
    const std::vector<Tensor> again = fn();
    for (size_t i = 0; i < reference.size(); ++i) {
      EXPECT_TRUE(all_close(again[i], reference[i], 0.0, 0.0))
          << threads << " threads, output " << i;
    }
  }
  omp_set_num_threads(saved);
}

TEST(Determinism, SumSquaresAndBiasBackward) {
  const Tensor x = random_tensor({997, 385}, DType::F32, 1);
  expect_thread_count_independent([&] {
    Tensor ss = from_doubles({ops::sum_squares(x)}, {1});
    Tensor dbias = Tensor::zeros({385});
    ops::bias_backward(x, dbias);
    return std::vector<Tensor>{ss, dbias};
  });
}

TEST(Determinism, LayerNormParameterGradients) {
  const Tensor x = random_tensor({997, 385}, DType::F32, 2);
  const Tensor dy = random_tensor(x.shape(), DType::F32, 3);
  const Tensor gamma = random_tensor({385}, DType::F32, 4);
  const Tensor beta = random_tensor({385}, DType::F32, 5);
  expect_thread_count_independent([&] {
    Tensor y = zeros_like(x), mean = Tensor::empty({997}), rstd = Tensor::empty({997});
    ops::layer_norm_forward(x, gamma, beta, 1e-5, y, mean, rstd);
    Tensor dx = zeros_like(x), dgamma = zeros_like(gamma), dbeta = zeros_like(beta);
    ops::layer_norm_backward(dy, x, gamma, mean, rstd, dx, dgamma, dbeta);
    return std::vector<Tensor>{y, dx, dgamma, dbeta};
  });
}

TEST(Determinism, RmsNormGainGradient) {
  const Tensor x = random_tensor({997, 385}, DType::F32, 8);
  const Tensor dy = random_tensor(x.shape(), DType::F32, 9);
  const Tensor gamma = random_tensor({385}, DType::F32, 10);
  expect_thread_count_independent([&] {
    Tensor y = zeros_like(x), rstd = Tensor::empty({997});
    ops::rms_norm_forward(x, gamma, 1e-5, y, rstd);
    Tensor dx = zeros_like(x), dgamma = zeros_like(gamma);
    ops::rms_norm_backward(dy, x, gamma, rstd, dx, dgamma);
    return std::vector<Tensor>{y, rstd, dx, dgamma};
  });
}

TEST(Determinism, EmbeddingScatterWithRepeatedIds) {
  const Tensor ids = random_ids({4001}, 13, 6);
  const Tensor dout = random_tensor({4001, 385}, DType::F32, 7);
  expect_thread_count_independent([&] {
    Tensor dtable = Tensor::zeros({13, 385});
    ops::embedding_backward(dout, ids, 0.5, 0, dtable);
    return std::vector<Tensor>{dtable};
  });
}

}  // namespace
}  // namespace weft::testing
