#include "inference/export_weights.h"

#include <filesystem>

#include "weft/backend/elementwise.h"
#include "weft/tensor/atomic_file.h"
#include "weft/tensor/error.h"
#include "weft/tensor/safetensors.h"

namespace weft::detail {

std::map<std::string, Tensor> whole_weights(Model& model, const std::string& format) {
  std::map<std::string, Tensor> weights;
  for (Parameter* p : model.parameters()) {
    WEFT_CHECK(p->value.shape() == p->full_shape, "export ", format, ": parameter ", p->name,
               " is a tensor-parallel shard ", shape_str(p->value.shape()), " of ",
               shape_str(p->full_shape), "; export from a single-rank (merged) model");
    weights.emplace(p->name, p->padded_rows > 0 ? p->value.rows(0, p->real_rows()) : p->value);
  }
  return weights;
}

Tensor host_f32(const std::map<std::string, Tensor>& weights, const std::string& name,
                const Shape& shape, const std::string& format) {
  const auto it = weights.find(name);
  WEFT_CHECK(it != weights.end(), "export ", format, ": no parameter ", name);
  const Tensor& t = it->second;
  WEFT_CHECK(t.shape() == shape, "export ", format, ": parameter ", name, " is ", t.describe(),
             ", expected shape ", shape_str(shape));
  const Tensor host = t.device() == Device::CPU ? t : t.to(Device::CPU);
  if (host.dtype() == DType::F32) return host.clone();
  Tensor out = Tensor::empty(shape, DType::F32);
  ops::convert(host, out);
  return out;
}

void write_export_file(const std::string& dir, const std::string& name, const std::string& text,
                       const std::string& format) {
  std::error_code error;
  std::filesystem::create_directories(dir, error);
  WEFT_CHECK(!error, "export ", format, ": cannot create directory ", dir, ": ", error.message());
  write_file_atomically(dir + "/" + name, text);
}

void write_hf_model(const std::string& dir, const std::string& format,
                    const std::string& config_json,
                    const std::vector<std::pair<std::string, Tensor>>& tensors) {
  write_export_file(dir, "config.json", config_json, format);
  save_safetensors(dir + "/model.safetensors", tensors, {{"format", "pt"}});
}

}  // namespace weft::detail
