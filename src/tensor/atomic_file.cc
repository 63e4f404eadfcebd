#include "weft/tensor/atomic_file.h"

#include <fcntl.h>
#include <stdlib.h>  // mkostemp
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>

#include "weft/tensor/error.h"

namespace weft {
namespace {

// Reads errno: call right after the failed system call.
[[noreturn]] void fail(const std::string& path, const std::string& what) {
  throw Error(path + ": " + what + ": " + std::strerror(errno));
}

}  // namespace

AtomicFile::AtomicFile(std::string path)
    : path_(std::move(path)), temp_name_(path_ + ".tmp.XXXXXX") {
  fd_ = ::mkostemp(temp_name_.data(), O_CLOEXEC);
  if (fd_ < 0) fail(path_, "cannot create a temp file next to it");
  // mkstemp makes it 0600; the result is an ordinary file. A file system
  // without modes refusing this is no reason to refuse the write.
  (void)::fchmod(fd_, 0644);
}

AtomicFile::~AtomicFile() {
  if (fd_ >= 0) ::close(fd_);
  if (!committed_) ::unlink(temp_name_.c_str());
}

void AtomicFile::write(const void* bytes, size_t n) {
  WEFT_CHECK(fd_ >= 0, path_, ": write after commit");
  const char* p = static_cast<const char*>(bytes);
  while (n > 0) {
    const ssize_t wrote = ::write(fd_, p, n);
    if (wrote < 0) {
      if (errno == EINTR) continue;
      fail(path_, "write failed");
    }
    p += wrote;
    n -= static_cast<size_t>(wrote);
  }
}

void AtomicFile::commit() {
  WEFT_CHECK(fd_ >= 0, path_, ": committed twice");
  if (::fsync(fd_) != 0) fail(path_, "fsync failed");
  // close() reports deferred write errors (NFS), so it is checked.
  if (::close(std::exchange(fd_, -1)) != 0) fail(path_, "close failed");
  rename_path(temp_name_, path_);
  committed_ = true;
  fsync_directory(parent_directory(path_));
}

void write_file_atomically(const std::string& path, std::string_view content) {
  AtomicFile file(path);
  file.write(content);
  file.commit();
}

void write_file_atomically(const std::string& path, const std::function<void(AtomicFile&)>& write) {
  AtomicFile file(path);
  write(file);
  file.commit();
}

void fsync_directory(const std::string& dir) {
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) fail(dir, "cannot open the directory to fsync it");
  const int synced = ::fsync(fd);
  const int error = errno;
  ::close(fd);
  errno = error;
  if (synced != 0) fail(dir, "fsync of the directory failed");
}

void rename_path(const std::string& from, const std::string& to) {
  if (::rename(from.c_str(), to.c_str()) != 0) fail(to, "cannot rename " + from + " into place");
}

std::string parent_directory(const std::string& path) {
  const size_t slash = path.find_last_of('/');
  if (slash == std::string::npos) return ".";
  return slash == 0 ? "/" : path.substr(0, slash);
}

}  // namespace weft
