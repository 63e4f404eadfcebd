// The file-system side of checkpoints: files are written through AtomicFile
// and directory changes are followed by an fsync of the directory, so that
// what a reader finds after a crash is either old or complete.

#include <stdlib.h>  // mkdtemp

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string_view>
#include <vector>

#include "checkpoint/checkpoint_internal.h"
#include "weft/tensor/atomic_file.h"
#include "weft/tensor/error.h"

namespace weft::checkpoint {

namespace fs = std::filesystem;

bool parse_step_name(const std::string& name, int64_t& step, bool& temp) {
  constexpr std::string_view kPrefix = "step-";
  if (name.rfind(kPrefix, 0) != 0) return false;
  const size_t marker = name.find(kTempMarker);
  temp = marker != std::string::npos;
  const std::string digits =
      name.substr(kPrefix.size(), (temp ? marker : name.size()) - kPrefix.size());
  if (digits.empty() || digits.size() > 18) return false;
  if (!std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    return false;
  }
  step = std::stoll(digits);
  return true;
}

void copy_file_durably(const std::string& from, const std::string& to) {
  std::ifstream in(from, std::ios::binary);
  if (!in) throw Error(from + ": cannot open for reading: " + std::strerror(errno));
  write_file_atomically(to, [&](AtomicFile& out) {
    std::vector<char> buffer(1 << 20);
    while (in) {
      in.read(buffer.data(), static_cast<std::streamsize>(buffer.size()));
      out.write(buffer.data(), static_cast<size_t>(in.gcount()));
    }
    if (in.bad()) throw Error(from + ": read failed: " + std::strerror(errno));
  });
}

std::vector<std::string> copy_files_into(const std::string& from,
                                         const std::vector<std::string>& files,
                                         const std::string& dir, const std::string& into) {
  if (files.empty()) return {};
  const fs::path target = fs::path(dir) / into;
  std::error_code ec;
  fs::create_directory(target, ec);
  if (ec) throw Error(target.string() + ": cannot create: " + ec.message());
  std::vector<std::string> copied;
  for (const std::string& file : files) {
    copy_file_durably((fs::path(from) / file).string(), (target / file).string());
    copied.push_back(into + "/" + file);
  }
  return copied;
}

std::string make_temp_directory(const std::string& prefix) {
  std::string name = prefix + "XXXXXX";
  if (::mkdtemp(name.data()) == nullptr) {
    throw Error(name + ": mkdtemp failed: " + std::strerror(errno));
  }
  return name;
}

TempDirGuard::~TempDirGuard() {
  if (path_.empty()) return;
  std::error_code ec;
  fs::remove_all(path_, ec);  // best effort: an exception is already on its way
}

void remove_checkpoint_dir(const std::string& path) {
  std::error_code ec;
  if (fs::remove(fs::path(path) / kManifestFile, ec)) fsync_directory(path);
  fs::remove_all(path, ec);
  if (ec) throw Error(path + ": cannot remove: " + ec.message());
}

std::string checkpoints_dir_of(const std::string& run_dir) {
  return (fs::path(run_dir) / "checkpoints").string();
}

std::vector<StepDir> scan_step_dirs(const std::string& checkpoints_dir) {
  std::vector<StepDir> out;
  std::error_code ec;
  if (!fs::is_directory(checkpoints_dir, ec)) return out;
  fs::directory_iterator it(checkpoints_dir, ec);
  if (ec) throw Error(checkpoints_dir + ": cannot list: " + ec.message());
  for (const fs::directory_entry& entry : it) {
    StepDir d;
    if (!parse_step_name(entry.path().filename().string(), d.step, d.temp)) continue;
    if (!entry.is_directory(ec)) continue;
    d.path = entry.path().string();
    out.push_back(d);
  }
  std::sort(out.begin(), out.end(), [](const StepDir& a, const StepDir& b) {
    if (a.step != b.step) return a.step > b.step;
    if (a.temp != b.temp) return !a.temp;
    return a.path < b.path;
  });
  return out;
}

}  // namespace weft::checkpoint
