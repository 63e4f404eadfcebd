// safetensors: every dtype and the metadata survive a round trip, and each
// kind of malformed file is refused with an error naming the file and the fault.

#include "weft/tensor/safetensors.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "weft/tensor/bf16.h"
#include "weft/tensor/error.h"

namespace weft {
namespace {

namespace fs = std::filesystem;

// A fresh directory per test, removed afterwards.
class SafetensorsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    dir_ = fs::temp_directory_path() /
           ("weft_safetensors_" + std::to_string(::getpid()) + "_" + info->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::string file(const std::string& name) const { return (dir_ / name).string(); }

  // Writes a file from a header text and a data section, as given.
  std::string write_raw(const std::string& name, const std::string& header, const std::string& data,
                        int64_t declared_len = -1) const {
    const std::string path = file(name);
    std::ofstream out(path, std::ios::binary);
    const uint64_t len = declared_len >= 0 ? static_cast<uint64_t>(declared_len) : header.size();
    char len_bytes[8];
    std::memcpy(len_bytes, &len, 8);
    out.write(len_bytes, 8);
    out << header << data;
    return path;
  }

  fs::path dir_;
};

Tensor f32_tensor(const std::vector<float>& v, const Shape& shape) {
  return Tensor::from_vector(v, shape);
}

Tensor f64_tensor(const std::vector<double>& v, const Shape& shape) {
  Tensor t = Tensor::empty(shape, DType::F64);
  std::copy(v.begin(), v.end(), t.data<double>());
  return t;
}

Tensor bf16_tensor(const std::vector<float>& v, const Shape& shape) {
  Tensor t = Tensor::empty(shape, DType::BF16);
  auto* bits = static_cast<uint16_t*>(t.raw());
  for (size_t i = 0; i < v.size(); ++i) bits[i] = float_to_bf16(v[i]);
  return t;
}

bool same_bytes(const Tensor& a, const Tensor& b) {
  return a.dtype() == b.dtype() && a.shape() == b.shape() &&
         std::memcmp(a.raw(), b.raw(), a.nbytes()) == 0;
}

// Expects load_safetensors(path) to throw an Error whose message names the
// file and contains `fault`.
void expect_refused(const std::string& path, const std::string& fault) {
  try {
    load_safetensors(path);
    ADD_FAILURE() << "loaded " << path << ", expected a refusal mentioning '" << fault << "'";
  } catch (const Error& e) {
    const std::string message = e.what();
    EXPECT_NE(message.find(path), std::string::npos)
        << "message does not name the file: " << message;
    EXPECT_NE(message.find(fault), std::string::npos)
        << "message does not say '" << fault << "': " << message;
  }
}

TEST_F(SafetensorsTest, RoundTripsEveryDtypeInOrderWithMetadata) {
  const std::vector<std::pair<std::string, Tensor>> tensors = {
      {"z.f32", f32_tensor({1.5f, -2.25f, 3e-8f, 1e30f, 0.f, -0.f}, {2, 3})},
      {"a.f64", f64_tensor({3.141592653589793, -1e-300, 2.5}, {3})},
      {"m.bf16", bf16_tensor({1.0f, -0.5f, 256.f, 3.f}, {2, 1, 2})},
      {"ids.i32", Tensor::from_vector(std::vector<int32_t>{0, -1, 2147483647, 7}, {4})},
      {"scalar", f64_tensor({42.0}, {})},
      {"empty", Tensor::empty({0, 5}, DType::F32)},
  };
  const SafetensorsMetadata meta = {{"format", "pt"}, {"d_model", "16"}, {"note", "ünïcode \"q\""}};
  const std::string path = file("round.safetensors");
  save_safetensors(path, tensors, meta);

  const SafetensorsFile loaded = load_safetensors(path);
  EXPECT_EQ(loaded.path, path);
  EXPECT_EQ(loaded.metadata, meta);
  ASSERT_EQ(loaded.tensors.size(), tensors.size());
  for (size_t i = 0; i < tensors.size(); ++i) {
    EXPECT_EQ(loaded.tensors[i].first, tensors[i].first) << "file order differs at " << i;
    EXPECT_TRUE(same_bytes(loaded.tensors[i].second, tensors[i].second)) << tensors[i].first;
  }
  EXPECT_EQ(loaded.at("a.f64").data<double>()[0], 3.141592653589793);
  EXPECT_EQ(loaded.meta("d_model"), "16");
  EXPECT_EQ(loaded.find("nothing"), nullptr);
  EXPECT_THROW(loaded.at("nothing"), Error);
  EXPECT_THROW(loaded.meta("nothing"), Error);
}

TEST_F(SafetensorsTest, WritesTheStandardLayout) {
  const std::string path = file("layout.safetensors");
  save_safetensors(path, {{"w", f32_tensor({1.f, 2.f}, {1, 2})}}, {{"k", "v"}});
  std::ifstream in(path, std::ios::binary);
  uint64_t len = 0;
  in.read(reinterpret_cast<char*>(&len), 8);
  EXPECT_EQ(len % 8, 0u) << "header is padded so the data is 8-byte aligned";
  std::string header(len, '\0');
  in.read(header.data(), static_cast<std::streamsize>(len));
  const auto json = nlohmann::json::parse(header);
  EXPECT_EQ(json["w"]["dtype"], "F32");
  EXPECT_EQ(json["w"]["shape"], nlohmann::json({1, 2}));
  EXPECT_EQ(json["w"]["data_offsets"], nlohmann::json({0, 8}));
  EXPECT_EQ(json["__metadata__"]["k"], "v");
  float data[2];
  in.read(reinterpret_cast<char*>(data), 8);
  EXPECT_EQ(data[0], 1.f);
  EXPECT_EQ(data[1], 2.f);
}

TEST_F(SafetensorsTest, SaveReplacesAtomicallyAndLeavesNoTempFile) {
  const std::string path = file("ckpt.safetensors");
  save_safetensors(path, {{"x", f32_tensor({1.f}, {1})}});
  save_safetensors(path, {{"y", f32_tensor({2.f, 3.f}, {2})}});
  const SafetensorsFile loaded = load_safetensors(path);
  ASSERT_EQ(loaded.tensors.size(), 1u);
  EXPECT_EQ(loaded.tensors[0].first, "y");
  int entries = 0;
  for (const auto& e : fs::directory_iterator(dir_)) {
    ++entries;
    EXPECT_EQ(e.path().filename(), "ckpt.safetensors");
  }
  EXPECT_EQ(entries, 1);
}

TEST_F(SafetensorsTest, SaveRefusesBadInputAndKeepsTheOldFile) {
  const std::string path = file("keep.safetensors");
  save_safetensors(path, {{"x", f32_tensor({1.f}, {1})}});
  const Tensor one = f32_tensor({1.f}, {1});
  EXPECT_THROW(save_safetensors(path, {{"a", one}, {"a", one}}), Error);
  EXPECT_THROW(save_safetensors(path, {{"__metadata__", one}}), Error);
  EXPECT_THROW(save_safetensors(path, {{"u", Tensor()}}), Error);
  EXPECT_THROW(save_safetensors(file("no/such/dir/x.safetensors"), {{"a", one}}), Error);
  EXPECT_EQ(load_safetensors(path).tensors.at(0).first, "x");
}

TEST_F(SafetensorsTest, RefusesAMissingFile) {
  expect_refused(file("absent.safetensors"), "cannot open");
}

TEST_F(SafetensorsTest, RefusesAFileShorterThanTheLength) {
  const std::string path = file("short.safetensors");
  std::ofstream(path, std::ios::binary) << "abc";
  expect_refused(path, "truncated");
}

TEST_F(SafetensorsTest, RefusesAHeaderLengthPastTheEnd) {
  expect_refused(write_raw("long.safetensors", "{}", "", 1000), "runs past the end");
}

TEST_F(SafetensorsTest, RefusesATruncatedDataSection) {
  const std::string path = file("cut.safetensors");
  save_safetensors(path, {{"w", f32_tensor({1.f, 2.f, 3.f}, {3})}});
  fs::resize_file(path, fs::file_size(path) - 4);
  expect_refused(path, "outside the data section");
}

TEST_F(SafetensorsTest, RefusesBadJson) {
  expect_refused(write_raw("json.safetensors", "{\"w\": {\"dtype\": ", ""), "not valid JSON");
  expect_refused(write_raw("array.safetensors", "[1, 2]", ""), "not a JSON object");
  expect_refused(write_raw("entry.safetensors", "{\"w\": 3}", ""), "not a JSON object");
  expect_refused(
      write_raw("nodtype.safetensors", R"({"w": {"shape": [1], "data_offsets": [0, 4]}})",
                std::string(4, '\0')),
      "no \"dtype\"");
  expect_refused(write_raw("dup.safetensors",
                           R"({"w": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]},)"
                           R"( "w": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}})",
                           std::string(4, '\0')),
                 "names 'w' twice");
}

TEST_F(SafetensorsTest, RefusesOffsetsOutOfRange) {
  expect_refused(write_raw("range.safetensors",
                           R"({"w": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}})",
                           std::string(4, '\0')),
                 "outside the data section");
  expect_refused(write_raw("reversed.safetensors",
                           R"({"w": {"dtype": "F32", "shape": [0], "data_offsets": [4, 0]}})",
                           std::string(4, '\0')),
                 "outside the data section");
  expect_refused(write_raw("negative.safetensors",
                           R"({"w": {"dtype": "F32", "shape": [1], "data_offsets": [-4, 0]}})", ""),
                 "non-negative integers");
  expect_refused(write_raw("pair.safetensors",
                           R"({"w": {"dtype": "F32", "shape": [1], "data_offsets": [0]}})", ""),
                 "data_offsets must be [begin, end]");
}

TEST_F(SafetensorsTest, RefusesOverlappingTensors) {
  expect_refused(write_raw("overlap.safetensors",
                           R"({"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]},)"
                           R"( "b": {"dtype": "F32", "shape": [2], "data_offsets": [4, 12]}})",
                           std::string(12, '\0')),
                 "overlap");
}

