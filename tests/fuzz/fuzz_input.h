#pragma once
// What every fuzz target shares. The readers under test take paths, as weft
// does, so each input is written to a file in a scratch directory made once
// per process. A reader must either accept the bytes or refuse them with a
// weft::Error; any other exception, a crash or a sanitizer report is a
// finding, and so is an allocation past libFuzzer's -malloc_limit_mb.

#include <stdlib.h>

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>

#include "weft/tensor/error.h"

namespace weft::fuzz {

// The scratch directory, removed when the process exits.
inline const std::string& scratch_dir() {
  static const std::string dir = [] {
    std::string pattern =
        (std::filesystem::temp_directory_path() / "weft-fuzz-XXXXXX").string();
    if (::mkdtemp(pattern.data()) == nullptr) abort();
    static const std::string removed_at_exit = pattern;
    atexit([] {
      std::error_code ec;
      std::filesystem::remove_all(removed_at_exit, ec);
    });
    return pattern;
  }();
  return dir;
}

// Writes `bytes` to `name` inside the scratch directory (making the folders
// on its way) and returns the file's path.
inline std::string write_file(const std::string& name, std::string_view bytes) {
  const std::filesystem::path path = std::filesystem::path(scratch_dir()) / name;
  std::filesystem::create_directories(path.parent_path());
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  if (!out) abort();
  return path.string();
}

inline std::string_view as_text(const uint8_t* data, size_t size) {
  return {reinterpret_cast<const char*>(data), size};
}

// Runs `read`; a weft::Error is a refusal, the outcome the harness expects
// for most inputs. Anything else escapes to libFuzzer as a finding.
template <typename Read> void accept_or_refuse(Read&& read) {
  try {
    read();
  } catch (const Error&) {
  }
}

}  // namespace weft::fuzz
