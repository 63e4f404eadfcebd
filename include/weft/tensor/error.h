#pragma once
// One exception type for every refused input, carrying a message a user can
// act on: which tensor, which key, what was expected.

#include <sstream>
#include <stdexcept>
#include <string>

namespace weft {

class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& message) : std::runtime_error(message), message_(message) {}
  // what() adds the source location; message() is what a user is shown.
  Error(const std::string& message, const std::string& location)
      : std::runtime_error(message + " [" + location + "]"), message_(message) {}
  const std::string& message() const { return message_; }

 private:
  std::string message_;
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
      throw ::weft::Error(::weft::detail::concat(__VA_ARGS__),                          \
                          ::weft::detail::concat(__FILE__, ":", __LINE__));             \
    }                                                                                   \
  } while (0)
