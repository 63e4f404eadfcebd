#pragma once
// The one durable write of weft, for every file a reader may meet after a
// crash: token shards, tokenizers, safetensors, checkpoint manifests, exports.
// A file is written to a temp file in its own directory, fsynced, renamed over
// the target, and the directory is fsynced: the target then holds either its
// previous content or the new content whole, never a torn mix.
//
// A caller writing a small text file (config.json, meta.json) uses
//   weft::write_file_atomically(path, text);
// one producing the content piece by piece uses the callback form or
// AtomicFile itself. Directories written and then renamed into place
// (checkpoints) keep their own protocol, built from fsync_directory and
// rename_path.

#include <cstddef>
#include <functional>
#include <string>
#include <string_view>

namespace weft {

// A temp file next to `path` ("<path>.tmp.XXXXXX", mode 0644) that replaces
// `path` only on commit(). Destroyed uncommitted (an exception on the way), it
// removes the temp file and leaves `path` as it was. Every failure throws
// weft::Error naming `path` and the system's reason (strerror).
class AtomicFile {
 public:
  explicit AtomicFile(std::string path);
  ~AtomicFile();
  AtomicFile(const AtomicFile&) = delete;
  AtomicFile& operator=(const AtomicFile&) = delete;

  // Appends all `n` bytes, retrying short writes.
  void write(const void* bytes, size_t n);
  void write(std::string_view text) { write(text.data(), text.size()); }
  // fsync, close, rename over `path`, fsync the directory. Up to the rename a
  // failure leaves `path` untouched; a failed fsync of the directory is
  // reported too, though `path` already holds the new content whole.
  void commit();

  const std::string& path() const { return path_; }

 private:
  std::string path_;
  std::string temp_name_;
  int fd_ = -1;
  bool committed_ = false;
};

// `content` replaces `path` whole, durably.
void write_file_atomically(const std::string& path, std::string_view content);
// `write` fills the file, which replaces `path` once it returns; if it throws,
// the exception passes on, the temp file is removed and `path` is untouched.
void write_file_atomically(const std::string& path, const std::function<void(AtomicFile&)>& write);

// Makes the names created, renamed or removed in `dir` durable. Throws
// weft::Error naming `dir`.
void fsync_directory(const std::string& dir);
// rename(2) of a file or directory; throws weft::Error naming both paths.
void rename_path(const std::string& from, const std::string& to);
// The directory that holds `path`: "." for a bare name, "/" for "/name".
std::string parent_directory(const std::string& path);

}  // namespace weft
