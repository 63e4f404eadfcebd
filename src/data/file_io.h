#pragma once
// File helpers of the data layer: whole-file reads that name the file they
// refuse, and atomic writes (temp file in the same directory, fsync, rename)
// so a reader never sees half a shard or half a meta.json.

#include <cstddef>
#include <string>
#include <string_view>

namespace weft::data {

// A temp file next to `path` that replaces `path` only on commit(); destroyed
// uncommitted (an exception on the way), it is removed.
class AtomicFile {
 public:
  explicit AtomicFile(std::string path);
  ~AtomicFile();
  AtomicFile(const AtomicFile&) = delete;
  AtomicFile& operator=(const AtomicFile&) = delete;

  void write(const void* bytes, size_t n);
  void commit();  // fsync, close, rename over `path`, fsync the directory

 private:
  std::string path_;
  std::string temp_name_;
  int fd_ = -1;
  bool committed_ = false;
};

void write_file_atomic(const std::string& path, std::string_view content);

// The whole file; throws weft::Error naming `path` and `what` it was meant to
// be (e.g. "training text") when it cannot be read.
std::string read_file(const std::string& path, std::string_view what);

// mkdir -p; throws weft::Error naming the directory.
void make_directories(const std::string& dir);

std::string join_path(const std::string& dir, const std::string& name);

}  // namespace weft::data
