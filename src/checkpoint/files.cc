// The file-system side of checkpoints: every write is followed by fsync, and
// directory changes by an fsync of the directory, so that what a reader finds
// after a crash is either old or complete.

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <string_view>
#include <vector>

#include "checkpoint/checkpoint_internal.h"
#include "weft/tensor/error.h"

namespace weft::checkpoint {

namespace fs = std::filesystem;

namespace {

[[noreturn]] void fail(const std::string& path, const char* call) {
  throw Error(path + ": " + call + " failed: " + std::strerror(errno));
}

// Closes on scope exit, so an exception never leaks a descriptor.
class Fd {
 public:
  Fd(int fd) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }
  // close() reports deferred write errors (NFS), so it is checked.
  void close(const std::string& path) {
    const int fd = fd_;
    fd_ = -1;
    if (::close(fd) != 0) fail(path, "close");
  }

 private:
  int fd_;
};

void write_all(int fd, const char* bytes, size_t n, const std::string& path) {
  while (n > 0) {
    const ssize_t wrote = ::write(fd, bytes, n);
    if (wrote < 0) {
      if (errno == EINTR) continue;
      fail(path, "write");
    }
    bytes += wrote;
    n -= static_cast<size_t>(wrote);
  }
}

// "step-" then only digits; for a temp directory the digits end at ".tmp-".
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

}  // namespace

void write_file_durably(const std::string& path, const std::string& contents) {
  Fd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
  if (fd.get() < 0) fail(path, "open for writing");
  write_all(fd.get(), contents.data(), contents.size(), path);
  if (::fsync(fd.get()) != 0) fail(path, "fsync");
  fd.close(path);
}

void copy_file_durably(const std::string& from, const std::string& to) {
  Fd in(::open(from.c_str(), O_RDONLY | O_CLOEXEC));
  if (in.get() < 0) fail(from, "open for reading");
  Fd out(::open(to.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644));
  if (out.get() < 0) fail(to, "open for writing");
  std::vector<char> buffer(1 << 20);
  for (;;) {
    const ssize_t got = ::read(in.get(), buffer.data(), buffer.size());
    if (got < 0) {
      if (errno == EINTR) continue;
      fail(from, "read");
    }
    if (got == 0) break;
    write_all(out.get(), buffer.data(), static_cast<size_t>(got), to);
  }
  if (::fsync(out.get()) != 0) fail(to, "fsync");
  out.close(to);
}

void fsync_directory(const std::string& path) {
  Fd fd(::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (fd.get() < 0) fail(path, "open directory");
  if (::fsync(fd.get()) != 0) fail(path, "fsync directory");
}

std::string make_temp_directory(const std::string& prefix) {
  std::string name = prefix + "XXXXXX";
  if (::mkdtemp(name.data()) == nullptr) fail(name, "mkdtemp");
  return name;
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
