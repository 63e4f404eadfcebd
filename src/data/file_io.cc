#include "data/file_io.h"

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

}  // namespace

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

std::string join_inside(const std::string& dir, const std::string& name, std::string_view where) {
  const std::filesystem::path relative(name);
  bool outside = relative.empty() || relative.is_absolute();
  for (const std::filesystem::path& part : relative) outside = outside || part == "..";
  if (outside) {
    throw Error(std::string(where) + " names '" + name + "', which is not a path inside " + dir);
  }
  return join_path(dir, name);
}

}  // namespace weft::data