TEST_F(SafetensorsTest, RefusesHolesAndTrailingBytes) {
  expect_refused(write_raw("hole.safetensors",
                           R"({"a": {"dtype": "F32", "shape": [1], "data_offsets": [4, 8]}})",
                           std::string(8, '\0')),
                 "belong to no tensor");
  expect_refused(write_raw("trail.safetensors",
                           R"({"a": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}})",
                           std::string(8, '\0')),
                 "tensors end at 4");
}

TEST_F(SafetensorsTest, RefusesAnUnknownDtype) {
  expect_refused(write_raw("dtype.safetensors",
                           R"({"w": {"dtype": "F16", "shape": [2], "data_offsets": [0, 4]}})",
                           std::string(4, '\0')),
                 "unknown dtype \"F16\"");
}

TEST_F(SafetensorsTest, RefusesAShapeThatDoesNotMatchTheOffsets) {
  expect_refused(write_raw("size.safetensors",
                           R"({"w": {"dtype": "F64", "shape": [2, 3], "data_offsets": [0, 24]}})",
                           std::string(24, '\0')),
                 "needs 48 bytes but data_offsets span 24");
  expect_refused(write_raw("huge.safetensors",
                           R"({"w": {"dtype": "F64", "shape": [4294967296, 4294967296],)"
                           R"( "data_offsets": [0, 8]}})",
                           std::string(8, '\0')),
                 "needs more bytes");
  expect_refused(write_raw("dim.safetensors",
                           R"({"w": {"dtype": "F64", "shape": [1.5], "data_offsets": [0, 8]}})",
                           std::string(8, '\0')),
                 "shape must hold non-negative integers");
}

TEST_F(SafetensorsTest, RefusesNonStringMetadata) {
  expect_refused(write_raw("meta.safetensors", R"({"__metadata__": {"steps": 5}})", ""),
                 "'steps' is not a string");
  expect_refused(write_raw("meta2.safetensors", R"({"__metadata__": [1]})", ""),
                 "__metadata__ is not a JSON object");
}

}  // namespace
}  // namespace weft
