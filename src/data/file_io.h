#pragma once
// File helpers of the data layer: whole-file reads that name the file they
// refuse, and paths. Writes go through weft/tensor/atomic_file.h, so a reader
// never sees half a shard or half a meta.json.

#include <string>
#include <string_view>

namespace weft::data {

// The whole file; throws weft::Error naming `path` and `what` it was meant to
// be (e.g. "training text") when it cannot be read.
std::string read_file(const std::string& path, std::string_view what);

// mkdir -p; throws weft::Error naming the directory.
void make_directories(const std::string& dir);

std::string join_path(const std::string& dir, const std::string& name);

// `name`, read from a file inside `dir` (`where` names that file and key), as a
// path inside `dir`: an empty or absolute name, or one with a ".." part, would
// reach outside it and is refused.
std::string join_inside(const std::string& dir, const std::string& name, std::string_view where);

}  // namespace weft::data
