#include "data/file_io.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "weft/tensor/error.h"

namespace weft::data {
namespace {

[[noreturn]] void refuse(const std::string& path, const std::string& problem) {
  throw Error(path + ": " + problem + ": " + std::strerror(errno));
}

std::string directory_of(const std::string& path) {
  const size_t slash = path.find_last_of('/');
  if (slash == std::string::npos) return ".";
  return slash == 0 ? "/" : path.substr(0, slash);
}

}  // namespace

AtomicFile::AtomicFile(std::string path)
    : path_(std::move(path)), temp_name_(path_ + ".tmp.XXXXXX") {
  fd_ = ::mkstemp(temp_name_.data());
  if (fd_ < 0) refuse(path_, "cannot create a temp file");
  ::fchmod(fd_, 0644);  // mkstemp makes it 0600; the result is an ordinary file
}

AtomicFile::~AtomicFile() {
  if (fd_ >= 0) ::close(fd_);
  if (!committed_) ::unlink(temp_name_.c_str());
}

void AtomicFile::write(const void* bytes, size_t n) {
  const char* p = static_cast<const char*>(bytes);
  while (n > 0) {
    const ssize_t wrote = ::write(fd_, p, n);
    if (wrote < 0) {
      if (errno == EINTR) continue;
      refuse(path_, "write failed");
    }
    p += wrote;
    n -= static_cast<size_t>(wrote);
  }
}

void AtomicFile::commit() {
  if (::fsync(fd_) != 0) refuse(path_, "fsync failed");
  const int fd = fd_;
  fd_ = -1;
  if (::close(fd) != 0) refuse(path_, "close failed");
  if (::rename(temp_name_.c_str(), path_.c_str()) != 0) {
    refuse(path_, "cannot rename the temp file into place");
  }
  committed_ = true;
  // Make the rename itself durable; a failure here still leaves a complete file.
  const int dir = ::open(directory_of(path_).c_str(), O_RDONLY | O_DIRECTORY);
  if (dir >= 0) {
    ::fsync(dir);
    ::close(dir);
  }
}

void write_file_atomic(const std::string& path, std::string_view content) {
  AtomicFile file(path);
  file.write(content.data(), content.size());
  file.commit();
}

std::string read_file(const std::string& path, std::string_view what) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) {
    throw Error(path + ": is a directory, not the " + std::string(what));
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) refuse(path, "cannot open the " + std::string(what));
  std::ostringstream content;
  content << in.rdbuf();
  if (in.bad()) refuse(path, "cannot read the " + std::string(what));
  return std::move(content).str();
}

void make_directories(const std::string& dir) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) throw Error(dir + ": cannot create the directory: " + ec.message());
}

std::string join_path(const std::string& dir, const std::string& name) {
  if (dir.empty()) return name;
  return dir.back() == '/' ? dir + name : dir + "/" + name;
}

}  // namespace weft::data
