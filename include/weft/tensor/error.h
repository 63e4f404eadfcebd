#pragma once
// One exception type for every refused input, carrying a message a user can
// act on: which tensor, which key, what was expected.

#include <sstream>
#include <stdexcept>
#include <string>

namespace weft {

class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

namespace detail {
template <typename... Args> std::string concat(const Args&... args) {
  std::ostringstream out;
  (out << ... << args);
  return out.str();
}
}  // namespace detail

}  // namespace weft

// WEFT_CHECK(cond, "what", value, "more") throws weft::Error with the message
// and the source location when `cond` is false.
#define WEFT_CHECK(cond, ...)                                                           \
  do {                                                                                  \
    if (!(cond)) {                                                                      \
      throw ::weft::Error(::weft::detail::concat(__VA_ARGS__, " [", __FILE__, ":",      \
                                                 __LINE__, "]"));                       \
    }                                                                                   \
  } while (0)
