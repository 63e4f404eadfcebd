// Model configs come from users and from checkpoint manifests: sizes beyond
// what any model needs are refused by name before anything is allocated,
// and so is a model whose weights cannot fit in this machine's memory.

#include <gtest/gtest.h>

#include "support/error_testing.h"
#include "weft/model/config.h"

namespace weft {
namespace {

using testing::error_of;

ModelConfig tiny() {
  ModelConfig c = model_preset("tiny-gpt");
  c.vocab_size = 50;
  return c;
}

TEST(ConfigBounds, AbsurdSizesAreRefusedByName) {
  struct Case {
    const char* key;
    void (*set)(ModelConfig&);
    const char* value;
  };
  const Case cases[] = {
      {"model.d_model", [](ModelConfig& c) { c.d_model = int64_t{1} << 30; }, "1073741824"},
      {"model.n_layers", [](ModelConfig& c) { c.n_layers = 10000000; }, "10000000"},
      {"model.max_seq_len", [](ModelConfig& c) { c.max_seq_len = int64_t{1} << 62; },
       "4611686018427387904"},
      {"model.d_ff", [](ModelConfig& c) { c.d_ff = int64_t{1} << 40; }, "1099511627776"},
      {"model.vocab_size", [](ModelConfig& c) { c.vocab_size = int64_t{1} << 32; }, "4294967296"},
  };
  for (const Case& k : cases) {
    ModelConfig c = tiny();
    k.set(c);
    const std::string message = error_of([&] { c.validate(); });
    EXPECT_NE(message.find(std::string(k.key) + " is " + k.value + ", above the largest"),
              std::string::npos)
        << message;
  }
}

TEST(ConfigBounds, TheBoundsThemselvesPassTheSizeChecks) {
  ModelConfig c = tiny();
  c.max_seq_len = int64_t{1} << 20;
  c.positions = PositionEncoding::Sinusoidal;
  EXPECT_NO_THROW(c.validate());  // 2^20 x 64 positions: 256 MiB of table
}

TEST(ConfigBounds, WeightsThatCannotFitInMemoryAreRefusedWithTheirSize) {
  ModelConfig c = tiny();
  c.d_model = int64_t{1} << 16;
  c.n_heads = 1;
  c.d_ff = int64_t{1} << 18;
  c.n_layers = 1024;  // 2^45 feed-forward parameters: 128 TiB of f32
  const std::string message = error_of([&] { c.validate(); });
  EXPECT_NE(message.find("GiB for its weights, more than the"), std::string::npos) << message;
  EXPECT_NE(message.find("model.n_layers"), std::string::npos) << message;
}

TEST(ConfigBounds, MemoryCheckComparesBytesWithWhatIsAvailable) {
  const int64_t gib = int64_t{1} << 30;
  EXPECT_NO_THROW(check_fits_in_memory(gib, 2 * gib, "x"));
  EXPECT_NO_THROW(check_fits_in_memory(gib, 0, "x"));  // unknown: not refused
  const std::string message = error_of([&] { check_fits_in_memory(3 * gib, 2 * gib, "training"); });
  EXPECT_NE(message.find("the model needs 3 GiB for training, more than the 2 GiB"),
            std::string::npos)
      << message;
}

}  // namespace
}  // namespace weft
